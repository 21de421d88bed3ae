//! The planner: compares the desired entries with the cluster's current state
//! and decides, per principal, what to do (create, update, associate, adopt, or
//! nothing), plus the authentication-mode step. Terraform-like counts come with it.
//!
//! Entries and policies that exist but are not desired are left alone (and
//! reported); EKS-owned entries are adopted, never removed.

#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::arn::Arn;
use crate::entry::{default_username, AccessPolicy, DesiredEntry, EntryType};
use crate::finding::{Code, Finding, Severity, Source, Tally};
use crate::inputs::current::{AuthMode, CurrentEntry, CurrentState, EksOwner};
use crate::mapper::{Cluster, Left, Mapped};

/// Where the current state came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "source")]
pub enum Origin {
    /// Read from `--current-file`.
    File { file: String },
    /// Nothing given: assumed `CONFIG_MAP` with no entries.
    Assumed,
}

/// The cluster's state before the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub origin: Origin,
    pub mode: AuthMode,
    pub entries: Vec<CurrentEntry>,
}

impl Current {
    /// The state assumed when none is given.
    pub fn assumed() -> Current {
        Current {
            origin: Origin::Assumed,
            mode: AuthMode::ConfigMap,
            entries: Vec::new(),
        }
    }

    /// The state read from a snapshot file.
    pub fn from_state(file: &str, state: CurrentState) -> Current {
        Current {
            origin: Origin::File { file: file.into() },
            mode: state.cluster.authentication_mode,
            entries: state.access_entries,
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
    pub previous_scope: Option<crate::entry::AccessScope>,
}

/// What happens to one principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum Action {
    /// CreateAccessEntry, then AssociateAccessPolicy for each policy.
    #[serde(rename_all = "camelCase")]
    Create {
        principal_arn: String,
        #[serde(rename = "type")]
        entry_type: EntryType,
        #[serde(skip_serializing_if = "Option::is_none")]
        username: Option<String>,
        kubernetes_groups: Vec<String>,
        associate: Vec<Association>,
        source: Source,
    },
    /// UpdateAccessEntry (username and/or groups), and any associations.
    #[serde(rename_all = "camelCase")]
    Update {
        principal_arn: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        username: Option<Change<Option<String>>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        kubernetes_groups: Option<Change<Vec<String>>>,
        associate: Vec<Association>,
        #[serde(skip_serializing_if = "Option::is_none")]
        eks_owned: Option<EksOwner>,
        source: Source,
    },
    /// Only AssociateAccessPolicy calls (missing policies or other scopes).
    #[serde(rename_all = "camelCase")]
    Associate {
        principal_arn: String,
        associate: Vec<Association>,
        #[serde(skip_serializing_if = "Option::is_none")]
        eks_owned: Option<EksOwner>,
        source: Source,
    },
    /// The entry already is as desired.
    #[serde(rename_all = "camelCase")]
    Adopt {
        principal_arn: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        eks_owned: Option<EksOwner>,
        source: Source,
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
    /// True when applying would change the cluster.
    pub fn has_changes(&self) -> bool {
        self.add + self.change + self.destroy > 0
    }
}

/// The cluster facts the plan used, and how they were known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterFacts {
    pub partition: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// `currentFile`, `flags` or `inferred`.
    pub known_from: KnownFrom,
}

/// How the cluster's account and partition were known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum KnownFrom {
    CurrentFile,
    Flags,
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
}

