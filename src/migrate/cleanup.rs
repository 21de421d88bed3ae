//! The aws-auth cleanup: aws-auth's data without the migrated items. The
//! edit is minimal: each removed item's text is cut out (its span from
//! [`crate::yaml::item_spans`]) and every other byte of the value stays,
//! comments and quoting included. A value that cannot be edited in place
//! (a flow sequence, an anchor shared between items, ...) is written anew
//! from the kept mappings instead, and the result says so. Either way the
//! result is read back as the authenticator reads it and must yield exactly
//! the kept mappings, with every other key unchanged; anything else is a
//! [`CleanupError`], never a value to write. Pure.

use std::collections::{BTreeSet, HashSet};

use crate::model::cleanup::{AwsAuthCleanup, Edit, KeyEdit};
use crate::model::cluster::ConfigMapData;
use crate::planner::{Action, Plan};
use crate::reader::{self, AwsAuth, DataKey, Mapping, Standing, Target};
use crate::yaml::{self, Emit};

/// A broken invariant: the edited aws-auth does not read back as it must.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CleanupError {
    #[error("the aws-auth cleanup would not leave exactly the kept mappings in {key} ({what}), so nothing is written; this is a bug in migrate-auth, please report it with the aws-auth value")]
    Unverified { key: String, what: String },
}

/// The aws-auth items (key, index) that get an access entry.
pub(crate) fn migrated(plan: &Plan) -> HashSet<(String, usize)> {
    plan.actions
        .iter()
        .filter(|a| !matches!(a, Action::None { .. }))
        .filter_map(|a| {
            let s = a.source();
            Some((s.key.clone()?, s.index?))
        })
        .collect()
}

/// aws-auth's data without the `migrated` items (`read` is what the reader
/// made of `data`). A key that lost no item is kept byte for byte; a key
/// whose items all went is removed; `mapAccounts` and keys the reader could
/// not decode are never touched.
///
/// # Errors
/// [`CleanupError`] when the result does not read back as the kept mappings.
pub(crate) fn cleaned(
    data: &ConfigMapData,
    read: &AwsAuth,
    migrated: &HashSet<(String, usize)>,
) -> Result<AwsAuthCleanup, CleanupError> {
    let mut after = data.clone();
    let mut keys = Vec::new();
    for key in [DataKey::MapRoles, DataKey::MapUsers] {
        let Some(value) = data.get(key.as_str()) else {
            continue;
        };
        let removed = removed_in(key, read, migrated);
        if removed.is_empty() {
            continue;
        }
        let kept: Vec<&Mapping> = kept_in(key, read, &removed);
        let edit = if kept.is_empty() {
            after.remove(key.as_str());
            Edit::Removed
        } else {
            let (text, edit) = match cut(value, &removed) {
                Ok(text) => (text, Edit::Minimal),
                Err(why) => (
                    rewritten(key, &kept),
                    Edit::Rewritten {
                        reason: why.to_string(),
                    },
                ),
            };
            after.insert(key.as_str().to_string(), text);
            edit
        };
        keys.push(KeyEdit {
            key: key.as_str().to_string(),
            removed_items: removed.into_iter().collect(),
            edit,
        });
    }
    let cleanup = AwsAuthCleanup {
        before: data.clone(),
        after,
        keys,
    };
    verify(&cleanup, read)?;
    Ok(cleanup)
}

/// The indexes of `key`'s mappings that are migrated, and of those a
/// migrated mapping shadows (kept, a duplicate would come back to life).
fn removed_in(
    key: DataKey,
    read: &AwsAuth,
    migrated: &HashSet<(String, usize)>,
) -> BTreeSet<usize> {
    let gone =
        |k: &str, i: Option<usize>| i.is_some_and(|i| migrated.contains(&(k.to_string(), i)));
    read.mappings
        .iter()
        .filter(|m| m.key == key)
        .filter(|m| {
            let winner_gone = match &m.standing {
                Standing::Shadowed { by } => by.key.as_deref().is_some_and(|k| gone(k, by.index)),
                _ => false,
            };
            winner_gone || gone(key.as_str(), m.source.index)
        })
        .filter_map(|m| m.source.index)
        .collect()
}

