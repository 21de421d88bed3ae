//! The applier: makes the steps one by one against a live cluster, each
//! journaled before it is made and after, and undoes a run's changes (newest
//! first) when a step fails or when `rollback` asks. Every change's fate ends
//! up in a [`Report`], which the commands print.

use crate::inputs::current::AuthMode;
use crate::journal::{Ending, Journal, JournalError, Record, Recorded};
use crate::live::change::{self, Observed, Outcome, Undone, Wait};
use crate::live::Connection;
use crate::steps::Step;

/// What happened to each change.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Made, or found already made.
    pub made: Vec<(Step, Outcome)>,
    /// The step that failed, and why.
    pub failed: Option<(Step, String)>,
    /// Undone (or left, with the reason).
    pub undone: Vec<(Step, Undone)>,
    /// Undos that failed: these changes are still in place.
    pub undo_failed: Vec<(Step, String)>,
    /// Older changes left in place because an undo failed (newest first).
    pub not_undone: Vec<Step>,
    /// Steps never reached.
    pub not_reached: Vec<Step>,
}

impl Report {
    /// How many changes were undone, and how many were left in place.
    pub fn undo_counts(&self) -> (usize, usize) {
        let count = |want: fn(&Undone) -> bool| self.undone.iter().filter(|(_, u)| want(u)).count();
        (
            count(|u| *u == Undone::Restored),
            count(|u| matches!(u, Undone::Left { .. }))
                + self.undo_failed.len()
                + self.not_undone.len(),
        )
    }
}

impl Report {
    /// The report in words, one line per change.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for (step, outcome) in &self.made {
            let how = match outcome {
                Outcome::Made => "done",
                Outcome::AlreadyThere => "already so",
            };
            s.push_str(&format!("  {how}: {}\n", step.describe()));
        }
        if let Some((step, why)) = &self.failed {
            s.push_str(&format!("  FAILED: {}: {why}\n", step.describe()));
        }
        for (step, undone) in &self.undone {
            match undone {
                Undone::Restored => s.push_str(&format!("  undone: {}\n", step.describe())),
                Undone::NothingToDo => {
                    s.push_str(&format!("  nothing to undo: {}\n", step.describe()))
                }
                Undone::Left { why } => {
                    s.push_str(&format!("  left: {}: {why}\n", step.describe()))
                }
            }
        }
        for (step, why) in &self.undo_failed {
            s.push_str(&format!(
                "  STILL IN PLACE (undo failed): {}: {why}\n",
                step.describe()
            ));
        }
        for step in &self.not_undone {
            s.push_str(&format!(
                "  STILL IN PLACE (not undone after the failure above): {}\n",
                step.describe()
            ));
        }
        for step in &self.not_reached {
            s.push_str(&format!("  not made: {}\n", step.describe()));
        }
        s
    }
}

/// Checked just before aws-auth is edited: the entries the run made must all
/// be there (`ListAccessEntries`), else aws-auth is left alone.
async fn entries_exist(c: &Connection, steps: &[Step]) -> Result<(), String> {
    let listed = crate::live::eks::list_entries(&c.eks, &c.cluster.name, AuthMode::ApiAndConfigMap)
        .await
        .map_err(|e| e.to_string())?;
    let missing: Vec<&str> = steps
        .iter()
        .filter_map(|s| match s {
            Step::CreateEntry { principal_arn, .. } => Some(principal_arn.as_str()),
            _ => None,
        })
        .filter(|arn| !listed.iter().any(|l| l.eq_ignore_ascii_case(arn)))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "aws-auth left as it is: these access entries are missing: {}",
            missing.join(", ")
        ))
    }
}

