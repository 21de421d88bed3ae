//! The reader: turns an aws-auth ConfigMap file into mappings, exactly as
//! aws-iam-authenticator reads it today (docs/DOMAIN.md section 1).
//!
//! It owns three steps, one module each:
//! - [`configmap`] finds the ConfigMap in what `kubectl get -o yaml|json` prints
//!   (a bare ConfigMap, a `kind: List`, several documents) and checks its shape;
//! - [`decode`] decodes each data key the way the authenticator does (YAML -> JSON ->
//!   Go's `encoding/json`: case-insensitive fields, wrong types dropped field by field);
//! - [`authenticator`] decides which mapping is live when several name one principal.
//!
//! Bad files are a [`ReadError`] naming the file and line; problems the
//! authenticator tolerates are [`Finding`]s, so the plan can show them.
//! Pure: the caller reads the bytes.

mod authenticator;
mod configmap;
mod decode;
#[cfg(test)]
mod parity;

use std::fmt;

use serde::Serialize;

use crate::model::finding::{Finding, Source};
use crate::yaml::YamlError;

/// The largest file the reader accepts. `kubectl -o json` of a full 1 MiB ConfigMap,
/// with its last-applied annotation and managed fields, stays well below it.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;
/// Kubernetes' limit on the size of a ConfigMap.
pub const MAX_CONFIGMAP_BYTES: usize = 1024 * 1024;

/// A data key the authenticator reads, named as in aws-auth.
#[allow(
    clippy::enum_variant_names,
    reason = "named after the data keys mapRoles, mapUsers, mapAccounts"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum DataKey {
    #[serde(rename = "mapRoles")]
    MapRoles,
    #[serde(rename = "mapUsers")]
    MapUsers,
    #[serde(rename = "mapAccounts")]
    MapAccounts,
}

impl DataKey {
    /// The key as written in the ConfigMap (case-sensitive).
    pub fn as_str(self) -> &'static str {
        match self {
            DataKey::MapRoles => "mapRoles",
            DataKey::MapUsers => "mapUsers",
            DataKey::MapAccounts => "mapAccounts",
        }
    }

    fn from_name(name: &str) -> Option<DataKey> {
        [DataKey::MapRoles, DataKey::MapUsers, DataKey::MapAccounts]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

impl fmt::Display for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `sso` matcher of newer authenticators: every `AWSReservedSSO_<set>_*` role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoMatcher {
    pub permission_set_name: String,
    pub account_id: String,
    /// Empty means `aws`.
    pub partition: String,
}

impl SsoMatcher {
    /// A matcher with no fields set.
    pub(crate) fn empty() -> SsoMatcher {
        SsoMatcher {
            permission_set_name: String::new(),
            account_id: String::new(),
            partition: String::new(),
        }
    }
}

/// Whom a mapping is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `rolearn` or `userarn`, exactly as written.
    Arn(String),
    /// An `sso` matcher (mapRoles only).
    Sso(SsoMatcher),
}

impl Target {
    /// The name a human uses for it, and the key of overrides: the ARN as written,
    /// or `sso:ACCOUNT:PERMISSIONSET`.
    pub fn written(&self) -> String {
        match self {
            Target::Arn(a) => a.clone(),
            Target::Sso(m) => format!("sso:{}:{}", m.account_id, m.permission_set_name),
        }
    }
}

/// Whether the authenticator uses a mapping today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// The mapping the authenticator finds for its principal.
    Active,
    /// Another mapping for the same principal wins.
    Shadowed { by: Source },
    /// User ARNs that differ only in case: which one matches is random.
    /// Holds the others, as `ARN at SOURCE`.
    Ambiguous { with: Vec<String> },
}

/// One item of `mapRoles` or `mapUsers`, as the authenticator decodes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub key: DataKey,
    pub target: Target,
    /// `None` when absent or empty.
    pub username: Option<String>,
    pub groups: Vec<String>,
    pub source: Source,
    pub standing: Standing,
}

/// One item of `mapAccounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub source: Source,
}

/// Everything read from an aws-auth file.
#[derive(Debug, Clone, Default)]
pub struct AwsAuth {
    /// `mapRoles` items, then `mapUsers` items, in file order.
    pub mappings: Vec<Mapping>,
    pub accounts: Vec<Account>,
    /// What the authenticator tolerates but the user should know.
    pub findings: Vec<Finding>,
}

