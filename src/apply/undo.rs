//! Undoing recorded changes, newest first, each only where the cluster still
//! shows it, and never one that could cut someone off in API mode.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::change::{self, Undone};
use super::journal::{Ending, Journal, JournalError, Record, Recorded};
use super::lanes::{self, locked};
use super::progress::{Event, Phase, Progress};
use super::report::Report;
use crate::live::Connection;
use crate::migrate::steps::Step;
use crate::model::cluster::{AuthMode, ClusterStatus};

/// The mode the cluster is in, as far as undoing is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UndoMode {
    /// Read, and no update under way.
    Known(AuthMode),
    /// Not ACTIVE: an update is under way, and it may be a switch to API.
    Pending(ClusterStatus),
    /// DescribeCluster failed.
    Unknown(String),
}

/// Whether undoing `step` could cut someone off in API mode: deleting an
/// entry, or removing a policy that was not there before (aws-auth no longer
/// counts in API mode).
fn cuts_in_api(step: &Step) -> bool {
    match step {
        Step::CreateEntry { .. } => true,
        Step::AssociatePolicy { previous_scope, .. } => previous_scope.is_none(),
        _ => false,
    }
}

/// What to do instead of undoing `step` in `mode`, if not to undo it:
/// `Ok(why)` leaves it for good (the cluster is in API mode, which is
/// final); `Err(why)` fails the undo for now (the mode is not known yet), so
/// that a later `rollback` tries again.
pub fn blocked(step: &Step, mode: &UndoMode) -> Option<Result<String, String>> {
    if !cuts_in_api(step) {
        return None;
    }
    match mode {
        UndoMode::Known(AuthMode::Api) => Some(Ok(
            "the cluster is in API mode, where aws-auth no longer counts: undoing this would lock out whom it serves".into(),
        )),
        UndoMode::Known(_) => None,
        UndoMode::Pending(status) => Some(Err(format!(
            "not undone yet: the cluster is {status}, and if a switch to API is landing, undoing this would lock out whom it serves; run rollback again once the cluster is ACTIVE"
        ))),
        UndoMode::Unknown(why) => Some(Err(format!(
            "not undone yet: the cluster's mode cannot be read ({why}), and in API mode undoing this would lock out whom it serves; run rollback again"
        ))),
    }
}

/// The cluster's mode for undoing: read now, with any update under way
/// counting as a possible switch to API.
pub async fn undo_mode(c: &Connection) -> UndoMode {
    let _turn = c.turn().await;
    match crate::live::eks::describe_cluster(&c.eks, &c.cluster.name).await {
        Ok(d) if d.mode == AuthMode::Api => UndoMode::Known(AuthMode::Api),
        Ok(d) if !d.status.is_active() => UndoMode::Pending(d.status),
        Ok(d) => UndoMode::Known(d.mode),
        Err(e) => UndoMode::Unknown(e.to_string()),
    }
}

/// The state of an undo that its concurrent lanes share.
struct UndoShared<'a> {
    c: &'a Connection,
    mode: UndoMode,
    todo: Vec<&'a Recorded>,
    journal: Mutex<&'a mut Journal>,
    undone: Mutex<Vec<(usize, Undone)>>,
    failed: Mutex<Vec<(usize, String)>>,
    stop: AtomicBool,
    progress: &'a dyn Progress,
}

