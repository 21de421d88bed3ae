//! The diff `apply` shows before asking: per principal, who it is today (its
//! aws-auth mapping, or its entry when one exists, since entries win) against
//! who the access entry makes it, as a line diff; aws-auth's own change as a
//! unified diff; the mode changes; and a terraform-like summary line.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use similar::{ChangeTag, TextDiff};

use crate::migrate::steps::{self, Step};
use crate::model::arn::{principal_key, PrincipalArn, PrincipalKey};
use crate::model::cluster::{AuthMode, ConfigMapData, CurrentEntry};
use crate::model::untrusted::{terminal, terminal_lines};
use crate::reader::{AwsAuth, Mapping, Standing, Target};

/// Counts of what the steps change. No step destroys (a created entry's
/// deletion is an undo, not a step), so `destroy` stays 0; it is kept for the
/// terraform-shaped summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

impl Counts {
    /// "2 to add, 1 to change, 0 to destroy".
    pub fn to_add_change_destroy(self) -> String {
        format!(
            "{} to add, {} to change, {} to destroy",
            self.add, self.change, self.destroy
        )
    }
}

/// The summary counts: a created entry adds; an updated entry, new policies
/// of an existing entry, a mode switch or an aws-auth edit change.
pub fn counts(steps: &[Step]) -> Counts {
    let mut c = Counts::default();
    let mut seen: HashSet<&PrincipalArn> = HashSet::new();
    for s in steps {
        match s {
            Step::CreateEntry { principal_arn, .. } => {
                c.add += 1;
                seen.insert(principal_arn);
            }
            Step::UpdateEntry { principal_arn, .. }
            | Step::AssociatePolicy { principal_arn, .. } => {
                if seen.insert(principal_arn) {
                    c.change += 1;
                }
            }
            Step::SwitchMode { .. } | Step::ReplaceAwsAuth { .. } => c.change += 1,
        }
    }
    c
}

