//! The planner: compares the desired entries with the cluster's current state
//! and decides, per principal, what to do (create, update, associate, adopt, or
//! nothing), plus the authentication-mode step. Terraform-like counts come with it.
//!
//! Entries and policies that exist but are not desired are left alone (and
//! reported); EKS-owned entries are adopted, never removed.

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use serde::Serialize;

use crate::mapper::{Cluster, Left, Mapped};
use crate::model::arn::PrincipalArn;
use crate::model::cleanup::AwsAuthCleanup;
use crate::model::cluster::{AuthMode, CurrentEntry, CurrentState, EksOwner};
use crate::model::entry::{
    default_username, AccessPolicy, DesiredEntry, EntryType, MAX_ENTRIES_PER_CLUSTER,
};
use crate::model::finding::{Code, Finding, Severity, Source, Tally};

/// Where the current state came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "source")]
pub enum Origin {
    /// Read from `--current-file`.
    File { file: String },
    /// Read live from the cluster, as `caller`.
    Live { cluster: String, caller: String },
    /// Nothing given: assumed `CONFIG_MAP` with no entries.
    Assumed,
}

/// The cluster's state before the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub origin: Origin,
    pub mode: AuthMode,
    /// Kubernetes version and EKS platform version, when known.
    pub version: Option<(String, String)>,
    /// The cluster's status, when known.
    pub status: Option<crate::model::cluster::ClusterStatus>,
    pub entries: Vec<CurrentEntry>,
    /// Entries that exist but were not described (aws-auth does not name them).
    pub undescribed: Vec<String>,
    /// Roles EKS creates entries for itself.
    pub eks_owned_roles: Vec<crate::model::cluster::OwnedRole>,
    /// The access policies that exist (ListAccessPolicies), when known.
    pub known_policies: Option<Vec<String>>,
}

impl Current {
    /// The state assumed when none is given.
    pub fn assumed() -> Current {
        Current {
            origin: Origin::Assumed,
            mode: AuthMode::ConfigMap,
            version: None,
            status: None,
            entries: Vec::new(),
            undescribed: Vec::new(),
            eks_owned_roles: Vec::new(),
            known_policies: None,
        }
    }

    /// The state read from a snapshot file.
    pub fn from_state(file: &str, state: CurrentState) -> Current {
        Current::read(Origin::File { file: file.into() }, state)
    }

    /// The state read from `origin`.
    pub fn read(origin: Origin, state: CurrentState) -> Current {
        Current {
            origin,
            mode: state.cluster.authentication_mode,
            version: state.cluster.version.zip(state.cluster.platform_version),
            status: state.cluster.status,
            entries: state.access_entries,
            undescribed: Vec::new(),
            eks_owned_roles: state.eks_owned_roles,
            known_policies: None,
        }
    }
}

/// A value before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change<T> {
    pub from: T,
    pub to: T,
}

/// An access policy to associate, with the scope it has now if it has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Association {
    #[serde(flatten)]
    pub policy: AccessPolicy,
    /// The scope replaced (a re-association), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_scope: Option<crate::model::entry::AccessScope>,
}

