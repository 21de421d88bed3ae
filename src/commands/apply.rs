//! `migrate-auth apply`: plan live (or read a saved plan and check it is not
//! stale), run the lockout guard, show the diff, ask, then make the steps
//! with the write-ahead journal, undoing them on a failure.

use std::io::Write;

use anyhow::{bail, Result};

use super::progress::Channels;
use super::{confirm, interrupt, ChangedThenFailed, Outcome};
use crate::apply::change::{Outcome as Made, Undone};
use crate::model::untrusted::terminal;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::apply::journal::Journal;
use crate::apply::lock;
use crate::apply::Report;
use crate::cli::{ApplySettings, ApplyTarget};
use crate::live::Connection;
use crate::live::{self, LiveSettings};
use crate::migrate::plan_file::PlanFile;
use crate::migrate::steps::Step;
use crate::model::cluster::AuthMode;
use crate::pipeline::apply::{self as pipe, Decided, RunOptions};
use crate::pipeline::{self, read_file};
use crate::render::diff;
use crate::render::run_result::{RunCommand, RunFacts};

/// The cluster to reach, and the saved plan, if any.
fn target(s: &ApplySettings) -> Result<(LiveSettings, Option<PlanFile>)> {
    match &s.target {
        ApplyTarget::Live(live) => Ok((live.clone(), None)),
        ApplyTarget::SavedPlan {
            file,
            cluster,
            client,
        } => {
            let p = PlanFile::from_bytes(&file.display().to_string(), &read_file(file)?)?;
            if let Some(c) = cluster.as_ref().filter(|c| **c != p.cluster) {
                bail!("the plan is for cluster {}, not {c}", p.cluster);
            }
            let mut live = client.for_cluster(&p.cluster);
            live.client
                .aws
                .region
                .get_or_insert_with(|| p.region.clone());
            Ok((live, Some(p)))
        }
    }
}

