//! IAM and STS principal ARNs: parsing, validation and the facts the mapper
//! needs (partition, account, kind, path, name).
//!
//! Only principals that can appear in aws-auth are modelled: IAM roles (including
//! service-linked roles), IAM users, account roots, STS assumed roles and STS
//! federated users.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An AWS partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Partition {
    #[serde(rename = "aws")]
    Aws,
    #[serde(rename = "aws-cn")]
    AwsCn,
    #[serde(rename = "aws-us-gov")]
    AwsUsGov,
    #[serde(rename = "aws-iso")]
    AwsIso,
    #[serde(rename = "aws-iso-b")]
    AwsIsoB,
    #[serde(rename = "aws-iso-e")]
    AwsIsoE,
    #[serde(rename = "aws-iso-f")]
    AwsIsoF,
    #[serde(rename = "aws-eusc")]
    AwsEusc,
}

impl Partition {
    /// Every partition, in a fixed order.
    pub const ALL: [Partition; 8] = [
        Partition::Aws,
        Partition::AwsCn,
        Partition::AwsUsGov,
        Partition::AwsIso,
        Partition::AwsIsoB,
        Partition::AwsIsoE,
        Partition::AwsIsoF,
        Partition::AwsEusc,
    ];

    /// The partition's name as it appears in ARNs.
    pub fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
            Partition::AwsIso => "aws-iso",
            Partition::AwsIsoB => "aws-iso-b",
            Partition::AwsIsoE => "aws-iso-e",
            Partition::AwsIsoF => "aws-iso-f",
            Partition::AwsEusc => "aws-eusc",
        }
    }

    /// Looks a partition up by name.
    pub fn from_name(name: &str) -> Option<Partition> {
        Partition::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The partition a region belongs to, by its name's prefix as the SDK's
    /// partition table has it (`cn-north-1`: aws-cn, `us-gov-west-1`:
    /// aws-us-gov, ...); every other region is in `aws`.
    pub fn of_region(region: &str) -> Partition {
        const PREFIXES: [(&str, Partition); 7] = [
            ("cn-", Partition::AwsCn),
            ("us-gov-", Partition::AwsUsGov),
            ("us-isob-", Partition::AwsIsoB),
            ("us-isof-", Partition::AwsIsoF),
            ("us-iso-", Partition::AwsIso),
            ("eu-isoe-", Partition::AwsIsoE),
            ("eusc-", Partition::AwsEusc),
        ];
        PREFIXES
            .into_iter()
            .find(|(prefix, _)| region.starts_with(prefix))
            .map_or(Partition::Aws, |(_, p)| p)
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of principal an ARN names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// `iam ... role/PATH/NAME` (not service-linked).
    Role,
    /// `iam ... role/aws-service-role/...`.
    ServiceLinkedRole,
    /// `iam ... user/PATH/NAME`.
    User,
    /// `iam ... root`.
    Root,
    /// `sts ... assumed-role/NAME/SESSION`.
    AssumedRole,
    /// `sts ... federated-user/NAME`.
    FederatedUser,
}

/// A validated principal ARN.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    pub partition: Partition,
    pub account: String,
    pub kind: PrincipalKind,
    /// The IAM path, `/` when there is none; always starts and ends with `/`.
    /// For an assumed role it is `/` and the session lives in `session`.
    pub path: String,
    /// The role, user or federated-user name; empty for a root.
    pub name: String,
    /// The session name of an assumed role.
    pub session: Option<String>,
}