/// Makes `steps` in order as run `run`, journaling each. On a failure, undoes
/// this run's changes unless `keep` (`--no-rollback`).
///
/// # Errors
/// [`JournalError`] when the journal cannot be written: the step it was for is
/// not made, and nothing more is attempted.
pub async fn apply(
    c: &Connection,
    journal: &mut Journal,
    run: &str,
    steps: &[Step],
    wait: Wait,
    keep: bool,
) -> Result<Report, JournalError> {
    let mut report = Report::default();
    let mut recorded: Vec<Recorded> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let checked = if matches!(step, Step::ReplaceAwsAuth { .. }) {
            entries_exist(c, steps).await
        } else {
            Ok(())
        };
        // Read first: skip what is done, journal the real previous state.
        let observed = match checked {
            Ok(()) => change::observe(c, step).await.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        let result = match observed {
            Ok(Observed::Done) => {
                report.made.push((step.clone(), Outcome::AlreadyThere));
                continue;
            }
            Ok(Observed::Todo(todo)) => {
                journal.append(&Record::Intent {
                    run: run.into(),
                    step: i,
                    change: todo.clone(),
                })?;
                recorded.push(Recorded {
                    run: run.into(),
                    step: i,
                    change: todo.clone(),
                    outcome: None,
                    undone: false,
                });
                change::make(c, &todo, run, &format!("{run}-{i}"), wait)
                    .await
                    .map(|()| todo)
                    .map_err(|e| e.to_string())
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(made) => {
                journal.append(&Record::Done {
                    run: run.into(),
                    step: i,
                    outcome: Outcome::Made,
                })?;
                report.made.push((made, Outcome::Made));
            }
            Err(error) => {
                journal.append(&Record::Failed {
                    run: run.into(),
                    step: i,
                    error: error.clone(),
                })?;
                report.failed = Some((step.clone(), error));
                report.not_reached = steps[i + 1..].to_vec();
                let ending = if keep {
                    Ending::Failed
                } else {
                    // The failed step too: it may have taken effect anyway.
                    undo(c, journal, &recorded, &mut report).await?
                };
                journal.append(&Record::End {
                    run: run.into(),
                    ending,
                })?;
                return Ok(report);
            }
        }
    }
    journal.append(&Record::End {
        run: run.into(),
        ending: Ending::Applied,
    })?;
    Ok(report)
}

/// Why undoing `step` is refused in `mode`, if it is: in `API` mode aws-auth
/// no longer counts, so deleting an entry the run made, or a policy it
/// associated, would cut off the people aws-auth used to let in.
pub fn blocked(step: &Step, mode: AuthMode) -> Option<String> {
    if mode != AuthMode::Api {
        return None;
    }
    let cuts = match step {
        Step::CreateEntry { .. } => true,
        Step::AssociatePolicy { previous_scope, .. } => previous_scope.is_none(),
        _ => false,
    };
    cuts.then(|| {
        "the cluster is (or may soon be) in API mode, where aws-auth no longer counts: undoing this would lock out whom it serves".to_string()
    })
}

/// The mode to undo in: the worst the cluster may be in. API when it is,
/// when it cannot be read, or when an update is under way and the changes
/// include a switch to API (it may still land).
pub async fn undo_mode(c: &Connection, changes: &[Recorded]) -> AuthMode {
    let switching = changes.iter().any(|r| {
        matches!(
            r.change,
            Step::SwitchMode {
                to: AuthMode::Api,
                ..
            }
        )
    });
    match crate::live::eks::describe_cluster(&c.eks, &c.cluster.name).await {
        Ok(d) if d.mode == AuthMode::Api || (switching && d.status != "ACTIVE") => AuthMode::Api,
        Ok(d) => d.mode,
        Err(_) => AuthMode::Api,
    }
}

/// Undoes `changes` newest first, journaling each; returns how it ended.
/// Each undo acts only where the cluster still shows the change. Undos
/// [`blocked`] in the [`undo_mode`] are journaled as left. At the first undo
/// that fails, it stops: older changes stay in place (undoing them without the
/// newer ones could cut someone off), and it ends `Failed`.
///
/// # Errors
/// [`JournalError`] when the journal cannot be written.
pub async fn undo(
    c: &Connection,
    journal: &mut Journal,
    changes: &[Recorded],
    report: &mut Report,
) -> Result<Ending, JournalError> {
    let mode = undo_mode(c, changes).await;
    let todo: Vec<&Recorded> = changes.iter().filter(|r| !r.undone).collect();
    for (n, r) in todo.iter().enumerate().rev() {
        journal.append(&Record::UndoIntent {
            run: r.run.clone(),
            step: r.step,
        })?;
        let result = match blocked(&r.change, mode) {
            Some(why) => Ok(Undone::Left { why }),
            None => change::undo(c, &r.change, &r.run).await,
        };
        match result {
            Ok(result) => {
                journal.append(&Record::Undone {
                    run: r.run.clone(),
                    step: r.step,
                    result: result.clone(),
                })?;
                report.undone.push((r.change.clone(), result));
            }
            Err(e) => {
                journal.append(&Record::UndoFailed {
                    run: r.run.clone(),
                    step: r.step,
                    error: e.to_string(),
                })?;
                report.undo_failed.push((r.change.clone(), e.to_string()));
                report.not_undone = todo[..n].iter().rev().map(|r| r.change.clone()).collect();
                return Ok(Ending::Failed);
            }
        }
    }
    Ok(Ending::RolledBack)
}
