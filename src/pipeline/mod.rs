//! The two pipelines end to end, as library functions a caller runs with its
//! own clients, journal and terminal (the CLI's commands, or a fleet run):
//!
//! - [`plan`]: inputs (files, or a live cluster read by [`crate::live`]) ->
//!   reader -> mapper -> planner -> a [`crate::planner::Plan`], and, for an
//!   apply, the steps and the lockout guard's verdict ([`crate::migrate`]);
//! - [`apply`]: a live plan or a saved one, checked against the cluster now,
//!   then made through the journal by [`crate::apply`];
//! - [`rollback`]: a journal's latest migration, undone.
//!
//! Nothing here prints or asks: the caller shows the plan and the diff, asks,
//! and reports.

pub mod apply;
pub mod plan;
pub mod rollback;

use std::path::PathBuf;

use crate::apply::journal::JournalError;
use crate::inputs::InputError;
use crate::live::LiveError;
use crate::migrate::cleanup::CleanupError;
use crate::migrate::plan_file::PlanFileError;
use crate::reader::ReadError;

/// Why a pipeline stopped. Every variant but [`Error::Journal`] means nothing
/// was changed; the apply and rollback results say what was.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input file could not be read.
    #[error("cannot read {}", path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    /// aws-auth could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Another input (RBAC, IAM dump, overrides, current state) is malformed.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The cluster could not be read.
    #[error(transparent)]
    Live(#[from] LiveError),
    /// The aws-auth cleanup did not verify (a broken invariant).
    #[error(transparent)]
    Cleanup(#[from] CleanupError),
    /// A saved plan could not be read.
    #[error(transparent)]
    PlanFile(#[from] PlanFileError),
    /// The journal could not be read or written.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The inputs contradict each other (a flag and the current state, a
    /// plan and the cluster, a journal and the credentials).
    #[error("{message}")]
    Mismatch { message: String },
    /// The cluster changed since the saved plan was made.
    #[error("the plan is stale: the cluster changed since it was made, so nothing was changed. Plan again. What changed:\n  {}", changes.join("\n  "))]
    Stale { changes: Vec<String> },
    /// A saved plan's steps are not what its recorded options give for the
    /// cluster as it is: the file was edited.
    #[error("nothing was changed: the plan file's {what} not what its options give for this cluster now: it was edited after `plan --out`, or what the plan read besides the cluster's entries and aws-auth (IAM, RBAC, the access policies EKS offers) changed since. Plan again")]
    NotDerived {
        /// What differs: `steps (3; made again: 4) are`, `wanted entries are`.
        what: String,
    },
    /// An aws-auth backup a rollback needs is missing or does not match the
    /// journal.
    #[error("{message}")]
    Backup { message: String },
    /// The caller lacks permissions the run needs.
    #[error("nothing was changed: the pre-flight found that this caller may not {} (SelfSubjectAccessReview); grant them, or use a kubeconfig or role that has them", missing.join(", "))]
    Preflight { missing: Vec<String> },
    /// A saved plan was made with other options than apply was given.
    #[error("nothing was changed: a plan file cannot choose its own options; give apply the ones `plan --out` was given:\n  {}", differences.join("\n  "))]
    OptionsDiffer { differences: Vec<String> },
    /// The cluster is not ACTIVE.
    #[error("nothing was changed: the cluster is {status}, not ACTIVE (an update may be under way); apply again once it is ACTIVE")]
    NotActive { status: String },
    /// The lockout guard refused the steps.
    #[error("the lockout guard refused, so nothing was changed:\n  {}", reasons.join("\n  "))]
    Refused { reasons: Vec<String> },
    /// The async runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
}

/// A runtime for the live calls (the offline plan needs none).
///
/// # Errors
/// [`Error::Runtime`] when the runtime cannot start.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

/// Reads a whole file, naming it in the error.
///
/// # Errors
/// [`Error::File`].
pub fn read_file(path: &std::path::Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::File {
        path: path.to_path_buf(),
        source,
    })
}
