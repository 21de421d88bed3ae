//! Who a mapping makes its principal in Kubernetes, carried over to an access
//! entry: the entry type, username, groups and policies (docs/MAPPING.md rows 1-11,
//! and `--policies-from-rbac`).

use super::{Aspect, Block, Context};
use crate::model::entry::{
    policy_arn, reserved_prefix, username_problem, AccessPolicy, AccessScope, EntryType,
    CLUSTER_ADMIN_POLICY,
};
use crate::model::finding::{Code, Finding};
use crate::reader::Mapping;

const NODE_EC2: &str = "system:node:{{EC2PrivateDNSName}}";
const NODE_SESSION: &str = "system:node:{{SessionName}}";
const BOOTSTRAPPERS: &str = "system:bootstrappers";
const NODES: &str = "system:nodes";
const NODE_PROXIER: &str = "system:node-proxier";
const WINDOWS: &str = "eks:kube-proxy-windows";
const MASTERS: &str = "system:masters";

/// The Kubernetes identity an entry will give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) entry_type: EntryType,
    pub(crate) username: Option<String>,
    pub(crate) groups: Vec<String>,
    pub(crate) policies: Vec<AccessPolicy>,
}

/// What the identity rules decide for one mapping.
pub(crate) struct Decided {
    pub(crate) identity: Identity,
    pub(crate) blocks: Vec<Block>,
    pub(crate) notes: Vec<Finding>,
}

/// Applies rows 1-11 (and `--policies-from-rbac`) to `m`.
pub(crate) fn decide(m: &Mapping, ctx: &Context<'_>) -> Decided {
    let who = m.target.written();
    let note =
        |code: Code, msg: String| Finding::new(code, msg).principal(who.clone()).at(&m.source);
    let block = |aspect: Aspect, code: Code, msg: String| Block {
        aspect,
        finding: note(code, msg),
    };
    let mut d = Decided {
        identity: Identity {
            entry_type: EntryType::Standard,
            username: None,
            groups: Vec::new(),
            policies: Vec::new(),
        },
        blocks: Vec::new(),
        notes: Vec::new(),
    };
    match m.username.as_deref() {
        Some(NODE_EC2) => ec2_node(m, &mut d, &note, &block),
        Some(NODE_SESSION) => session_node(m, &mut d, &note, &block),
        username => {
            standard_groups(m, ctx, &mut d, &note, &block);
            // With no username EKS's default applies; the mapper reports it once
            // the principal is known.
            if let Some(u) = username {
                match username_problem(u) {
                    Some(why) => d.blocks.push(block(
                        Aspect::Username,
                        Code::UnsupportedUsername,
                        format!("{why}; decide with an override `username:`"),
                    )),
                    None => d.identity.username = Some(u.to_string()),
                }
            }
        }
    }
    d
}

/// True when `m` maps to group `g`.
fn has_group(m: &Mapping, g: &str) -> bool {
    m.groups.iter().any(|x| x == g)
}

