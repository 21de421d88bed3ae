//! Associating an access policy (AssociateAccessPolicy), and undoing it: the
//! previous scope is associated again, or the policy disassociated, only while
//! the entry still holds the scope this run set.

use aws_sdk_eks::types::{AccessScope as SdkScope, AccessScopeType};

use super::{entry_now, removed, ChangeError, Observed, Undone};
use crate::live::aws::error;
use crate::live::Connection;
use crate::migrate::steps::Step;
use crate::model::entry::{AccessPolicy, AccessScope, ScopeType};

fn scope(s: &AccessScope) -> SdkScope {
    let kind = match s.scope_type {
        ScopeType::Cluster => AccessScopeType::Cluster,
        ScopeType::Namespace => AccessScopeType::Namespace,
    };
    SdkScope::builder()
        .r#type(kind)
        .set_namespaces((!s.namespaces.is_empty()).then(|| s.namespaces.clone()))
        .build()
}

/// The scope `policy` has on the principal's entry now, `None`
/// when it is not associated; an error when there is no entry.
async fn scope_now(
    c: &Connection,
    principal_arn: &str,
    policy: &AccessPolicy,
) -> Result<Option<Option<AccessScope>>, ChangeError> {
    let Some(have) = entry_now(c, principal_arn).await? else {
        return Ok(None);
    };
    Ok(Some(
        have.entry
            .access_policies
            .iter()
            .find(|p| p.policy_arn == policy.policy_arn)
            .map(|p| p.access_scope.clone()),
    ))
}

/// Done when the policy already has the scope; to do, with the scope found,
/// otherwise. An entry that is gone is an error.
pub(super) async fn observe(
    c: &Connection,
    principal_arn: &str,
    policy: &AccessPolicy,
) -> Result<Observed, ChangeError> {
    let Some(now) = scope_now(c, principal_arn, policy).await? else {
        return Err(ChangeError::StateDiffers {
            operation: "DescribeAccessEntry",
            message: format!(
                "{principal_arn} has no access entry to associate {} with",
                policy.short_name()
            ),
        });
    };
    if now.as_ref().map(AccessScope::normalized) == Some(policy.access_scope.normalized()) {
        return Ok(Observed::Done);
    }
    Ok(Observed::Todo(Step::AssociatePolicy {
        principal_arn: principal_arn.into(),
        policy: policy.clone(),
        previous_scope: now,
    }))
}

/// AssociateAccessPolicy with the policy's scope.
pub(super) async fn make(
    c: &Connection,
    principal_arn: &str,
    policy: &AccessPolicy,
) -> Result<(), ChangeError> {
    associate(c, principal_arn, &policy.policy_arn, &policy.access_scope).await
}

/// Puts the previous scope back, or disassociates, while ours holds.
pub(super) async fn undo(
    c: &Connection,
    principal_arn: &str,
    policy: &AccessPolicy,
    previous_scope: Option<&AccessScope>,
) -> Result<Undone, ChangeError> {
    let Some(now) = scope_now(c, principal_arn, policy).await? else {
        return Ok(Undone::NothingToDo);
    };
    let now = now.as_ref().map(AccessScope::normalized);
    if now == previous_scope.map(AccessScope::normalized) {
        return Ok(Undone::NothingToDo);
    }
    if now != Some(policy.access_scope.normalized()) {
        return Err(ChangeError::ChangedSince {
            what: format!("{} on {principal_arn}", policy.short_name()),
        });
    }
    if let Some(previous) = previous_scope {
        associate(c, principal_arn, &policy.policy_arn, previous).await?;
        return Ok(Undone::Restored);
    }
    let _turn = c.turn().await;
    let sent = c
        .eks
        .disassociate_access_policy()
        .cluster_name(&c.cluster.name)
        .principal_arn(principal_arn)
        .policy_arn(&policy.policy_arn)
        .send()
        .await
        .map_err(|e| error("DisassociateAccessPolicy", e));
    removed(sent)
}

async fn associate(
    c: &Connection,
    principal_arn: &str,
    policy_arn: &str,
    s: &AccessScope,
) -> Result<(), ChangeError> {
    let _turn = c.turn().await;
    c.eks
        .associate_access_policy()
        .cluster_name(&c.cluster.name)
        .principal_arn(principal_arn)
        .policy_arn(policy_arn)
        .access_scope(scope(s))
        .send()
        .await
        .map_err(|e| error("AssociateAccessPolicy", e))?;
    Ok(())
}
