//! The rollback pipeline: the changes of a journal's latest migration that
//! are not undone yet, how each will be treated, and the undo itself.

use std::path::Path;

use super::Error;
use crate::apply::journal::{self, Ending, Journal, Record, Recorded};
use crate::apply::{self, Report, UndoMode};
use crate::live::Connection;

/// What a rollback would undo.
pub struct Todo {
    /// The latest migration's last run.
    pub run: String,
    pub cluster: String,
    pub cluster_arn: String,
    pub region: String,
    /// Its changes not undone yet, oldest first.
    pub changes: Vec<Recorded>,
}

/// Reads the journal at `path`.
///
/// # Errors
/// An unreadable journal, or one whose last run has no start.
pub fn load(path: &Path) -> Result<Todo, Error> {
    let records = journal::read(path)?;
    let migration = journal::latest(path, &records)?;
    let Record::Begin {
        run,
        cluster,
        cluster_arn,
        region,
        ..
    } = migration.last_begin
    else {
        return Err(Error::Mismatch {
            message: format!("{}: the journal's last run has no start", path.display()),
        });
    };
    Ok(Todo {
        run,
        cluster,
        cluster_arn,
        region,
        changes: migration
            .changes
            .into_iter()
            .filter(|c| !c.undone)
            .collect(),
    })
}

/// Checks that `conn` reaches the cluster the journal is for.
///
/// # Errors
/// [`Error::Mismatch`].
pub fn check(conn: &Connection, todo: &Todo) -> Result<(), Error> {
    if conn.cluster.arn == todo.cluster_arn {
        return Ok(());
    }
    Err(Error::Mismatch {
        message: format!(
            "the journal is for {}, but these credentials reach {}",
            todo.cluster_arn, conn.cluster.arn
        ),
    })
}

/// How the rollback will treat `c` in `mode`, as a note for the list shown
/// before asking (empty: undone).
pub fn note(c: &Recorded, mode: &UndoMode) -> String {
    if c.change.is_irreversible() {
        " (cannot be undone: mode changes are one-way)".to_string()
    } else if let Some(Ok(why) | Err(why)) = apply::blocked(&c.change, mode) {
        format!(" ({why})")
    } else if c.outcome.is_none() {
        " (the run stopped before it knew whether this was made; undone if it was)".to_string()
    } else if matches!(c.outcome, Some(Err(_))) {
        " (it failed; undone if it took effect anyway)".to_string()
    } else {
        String::new()
    }
}

/// Undoes `todo`'s changes, newest first, journaling each in `journal`, and
/// ends the run.
///
/// # Errors
/// [`Error::Journal`] when the journal cannot be written.
pub async fn run(
    conn: &Connection,
    journal: &mut Journal,
    todo: &Todo,
    concurrency: usize,
) -> Result<(Report, Ending), Error> {
    let mut report = Report::default();
    let ending = apply::undo(conn, journal, &todo.changes, &mut report, concurrency).await?;
    journal.append(&Record::End {
        run: todo.run.clone(),
        ending,
    })?;
    Ok((report, ending))
}
