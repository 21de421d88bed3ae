//! Puts the tool's reading in the oracle's shape and compares the two.
//!
//! The projection keys mappings as the authenticator's `saveMap` does (roles by
//! lower-cased ARN or `SSOArnLike`, partition quirk included; users by ARN as
//! written; the last one wins) and checks that the tool's standings agree:
//! the winner of a key is not shadowed by its own data key, and the mappings
//! the authenticator drops are not active.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::oracle::{Reading, Role, Sso, User};
use crate::model::finding::Code;
use crate::reader::{AwsAuth, DataKey, Mapping, Standing, Target};

/// The three keys the authenticator reads.
const READ_KEYS: [&str; 3] = ["mapRoles", "mapUsers", "mapAccounts"];

/// The tool's reading of a case whose data keys are `present`, and what its
/// standings get wrong.
pub(super) fn project(auth: &AwsAuth, present: &[&str]) -> (Reading, Vec<String>) {
    let mut reading = Reading::default();
    for key in present.iter().filter(|k| READ_KEYS.contains(k)) {
        let failed = auth.findings.iter().any(|f| {
            f.code == Code::KeyInactive
                && f.source.as_ref().and_then(|s| s.key.as_deref()) == Some(*key)
        });
        let status = if failed { "failed" } else { "loaded" };
        reading.keys.insert(key.to_string(), status.to_string());
    }
    let mut problems = Vec::new();
    let roles = winners(auth, DataKey::MapRoles, role_key, &mut problems);
    reading.roles = roles.iter().map(|(k, m)| role(k, m)).collect();
    let users = winners(auth, DataKey::MapUsers, user_key, &mut problems);
    reading.users = users.iter().map(|(k, m)| user(k, m)).collect();
    let accounts: BTreeSet<&str> = auth.accounts.iter().map(|a| a.id.as_str()).collect();
    reading.accounts = accounts.into_iter().map(str::to_string).collect();
    (reading, problems)
}

/// The last mapping of `key` per lookup key, checking the standings of all.
fn winners<'a>(
    auth: &'a AwsAuth,
    key: DataKey,
    lookup: fn(&Target) -> String,
    problems: &mut Vec<String>,
) -> BTreeMap<String, &'a Mapping> {
    let mine: Vec<&Mapping> = auth.mappings.iter().filter(|m| m.key == key).collect();
    let mut last: BTreeMap<String, usize> = BTreeMap::new();
    for (i, m) in mine.iter().enumerate() {
        last.insert(lookup(&m.target), i);
    }
    for (i, m) in mine.iter().enumerate() {
        let k = lookup(&m.target);
        let winner = last[&k] == i;
        match &m.standing {
            Standing::Shadowed { by } if winner && by.key.as_deref() == Some(key.as_str()) => {
                problems.push(format!(
                    "standing: {k:?} at {} is live in the authenticator, but the tool has it shadowed by {by}",
                    m.source
                ))
            }
            Standing::Active | Standing::Ambiguous { .. } if !winner => problems.push(format!(
                "standing: {k:?} at {} is dropped by the authenticator (a later {key} item has its key), but the tool has it {}",
                m.source,
                if m.standing == Standing::Active { "active" } else { "ambiguous" }
            )),
            _ => {}
        }
    }
    last.into_iter().map(|(k, i)| (k, mine[i])).collect()
}

/// `RoleMapping.Key()`: the lower-cased ARN, or `SSOArnLike()`, whose
/// partition is `aws` when the matcher's is empty and empty otherwise.
fn role_key(target: &Target) -> String {
    match target {
        Target::Arn(arn) => go_lower(arn),
        Target::Sso(m) => go_lower(&format!(
            "arn:{}:iam::{}:role/AWSReservedSSO_{}_*",
            if m.partition.is_empty() { "aws" } else { "" },
            m.account_id,
            m.permission_set_name
        )),
    }
}

/// `UserMapping.Key()`: the ARN as written.
fn user_key(target: &Target) -> String {
    match target {
        Target::Arn(arn) => arn.clone(),
        Target::Sso(_) => target.written(),
    }
}

/// Go's `strings.ToLower`: each rune by its simple lower-case mapping, so
/// `İ` becomes `i` and a final `Σ` becomes `σ` (Rust's `str::to_lowercase`
/// gives `i̇` and `ς`).
pub(super) fn go_lower(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut lower = c.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(l), None) => l,
                _ if c == '\u{130}' => 'i',
                _ => c,
            }
        })
        .collect()
}

fn role(key: &str, m: &Mapping) -> Role {
    let (rolearn, sso) = match &m.target {
        Target::Arn(a) => (a.clone(), None),
        Target::Sso(s) => (
            String::new(),
            Some(Sso {
                permission_set_name: s.permission_set_name.clone(),
                account_id: s.account_id.clone(),
                partition: s.partition.clone(),
            }),
        ),
    };
    Role {
        key: key.to_string(),
        rolearn,
        sso,
        username: m.username.clone().unwrap_or_default(),
        groups: m.groups.clone(),
    }
}

fn user(key: &str, m: &Mapping) -> User {
    User {
        key: key.to_string(),
        userarn: m.target.written(),
        username: m.username.clone().unwrap_or_default(),
        groups: m.groups.clone(),
    }
}

/// What differs between the authenticator's reading and the tool's, one line
/// per difference, each starting with its aspect (`key`, `roles`, `users`,
/// `accounts`).
pub(super) fn differences(authenticator: &Reading, tool: &Reading) -> Vec<String> {
    let mut out = Vec::new();
    for (key, status) in &authenticator.keys {
        let tool_status = tool.keys.get(key).map_or("absent", String::as_str);
        if (status == "failed") != (tool_status == "failed") {
            out.push(format!(
                "key: {key} is {status} by the authenticator, {tool_status} by the tool"
            ));
        }
    }
    let role_key = |r: &Role| r.key.clone();
    compare_lists(
        "roles",
        &authenticator.roles,
        &tool.roles,
        role_key,
        &mut out,
    );
    let user_key = |u: &User| u.key.clone();
    compare_lists(
        "users",
        &authenticator.users,
        &tool.users,
        user_key,
        &mut out,
    );
    if authenticator.accounts != tool.accounts {
        out.push(format!(
            "accounts: authenticator {:?}, tool {:?}",
            authenticator.accounts, tool.accounts
        ));
    }
    out
}

/// Compares two lists of live mappings by key, naming the fields that differ.
fn compare_lists<T: Serialize>(
    aspect: &str,
    authenticator: &[T],
    tool: &[T],
    key: impl Fn(&T) -> String,
    out: &mut Vec<String>,
) {
    let fields = |m: &T| match serde_json::to_value(m) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let a: BTreeMap<String, _> = authenticator.iter().map(|m| (key(m), fields(m))).collect();
    let t: BTreeMap<String, _> = tool.iter().map(|m| (key(m), fields(m))).collect();
    for (k, am) in &a {
        let Some(tm) = t.get(k) else {
            out.push(format!("{aspect}: only the authenticator has {k:?}"));
            continue;
        };
        for (name, av) in am {
            let tv = tm.get(name).unwrap_or(&serde_json::Value::Null);
            if av != tv {
                out.push(format!(
                    "{aspect}: {k:?} {name}: authenticator {av}, tool {tv}"
                ));
            }
        }
    }
    for k in t.keys().filter(|k| !a.contains_key(*k)) {
        out.push(format!("{aspect}: only the tool has {k:?}"));
    }
}
