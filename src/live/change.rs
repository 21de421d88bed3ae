//! Changing a live cluster with the real EKS and Kubernetes clients, in three
//! moves per step:
//!
//! - [`observe`] reads what is there *before* the step is journaled: a step
//!   already done is skipped, and the step journaled carries the real previous
//!   state (the username, groups or policy scope found), never a guess;
//! - [`make`] makes it. Creates and updates carry an idempotency token, and a
//!   created entry is tagged with the run that made it;
//! - [`undo`] undoes it only where the cluster still shows the step's effect:
//!   an entry is deleted only if it carries this run's tag, a value is set
//!   back only while it holds what the step set, aws-auth only while it holds
//!   what the step wrote. So an undo is safe whether the step was made, failed,
//!   or was cut off by a crash, and safe to repeat.

use std::time::{Duration, Instant};

use aws_sdk_eks::types::{AccessScope as SdkScope, AccessScopeType, AuthenticationMode};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde::{Deserialize, Serialize};

use super::aws::{code_of, error};
use super::{Connection, LiveError};
use crate::entry::{AccessScope, ScopeType};
use crate::inputs::current::AuthMode;
use crate::steps::{ConfigMapData, Step};

/// What a step found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// The change was made.
    Made,
    /// The cluster already was so (an entry EKS created, a resumed run): there
    /// is nothing of this run's to undo.
    AlreadyThere,
}

/// What undoing a step did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Undone {
    /// The previous state is back.
    Restored,
    /// Nothing to undo (never made, already undone, or not this run's).
    NothingToDo,
    /// Left as it is, and why (EKS owns it; a mode change).
    Left { why: String },
}

/// How long to wait for a mode change, and how often to look.
#[derive(Debug, Clone, Copy)]
pub struct Wait {
    pub timeout: Duration,
    pub poll: Duration,
}

fn mode(m: AuthMode) -> AuthenticationMode {
    AuthenticationMode::from(m.as_str())
}

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

fn aws_auth_api(c: &Connection) -> Api<ConfigMap> {
    Api::namespaced(c.kube.get(), "kube-system")
}

/// True for a 401: the token expired (it lasts 15 minutes).
fn unauthorized(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 401)
}

fn kube_err(what: &str, e: kube::Error) -> LiveError {
    match e {
        kube::Error::Api(s) if s.code == 409 => LiveError::AwsAuthChanged {
            message: format!(
                "{what}: kube-system/aws-auth was changed by someone else at the same moment (409 Conflict); it was not overwritten"
            ),
        },
        e => LiveError::Kubernetes {
            message: format!("{what}: {e}"),
        },
    }
}

/// The tag a created entry carries: the run that made it.
pub const RUN_TAG: &str = "migrate-auth/run";

/// What [`observe`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// The cluster already is as the step wants.
    Done,
    /// To do: the step, with the previous state as found.
    Todo(Step),
}

