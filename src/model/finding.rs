//! Findings: what the reader, mapper and planner tell the user, as values.
//!
//! Every reason to skip, drop or change something is a [`Finding`] with a stable
//! [`Code`], never only a log line, so the plan shows it and tests check it. A
//! finding points at its [`Source`]: the file, the data key, the item and the line.

use std::fmt;

use serde::Serialize;

/// How serious a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    /// The lower-case name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $severity:ident; )*) => {
        /// The stable identifier of a finding; the JSON output's `code`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum Code {
            $( $(#[$doc])* #[serde(rename = $name)] $variant, )*
        }

        impl Code {
            /// Every code, for documentation and tests.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The kebab-case name of the code.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The severity findings of this code have.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }
        }
    };
}

codes! {
    /// docs/MAPPING.md row 3: a node mapping's extra groups are lost.
    NodeExtraGroups = "node-extra-groups", Warning;
    /// Row 3b: a node username without both node groups.
    NodeGroupMissing = "node-group-missing", Error;
    /// Row 5: `system:node:{{SessionName}}` with only the node groups.
    AmbiguousNodeRole = "ambiguous-node-role", Error;
    /// Row 7: a reserved group on a non-node mapping is dropped.
    ReservedGroupDropped = "reserved-group-dropped", Warning;
    /// Row 8: no RBAC binding names the group.
    GroupNotBound = "group-not-bound", Info;
    /// Row 10: no username, so EKS's default applies.
    DefaultUsername = "default-username", Info;
    /// Row 11: a username access entries cannot carry.
    UnsupportedUsername = "unsupported-username", Error;
    /// Row 11: a group with a template.
    UnsupportedGroup = "unsupported-group", Error;
    /// Row 12: the role's IAM path was restored.
    PathRestored = "path-restored", Info;
    /// Row 13: the role's path could not be checked.
    PathUnverified = "path-unverified", Warning;
    /// Row 13: an SSO role whose path is unknown.
    SsoPathUnknown = "sso-path-unknown", Error;
    /// Row 14: IAM does not know the principal.
    PrincipalNotFound = "principal-not-found", Error;
    /// Row 15: an `sso` matcher that is not expanded.
    SsoMatcher = "sso-matcher", Error;
    /// Row 15: an `sso` matcher expanded into roles.
    SsoExpanded = "sso-expanded", Info;
    /// Row 15b: `*` or `?` in a role ARN (compared literally, never matches).
    WildcardArn = "wildcard-arn", Warning;
    /// Row 16: a mapping that never matches today.
    DeadMapping = "dead-mapping", Warning;
    /// Row 16b: a service-linked role.
    ServiceLinkedRole = "service-linked-role", Warning;
    /// Row 16c: an account root or federated user, which entries cannot hold.
    UnsupportedPrincipal = "unsupported-principal", Error;
    /// Row 17: `mapAccounts` has no access-entry equivalent.
    MapAccounts = "map-accounts", Warning;
    /// Row 18: a mapping shadowed by a later duplicate.
    DuplicateShadowed = "duplicate-shadowed", Warning;
    /// Row 18b: a `mapUsers` mapping shadowed by `mapRoles`.
    ShadowedByMapRoles = "shadowed-by-maproles", Warning;
    /// Row 18c: a principal under the other key than its kind (works today).
    RoleInMapUsers = "role-in-mapusers", Info;
    /// Row 18d: user ARNs that differ only in case.
    CaseAmbiguousUsers = "case-ambiguous-users", Error;
    /// Row 19: an item the authenticator ignores.
    ItemIgnored = "item-ignored", Warning;
    /// Row 19a: an unknown field inside an item.
    UnknownField = "unknown-field", Info;
    /// Row 19b: a field of the wrong type, ignored by the authenticator.
    WrongFieldType = "wrong-field-type", Warning;
    /// Row 19c: a data key the authenticator never reads.
    UnknownDataKey = "unknown-data-key", Warning;
    /// Row 20: a whole key is inactive today (syntax error or not a list).
    KeyInactive = "key-inactive", Error;
    /// Row 20b: YAML the authenticator reads other than it looks: a YAML 1.1
    /// line break (NEL, LS, PS) that makes a comment's tail live, or a merge
    /// key (`<<`) that copies fields in.
    HiddenYaml = "hidden-yaml", Warning;
    /// Row 21: a node role in another account than the cluster's.
    NodeCrossAccount = "node-cross-account", Error;
    /// Node entries need an IAM role; this principal is not one.
    NodePrincipalNotRole = "node-principal-not-role", Error;
    /// An override changes who the principal is, or grants access it lacks today.
    IdentityChanged = "identity-changed", Warning;
    /// An override decided this principal.
    OverrideApplied = "override-applied", Info;
    /// An override's values are not what EKS accepts.
    OverrideInvalid = "override-invalid", Error;
    /// An override names a principal that no live aws-auth mapping has.
    OverrideUnknownPrincipal = "override-unknown-principal", Error;
    /// `--policies-from-rbac` replaced a group by an access policy.
    PolicyFromRbac = "policy-from-rbac", Info;
    /// Two mappings resolve to the same access entry.
    PrincipalConflict = "principal-conflict", Error;
    /// A policy the plan names that the cluster's EKS does not list.
    UnknownAccessPolicy = "unknown-access-policy", Error;
    /// The current entry has another type, which cannot be changed.
    TypeConflict = "type-conflict", Error;
    /// An existing entry decides who the principal is today; the plan's
    /// update changes that (what is gained and lost).
    EntryAccessChanges = "entry-access-changes", Warning;
    /// `--keep-existing-entries` left an entry that differs from aws-auth's
    /// mapping as it is: that mapping does not apply.
    ShadowedByEntry = "shadowed-by-entry", Warning;
    /// Row 22: more entries than EKS allows per cluster (3,000).
    EntryQuotaExceeded = "entry-quota-exceeded", Error;
    /// An existing entry or policy that no mapping asks for is left alone.
    Unmanaged = "unmanaged", Info;
    /// Part of the live cluster could not be read (for example AccessDenied).
    LiveReadIncomplete = "live-read-incomplete", Warning;
    /// The cluster is not ACTIVE (an update under way).
    ClusterNotActive = "cluster-not-active", Warning;
    /// The cluster's platform version is too old for access entries.
    PlatformVersionUnsupported = "platform-version-unsupported", Error;
    /// No current state was given: the plan assumes one.
    CurrentStateAssumed = "current-state-assumed", Info;
    /// The cluster's account or partition was inferred from aws-auth.
    ClusterAccountInferred = "cluster-account-inferred", Info;
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where something came from: a file, a data key, an item and a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub file: String,
    /// The ConfigMap data key (`mapRoles`, ...) or another top-level key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The 0-based position of the item in the key's list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// The 1-based line in the file.
    pub line: usize,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        match (&self.key, self.index) {
            (Some(k), Some(i)) => write!(f, " {k}[{i}]"),
            (Some(k), None) => write!(f, " {k}"),
            _ => Ok(()),
        }
    }
}

