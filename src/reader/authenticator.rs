//! Which mapping the authenticator uses when several name one principal
//! (docs/MAPPING.md rows 18, 18b, 18d).
//!
//! Roles are keyed by the lower-cased ARN, so the last duplicate wins. Users are
//! keyed by the ARN as written (the last exact duplicate wins) but matched
//! case-insensitively, so user ARNs that differ only in case match at random.
//! At login `mapRoles` is searched before `mapUsers`. Ambiguous users are only
//! marked here: the mapper reports them, since an override can settle them.

use std::collections::HashMap;

use super::{DataKey, Mapping, Standing, Target};
use crate::model::finding::{Code, Finding};

/// The lookup key the authenticator files a mapping under: `Key()`, the
/// lower-cased ARN, or `SSOArnLike()`, whose partition is `aws` when none is
/// written and empty otherwise (the authenticator's own quirk, kept: it
/// decides which of two matchers survives).
fn lookup_key(target: &Target) -> String {
    match target {
        Target::Arn(a) => go_lower(a),
        Target::Sso(m) => go_lower(&format!(
            "arn:{}:iam::{}:role/AWSReservedSSO_{}_*",
            if m.partition.is_empty() { "aws" } else { "" },
            m.account_id,
            m.permission_set_name
        )),
    }
}

