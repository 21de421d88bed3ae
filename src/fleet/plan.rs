//! `fleet plan`: the single-cluster live plan, for every cluster of the run,
//! `parallel` clusters at a time, each with its own clients and credentials.
//! Read-only. One cluster's failure is its row's result, never another's:
//! every cluster is planned, and the summary says which could not be and why.
//! Each cluster's folder gets `plan.json`, `plan.txt` and
//! `plan-result.json` (its summary row; `result.json` is `fleet apply`'s).

use std::path::Path;
use std::time::Instant;

use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::run_dir::{pretty, RunDir};
use super::{Place, Shared, Target, Watch};
use crate::live;
use crate::model::cluster::AuthMode;
use crate::pipeline::plan::{build, Inputs};
use crate::planner::Plan;
use crate::render::{self, Format, Style};

/// How a cluster's plan went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Planned {
    /// Planned: the plan is in the cluster's folder.
    Planned,
    /// Could not be planned: `error` says why.
    Failed,
}

/// One cluster's line of the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanRow {
    #[serde(flatten)]
    pub at: Place,
    pub result: Planned,
    pub mode_before: Option<AuthMode>,
    pub mode_after: Option<AuthMode>,
    pub add: usize,
    pub change: usize,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    pub error: Option<String>,
    pub seconds: f64,
}

impl PlanRow {
    fn new(t: &Target) -> PlanRow {
        PlanRow {
            at: Place::of(t),
            result: Planned::Failed,
            mode_before: None,
            mode_after: None,
            add: 0,
            change: 0,
            errors: 0,
            warnings: 0,
            infos: 0,
            error: None,
            seconds: 0.0,
        }
    }

    /// Fills in what `plan` says.
    fn planned(&mut self, plan: &Plan) {
        self.result = Planned::Planned;
        self.mode_before = Some(plan.current.mode);
        self.mode_after = Some(
            plan.mode_change
                .as_ref()
                .map_or(plan.current.mode, |c| c.to),
        );
        let s = &plan.summary;
        (self.add, self.change) = (s.add, s.change);
        let f = &s.findings;
        (self.errors, self.warnings, self.infos) = (f.errors, f.warnings, f.infos);
    }
}

/// Plans one cluster live and writes its plan into `dir`.
async fn plan_one(
    t: &Target,
    dir: &Path,
    (concurrency, shared): (usize, &Shared),
) -> Result<Plan, String> {
    let live = shared.settings(t, concurrency);
    let gathered = live::gather(&live).await.map_err(|e| e.to_string())?;
    let plan =
        build(&t.plan_options(), Inputs::live(&t.name, gathered)).map_err(|e| e.to_string())?;
    write_plan(dir, &plan)?;
    Ok(plan)
}

/// Writes `plan` into the cluster folder `dir`: `plan.json` and `plan.txt`
/// (no colour); returns the JSON.
///
/// # Errors
/// Which file could not be written, and why.
pub fn write_plan(dir: &Path, plan: &Plan) -> Result<String, String> {
    let text = render::render(
        plan,
        Format::Text,
        Style {
            color: false,
            grouped: true,
        },
    );
    let write = |name: &str, bytes: &[u8]| {
        crate::private::write(&dir.join(name), bytes)
            .map_err(|e| format!("cannot write {}: {e}", dir.join(name).display()))
    };
    let json = render::json::render(plan);
    write("plan.json", json.as_bytes())?;
    write("plan.txt", text.as_bytes())?;
    Ok(json)
}

/// One cluster: its plan, and its row (also written as `plan-result.json`).
async fn row_of(t: &Target, run: &RunDir, (concurrency, shared): (usize, &Shared)) -> PlanRow {
    let started = Instant::now();
    let mut row = PlanRow::new(t);
    let result = match run.cluster(t) {
        Ok(dir) => plan_one(t, &dir, (concurrency, shared)).await,
        Err(e) => Err(format!("cannot create the cluster's folder: {e}")),
    };
    match result {
        Ok(plan) => row.planned(&plan),
        Err(e) => row.error = Some(e),
    }
    row.seconds = started.elapsed().as_secs_f64();
    let written = pretty(&row).and_then(|b| run.write(&t.dir().join("plan-result.json"), &b));
    if let Err(e) = written {
        row.result = Planned::Failed;
        row.error = Some(format!("cannot write plan-result.json: {e}"));
    }
    row
}

/// Plans every target, `parallel` at a time and `concurrency` calls at a
/// time per cluster, telling `watch`; the rows come in the targets' order.
pub async fn plan(
    targets: &[Target],
    run: &RunDir,
    (parallel, concurrency): (usize, usize),
    watch: &dyn Watch,
) -> Vec<PlanRow> {
    let shared = Shared::default();
    let shared = &shared;
    futures::stream::iter(targets)
        .map(|t| async move {
            watch.started(&t.label());
            let row = row_of(t, run, (concurrency, shared)).await;
            let result = match row.result {
                Planned::Planned => "planned",
                Planned::Failed => "FAILED",
            };
            watch.finished(&t.label(), result, row.seconds);
            row
        })
        .buffered(parallel.max(1))
        .collect()
        .await
}