impl UndoShared<'_> {
    fn record(
        &self,
        n: usize,
        result: Result<Undone, String>,
    ) -> Result<Option<Undone>, JournalError> {
        let r = self.todo[n];
        match result {
            Ok(result) => {
                locked(&self.journal).append(&Record::Undone {
                    run: r.run.clone(),
                    step: r.step,
                    result: result.clone(),
                })?;
                self.progress.event(Event::Undone {
                    step: &r.change,
                    undone: &result,
                });
                locked(&self.undone).push((n, result.clone()));
                Ok(Some(result))
            }
            Err(e) => {
                locked(&self.journal).append(&Record::UndoFailed {
                    run: r.run.clone(),
                    step: r.step,
                    error: e.clone(),
                })?;
                self.progress.event(Event::UndoFailed {
                    step: &r.change,
                    why: &e,
                });
                locked(&self.failed).push((n, e));
                self.stop.store(true, Ordering::SeqCst);
                Ok(None)
            }
        }
    }

    /// Undoes change `n` of `todo`; `None` when the undo failed.
    async fn one(&self, n: usize) -> Result<Option<Undone>, JournalError> {
        let r = self.todo[n];
        locked(&self.journal).append(&Record::UndoIntent {
            run: r.run.clone(),
            step: r.step,
        })?;
        let result = match blocked(&r.change, &self.mode) {
            Some(Ok(why)) => Ok(Undone::Left { why }),
            Some(Err(why)) => Err(why),
            None => change::undo(self.c, &r.change, &r.run)
                .await
                .map_err(|e| e.to_string()),
        };
        self.record(n, result)
    }

    /// Undoes one principal's changes, newest first. When the lane holds the
    /// creation of the entry, that goes first: deleting the entry takes its
    /// policies with it, so the principal never passes through an entry
    /// without them (which would override aws-auth and cut them off).
    async fn lane(&self, lane: Vec<usize>) -> Result<(), JournalError> {
        let created = lane
            .iter()
            .position(|&n| matches!(self.todo[n].change, Step::CreateEntry { .. }));
        let mut order = lane.clone();
        if let Some(pos) = created {
            let n = lane[pos];
            if self.stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            match self.one(n).await? {
                None => return Ok(()),
                Some(Undone::Restored | Undone::NothingToDo) => {
                    // The newer changes on it went with the entry.
                    for &m in &lane[..pos] {
                        self.record(m, Ok(Undone::NothingToDo))?;
                    }
                    order = lane[pos + 1..].to_vec();
                }
                Some(Undone::Left { .. }) => {
                    order.remove(pos);
                }
            }
        }
        for n in order {
            if self.stop.load(Ordering::SeqCst) || self.one(n).await?.is_none() {
                break;
            }
        }
        Ok(())
    }
}

/// Undoes `changes` newest first, journaling each; returns how it ended.
/// Each undo acts only where the cluster still shows the change. Undos
/// [`blocked`] in the [`undo_mode`] are journaled as left. The entry changes
/// between two other changes are undone per principal (newest first within
/// each), `concurrency` principals at a time; the rest alone, in reverse
/// order. At the first undo that fails, no new undo starts: older changes stay
/// in place (undoing them without the newer ones could cut someone off), and
/// it ends `Failed`.
///
/// # Errors
/// [`JournalError`] when the journal cannot be written; `report` then says
/// what was undone before, and the rest as not undone.
pub async fn undo(
    c: &Connection,
    journal: &mut Journal,
    changes: &[Recorded],
    report: &mut Report,
    (concurrency, progress): (usize, &dyn Progress),
) -> Result<Ending, JournalError> {
    let mode = undo_mode(c).await;
    let shared = UndoShared {
        c,
        mode,
        todo: changes.iter().filter(|r| !r.undone).collect(),
        journal: Mutex::new(journal),
        undone: Mutex::new(Vec::new()),
        failed: Mutex::new(Vec::new()),
        stop: AtomicBool::new(false),
        progress,
    };
    progress.event(Event::Begin {
        phase: Phase::Undo,
        total: shared.todo.len(),
    });
    let order: Vec<usize> = (0..shared.todo.len()).rev().collect();
    let s = &shared;
    let ran = lanes::run(
        &order,
        |n| &s.todo[n].change,
        concurrency,
        &|| s.stop.load(Ordering::SeqCst),
        |n| async move { s.one(n).await.map(|_| ()) },
        |lane| s.lane(lane),
    )
    .await;
    let mut undone = std::mem::take(&mut *locked(&shared.undone));
    undone.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
    let mut failed = std::mem::take(&mut *locked(&shared.failed));
    failed.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
    let seen: Vec<usize> = undone
        .iter()
        .map(|(n, _)| *n)
        .chain(failed.iter().map(|(n, _)| *n))
        .collect();
    report.not_undone = (0..shared.todo.len())
        .rev()
        .filter(|n| !seen.contains(n))
        .map(|n| shared.todo[n].change.clone())
        .collect();
    report.undone.extend(
        undone
            .into_iter()
            .map(|(n, u)| (shared.todo[n].change.clone(), u)),
    );
    report.undo_failed.extend(
        failed
            .iter()
            .map(|(n, e)| (shared.todo[*n].change.clone(), e.clone())),
    );
    // Said in `report` either way: what was undone before the journal failed.
    ran?;
    Ok(if failed.is_empty() {
        Ending::RolledBack
    } else {
        Ending::Failed
    })
}