/// Go's `strings.ToLower`: each character by its simple lower-case mapping
/// (no final-sigma rule; `İ` becomes `i`).
fn go_lower(s: &str) -> String {
    s.chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

/// " as X (role ARNs compare case-insensitively)" when the spellings differ.
fn spelled(other: &str, this: &str) -> String {
    if other == this {
        String::new()
    } else {
        format!(" as {other} (role ARNs compare case-insensitively)")
    }
}

/// Sets every mapping's [`Standing`] and reports shadowed and ambiguous ones.
pub(crate) fn settle(mappings: &mut [Mapping], findings: &mut Vec<Finding>) {
    let live = live(mappings);
    let mut standings = Vec::with_capacity(mappings.len());
    for i in 0..mappings.len() {
        standings.push(standing(mappings, i, &live, findings));
    }
    for (m, s) in mappings.iter_mut().zip(standings) {
        m.standing = s;
    }
}

/// The mappings the authenticator keeps, by the keys it looks them up under.
struct Live {
    /// The last role per lower-cased key.
    roles: HashMap<String, usize>,
    /// The last user per exact ARN.
    users: HashMap<String, usize>,
    /// Those users grouped by lower-cased ARN.
    user_variants: HashMap<String, Vec<usize>>,
}

/// Finds the last role per lower-cased key and the last user per exact ARN.
fn live(mappings: &[Mapping]) -> Live {
    let mut roles: HashMap<String, usize> = HashMap::new();
    for (i, m) in mappings.iter().enumerate() {
        if m.key == DataKey::MapRoles {
            roles.insert(lookup_key(&m.target), i);
        }
    }
    let mut users: HashMap<String, usize> = HashMap::new();
    for (i, m) in mappings.iter().enumerate() {
        if m.key == DataKey::MapUsers {
            users.insert(m.target.written(), i);
        }
    }
    let mut user_variants: HashMap<String, Vec<usize>> = HashMap::new();
    for &i in users.values() {
        user_variants
            .entry(lookup_key(&mappings[i].target))
            .or_default()
            .push(i);
    }
    Live {
        roles,
        users,
        user_variants,
    }
}

/// The standing of mapping `i`, reporting it when it is shadowed.
fn standing(mappings: &[Mapping], i: usize, live: &Live, findings: &mut Vec<Finding>) -> Standing {
    let m = &mappings[i];
    let lower = lookup_key(&m.target);
    match m.key {
        DataKey::MapRoles | DataKey::MapAccounts => match live.roles.get(&lower) {
            Some(&w) if w != i => shadowed_by_duplicate(m, &mappings[w], findings),
            _ => Standing::Active,
        },
        DataKey::MapUsers => user_standing(mappings, i, &lower, live, findings),
    }
}

/// The standing of user mapping `i`: shadowed by mapRoles or a later
/// duplicate, ambiguous with users differing in case, or active.
fn user_standing(
    mappings: &[Mapping],
    i: usize,
    lower: &str,
    live: &Live,
    findings: &mut Vec<Finding>,
) -> Standing {
    let m = &mappings[i];
    let written = m.target.written();
    if let Some(&r) = live.roles.get(lower) {
        let by = &mappings[r];
        findings.push(
            Finding::new(
                Code::ShadowedByMapRoles,
                format!(
                    "{written} is also in mapRoles at {}, which the authenticator looks up first, so this mapping has no effect",
                    by.source
                ),
            )
            .principal(written.clone())
            .at(&m.source),
        );
        Standing::Shadowed {
            by: by.source.clone(),
        }
    } else if live.users[&written] != i {
        shadowed_by_duplicate(m, &mappings[live.users[&written]], findings)
    } else if live.user_variants[lower].len() > 1 {
        let mut others: Vec<String> = live.user_variants[lower]
            .iter()
            .filter(|&&j| j != i)
            .map(|&j| format!("{} at {}", mappings[j].target.written(), mappings[j].source))
            .collect();
        others.sort();
        Standing::Ambiguous { with: others }
    } else {
        Standing::Active
    }
}

/// Reports `m` as shadowed by `by`, a later mapping of the same principal.
fn shadowed_by_duplicate(m: &Mapping, by: &Mapping, findings: &mut Vec<Finding>) -> Standing {
    let written = m.target.written();
    findings.push(
        Finding::new(
            Code::DuplicateShadowed,
            format!(
                "{written} is mapped again at {}{}; the authenticator uses the last one, so this mapping has no effect",
                by.source,
                spelled(&by.target.written(), &written)
            ),
        )
        .principal(written)
        .at(&m.source),
    );
    Standing::Shadowed {
        by: by.source.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{read, AwsAuth};
    use super::*;

    fn read_data(data: &str) -> AwsAuth {
        let text = format!("kind: ConfigMap\nmetadata: {{name: aws-auth}}\ndata:\n{data}");
        read("f", text.as_bytes()).unwrap()
    }

    fn standings(a: &AwsAuth) -> Vec<(&str, bool)> {
        a.mappings
            .iter()
            .map(|m| {
                (
                    m.username.as_deref().unwrap_or(""),
                    m.standing == Standing::Active,
                )
            })
            .collect()
    }

    #[test]
    fn last_duplicate_role_wins_case_insensitively_row_18() {
        let a = read_data("  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/Admin\n      username: first\n    - rolearn: arn:aws:iam::111122223333:role/ADMIN\n      username: second\n");
        assert_eq!(standings(&a), vec![("first", false), ("second", true)]);
        assert_eq!(a.findings[0].code, Code::DuplicateShadowed);
        assert!(
            a.findings[0].message.contains("f:7 mapRoles[1]"),
            "{}",
            a.findings[0].message
        );
    }

    #[test]
    fn maproles_shadows_mapusers_row_18b() {
        let a = read_data("  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:role/Admin\n      username: as-user\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/admin\n      username: as-role\n");
        let active: Vec<&str> = a
            .mappings
            .iter()
            .filter(|m| m.standing == Standing::Active)
            .map(|m| m.username.as_deref().unwrap())
            .collect();
        assert_eq!(active, vec!["as-role"]);
        assert_eq!(a.findings[0].code, Code::ShadowedByMapRoles);
    }

    #[test]
    fn users_differing_in_case_are_ambiguous_row_18d() {
        let a = read_data("  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:user/Alice\n      username: a1\n    - userarn: arn:aws:iam::111122223333:user/alice\n      username: a2\n");
        let with: Vec<&Standing> = a.mappings.iter().map(|m| &m.standing).collect();
        assert!(
            matches!(with[0], Standing::Ambiguous { with } if with[0].starts_with("arn:aws:iam::111122223333:user/alice at f:7")),
            "{with:?}"
        );
        assert!(matches!(with[1], Standing::Ambiguous { .. }));
        assert!(
            a.findings.is_empty(),
            "the mapper reports it, since an override settles it"
        );
    }

    #[test]
    fn exact_duplicate_users_last_wins() {
        let a = read_data("  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:user/bob\n      username: b1\n    - userarn: arn:aws:iam::111122223333:user/bob\n      username: b2\n");
        assert_eq!(standings(&a), vec![("b1", false), ("b2", true)]);
    }
}