/// Why a text is not a principal ARN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArnError {
    #[error("does not start with `arn:`")]
    NotAnArn,
    #[error("has {found} colon-separated parts, expected 6")]
    WrongShape { found: usize },
    #[error("unknown partition `{partition}`")]
    UnknownPartition { partition: String },
    #[error("service `{service}` is not iam or sts")]
    UnknownService { service: String },
    #[error("IAM ARNs have no region, found `{region}`")]
    HasRegion { region: String },
    #[error("account `{account}` is not 12 digits")]
    BadAccount { account: String },
    #[error("resource `{resource}` is not a role, user, root, assumed-role or federated-user")]
    UnknownResource { resource: String },
    #[error("name `{name}` is not a valid IAM name (1-64 of letters, digits and +=,.@_-)")]
    BadName { name: String },
    #[error("path `{path}` is not a valid IAM path")]
    BadPath { path: String },
}

impl Arn {
    /// Parses and validates a principal ARN.
    ///
    /// `arn:aws:iam::111122223333:role/teams/ops/Deployer` is a role with path
    /// `/teams/ops/` and name `Deployer`; `...:group/ops` is refused.
    ///
    /// # Errors
    /// An [`ArnError`] saying which part is wrong.
    pub fn parse(text: &str) -> Result<Arn, ArnError> {
        let rest = text.strip_prefix("arn:").ok_or(ArnError::NotAnArn)?;
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        if parts.len() != 5 {
            return Err(ArnError::WrongShape {
                found: parts.len() + 1,
            });
        }
        let (partition, service, region, account, resource) =
            (parts[0], parts[1], parts[2], parts[3], parts[4]);
        let partition =
            Partition::from_name(partition).ok_or_else(|| ArnError::UnknownPartition {
                partition: partition.into(),
            })?;
        if !region.is_empty() {
            return Err(ArnError::HasRegion {
                region: region.into(),
            });
        }
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ArnError::BadAccount {
                account: account.into(),
            });
        }
        let (kind, path, name, session) = match service {
            "iam" => iam_resource(resource)?,
            "sts" => sts_resource(resource)?,
            other => {
                return Err(ArnError::UnknownService {
                    service: other.into(),
                })
            }
        };
        Ok(Arn {
            partition,
            account: account.to_string(),
            kind,
            path,
            name,
            session,
        })
    }

    /// True for roles (service-linked or not).
    pub fn is_role(&self) -> bool {
        matches!(
            self.kind,
            PrincipalKind::Role | PrincipalKind::ServiceLinkedRole
        )
    }

    /// True when the role or user carries an IAM path other than `/`.
    pub fn has_path(&self) -> bool {
        self.path != "/"
    }

    /// The same principal with another IAM path.
    pub fn with_path(&self, path: &str) -> Arn {
        Arn {
            path: path.to_string(),
            ..self.clone()
        }
    }

    /// True for IAM Identity Center (SSO) roles, whose real ARN always has a path.
    pub fn is_sso_role(&self) -> bool {
        self.is_role() && self.name.starts_with("AWSReservedSSO_")
    }

    /// True when `self` and `other` name the same principal, paths aside (an
    /// aws-auth role ARN carries none; IAM names compare case-insensitively).
    pub fn same_principal(&self, other: &Arn) -> bool {
        self.partition == other.partition
            && self.account == other.account
            && self.kind == other.kind
            && self.name.eq_ignore_ascii_case(&other.name)
    }
}

/// What [`Arn::same_principal`] compares: partition, account, kind and the
/// name in ASCII lower case. Two ARNs name the same principal exactly when
/// their keys are equal, so a set of keys answers "is any of these the same
/// principal" in one look-up instead of a parse per pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PrincipalKey {
    partition: Partition,
    account: String,
    kind: PrincipalKind,
    name: String,
}

impl Arn {
    /// This principal's [`PrincipalKey`].
    pub fn key(&self) -> PrincipalKey {
        PrincipalKey {
            partition: self.partition,
            account: self.account.clone(),
            kind: self.kind,
            name: self.name.to_ascii_lowercase(),
        }
    }
}

/// The [`PrincipalKey`] of an ARN as written; `None` if it does not parse
/// (such an ARN is the same principal as nothing, as [`same_principal`] says).
pub fn principal_key(text: &str) -> Option<PrincipalKey> {
    Arn::parse(text.trim()).ok().map(|a| a.key())
}

