//! What the EKS API server's token verifier (aws-iam-authenticator) checks in a
//! `k8s-aws-v1.` bearer token before it asks STS who signed it: a base64url
//! presigned `GetCallerIdentity` URL on an STS host, signed with the
//! `x-k8s-aws-id` header, with only the allowed parameters, not expired.
//!
//! Where the real verifier asks STS to check the signature, this module
//! recomputes it (SigV4, from the access key's secret) for the cluster's name in
//! `x-k8s-aws-id`, so a token signed wrongly or for another cluster is refused.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;

use crate::sigv4::{canonical_query, sign};

/// The prefix of every EKS token.
pub const PREFIX: &str = "k8s-aws-v1.";

/// Parameters a presigned GetCallerIdentity URL may carry.
const ALLOWED: [&str; 9] = [
    "Action",
    "Version",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-Security-Token",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
];

/// Checks `token` as EKS would at `now`, for `cluster`, knowing the secret of
/// each access key in `secrets`.
///
/// # Errors
/// Why the token would be refused.
pub fn check(
    token: &str,
    now: SystemTime,
    cluster: &str,
    secrets: &BTreeMap<String, String>,
) -> Result<(), String> {
    let (host, params) = check_form(token, now)?;
    let credential = &params["X-Amz-Credential"];
    let mut scope = credential.split('/');
    let key = scope.next().unwrap_or_default();
    let date = scope.next().unwrap_or_default();
    let region = scope.next().unwrap_or_default();
    let secret = secrets
        .get(key)
        .ok_or(format!("access key {key} is unknown to STS"))?;
    let expected = signature(&host, &params, cluster, secret, date, region);
    if expected.iter().any(|s| *s == params["X-Amz-Signature"]) {
        Ok(())
    } else {
        Err(format!("the signature does not match (signed for another cluster than {cluster}, or with another secret)"))
    }
}

/// When `token` was signed (its `X-Amz-Date`), if it is a token at all.
pub fn signed_at(token: &str) -> Option<SystemTime> {
    let body = token.strip_prefix(PREFIX)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .ok()?;
    let url = String::from_utf8(bytes).ok()?;
    let query = url.split_once('?')?.1;
    let date = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "X-Amz-Date")?
        .1
        .into_owned();
    amz_date(&date)
}

/// The checks that need no secret: shape, parameters and time. Returns the
/// host and the decoded parameters.
fn check_form(token: &str, now: SystemTime) -> Result<(String, BTreeMap<String, String>), String> {
    let body = token.strip_prefix(PREFIX).ok_or("not a k8s-aws-v1 token")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|e| format!("not base64url: {e}"))?;
    let url = String::from_utf8(bytes).map_err(|_| "not UTF-8")?;
    let rest = url.strip_prefix("https://").ok_or("not an https URL")?;
    let (host, path_query) = rest.split_once('/').ok_or("no path")?;
    let sts = host.starts_with("sts.")
        && [
            ".amazonaws.com",
            ".amazonaws.com.cn",
            ".c2s.ic.gov",
            ".sc2s.sgov.gov",
            ".cloud.adc-e.uk",
            ".csp.hci.ic.gov",
            ".amazonaws.eu",
        ]
        .iter()
        .any(|s| host.ends_with(s));
    if !sts {
        return Err(format!("{host} is not an STS host"));
    }
    let query = path_query.strip_prefix('?').ok_or("the path is not /")?;
    let params: BTreeMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    if let Some(bad) = params.keys().find(|k| !ALLOWED.contains(&k.as_str())) {
        return Err(format!("parameter {bad} is not allowed"));
    }
    let get = |k: &str| {
        params
            .get(k)
            .map(String::as_str)
            .ok_or(format!("{k} is missing"))
    };
    if get("Action")? != "GetCallerIdentity" {
        return Err("Action is not GetCallerIdentity".into());
    }
    if get("X-Amz-Algorithm")? != "AWS4-HMAC-SHA256" {
        return Err("X-Amz-Algorithm is not AWS4-HMAC-SHA256".into());
    }
    if !get("X-Amz-SignedHeaders")?
        .split(';')
        .any(|h| h == "x-k8s-aws-id")
    {
        return Err("x-k8s-aws-id is not a signed header".into());
    }
    let signature = get("X-Amz-Signature")?;
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("X-Amz-Signature is not a SigV4 signature".into());
    }
    let expires: u64 = get("X-Amz-Expires")?
        .parse()
        .map_err(|_| "X-Amz-Expires is not a number")?;
    if expires == 0 || expires > 900 {
        return Err(format!("X-Amz-Expires {expires} is outside 1..=900"));
    }
    let signed = amz_date(get("X-Amz-Date")?).ok_or("X-Amz-Date is malformed")?;
    if now > signed + Duration::from_secs(15 * 60) || signed > now + Duration::from_secs(5 * 60) {
        return Err("the token is expired or from the future".into());
    }
    if !get("X-Amz-Credential")?.ends_with("/sts/aws4_request") {
        return Err("X-Amz-Credential is not scoped to sts".into());
    }
    Ok((host.to_string(), params))
}

