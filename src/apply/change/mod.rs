//! Each kind of change to a live cluster, with its three moves side by side:
//!
//! - `observe` reads what is there *before* the step is journaled: a step
//!   already done is skipped, and the step journaled carries the real previous
//!   state (the username, groups or policy scope found), never a guess;
//! - `make` makes it. Creates and updates carry an idempotency token, and a
//!   created entry is tagged with the run that made it;
//! - `undo` undoes it only where the cluster still shows the step's effect:
//!   an entry is deleted only if it carries this run's tag, a value is set
//!   back only while it holds what the step set, aws-auth only while it holds
//!   what the step wrote. So an undo is safe whether the step was made, failed,
//!   or was cut off by a crash, and safe to repeat.
//!
//! [`mode`] switches the authentication mode, [`entry`] creates and updates
//! access entries, [`policy`] associates access policies, [`aws_auth`]
//! replaces aws-auth's data. This module dispatches a [`Step`] to its kind.

mod aws_auth;

pub(crate) use aws_auth::{backup as aws_auth_backup, backup_name as aws_auth_backup_name};
mod entry;
mod mode;
mod policy;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::apply::progress::Progress;
use crate::live::{AwsErrorKind, Connection, LiveError};
use crate::migrate::steps::Step;
use crate::model::cluster::{AuthMode, ConfigMapData};
use crate::model::entry::{AccessPolicy, AccessScope};

/// The tag a created entry carries: the run that made it.
pub const RUN_TAG: &str = "migrate-auth/run";

/// Why a change could not be observed, made or undone.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// A call failed.
    #[error(transparent)]
    Live(#[from] LiveError),
    /// The cluster is not as the plan assumed, in a way the step cannot
    /// settle (another mode, an entry of another type, an entry gone).
    #[error("{operation}: {message}")]
    StateDiffers {
        operation: &'static str,
        message: String,
    },
    /// An undo found the value changed after the run: it is left as it is.
    #[error("undo: {what} was changed after this run; it was left as it is")]
    ChangedSince { what: String },
    /// aws-auth is not as expected (edited concurrently or since the plan):
    /// it was not overwritten.
    #[error("{message}")]
    AwsAuthChanged { message: String },
    /// The backup of aws-auth the cleanup saved is missing, or differs from
    /// the journal's copy: aws-auth is not written from the journal alone.
    #[error("{message}")]
    Backup { message: String },
    /// An authentication-mode update ended without success.
    #[error("authentication-mode update {id} ended {status}: {errors}")]
    UpdateFailed {
        id: String,
        status: String,
        errors: String,
    },
    /// An authentication-mode update was still in progress at the timeout.
    #[error("authentication-mode update {id} was still in progress after {waited:?}; it may yet finish: check with `aws eks describe-update`, then run apply again")]
    UpdateTimedOut { id: String, waited: Duration },
}

impl ChangeError {
    /// What the service's refusal means, when the service refused.
    pub fn kind(&self) -> Option<AwsErrorKind> {
        match self {
            ChangeError::Live(e) => e.kind(),
            _ => None,
        }
    }
}

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

/// What [`observe`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// The cluster already is as the step wants.
    Done,
    /// To do: the step, with the previous state as found.
    Todo(Step),
}

/// A step split into its kind, with the fields that kind's module needs.
enum Kind<'a> {
    Mode {
        from: AuthMode,
        to: AuthMode,
    },
    Create(entry::NewEntry<'a>),
    Update(entry::Update<'a>),
    Policy {
        principal_arn: &'a str,
        policy: &'a AccessPolicy,
        previous_scope: Option<&'a AccessScope>,
    },
    AwsAuth {
        before: &'a ConfigMapData,
        after: &'a ConfigMapData,
    },
}

fn kind(step: &Step) -> Kind<'_> {
    match step {
        Step::SwitchMode { from, to } => Kind::Mode {
            from: *from,
            to: *to,
        },
        Step::CreateEntry {
            principal_arn,
            entry_type,
            username,
            kubernetes_groups,
            ..
        } => Kind::Create(entry::NewEntry {
            principal_arn,
            entry_type: *entry_type,
            username,
            kubernetes_groups,
        }),
        Step::UpdateEntry {
            principal_arn,
            username,
            kubernetes_groups,
            previous_username,
            previous_kubernetes_groups,
        } => Kind::Update(entry::Update {
            principal_arn,
            username,
            kubernetes_groups,
            previous_username,
            previous_kubernetes_groups,
        }),
        Step::AssociatePolicy {
            principal_arn,
            policy,
            previous_scope,
        } => Kind::Policy {
            principal_arn,
            policy,
            previous_scope: previous_scope.as_ref(),
        },
        Step::ReplaceAwsAuth { before, after } => Kind::AwsAuth { before, after },
    }
}

