//! What a run directory says after the fact: `fleet status` (where each
//! cluster of the run is, from the files in its folder), and `fleet report`
//! (the summaries of several run directories, one per shard, merged into
//! the one a single run would have written).

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::apply::ApplyRow;
use super::plan::PlanRow;
use super::{Place, Target};

/// Why a run directory cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{}: {message}", path.display())]
    Unreadable { path: PathBuf, message: String },
    #[error("cluster {arn} is in {} and in {}: the run directories overlap", first.display(), second.display())]
    Overlap {
        arn: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("{} summarises a `{found}` run and {} a `{expected}` run: they cannot be merged", second.display(), first.display())]
    Mixed {
        first: PathBuf,
        expected: String,
        second: PathBuf,
        found: String,
    },
}

/// Reads a JSON file of the run directory.
fn json(path: &Path) -> Result<Value, ReportError> {
    let unreadable = |message: String| ReportError::Unreadable {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| unreadable(format!("not JSON: {e}")))
}

/// The clusters `fleet.json` of `run` records, with their options.
///
/// # Errors
/// A missing or unreadable `fleet.json`.
pub fn clusters(run: &Path) -> Result<Vec<Target>, ReportError> {
    let path = run.join("fleet.json");
    let doc = json(&path)?;
    let clusters: Vec<Target> =
        serde_json::from_value(doc["clusters"].clone()).map_err(|e| ReportError::Unreadable {
            path: path.clone(),
            message: format!("no list of clusters: {e}"),
        })?;
    // The file may have been edited: its names become paths.
    match clusters.iter().find_map(super::targets::unusable) {
        Some(message) => Err(ReportError::Unreadable { path, message }),
        None => Ok(clusters),
    }
}

/// Where a cluster of a run is.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    #[serde(flatten)]
    pub at: Place,
    /// `notStarted`, `planned`, `unfinished` (a journal newer than any
    /// result: under way, or interrupted), or the latest apply's or
    /// rollback's result (`applied: done`, `rolledBack: done`, ...).
    pub state: String,
    /// The latest result's error, if any.
    pub error: Option<String>,
}

/// When `path` was last written, if it exists.
fn written(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Where `t` of the run at `run` is, from the files in its folder.
pub fn status(run: &Path, t: &Target) -> Status {
    let dir = run.join(t.dir());
    let results = [("applied", "result.json"), ("rolledBack", "rollback.json")];
    // Each result read once: the latest apply's or rollback's.
    let latest = results
        .iter()
        .filter_map(|(what, f)| {
            let path = dir.join(f);
            let doc = json(&path)
                .ok()
                .filter(|d| d["command"] == "apply" || d["command"] == "rollback")?;
            Some((written(&path)?, *what, doc))
        })
        .max_by_key(|(at, ..)| *at);
    let journal = written(&dir.join("journal"));
    let (state, error) = match latest {
        // The latest result, unless a journal was written after it.
        Some((at, what, doc)) if journal.is_none_or(|j| j <= at) => {
            let result = doc["result"].as_str().unwrap_or("unknown");
            (
                format!("{what}: {result}"),
                doc["error"].as_str().map(str::to_string),
            )
        }
        _ if journal.is_some() => ("unfinished".to_string(), None),
        _ if dir.join("plan.json").exists() => ("planned".to_string(), None),
        _ => ("notStarted".to_string(), None),
    };
    Status {
        at: Place::of(t),
        state,
        error,
    }
}

/// A summary of a run directory, plan or apply.
#[derive(Debug, Clone, PartialEq)]
pub enum Merged {
    Plan(Vec<PlanRow>),
    Apply(Vec<ApplyRow>),
}

/// The summaries of `runs` merged: the rows of all, in the order one run
/// writes them (wave, account, region, name).
///
/// # Errors
/// An unreadable summary, summaries of different commands, or a cluster in
/// two of them.
pub fn merge(runs: &[PathBuf]) -> Result<Merged, ReportError> {
    let mut kind: Option<(String, PathBuf)> = None;
    let mut rows: Vec<(Value, PathBuf)> = Vec::new();
    for run in runs {
        let path = run.join("summary.json");
        let doc = json(&path)?;
        let command = doc["command"].as_str().unwrap_or_default().to_string();
        match &kind {
            Some((expected, first)) if *expected != command => {
                return Err(ReportError::Mixed {
                    first: first.clone(),
                    expected: expected.clone(),
                    second: path,
                    found: command,
                })
            }
            Some(_) => {}
            None => kind = Some((command, path.clone())),
        }
        for row in doc["clusters"].as_array().into_iter().flatten() {
            if let Some((_, first)) = rows.iter().find(|(r, _)| r["arn"] == row["arn"]) {
                return Err(ReportError::Overlap {
                    arn: row["arn"].as_str().unwrap_or_default().to_string(),
                    first: first.clone(),
                    second: path,
                });
            }
            rows.push((row.clone(), path.clone()));
        }
    }
    let key = |r: &Value| {
        let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
        (
            r["wave"].as_u64().unwrap_or(0),
            s("account"),
            s("region"),
            s("cluster"),
        )
    };
    rows.sort_by_key(|(r, _)| key(r));
    let values: Vec<Value> = rows.into_iter().map(|(r, _)| r).collect();
    let (command, path) = kind.unwrap_or_default();
    let bad = |e: serde_json::Error| ReportError::Unreadable {
        path: path.clone(),
        message: format!("a row is not a summary row: {e}"),
    };
    let rows = Value::Array(values);
    match command.as_str() {
        "fleet apply" => Ok(Merged::Apply(serde_json::from_value(rows).map_err(bad)?)),
        "fleet plan" => Ok(Merged::Plan(serde_json::from_value(rows).map_err(bad)?)),
        other => Err(ReportError::Unreadable {
            path,
            message: format!("{other:?} is not a fleet summary's command"),
        }),
    }
}