/// What happens to one principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum Action {
    /// CreateAccessEntry, then AssociateAccessPolicy for each policy.
    #[serde(rename_all = "camelCase")]
    Create {
        principal_arn: PrincipalArn,
        #[serde(rename = "type")]
        entry_type: EntryType,
        #[serde(skip_serializing_if = "Option::is_none")]
        username: Option<String>,
        kubernetes_groups: Vec<String>,
        associate: Vec<Association>,
        /// EKS creates this entry itself when access entries are enabled; it is
        /// then adopted, and created only if it is missing.
        #[serde(skip_serializing_if = "Option::is_none")]
        eks_owned: Option<EksOwner>,
        source: Source,
        #[serde(skip_serializing_if = "Option::is_none")]
        overridden_by: Option<Source>,
    },
    /// UpdateAccessEntry (username and/or groups), and any associations.
    #[serde(rename_all = "camelCase")]
    Update {
        principal_arn: PrincipalArn,
        #[serde(skip_serializing_if = "Option::is_none")]
        username: Option<Change<Option<String>>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        kubernetes_groups: Option<Change<Vec<String>>>,
        associate: Vec<Association>,
        #[serde(skip_serializing_if = "Option::is_none")]
        eks_owned: Option<EksOwner>,
        source: Source,
        #[serde(skip_serializing_if = "Option::is_none")]
        overridden_by: Option<Source>,
    },
    /// Only AssociateAccessPolicy calls (missing policies or other scopes).
    #[serde(rename_all = "camelCase")]
    Associate {
        principal_arn: PrincipalArn,
        associate: Vec<Association>,
        #[serde(skip_serializing_if = "Option::is_none")]
        eks_owned: Option<EksOwner>,
        source: Source,
        #[serde(skip_serializing_if = "Option::is_none")]
        overridden_by: Option<Source>,
    },
    /// The entry already is as desired, or is kept as it is
    /// (`--keep-existing-entries`, then `kept` is true).
    #[serde(rename_all = "camelCase")]
    Adopt {
        principal_arn: PrincipalArn,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        kept: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        eks_owned: Option<EksOwner>,
        source: Source,
        #[serde(skip_serializing_if = "Option::is_none")]
        overridden_by: Option<Source>,
    },
    /// No entry: the principal stays on aws-auth (or is dead there).
    #[serde(rename_all = "camelCase")]
    None {
        /// As written in aws-auth.
        principal: String,
        severity: Severity,
        reason: String,
        source: Source,
    },
}

impl Action {
    /// The principal the action is about (as written for `None`).
    pub fn principal(&self) -> &str {
        match self {
            Action::Create { principal_arn, .. }
            | Action::Update { principal_arn, .. }
            | Action::Associate { principal_arn, .. }
            | Action::Adopt { principal_arn, .. } => principal_arn,
            Action::None { principal, .. } => principal,
        }
    }

    /// Where in aws-auth it comes from.
    pub fn source(&self) -> &Source {
        match self {
            Action::Create { source, .. }
            | Action::Update { source, .. }
            | Action::Associate { source, .. }
            | Action::Adopt { source, .. }
            | Action::None { source, .. } => source,
        }
    }

    /// The override that decided the entry, if any.
    pub fn overridden_by(&self) -> Option<&Source> {
        match self {
            Action::Create { overridden_by, .. }
            | Action::Update { overridden_by, .. }
            | Action::Associate { overridden_by, .. }
            | Action::Adopt { overridden_by, .. } => overridden_by.as_ref(),
            Action::None { .. } => None,
        }
    }

    /// The action's name: create, update, associate, adopt or none.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Create { .. } => "create",
            Action::Update { .. } => "update",
            Action::Associate { .. } => "associate",
            Action::Adopt { .. } => "adopt",
            Action::None { .. } => "none",
        }
    }
}

/// Terraform-like counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    #[serde(flatten)]
    pub findings: Tally,
}

impl Summary {
    /// The counts of `actions` (and the mode switch): a create adds; an
    /// update or new policies change. Nothing a plan does destroys: entries
    /// aws-auth does not name, EKS-owned ones included, are left alone, so
    /// `destroy` stays 0 until pruning exists; it is kept for the
    /// terraform-shaped summary that scripts read.
    fn of(actions: &[Action], mode_change: bool, findings: &[Finding]) -> Summary {
        let mut summary = Summary {
            findings: Tally::of(findings),
            ..Summary::default()
        };
        for a in actions {
            match a {
                Action::Create { .. } => summary.add += 1,
                Action::Update { .. } | Action::Associate { .. } => summary.change += 1,
                Action::Adopt { .. } | Action::None { .. } => {}
            }
        }
        summary.change += usize::from(mode_change);
        summary
    }

    /// True when applying would change the cluster.
    pub fn has_changes(&self) -> bool {
        self.add + self.change + self.destroy > 0
    }
}

/// The cluster facts the plan used, and how each was known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterFacts {
    pub partition: String,
    pub partition_from: KnownFrom,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    pub account_from: KnownFrom,
}

impl ClusterFacts {
    /// The facts of `cluster`, known from `account_from` and `partition_from`.
    pub fn new(
        cluster: &Cluster,
        account_from: KnownFrom,
        partition_from: KnownFrom,
    ) -> ClusterFacts {
        ClusterFacts {
            partition: cluster.partition.to_string(),
            partition_from,
            account_id: cluster.account.clone(),
            account_from,
        }
    }
}

