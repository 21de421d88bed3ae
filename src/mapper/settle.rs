//! Applying a human's override to a mapping (docs/MAPPING.md, section Overrides): which
//! blocking findings it settles, and the entry fields it sets. An override
//! cannot make EKS accept what it refuses: its values are checked like any other.
//! Where an override changes who the principal is, the plan says so.

use super::{Aspect, Block, Context, Draft};
use crate::inputs::overrides::Override;
use crate::model::arn::{Arn, PrincipalKind};
use crate::model::entry::{reserved_prefix, username_problem, EntryType};
use crate::model::finding::{Code, Finding, Severity};
use crate::reader::{Mapping, Target};

/// The username EKS gives entries of a node type, where it is documented.
fn node_username(t: EntryType) -> Option<&'static str> {
    match t {
        EntryType::Ec2Linux | EntryType::Ec2Windows => Some("system:node:{{EC2PrivateDNSName}}"),
        EntryType::FargateLinux | EntryType::HybridLinux => Some("system:node:{{SessionName}}"),
        _ => None,
    }
}

/// What applying an override found: values refused, and changes of who the
/// principal is.
#[derive(Default)]
struct Verdict {
    problems: Vec<String>,
    changes: Vec<String>,
}

/// Applies `o` (not a `drop`) to `d`, the draft of mapping `m`.
pub(crate) fn apply(o: &Override, m: &Mapping, d: &mut Draft, ctx: &Context<'_>) {
    let non_standard = o.entry_type.is_some_and(|t| !t.is_standard());
    let settles = |a: Aspect| match a {
        Aspect::Principal => o.principal_arn.is_some(),
        Aspect::Type => o.entry_type.is_some(),
        Aspect::Username => o.username.is_some() || non_standard,
        Aspect::Groups => o.kubernetes_groups.is_some() || non_standard,
        Aspect::Decision => true,
        Aspect::Whole => false,
    };
    let (settled, kept): (Vec<Block>, Vec<Block>) =
        d.blocks.drain(..).partition(|b| settles(b.aspect));
    d.blocks = kept;
    let mut v = Verdict::default();
    if settled
        .iter()
        .any(|b| b.aspect == Aspect::Principal && b.finding.severity < Severity::Error)
    {
        v.changes.push("it creates an entry for a mapping that never matches today, granting access the principal does not have now".into());
    }
    if let Some(text) = &o.principal_arn {
        principal(text, m, d, ctx, &mut v);
    }
    if let Some(t) = o.entry_type {
        entry_type(t, m, d, &mut v);
    }
    if let Some(u) = &o.username {
        username(u, m, d, &mut v);
    }
    if let Some(groups) = &o.kubernetes_groups {
        kubernetes_groups(groups, m, d, &mut v);
    }
    if let Some(policies) = &o.access_policies {
        if d.identity.entry_type.is_standard() {
            d.identity.policies = policies.clone();
        } else {
            v.problems.push(format!(
                "only STANDARD entries take access policies, not {}",
                d.identity.entry_type
            ));
        }
    }
    record(o, d, &settled, v);
}

/// `principalArn`: a role or user of the cluster's partition; another
/// principal than aws-auth names is a change of identity.
fn principal(text: &str, m: &Mapping, d: &mut Draft, ctx: &Context<'_>, v: &mut Verdict) {
    match Arn::parse(text) {
        Ok(arn) if !matches!(arn.kind, PrincipalKind::Role | PrincipalKind::User) => {
            v.problems.push(format!(
                "principalArn `{text}` is not an IAM role or user that EKS accepts"
            ))
        }
        Ok(arn) if arn.partition != ctx.cluster.partition => v.problems.push(format!(
            "principalArn `{text}` is not in the cluster's partition {}",
            ctx.cluster.partition
        )),
        Ok(arn) => {
            if let Target::Arn(written) = &m.target {
                if let Ok(w) = Arn::parse(written.trim()) {
                    if w.account != arn.account || !w.name.eq_ignore_ascii_case(&arn.name) {
                        v.changes.push(format!(
                            "it gives the entry to {arn}, another principal than the {w} aws-auth names"
                        ));
                    }
                }
            }
            d.principals = vec![arn];
        }
        Err(e) => v
            .problems
            .push(format!("principalArn `{text}` is invalid: {e}")),
    }
}

