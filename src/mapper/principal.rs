//! Which IAM principal(s) a mapping's entry is for: the ARN as EKS needs it,
//! with the real IAM path, or the reason there is none (docs/MAPPING.md rows 12-16c,
//! 15, 15b and 18c).

use super::{Aspect, Block, Context};
use crate::inputs::iam::IamKind;
use crate::model::arn::{Arn, Partition, PrincipalKind};
use crate::model::finding::{Code, Finding};
use crate::reader::{DataKey, Mapping, SsoMatcher, Target};

/// What the principal rules decide for one mapping.
pub(crate) struct Resolved {
    /// The principals that get the entry (several for an expanded `sso` matcher).
    pub(crate) principals: Vec<Arn>,
    pub(crate) blocks: Vec<Block>,
    pub(crate) notes: Vec<Finding>,
}

/// Resolves `m`'s principal(s).
pub(crate) fn resolve(m: &Mapping, ctx: &Context<'_>) -> Resolved {
    let who = m.target.written();
    let mut r = Resolved {
        principals: Vec::new(),
        blocks: Vec::new(),
        notes: Vec::new(),
    };
    let finding =
        |code: Code, msg: String| Finding::new(code, msg).principal(who.clone()).at(&m.source);
    let mut block = |aspect: Aspect, code: Code, msg: String, r: &mut Resolved| {
        r.blocks.push(Block {
            aspect,
            finding: finding(code, msg),
        })
    };
    match &m.target {
        Target::Sso(matcher) => {
            resolve_sso(matcher, ctx, &mut r, &finding, &mut block);
            r
        }
        Target::Arn(text) => resolve_arn(m, text, ctx, r, &finding, &mut block),
    }
}

/// Checks the ARN as written (spaces, wildcards, syntax, partition), then resolves it by kind.
fn resolve_arn(
    m: &Mapping,
    text: &str,
    ctx: &Context<'_>,
    mut r: Resolved,
    finding: &Note<'_>,
    block: &mut Blocker<'_>,
) -> Resolved {
    if text.trim() != text {
        return dead(
            r,
            finding,
            "the ARN has surrounding spaces, so it never equals a caller's ARN",
        );
    }
    if text.contains(['*', '?']) {
        block(Aspect::Principal, Code::WildcardArn, "`*` and `?` are compared literally by the authenticator, so this mapping never matches anyone today".into(), &mut r);
        return r;
    }
    let arn = match Arn::parse(text) {
        Ok(a) => a,
        Err(e) => return dead(r, finding, &format!("the ARN is invalid: {e}")),
    };
    if arn.partition != ctx.cluster.partition {
        return dead(
            r,
            finding,
            &format!(
                "the ARN is in partition {}, the cluster in {}",
                arn.partition, ctx.cluster.partition
            ),
        );
    }
    resolve_kind(m, arn, ctx, r, finding, block)
}

/// Resolves a valid ARN in the cluster's partition by the kind of principal it names.
fn resolve_kind(
    m: &Mapping,
    arn: Arn,
    ctx: &Context<'_>,
    mut r: Resolved,
    finding: &Note<'_>,
    block: &mut Blocker<'_>,
) -> Resolved {
    match arn.kind {
        PrincipalKind::AssumedRole => {
            return dead(r, finding, "STS assumed-role ARNs never match: the authenticator turns a session into its role's ARN first")
        }
        PrincipalKind::ServiceLinkedRole => block(
            Aspect::Principal,
            Code::ServiceLinkedRole,
            "EKS refuses access entries for service-linked roles; written with its path, this mapping never matched anyway, so nothing is lost".into(),
            &mut r,
        ),
        PrincipalKind::Root | PrincipalKind::FederatedUser => block(
            Aspect::Whole,
            Code::UnsupportedPrincipal,
            format!(
                "this {} matches today, but access entries cannot hold it; keep it on aws-auth or accept losing it with an override `drop: true`",
                if arn.kind == PrincipalKind::Root { "account root" } else { "federated user" }
            ),
            &mut r,
        ),
        PrincipalKind::Role => {
            if m.key == DataKey::MapUsers {
                r.notes.push(finding(Code::RoleInMapUsers, "a role ARN under mapUsers works today (the authenticator looks ARNs up in both keys); migrated as a role".into()));
            }
            if arn.has_path() {
                return dead(r, finding, "role ARNs in aws-auth must be written without their IAM path; with it the mapping never matches");
            }
            resolve_role(arn, ctx, &mut r, finding, block);
        }
        PrincipalKind::User => {
            if m.key == DataKey::MapRoles {
                r.notes.push(finding(Code::RoleInMapUsers, "a user ARN under mapRoles works today (the authenticator looks ARNs up in both keys); migrated as a user".into()));
            }
            return resolve_user(arn, ctx, r, finding, block);
        }
    }
    r
}