/// How a cluster fact was known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum KnownFrom {
    /// From `--current-file`.
    CurrentFile,
    /// From the cluster, read live.
    Live,
    /// From `--account` / `--partition`.
    Flag,
    /// Inferred from aws-auth.
    Inferred,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub aws_auth_file: String,
    pub cluster: ClusterFacts,
    pub current: Current,
    /// Set when the mode must move (to `API_AND_CONFIG_MAP`).
    pub mode_change: Option<Change<AuthMode>>,
    pub desired: Vec<DesiredEntry>,
    pub actions: Vec<Action>,
    /// Sorted: errors first, then by file and line.
    pub findings: Vec<Finding>,
    pub summary: Summary,
    /// With `--cleanup-aws-auth`: the aws-auth the cleanup would leave (set
    /// by the pipeline, which has aws-auth's data).
    pub aws_auth_cleanup: Option<AwsAuthCleanup>,
}

/// What to do with an existing entry that differs from aws-auth's mapping.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Existing {
    /// Update it to the mapping, with a warning saying what changes.
    #[default]
    Update,
    /// Leave it as it is (`--keep-existing-entries`), reporting the mapping
    /// as shadowed.
    Keep,
}

/// Builds the plan from the mapper's result and the current state.
pub fn plan(
    aws_auth_file: &str,
    cluster: ClusterFacts,
    mapped: Mapped,
    current: Current,
    existing_entries: Existing,
) -> Plan {
    let Mapped {
        desired,
        left,
        mut findings,
    } = mapped;
    // Existing entries by ARN (PrincipalArn compares as EKS does).
    let existing: HashMap<&PrincipalArn, usize> = current
        .entries
        .iter()
        .enumerate()
        .map(|(i, c)| (&c.principal_arn, i))
        .collect();
    let (actions, matched) = actions(
        &desired,
        left,
        &current,
        (&existing, existing_entries),
        &mut findings,
    );
    current_findings(&desired, &current, &matched, &mut findings);
    findings.extend(quota_finding(&actions, &current));
    // An entry EKS already holds proves its ARN: no need to warn that its path
    // could not be checked.
    findings.retain(|f| {
        f.code != Code::PathUnverified
            || !f
                .principal_arn
                .as_ref()
                .is_some_and(|p| existing.contains_key(&PrincipalArn::from(p.as_str())))
    });
    // The first step of every migration (docs/DOMAIN.md section 5); harmless, since
    // aws-auth keeps working in API_AND_CONFIG_MAP.
    let mode_change = (current.mode == AuthMode::ConfigMap).then_some(Change {
        from: AuthMode::ConfigMap,
        to: AuthMode::ApiAndConfigMap,
    });
    fn order(f: &Finding) -> (std::cmp::Reverse<Severity>, Option<(&str, usize)>) {
        let at = f.source.as_ref().map(|s| (s.file.as_str(), s.line));
        (std::cmp::Reverse(f.severity), at)
    }
    findings.sort_by(|a, b| order(a).cmp(&order(b)));
    let summary = Summary::of(&actions, mode_change.is_some(), &findings);
    Plan {
        aws_auth_file: aws_auth_file.into(),
        cluster,
        current,
        mode_change,
        desired,
        actions,
        findings,
        summary,
        aws_auth_cleanup: None,
    }
}

/// An error when the entries there and those the plan creates are more than
/// EKS holds per cluster (docs/MAPPING.md row 22).
fn quota_finding(actions: &[Action], current: &Current) -> Option<Finding> {
    let existing = current.entries.len() + current.undescribed.len();
    let created = actions
        .iter()
        .filter(|a| matches!(a, Action::Create { .. }))
        .count();
    let total = existing + created;
    (total > MAX_ENTRIES_PER_CLUSTER).then(|| {
        Finding::new(
            Code::EntryQuotaExceeded,
            format!(
                "the cluster would need {total} access entries ({existing} existing, {created} to create), more than the {MAX_ENTRIES_PER_CLUSTER} EKS allows per cluster (not adjustable); EKS would refuse the creates past the limit, so this plan cannot be applied as is: leave some principals on aws-auth (override `drop: true`) or remove unused entries first"
            ),
        )
    })
}

