//! Access entries as EKS defines them: types, policies, scopes, and the rules
//! EKS enforces on usernames and groups (docs/DOMAIN.md section 2).
//!
//! Field names follow the EKS API, so the JSON output can be read next to
//! `aws eks describe-access-entry`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::arn::{Arn, Partition, PrincipalArn, PrincipalKind};
use crate::model::finding::Source;

/// The type of an access entry; it cannot change after creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntryType {
    Standard,
    Ec2Linux,
    Ec2Windows,
    FargateLinux,
    HybridLinux,
    /// EKS Auto Mode nodes.
    Ec2,
    HyperpodLinux,
}

impl EntryType {
    /// Every type, in the EKS API's order.
    pub const ALL: [EntryType; 7] = [
        EntryType::Standard,
        EntryType::Ec2Linux,
        EntryType::Ec2Windows,
        EntryType::FargateLinux,
        EntryType::HybridLinux,
        EntryType::Ec2,
        EntryType::HyperpodLinux,
    ];

    /// The name the EKS API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryType::Standard => "STANDARD",
            EntryType::Ec2Linux => "EC2_LINUX",
            EntryType::Ec2Windows => "EC2_WINDOWS",
            EntryType::FargateLinux => "FARGATE_LINUX",
            EntryType::HybridLinux => "HYBRID_LINUX",
            EntryType::Ec2 => "EC2",
            EntryType::HyperpodLinux => "HYPERPOD_LINUX",
        }
    }

    /// Looks a type up by its API name.
    pub fn from_name(name: &str) -> Option<EntryType> {
        EntryType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Only STANDARD entries take a username, groups and access policies.
    pub fn is_standard(self) -> bool {
        self == EntryType::Standard
    }

    /// The node identity EKS gives entries of a node type (docs/DOMAIN.md section
    /// 2): username and group. `None` for STANDARD.
    pub fn node_identity(self) -> Option<(&'static str, &'static str)> {
        match self {
            EntryType::Standard => None,
            EntryType::Ec2Linux
            | EntryType::Ec2Windows
            | EntryType::Ec2
            | EntryType::HyperpodLinux => {
                Some(("system:node:{{EC2PrivateDNSName}}", "system:nodes"))
            }
            EntryType::FargateLinux | EntryType::HybridLinux => {
                Some(("system:node:{{SessionName}}", "system:nodes"))
            }
        }
    }
}

impl fmt::Display for EntryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Cluster-wide or limited to namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScopeType {
    Cluster,
    Namespace,
}

/// Where an access policy applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AccessScope {
    #[serde(rename = "type")]
    pub scope_type: ScopeType,
    #[serde(default)]
    pub namespaces: Vec<String>,
}

impl AccessScope {
    /// The whole cluster.
    pub fn cluster() -> AccessScope {
        AccessScope {
            scope_type: ScopeType::Cluster,
            namespaces: Vec::new(),
        }
    }

    /// The same scope with namespaces sorted, for comparison.
    pub fn normalized(&self) -> AccessScope {
        let mut namespaces = self.namespaces.clone();
        namespaces.sort();
        namespaces.dedup();
        AccessScope {
            scope_type: self.scope_type,
            namespaces,
        }
    }

    /// Merges two scopes of one policy: cluster wins, namespaces are united.
    pub fn union(&self, other: &AccessScope) -> AccessScope {
        if self.scope_type == ScopeType::Cluster || other.scope_type == ScopeType::Cluster {
            return AccessScope::cluster();
        }
        let mut namespaces = self.namespaces.clone();
        namespaces.extend(other.namespaces.iter().cloned());
        AccessScope {
            scope_type: ScopeType::Namespace,
            namespaces,
        }
        .normalized()
    }
}

impl fmt::Display for AccessScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scope_type {
            ScopeType::Cluster => f.write_str("cluster"),
            ScopeType::Namespace => write!(f, "namespaces {}", self.namespaces.join(", ")),
        }
    }
}

/// An access policy associated with an entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPolicy {
    pub policy_arn: String,
    pub access_scope: AccessScope,
}

impl AccessPolicy {
    /// The policy's short name (the part after the last `/`).
    pub fn short_name(&self) -> &str {
        self.policy_arn
            .rsplit('/')
            .next()
            .unwrap_or(&self.policy_arn)
    }
}