/// An entry as it is now, with its policies and tags; `None` when absent.
async fn entry_now(c: &Connection, arn: &str) -> Result<Option<super::eks::Described>, LiveError> {
    let limit = tokio::sync::Semaphore::new(2);
    match super::eks::describe_entry(&c.eks, &c.cluster.name, arn, &limit).await {
        Ok(d) => Ok(Some(d)),
        Err(LiveError::Aws { code, .. }) if code == "ResourceNotFoundException" => Ok(None),
        Err(e) => Err(e),
    }
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

fn differs(operation: &'static str, message: String) -> LiveError {
    LiveError::Aws {
        operation,
        code: "StateDiffers".into(),
        message,
    }
}

/// The update that makes `have` carry `username` and `groups` (`None`:
/// leave as is), with the values it replaces; `Done` when it already does.
fn update_towards(
    have: &crate::inputs::current::CurrentEntry,
    username: Option<String>,
    groups: Option<Vec<String>>,
) -> Observed {
    let username = username.filter(|u| have.username.as_ref() != Some(u));
    let groups = groups.filter(|g| sorted(g) != sorted(&have.kubernetes_groups));
    if username.is_none() && groups.is_none() {
        return Observed::Done;
    }
    Observed::Todo(Step::UpdateEntry {
        principal_arn: have.principal_arn.clone(),
        previous_username: username.as_ref().and(have.username.clone()),
        previous_kubernetes_groups: groups.as_ref().map(|_| have.kubernetes_groups.clone()),
        username,
        kubernetes_groups: groups,
    })
}

/// Reads what `step` would change, before it is journaled.
///
/// # Errors
/// [`LiveError`] when a read fails, or the cluster is not as the plan
/// assumed in a way the step cannot settle (another mode, an entry of
/// another type, an entry gone, aws-auth edited).
pub async fn observe(c: &Connection, step: &Step) -> Result<Observed, LiveError> {
    match step {
        Step::SwitchMode { from, to } => {
            let now = super::eks::describe_cluster(&c.eks, &c.cluster.name).await?;
            if now.mode == *to {
                Ok(Observed::Done)
            } else if now.mode != *from {
                Err(differs(
                    "DescribeCluster",
                    format!("the cluster is in {}, not {from} as planned", now.mode),
                ))
            } else {
                Ok(Observed::Todo(step.clone()))
            }
        }
        Step::CreateEntry {
            principal_arn,
            entry_type,
            username,
            kubernetes_groups,
            ..
        } => {
            let Some(have) = entry_now(c, principal_arn).await? else {
                return Ok(Observed::Todo(step.clone()));
            };
            let have = have.entry;
            if have.entry_type != *entry_type {
                return Err(differs(
                    "DescribeAccessEntry",
                    format!(
                        "{principal_arn} already has a {} entry, not {entry_type}; EKS cannot change an entry's type",
                        have.entry_type
                    ),
                ));
            }
            if !entry_type.is_standard() {
                return Ok(Observed::Done);
            }
            // There already (EKS made it at the switch, or someone did): make
            // it what aws-auth says instead, as an update that can be undone.
            Ok(update_towards(
                &have,
                username.clone(),
                Some(kubernetes_groups.clone()),
            ))
        }
        Step::UpdateEntry {
            principal_arn,
            username,
            kubernetes_groups,
            ..
        } => {
            let Some(have) = entry_now(c, principal_arn).await? else {
                return Err(differs(
                    "DescribeAccessEntry",
                    format!("{principal_arn} has no access entry any more; plan again"),
                ));
            };
            Ok(update_towards(
                &have.entry,
                username.clone(),
                kubernetes_groups.clone(),
            ))
        }
        Step::AssociatePolicy {
            principal_arn,
            policy,
            ..
        } => {
            let Some(have) = entry_now(c, principal_arn).await? else {
                return Err(differs(
                    "DescribeAccessEntry",
                    format!(
                        "{principal_arn} has no access entry to associate {} with",
                        policy.short_name()
                    ),
                ));
            };
            let now = have
                .entry
                .access_policies
                .iter()
                .find(|p| p.policy_arn == policy.policy_arn)
                .map(|p| p.access_scope.clone());
            if now.as_ref().map(AccessScope::normalized) == Some(policy.access_scope.normalized()) {
                return Ok(Observed::Done);
            }
            Ok(Observed::Todo(Step::AssociatePolicy {
                principal_arn: principal_arn.clone(),
                policy: policy.clone(),
                previous_scope: now,
            }))
        }
        Step::ReplaceAwsAuth { before, after } => {
            let (now, _) = read_aws_auth(c).await?;
            if now == *after {
                Ok(Observed::Done)
            } else if now != *before {
                Err(LiveError::AwsAuthChanged {
                    message: "kube-system/aws-auth changed since the plan; it was not overwritten (plan again)".into(),
                })
            } else {
                Ok(Observed::Todo(step.clone()))
            }
        }
    }
}

/// Makes `step` (as [`observe`] returned it) for run `run`; `token`
/// identifies it for EKS's idempotency.
///
/// # Errors
/// [`LiveError`]: the call failed, aws-auth changed under it, or the mode
/// update failed or timed out.
pub async fn make(
    c: &Connection,
    step: &Step,
    run: &str,
    token: &str,
    wait: Wait,
) -> Result<(), LiveError> {
    let cluster = c.cluster.name.as_str();
    match step {
        Step::SwitchMode { to, .. } => {
            let out = c
                .eks
                .update_cluster_config()
                .name(cluster)
                .access_config(
                    aws_sdk_eks::types::UpdateAccessConfigRequest::builder()
                        .authentication_mode(mode(*to))
                        .build(),
                )
                .client_request_token(token)
                .send()
                .await
                .map_err(|e| error("UpdateClusterConfig", e))?;
            let id = out
                .update()
                .and_then(|u| u.id())
                .unwrap_or_default()
                .to_string();
            wait_for_update(c, &id, wait).await
        }
        Step::CreateEntry {
            principal_arn,
            entry_type,
            username,
            kubernetes_groups,
            ..
        } => {
            c.eks
                .create_access_entry()
                .cluster_name(cluster)
                .principal_arn(principal_arn)
                .r#type(entry_type.as_str())
                .set_username(username.clone())
                .set_kubernetes_groups(
                    (!kubernetes_groups.is_empty()).then(|| kubernetes_groups.clone()),
                )
                .tags(RUN_TAG, run)
                .client_request_token(token)
                .send()
                .await
                .map_err(|e| error("CreateAccessEntry", e))?;
            Ok(())
        }
        Step::UpdateEntry {
            principal_arn,
            username,
            kubernetes_groups,
            ..
        } => {
            update_entry(
                c,
                principal_arn,
                username.as_deref(),
                kubernetes_groups.as_deref(),
                Some(token),
            )
            .await
        }
        Step::AssociatePolicy {
            principal_arn,
            policy,
            ..
        } => associate(c, principal_arn, &policy.policy_arn, &policy.access_scope).await,
        Step::ReplaceAwsAuth { before, after } => {
            let (now, rv) = read_aws_auth(c).await?;
            if now != *before {
                return Err(LiveError::AwsAuthChanged {
                    message:
                        "kube-system/aws-auth changed since it was checked; it was not overwritten"
                            .into(),
                });
            }
            write_aws_auth(c, after, rv).await
        }
    }
}

/// Undoes `step` of run `run`, where the cluster still shows its effect.
///
/// # Errors
/// [`LiveError`] when a call fails, or the value was changed since the run
/// (it is then left, not overwritten).
pub async fn undo(c: &Connection, step: &Step, run: &str) -> Result<Undone, LiveError> {
    let cluster = c.cluster.name.as_str();
    let changed_since = |what: String| LiveError::Aws {
        operation: "undo",
        code: "ChangedSince".into(),
        message: format!("{what} was changed after this run; it was left as it is"),
    };
    match step {
        Step::SwitchMode { from, to } => {
            let now = super::eks::describe_cluster(&c.eks, cluster).await?;
            if now.mode == *from && now.status == "ACTIVE" {
                // It never happened (refused, or failed).
                return Ok(Undone::NothingToDo);
            }
            Ok(Undone::Left {
                why: format!(
                    "the mode is {} and moves only forward: EKS cannot go back to {from} (mode changes are one-way; this run asked for {to})",
                    now.mode
                ),
            })
        }
        Step::CreateEntry {
            principal_arn,
            username,
            kubernetes_groups,
            entry_type,
            ..
        } => {
            let Some(have) = entry_now(c, principal_arn).await? else {
                return Ok(Undone::NothingToDo);
            };
            if have.tags.get(RUN_TAG).map(String::as_str) != Some(run) {
                return Ok(Undone::Left {
                    why: "this run did not create it (EKS or someone else did)".into(),
                });
            }
            let e = &have.entry;
            let same_user = username.is_none() || e.username == *username;
            let same_groups = !entry_type.is_standard()
                || sorted(&e.kubernetes_groups) == sorted(kubernetes_groups);
            if !same_user || !same_groups {
                return Err(changed_since(format!("the entry {principal_arn}")));
            }
            let sent = c
                .eks
                .delete_access_entry()
                .cluster_name(cluster)
                .principal_arn(principal_arn)
                .send()
                .await;
            removed("DeleteAccessEntry", sent)
        }
        Step::UpdateEntry {
            principal_arn,
            username,
            kubernetes_groups,
            previous_username,
            previous_kubernetes_groups,
        } => {
            let Some(have) = entry_now(c, principal_arn).await? else {
                return Ok(Undone::NothingToDo);
            };
            let have = have.entry;
            // Per field: back to the previous value if it holds ours.
            let mut set_user = None;
            if let (Some(ours), Some(prev)) = (username, previous_username) {
                if have.username.as_ref() == Some(ours) {
                    set_user = Some(prev.as_str());
                } else if have.username.as_ref() != Some(prev) {
                    return Err(changed_since(format!("the username of {principal_arn}")));
                }
            }
            let mut set_groups = None;
            if let (Some(ours), Some(prev)) = (kubernetes_groups, previous_kubernetes_groups) {
                let now = sorted(&have.kubernetes_groups);
                if now == sorted(ours) {
                    set_groups = Some(prev.as_slice());
                } else if now != sorted(prev) {
                    return Err(changed_since(format!("the groups of {principal_arn}")));
                }
            }
            if set_user.is_none() && set_groups.is_none() {
                return Ok(Undone::NothingToDo);
            }
            update_entry(c, principal_arn, set_user, set_groups, None).await?;
            Ok(Undone::Restored)
        }
        Step::AssociatePolicy {
            principal_arn,
            policy,
            previous_scope,
        } => {
            let Some(have) = entry_now(c, principal_arn).await? else {
                return Ok(Undone::NothingToDo);
            };
            let now = have
                .entry
                .access_policies
                .iter()
                .find(|p| p.policy_arn == policy.policy_arn)
                .map(|p| p.access_scope.normalized());
            if now == previous_scope.as_ref().map(AccessScope::normalized) {
                return Ok(Undone::NothingToDo);
            }
            if now != Some(policy.access_scope.normalized()) {
                return Err(changed_since(format!(
                    "{} on {principal_arn}",
                    policy.short_name()
                )));
            }
            if let Some(previous) = previous_scope {
                associate(c, principal_arn, &policy.policy_arn, previous).await?;
                return Ok(Undone::Restored);
            }
            let sent = c
                .eks
                .disassociate_access_policy()
                .cluster_name(cluster)
                .principal_arn(principal_arn)
                .policy_arn(&policy.policy_arn)
                .send()
                .await;
            removed("DisassociateAccessPolicy", sent)
        }
        Step::ReplaceAwsAuth { before, after } => {
            // Key by key: a key the step changed is put back if it holds what
            // the step wrote, left if it holds what was there before, and
            // never overwritten if someone edited it since.
            let (now, rv) = read_aws_auth(c).await?;
            let keys: std::collections::BTreeSet<&String> = before
                .keys()
                .chain(after.keys())
                .filter(|k| before.get(*k) != after.get(*k))
                .collect();
            let mut restored = now.clone();
            let mut ours = false;
            for k in keys {
                if now.get(k) == before.get(k) {
                    continue;
                }
                if now.get(k) != after.get(k) {
                    return Err(LiveError::AwsAuthChanged {
                        message: format!("kube-system/aws-auth key {k} was edited after this run changed it; it was not overwritten (the journal holds the data it had before the run)"),
                    });
                }
                ours = true;
                match before.get(k) {
                    Some(v) => restored.insert(k.clone(), v.clone()),
                    None => restored.remove(k),
                };
            }
            if !ours {
                return Ok(Undone::NothingToDo);
            }
            write_aws_auth(c, &restored, rv).await?;
            Ok(Undone::Restored)
        }
    }
}

/// The result of a delete: done, or already gone (not found).
fn removed<T, E, R>(
    operation: &'static str,
    sent: Result<T, aws_smithy_runtime_api::client::result::SdkError<E, R>>,
) -> Result<Undone, LiveError>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
    R: std::fmt::Debug,
{
    match sent {
        Ok(_) => Ok(Undone::Restored),
        Err(e) if code_of(&e) == Some("ResourceNotFoundException") => Ok(Undone::NothingToDo),
        Err(e) => Err(error(operation, e)),
    }
}

async fn update_entry(
    c: &Connection,
    principal_arn: &str,
    username: Option<&str>,
    groups: Option<&[String]>,
    token: Option<&str>,
) -> Result<(), LiveError> {
    c.eks
        .update_access_entry()
        .cluster_name(&c.cluster.name)
        .principal_arn(principal_arn)
        .set_username(username.map(str::to_string))
        .set_kubernetes_groups(groups.map(<[String]>::to_vec))
        .set_client_request_token(token.map(str::to_string))
        .send()
        .await
        .map_err(|e| error("UpdateAccessEntry", e))?;
    Ok(())
}

async fn associate(
    c: &Connection,
    principal_arn: &str,
    policy_arn: &str,
    s: &AccessScope,
) -> Result<(), LiveError> {
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

/// aws-auth's data and resourceVersion (empty data when it is absent).
///
/// # Errors
/// [`LiveError::Kubernetes`] when it cannot be read.
pub async fn read_aws_auth(c: &Connection) -> Result<(ConfigMapData, Option<String>), LiveError> {
    let mut got = aws_auth_api(c).get_opt("aws-auth").await;
    if got.as_ref().is_err_and(unauthorized) && c.kube.renew().await? {
        got = aws_auth_api(c).get_opt("aws-auth").await;
    }
    let cm = got.map_err(|e| kube_err("reading kube-system/aws-auth", e))?;
    Ok(match cm {
        Some(cm) => (cm.data.unwrap_or_default(), cm.metadata.resource_version),
        None => (ConfigMapData::new(), None),
    })
}

/// Replaces aws-auth's data, only at `resource_version`.
async fn write_aws_auth(
    c: &Connection,
    data: &ConfigMapData,
    resource_version: Option<String>,
) -> Result<(), LiveError> {
    let mut got = aws_auth_api(c).get("aws-auth").await;
    if got.as_ref().is_err_and(unauthorized) && c.kube.renew().await? {
        got = aws_auth_api(c).get("aws-auth").await;
    }
    let api = aws_auth_api(c);
    let mut cm = got.map_err(|e| kube_err("reading kube-system/aws-auth", e))?;
    if cm.metadata.resource_version != resource_version {
        return Err(LiveError::AwsAuthChanged {
            message:
                "kube-system/aws-auth changed while it was being updated; it was not overwritten"
                    .into(),
        });
    }
    cm.data = Some(data.clone());
    api.replace("aws-auth", &PostParams::default(), &cm)
        .await
        .map_err(|e| kube_err("updating kube-system/aws-auth", e))?;
    Ok(())
}

/// Polls DescribeUpdate until the update succeeds, fails or `wait` runs out.
async fn wait_for_update(c: &Connection, id: &str, wait: Wait) -> Result<(), LiveError> {
    let started = Instant::now();
    loop {
        let out = c
            .eks
            .describe_update()
            .name(&c.cluster.name)
            .update_id(id)
            .send()
            .await
            .map_err(|e| error("DescribeUpdate", e))?;
        let update = out.update();
        let status = update
            .and_then(|u| u.status())
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        match status.as_str() {
            "Successful" => return Ok(()),
            "Failed" | "Cancelled" => {
                let why: Vec<String> = update
                    .map(|u| {
                        u.errors()
                            .iter()
                            .map(|e| e.error_message().unwrap_or_default().to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                return Err(LiveError::UpdateFailed {
                    id: id.to_string(),
                    status,
                    errors: why.join("; "),
                });
            }
            _ => {}
        }
        if started.elapsed() >= wait.timeout {
            return Err(LiveError::UpdateTimedOut {
                id: id.to_string(),
                waited: wait.timeout,
            });
        }
        tokio::time::sleep(wait.poll).await;
    }
}