/// One action per desired entry (create, or what comparing it with the
/// existing entry gives) and per mapping left out, in aws-auth's order; and
/// which existing entries were matched.
fn actions(
    desired: &[DesiredEntry],
    left: Vec<Left>,
    current: &Current,
    (existing, keep): (&HashMap<&PrincipalArn, usize>, Existing),
    findings: &mut Vec<Finding>,
) -> (Vec<Action>, Vec<bool>) {
    let mut actions = Vec::with_capacity(desired.len() + left.len());
    let mut matched = vec![false; current.entries.len()];
    for d in desired {
        let action = match existing.get(&d.principal_arn).copied() {
            None => create(d, current),
            Some(i) => {
                matched[i] = true;
                compare(d, &current.entries[i], keep, findings)
            }
        };
        actions.push(action);
    }
    for Left {
        principal,
        severity,
        reason,
        source,
    } in left
    {
        actions.push(Action::None {
            principal,
            severity,
            reason,
            source,
        });
    }
    fn action_order(a: &Action) -> (usize, Option<&str>, Option<usize>, &str) {
        let s = a.source();
        (s.line, s.key.as_deref(), s.index, a.principal())
    }
    actions.sort_by(|a, b| action_order(a).cmp(&action_order(b)));
    (actions, matched)
}

/// The create of `d`, marked EKS-owned when EKS makes it itself.
fn create(d: &DesiredEntry, current: &Current) -> Action {
    Action::Create {
        principal_arn: d.principal_arn.clone(),
        entry_type: d.entry_type,
        username: d.username.clone(),
        kubernetes_groups: d.kubernetes_groups.clone(),
        associate: d
            .access_policies
            .iter()
            .map(|p| Association {
                policy: p.clone(),
                previous_scope: None,
            })
            .collect(),
        eks_owned: current
            .eks_owned_roles
            .iter()
            .find(|o| o.principal_arn == d.principal_arn)
            .map(|o| o.owner),
        source: d.source.clone(),
        overridden_by: d.overridden_by.clone(),
    }
}

/// Findings about the current state: entries aws-auth does not name,
/// policies EKS does not know, an assumed state, a cluster not ACTIVE, a
/// platform version too old.
fn current_findings(
    desired: &[DesiredEntry],
    current: &Current,
    matched: &[bool],
    findings: &mut Vec<Finding>,
) {
    for (c, _) in current.entries.iter().zip(matched).filter(|(_, m)| !**m) {
        let owner = c
            .eks_owned
            .map(|o| format!(" (created by EKS for {})", o.describe()))
            .unwrap_or_default();
        findings.push(
            Finding::new(
                Code::Unmanaged,
                format!(
                    "existing {} entry{owner} is not in aws-auth; it is left as it is",
                    c.entry_type
                ),
            )
            .principal(c.principal_arn.clone()),
        );
    }
    if let Some(known) = &current.known_policies {
        for d in desired {
            for p in d
                .access_policies
                .iter()
                .filter(|p| !known.contains(&p.policy_arn))
            {
                findings.push(
                    Finding::new(
                        Code::UnknownAccessPolicy,
                        format!("{} is not an access policy this cluster's EKS knows (ListAccessPolicies)", p.policy_arn),
                    )
                    .principal(d.principal_arn.clone())
                    .at(&d.source),
                );
            }
        }
    }
    for arn in &current.undescribed {
        findings.push(
            Finding::new(
                Code::Unmanaged,
                "existing entry is not in aws-auth; it is left as it is",
            )
            .principal(arn.clone()),
        );
    }
    if current.origin == Origin::Assumed {
        findings.push(Finding::new(
            Code::CurrentStateAssumed,
            "no --current-file: assumed the cluster is in CONFIG_MAP mode with no access entries",
        ));
    }
    if let Some(status) = current.status.as_ref().filter(|s| !s.is_active()) {
        findings.push(Finding::new(
            Code::ClusterNotActive,
            format!("the cluster is {status}, not ACTIVE: an update may be under way, so this state may change; plan again once it is ACTIVE"),
        ));
    }
    if let Some((version, platform)) = &current.version {
        if let Some(why) = platform_unsupported(version, platform) {
            findings.push(Finding::new(Code::PlatformVersionUnsupported, why));
        }
    }
}