/// The ARN of an EKS access policy by name in a partition.
pub fn policy_arn(partition: Partition, name: &str) -> String {
    format!("arn:{partition}:eks::aws:cluster-access-policy/{name}")
}

/// The cluster-admin policy, what `system:masters` becomes.
pub const CLUSTER_ADMIN_POLICY: &str = "AmazonEKSClusterAdminPolicy";

/// The most access entries EKS holds per cluster (Service Quotas
/// L-C56B9FC3, not adjustable; docs/DOMAIN.md section 2).
pub const MAX_ENTRIES_PER_CLUSTER: usize = 3000;

/// An access entry the plan wants to exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredEntry {
    pub principal_arn: PrincipalArn,
    #[serde(rename = "type")]
    pub entry_type: EntryType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub kubernetes_groups: Vec<String>,
    pub access_policies: Vec<AccessPolicy>,
    /// The aws-auth item it comes from.
    pub source: Source,
    /// The override that decided any part of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overridden_by: Option<Source>,
}

/// Username prefixes EKS reserves.
pub const RESERVED_PREFIXES: [&str; 5] = ["system:", "eks:", "aws:", "amazon:", "iam:"];

/// The reserved prefix `name` starts with, if any.
pub fn reserved_prefix(name: &str) -> Option<&'static str> {
    RESERVED_PREFIXES.into_iter().find(|p| name.starts_with(p))
}

/// Why EKS would refuse `username` (or change its meaning), if it would.
pub fn username_problem(username: &str) -> Option<String> {
    if let Some(p) = reserved_prefix(username) {
        return Some(format!(
            "username `{username}` starts with `{p}`, which EKS reserves"
        ));
    }
    let mut rest = username;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            return Some(format!("username `{username}` has an unclosed `{{{{`"));
        };
        let template = &rest[start..start + len + 2];
        let at_end = start + len + 2 == rest.len();
        match template {
            "{{SessionName}}" | "{{SessionNameRaw}}" => {
                let before = &username[..username.len() - rest.len() + start];
                if !at_end {
                    return Some(format!(
                        "username `{username}`: access entries allow {template} only at the end"
                    ));
                }
                if !before.contains(':') {
                    return Some(format!(
                        "username `{username}`: access entries need a `:` before {template} (for example `team:{template}`)"
                    ));
                }
            }
            other => {
                return Some(format!(
                    "username `{username}`: access entries do not support the template {other}"
                ))
            }
        }
        rest = &rest[start + len + 2..];
    }
    None
}

/// The username EKS gives an entry created without one.
pub fn default_username(arn: &Arn) -> String {
    match arn.kind {
        PrincipalKind::Role | PrincipalKind::ServiceLinkedRole => format!(
            "arn:{}:sts::{}:assumed-role/{}/{{{{SessionName}}}}",
            arn.partition, arn.account, arn.name
        ),
        _ => arn.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_rules_follow_eks() {
        for ok in [
            "alice",
            "team:{{SessionName}}",
            "a:b-{{SessionNameRaw}}",
            "arn:aws:iam::1:x",
        ] {
            assert_eq!(username_problem(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("system:admin", "reserves"),
            ("eks:x", "reserves"),
            ("{{SessionName}}", "need a `:`"),
            ("team:{{SessionName}}-x", "only at the end"),
            ("acct-{{AccountID}}", "do not support"),
            ("k:{{AccessKeyID}}", "do not support"),
            ("x:{{SessionName", "unclosed"),
        ] {
            let p = username_problem(bad).unwrap_or_default();
            assert!(p.contains(why), "{bad}: {p}");
        }
    }

    #[test]
    fn scopes_merge_with_cluster_winning() {
        let ns = |n: &[&str]| AccessScope {
            scope_type: ScopeType::Namespace,
            namespaces: n.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(ns(&["b"]).union(&ns(&["a", "b"])), ns(&["a", "b"]));
        assert_eq!(
            ns(&["b"]).union(&AccessScope::cluster()),
            AccessScope::cluster()
        );
    }

    #[test]
    fn default_usernames() {
        let role = Arn::parse("arn:aws:iam::111122223333:role/x/Dev").unwrap();
        assert_eq!(
            default_username(&role),
            "arn:aws:sts::111122223333:assumed-role/Dev/{{SessionName}}"
        );
    }
}
