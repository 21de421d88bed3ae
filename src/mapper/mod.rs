//! The mapper: turns the live aws-auth mappings into the access entries that
//! keep every principal the same Kubernetes identity, and findings for what
//! cannot be carried over faithfully (docs/MAPPING.md, every row but 22, the
//! 3,000-entry quota, which the planner checks since it counts the existing
//! entries too).
//!
//! A mapping is decided in three steps, one module each: [`identity`] (type,
//! username, groups, policies), [`principal`] (the ARN EKS needs, with its path)
//! and [`settle`] (a human's override). Any blocking finding left standing means
//! no entry: the principal stays on aws-auth, where it keeps working.

mod identity;
mod principal;
mod settle;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

use crate::inputs::iam::IamDump;
use crate::inputs::overrides::{Override, Overrides};
use crate::inputs::rbac::Rbac;
use crate::model::arn::{Arn, Partition, PrincipalArn};
use crate::model::entry::{default_username, DesiredEntry, EntryType};
use crate::model::finding::{Code, Finding, Severity, Source};
use crate::reader::{AwsAuth, Mapping, Standing, Target};

use identity::Identity;

/// The cluster the entries are for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    pub partition: Partition,
    /// `None` when unknown (nothing to infer it from).
    pub account: Option<String>,
}

/// Behaviour the user opts into.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Expand `sso` matchers into one entry per matching role (row 15).
    pub expand_sso: bool,
    /// Replace groups bound to one built-in ClusterRole by access policies.
    pub policies_from_rbac: bool,
}

/// Everything the rules consult besides the mapping itself.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub cluster: &'a Cluster,
    /// `None` when no RBAC was given (row 8 needs it).
    pub rbac: Option<&'a Rbac>,
    pub iam: &'a IamDump,
    pub overrides: &'a Overrides,
    pub options: Options,
}

/// A principal that gets no entry and stays on aws-auth (or is dead there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Left {
    /// As written in aws-auth.
    pub principal: String,
    pub severity: Severity,
    pub reason: String,
    pub source: Source,
}

/// The mapper's result.
#[derive(Debug, Clone, Default)]
pub struct Mapped {
    pub desired: Vec<DesiredEntry>,
    pub left: Vec<Left>,
    pub findings: Vec<Finding>,
}

/// Which part of a decision a blocking finding is about; an override that sets
/// that part settles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Aspect {
    /// The ARN (settled by `principalArn`).
    Principal,
    /// The entry type (settled by `type`).
    Type,
    /// The username (settled by `username` or a node `type`).
    Username,
    /// The groups (settled by `kubernetesGroups` or a node `type`).
    Groups,
    /// Needs any human decision (settled by any override).
    Decision,
    /// Only `drop: true` settles it.
    Whole,
}

/// A finding that stops an entry from being planned.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    pub(crate) aspect: Aspect,
    pub(crate) finding: Finding,
}

/// One mapping's decision in progress.
pub(crate) struct Draft {
    pub(crate) identity: Identity,
    pub(crate) principals: Vec<Arn>,
    pub(crate) blocks: Vec<Block>,
    pub(crate) notes: Vec<Finding>,
    pub(crate) overridden_by: Option<Source>,
}

/// Maps every live mapping of `aws_auth`.
pub fn map(aws_auth: &AwsAuth, ctx: &Context<'_>) -> Mapped {
    let mut out = Mapped {
        findings: aws_auth.findings.clone(),
        ..Mapped::default()
    };
    let mut used_overrides: HashSet<&str> = HashSet::new();
    let live: HashSet<String> = aws_auth
        .mappings
        .iter()
        .filter(|m| !matches!(m.standing, Standing::Shadowed { .. }))
        .map(|m| m.target.written())
        .collect();
    for m in &aws_auth.mappings {
        let written = m.target.written();
        if let Standing::Shadowed { by } = &m.standing {
            if let Some(o) = ctx.overrides.by_key.get(&written) {
                if !live.contains(&written) && used_overrides.insert(o.key.as_str()) {
                    out.findings.push(
                        Finding::new(
                            Code::OverrideUnknownPrincipal,
                            format!("override for `{written}`, whose mapping at {} has no effect today (the one at {by} wins); the override would be ignored", m.source),
                        )
                        .principal(written.clone())
                        .at(&o.source),
                    );
                }
            }
            continue;
        }
        if let Some(o) = ctx.overrides.by_key.get(&written) {
            used_overrides.insert(o.key.as_str());
        }
        map_one(m, &written, ctx, &mut out);
    }
    // An empty id (what go-yaml leaves for a null item) names no account.
    for a in aws_auth.accounts.iter().filter(|a| !a.id.is_empty()) {
        out.findings.push(
            Finding::new(
                Code::MapAccounts,
                format!(
                    "mapAccounts lets every IAM principal of account {} in, named by its ARN with no groups; access entries have no equivalent, so grant the principals that need access their own entries",
                    a.id
                ),
            )
            .at(&a.source),
        );
    }
    let mut unused: Vec<_> = ctx
        .overrides
        .by_key
        .values()
        .filter(|o| !used_overrides.contains(o.key.as_str()))
        .collect();
    unused.sort_by_key(|o| o.source.line);
    for o in unused {
        out.findings.push(
            Finding::new(
                Code::OverrideUnknownPrincipal,
                format!("override for `{}`, which no live aws-auth mapping names (it must be written exactly as in aws-auth)", o.key),
            )
            .principal(o.key.clone())
            .at(&o.source),
        );
    }
    reject_conflicts(&mut out);
    out
}

