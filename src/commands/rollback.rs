//! `migrate-auth rollback --journal FILE`: undoes the changes of the
//! journal's latest migration that are not undone yet, newest first, after
//! showing them and asking. What the runs did not create (EKS-owned entries,
//! the creator's entry, entries that were already there) is never touched, and
//! a mode change is reported as what it is: permanent.

use std::io::Write;

use anyhow::{bail, Result};

use super::progress::Channels;
use super::{confirm, Outcome};
use crate::apply::journal::{Ending, Journal};
use crate::apply::lock;
use crate::cli::RollbackSettings;
use crate::live::{self, Connection, LiveSettings};
use crate::model::untrusted::terminal;
use crate::pipeline::apply as apply_pipe;
use crate::pipeline::{self, rollback};
use crate::render::run_result::{RunCommand, RunFacts};

/// Runs `rollback`: the result in text, or as one JSON document on stdout.
///
/// # Errors
/// An unreadable journal, no confirmation, another cluster, or undos that failed.
pub fn run(s: &RollbackSettings) -> Result<Outcome> {
    let mut facts = RunFacts {
        journal: Some(s.journal.clone()),
        ..RunFacts::default()
    };
    let ch = Channels::terminal(s.report);
    let result = undo(s, &mut facts, &ch);
    ch.display.finish();
    super::print_result(RunCommand::Rollback, s.report, &facts, result)
}

/// `rollback` with its words sent to `ch` (a fleet cluster's log): how it
/// ended, and what is known of it.
pub(crate) fn headless(s: &RollbackSettings, ch: &Channels) -> (Result<Outcome>, RunFacts) {
    let mut facts = RunFacts {
        journal: Some(s.journal.clone()),
        ..RunFacts::default()
    };
    let result = undo(s, &mut facts, ch);
    ch.display.finish();
    (result, facts)
}

/// `rollback`, filling in `facts` as it goes.
fn undo(s: &RollbackSettings, facts: &mut RunFacts, ch: &Channels) -> Result<Outcome> {
    let todo = rollback::load(&s.journal)?;
    let cluster = &todo.cluster;
    let shown = terminal(cluster);
    facts.run = Some(todo.run.clone());
    if todo.changes.is_empty() {
        writeln!(ch.out(), "Nothing to undo: the journal's latest migration of {shown} has no change left in place.")?;
        return Ok(Outcome::Done { changes: false });
    }
    let mut settings = s.client.for_cluster(cluster);
    settings
        .client
        .aws
        .region
        .get_or_insert_with(|| todo.region.clone());
    let rt = pipeline::runtime()?;
    let conn = rt.block_on(live::connect(&settings))?;
    facts.cluster = Some(super::run_cluster(&conn));
    let result = connected(s, &rt, (&conn, &settings), &todo, (facts, ch));
    if s.report.json {
        facts.final_mode = super::mode_now(&rt, &conn);
    }
    result
}

/// `rollback` once connected: the checks, the journal and the cluster's lock.
fn connected(
    s: &RollbackSettings,
    rt: &tokio::runtime::Runtime,
    (conn, settings): (&Connection, &LiveSettings),
    todo: &rollback::Todo,
    (facts, ch): (&mut RunFacts, &Channels),
) -> Result<Outcome> {
    rollback::check(conn, todo)?;
    let restores = todo
        .changes
        .iter()
        .any(|c| matches!(c.change, crate::migrate::steps::Step::ReplaceAwsAuth { .. }));
    rt.block_on(apply_pipe::preflight(
        conn,
        &apply_pipe::kubernetes_needs(restores),
    ))?;
    let (journal, dead) = apply_pipe::hold_journal(&s.journal)?;
    let run = apply_pipe::new_run_id();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let held = rt.block_on(lock::acquire(
        conn,
        &run,
        s.force_unlock.as_deref(),
        &dead,
        stop,
    ))?;
    ch.took_over(&held);
    let result = locked(s, rt, (conn, settings), todo, (journal, facts, ch));
    rt.block_on(held.release());
    result
}

/// `rollback` while holding the cluster's lock and the journal.
fn locked(
    s: &RollbackSettings,
    rt: &tokio::runtime::Runtime,
    (conn, settings): (&Connection, &LiveSettings),
    todo: &rollback::Todo,
    (journal, facts, ch): (Option<Journal>, &mut RunFacts, &Channels),
) -> Result<Outcome> {
    let cluster = &todo.cluster;
    let shown = terminal(cluster);
    let mut out = ch.out();
    let mode = rt.block_on(crate::apply::undo_mode(conn));
    writeln!(out, "rollback will undo, newest first, on cluster {shown}:")?;
    for c in todo.changes.iter().rev() {
        writeln!(
            out,
            "  - {}{}",
            c.change.describe(),
            rollback::note(c, &mode)
        )?;
    }
    out.flush()?;
    let g = rt.block_on(live::read(conn, settings))?;
    for (now, restored) in rt.block_on(rollback::aws_auth_restores(conn, &g, todo))? {
        writeln!(
            out,
            "\n{}",
            crate::render::diff::aws_auth_change(&now, &restored)
        )?;
    }
    let refusals = rollback::guard(conn, &g, todo, &mode)?;
    if !refusals.is_empty() {
        let text = refusals.join("\n  ");
        if !s.force {
            bail!("the lockout guard refused, so nothing was changed:\n  {text}\n(`rollback --force` undoes anyway, after you type the cluster's name)");
        }
        writeln!(out, "The lockout guard refuses this rollback:\n  {text}")?;
        confirm::type_name(cluster, "Undoing anyway may lock these principals out")?;
    }
    confirm::ask(
        &format!("Undo these changes on cluster {cluster}?"),
        s.yes,
        "--yes",
    )?;
    let mut j = match journal {
        Some(j) => j,
        None => Journal::open(&s.journal)?,
    };
    let ran = rt.block_on(rollback::run(
        conn,
        &mut j,
        todo,
        (settings.client.concurrency, &ch.display),
    ));
    let (report, ending) = match ran {
        Ok(done) => done,
        Err(stopped) => {
            facts.report = Some(stopped.report);
            return Err(super::ChangedThenFailed {
                left_in_place: true,
                message: format!(
                    "{}: the rollback stopped part-way; run it again once the journal can be written",
                    stopped.error
                ),
            }
            .into());
        }
    };
    ch.display.finish();
    ended(&mut out, report, ending, facts)
}

/// Says how the rollback ended: the whole story again after a failure or
/// when something is left, then the summary.
fn ended(
    out: &mut impl Write,
    report: crate::apply::Report,
    ending: Ending,
    facts: &mut RunFacts,
) -> Result<Outcome> {
    let (undone, left) = report.undo_counts();
    if ending == Ending::Failed || left > 0 {
        writeln!(out, "\nWhat happened:\n{}", report.describe())?;
    }
    facts.report = Some(report);
    if ending == Ending::Failed {
        return Err(super::ChangedThenFailed {
            left_in_place: true,
            message: "some changes could not be undone (above); run rollback again once the cause is fixed".into(),
        }
        .into());
    }
    writeln!(
        out,
        "\nRollback complete: {undone} undone, {left} left in place{}.",
        if left > 0 { " (listed above)" } else { "" }
    )?;
    Ok(Outcome::Done { changes: true })
}