/// Shows the findings and the diff.
fn show(out: &mut impl Write, d: &Decided) -> Result<()> {
    if !d.findings.is_empty() {
        writeln!(out, "Findings (see `migrate-auth plan` for all):")?;
        for f in &d.findings {
            writeln!(out, "{f}")?;
        }
        writeln!(out)?;
    }
    out.write_all(diff::render(&d.steps, &d.entries, &d.aws_auth).as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Asks before the changes, and again, harder, before a switch to API.
fn ask(s: &ApplySettings, cluster: &str, steps: &[Step]) -> Result<()> {
    confirm::ask(
        &format!(
            "Apply these changes to cluster {cluster} ({})?",
            diff::counts(steps).to_add_change_destroy()
        ),
        s.yes,
        "--yes",
    )?;
    let to_api = steps.iter().any(|st| {
        matches!(
            st,
            Step::SwitchMode {
                to: AuthMode::Api,
                ..
            }
        )
    });
    if to_api {
        confirm::ask_irreversible(cluster, "Switching to API", s.yes, s.confirm_irreversible)?;
    }
    Ok(())
}

/// Runs `apply`: the result in text, or as one JSON document on stdout.
///
/// # Errors
/// Stale plan, lockout guard, the cluster's lock held by another run, no
/// confirmation, a failed step (after the rollback), or the cluster cannot
/// be read.
pub fn run(s: &ApplySettings) -> Result<Outcome> {
    let ch = Channels::terminal(s.report);
    let (result, facts) = headless(s, &ch);
    super::print_result(RunCommand::Apply, s.report, &facts, result)
}

/// `apply` with its words sent to `ch` (a terminal, or a fleet cluster's
/// log): how it ended, and what is known of the run.
pub(crate) fn headless(s: &ApplySettings, ch: &Channels) -> (Result<Outcome>, RunFacts) {
    let mut facts = RunFacts::default();
    let result = connected(s, &mut facts, ch);
    ch.display.finish();
    (result, facts)
}

/// `apply` from the connection on, filling in `facts` as it goes.
fn connected(s: &ApplySettings, facts: &mut RunFacts, ch: &Channels) -> Result<Outcome> {
    let (live, saved) = target(s)?;
    let rt = pipeline::runtime()?;
    let conn = rt.block_on(live::connect(&live))?;
    facts.cluster = Some(super::run_cluster(&conn));
    let result = guarded(s, &rt, (&conn, &live), saved, (facts, ch));
    if s.report.json && facts.final_mode.is_none() {
        facts.final_mode = super::mode_now(&rt, &conn);
    }
    result
}

/// `apply` once connected: the checks, the journal and the cluster's lock.
fn guarded(
    s: &ApplySettings,
    rt: &tokio::runtime::Runtime,
    (conn, live): (&Connection, &LiveSettings),
    saved: Option<PlanFile>,
    (facts, ch): (&mut RunFacts, &Channels),
) -> Result<Outcome> {
    let cleanup = match &saved {
        Some(p) => p.extras.cleanup_aws_auth,
        None => s.plan.extras.cleanup_aws_auth,
    };
    rt.block_on(pipe::preflight(conn, &pipe::kubernetes_needs(cleanup)))?;
    let path = pipe::journal_path(conn, s.journal.as_ref());
    // Our journal, held (a file lock) before the cluster's lock: the runs it
    // records are then known to be dead, and their lease can be taken over.
    let (journal, dead) = pipe::hold_journal(&path)?;
    let run = pipe::new_run_id();
    facts.run = Some(run.clone());
    // Set by Ctrl-C, or when another run takes the lock: no new change starts.
    let stop = Arc::new(AtomicBool::new(false));
    let held = rt.block_on(lock::acquire(
        conn,
        &run,
        s.force_unlock.as_deref(),
        &dead,
        stop.clone(),
    ))?;
    ch.took_over(&held);
    let result = locked(
        s,
        rt,
        (conn, live),
        saved,
        (&path, journal),
        (&run, &stop),
        (&mut *facts, ch),
    );
    let lost = held.lost();
    // The mode the result reports, read while the lock is released.
    let (mode, ()) = rt.block_on(async {
        let mode = async {
            match s.report.json {
                true => super::final_mode(conn).await,
                false => None,
            }
        };
        tokio::join!(mode, held.release())
    });
    facts.final_mode = mode;
    match result {
        Err(e) if lost => Err(e.context("another run took the cluster's lock over while this one held it (its renewals failed): this run started no new change after that, and then undid or left its own as reported")),
        other => other,
    }
}

/// `apply` while holding the cluster's lock.
fn locked(
    s: &ApplySettings,
    rt: &tokio::runtime::Runtime,
    (conn, live): (&Connection, &LiveSettings),
    saved: Option<PlanFile>,
    (path, journal): (&Path, Option<Journal>),
    (run, stop): (&str, &Arc<AtomicBool>),
    (facts, ch): (&mut RunFacts, &Channels),
) -> Result<Outcome> {
    let g = rt.block_on(live::read(conn, live))?;
    let d = match saved {
        Some(saved) => pipe::decide_saved(conn, g, saved, &s.plan)?,
        None => pipe::decide_live(&s.plan, &live.cluster, g)?,
    };
    facts.plan = Some(d.plan.clone());
    if pipe::unfinished_run(path, &conn.cluster.arn)? {
        ch.note(&format!(
            "The journal {} records a run that did not finish; this run resumes it (what is done is skipped; `rollback` undoes both).",
            path.display()
        ));
    }
    show(&mut ch.out(), &d)?;
    if d.steps.is_empty() {
        return Ok(Outcome::Done { changes: false });
    }
    pipe::check(conn, &d)?;
    ask(s, &conn.cluster.name, &d.steps)?;
    if ch
        .fleet_stop
        .as_ref()
        .is_some_and(|f| f.load(std::sync::atomic::Ordering::SeqCst))
    {
        bail!("the fleet run was interrupted before this cluster's first change");
    }
    let mut j = match journal {
        Some(j) => j,
        None => Journal::open(path)?,
    };
    pipe::begin(conn, &mut j, &d.steps, run)?;
    facts.journal = Some(path.to_path_buf());
    ch.note(&format!("Journal: {}", path.display()));
    let report = made(
        s,
        rt,
        (conn, live),
        (path, &mut j),
        (run, stop),
        (&d.steps, ch),
        facts,
    )?;
    let result = finish(s, &report, (path, ch));
    if result.is_err() && s.no_rollback {
        facts.left_made = Some("--no-rollback: left in place on purpose".into());
    }
    facts.report = Some(report);
    result
}

/// Makes `steps` with the journal `j`, Ctrl-C watched; a journal that
/// cannot be written ends it with what was made in `facts`.
fn made(
    s: &ApplySettings,
    rt: &tokio::runtime::Runtime,
    (conn, live): (&Connection, &LiveSettings),
    (path, j): (&Path, &mut Journal),
    (run, stop): (&str, &Arc<AtomicBool>),
    (steps, ch): (&[Step], &Channels),
    facts: &mut RunFacts,
) -> Result<Report> {
    let options = RunOptions {
        wait: s.wait,
        concurrency: live.client.concurrency,
        keep: s.no_rollback,
    };
    // What `-o json` says if a second signal ends the process mid-run.
    let interrupted = match s.report.json {
        true => Some(crate::render::run_result::render(
            RunCommand::Apply,
            facts,
            130,
            Some("interrupted twice: left at once, with changes possibly under way; the journal records them (`rollback --journal` undoes them, `apply` resumes)"),
        )?),
        false => None,
    };
    let watcher = match &ch.fleet_stop {
        None => interrupt::watch(rt, stop, ("run", path), interrupted),
        // In a fleet, the fleet watches Ctrl-C; its stop is this run's too.
        Some(fleet) => {
            let (fleet, stop) = (fleet.clone(), stop.clone());
            rt.spawn(async move {
                use std::sync::atomic::Ordering::SeqCst;
                while !fleet.load(SeqCst) {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                stop.store(true, SeqCst);
            })
        }
    };
    let report = rt.block_on(pipe::run(conn, j, run, steps, (options, stop), &ch.display));
    watcher.abort();
    ch.display.finish();
    let report = match report {
        Ok(report) => report,
        Err(stopped) => {
            let next = format!(
                "once the journal can be written, `migrate-auth rollback --journal {}` undoes what it recorded, or `apply` resumes",
                path.display()
            );
            facts.left_made = Some(format!(
                "the journal could not be written, so the run stopped without undoing: {next}"
            ));
            facts.report = Some(stopped.report);
            return Err(ChangedThenFailed {
                left_in_place: true,
                message: format!(
                    "{}: the run stopped part-way and the cluster may be partly changed: {next}",
                    stopped.error
                ),
            }
            .into());
        }
    };
    Ok(report)
}

/// Reports how a run ended: the failure (exit 1, 3 or 4), or what was made.
fn finish(s: &ApplySettings, report: &Report, (path, ch): (&Path, &Channels)) -> Result<Outcome> {
    let mut out = ch.out();
    let touched = touched(s, report);
    let what = || match touched {
        Some(_) => after_failure(s, report, path),
        None => "the cluster was not changed".to_string(),
    };
    let failure = if report.interrupted {
        Some(format!(
            "the run was interrupted: {}; the journal is {}",
            what(),
            path.display()
        ))
    } else {
        report.failed.first().map(|(step, why, _)| {
            format!("{} failed: {}; {}", step.describe(), terminal(why), what())
        })
    };
    if let Some(message) = failure {
        // The changes were said as they happened; after a failure, the
        // whole story again, in one place.
        writeln!(out, "\nWhat happened:\n{}", report.describe())?;
        return Err(match touched {
            None => anyhow::anyhow!(message),
            Some(left_in_place) => ChangedThenFailed {
                left_in_place,
                message,
            }
            .into(),
        });
    }
    let made: Vec<Step> = report
        .made
        .iter()
        .filter(|(_, o, _)| *o == Made::Made)
        .map(|(s, ..)| s.clone())
        .collect();
    let already = report.made.len() - made.len();
    let c = diff::counts(&made);
    let also = if already == 0 {
        String::new()
    } else {
        format!(" ({already} already so)")
    };
    writeln!(
        out,
        "\nApply complete: {} added, {} changed, {} destroyed.{also}",
        c.add, c.change, c.destroy
    )?;
    Ok(Outcome::Done { changes: true })
}

/// Whether a failed run changed the cluster: `None` when it never did
/// (exit 1), else whether something is left in place (exit 4) or every
/// change was undone (exit 3).
fn touched(s: &ApplySettings, report: &Report) -> Option<bool> {
    let made = report.made.iter().any(|(_, o, _)| *o == Made::Made);
    let left = report.undo_counts().1 > 0 || (s.no_rollback && made);
    let restored = report.undone.iter().any(|(_, u)| *u == Undone::Restored);
    (made || left || restored).then_some(left)
}

/// What became of the run's changes after a failure, and what to do next.
fn after_failure(s: &ApplySettings, report: &Report, path: &std::path::Path) -> String {
    if s.no_rollback {
        format!(
            "what was done is left in place (--no-rollback); `migrate-auth rollback --journal {}` undoes it, `apply` resumes",
            path.display()
        )
    } else if report.undo_failed.is_empty() {
        match report.undo_counts() {
            (_, 0) => "this run's changes were undone".to_string(),
            (undone, left) => format!(
                "{undone} of this run's changes were undone and {left} left in place, as said above"
            ),
        }
    } else {
        format!(
            "some changes could not be undone (above); `migrate-auth rollback --journal {}` tries again",
            path.display()
        )
    }
}