/// Checks a user ARN against IAM: the real ARN when known, or why there is none.
fn resolve_user(
    arn: Arn,
    ctx: &Context<'_>,
    mut r: Resolved,
    finding: &Note<'_>,
    block: &mut Blocker<'_>,
) -> Resolved {
    match ctx.iam.lookup(IamKind::User, &arn.account, &arn.name) {
        Some(k) if !k.arn.to_string().eq_ignore_ascii_case(&arn.to_string()) => {
            return dead(r, finding, &format!("the user's real ARN is {} (from {}), so this ARN never matches", k.arn, k.from.describe()));
        }
        Some(k) => r.principals.push(k.arn.clone()),
        None if ctx.iam.covers(IamKind::User, &arn.account)
            || ctx.iam.is_absent(IamKind::User, &arn.account, &arn.name) => block(
            Aspect::Principal,
            Code::PrincipalNotFound,
            format!("user not found in IAM (a live lookup or a complete dump) of account {}: it was deleted, or a dump is incomplete; decide with an override", arn.account),
            &mut r,
        ),
        None => r.principals.push(arn),
    }
    r
}

type Note<'a> = dyn Fn(Code, String) -> Finding + 'a;
type Blocker<'a> = dyn FnMut(Aspect, Code, String, &mut Resolved) + 'a;

/// Row 16: a mapping that never matches today gets no entry.
fn dead(mut r: Resolved, finding: &Note<'_>, why: &str) -> Resolved {
    r.blocks.push(Block {
        aspect: Aspect::Principal,
        finding: finding(
            Code::DeadMapping,
            format!("{why}; no entry is planned, since one would grant access the principal does not have today"),
        ),
    });
    r
}