fn map_one(m: &Mapping, written: &str, ctx: &Context<'_>, out: &mut Mapped) {
    let decided = identity::decide(m, ctx);
    let resolved = principal::resolve(m, ctx);
    let mut d = Draft {
        identity: decided.identity,
        principals: resolved.principals,
        blocks: decided.blocks,
        notes: decided.notes,
        overridden_by: None,
    };
    d.blocks.extend(resolved.blocks);
    d.notes.extend(resolved.notes);
    if let Standing::Ambiguous { with } = &m.standing {
        d.blocks.push(Block {
            aspect: Aspect::Decision,
            finding: Finding::new(
                Code::CaseAmbiguousUsers,
                format!(
                    "{written} differs only in case from {}; the authenticator matches one of them at random, so which identity applies today is undefined; decide with an override",
                    with.join(", ")
                ),
            )
            .principal(written)
            .at(&m.source),
        });
    }
    node_account_check(&mut d, ctx, written, &m.source);
    if let Some(o) = ctx.overrides.by_key.get(written) {
        if o.drop {
            dropped(m, written, d, o, out);
            return;
        }
        settle::apply(o, m, &mut d, ctx);
        node_account_check(&mut d, ctx, written, &o.source);
    }
    if d.blocks.is_empty() && !d.principals.is_empty() {
        desired(m, written, d, out);
    } else {
        left_out(m, written, d, out);
    }
}

