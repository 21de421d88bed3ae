//! `migrate-auth fleet ...`: reads the fleet file, resolves its clusters
//! (this runner's shard of them), runs the fleet pipeline ([`crate::fleet`])
//! and prints the summary; the run directory keeps every cluster's files.
//! `fleet apply` runs each cluster through exactly the single-cluster apply
//! ([`super::apply::headless`]), `--parallel` at a time, its words in the
//! cluster's log.

use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{bail, Context as _, Result};

use super::progress::{Channels, FleetDisplay};
use super::Outcome;
use crate::cli::{
    ApplySettings, ApplyTarget, FleetApplySettings, FleetCommand, FleetRun, ReportSettings,
    RollbackSettings,
};
use crate::fleet::apply::{earlier, waves, ApplyRow};
use crate::fleet::plan::{PlanRow, Planned};
use crate::fleet::run_dir::RunDir;
use crate::fleet::Watch;
use crate::fleet::{targets, Shared, Target};
use crate::pipeline::plan::PlanOptions;
use crate::pipeline::{self, read_file};
use crate::render::run_result::{self, RunCommand};
use crate::render::{fleet as summary, Format};

/// Runs a `fleet` command.
///
/// # Errors
/// An unreadable fleet file, a failed discovery, an unwritable run
/// directory, or clusters that did not succeed.
pub fn run(c: &FleetCommand) -> Result<Outcome> {
    match c {
        FleetCommand::Plan(s) => plan(s),
        FleetCommand::Apply(s) => apply(s),
        FleetCommand::Status { run_dir, format } => status(run_dir, *format),
        FleetCommand::Rollback {
            run_dir,
            parallel,
            format,
        } => rollback(run_dir, *parallel, *format),
        FleetCommand::Report { run_dirs, format } => report(run_dirs, *format),
    }
}

/// A poisoned lock still holds the queue and the rows.
fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The fleet's clusters and its run directory.
fn prepare(s: &FleetRun, rt: &tokio::runtime::Runtime) -> Result<(Vec<Target>, RunDir)> {
    let name = s.fleet.display().to_string();
    let fleet = crate::inputs::fleet::read(&name, &read_file(&s.fleet)?)?;
    let all = rt.block_on(targets::resolve(&name, &fleet))?;
    let targets: Vec<Target> = all
        .iter()
        .filter(|t| s.shard.is_none_or(|k| k.holds(&t.arn())))
        .cloned()
        .collect();
    let root = s.run_dir.clone().unwrap_or_else(RunDir::default_root);
    let run = RunDir::create(&root, &name, (s.shard, &all), &targets)
        .with_context(|| format!("cannot use the run directory {}", root.display()))?;
    Ok((targets, run))
}