/// The node groups `m` lacks, as "a and b".
fn missing_node_groups(m: &Mapping) -> String {
    [BOOTSTRAPPERS, NODES]
        .into_iter()
        .filter(|g| !has_group(m, g))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// Makes the entry a node entry of type `t`, noting the groups beyond `known` that it loses.
fn node_type(
    m: &Mapping,
    t: EntryType,
    known: &[&str],
    d: &mut Decided,
    note: &dyn Fn(Code, String) -> Finding,
) {
    d.identity.entry_type = t;
    let lost: Vec<String> = m
        .groups
        .iter()
        .filter(|g| !g.is_empty() && !known.contains(&g.as_str()))
        .cloned()
        .collect();
    if !lost.is_empty() {
        d.notes.push(note(
            Code::NodeExtraGroups,
            format!(
                "{t} entries carry only the node groups; the extra group(s) {} are lost",
                lost.join(", ")
            ),
        ));
    }
}

/// The `{{EC2PrivateDNSName}}` node username: an EC2 Linux or Windows entry.
fn ec2_node(
    m: &Mapping,
    d: &mut Decided,
    note: &dyn Fn(Code, String) -> Finding,
    block: &dyn Fn(Aspect, Code, String) -> Block,
) {
    if !(has_group(m, BOOTSTRAPPERS) && has_group(m, NODES)) {
        d.blocks.push(block(
            Aspect::Type,
            Code::NodeGroupMissing,
            format!("node username without {}: an EC2 node entry would add it, changing this identity; decide with an override", missing_node_groups(m)),
        ));
    } else if has_group(m, WINDOWS) {
        node_type(
            m,
            EntryType::Ec2Windows,
            &[BOOTSTRAPPERS, NODES, WINDOWS],
            d,
            note,
        );
    } else {
        node_type(m, EntryType::Ec2Linux, &[BOOTSTRAPPERS, NODES], d, note);
    }
}

/// The `{{SessionName}}` node username: a Fargate entry, or a choice left to an override.
fn session_node(
    m: &Mapping,
    d: &mut Decided,
    note: &dyn Fn(Code, String) -> Finding,
    block: &dyn Fn(Aspect, Code, String) -> Block,
) {
    if has_group(m, NODE_PROXIER) {
        if has_group(m, BOOTSTRAPPERS) && has_group(m, NODES) {
            node_type(
                m,
                EntryType::FargateLinux,
                &[BOOTSTRAPPERS, NODES, NODE_PROXIER],
                d,
                note,
            );
        } else {
            d.blocks.push(block(
                Aspect::Type,
                Code::NodeGroupMissing,
                format!("Fargate username without {}: a FARGATE_LINUX entry would add it; decide with an override", missing_node_groups(m)),
            ));
        }
    } else {
        d.blocks.push(block(
            Aspect::Type,
            Code::AmbiguousNodeRole,
            format!(
                "`{NODE_SESSION}` with groups [{}] fits hybrid nodes (HYBRID_LINUX) and EC2 nodes named by instance id (EC2_LINUX); decide with an override `type:`",
                m.groups.join(", ")
            ),
        ));
    }
}

/// Rows 6-8 and `--policies-from-rbac`: the groups of a STANDARD entry.
fn standard_groups(
    m: &Mapping,
    ctx: &Context<'_>,
    d: &mut Decided,
    note: &dyn Fn(Code, String) -> Finding,
    block: &dyn Fn(Aspect, Code, String) -> Block,
) {
    // An empty name (what Go leaves for an element it could not decode)
    // names no group; the reader has reported it.
    for g in m.groups.iter().filter(|g| !g.is_empty()) {
        if g.contains("{{") {
            d.blocks.push(block(
                Aspect::Groups,
                Code::UnsupportedGroup,
                format!("group `{g}` holds a template, which access entries cannot render; decide with an override `kubernetesGroups:`"),
            ));
        } else if g == MASTERS {
            add_policy(
                &mut d.identity.policies,
                AccessPolicy {
                    policy_arn: policy_arn(ctx.cluster.partition, CLUSTER_ADMIN_POLICY),
                    access_scope: AccessScope::cluster(),
                },
            );
        } else if let Some(p) = reserved_prefix(g) {
            d.notes.push(note(
                Code::ReservedGroupDropped,
                format!("group `{g}` starts with `{p}`, which EKS refuses in kubernetesGroups; it is dropped"),
            ));
        } else if d.identity.groups.contains(g) {
            continue;
        } else if let Some((role, scope)) = ctx
            .options
            .policies_from_rbac
            .then(|| ctx.rbac.and_then(|r| r.policy_for_group(g)))
            .flatten()
        {
            d.notes.push(note(
                Code::PolicyFromRbac,
                format!(
                    "group `{g}` (bound only to ClusterRole {}) becomes {} on {scope}; similar, not identical: access policies do not follow aggregated ClusterRoles or CRD permissions",
                    role.role_name(),
                    role.policy_name()
                ),
            ));
            add_policy(
                &mut d.identity.policies,
                AccessPolicy {
                    policy_arn: policy_arn(ctx.cluster.partition, role.policy_name()),
                    access_scope: scope,
                },
            );
        } else {
            if let Some(rbac) = ctx.rbac {
                if rbac.bindings_of(g).next().is_none() {
                    d.notes.push(note(
                        Code::GroupNotBound,
                        format!("no RBAC binding names group `{g}`; it grants nothing today"),
                    ));
                }
            }
            d.identity.groups.push(g.clone());
        }
    }
}

/// Adds `p`, merging scopes with an existing association of the same policy.
pub(crate) fn add_policy(policies: &mut Vec<AccessPolicy>, p: AccessPolicy) {
    match policies.iter_mut().find(|x| x.policy_arn == p.policy_arn) {
        Some(existing) => existing.access_scope = existing.access_scope.union(&p.access_scope),
        None => policies.push(p),
    }
}
