//! What the aws-auth cleanup (`--cleanup-aws-auth`) leaves: the data after
//! it, and how each changed key was edited. `migrate::cleanup` makes it;
//! a plan carries it as its preview, and the renderers show it.

use serde::Serialize;

use crate::model::cluster::ConfigMapData;

/// aws-auth before and after the cleanup, with how each changed key was edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsAuthCleanup {
    pub before: ConfigMapData,
    pub after: ConfigMapData,
    /// The keys that change, in the order mapRoles, mapUsers.
    pub keys: Vec<KeyEdit>,
}

impl AwsAuthCleanup {
    /// True when the cleanup changes aws-auth at all.
    pub fn changes(&self) -> bool {
        self.before != self.after
    }
}

/// One data key the cleanup changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyEdit {
    pub key: String,
    /// The 0-based indexes of the items removed (the `index` of a `Source`).
    pub removed_items: Vec<usize>,
    #[serde(flatten)]
    pub edit: Edit,
}

/// How a key was edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "edit")]
pub enum Edit {
    /// The removed items were cut out; every other byte stays.
    Minimal,
    /// Every item went, so the key is removed.
    Removed,
    /// The kept mappings were written anew (comments, quoting and items the
    /// authenticator ignores are not kept), because the value could not be
    /// edited in place: `reason` says why.
    Rewritten { reason: String },
}