/// Writes the summary's files and prints it in the format asked.
fn publish(
    run: &RunDir,
    format: Format,
    (text, json, markdown): (String, String, String),
) -> Result<()> {
    run.write("summary.json".as_ref(), json.as_bytes())?;
    run.write("summary.md".as_ref(), markdown.as_bytes())?;
    let shown = match format {
        Format::Text => text,
        Format::Json => json,
        Format::Markdown => markdown,
    };
    let mut out = std::io::stdout().lock();
    out.write_all(shown.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// `fleet plan`.
fn plan(s: &FleetRun) -> Result<Outcome> {
    let rt = pipeline::runtime()?;
    let (targets, run) = prepare(s, &rt)?;
    let _ = writeln!(
        std::io::stderr(),
        "Planning {} clusters, {} at a time; the run directory is {}",
        targets.len(),
        s.parallel,
        run.root.display()
    );
    let display = FleetDisplay::new("Planning", targets.len());
    let rows = rt.block_on(crate::fleet::plan::plan(
        &targets,
        &run,
        (s.parallel, s.concurrency),
        &display,
    ));
    display.finish();
    let plans: Vec<Option<String>> = rows.iter().map(|r| text_plan(&run, r)).collect();
    let texts = (
        summary::text(&rows),
        summary::json(&rows)?,
        summary::markdown(&rows, &plans),
    );
    publish(&run, s.format, texts)?;
    let failed = rows.iter().filter(|r| r.result == Planned::Failed).count();
    if failed > 0 {
        bail!(
            "{failed} of {} clusters could not be planned (the summary says why); the run directory is {}",
            rows.len(),
            run.root.display()
        );
    }
    Ok(Outcome::Done {
        changes: rows
            .iter()
            .any(|r| r.add + r.change > 0 || r.mode_before != r.mode_after),
    })
}

/// The text plan a cluster's folder holds, if it was planned.
fn text_plan(run: &RunDir, r: &PlanRow) -> Option<String> {
    (r.result == Planned::Planned)
        .then(|| std::fs::read_to_string(run.root.join(&r.at.dir).join("plan.txt")).ok())
        .flatten()
}

/// The single-cluster apply settings of `t` in a fleet apply.
fn cluster_settings(
    s: &FleetApplySettings,
    (t, shared): (&Target, &Shared),
    dir: &Path,
) -> ApplySettings {
    ApplySettings {
        target: ApplyTarget::Live(shared.settings(t, s.run.concurrency)),
        plan: PlanOptions {
            extras: s.extras,
            ..t.plan_options()
        },
        yes: true,
        confirm_irreversible: s.confirm_irreversible,
        journal: Some(dir.join("journal")),
        no_rollback: false,
        wait: s.wait,
        force_unlock: None,
        // The result is written as JSON into the cluster's folder.
        report: ReportSettings {
            json: true,
            quiet: false,
        },
    }
}

/// Applies one cluster: its log, journal and `result.json` in its folder.
fn apply_one(
    s: &FleetApplySettings,
    (run, shared): (&RunDir, &Shared),
    t: &Target,
    stop: &Arc<AtomicBool>,
) -> ApplyRow {
    let started = Instant::now();
    let prepared = (|| -> Result<(std::path::PathBuf, Channels)> {
        let dir = run.cluster(t)?;
        let log = crate::private::open_append(&dir.join("log"))?;
        Ok((dir.clone(), Channels::log(log, stop.clone())?))
    })();
    let (dir, ch) = match prepared {
        Ok(both) => both,
        // Nothing ran: the cluster is as it was.
        Err(e) => {
            let mut row = ApplyRow::not_started(t, &format!("{e:#}"));
            (row.result, row.exit_code) = ("notChanged".into(), Some(1));
            return row;
        }
    };
    let (result, facts) = super::apply::headless(&cluster_settings(s, (t, shared), &dir), &ch);
    let code = super::exit_code(&result, false);
    let error = result.err().map(|e| format!("{e:#}"));
    let recorded = (|| -> Result<ApplyRow> {
        let doc = run_result::render(RunCommand::Apply, &facts, code, error.as_deref())?;
        let mut row = ApplyRow::from_result(
            t,
            &serde_json::from_str(&doc)?,
            started.elapsed().as_secs_f64(),
        );
        if let Some(plan) = &facts.plan {
            let json = crate::fleet::plan::write_plan(&dir, plan).map_err(anyhow::Error::msg)?;
            row.planned(&serde_json::from_str(&json)?);
        }
        run.write(&t.dir().join("result.json"), doc.as_bytes())?;
        let with = crate::fleet::run_dir::pretty(&s.extras)?;
        run.write(&t.dir().join(crate::fleet::apply::APPLIED_WITH), &with)?;
        Ok(row)
    })();
    // The run happened whatever became of its record: say so, and as a
    // failure (without `result.json`, a resumed run applies it again).
    recorded.unwrap_or_else(|e| {
        let mut row = ApplyRow::not_started(t, "");
        (row.result, row.exit_code) = ("leftInPlace".into(), Some(4));
        row.error = Some(format!(
            "{}; its result could not be recorded: {e:#} (the journal {} says what was done)",
            error.as_deref().unwrap_or("it ran"),
            dir.join("journal").display()
        ));
        row
    })
}

/// Runs one wave's `todo`, `parallel` at a time; no cluster starts once
/// `stop` is set or `failures` reaches `--max-failures`.
fn run_wave(
    s: &FleetApplySettings,
    (run, display, shared): (&RunDir, &FleetDisplay, &Shared),
    todo: Vec<&Target>,
    (stop, failures): (&Arc<AtomicBool>, &AtomicUsize),
) -> Vec<ApplyRow> {
    let full = || {
        s.max_failures
            .is_some_and(|m| failures.load(Ordering::SeqCst) >= m)
    };
    pool(todo, s.run.parallel, |t| {
        if stop.load(Ordering::SeqCst) {
            return ApplyRow::not_started(t, "the fleet run was interrupted");
        }
        if full() {
            return ApplyRow::not_started(t, "--max-failures was reached");
        }
        display.started(&t.label());
        let row = apply_one(s, (run, shared), t, stop);
        display.finished(&t.label(), &row.result, row.seconds);
        if !row.succeeded() {
            failures.fetch_add(1, Ordering::SeqCst);
        }
        row
    })
}

/// `work` on every target, `parallel` threads at a time (each cluster runs
/// its own runtime); the rows come in the targets' order.
fn pool<T: Send, R: Send>(todo: Vec<T>, parallel: usize, work: impl Fn(T) -> R + Sync) -> Vec<R> {
    let queue = Mutex::new(todo.into_iter().enumerate().collect::<VecDeque<_>>());
    let rows = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..parallel.max(1) {
            scope.spawn(|| loop {
                // Its own statement: the queue's lock is released before the
                // work (a `while let` would hold it, one cluster at a time).
                let next = locked(&queue).pop_front();
                let Some((i, t)) = next else { break };
                let row = work(t);
                locked(&rows).push((i, row));
            });
        }
    });
    let mut rows = rows.into_inner().unwrap_or_else(|e| e.into_inner());
    rows.sort_by_key(|(i, _)| *i);
    rows.into_iter().map(|(_, r)| r).collect()
}