/// One thing the user should know about the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub severity: Severity,
    pub code: Code,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_arn: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

impl Finding {
    /// A finding of `code`, with the code's severity.
    pub fn new(code: Code, message: impl Into<String>) -> Finding {
        Finding {
            severity: code.severity(),
            code,
            principal_arn: None,
            message: message.into(),
            source: None,
        }
    }

    /// Names the principal the finding is about.
    pub fn principal(mut self, arn: impl Into<String>) -> Finding {
        self.principal_arn = Some(arn.into());
        self
    }

    /// Points the finding at where it came from.
    pub fn at(mut self, source: &Source) -> Finding {
        self.source = Some(source.clone());
        self
    }
}

/// Counts of findings by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

impl Tally {
    /// Counts `findings`.
    pub fn of(findings: &[Finding]) -> Tally {
        let mut t = Tally::default();
        for f in findings {
            match f.severity {
                Severity::Error => t.errors += 1,
                Severity::Warning => t.warnings += 1,
                Severity::Info => t.infos += 1,
            }
        }
        t
    }

    /// The most serious severity present.
    pub fn worst(&self) -> Option<Severity> {
        if self.errors > 0 {
            Some(Severity::Error)
        } else if self.warnings > 0 {
            Some(Severity::Warning)
        } else if self.infos > 0 {
            Some(Severity::Info)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_unique_names() {
        let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn the_readme_documents_every_code_with_its_severity() {
        let readme = include_str!("../../README.md");
        for code in Code::ALL {
            let row = format!("| `{}` | {} |", code.as_str(), code.severity());
            assert!(readme.contains(&row), "README lacks the row {row}");
        }
    }

    #[test]
    fn source_displays_file_line_key_and_index() {
        let s = Source {
            file: "aws-auth.yaml".into(),
            key: Some("mapRoles".into()),
            index: Some(2),
            line: 14,
        };
        assert_eq!(s.to_string(), "aws-auth.yaml:14 mapRoles[2]");
    }
}
