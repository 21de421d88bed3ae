//! The migration as code (`migrate-auth export`): the access entries and
//! policy associations a plan wants, each with a stable, readable name, and
//! whether it exists already (then the code imports it rather than creating
//! it: EKS answers 409 to a create of an entry that exists). Principals with
//! an `error` finding are left out (`export` refuses unless
//! `--allow-errors`). The formats render this: [`terraform`], [`eksctl`],
//! [`cloudformation`].
//! Pure.

pub mod cloudformation;
pub mod eksctl;
pub mod terraform;
pub mod terraform_module;

use std::collections::HashSet;

use crate::migrate::plan_file::PlanFile;
use crate::migrate::steps::Step;
use crate::migrate::wants::Wants;
use crate::model::cluster::{AuthMode, CurrentEntry};
use crate::model::entry::{AccessPolicy, EntryType};
use crate::planner::Plan;

/// One access entry to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// A name for it in the code: from the principal's name, `[a-z0-9_]`,
    /// unique in the export.
    pub name: String,
    pub principal_arn: String,
    pub entry_type: EntryType,
    pub username: Option<String>,
    pub kubernetes_groups: Vec<String>,
    pub policies: Vec<Policy>,
    /// It exists in the cluster now (or EKS makes it at the switch): import.
    pub import: Option<Import>,
}

/// Why an entry is imported rather than created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Import {
    /// It exists now.
    Exists,
    /// EKS creates it itself when the cluster leaves `CONFIG_MAP` (a node
    /// group's or Fargate profile's role).
    MadeByEks,
}

/// One policy association of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Unique in the export: `ENTRY_KEY`, with `ENTRY` the entry's name.
    pub name: String,
    /// The `KEY` of `name`: unique among the entry's policies (the
    /// terraform-aws-eks module names the association `ENTRY_KEY`).
    pub key: String,
    pub policy: AccessPolicy,
    /// It exists now (with any scope): import it.
    pub exists: bool,
}

/// What an export holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The cluster's name, when known (the code's default for it).
    pub cluster_name: Option<String>,
    /// Where the plan came from (`aws-auth.yaml`, `kube-system/aws-auth`).
    pub from: String,
    pub entries: Vec<Entry>,
    /// Principals left out for their `error` findings, and the first one's
    /// message.
    pub left_out: Vec<(String, String)>,
    /// The plan switches the cluster's mode first (`CONFIG_MAP` to
    /// `API_AND_CONFIG_MAP`): the code can only be applied after that.
    pub switch_first: bool,
}

/// `s` as a double-quoted string of HCL (`templates`: `${` and `%{`
/// doubled, so nothing is a template) or YAML: quotes, backslashes and
/// every control or invisible format character escaped (`\uXXXX` keeps the
/// value in both).
pub(crate) fn quoted(s: &str, templates: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if templates && chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if crate::model::untrusted::unsafe_for_terminal(c) => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `items` as a list of [`quoted`] strings: `["a", "b"]`.
pub(crate) fn quoted_list(items: &[String], templates: bool) -> String {
    let items: Vec<String> = items.iter().map(|s| quoted(s, templates)).collect();
    format!("[{}]", items.join(", "))
}

/// `s` for a `#` comment: on one line, nothing raw that a terminal or an
/// editor would act on.
pub(crate) fn comment(s: &str) -> String {
    crate::model::untrusted::terminal(s).replace(['\n', '\r'], " ")
}

/// The comment that lists the principals left out for their `error`
/// findings, if any, then a blank line.
pub(crate) fn left_out_comment(o: &mut String, export: &Export) {
    if !export.left_out.is_empty() {
        o.push_str("#\n# Left out for their error findings (see `migrate-auth plan`):\n");
        for (arn, why) in &export.left_out {
            o.push_str(&format!("#   {}: {}\n", comment(arn), comment(why)));
        }
    }
    o.push('\n');
}

/// `name` as an identifier: lower-case `[a-z0-9_]`, starting with a letter.
fn identifier(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9') => c,
            _ => '_',
        })
        .collect();
    while out.contains("__") {
        out = out.replace("__", "_");
    }
    let out = out.trim_matches('_').to_string();
    match out.chars().next() {
        Some(c) if c.is_ascii_lowercase() => out,
        Some(_) => format!("p_{out}"),
        None => "principal".into(),
    }
}

/// `base`, or `base_2`, `base_3`... whichever is not taken yet.
fn unique(base: String, taken: &mut HashSet<String>) -> String {
    let mut name = base.clone();
    let mut n = 2;
    while !taken.insert(name.clone()) {
        name = format!("{base}_{n}");
        n += 1;
    }
    name
}

