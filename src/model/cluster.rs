//! The cluster's access configuration as the tool models it: the
//! authentication mode, the access entries with their policies, and the roles
//! EKS owns. The JSON form (schemaVersion 1) is docs/CONTRACTS.md's current
//! state; `inputs::current` reads it from a file, `live` from the cluster.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::arn::{Partition, PrincipalArn};
use crate::model::entry::{AccessPolicy, EntryType};

/// aws-auth's data: key -> value, exactly as stored.
pub type ConfigMapData = BTreeMap<String, String>;

/// The cluster's authentication mode; it only moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthMode {
    ConfigMap,
    ApiAndConfigMap,
    Api,
}

impl AuthMode {
    /// The name the EKS API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::ConfigMap => "CONFIG_MAP",
            AuthMode::ApiAndConfigMap => "API_AND_CONFIG_MAP",
            AuthMode::Api => "API",
        }
    }
}

impl fmt::Display for AuthMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why EKS itself owns an entry (it must be adopted, never deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EksOwner {
    ClusterCreator,
    Nodegroup,
    FargateProfile,
}

impl EksOwner {
    /// Who the entry was created for, in words.
    pub fn describe(self) -> &'static str {
        match self {
            EksOwner::ClusterCreator => "the cluster creator",
            EksOwner::Nodegroup => "a managed node group",
            EksOwner::FargateProfile => "a Fargate profile",
        }
    }
}

/// The cluster the state belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInfo {
    pub name: String,
    /// `arn:PARTITION:eks:REGION:ACCOUNT:cluster/NAME`.
    pub arn: String,
    pub authentication_mode: AuthMode,
    /// `ACTIVE`, `UPDATING`, ... as DescribeCluster says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ClusterStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
}

impl ClusterInfo {
    /// The partition and account in the cluster's ARN.
    pub fn partition_and_account(&self) -> Option<(Partition, String)> {
        let parts: Vec<&str> = self.arn.split(':').collect();
        match parts.as_slice() {
            ["arn", p, "eks", _, account, _] if account.len() == 12 => {
                Some((Partition::from_name(p)?, account.to_string()))
            }
            _ => None,
        }
    }
}

/// An access entry as it exists now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrentEntry {
    pub principal_arn: PrincipalArn,
    #[serde(rename = "type")]
    pub entry_type: EntryType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default)]
    pub kubernetes_groups: Vec<String>,
    #[serde(default)]
    pub access_policies: Vec<AccessPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eks_owned: Option<EksOwner>,
}

/// A snapshot of the cluster's access configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrentState {
    pub schema_version: u32,
    pub cluster: ClusterInfo,
    #[serde(default)]
    pub access_entries: Vec<CurrentEntry>,
    /// Roles EKS creates entries for itself (managed node groups, Fargate
    /// profiles), whether or not their entries exist yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub eks_owned_roles: Vec<OwnedRole>,
}

/// A role EKS creates an access entry for itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnedRole {
    pub principal_arn: PrincipalArn,
    pub owner: EksOwner,
}

/// A cluster's status as DescribeCluster reports it. Only `ACTIVE` lets a
/// run change the cluster; a status this version does not know is kept as
/// written and counts as not active.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ClusterStatus {
    Creating,
    Active,
    Deleting,
    Failed,
    Updating,
    Pending,
    Other(String),
}

impl ClusterStatus {
    /// The name the EKS API uses.
    pub fn as_str(&self) -> &str {
        match self {
            ClusterStatus::Creating => "CREATING",
            ClusterStatus::Active => "ACTIVE",
            ClusterStatus::Deleting => "DELETING",
            ClusterStatus::Failed => "FAILED",
            ClusterStatus::Updating => "UPDATING",
            ClusterStatus::Pending => "PENDING",
            ClusterStatus::Other(s) => s,
        }
    }

    /// True when the cluster may be changed.
    pub fn is_active(&self) -> bool {
        *self == ClusterStatus::Active
    }
}

impl From<String> for ClusterStatus {
    fn from(s: String) -> ClusterStatus {
        match s.as_str() {
            "CREATING" => ClusterStatus::Creating,
            "ACTIVE" => ClusterStatus::Active,
            "DELETING" => ClusterStatus::Deleting,
            "FAILED" => ClusterStatus::Failed,
            "UPDATING" => ClusterStatus::Updating,
            "PENDING" => ClusterStatus::Pending,
            _ => ClusterStatus::Other(s),
        }
    }
}

impl From<ClusterStatus> for String {
    fn from(s: ClusterStatus) -> String {
        s.as_str().to_string()
    }
}

impl fmt::Display for ClusterStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `name` may be an EKS cluster's name: 1 to 100 letters, digits,
/// `-` and `_`, starting with a letter or digit.
pub fn is_cluster_name(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
