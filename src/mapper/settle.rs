//! Applying a human's override to a mapping (MAPPING.md, last section): which
//! blocking findings it settles, and the entry fields it sets. An override
//! cannot make EKS accept what it refuses: its values are checked like any other.

use super::{Aspect, Block, Context, Draft};
use crate::arn::{Arn, PrincipalKind};
use crate::entry::{reserved_prefix, username_problem};
use crate::finding::{Code, Finding};
use crate::inputs::overrides::Override;

/// Applies `o` (not a `drop`) to `d`.
pub(crate) fn apply(o: &Override, d: &mut Draft, ctx: &Context<'_>) {
    let non_standard = o.entry_type.is_some_and(|t| !t.is_standard());
    let settles = |a: Aspect| match a {
        Aspect::Principal => o.principal_arn.is_some(),
        Aspect::Type => o.entry_type.is_some(),
        Aspect::Username => o.username.is_some() || non_standard,
        Aspect::Groups => o.kubernetes_groups.is_some() || non_standard,
        Aspect::Decision => true,
        Aspect::Whole => false,
    };
    let note = |msg: String| {
        Finding::new(Code::OverrideApplied, msg)
            .principal(o.key.clone())
            .at(&o.source)
    };
    let (settled, kept): (Vec<Block>, Vec<Block>) =
        d.blocks.drain(..).partition(|b| settles(b.aspect));
    d.blocks = kept;
    for b in settled {
        d.notes.push(note(format!(
            "override settles {} ({})",
            b.finding.code, b.finding.message
        )));
    }
    let mut invalid = |msg: String| {
        d.blocks.push(Block {
            aspect: Aspect::Whole,
            finding: Finding::new(Code::OverrideInvalid, msg)
                .principal(o.key.clone())
                .at(&o.source),
        })
    };
    if let Some(text) = &o.principal_arn {
        match Arn::parse(text) {
            Ok(arn) if !matches!(arn.kind, PrincipalKind::Role | PrincipalKind::User) => {
                invalid(format!(
                    "override principalArn `{text}` is not an IAM role or user that EKS accepts"
                ))
            }
            Ok(arn) if arn.partition != ctx.cluster.partition => invalid(format!(
                "override principalArn `{text}` is not in the cluster's partition {}",
                ctx.cluster.partition
            )),
            Ok(arn) => d.principals = vec![arn],
            Err(e) => invalid(format!("override principalArn `{text}` is invalid: {e}")),
        }
    }
    let id = &mut d.identity;
    if let Some(t) = o.entry_type {
        id.entry_type = t;
        if non_standard {
            id.username = None;
            id.groups.clear();
            id.policies.clear();
        }
    }
    let standard = id.entry_type.is_standard();
    if let Some(u) = &o.username {
        match username_problem(u) {
            _ if !standard => invalid(format!(
                "only STANDARD entries take a username, not {}",
                id.entry_type
            )),
            Some(why) => invalid(format!("override {why}")),
            None => id.username = Some(u.clone()),
        }
    }
    if let Some(groups) = &o.kubernetes_groups {
        if !standard {
            invalid(format!(
                "only STANDARD entries take kubernetesGroups, not {}",
                id.entry_type
            ));
        } else if let Some(bad) = groups
            .iter()
            .find(|g| g.contains("{{") || reserved_prefix(g).is_some())
        {
            invalid(format!(
                "override group `{bad}` is a template or starts with a reserved prefix"
            ));
        } else {
            id.groups = groups.clone();
        }
    }
    if let Some(policies) = &o.access_policies {
        if standard {
            id.policies = policies.clone();
        } else {
            invalid(format!(
                "only STANDARD entries take access policies, not {}",
                id.entry_type
            ));
        }
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
    d.notes.push(note(format!(
        "override sets {}",
        if set.is_empty() {
            "nothing".to_string()
        } else {
            set.join(", ")
        }
    )));
    d.overridden = true;
}
