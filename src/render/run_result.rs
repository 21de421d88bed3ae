//! The JSON result of `apply` and `rollback` (`--output json`),
//! `schemaVersion: 1`: how the run ended (with its exit status), each change
//! with its fate and timing, the counts, the final mode, and what is left in
//! place and why. The README documents every field; fields may be added
//! within a schema version, never renamed or removed.

use std::path::Path;

use serde::Serialize;

use super::diff;
use crate::apply::change::{Outcome, Undone};
use crate::apply::Report;
use crate::migrate::steps::Step;
use crate::model::cluster::AuthMode;

/// Which command ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RunCommand {
    Apply,
    Rollback,
}

/// The cluster a run was for.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunCluster {
    pub name: String,
    pub arn: String,
    pub region: String,
}

/// What is known of a run when it ends (at any point: an error before the
/// first change leaves most of it empty).
#[derive(Debug, Clone, Default)]
pub struct RunFacts {
    pub run: Option<String>,
    pub cluster: Option<RunCluster>,
    pub journal: Option<std::path::PathBuf>,
    pub report: Option<Report>,
    pub final_mode: Option<AuthMode>,
    /// Why what the run made is still in place, when it ended without
    /// undoing it (`--no-rollback` after a failure, a journal that could not
    /// be written).
    pub left_made: Option<String>,
    /// The plan the run carried out, once made (a fleet keeps it beside the
    /// result).
    pub plan: Option<Box<crate::planner::Plan>>,
}

/// How a run ended, one word per exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
enum Ending {
    /// Exit 0: every change made (or undone, for `rollback`).
    Done,
    /// Exit 0: there was nothing to do.
    NothingToDo,
    /// Exit 1: stopped before any change (refused, stale, not confirmed).
    NotChanged,
    /// Exit 3: failed, and every change of the run was undone.
    RolledBack,
    /// Exit 4: failed, and something is left in place (see `leftInPlace`).
    LeftInPlace,
    /// Exit 130: interrupted twice.
    Interrupted,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    schema_version: u32,
    command: RunCommand,
    result: Ending,
    exit_code: u8,
    run_id: Option<&'a str>,
    cluster: Option<&'a RunCluster>,
    journal: Option<&'a Path>,
    changes: Vec<Change<'a>>,
    undo: Vec<Change<'a>>,
    counts: Counts,
    final_mode: Option<AuthMode>,
    left_in_place: Vec<Left<'a>>,
    error: Option<&'a str>,
}

/// One change and what became of it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Change<'a> {
    description: String,
    fate: Fate,
    #[serde(skip_serializing_if = "Option::is_none")]
    seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    why: Option<&'a str>,
    change: &'a Step,
}

/// The fate of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
enum Fate {
    Made,
    AlreadySo,
    Failed,
    NotMade,
    Undone,
    NothingToUndo,
    Left,
    UndoFailed,
    NotUndone,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Counts {
    added: usize,
    changed: usize,
    destroyed: usize,
    already_so: usize,
    failed: usize,
    not_made: usize,
    undone: usize,
    left_in_place: usize,
}

/// A change still in place after a failure or a rollback, and why.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Left<'a> {
    description: String,
    why: &'a str,
}

/// The changes of `report`: what the run made, failed and never reached.
fn changes(report: &Report) -> Vec<Change<'_>> {
    let mut out = Vec::new();
    for (step, outcome, took) in &report.made {
        out.push(Change {
            description: step.describe(),
            fate: match outcome {
                Outcome::Made => Fate::Made,
                Outcome::AlreadyThere => Fate::AlreadySo,
            },
            seconds: Some(took.as_secs_f64()),
            why: None,
            change: step,
        });
    }
    for (step, why, took) in &report.failed {
        out.push(Change {
            description: step.describe(),
            fate: Fate::Failed,
            seconds: Some(took.as_secs_f64()),
            why: Some(why),
            change: step,
        });
    }
    out.extend(report.not_reached.iter().map(|step| Change {
        description: step.describe(),
        fate: Fate::NotMade,
        seconds: None,
        why: None,
        change: step,
    }));
    out
}