/// The oldest platform version of each Kubernetes version that supports access
/// entries (docs/DOMAIN.md section 3); later Kubernetes versions all do.
const MIN_PLATFORM: [(u32, u32); 8] = [
    (23, 17),
    (24, 15),
    (25, 12),
    (26, 11),
    (27, 10),
    (28, 6),
    (29, 1),
    (30, 2),
];

/// Why `version` (`1.28`) at `platform` (`eks.6`) cannot use access entries, if it cannot.
fn platform_unsupported(version: &str, platform: &str) -> Option<String> {
    let minor: u32 = version.strip_prefix("1.")?.parse().ok()?;
    let eks: u32 = platform.strip_prefix("eks.")?.parse().ok()?;
    let needed = match MIN_PLATFORM.iter().find(|(m, _)| *m == minor) {
        Some((_, p)) => *p,
        None if minor > 30 => return None,
        None if minor < 23 => {
            let why = "does not support access entries; upgrade to 1.23 or later first";
            return Some(format!("Kubernetes {version} {why}"));
        }
        None => return None,
    };
    (eks < needed).then(|| {
        format!(
            "Kubernetes {version} at platform version {platform} does not support access entries; it needs eks.{needed} or later (EKS updates platform versions itself; check again after the next one)"
        )
    })
}

/// Compares a desired entry with the existing one for the same principal.
fn compare(
    d: &DesiredEntry,
    c: &CurrentEntry,
    keep: Existing,
    findings: &mut Vec<Finding>,
) -> Action {
    let principal_arn = c.principal_arn.clone();
    let source = d.source.clone();
    let overridden_by = d.overridden_by.clone();
    let eks_owned = c.eks_owned;
    if c.entry_type != d.entry_type {
        let reason = format!(
            "an access entry of type {} already exists, and it takes precedence over aws-auth: this principal authenticates through that entry today, not as aws-auth says. EKS cannot change an entry's type to {}; the entry must be deleted and created again",
            c.entry_type, d.entry_type
        );
        findings.push(
            Finding::new(Code::TypeConflict, reason.clone())
                .principal(principal_arn.clone())
                .at(&source),
        );
        return Action::None {
            principal: principal_arn.into(),
            severity: Severity::Error,
            reason,
            source,
        };
    }
    let associate = associations(d, c);
    let (username, kubernetes_groups) = identity_changes(d, c);
    unasked_policies(d, c, findings);
    let changes = access_changes(c, &username, &kubernetes_groups, &associate);
    if !changes.is_empty() {
        findings.push(changes_finding(keep, &changes, &principal_arn, &source));
        if keep == Existing::Keep {
            return Action::Adopt {
                principal_arn,
                kept: true,
                eks_owned,
                source,
                overridden_by,
            };
        }
    }
    if username.is_some() || kubernetes_groups.is_some() {
        Action::Update {
            principal_arn,
            username,
            kubernetes_groups,
            associate,
            eks_owned,
            source,
            overridden_by,
        }
    } else if !associate.is_empty() {
        Action::Associate {
            principal_arn,
            associate,
            eks_owned,
            source,
            overridden_by,
        }
    } else {
        Action::Adopt {
            principal_arn,
            kept: false,
            eks_owned,
            source,
            overridden_by,
        }
    }
}

/// The warning for an existing entry whose update changes who the principal
/// is: what it gains and loses, or, when it is kept, that aws-auth's mapping
/// does not apply.
fn changes_finding(
    keep: Existing,
    changes: &[String],
    principal_arn: &PrincipalArn,
    source: &Source,
) -> Finding {
    let (code, message) = match keep {
        Existing::Update => (
            Code::EntryAccessChanges,
            format!("this entry decides who the principal is today (an entry wins over aws-auth); updating it to aws-auth's mapping changes that: {}", changes.join("; ")),
        ),
        Existing::Keep => (
            Code::ShadowedByEntry,
            format!("this entry decides who the principal is today (an entry wins over aws-auth) and --keep-existing-entries leaves it as it is, so aws-auth's mapping does not apply; it would have meant: {}", changes.join("; ")),
        ),
    };
    Finding::new(code, message)
        .principal(principal_arn.clone())
        .at(source)
}