/// `key`'s mappings that stay, in order.
fn kept_in<'a>(key: DataKey, read: &'a AwsAuth, removed: &BTreeSet<usize>) -> Vec<&'a Mapping> {
    read.mappings
        .iter()
        .filter(|m| m.key == key && !m.source.index.is_some_and(|i| removed.contains(&i)))
        .collect()
}

/// `value` with the items at `removed` cut out, every other byte as it was.
fn cut(value: &str, removed: &BTreeSet<usize>) -> Result<String, yaml::NotEditable> {
    let spans = yaml::item_spans(value)?;
    let mut out = String::with_capacity(value.len());
    let mut at = 0;
    for i in removed {
        let span = spans.get(*i).ok_or_else(|| {
            yaml::NotEditable::Unplaced(format!("no item {i} among {}", spans.len()))
        })?;
        out.push_str(&value[at..span.start]);
        at = span.end;
    }
    out.push_str(&value[at..]);
    Ok(out)
}

/// The kept mappings written anew.
fn rewritten(key: DataKey, kept: &[&Mapping]) -> String {
    let items: Vec<Vec<(String, Emit)>> = kept.iter().map(|m| item(key, m)).collect();
    yaml::emit_items(&items)
}

/// One mapping as the fields the authenticator reads.
fn item(key: DataKey, m: &Mapping) -> Vec<(String, Emit)> {
    let mut fields = Vec::new();
    match &m.target {
        Target::Arn(arn) => {
            let field = if key == DataKey::MapUsers {
                "userarn"
            } else {
                "rolearn"
            };
            fields.push((field.to_string(), Emit::Str(arn.clone())));
        }
        Target::Sso(s) => {
            let mut sso = vec![
                (
                    "permissionSetName".to_string(),
                    s.permission_set_name.clone(),
                ),
                ("accountID".to_string(), s.account_id.clone()),
            ];
            if !s.partition.is_empty() {
                sso.push(("partition".to_string(), s.partition.clone()));
            }
            fields.push(("sso".to_string(), Emit::Map(sso)));
        }
    }
    if let Some(u) = &m.username {
        fields.push(("username".to_string(), Emit::Str(u.clone())));
    }
    if !m.groups.is_empty() {
        fields.push(("groups".to_string(), Emit::List(m.groups.clone())));
    }
    fields
}

/// Checks the invariant: every key the cleanup does not edit is unchanged,
/// and the data after reads back, as the authenticator reads it, to exactly
/// the kept mappings (targets, usernames and groups, in order).
///
/// # Errors
/// [`CleanupError::Unverified`] naming the key and what differs.
fn verify(c: &AwsAuthCleanup, read: &AwsAuth) -> Result<(), CleanupError> {
    let unverified = |key: &str, what: String| CleanupError::Unverified {
        key: key.to_string(),
        what,
    };
    let edited = |k: &str| c.keys.iter().any(|e| e.key == k);
    for k in c.before.keys().chain(c.after.keys()) {
        if !edited(k) && c.before.get(k) != c.after.get(k) {
            return Err(unverified(k, "a key it does not edit changed".into()));
        }
    }
    let again = reader::read_data(
        "aws-auth after the cleanup",
        c.after.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        None,
    );
    for key in [DataKey::MapRoles, DataKey::MapUsers] {
        let removed: BTreeSet<usize> = c
            .keys
            .iter()
            .filter(|e| e.key == key.as_str())
            .flat_map(|e| e.removed_items.iter().copied())
            .collect();
        let want: Vec<Facts> = kept_in(key, read, &removed)
            .into_iter()
            .map(facts)
            .collect();
        let got: Vec<Facts> = again
            .mappings
            .iter()
            .filter(|m| m.key == key)
            .map(facts)
            .collect();
        if want != got {
            let first = want.iter().zip(&got).position(|(w, g)| w != g);
            let what = match first {
                Some(i) => format!("kept mapping {} reads back as another", i + 1),
                None => format!(
                    "{} mappings read back where {} are kept",
                    got.len(),
                    want.len()
                ),
            };
            return Err(unverified(key.as_str(), what));
        }
    }
    Ok(())
}

/// What a mapping decides: whom, as whom, in which groups.
type Facts<'a> = (&'a Target, Option<&'a str>, &'a [String]);

fn facts(m: &Mapping) -> Facts<'_> {
    (&m.target, m.username.as_deref(), &m.groups)
}

#[cfg(test)]
mod tests;