/// The undos of `report`, newest change first.
fn undos(report: &Report) -> Vec<Change<'_>> {
    let mut out: Vec<Change<'_>> = report
        .undone
        .iter()
        .map(|(step, undone)| {
            let (fate, why) = match undone {
                Undone::Restored => (Fate::Undone, None),
                Undone::NothingToDo => (Fate::NothingToUndo, None),
                Undone::Left { why } => (Fate::Left, Some(why.as_str())),
            };
            Change {
                description: step.describe(),
                fate,
                seconds: None,
                why,
                change: step,
            }
        })
        .collect();
    out.extend(report.undo_failed.iter().map(|(step, why)| Change {
        description: step.describe(),
        fate: Fate::UndoFailed,
        seconds: None,
        why: Some(why),
        change: step,
    }));
    out.extend(report.not_undone.iter().map(|step| Change {
        description: step.describe(),
        fate: Fate::NotUndone,
        seconds: None,
        why: Some("not undone: an older change is undone only after the newer ones"),
        change: step,
    }));
    out
}

/// What is left in place, and why: undos that left or failed, and, when the
/// run ended without undoing (`left_made`), what it made and did not undo.
fn left<'a>(facts: &'a RunFacts, changes: &[Change<'a>], undo: &[Change<'a>]) -> Vec<Left<'a>> {
    let mut out: Vec<Left<'a>> = undo
        .iter()
        .filter(|c| matches!(c.fate, Fate::Left | Fate::UndoFailed | Fate::NotUndone))
        .map(|c| Left {
            description: c.description.clone(),
            why: c.why.unwrap_or_default(),
        })
        .collect();
    if let Some(why) = &facts.left_made {
        // Those the undo reached are said above, or were undone.
        let reached = |step: &Step| undo.iter().any(|u| u.change == step);
        out.extend(
            changes
                .iter()
                .filter(|c| c.fate == Fate::Made && !reached(c.change))
                .map(|c| Left {
                    description: c.description.clone(),
                    why,
                }),
        );
    }
    out
}

/// The counts, by the rule the plan summary, the prompt and the text report
/// use ([`diff::counts`] of what was made).
fn counts(changes: &[Change<'_>], undo: &[Change<'_>], left: usize) -> Counts {
    let made: Vec<Step> = changes
        .iter()
        .filter(|c| c.fate == Fate::Made)
        .map(|c| c.change.clone())
        .collect();
    let c = diff::counts(&made);
    let count = |list: &[Change<'_>], fate| list.iter().filter(|c| c.fate == fate).count();
    Counts {
        added: c.add,
        changed: c.change,
        destroyed: c.destroy,
        already_so: count(changes, Fate::AlreadySo),
        failed: count(changes, Fate::Failed),
        not_made: count(changes, Fate::NotMade),
        undone: count(undo, Fate::Undone),
        left_in_place: left,
    }
}

/// Renders the result of a run that ended with `exit_code` (and `error`,
/// when it failed) as pretty-printed JSON with a trailing newline.
///
/// # Errors
/// When serde_json cannot write it (it always can: no map has other keys
/// than strings).
pub fn render(
    command: RunCommand,
    facts: &RunFacts,
    exit_code: u8,
    error: Option<&str>,
) -> Result<String, serde_json::Error> {
    let empty = Report::default();
    let report = facts.report.as_ref().unwrap_or(&empty);
    let changes = changes(report);
    let undo = undos(report);
    let left_in_place = left(facts, &changes, &undo);
    let touched = !report.made.is_empty() || !report.undone.is_empty();
    let result = match exit_code {
        0 if touched => Ending::Done,
        0 => Ending::NothingToDo,
        3 => Ending::RolledBack,
        4 => Ending::LeftInPlace,
        130 => Ending::Interrupted,
        _ => Ending::NotChanged,
    };
    let doc = Document {
        schema_version: super::json::SCHEMA_VERSION,
        command,
        result,
        exit_code,
        run_id: facts.run.as_deref(),
        cluster: facts.cluster.as_ref(),
        journal: facts.journal.as_deref(),
        counts: counts(&changes, &undo, left_in_place.len()),
        changes,
        undo,
        final_mode: facts.final_mode,
        left_in_place,
        error,
    };
    let mut s = serde_json::to_string_pretty(&doc)?;
    s.push('\n');
    Ok(s)
}
