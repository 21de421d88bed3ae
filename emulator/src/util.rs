//! Small helpers shared by the emulators: percent-decoding, query strings, opaque page tokens,
//! deterministic ids, time formatting, XML escaping and ARN parsing.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

/// Percent-decodes one path segment or query value.
pub(crate) fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Splits a raw (still percent-encoded) path into decoded segments. Encoded `/` stay inside their
/// segment, so an ARN label is one segment.
pub(crate) fn segments(raw_path: &str) -> Vec<String> {
    raw_path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .collect()
}

/// Parses a query string or form body; the last value of a repeated key wins.
pub(crate) fn parse_form(s: &str) -> BTreeMap<String, String> {
    form_urlencoded::parse(s.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Encodes a page position as an opaque token.
pub(crate) fn page_token(key: &str) -> String {
    let mut s = String::from("emu1");
    for b in key.as_bytes() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Decodes [`page_token`]; `None` when the token is not one of ours.
pub(crate) fn parse_page_token(token: &str) -> Option<String> {
    let hex = token.strip_prefix("emu1")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// A stable 64-bit hash of anything hashable.
pub(crate) fn hash64(v: impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// A deterministic UUID-shaped id derived from `seed`.
pub(crate) fn uuid(seed: impl Hash + Copy) -> String {
    let a = hash64((seed, 1u8));
    let b = hash64((seed, 2u8));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// Seconds since the Unix epoch.
pub(crate) fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Formats epoch seconds as ISO 8601 UTC (`2024-01-31T12:00:00Z`).
pub fn iso8601(epoch: u64) -> String {
    let days = (epoch / 86_400) as i64;
    let secs = epoch % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Escapes text for an XML element.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The partitions EKS knows.
pub(crate) const PARTITIONS: [&str; 8] = [
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

/// The six fields of an ARN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

impl Arn {
    pub(crate) fn parse(s: &str) -> Option<Arn> {
        let mut it = s.splitn(6, ':');
        if it.next()? != "arn" {
            return None;
        }
        let arn = Arn {
            partition: it.next()?.to_string(),
            service: it.next()?.to_string(),
            region: it.next()?.to_string(),
            account: it.next()?.to_string(),
            resource: it.next()?.to_string(),
        };
        Some(arn)
    }

    /// The account of an ARN, or "" when it is not one.
    pub(crate) fn account_of(s: &str) -> String {
        Arn::parse(s).map(|a| a.account).unwrap_or_default()
    }
}

/// A 12-digit account id.
pub(crate) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Splits an IAM resource `role/a/b/Name` into (`/a/b/`, `Name`).
pub(crate) fn path_and_name(resource_after_type: &str) -> (String, String) {
    match resource_after_type.rfind('/') {
        Some(i) => (
            format!("/{}/", &resource_after_type[..i]),
            resource_after_type[i + 1..].to_string(),
        ),
        None => ("/".to_string(), resource_after_type.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_709_251_200), "2024-03-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400 + 3_661), "2000-02-29T01:01:01Z");
    }

    #[test]
    fn tokens_round_trip() {
        let t = page_token("arn:aws:iam::1:role/x");
        assert_eq!(
            parse_page_token(&t).as_deref(),
            Some("arn:aws:iam::1:role/x")
        );
        assert_eq!(parse_page_token("garbage"), None);
        assert_eq!(parse_page_token("emu1zz"), None);
    }

    #[test]
    fn segments_keep_encoded_slashes() {
        let s = segments("/clusters/c/access-entries/arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa%2Fb");
        assert_eq!(
            s,
            vec!["clusters", "c", "access-entries", "arn:aws:iam::1:role/a/b"]
        );
    }

    #[test]
    fn paths() {
        assert_eq!(path_and_name("x"), ("/".into(), "x".into()));
        assert_eq!(path_and_name("a/b/x"), ("/a/b/".into(), "x".into()));
    }
}