/// `type`: a node type takes no username, groups or policies, and EKS names
/// the node itself.
fn entry_type(t: EntryType, m: &Mapping, d: &mut Draft, v: &mut Verdict) {
    let id = &mut d.identity;
    id.entry_type = t;
    if t.is_standard() {
        return;
    }
    id.username = None;
    id.groups.clear();
    id.policies.clear();
    if let (Some(eks), Some(today)) = (node_username(t), m.username.as_deref()) {
        if eks != today {
            v.changes.push(format!(
                "as {t}, EKS names it `{eks}`, where aws-auth names it `{today}` today"
            ));
        }
    }
}

/// `username`: checked as EKS checks it.
fn username(u: &str, m: &Mapping, d: &mut Draft, v: &mut Verdict) {
    let id = &mut d.identity;
    match username_problem(u) {
        _ if !id.entry_type.is_standard() => v.problems.push(format!(
            "only STANDARD entries take a username, not {}",
            id.entry_type
        )),
        Some(why) => v.problems.push(why),
        None => {
            if m.username.as_deref() != Some(u) {
                v.changes.push(format!(
                    "username `{}` today becomes `{u}`",
                    m.username.as_deref().unwrap_or("(none)")
                ));
            }
            id.username = Some(u.to_string());
        }
    }
}

/// `kubernetesGroups`: no templates, no reserved prefixes.
fn kubernetes_groups(groups: &[String], m: &Mapping, d: &mut Draft, v: &mut Verdict) {
    let id = &mut d.identity;
    if !id.entry_type.is_standard() {
        v.problems.push(format!(
            "only STANDARD entries take kubernetesGroups, not {}",
            id.entry_type
        ));
    } else if let Some(bad) = groups
        .iter()
        .find(|g| g.contains("{{") || reserved_prefix(g).is_some())
    {
        v.problems.push(format!(
            "group `{bad}` is a template or starts with a reserved prefix"
        ));
    } else {
        let mut today: Vec<&String> = m.groups.iter().collect();
        let mut wanted: Vec<&String> = groups.iter().collect();
        today.sort();
        wanted.sort();
        if today != wanted {
            v.changes.push(format!(
                "groups [{}] today become [{}]",
                m.groups.join(", "),
                groups.join(", ")
            ));
        }
        id.groups = groups.to_vec();
    }
}

/// The findings the override leaves: refused, or applied with what it
/// settles and how it changes who the principal is.
fn record(o: &Override, d: &mut Draft, settled: &[Block], v: Verdict) {
    let finding = |code: Code, msg: String| {
        Finding::new(code, msg)
            .principal(o.key.clone())
            .at(&o.source)
    };
    if !v.problems.is_empty() {
        d.blocks.push(Block {
            aspect: Aspect::Whole,
            finding: finding(
                Code::OverrideInvalid,
                format!("the override is refused: {}", v.problems.join("; ")),
            ),
        });
        return;
    }
    let set: Vec<&str> = [
        ("type", o.entry_type.is_some()),
        ("principalArn", o.principal_arn.is_some()),
        ("username", o.username.is_some()),
        ("kubernetesGroups", o.kubernetes_groups.is_some()),
        ("accessPolicies", o.access_policies.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    let mut msg = format!(
        "override sets {}",
        if set.is_empty() {
            "nothing".to_string()
        } else {
            set.join(", ")
        }
    );
    for b in settled {
        msg.push_str(&format!(
            "; settles {}: {}",
            b.finding.code, b.finding.message
        ));
    }
    d.notes.push(finding(Code::OverrideApplied, msg));
    for change in v.changes {
        d.notes.push(finding(
            Code::IdentityChanged,
            format!("the override changes who this principal is: {change}"),
        ));
    }
    d.overridden_by = Some(o.source.clone());
}