/// A mapping an override drops: no entry, and what the drop settles.
fn dropped(m: &Mapping, written: &str, d: Draft, o: &Override, out: &mut Mapped) {
    out.findings.extend(d.notes);
    let settles = if d.blocks.is_empty() {
        String::new()
    } else {
        format!(
            " (settles {})",
            d.blocks
                .iter()
                .map(|b| b.finding.code.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    out.findings.push(
        Finding::new(
            Code::OverrideApplied,
            format!("override drops this principal: no access entry{settles}"),
        )
        .principal(written)
        .at(&o.source),
    );
    out.left.push(Left {
        principal: written.to_string(),
        severity: Severity::Info,
        reason: "dropped by override".into(),
        source: m.source.clone(),
    });
}

/// A mapping that carries over: one desired entry per principal.
fn desired(m: &Mapping, written: &str, d: Draft, out: &mut Mapped) {
    out.findings.extend(d.notes);
    let id = &d.identity;
    for p in d.principals {
        if id.entry_type.is_standard() && id.username.is_none() {
            out.findings.push(
                Finding::new(
                    Code::DefaultUsername,
                    format!(
                        "no username in aws-auth: EKS will use its default, `{}`, which may differ from the username the authenticator gives today",
                        default_username(&p)
                    ),
                )
                .principal(written)
                .at(&m.source),
            );
        }
        out.desired.push(DesiredEntry {
            principal_arn: PrincipalArn::from(p.to_string()),
            entry_type: id.entry_type,
            username: id.username.clone(),
            kubernetes_groups: id.groups.clone(),
            access_policies: id.policies.clone(),
            source: m.source.clone(),
            overridden_by: d.overridden_by.clone(),
        });
    }
}

/// A mapping that gets no entry, with the worst reason why.
fn left_out(m: &Mapping, written: &str, d: Draft, out: &mut Mapped) {
    let worst = d
        .blocks
        .iter()
        .max_by_key(|b| b.finding.severity)
        .map(|b| (b.finding.severity, b.finding.message.clone()));
    let (severity, reason) = worst.unwrap_or((Severity::Warning, "no principal".into()));
    // The path of a principal that gets no entry does not matter.
    out.findings.extend(
        d.notes
            .into_iter()
            .filter(|f| f.code != Code::PathUnverified),
    );
    out.left.push(Left {
        principal: written.to_string(),
        severity,
        reason,
        source: m.source.clone(),
    });
    out.findings.extend(d.blocks.into_iter().map(|b| b.finding));
}

/// Row 21: node entries must be IAM roles in the cluster's own account.
fn node_account_check(d: &mut Draft, ctx: &Context<'_>, written: &str, at: &Source) {
    let t = d.identity.entry_type;
    if t == EntryType::Standard {
        return;
    }
    let mut found: Vec<(Code, String)> = Vec::new();
    for p in &d.principals {
        if !p.is_role() {
            found.push((
                Code::NodePrincipalNotRole,
                format!("{t} entries need an IAM role; {p} is not one"),
            ));
        } else if let Some(account) = ctx.cluster.account.as_ref().filter(|a| **a != p.account) {
            found.push((
                Code::NodeCrossAccount,
                format!(
                    "{t} entries must be in the cluster's account {account}; {p} is in {}",
                    p.account
                ),
            ));
        }
    }
    for (code, message) in found {
        if d.blocks.iter().any(|b| b.finding.code == code) {
            continue;
        }
        d.blocks.push(Block {
            aspect: Aspect::Type,
            finding: Finding::new(code, message).principal(written).at(at),
        });
    }
}

/// Two mappings that resolve to one principal cannot both have their entry.
fn reject_conflicts(out: &mut Mapped) {
    let mut by_arn: HashMap<&PrincipalArn, Vec<usize>> = HashMap::new();
    for (i, e) in out.desired.iter().enumerate() {
        by_arn.entry(&e.principal_arn).or_default().push(i);
    }
    let mut clash: Vec<usize> = by_arn
        .into_values()
        .filter(|v| v.len() > 1)
        .flatten()
        .collect();
    if clash.is_empty() {
        return;
    }
    clash.sort_unstable();
    for &i in clash.iter().rev() {
        let e = out.desired.remove(i);
        let reason = format!(
            "{} is named by more than one aws-auth mapping (after paths were restored and sso matchers expanded); decide which identity it keeps with an override",
            e.principal_arn
        );
        out.findings.push(
            Finding::new(Code::PrincipalConflict, reason.clone())
                .principal(e.principal_arn.clone())
                .at(&e.source),
        );
        out.left.push(Left {
            principal: e.principal_arn.into(),
            severity: Severity::Error,
            reason,
            source: e.source,
        });
    }
}

/// Infers the cluster's partition and account from aws-auth: node roles must be
/// in the cluster's account, so they decide; otherwise the most common account.
/// Returns the cluster and, for each, how it was inferred.
pub fn infer_cluster(aws_auth: &AwsAuth) -> (Cluster, Inferred) {
    let mut node_accounts: HashMap<String, usize> = HashMap::new();
    let mut accounts: HashMap<String, usize> = HashMap::new();
    let mut partitions: HashMap<Partition, usize> = HashMap::new();
    for m in &aws_auth.mappings {
        let Target::Arn(text) = &m.target else {
            continue;
        };
        let Ok(arn) = Arn::parse(text) else { continue };
        *partitions.entry(arn.partition).or_default() += 1;
        *accounts.entry(arn.account.clone()).or_default() += 1;
        if m.username
            .as_deref()
            .is_some_and(|u| u.starts_with("system:node:"))
        {
            *node_accounts.entry(arn.account).or_default() += 1;
        }
    }
    fn most<K: Clone + Ord>(counts: &HashMap<K, usize>) -> Option<K> {
        counts
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(k, _)| k.clone())
    }
    let (partition, partition_how) = match most(&partitions) {
        Some(p) => (p, "the most common partition of the ARNs in aws-auth"),
        None => (Partition::Aws, "the default (no ARN in aws-auth)"),
    };
    let (account, account_how) = match (most(&node_accounts), most(&accounts)) {
        (Some(a), _) => (Some(a), "the account of the node roles"),
        (None, Some(a)) => (Some(a), "the most common account in aws-auth"),
        (None, None) => (None, "nothing (no ARN in aws-auth)"),
    };
    (
        Cluster { partition, account },
        Inferred {
            account: account_how,
            partition: partition_how,
        },
    )
}

/// How [`infer_cluster`] chose the account and the partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inferred {
    pub account: &'static str,
    pub partition: &'static str,
}
