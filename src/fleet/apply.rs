//! `fleet apply`'s bookkeeping: the waves (in order; a wave starts only when
//! the one before succeeded), which clusters an earlier run of the same run
//! directory already finished (skipped: resuming), and each cluster's row of
//! the summary, read from its `result.json` (the single-cluster apply's
//! schemaVersion 1 result). The clusters themselves run through the
//! single-cluster apply, each with its journal and log in its folder.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::run_dir::RunDir;
use super::{Place, Target};
use crate::apply::journal::{Ending, Record};
use crate::migrate::steps::Extras;

/// One cluster's line of a fleet apply's summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyRow {
    #[serde(flatten)]
    pub at: Place,
    /// The cluster's result (`done`, `nothingToDo`, `notChanged`,
    /// `rolledBack`, `leftInPlace`, `interrupted`), or `notStarted`.
    pub result: String,
    /// Its apply's exit status; `None` when it did not start.
    pub exit_code: Option<u8>,
    /// Finished by an earlier run of this run directory: not run again.
    pub earlier: bool,
    /// The mode before, as the cluster's plan found it.
    pub mode_before: Option<String>,
    pub mode_after: Option<String>,
    pub added: u64,
    pub changed: u64,
    pub left_in_place: u64,
    /// The plan's `error` and `warning` findings (`None`: no plan).
    pub errors: Option<u64>,
    pub warnings: Option<u64>,
    /// Why it failed, or why it did not start.
    pub error: Option<String>,
    pub seconds: f64,
}

impl ApplyRow {
    /// A cluster that did not start, and why.
    pub fn not_started(t: &Target, why: &str) -> ApplyRow {
        ApplyRow {
            at: Place::of(t),
            result: "notStarted".into(),
            exit_code: None,
            earlier: false,
            mode_before: None,
            mode_after: None,
            added: 0,
            changed: 0,
            left_in_place: 0,
            errors: None,
            warnings: None,
            error: Some(why.into()),
            seconds: 0.0,
        }
    }

    /// The row of `t` from its apply's result document.
    pub fn from_result(t: &Target, doc: &Value, seconds: f64) -> ApplyRow {
        let text = |v: &Value| v.as_str().map(str::to_string);
        let count = |k: &str| doc["counts"][k].as_u64().unwrap_or(0);
        ApplyRow {
            result: text(&doc["result"]).unwrap_or_else(|| "unknown".into()),
            exit_code: doc["exitCode"].as_u64().and_then(|c| u8::try_from(c).ok()),
            mode_after: text(&doc["finalMode"]),
            added: count("added"),
            changed: count("changed"),
            left_in_place: count("leftInPlace"),
            error: text(&doc["error"]),
            seconds,
            ..ApplyRow::not_started(t, "")
        }
    }

    /// Fills in what the cluster's plan (`plan.json`, section 1 of
    /// docs/CONTRACTS.md) says: the mode before, the errors and warnings.
    pub fn planned(&mut self, plan: &Value) {
        let mode = &plan["currentState"]["authenticationMode"];
        self.mode_before = mode.as_str().map(str::to_string);
        self.errors = plan["summary"]["errors"].as_u64();
        self.warnings = plan["summary"]["warnings"].as_u64();
    }

    /// Done, or nothing to do.
    pub fn succeeded(&self) -> bool {
        matches!(self.result.as_str(), "done" | "nothingToDo")
    }
}

/// The options a cluster was applied with, kept beside its result: a run
/// with other options (a cleanup, the switch to API) applies it again.
pub const APPLIED_WITH: &str = "applied-with.json";

/// The row an earlier `fleet apply` of this run directory left for `t`, if
/// that run finished the cluster with the same `extras`: its result says
/// done (or nothing to do), and for done, the cluster's journal still ends
/// with that run, applied (a rollback since, of the fleet or of the one
/// cluster, appends to the journal, and the cluster is applied again).
pub fn earlier(run: &RunDir, t: &Target, extras: Extras) -> Option<ApplyRow> {
    let dir = run.root.join(t.dir());
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("result.json")).ok()?).ok()?;
    let with: Extras =
        serde_json::from_str(&std::fs::read_to_string(dir.join(APPLIED_WITH)).ok()?).ok()?;
    if doc["command"] != "apply" || with != extras {
        return None;
    }
    let mut row = ApplyRow::from_result(t, &doc, 0.0);
    row.earlier = true;
    if let Some(plan) = std::fs::read_to_string(dir.join("plan.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
    {
        row.planned(&plan);
    }
    if row.result == "done" {
        let records = crate::apply::journal::read(&dir.join("journal")).ok()?;
        let ended = matches!(
            records.last(),
            Some(Record::End { run, ending: Ending::Applied }) if doc["runId"] == run.as_str()
        );
        if !ended {
            return None;
        }
    }
    row.succeeded().then_some(row)
}

/// The targets by wave, lowest first.
pub fn waves(targets: &[Target]) -> Vec<(u32, Vec<&Target>)> {
    let mut by: BTreeMap<u32, Vec<&Target>> = BTreeMap::new();
    for t in targets {
        by.entry(t.wave).or_default().push(t);
    }
    by.into_iter().collect()
}