/// What updating `c` changes, in words: its username, the groups gained
/// and lost, the policies gained and the scopes that change.
fn access_changes(
    c: &CurrentEntry,
    username: &Option<Change<Option<String>>>,
    groups: &Option<Change<Vec<String>>>,
    associate: &[Association],
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(Change { to: Some(to), .. }) = username {
        let from = c.username.as_deref().unwrap_or("(EKS's default)");
        out.push(format!("username `{from}` becomes `{to}`"));
    }
    if let Some(g) = groups {
        let gained: Vec<&str> =
            g.to.iter()
                .filter(|x| !g.from.contains(x))
                .map(String::as_str)
                .collect();
        let lost: Vec<&str> = g
            .from
            .iter()
            .filter(|x| !g.to.contains(x))
            .map(String::as_str)
            .collect();
        if !gained.is_empty() {
            out.push(format!("gains groups [{}]", gained.join(", ")));
        }
        if !lost.is_empty() {
            out.push(format!("loses groups [{}]", lost.join(", ")));
        }
    }
    for a in associate {
        let name = a.policy.short_name();
        out.push(match &a.previous_scope {
            None => format!("gains {name} ({})", a.policy.access_scope),
            Some(prev) => format!("{name} scope {prev} becomes {}", a.policy.access_scope),
        });
    }
    out
}

/// The policies `d` needs associated on `c`: missing ones, and those with
/// another scope (with the scope they replace).
fn associations(d: &DesiredEntry, c: &CurrentEntry) -> Vec<Association> {
    d.access_policies
        .iter()
        .filter_map(|p| {
            match c
                .access_policies
                .iter()
                .find(|x| x.policy_arn == p.policy_arn)
            {
                None => Some(Association {
                    policy: p.clone(),
                    previous_scope: None,
                }),
                Some(x) if x.access_scope.normalized() != p.access_scope.normalized() => {
                    Some(Association {
                        policy: p.clone(),
                        previous_scope: Some(x.access_scope.clone()),
                    })
                }
                Some(_) => None,
            }
        })
        .collect()
}

/// A change of username and one of groups, each `None` when it stays.
type IdentityChanges = (Option<Change<Option<String>>>, Option<Change<Vec<String>>>);

/// How `c`'s username and groups must change to be `d`'s (STANDARD entries
/// only: EKS sets a node entry's identity itself).
fn identity_changes(d: &DesiredEntry, c: &CurrentEntry) -> IdentityChanges {
    if !d.entry_type.is_standard() {
        return (None, None);
    }
    // No username means EKS's default for the principal.
    let default = d.principal_arn.parse().ok().map(|a| default_username(&a));
    let want = d.username.clone().or(default.clone());
    let have = c.username.clone().or(default);
    let username = (want != have).then(|| Change {
        from: c.username.clone(),
        to: want,
    });
    let mut want_g = d.kubernetes_groups.clone();
    let mut have_g = c.kubernetes_groups.clone();
    want_g.sort();
    have_g.sort();
    let groups = (want_g != have_g).then(|| Change {
        from: c.kubernetes_groups.clone(),
        to: d.kubernetes_groups.clone(),
    });
    (username, groups)
}

/// An info for each policy `c` holds that aws-auth does not ask for: it is
/// left as it is.
fn unasked_policies(d: &DesiredEntry, c: &CurrentEntry, findings: &mut Vec<Finding>) {
    for p in &c.access_policies {
        if !d
            .access_policies
            .iter()
            .any(|x| x.policy_arn == p.policy_arn)
        {
            findings.push(
                Finding::new(
                    Code::Unmanaged,
                    format!(
                        "{} ({}) is associated but not asked for by aws-auth; it is left as it is",
                        p.short_name(),
                        p.access_scope
                    ),
                )
                .principal(c.principal_arn.clone())
                .at(&d.source),
            );
        }
    }
}
