//! `migrate-auth fleet ...`: reads the fleet file, resolves its clusters
//! (this runner's shard of them), runs the fleet pipeline ([`crate::fleet`])
//! and prints the summary; the run directory keeps every cluster's files.

use std::io::Write;

use anyhow::{bail, Context as _, Result};

use super::Outcome;
use crate::cli::{FleetCommand, FleetPlanSettings};
use crate::fleet::plan::{PlanRow, Planned};
use crate::fleet::run_dir::RunDir;
use crate::fleet::targets;
use crate::pipeline::{self, read_file};
use crate::render::{fleet as summary, Format};

/// Runs a `fleet` command.
///
/// # Errors
/// An unreadable fleet file, a failed discovery, an unwritable run
/// directory, or clusters that could not be planned.
pub fn run(c: &FleetCommand) -> Result<Outcome> {
    match c {
        FleetCommand::Plan(s) => plan(s),
    }
}

/// `fleet plan`.
fn plan(s: &FleetPlanSettings) -> Result<Outcome> {
    let name = s.fleet.display().to_string();
    let fleet = crate::inputs::fleet::read(&name, &read_file(&s.fleet)?)?;
    let rt = pipeline::runtime()?;
    let targets = rt.block_on(targets::resolve(&name, &fleet, s.shard))?;
    let root = s.run_dir.clone().unwrap_or_else(RunDir::default_root);
    let run = RunDir::create(&root, &name, s.shard, &targets)
        .with_context(|| format!("cannot write the run directory {}", root.display()))?;
    let _ = writeln!(
        std::io::stderr(),
        "Planning {} clusters, {} at a time; the run directory is {}",
        targets.len(),
        s.parallel,
        root.display()
    );
    let rows = rt.block_on(crate::fleet::plan::plan(
        &targets,
        &run,
        (s.parallel, s.concurrency),
    ));
    let plans: Vec<Option<String>> = rows.iter().map(|r| text_plan(&run, r)).collect();
    let json = summary::json(&rows)?;
    let markdown = summary::markdown(&rows, &plans);
    run.write("summary.json".as_ref(), json.as_bytes())?;
    run.write("summary.md".as_ref(), markdown.as_bytes())?;
    let shown = match s.format {
        Format::Text => summary::text(&rows),
        Format::Json => json,
        Format::Markdown => markdown,
    };
    let mut out = std::io::stdout().lock();
    out.write_all(shown.as_bytes())?;
    out.flush()?;
    let failed = rows.iter().filter(|r| r.result == Planned::Failed).count();
    if failed > 0 {
        bail!(
            "{failed} of {} clusters could not be planned (the summary says why); the run directory is {}",
            rows.len(),
            root.display()
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
        .then(|| std::fs::read_to_string(run.root.join(&r.dir).join("plan.txt")).ok())
        .flatten()
}