/// Reads what `step` would change, before it is journaled.
///
/// # Errors
/// [`ChangeError`] when a read fails, or the cluster is not as the plan
/// assumed in a way the step cannot settle (another mode, an entry of
/// another type, an entry gone, aws-auth edited).
pub async fn observe(c: &Connection, step: &Step) -> Result<Observed, ChangeError> {
    match kind(step) {
        Kind::Mode { from, to } => mode::observe(c, step, from, to).await,
        Kind::Create(e) => entry::observe_create(c, step, &e).await,
        Kind::Update(u) => entry::observe_update(c, &u).await,
        Kind::Policy {
            principal_arn,
            policy,
            ..
        } => policy::observe(c, principal_arn, policy).await,
        Kind::AwsAuth { before, after } => aws_auth::observe(c, step, before, after).await,
    }
}

/// Makes `step` (as [`observe`] returned it) for run `run`; `token`
/// identifies it for EKS's idempotency. A long mode update says it is still
/// waiting to `progress`.
///
/// # Errors
/// [`ChangeError`]: the call failed, aws-auth changed under it, or the mode
/// update failed or timed out.
pub async fn make(
    c: &Connection,
    step: &Step,
    (run, token): (&str, &str),
    wait: Wait,
    progress: &dyn Progress,
) -> Result<(), ChangeError> {
    match kind(step) {
        Kind::Mode { to, .. } => mode::make(c, to, token, (wait, progress)).await,
        Kind::Create(e) => entry::make_create(c, &e, run, token).await,
        Kind::Update(u) => entry::make_update(c, &u, token).await,
        Kind::Policy {
            principal_arn,
            policy,
            ..
        } => policy::make(c, principal_arn, policy).await,
        Kind::AwsAuth { before, after } => aws_auth::make(c, before, after, run).await,
    }
}

/// Undoes `step` of run `run`, where the cluster still shows its effect.
///
/// # Errors
/// [`ChangeError`] when a call fails, or the value was changed since the run
/// (it is then left, not overwritten).
pub async fn undo(c: &Connection, step: &Step, run: &str) -> Result<Undone, ChangeError> {
    match kind(step) {
        Kind::Mode { from, to } => mode::undo(c, from, to).await,
        Kind::Create(e) => entry::undo_create(c, &e, run).await,
        Kind::Update(u) => entry::undo_update(c, &u).await,
        Kind::Policy {
            principal_arn,
            policy,
            previous_scope,
        } => policy::undo(c, principal_arn, policy, previous_scope).await,
        Kind::AwsAuth { before, after } => aws_auth::undo(c, before, after, run).await,
    }
}

/// An entry as it is now, with its policies and tags; `None` when absent.
async fn entry_now(
    c: &Connection,
    arn: &str,
) -> Result<Option<crate::live::eks::Described>, LiveError> {
    entry_now_as(c, arn, crate::live::eks::Fetch::Together).await
}

/// [`entry_now`], with the calls made as `fetch` says.
async fn entry_now_as(
    c: &Connection,
    arn: &str,
    fetch: crate::live::eks::Fetch,
) -> Result<Option<crate::live::eks::Described>, LiveError> {
    // Its two calls, under the fleet's shared limit when there is one.
    let own = tokio::sync::Semaphore::new(2);
    let limit = c.limit.as_deref().unwrap_or(&own);
    crate::live::eks::describe_entry_as(&c.eks, (&c.cluster.name, arn), limit, fetch).await
}

/// `v`, sorted: groups compare as sets.
fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

/// The result of a delete: done, or already gone (not found).
fn removed<T>(sent: Result<T, LiveError>) -> Result<Undone, ChangeError> {
    match sent {
        Ok(_) => Ok(Undone::Restored),
        Err(e) if e.kind() == Some(AwsErrorKind::NotFound) => Ok(Undone::NothingToDo),
        Err(e) => Err(e.into()),
    }
}