/// The symbols the diff used, in order of first use, for its legend.
#[derive(Default)]
struct Legend(Vec<(char, &'static str)>);

impl Legend {
    fn used(&mut self, c: char, what: &'static str) {
        if !self.0.iter().any(|(s, _)| *s == c) {
            self.0.push((c, what));
        }
    }
}

/// The diff of `steps` against `entries` (the access entries now) and
/// `aws_auth` (what aws-auth says now).
pub fn render(steps: &[Step], entries: &[CurrentEntry], aws_auth: &AwsAuth) -> String {
    let mut out = String::new();
    if steps.is_empty() {
        out.push_str("No changes. The cluster already matches the plan.\n");
        return out;
    }
    let after = steps::project(entries, steps);
    // Looked up per principal, not searched: a plan may have thousands.
    let entry_now = first_by_principal(entries);
    let entry_after = first_by_principal(&after);
    let mapping_now = active_mappings(aws_auth);
    let mut legend = Legend::default();
    let mut body = String::new();
    let mut shown: HashSet<&PrincipalArn> = HashSet::new();
    for s in steps {
        match s {
            Step::SwitchMode { from, to } => mode_lines(&mut body, &mut legend, *from, *to),
            Step::ReplaceAwsAuth { before, after } => {
                legend.used('~', "change");
                aws_auth_lines(&mut body, before, after);
            }
            Step::CreateEntry { principal_arn, .. }
            | Step::UpdateEntry { principal_arn, .. }
            | Step::AssociatePolicy { principal_arn, .. } => {
                if !shown.insert(principal_arn) {
                    continue;
                }
                let existing = entry_now.get(principal_arn).copied();
                let (symbol, what) = match s {
                    Step::CreateEntry {
                        entry_type,
                        eks_owned: Some(owner),
                        ..
                    } => ('+', format!("{entry_type} entry; EKS makes it for {} at the switch, else it is created", owner.describe())),
                    Step::CreateEntry { entry_type, .. } => ('+', format!("new {entry_type} access entry")),
                    _ => ('~', "existing access entry changes: it decides who this principal is today, since an entry wins over aws-auth".to_string()),
                };
                legend.used(symbol, if symbol == '+' { "create" } else { "change" });
                let _ = writeln!(body, "  {symbol} {} ({what})", terminal(principal_arn));
                let today = match existing {
                    Some(e) => entry_lines(e),
                    None => principal_key(principal_arn.as_str())
                        .and_then(|k| mapping_now.get(&k))
                        .map(|m| mapping_lines(m))
                        .unwrap_or_default(),
                };
                let will = entry_after
                    .get(principal_arn)
                    .map(|e| entry_lines(e))
                    .unwrap_or_default();
                let from = if existing.is_some() {
                    "entry today"
                } else {
                    "aws-auth today"
                };
                identity_diff(&mut body, from, &today, &will);
            }
        }
    }
    out.push_str("migrate-auth will make these changes, in this order:\n");
    for (s, what) in &legend.0 {
        let _ = writeln!(out, "  {s} {what}");
    }
    out.push('\n');
    out.push_str(&body);
    let _ = writeln!(out, "Apply: {}.", counts(steps).to_add_change_destroy());
    out
}

/// A mode switch, with what it means.
fn mode_lines(body: &mut String, legend: &mut Legend, from: AuthMode, to: AuthMode) {
    if to == AuthMode::Api {
        legend.used('!', "irreversible");
        let _ = writeln!(
            body,
            "  ! authentication mode: {from} -> {to} (cannot be undone: aws-auth stops counting)\n"
        );
        return;
    }
    legend.used('~', "change");
    let _ = writeln!(
        body,
        "  ~ authentication mode: {from} -> {to} (cannot be undone; aws-auth keeps working)"
    );
    if from == AuthMode::ConfigMap {
        let _ = writeln!(
            body,
            "      EKS then makes entries itself: for managed node groups and Fargate profiles,\n      \
             and (with bootstrapClusterCreatorAdminPermissions) for the cluster's creator, with\n      \
             AmazonEKSClusterAdminPolicy. An entry wins over aws-auth: where aws-auth says\n      \
             otherwise for such a principal, apply updates the entry to what aws-auth says."
        );
    }
    body.push('\n');
}

/// aws-auth's change from `before` to `after`, key by key, as unified
/// diffs, for a rollback to show.
pub(crate) fn aws_auth_change(before: &ConfigMapData, after: &ConfigMapData) -> String {
    let mut body = String::new();
    aws_auth_lines(&mut body, before, after);
    body.replace(
        "the migrated mappings are removed",
        "put back as it was before the run",
    )
}

/// aws-auth's change, key by key, as unified diffs.
fn aws_auth_lines(body: &mut String, before: &ConfigMapData, after: &ConfigMapData) {
    let _ = writeln!(
        body,
        "  ~ kube-system/aws-auth: the migrated mappings are removed"
    );
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for k in keys {
        let (a, b) = (
            before.get(k).map(String::as_str).unwrap_or(""),
            after.get(k).map(String::as_str).unwrap_or(""),
        );
        if a == b {
            continue;
        }
        for line in unified(k, a, b).lines() {
            let _ = writeln!(body, "      {}", terminal(line));
        }
    }
    body.push('\n');
}

/// The unified diff of data key `key` from `before` to `after` (raw text:
/// escape it before it reaches a terminal).
pub(crate) fn unified(key: &str, before: &str, after: &str) -> String {
    TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(2)
        .header(&format!("{key} (now)"), &format!("{key} (after)"))
        .to_string()
}

/// aws-auth's change from `before` to `after` as [`render`] shows it, for
/// a plan's preview of the cleanup.
pub(crate) fn aws_auth_removal(before: &ConfigMapData, after: &ConfigMapData) -> String {
    let mut body = String::new();
    aws_auth_lines(&mut body, before, after);
    body
}

/// Who a principal is today against who the entry makes it, line by line.
fn identity_diff(body: &mut String, from: &str, today: &str, will: &str) {
    let _ = writeln!(body, "      --- {from}\n      +++ access entry");
    let diff = TextDiff::from_lines(today, will);
    for change in diff.iter_all_changes() {
        let sign = match change.tag() {
            ChangeTag::Delete => '-',
            ChangeTag::Insert => '+',
            ChangeTag::Equal => ' ',
        };
        let _ = write!(body, "      {sign} {}", terminal_lines(change.value()));
    }
    body.push('\n');
}

/// Who an entry makes someone, one fact per line.
fn entry_lines(e: &CurrentEntry) -> String {
    let mut s = format!("type: {}\n", e.entry_type);
    if let Some((user, group)) = e.entry_type.node_identity() {
        // EKS sets these itself.
        let _ = writeln!(s, "username: {user}\ngroup: {group}");
        return s;
    }
    if let Some(u) = &e.username {
        let _ = writeln!(s, "username: {u}");
    }
    for g in &e.kubernetes_groups {
        let _ = writeln!(s, "group: {g}");
    }
    for p in &e.access_policies {
        let _ = writeln!(s, "policy: {} ({})", p.short_name(), p.access_scope);
    }
    s
}

/// Each principal's first entry in `entries`.
fn first_by_principal(entries: &[CurrentEntry]) -> HashMap<&PrincipalArn, &CurrentEntry> {
    let mut by = HashMap::new();
    for e in entries {
        by.entry(&e.principal_arn).or_insert(e);
    }
    by
}

/// The first live aws-auth mapping of each principal (paths aside).
fn active_mappings(aws_auth: &AwsAuth) -> HashMap<PrincipalKey, &Mapping> {
    let mut by = HashMap::new();
    for m in &aws_auth.mappings {
        if let (Standing::Active, Target::Arn(a)) = (&m.standing, &m.target) {
            if let Some(k) = principal_key(a) {
                by.entry(k).or_insert(m);
            }
        }
    }
    by
}

/// Who the live mapping `m` makes its principal today, one fact per line.
fn mapping_lines(m: &Mapping) -> String {
    let mut s = String::new();
    if let Some(u) = &m.username {
        let _ = writeln!(s, "username: {u}");
    }
    for g in &m.groups {
        let _ = writeln!(s, "group: {g}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::entry::EntryType;

    const AWS_AUTH: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/dev\n      username: dev\n      groups: [a]\n";

    fn dev(groups: &[&str]) -> CurrentEntry {
        CurrentEntry {
            principal_arn: "arn:aws:iam::111122223333:role/dev".into(),
            entry_type: EntryType::Standard,
            username: Some("dev".into()),
            kubernetes_groups: groups.iter().map(|g| g.to_string()).collect(),
            access_policies: Vec::new(),
            eks_owned: None,
        }
    }

    #[test]
    fn a_changed_group_shows_as_a_line_diff_and_aws_auth_as_a_unified_one() {
        let aws_auth = crate::reader::read("a", AWS_AUTH.as_bytes()).unwrap();
        let mut before = ConfigMapData::new();
        before.insert("mapRoles".into(), "- rolearn: x\n  username: dev\n".into());
        let steps = vec![
            Step::UpdateEntry {
                principal_arn: "arn:aws:iam::111122223333:role/dev".into(),
                username: None,
                kubernetes_groups: Some(vec!["b".into()]),
                previous_username: None,
                previous_kubernetes_groups: Some(vec!["a".into()]),
            },
            Step::ReplaceAwsAuth {
                before,
                after: ConfigMapData::new(),
            },
        ];
        let text = render(&steps, &[dev(&["a"])], &aws_auth);
        assert!(text.contains("--- entry today"), "{text}");
        assert!(text.contains("      - group: a\n"), "{text}");
        assert!(text.contains("      + group: b\n"), "{text}");
        assert!(text.contains("        username: dev\n"), "{text}");
        assert!(text.contains("--- mapRoles (now)"), "{text}");
        assert!(text.contains("+++ mapRoles (after)"), "{text}");
        assert!(text.contains("-- rolearn: x"), "{text}");
        assert!(
            text.contains("Apply: 0 to add, 2 to change, 0 to destroy."),
            "{text}"
        );
        // The legend names only the symbols used.
        assert!(
            text.contains("  ~ change\n") && !text.contains("  + create"),
            "{text}"
        );
    }

    #[test]
    fn nothing_to_do_says_so() {
        let aws_auth = crate::reader::read("a", AWS_AUTH.as_bytes()).unwrap();
        assert!(render(&[], &[], &aws_auth).starts_with("No changes."));
    }
}