/// The SigV4 signatures the token could carry: over the empty payload's hash,
/// or over `UNSIGNED-PAYLOAD` (both are in use by presigning clients).
fn signature(
    host: &str,
    params: &BTreeMap<String, String>,
    cluster: &str,
    secret: &str,
    date: &str,
    region: &str,
) -> [String; 2] {
    let pairs: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| *k != "X-Amz-Signature")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let query = canonical_query(&pairs);
    let amz_date = params.get("X-Amz-Date").cloned().unwrap_or_default();
    [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "UNSIGNED-PAYLOAD",
    ]
    .map(|payload| {
        let canonical = format!(
            "GET\n/\n{query}\nhost:{host}\nx-k8s-aws-id:{cluster}\n\nhost;x-k8s-aws-id\n{payload}"
        );
        sign(secret, &amz_date, date, region, "sts", &canonical)
    })
}

/// A token for `cluster` signed at `now` with `key` and `secret`, as
/// `aws eks get-token` makes it, for tests of callers that must accept a good
/// token and refuse a bad one.
pub fn signed(now: SystemTime, key: &str, secret: &str, cluster: &str) -> String {
    let amz_date = format_amz_date(now);
    let date = &amz_date[..8];
    let host = "sts.us-east-1.amazonaws.com";
    let mut params: BTreeMap<String, String> = [
        ("Action", "GetCallerIdentity".to_string()),
        ("Version", "2011-06-15".to_string()),
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256".to_string()),
        (
            "X-Amz-Credential",
            format!("{key}/{date}/us-east-1/sts/aws4_request"),
        ),
        ("X-Amz-Date", amz_date.clone()),
        ("X-Amz-Expires", "60".to_string()),
        ("X-Amz-SignedHeaders", "host;x-k8s-aws-id".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let [sig, _] = signature(host, &params, cluster, secret, date, "us-east-1");
    params.insert("X-Amz-Signature".into(), sig);
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    let url = format!("https://{host}/?{query}");
    format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
    )
}

/// A time as `YYYYMMDDTHHMMSSZ`.
fn format_amz_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    crate::util::iso8601(secs).replace(['-', ':'], "")
}

/// `YYYYMMDDTHHMMSSZ` as a time.
fn amz_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(url: &str) -> String {
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
        )
    }

    const NOW: u64 = 1_700_000_000; // 2023-11-14T22:13:20Z
    const GOOD: &str = "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20231114%2Feu-west-1%2Fsts%2Faws4_request&X-Amz-Date=20231114T221320Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn signed_at_reads_the_date() {
        assert_eq!(signed_at(&token(GOOD)), Some(at(NOW)));
        assert_eq!(signed_at("not a token"), None);
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_well_formed_fresh_token_passes() {
        assert!(check_form(&token(GOOD), at(NOW + 60)).is_ok());
        assert_eq!(amz_date("20231114T221320Z"), Some(at(NOW)));
        assert_eq!(format_amz_date(at(NOW)), "20231114T221320Z");
    }

    #[test]
    fn signatures_bind_the_secret_and_the_cluster() {
        let secrets = BTreeMap::from([("AKIDEXAMPLE".to_string(), "s3cret".to_string())]);
        let t = signed(at(NOW), "AKIDEXAMPLE", "s3cret", "prod");
        assert_eq!(check(&t, at(NOW + 10), "prod", &secrets), Ok(()));
        assert!(check(&t, at(NOW + 10), "staging", &secrets)
            .unwrap_err()
            .contains("signature"));
        let forged = signed(at(NOW), "AKIDEXAMPLE", "guess", "prod");
        assert!(check(&forged, at(NOW), "prod", &secrets)
            .unwrap_err()
            .contains("signature"));
        let unknown = signed(at(NOW), "AKIDOTHER", "s3cret", "prod");
        assert!(check(&unknown, at(NOW), "prod", &secrets)
            .unwrap_err()
            .contains("unknown"));
    }

    #[test]
    fn what_the_verifier_refuses_is_refused() {
        let cases = [
            (token(GOOD), at(NOW + 16 * 60), "expired"),
            (
                token(&GOOD.replace("https://", "http://")),
                at(NOW),
                "https",
            ),
            (
                token(&GOOD.replace("sts.eu-west-1.amazonaws.com", "evil.example.com")),
                at(NOW),
                "STS host",
            ),
            (
                token(&GOOD.replace("host%3Bx-k8s-aws-id", "host")),
                at(NOW),
                "x-k8s-aws-id",
            ),
            (
                token(&GOOD.replace("X-Amz-Expires=60", "X-Amz-Expires=3600")),
                at(NOW),
                "outside",
            ),
            (
                token(&format!("{GOOD}&X-Amz-Extra=1")),
                at(NOW),
                "not allowed",
            ),
            (
                token(&GOOD.replace("GetCallerIdentity", "AssumeRole")),
                at(NOW),
                "GetCallerIdentity",
            ),
            ("k8s-aws-v1.!!!".to_string(), at(NOW), "base64url"),
            ("Bearer-ish".to_string(), at(NOW), "k8s-aws-v1"),
        ];
        for (t, now, why) in cases {
            let err = check_form(&t, now).unwrap_err();
            assert!(err.contains(why), "{why}: {err}");
        }
    }
}
