//! The Markdown plan's tables: one per action kind, with the columns that
//! kind has, and one row per principal. Several actions of one kind for one
//! principal (as EKS compares ARNs: user ARNs differing only in case, or two
//! mappings resolving to one principal) are folded into one row, each
//! column showing the distinct values of the actions, one per line.

use super::{code, text};
use crate::model::arn::PrincipalArn;
use crate::planner::{Action, Plan};
use crate::render::{association_text, owner_text, policy_text};

/// The action kinds, in the order the plan shows them.
pub(super) const KINDS: [&str; 5] = ["create", "update", "associate", "adopt", "none"];

/// The columns of a kind's table.
pub(super) fn header(kind: &str) -> &'static [&'static str] {
    match kind {
        "create" => &[
            "Principal",
            "Type",
            "Username",
            "Groups",
            "Policies",
            "Source",
        ],
        "update" => &["Principal", "Username", "Groups", "Policies", "Source"],
        "associate" => &["Principal", "Policies", "Source"],
        "adopt" => &["Principal", "Note", "Source"],
        _ => &["Principal", "Severity", "Reason", "Source"],
    }
}

/// One table's rows: the principals, in the plan's order.
pub(super) struct Table {
    pub(super) kind: &'static str,
    /// Each row as Markdown, without its line break.
    pub(super) rows: Vec<String>,
    /// How many actions the rows stand for.
    pub(super) actions: usize,
}

/// The tables of `plan`, one per kind that has actions.
pub(super) fn tables(plan: &Plan) -> Vec<Table> {
    KINDS
        .iter()
        .filter_map(|kind| {
            let actions: Vec<&Action> = plan.actions.iter().filter(|a| a.name() == *kind).collect();
            (!actions.is_empty()).then(|| Table {
                kind,
                rows: by_principal(&actions).iter().map(|r| row(r)).collect(),
                actions: actions.len(),
            })
        })
        .collect()
}

/// `actions` folded by principal, in the order each principal first comes.
fn by_principal<'a>(actions: &[&'a Action]) -> Vec<Vec<&'a Action>> {
    let mut at: std::collections::HashMap<PrincipalArn, usize> = Default::default();
    let mut out: Vec<Vec<&Action>> = Vec::new();
    for a in actions {
        let key = PrincipalArn::from(a.principal());
        match at.get(&key) {
            Some(&i) => out[i].push(a),
            None => {
                at.insert(key, out.len());
                out.push(vec![a]);
            }
        }
    }
    out
}

/// One row for the actions of one principal: per column, the distinct
/// values of the actions, one per line.
fn row(actions: &[&Action]) -> String {
    let cells: Vec<Vec<String>> = actions.iter().map(|a| cells(a)).collect();
    let width = cells.first().map_or(0, Vec::len);
    let mut out = String::from("|");
    for column in 0..width {
        let mut seen: Vec<&str> = Vec::new();
        for c in &cells {
            if !seen.contains(&c[column].as_str()) {
                seen.push(&c[column]);
            }
        }
        out.push(' ');
        out.push_str(&seen.join("<br>"));
        out.push_str(" |");
    }
    out
}

/// The cells of one action, as its kind's [`header`] names them.
fn cells(a: &Action) -> Vec<String> {
    let groups = |g: &[String]| g.iter().map(|x| code(x)).collect::<Vec<_>>().join(", ");
    let mut at = a.source().to_string();
    if let Some(o) = a.overridden_by() {
        at.push_str(&format!("; override {o}"));
    }
    let principal = code(a.principal());
    let source = text(&at);
    match a {
        Action::Create {
            entry_type,
            username,
            kubernetes_groups,
            associate,
            ..
        } => {
            let policies: Vec<String> = associate.iter().map(|p| policy_text(&p.policy)).collect();
            vec![
                principal,
                entry_type.to_string(),
                username.as_deref().map_or("(EKS default)".into(), code),
                groups(kubernetes_groups),
                text(&policies.join(", ")),
                source,
            ]
        }
        Action::Update {
            username,
            kubernetes_groups,
            associate,
            ..
        } => vec![
            principal,
            username.as_ref().map_or(String::new(), |c| {
                format!(
                    "{} -> {}",
                    code(c.from.as_deref().unwrap_or("(none)")),
                    code(c.to.as_deref().unwrap_or("(none)"))
                )
            }),
            kubernetes_groups.as_ref().map_or(String::new(), |c| {
                format!("{} -> {}", groups(&c.from), groups(&c.to))
            }),
            text(&associations(associate)),
            source,
        ],
        Action::Associate { associate, .. } => {
            vec![principal, text(&associations(associate)), source]
        }
        Action::Adopt {
            eks_owned, kept, ..
        } => {
            let note = match (kept, eks_owned) {
                (true, _) => "kept as it is, with --keep-existing-entries".to_string(),
                (false, Some(o)) => owner_text(*o),
                (false, None) => "already as planned".to_string(),
            };
            vec![principal, text(&note), source]
        }
        Action::None {
            severity, reason, ..
        } => vec![principal, severity.to_string(), text(reason), source],
    }
}

fn associations(list: &[crate::planner::Association]) -> String {
    list.iter()
        .map(association_text)
        .collect::<Vec<_>>()
        .join(", ")
}