/// The associations of the entry called `name`: `wanted`, each marked as
/// existing when `now` (the entry as it is) has that policy.
fn policies(
    name: &str,
    wanted: &[AccessPolicy],
    now: Option<&CurrentEntry>,
    taken: &mut HashSet<String>,
) -> Vec<Policy> {
    wanted
        .iter()
        .map(|p| {
            let unique_name = unique(format!("{name}_{}", identifier(p.short_name())), taken);
            Policy {
                key: unique_name[name.len() + 1..].to_string(),
                name: unique_name,
                policy: p.clone(),
                exists: now.is_some_and(|e| {
                    e.access_policies
                        .iter()
                        .any(|q| q.policy_arn == p.policy_arn)
                }),
            }
        })
        .collect()
}

/// The export of `plan`, which wants `wants` ([`Wants::of`] it);
/// `cluster_name` overrides the plan's.
pub fn of(plan: &Plan, wants: &Wants, cluster_name: Option<&str>) -> Export {
    let live = match &plan.current.origin {
        crate::planner::Origin::Live { cluster, .. } => Some(cluster.clone()),
        _ => None,
    };
    of_wants(
        wants,
        &plan.current.entries,
        cluster_name.map(str::to_string).or(live),
        plan.mode_change.is_some(),
    )
}

/// The export of a saved plan; `cluster_name` overrides the plan's.
pub fn of_saved(file: &PlanFile, cluster_name: Option<&str>) -> Export {
    of_wants(
        &file.wants,
        &file.basis.access_entries,
        Some(cluster_name.unwrap_or(&file.cluster).to_string()),
        file.steps.iter().any(|s| {
            matches!(
                s,
                Step::SwitchMode {
                    from: AuthMode::ConfigMap,
                    ..
                }
            )
        }),
    )
}

/// The export of `wants`, given the entries there are now.
fn of_wants(
    wants: &Wants,
    current: &[CurrentEntry],
    cluster_name: Option<String>,
    switch_first: bool,
) -> Export {
    let mut left_out: Vec<(String, String)> = Vec::new();
    // The terraform-aws-eks module's own key for the cluster creator's entry.
    let mut taken = HashSet::from(["cluster_creator".to_string()]);
    let mut entries = Vec::new();
    for d in &wants.entries {
        let arn = d.principal_arn.as_str();
        let error = wants
            .errors
            .iter()
            .find(|e| e.principal_arn.as_deref() == Some(arn));
        if let Some(e) = error {
            if !left_out.iter().any(|(a, _)| a == arn) {
                left_out.push((arn.to_string(), e.message.clone()));
            }
            continue;
        }
        let now = current.iter().find(|e| e.principal_arn == d.principal_arn);
        let import = match (now.is_some(), d.made_by_eks) {
            (true, _) => Some(Import::Exists),
            (false, true) => Some(Import::MadeByEks),
            (false, false) => None,
        };
        // Kept as it is (--keep-existing-entries): the code says what it is
        // now, so that Terraform leaves it as the plan does.
        let (entry_type, username, kubernetes_groups, wanted) = match now.filter(|_| d.kept) {
            Some(e) => (
                e.entry_type,
                e.username.clone(),
                e.kubernetes_groups.clone(),
                &e.access_policies,
            ),
            None => (
                d.entry_type,
                d.username.clone(),
                d.kubernetes_groups.clone(),
                &d.access_policies,
            ),
        };
        let last = arn.rsplit(['/', ':']).next().unwrap_or(arn);
        let name = unique(identifier(last), &mut taken);
        let policies = policies(&name, wanted, now, &mut taken);
        entries.push(Entry {
            name,
            principal_arn: arn.to_string(),
            entry_type,
            username,
            kubernetes_groups,
            policies,
            import,
        });
    }
    Export {
        cluster_name,
        from: wants.from.clone(),
        entries,
        left_out,
        switch_first,
    }
}

/// The principals an `error` finding stands for in `wants` (all of them,
/// also those without a principal, as `(none)`).
pub fn errors(wants: &Wants) -> Vec<String> {
    wants
        .errors
        .iter()
        .map(|e| e.principal_arn.clone().unwrap_or_else(|| "(none)".into()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_identifiers_and_unique() {
        let mut taken = HashSet::new();
        assert_eq!(
            unique(identifier("Platform-Admin"), &mut taken),
            "platform_admin"
        );
        assert_eq!(
            unique(identifier("platform.admin"), &mut taken),
            "platform_admin_2"
        );
        assert_eq!(unique(identifier("9lives"), &mut taken), "p_9lives");
        assert_eq!(unique(identifier("--"), &mut taken), "principal");
        assert_eq!(unique(identifier("a__b"), &mut taken), "a_b");
    }
}
