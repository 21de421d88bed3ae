//! Changing a live cluster: carries out one [`Step`], or its undo, with the
//! real EKS and Kubernetes clients. Every call is safe to repeat: creates carry
//! an idempotency token, a create that finds its entry already there adopts it
//! when it is as wanted, deletes and disassociations treat "not found" as done,
//! and aws-auth is only ever replaced at the `resourceVersion` that was checked.

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
    Api::namespaced(c.kube.clone(), "kube-system")
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

/// Makes `step`. `token` identifies it for EKS's idempotency.
///
/// # Errors
/// [`LiveError`]: the call failed, the entry exists with other settings,
/// aws-auth changed since the plan, or the mode update failed or timed out.
pub async fn make(
    c: &Connection,
    step: &Step,
    token: &str,
    wait: Wait,
) -> Result<Outcome, LiveError> {
    let cluster = c.cluster.name.as_str();
    match step {
        Step::SwitchMode { from, to } => {
            let sent = c
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
                .await;
            let id = match sent {
                Ok(out) => out
                    .update()
                    .and_then(|u| u.id())
                    .unwrap_or_default()
                    .to_string(),
                Err(e) => {
                    // Already there (a resumed run): read the mode to be sure.
                    let now = super::eks::describe_cluster(&c.eks, cluster).await?.mode;
                    if now == *to {
                        return Ok(Outcome::AlreadyThere);
                    }
                    if now != *from {
                        return Err(LiveError::Aws {
                            operation: "UpdateClusterConfig",
                            code: "ModeChanged".into(),
                            message: format!("the cluster is in {now}, not {from} as planned"),
                        });
                    }
                    return Err(error("UpdateClusterConfig", e));
                }
            };
            wait_for_update(c, &id, wait).await?;
            Ok(Outcome::Made)
        }
        Step::CreateEntry {
            principal_arn,
            entry_type,
            username,
            kubernetes_groups,
            ..
        } => {
            let sent = c
                .eks
                .create_access_entry()
                .cluster_name(cluster)
                .principal_arn(principal_arn)
                .r#type(entry_type.as_str())
                .set_username(username.clone())
                .set_kubernetes_groups(
                    (!kubernetes_groups.is_empty()).then(|| kubernetes_groups.clone()),
                )
                .client_request_token(token)
                .send()
                .await;
            match sent {
                Ok(_) => Ok(Outcome::Made),
                Err(e) if code_of(&e) == Some("ResourceInUseException") => {
                    // There already: EKS made it at the switch, or a run that
                    // was cut short did. Adopt it only if it is as wanted.
                    let limit = tokio::sync::Semaphore::new(1);
                    let (have, _) =
                        super::eks::describe_entry(&c.eks, cluster, principal_arn, &limit).await?;
                    let same_groups = {
                        let (mut a, mut b) =
                            (have.kubernetes_groups.clone(), kubernetes_groups.clone());
                        a.sort();
                        b.sort();
                        a == b || !entry_type.is_standard()
                    };
                    let same_user = username.is_none() || have.username == *username;
                    if have.entry_type == *entry_type && same_groups && same_user {
                        Ok(Outcome::AlreadyThere)
                    } else {
                        Err(LiveError::Aws {
                            operation: "CreateAccessEntry",
                            code: "EntryDiffers".into(),
                            message: format!(
                                "{principal_arn} already has an access entry, with other settings than planned ({} {:?} {:?}); plan again",
                                have.entry_type, have.username, have.kubernetes_groups
                            ),
                        })
                    }
                }
                Err(e) => Err(error("CreateAccessEntry", e)),
            }
        }
        Step::UpdateEntry {
            principal_arn,
            username,
            kubernetes_groups,
            ..
        } => {
            update_entry(c, principal_arn, username, kubernetes_groups, token).await?;
            Ok(Outcome::Made)
        }
        Step::AssociatePolicy {
            principal_arn,
            policy,
            ..
        } => {
            associate(c, principal_arn, &policy.policy_arn, &policy.access_scope).await?;
            Ok(Outcome::Made)
        }
        Step::ReplaceAwsAuth { before, after } => {
            let (now, rv) = read_aws_auth(c).await?;
            if now == *after {
                return Ok(Outcome::AlreadyThere);
            }
            if now != *before {
                return Err(LiveError::AwsAuthChanged {
                    message: "kube-system/aws-auth changed since the plan; it was not overwritten (plan again)".into(),
                });
            }
            write_aws_auth(c, after, rv).await?;
            Ok(Outcome::Made)
        }
    }
}