/// Builds the plan from the mapper's result and the current state.
pub fn plan(
    aws_auth_file: &str,
    cluster: &Cluster,
    known_from: KnownFrom,
    mapped: Mapped,
    current: Current,
) -> Plan {
    let Mapped {
        desired,
        left,
        mut findings,
    } = mapped;
    let mut actions = Vec::with_capacity(desired.len() + left.len());
    let mut matched = vec![false; current.entries.len()];
    for d in &desired {
        let found = current
            .entries
            .iter()
            .position(|c| c.principal_arn.eq_ignore_ascii_case(&d.principal_arn));
        let action = match found {
            None => Action::Create {
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
                source: d.source.clone(),
            },
            Some(i) => {
                matched[i] = true;
                compare(d, &current.entries[i], &mut findings)
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
    actions.sort_by(|a, b| (a.source().line, a.principal()).cmp(&(b.source().line, b.principal())));
    for (c, _) in current.entries.iter().zip(&matched).filter(|(_, m)| !**m) {
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
    // An entry EKS already holds proves its ARN: no need to warn that its path
    // could not be checked.
    findings.retain(|f| {
        f.code != Code::PathUnverified
            || !f.principal_arn.as_ref().is_some_and(|p| {
                current
                    .entries
                    .iter()
                    .any(|c| c.principal_arn.eq_ignore_ascii_case(p))
            })
    });
    if current.origin == Origin::Assumed {
        findings.push(Finding::new(
            Code::CurrentStateAssumed,
            "no --current-file: assumed the cluster is in CONFIG_MAP mode with no access entries",
        ));
    }
    let mode_change =
        (current.mode == AuthMode::ConfigMap && !desired.is_empty()).then_some(Change {
            from: AuthMode::ConfigMap,
            to: AuthMode::ApiAndConfigMap,
        });
    fn order(f: &Finding) -> (std::cmp::Reverse<Severity>, Option<(&str, usize)>) {
        let at = f.source.as_ref().map(|s| (s.file.as_str(), s.line));
        (std::cmp::Reverse(f.severity), at)
    }
    findings.sort_by(|a, b| order(a).cmp(&order(b)));
    let mut summary = Summary {
        findings: Tally::of(&findings),
        ..Summary::default()
    };
    for a in &actions {
        match a {
            Action::Create { .. } => summary.add += 1,
            Action::Update { .. } | Action::Associate { .. } => summary.change += 1,
            Action::Adopt { .. } | Action::None { .. } => {}
        }
    }
    summary.change += usize::from(mode_change.is_some());
    Plan {
        aws_auth_file: aws_auth_file.into(),
        cluster: ClusterFacts {
            partition: cluster.partition.to_string(),
            account_id: cluster.account.clone(),
            known_from,
        },
        current,
        mode_change,
        desired,
        actions,
        findings,
        summary,
    }
}

/// Compares a desired entry with the existing one for the same principal.
fn compare(d: &DesiredEntry, c: &CurrentEntry, findings: &mut Vec<Finding>) -> Action {
    let principal_arn = c.principal_arn.clone();
    let source = d.source.clone();
    let eks_owned = c.eks_owned;
    if c.entry_type != d.entry_type {
        let reason = format!(
            "an access entry of type {} exists; EKS cannot change an entry's type to {}, and the existing one takes precedence over aws-auth",
            c.entry_type, d.entry_type
        );
        findings.push(
            Finding::new(Code::TypeConflict, reason.clone())
                .principal(principal_arn.clone())
                .at(&source),
        );
        return Action::None {
            principal: principal_arn,
            severity: Severity::Error,
            reason,
            source,
        };
    }
    let associate: Vec<Association> = d
        .access_policies
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
        .collect();
    let (username, kubernetes_groups) = if d.entry_type.is_standard() {
        let default = Arn::parse(&d.principal_arn)
            .map(|a| default_username(&a))
            .unwrap_or_default();
        let want = d.username.clone().unwrap_or(default.clone());
        let have = c.username.clone().unwrap_or(default);
        let username = (want != have).then(|| Change {
            from: c.username.clone(),
            to: Some(want),
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
    } else {
        (None, None)
    };
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
                .principal(principal_arn.clone())
                .at(&source),
            );
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
        }
    } else if !associate.is_empty() {
        Action::Associate {
            principal_arn,
            associate,
            eks_owned,
            source,
        }
    } else {
        Action::Adopt {
            principal_arn,
            eks_owned,
            source,
        }
    }
}