/// Rows 12-14: restore the role's IAM path.
fn resolve_role(
    arn: Arn,
    ctx: &Context<'_>,
    r: &mut Resolved,
    finding: &Note<'_>,
    block: &mut Blocker<'_>,
) {
    match ctx.iam.lookup(IamKind::Role, &arn.account, &arn.name) {
        Some(k) => {
            if k.arn.to_string() != arn.to_string() {
                r.notes.push(finding(
                    Code::PathRestored,
                    format!("IAM path restored from {}: {}", k.from.describe(), k.arn),
                ));
            }
            r.principals.push(k.arn.clone());
        }
        None if ctx.iam.covers(IamKind::Role, &arn.account)
            || ctx.iam.is_absent(IamKind::Role, &arn.account, &arn.name) =>
        {
            // An SSO role is re-created with a new suffix when its permission set is
            // re-provisioned: point at the candidates, never pick one.
            let successors: Vec<String> = sso_permission_set(&arn.name)
                .map(|set| ctx.iam.sso_roles(&arn.account, set))
                .unwrap_or_default()
                .iter()
                .map(|a| a.to_string())
                .collect();
            let hint = if successors.is_empty() {
                String::new()
            } else {
                format!(
                    "; the dump has {} for the same permission set (re-provisioned?): if that is who this mapping means, say so with an override `principalArn:`",
                    successors.join(", ")
                )
            };
            block(
                Aspect::Principal,
                Code::PrincipalNotFound,
                if ctx.iam.is_absent(IamKind::Role, &arn.account, &arn.name) {
                    format!("IAM has no such role in account {}: it was deleted, so nobody matches this mapping today; decide with an override{hint}", arn.account)
                } else {
                    format!("role not found in the IAM dump of account {}: it was deleted (then nobody matches this mapping today) or the dump is incomplete; decide with an override{hint}", arn.account)
                },
                r,
            )
        }
        None if arn.is_sso_role() => block(
            Aspect::Principal,
            Code::SsoPathUnknown,
            format!("IAM Identity Center roles live under /aws-reserved/sso.amazonaws.com/ and EKS needs that path; give --iam-file with `aws iam list-roles` of account {}, or an override `principalArn:`", arn.account),
            r,
        ),
        None => {
            let a = &arn.account;
            let why = if ctx.iam.was_denied(a) {
                format!("IAM refused the lookup in account {a} (AccessDenied)")
            } else if ctx.iam.not_consulted(a) {
                format!("IAM of account {a} was not consulted: a live plan asks the cluster's account and those of --lookup-role; give --lookup-role with a role in account {a} that may call iam:GetRole, or --iam-file with its `aws iam list-roles`")
            } else if !ctx.iam.has_files() {
                format!("no --iam-file was given; `aws iam list-roles --output json` in account {a}, given with --iam-file, settles it")
            } else {
                format!("the IAM files list no roles of account {a}")
            };
            r.notes.push(finding(
                Code::PathUnverified,
                format!("the role's IAM path could not be checked ({why}); if the role has a path, EKS will refuse this ARN"),
            ));
            r.principals.push(arn);
        }
    }
}

/// The permission set of an `AWSReservedSSO_<set>_<suffix>` role name.
fn sso_permission_set(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("AWSReservedSSO_")?;
    let (set, suffix) = rest.rsplit_once('_')?;
    (!set.is_empty() && !suffix.is_empty()).then_some(set)
}

/// Row 15: expand an `sso` matcher into the roles it would match.
fn resolve_sso(
    m: &SsoMatcher,
    ctx: &Context<'_>,
    r: &mut Resolved,
    finding: &Note<'_>,
    block: &mut Blocker<'_>,
) {
    let partition = if m.partition.is_empty() {
        "aws"
    } else {
        &m.partition
    };
    if Partition::from_name(partition) != Some(ctx.cluster.partition) {
        r.blocks.push(Block {
            aspect: Aspect::Principal,
            finding: finding(
                Code::DeadMapping,
                format!(
                    "the sso matcher is for partition {partition}, the cluster is in {}",
                    ctx.cluster.partition
                ),
            ),
        });
        return;
    }
    let pattern = format!("AWSReservedSSO_{}_*", m.permission_set_name);
    if !ctx.options.expand_sso {
        block(Aspect::Principal, Code::SsoMatcher, format!(
            "an sso matcher ({pattern} in account {}) works only behind an authenticator feature gate, so whether it matches today is uncertain; rerun with --expand-sso and an IAM dump to create one entry per role, or decide with an override",
            m.account_id
        ), r);
        return;
    }
    if !ctx.iam.sso_complete(&m.account_id) {
        block(
            Aspect::Principal,
            Code::SsoMatcher,
            format!(
                "--expand-sso needs the roles of account {} (--iam-file with `aws iam list-roles`)",
                m.account_id
            ),
            r,
        );
        return;
    }
    let roles = ctx.iam.sso_roles(&m.account_id, &m.permission_set_name);
    if roles.is_empty() {
        r.blocks.push(Block {
            aspect: Aspect::Principal,
            finding: finding(
                Code::DeadMapping,
                format!("no role of account {} matches {pattern}", m.account_id),
            ),
        });
        return;
    }
    r.notes.push(finding(
        Code::SsoExpanded,
        format!(
            "sso matcher expanded (--expand-sso) to {}",
            roles
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ));
    r.principals.extend(roles.into_iter().cloned());
}
