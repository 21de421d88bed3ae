//! `migrate-auth rollback --journal FILE`: undoes the changes of the
//! journal's latest migration that are not undone yet, newest first, after
//! showing them and asking. What the runs did not create (EKS-owned entries,
//! the creator's entry, entries that were already there) is never touched, and
//! a mode change is reported as what it is: permanent.

use std::io::Write;

use anyhow::{bail, Result};

use super::plan::runtime;
use super::{confirm, Outcome};
use crate::apply::journal::{self, Ending, Journal, Record};
use crate::apply::Report;
use crate::cli::RollbackSettings;
use crate::live;

/// Runs `rollback`.
///
/// # Errors
/// An unreadable journal, no confirmation, another cluster, or undos that failed.
pub fn run(s: &RollbackSettings) -> Result<Outcome> {
    let records = journal::read(&s.journal)?;
    let migration = journal::latest(&s.journal, &records)?;
    let Record::Begin {
        run,
        cluster,
        cluster_arn,
        region,
        ..
    } = &migration.last_begin
    else {
        bail!(
            "{}: the journal's last run has no start",
            s.journal.display()
        );
    };
    let todo: Vec<_> = migration
        .changes
        .iter()
        .filter(|c| !c.undone)
        .cloned()
        .collect();
    let mut out = std::io::stdout().lock();
    if todo.is_empty() {
        writeln!(out, "Nothing to undo: the journal's latest migration of {cluster} has no change left in place.")?;
        return Ok(Outcome::Done { changes: false });
    }
    let mut settings = s.live.clone();
    settings.cluster = cluster.clone();
    settings.aws.region.get_or_insert_with(|| region.clone());
    let rt = runtime()?;
    let conn = rt.block_on(live::connect(&settings))?;
    if conn.cluster.arn != *cluster_arn {
        bail!(
            "the journal is for {cluster_arn}, but these credentials reach {}",
            conn.cluster.arn
        );
    }
    let mode = rt.block_on(crate::apply::undo_mode(&conn));
    writeln!(
        out,
        "rollback will undo, newest first, on cluster {cluster}:"
    )?;
    for c in todo.iter().rev() {
        let note = if c.change.is_irreversible() {
            " (cannot be undone: mode changes are one-way)".to_string()
        } else if let Some(Ok(why) | Err(why)) = crate::apply::blocked(&c.change, &mode) {
            format!(" ({why})")
        } else if c.outcome.is_none() {
            " (the run stopped before it knew whether this was made; undone if it was)".to_string()
        } else if matches!(c.outcome, Some(Err(_))) {
            " (it failed; undone if it took effect anyway)".to_string()
        } else {
            String::new()
        };
        writeln!(out, "  - {}{note}", c.change.describe())?;
    }
    out.flush()?;
    confirm::ask(
        &format!("Undo these changes on cluster {cluster}?"),
        s.yes,
        "--yes",
    )?;
    let mut j = Journal::open(&s.journal)?;
    let mut report = Report::default();
    let ending = rt.block_on(crate::apply::undo(
        &conn,
        &mut j,
        &todo,
        &mut report,
        settings.concurrency,
    ))?;
    j.append(&Record::End {
        run: run.clone(),
        ending,
    })?;
    writeln!(out, "\n{}", report.describe())?;
    if ending == Ending::Failed {
        bail!(
            "some changes could not be undone (above); run rollback again once the cause is fixed"
        );
    }
    let (undone, left) = report.undo_counts();
    writeln!(
        out,
        "Rollback complete: {undone} undone, {left} left in place (see above)."
    )?;
    Ok(Outcome::Done { changes: true })
}