/// Undoes `step`; `outcome` is what the journal recorded (`None`: the run
/// stopped before it knew).
///
/// # Errors
/// [`LiveError`] when a call fails or aws-auth changed since the run.
pub async fn undo(
    c: &Connection,
    step: &Step,
    outcome: Option<Outcome>,
) -> Result<Undone, LiveError> {
    let cluster = c.cluster.name.as_str();
    if outcome == Some(Outcome::AlreadyThere) {
        return Ok(Undone::NothingToDo);
    }
    match step {
        Step::SwitchMode { from, to } => Ok(Undone::Left {
            why: format!(
                "the mode stays {to}: EKS cannot go back to {from} (mode changes are one-way)"
            ),
        }),
        Step::CreateEntry {
            eks_owned: Some(owner),
            ..
        } => Ok(Undone::Left {
            why: format!("EKS owns this entry (made for {})", owner.describe()),
        }),
        Step::CreateEntry { principal_arn, .. } => {
            let sent = c
                .eks
                .delete_access_entry()
                .cluster_name(cluster)
                .principal_arn(principal_arn)
                .send()
                .await;
            match sent {
                Ok(_) => Ok(Undone::Restored),
                Err(e) if code_of(&e) == Some("ResourceNotFoundException") => {
                    Ok(Undone::NothingToDo)
                }
                Err(e) => Err(error("DeleteAccessEntry", e)),
            }
        }
        Step::UpdateEntry {
            principal_arn,
            previous_username,
            previous_kubernetes_groups,
            ..
        } => {
            update_entry(
                c,
                principal_arn,
                previous_username,
                previous_kubernetes_groups,
                "",
            )
            .await?;
            Ok(Undone::Restored)
        }
        Step::AssociatePolicy {
            principal_arn,
            policy,
            previous_scope: Some(previous),
        } => {
            associate(c, principal_arn, &policy.policy_arn, previous).await?;
            Ok(Undone::Restored)
        }
        Step::AssociatePolicy {
            principal_arn,
            policy,
            previous_scope: None,
        } => {
            let sent = c
                .eks
                .disassociate_access_policy()
                .cluster_name(cluster)
                .principal_arn(principal_arn)
                .policy_arn(&policy.policy_arn)
                .send()
                .await;
            match sent {
                Ok(_) => Ok(Undone::Restored),
                Err(e) if code_of(&e) == Some("ResourceNotFoundException") => {
                    Ok(Undone::NothingToDo)
                }
                Err(e) => Err(error("DisassociateAccessPolicy", e)),
            }
        }
        Step::ReplaceAwsAuth { before, after } => {
            let (now, rv) = read_aws_auth(c).await?;
            if now == *before {
                return Ok(Undone::NothingToDo);
            }
            if now != *after {
                return Err(LiveError::AwsAuthChanged {
                    message: "kube-system/aws-auth was edited after this run changed it; it was not overwritten (the journal holds the data it had before the run)".into(),
                });
            }
            write_aws_auth(c, before, rv).await?;
            Ok(Undone::Restored)
        }
    }
}

async fn update_entry(
    c: &Connection,
    principal_arn: &str,
    username: &str,
    groups: &[String],
    token: &str,
) -> Result<(), LiveError> {
    c.eks
        .update_access_entry()
        .cluster_name(&c.cluster.name)
        .principal_arn(principal_arn)
        .username(username)
        .set_kubernetes_groups(Some(groups.to_vec()))
        .set_client_request_token((!token.is_empty()).then(|| token.to_string()))
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
    let cm = aws_auth_api(c)
        .get_opt("aws-auth")
        .await
        .map_err(|e| kube_err("reading kube-system/aws-auth", e))?;
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
    let api = aws_auth_api(c);
    let mut cm = api
        .get("aws-auth")
        .await
        .map_err(|e| kube_err("reading kube-system/aws-auth", e))?;
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