/// `fleet apply`: wave by wave; a wave starts only when every cluster of
/// the ones before succeeded.
fn apply(s: &FleetApplySettings) -> Result<Outcome> {
    let rt = pipeline::runtime()?;
    let (targets, run) = prepare(&s.run, &rt)?;
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = super::interrupt::watch(&rt, &stop, ("fleet run", &run.root), None);
    let failures = AtomicUsize::new(0);
    let display = FleetDisplay::new("Applying", targets.len());
    let shared = Shared::default();
    let mut rows = Vec::new();
    let mut blocked: Option<String> = None;
    for (wave, members) in waves(&targets) {
        if let Some(why) = &blocked {
            rows.extend(members.iter().map(|t| ApplyRow::not_started(t, why)));
            continue;
        }
        let mut todo = Vec::new();
        let mut done = 0;
        for t in members {
            match earlier(&run, t, s.extras) {
                Some(row) => {
                    rows.push(row);
                    done += 1;
                }
                None => todo.push(t),
            }
        }
        let _ = writeln!(
            std::io::stderr(),
            "Wave {wave}: applying {} of its clusters ({done} done earlier), {} at a time; the run directory is {}",
            todo.len(),
            s.run.parallel,
            run.root.display()
        );
        let ran = run_wave(s, (&run, &display, &shared), todo, (&stop, &failures));
        if ran.iter().any(|r| !r.succeeded()) {
            blocked = Some(format!("wave {wave} did not succeed"));
        }
        rows.extend(ran);
    }
    watcher.abort();
    display.finish();
    // In the fleet's order, as `fleet report` merges shards (the clusters
    // done earlier were listed first within their wave).
    let order: std::collections::HashMap<String, usize> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| (t.arn(), i))
        .collect();
    rows.sort_by_key(|r| order.get(&r.at.arn).copied());
    let texts = (
        summary::apply_text(&rows),
        summary::apply_json(&rows)?,
        summary::apply_markdown(&rows),
    );
    publish(&run, s.run.format, texts)?;
    let unstarted = rows.iter().filter(|r| r.result == "notStarted").count();
    let failed = rows.iter().filter(|r| !r.succeeded()).count() - unstarted;
    if failed + unstarted > 0 {
        bail!(
            "of {} clusters, {failed} failed and {unstarted} did not start (the summary says which and why); `fleet apply` with the same --run-dir resumes, skipping what is done; the run directory is {}",
            rows.len(),
            run.root.display()
        );
    }
    Ok(Outcome::Done {
        changes: rows.iter().any(|r| r.added + r.changed > 0),
    })
}

