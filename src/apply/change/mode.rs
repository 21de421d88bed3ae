//! Switching the authentication mode (UpdateClusterConfig, then polling
//! DescribeUpdate). It cannot be undone: modes only move forward.

use std::time::Instant;

use aws_sdk_eks::types::{AuthenticationMode, UpdateAccessConfigRequest, UpdateStatus};

use super::{ChangeError, Observed, Undone, Wait};
use crate::apply::progress::{Event, Progress, WAIT_NOTE_EVERY};
use crate::live::aws::error;
use crate::live::{eks, Connection, LiveError};
use crate::migrate::steps::Step;
use crate::model::cluster::AuthMode;

/// Done when the cluster is in `to`; to do when it is in `from`.
pub(super) async fn observe(
    c: &Connection,
    step: &Step,
    from: AuthMode,
    to: AuthMode,
) -> Result<Observed, ChangeError> {
    let now = {
        let _turn = c.turn().await;
        eks::describe_cluster(&c.eks, &c.cluster.name).await?
    };
    if now.mode == to {
        Ok(Observed::Done)
    } else if now.mode != from {
        Err(ChangeError::StateDiffers {
            operation: "DescribeCluster",
            message: format!("the cluster is in {}, not {from} as planned", now.mode),
        })
    } else {
        Ok(Observed::Todo(step.clone()))
    }
}

/// Asks for `to` and waits for the update to end.
pub(super) async fn make(
    c: &Connection,
    to: AuthMode,
    token: &str,
    (wait, progress): (Wait, &dyn Progress),
) -> Result<(), ChangeError> {
    // The turn is for this call only: each poll of the wait takes its own
    // (held through the wait, overlapping switches would hold every turn
    // and wait for one more, forever).
    let turn = c.turn().await;
    let out = c
        .eks
        .update_cluster_config()
        .name(&c.cluster.name)
        .access_config(
            UpdateAccessConfigRequest::builder()
                .authentication_mode(AuthenticationMode::from(to.as_str()))
                .build(),
        )
        .client_request_token(token)
        .send()
        .await
        .map_err(|e| error("UpdateClusterConfig", e))?;
    let id = out
        .update()
        .and_then(|u| u.id())
        .ok_or_else(|| LiveError::Unexpected {
            operation: "UpdateClusterConfig",
            message: "no update id in the answer".into(),
        })?;
    drop(turn);
    wait_for_update(c, (id, to), wait, progress).await
}

/// Nothing to do when the switch never happened; otherwise left, since EKS
/// cannot go back.
pub(super) async fn undo(
    c: &Connection,
    from: AuthMode,
    to: AuthMode,
) -> Result<Undone, ChangeError> {
    let now = {
        let _turn = c.turn().await;
        eks::describe_cluster(&c.eks, &c.cluster.name).await?
    };
    if now.mode == from && now.status.is_active() {
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

/// Polls DescribeUpdate until the update succeeds, fails or `wait` runs out,
/// saying every [`WAIT_NOTE_EVERY`] that it is still waiting.
async fn wait_for_update(
    c: &Connection,
    (id, to): (&str, AuthMode),
    wait: Wait,
    progress: &dyn Progress,
) -> Result<(), ChangeError> {
    let started = Instant::now();
    let mut note = WAIT_NOTE_EVERY;
    loop {
        // A turn for the call only, not for the wait after it.
        let turn = c.turn().await;
        let out = c
            .eks
            .describe_update()
            .name(&c.cluster.name)
            .update_id(id)
            .send()
            .await
            .map_err(|e| error("DescribeUpdate", e))?;
        drop(turn);
        let update = out.update().ok_or_else(|| LiveError::Unexpected {
            operation: "DescribeUpdate",
            message: format!("no update {id} in the answer"),
        })?;
        match update.status() {
            Some(UpdateStatus::Successful) => return Ok(()),
            Some(status @ (UpdateStatus::Failed | UpdateStatus::Cancelled)) => {
                let why: Vec<&str> = update
                    .errors()
                    .iter()
                    .map(|e| e.error_message().unwrap_or("(no message)"))
                    .collect();
                return Err(ChangeError::UpdateFailed {
                    id: id.to_string(),
                    status: status.as_str().to_string(),
                    errors: why.join("; "),
                });
            }
            None => {
                return Err(LiveError::Unexpected {
                    operation: "DescribeUpdate",
                    message: format!("update {id} has no status"),
                }
                .into())
            }
            // InProgress, or a status this version does not know: wait.
            Some(_) => {}
        }
        let elapsed = started.elapsed();
        if elapsed >= note {
            progress.event(Event::Waiting {
                update: id,
                to,
                elapsed,
            });
            note = elapsed + WAIT_NOTE_EVERY;
        }
        if elapsed >= wait.timeout {
            return Err(ChangeError::UpdateTimedOut {
                id: id.to_string(),
                waited: wait.timeout,
            });
        }
        tokio::time::sleep(wait.poll).await;
    }
}
