//! The cluster's current state: authentication mode and access entries with
//! their policies, in the JSON form `migrate-auth snapshot` writes and
//! `plan --current-file` reads (schemaVersion 1, documented in the README).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{invalid, InputError};
use crate::arn::Partition;
use crate::entry::{AccessPolicy, EntryType};
use crate::reader;

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
    pub status: Option<String>,
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
    pub principal_arn: String,
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
    pub principal_arn: String,
    pub owner: EksOwner,
}

impl CurrentState {
    /// Reads a snapshot file.
    ///
    /// # Errors
    /// [`InputError`] naming the line and column of anything malformed, an
    /// unsupported `schemaVersion`, or a cluster ARN without account.
    pub fn from_file(file: &str, bytes: &[u8]) -> Result<CurrentState, InputError> {
        let text = reader::utf8(file, bytes)?;
        let state: CurrentState =
            serde_json::from_str(text).map_err(|e| invalid(file, e.line(), e.to_string()))?;
        if state.schema_version != 1 {
            return Err(invalid(
                file,
                1,
                format!(
                    "schemaVersion {} is not supported (this build reads 1)",
                    state.schema_version
                ),
            ));
        }
        if state.cluster.partition_and_account().is_none() {
            return Err(invalid(
                file,
                1,
                format!(
                    "cluster.arn `{}` is not an EKS cluster ARN",
                    state.cluster.arn
                ),
            ));
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_snapshot() {
        let text = r#"{"schemaVersion": 1,
          "cluster": {"name": "prod", "arn": "arn:aws-cn:eks:cn-north-1:111122223333:cluster/prod", "authenticationMode": "API_AND_CONFIG_MAP"},
          "accessEntries": [{"principalArn": "arn:aws-cn:iam::111122223333:role/N", "type": "EC2_LINUX", "eksOwned": "nodegroup"}]}"#;
        let s = CurrentState::from_file("c.json", text.as_bytes()).unwrap();
        assert_eq!(s.cluster.authentication_mode, AuthMode::ApiAndConfigMap);
        assert_eq!(
            s.cluster.partition_and_account(),
            Some((Partition::AwsCn, "111122223333".into()))
        );
        assert_eq!(s.access_entries[0].eks_owned, Some(EksOwner::Nodegroup));
    }

    #[test]
    fn errors_name_line_and_column() {
        let err = CurrentState::from_file("c.json", b"{\"schemaVersion\": 1,\n \"cluster\": 5}")
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("c.json:2: invalid type"), "{msg}");
        assert!(msg.contains("column"), "{msg}");
    }
}