/// [`Arn::same_principal`] on two ARNs as written; false if either does not parse.
pub fn same_principal(a: &str, b: &str) -> bool {
    match (Arn::parse(a.trim()), Arn::parse(b.trim())) {
        (Ok(a), Ok(b)) => a.same_principal(&b),
        _ => false,
    }
}

/// The principal ARN of an access entry, as EKS holds it (with its IAM path).
///
/// One equality rule: two are the same entry's principal when their text is
/// equal but for ASCII case, as EKS and IAM compare them (`==`, and hashing,
/// follow it). Where the authenticator's canonical form is meant (an aws-auth
/// role ARN carries no path), [`PrincipalArn::same_principal`] compares
/// partition, account, kind and name, paths aside. The text itself is kept
/// as written, for display and for the API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PrincipalArn(String);

impl PrincipalArn {
    /// The ARN as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `self` and `other` name the same principal, paths aside;
    /// false when either is not a principal ARN.
    pub fn same_principal(&self, other: &PrincipalArn) -> bool {
        same_principal(&self.0, &other.0)
    }

    /// The parsed ARN, when it is one.
    ///
    /// # Errors
    /// [`ArnError`] when the text is not a principal ARN.
    pub fn parse(&self) -> Result<Arn, ArnError> {
        Arn::parse(&self.0)
    }
}

impl PartialEq for PrincipalArn {
    fn eq(&self, other: &PrincipalArn) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl Eq for PrincipalArn {}

impl std::hash::Hash for PrincipalArn {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for b in self.0.bytes() {
            state.write_u8(b.to_ascii_lowercase());
        }
        state.write_u8(0xff);
    }
}

impl From<String> for PrincipalArn {
    fn from(s: String) -> PrincipalArn {
        PrincipalArn(s)
    }
}

impl From<&str> for PrincipalArn {
    fn from(s: &str) -> PrincipalArn {
        PrincipalArn(s.to_string())
    }
}

impl From<&Arn> for PrincipalArn {
    fn from(a: &Arn) -> PrincipalArn {
        PrincipalArn(a.to_string())
    }
}

impl From<PrincipalArn> for String {
    fn from(a: PrincipalArn) -> String {
        a.0
    }
}

impl std::ops::Deref for PrincipalArn {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PrincipalArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (service, resource) = match self.kind {
            PrincipalKind::Root => ("iam", "root".to_string()),
            PrincipalKind::Role | PrincipalKind::ServiceLinkedRole => {
                ("iam", format!("role{}{}", self.path, self.name))
            }
            PrincipalKind::User => ("iam", format!("user{}{}", self.path, self.name)),
            PrincipalKind::AssumedRole => (
                "sts",
                format!(
                    "assumed-role/{}/{}",
                    self.name,
                    self.session.as_deref().unwrap_or_default()
                ),
            ),
            PrincipalKind::FederatedUser => ("sts", format!("federated-user/{}", self.name)),
        };
        write!(
            f,
            "arn:{}:{}::{}:{}",
            self.partition, service, self.account, resource
        )
    }
}

/// A resource's kind, IAM path, name and session, as [`Arn`] holds them.
type Resource = (PrincipalKind, String, String, Option<String>);

/// The error for a resource that names no principal.
fn unknown_resource(resource: &str) -> ArnError {
    ArnError::UnknownResource {
        resource: resource.into(),
    }
}

/// Parses the resource of an `iam` ARN: a root, role or user.
fn iam_resource(resource: &str) -> Result<Resource, ArnError> {
    if resource == "root" {
        Ok((PrincipalKind::Root, "/".to_string(), String::new(), None))
    } else if let Some(r) = resource.strip_prefix("role/") {
        let (path, name) = split_path(r)?;
        let kind = if path.starts_with("/aws-service-role/") {
            PrincipalKind::ServiceLinkedRole
        } else {
            PrincipalKind::Role
        };
        Ok((kind, path, name, None))
    } else if let Some(r) = resource.strip_prefix("user/") {
        let (path, name) = split_path(r)?;
        Ok((PrincipalKind::User, path, name, None))
    } else {
        Err(unknown_resource(resource))
    }
}