/// Why a file cannot be read as an aws-auth ConfigMap.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The bytes are not UTF-8.
    #[error("{file}:{line}: not valid UTF-8 (byte offset {offset}); save the file as UTF-8")]
    NotUtf8 {
        file: String,
        line: usize,
        offset: usize,
    },
    /// The file is larger than any aws-auth export can be.
    #[error("{file}: {size} bytes is more than the {limit} bytes an aws-auth export can take")]
    TooLarge {
        file: String,
        size: usize,
        limit: usize,
    },
    /// The file is not well-formed YAML or JSON.
    #[error("{file}:{line}: not valid YAML/JSON: {}", error.what())]
    Yaml {
        file: String,
        line: usize,
        error: YamlError,
    },
    /// The file holds no aws-auth ConfigMap.
    #[error("{file}:{line}: {message}")]
    NotAwsAuth {
        file: String,
        line: usize,
        message: String,
    },
    /// A data value is larger than a ConfigMap can hold.
    #[error(
        "{file}:{line}: data.{key} is {size} bytes, more than a ConfigMap can hold ({limit} bytes)"
    )]
    ValueTooLarge {
        file: String,
        key: String,
        line: usize,
        size: usize,
        limit: usize,
    },
}

/// Reads an aws-auth ConfigMap from `bytes`; `file` names it in every message.
///
/// # Errors
/// A [`ReadError`] when the bytes are not UTF-8, not YAML/JSON, or hold no
/// `aws-auth` ConfigMap; problems inside the data keys are findings instead.
pub fn read(file: &str, bytes: &[u8]) -> Result<AwsAuth, ReadError> {
    let text = utf8(file, bytes)?;
    let data = configmap::locate(file, text)?;
    let mut out = AwsAuth::default();
    for value in &data {
        decode::decode_value(file, value, &mut out);
    }
    authenticator::settle(&mut out.mappings, &mut out.findings);
    Ok(out)
}

/// The `data` of the aws-auth ConfigMap in `bytes`, each value as stored
/// (what `--cleanup-aws-auth` edits); `file` names it in every message.
///
/// # Errors
/// As [`read`], for the file as a whole.
pub(crate) fn data(
    file: &str,
    bytes: &[u8],
) -> Result<crate::model::cluster::ConfigMapData, ReadError> {
    let text = utf8(file, bytes)?;
    Ok(configmap::locate(file, text)?
        .into_iter()
        .map(|d| (d.key, d.text))
        .collect())
}

/// Reads aws-auth's `data` as the API server holds it: each value on its own,
/// as the authenticator decodes it, so a value that fails to parse fails
/// alone. `label` names the ConfigMap in findings. Their lines are those of
/// `layout`, the ConfigMap as `migrate-auth snapshot` writes it, when given
/// (the values still come from `data`); otherwise they count as if the data
/// were written out as a `|` block per key, in the order given.
pub(crate) fn read_data<'a>(
    label: &str,
    data: impl IntoIterator<Item = (&'a str, &'a str)>,
    layout: Option<&str>,
) -> AwsAuth {
    let placed: std::collections::HashMap<String, configmap::DataValue> = layout
        .and_then(|text| configmap::locate(label, text).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|d| (d.key.clone(), d))
        .collect();
    let mut out = AwsAuth::default();
    let mut key_line = 1;
    for (key, text) in data {
        let value = match placed.get(key) {
            Some(p) => configmap::DataValue {
                text: text.to_string(),
                ..p.clone()
            },
            None => configmap::DataValue::alone(key, text, key_line),
        };
        decode::decode_value(label, &value, &mut out);
        key_line += 1 + text.lines().count();
    }
    authenticator::settle(&mut out.mappings, &mut out.findings);
    out
}

/// Checks that `bytes` are UTF-8 of an acceptable size.
///
/// # Errors
/// [`ReadError::NotUtf8`] with the line of the first bad byte, or [`ReadError::TooLarge`].
pub fn utf8<'a>(file: &str, bytes: &'a [u8]) -> Result<&'a str, ReadError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge {
            file: file.into(),
            size: bytes.len(),
            limit: MAX_FILE_BYTES,
        });
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        ReadError::NotUtf8 {
            file: file.into(),
            line: 1 + bytes[..offset].iter().filter(|&&b| b == b'\n').count(),
            offset,
        }
    })
}
