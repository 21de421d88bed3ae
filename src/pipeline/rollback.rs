//! The rollback pipeline: the changes of a journal's latest migration that
//! are not undone yet, how each will be treated, and the undo itself.

use std::path::Path;

use super::plan::read_data;
use super::Error;
use crate::apply::change;
use crate::apply::journal::{self, Ending, Journal, Record, Recorded};
use crate::apply::{self, Report, UndoMode};
use crate::live::{Connection, Gathered};
use crate::migrate::guard;
use crate::migrate::steps::{self, Step};
use crate::model::arn::PrincipalArn;
use crate::model::cluster::{AuthMode, ConfigMapData};

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

/// The lockout guard's reasons to refuse undoing `todo` on the cluster as
/// `g` read it, in `mode`: the undos that would run (not those left or held
/// in that mode) are projected onto the live entries and aws-auth, and
/// nobody may be left without cluster-admin, nor the caller without access.
///
/// # Errors
/// [`Error::Read`] when the aws-auth the undo would leave does not read.
pub fn guard(
    conn: &Connection,
    g: &Gathered,
    todo: &Todo,
    mode: &UndoMode,
) -> Result<Vec<String>, Error> {
    let undone: Vec<&Step> = todo
        .changes
        .iter()
        .map(|c| &c.change)
        .filter(|c| apply::blocked(c, mode).is_none())
        .collect();
    let (after, data) =
        steps::unproject(&g.state.access_entries, g.aws_auth_data.as_ref(), &undone);
    let kept = read_data(data.as_ref());
    // A mode not known for sure counts as API: aws-auth may not count.
    let mode = match mode {
        UndoMode::Known(m) => *m,
        UndoMode::Pending(_) | UndoMode::Unknown(_) => AuthMode::Api,
    };
    let mut principals: Vec<&PrincipalArn> = Vec::new();
    for p in undone.iter().filter_map(|c| c.principal()) {
        if !principals.contains(&p) {
            principals.push(p);
        }
    }
    let touched: Vec<String> = principals.iter().map(|p| p.to_string()).collect();
    let kept_now = read_data(g.aws_auth_data.as_ref());
    Ok(guard::rollback_check(
        mode,
        (&g.state.access_entries, &kept_now),
        (&after, &kept),
        &conn.caller_arn,
        &touched,
    ))
}

/// For each aws-auth cleanup `todo` undoes: the data now and the data the
/// undo writes, from the run's backup in the cluster, which must equal the
/// journal's copy.
///
/// # Errors
/// [`Error::Backup`] when a backup is missing or differs from the journal.
pub async fn aws_auth_restores(
    conn: &Connection,
    g: &Gathered,
    todo: &Todo,
) -> Result<Vec<(ConfigMapData, ConfigMapData)>, Error> {
    let mut out = Vec::new();
    let now = g.aws_auth_data.clone().unwrap_or_default();
    for c in &todo.changes {
        let Step::ReplaceAwsAuth { before, .. } = &c.change else {
            continue;
        };
        // Nothing of the run's to put back (never landed, or put back by
        // hand): no backup is needed.
        let (_, restored) = steps::unproject(&[], Some(&now), &[&c.change]);
        let restored = restored.unwrap_or_default();
        if restored == now {
            continue;
        }
        let name = change::aws_auth_backup_name(&c.run);
        match change::aws_auth_backup(conn, &c.run).await {
            Ok(Some(saved)) if saved == *before => {}
            Ok(Some(_)) => return Err(Error::Backup { message: format!("the journal's copy of aws-auth differs from the backup kube-system/{name} (the journal may have been edited); nothing was changed") }),
            Ok(None) => return Err(Error::Backup { message: format!("kube-system/{name}, the backup of aws-auth the run saved, is missing; aws-auth is not written from the journal alone, so nothing was changed") }),
            Err(e) => return Err(Error::Backup { message: e.to_string() }),
        }
        out.push((now.clone(), restored));
    }
    Ok(out)
}

/// How the rollback will treat `c` in `mode`, as a note for the list shown
/// before asking (empty: undone); safe for a terminal.
pub fn note(c: &Recorded, mode: &UndoMode) -> String {
    crate::model::untrusted::terminal(&note_text(c, mode)).into_owned()
}

fn note_text(c: &Recorded, mode: &UndoMode) -> String {
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
/// [`apply::Stopped`] when the journal cannot be written; its report says
/// what was undone before.
pub async fn run(
    conn: &Connection,
    journal: &mut Journal,
    todo: &Todo,
    (concurrency, progress): (usize, &dyn crate::apply::progress::Progress),
) -> Result<(Report, Ending), apply::Stopped> {
    let mut report = Report::default();
    let undone = apply::undo(
        conn,
        journal,
        &todo.changes,
        &mut report,
        (concurrency, progress),
    )
    .await;
    let ended = undone.and_then(|ending| {
        journal.append(&Record::End {
            run: todo.run.clone(),
            ending,
        })?;
        Ok(ending)
    });
    match ended {
        Ok(ending) => Ok((report, ending)),
        Err(error) => Err(apply::Stopped { error, report }),
    }
}