/// Parses the resource of an `sts` ARN: an assumed role or a federated user.
fn sts_resource(resource: &str) -> Result<Resource, ArnError> {
    if let Some(r) = resource.strip_prefix("assumed-role/") {
        let (name, session) = r
            .split_once('/')
            .ok_or_else(|| unknown_resource(resource))?;
        check_name(name)?;
        if session.is_empty() || session.len() > 64 {
            return Err(unknown_resource(resource));
        }
        Ok((
            PrincipalKind::AssumedRole,
            "/".to_string(),
            name.to_string(),
            Some(session.to_string()),
        ))
    } else if let Some(name) = resource.strip_prefix("federated-user/") {
        check_name(name)?;
        Ok((
            PrincipalKind::FederatedUser,
            "/".to_string(),
            name.to_string(),
            None,
        ))
    } else {
        Err(unknown_resource(resource))
    }
}

/// Splits `path/parts/name` into (`/path/parts/`, `name`).
fn split_path(rest: &str) -> Result<(String, String), ArnError> {
    let (path, name) = match rest.rfind('/') {
        Some(i) => (format!("/{}/", &rest[..i]), &rest[i + 1..]),
        None => ("/".to_string(), rest),
    };
    check_name(name)?;
    let path_ok = path.len() <= 512
        && !path.contains("//")
        && path.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if !path_ok {
        return Err(ArnError::BadPath { path });
    }
    Ok((path, name.to_string()))
}