/// `fleet status RUN_DIR`: where each cluster is, from its files.
fn status(run_dir: &Path, format: Format) -> Result<Outcome> {
    let targets = crate::fleet::report::clusters(run_dir)?;
    let rows: Vec<_> = targets
        .iter()
        .map(|t| crate::fleet::report::status(run_dir, t))
        .collect();
    let shown = match format {
        Format::Json => summary::status_json(&rows)?,
        Format::Text | Format::Markdown => summary::status_text(&rows),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(shown.as_bytes())?;
    out.flush()?;
    Ok(Outcome::Done { changes: false })
}

/// `fleet report RUN_DIR...`: the shards' summaries as one.
fn report(run_dirs: &[std::path::PathBuf], format: Format) -> Result<Outcome> {
    use crate::fleet::report::Merged;
    let (shown, failed) = match crate::fleet::report::merge(run_dirs)? {
        Merged::Plan(rows) => {
            let failed = rows.iter().filter(|r| r.result == Planned::Failed).count();
            let shown = match format {
                Format::Text => summary::text(&rows),
                Format::Json => summary::json(&rows)?,
                Format::Markdown => summary::markdown(&rows, &vec![None; rows.len()]),
            };
            (shown, failed)
        }
        Merged::Apply(rows) => {
            let failed = rows.iter().filter(|r| !r.succeeded()).count();
            let shown = match format {
                Format::Text => summary::apply_text(&rows),
                Format::Json => summary::apply_json(&rows)?,
                Format::Markdown => summary::apply_markdown(&rows),
            };
            (shown, failed)
        }
    };
    let mut out = std::io::stdout().lock();
    out.write_all(shown.as_bytes())?;
    out.flush()?;
    if failed > 0 {
        bail!("{failed} clusters did not succeed (the summary says which and why)");
    }
    Ok(Outcome::Done { changes: false })
}

/// Undoes one cluster's journal, if it has one: `rollback.json` in its folder.
fn rollback_one(run: &RunDir, t: &Target, stop: &Arc<AtomicBool>) -> ApplyRow {
    let started = Instant::now();
    let dir = run.root.join(t.dir());
    if stop.load(Ordering::SeqCst) {
        return ApplyRow::not_started(t, "the fleet rollback was interrupted");
    }
    if !dir.join("journal").exists() {
        let mut row = ApplyRow::not_started(t, "");
        (row.result, row.error, row.exit_code) = ("nothingToDo".into(), None, Some(0));
        return row;
    }
    let ran = (|| -> Result<ApplyRow> {
        let log = crate::private::open_append(&dir.join("log"))?;
        let ch = Channels::log(log, stop.clone())?;
        let settings = RollbackSettings {
            journal: dir.join("journal"),
            client: t.live_settings(16).client,
            yes: true,
            force: false,
            force_unlock: None,
            report: ReportSettings {
                json: true,
                quiet: false,
            },
        };
        let (result, facts) = super::rollback::headless(&settings, &ch);
        let code = super::exit_code(&result, false);
        let error = result.err().map(|e| format!("{e:#}"));
        let doc = run_result::render(RunCommand::Rollback, &facts, code, error.as_deref())?;
        run.write(&t.dir().join("rollback.json"), doc.as_bytes())?;
        let value = serde_json::from_str(&doc)?;
        Ok(ApplyRow::from_result(
            t,
            &value,
            started.elapsed().as_secs_f64(),
        ))
    })();
    ran.unwrap_or_else(|e| {
        let mut row = ApplyRow::not_started(t, &format!("{e:#}"));
        (row.result, row.exit_code) = ("notChanged".into(), Some(1));
        row
    })
}

/// `fleet rollback RUN_DIR --yes`: every cluster undone, newest wave first,
/// `parallel` at a time; a cluster that cannot be undone stops no other.
fn rollback(run_dir: &Path, parallel: usize, format: Format) -> Result<Outcome> {
    let targets = crate::fleet::report::clusters(run_dir)?;
    let run = RunDir {
        root: run_dir.to_path_buf(),
    };
    let rt = pipeline::runtime()?;
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = super::interrupt::watch(&rt, &stop, ("fleet rollback", run_dir), None);
    let display = FleetDisplay::new("Undoing", targets.len());
    let mut rows = Vec::new();
    for (_, members) in waves(&targets).into_iter().rev() {
        rows.extend(pool(members, parallel, |t| {
            display.started(&t.label());
            let row = rollback_one(&run, t, &stop);
            display.finished(&t.label(), &row.result, row.seconds);
            row
        }));
    }
    watcher.abort();
    display.finish();
    let shown = match format {
        Format::Text => summary::apply_text(&rows),
        Format::Json => summary::apply_json_of("fleet rollback", &rows)?,
        Format::Markdown => summary::apply_markdown_of("fleet rollback", &rows),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(shown.as_bytes())?;
    out.flush()?;
    let failed = rows.iter().filter(|r| !r.succeeded()).count();
    if failed > 0 {
        bail!("{failed} of {} clusters could not be rolled back (the summary says why); `fleet rollback` again tries them again", rows.len());
    }
    Ok(Outcome::Done { changes: true })
}

#[cfg(test)]
mod tests {
    use super::pool;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// The pool runs `parallel` items at once, and returns the rows in order.
    #[test]
    fn the_pool_runs_items_in_parallel() {
        let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let rows = pool((0..8).collect(), 4, |i: usize| {
            let n = now.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(n, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(50));
            now.fetch_sub(1, Ordering::SeqCst);
            i * 10
        });
        assert_eq!(rows, (0..8).map(|i| i * 10).collect::<Vec<_>>());
        assert!(most.load(Ordering::SeqCst) > 1, "one item at a time");
    }
}
