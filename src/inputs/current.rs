//! Reads the current-state file (`plan --current-file`, what `migrate-auth
//! snapshot` writes): schemaVersion 1, documented in docs/CONTRACTS.md.

use super::{invalid, InputError};
use crate::model::cluster::CurrentState;
use crate::reader;

/// Reads a snapshot file.
///
/// # Errors
/// [`InputError`] naming the line and column of anything malformed, an
/// unsupported `schemaVersion`, or a cluster ARN without account.
pub fn read(file: &str, bytes: &[u8]) -> Result<CurrentState, InputError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::arn::Partition;
    use crate::model::cluster::{AuthMode, EksOwner};

    #[test]
    fn reads_a_snapshot() {
        let text = r#"{"schemaVersion": 1,
          "cluster": {"name": "prod", "arn": "arn:aws-cn:eks:cn-north-1:111122223333:cluster/prod", "authenticationMode": "API_AND_CONFIG_MAP"},
          "accessEntries": [{"principalArn": "arn:aws-cn:iam::111122223333:role/N", "type": "EC2_LINUX", "eksOwned": "nodegroup"}]}"#;
        let s = read("c.json", text.as_bytes()).unwrap();
        assert_eq!(s.cluster.authentication_mode, AuthMode::ApiAndConfigMap);
        assert_eq!(
            s.cluster.partition_and_account(),
            Some((Partition::AwsCn, "111122223333".into()))
        );
        assert_eq!(s.access_entries[0].eks_owned, Some(EksOwner::Nodegroup));
    }

    #[test]
    fn errors_name_line_and_column() {
        let err = read("c.json", b"{\"schemaVersion\": 1,\n \"cluster\": 5}").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("c.json:2: invalid type"), "{msg}");
        assert!(msg.contains("column"), "{msg}");
    }
}