fn check_name(name: &str) -> Result<(), ArnError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ArnError::BadName { name: name.into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_gives_path_and_name_and_refuses_groups() {
        let arn = Arn::parse("arn:aws:iam::111122223333:role/teams/ops/Deployer").unwrap();
        assert_eq!(
            (arn.kind, arn.path.as_str(), arn.name.as_str()),
            (PrincipalKind::Role, "/teams/ops/", "Deployer")
        );
        assert!(Arn::parse("arn:aws:iam::111122223333:group/ops").is_err());
    }

    #[test]
    fn principal_arns_have_one_equality_and_one_path_blind_comparison() {
        use std::collections::HashSet;
        let a = PrincipalArn::from("arn:aws:iam::111122223333:role/teams/Ops");
        let upper = PrincipalArn::from("ARN:AWS:IAM::111122223333:ROLE/TEAMS/OPS");
        let no_path = PrincipalArn::from("arn:aws:iam::111122223333:role/Ops");
        assert_eq!(a, upper);
        assert_ne!(a, no_path);
        assert!(a.same_principal(&no_path));
        // Keys are equal exactly when same_principal says so.
        let texts = [
            "arn:aws:iam::111122223333:role/Ops",
            "arn:aws:iam::111122223333:role/teams/ops",
            "arn:aws:iam::111122223333:role/OPS",
            "arn:aws:iam::111122223333:user/Ops",
            "arn:aws:iam::444455556666:role/Ops",
            "arn:aws-cn:iam::111122223333:role/Ops",
            "arn:aws:sts::111122223333:assumed-role/Ops/s",
            " arn:aws:iam::111122223333:role/Ops ",
            "not an arn",
        ];
        for x in texts {
            for y in texts {
                let keyed =
                    matches!((principal_key(x), principal_key(y)), (Some(a), Some(b)) if a == b);
                assert_eq!(keyed, same_principal(x, y), "{x} / {y}");
            }
        }
        assert!(!a.same_principal(&PrincipalArn::from("arn:aws:iam::111122223333:user/Ops")));
        let set: HashSet<&PrincipalArn> = [&a, &upper, &no_path].into_iter().collect();
        assert_eq!(set.len(), 2, "hashing follows equality");
        // The text is kept as written, and serialises as a plain string.
        assert_eq!(upper.as_str(), "ARN:AWS:IAM::111122223333:ROLE/TEAMS/OPS");
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "\"arn:aws:iam::111122223333:role/teams/Ops\"");
        assert_eq!(
            serde_json::from_str::<PrincipalArn>(&json)
                .unwrap()
                .as_str(),
            a.as_str()
        );
    }

    #[test]
    fn parses_every_principal_kind() {
        let cases = [
            (
                "arn:aws:iam::111122223333:role/NodeRole",
                PrincipalKind::Role,
                "/",
                "NodeRole",
            ),
            (
                "arn:aws-cn:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef",
                PrincipalKind::Role,
                "/aws-reserved/sso.amazonaws.com/",
                "AWSReservedSSO_Admin_0123456789abcdef",
            ),
            (
                "arn:aws:iam::111122223333:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS",
                PrincipalKind::ServiceLinkedRole,
                "/aws-service-role/eks.amazonaws.com/",
                "AWSServiceRoleForAmazonEKS",
            ),
            (
                "arn:aws-us-gov:iam::111122223333:user/ops/alice",
                PrincipalKind::User,
                "/ops/",
                "alice",
            ),
            ("arn:aws-iso-b:iam::111122223333:root", PrincipalKind::Root, "/", ""),
            (
                "arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com",
                PrincipalKind::AssumedRole,
                "/",
                "Admin",
            ),
            (
                "arn:aws:sts::111122223333:federated-user/bob",
                PrincipalKind::FederatedUser,
                "/",
                "bob",
            ),
        ];
        for (text, kind, path, name) in cases {
            let arn = Arn::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                (arn.kind, arn.path.as_str(), arn.name.as_str()),
                (kind, path, name)
            );
            assert_eq!(arn.to_string(), text, "round trip");
        }
    }

    #[test]
    fn rejects_malformed_arns_with_a_reason() {
        type Check = fn(&ArnError) -> bool;
        let cases: [(&str, Check); 9] = [
            ("role/x", |e| matches!(e, ArnError::NotAnArn)),
            ("arn:aws:iam::1111", |e| {
                matches!(e, ArnError::WrongShape { .. })
            }),
            ("arn:aws-mars:iam::111122223333:role/x", |e| {
                matches!(e, ArnError::UnknownPartition { .. })
            }),
            ("arn:aws:s3::111122223333:role/x", |e| {
                matches!(e, ArnError::UnknownService { .. })
            }),
            ("arn:aws:iam:eu-west-1:111122223333:role/x", |e| {
                matches!(e, ArnError::HasRegion { .. })
            }),
            ("arn:aws:iam::11112222333:role/x", |e| {
                matches!(e, ArnError::BadAccount { .. })
            }),
            ("arn:aws:iam::111122223333:group/x", |e| {
                matches!(e, ArnError::UnknownResource { .. })
            }),
            ("arn:aws:iam::111122223333:role/a*b", |e| {
                matches!(e, ArnError::BadName { .. })
            }),
            ("arn:aws:iam::111122223333:role/a//b", |e| {
                matches!(e, ArnError::BadPath { .. })
            }),
        ];
        for (text, ok) in cases {
            let err = Arn::parse(text).unwrap_err();
            assert!(ok(&err), "{text}: {err:?}");
        }
    }

    #[test]
    fn recognises_sso_roles_and_paths() {
        let arn = Arn::parse("arn:aws:iam::111122223333:role/AWSReservedSSO_Dev_abc").unwrap();
        assert!(arn.is_sso_role());
        assert!(!arn.has_path());
        let full = arn.with_path("/aws-reserved/sso.amazonaws.com/eu-west-1/");
        assert_eq!(
            full.to_string(),
            "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Dev_abc"
        );
    }
}
