//! The applier: makes the steps against a live cluster, each journaled before
//! it is made and after, and undoes a run's changes (newest first) when a step
//! fails or when `rollback` asks. Every change's fate ends up in a
//! [`Report`], which the commands print.
//!
//! Mode switches and the aws-auth edit run alone, in order. Between them, the
//! entry steps run in lanes, one lane per principal (its create or update,
//! then its policies, in order), `concurrency` lanes at a time. After a
//! failure no new step starts; the steps under way finish and are journaled,
//! then everything the run made is undone.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use futures::{StreamExt, TryStreamExt};

use crate::inputs::current::AuthMode;
use crate::journal::{Ending, Journal, JournalError, Record, Recorded};
use crate::live::change::{self, Observed, Outcome, Undone, Wait};
use crate::live::{Connection, LiveError};
use crate::steps::Step;

/// What happened to each change.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Made, or found already made.
    pub made: Vec<(Step, Outcome)>,
    /// The steps that failed, and why (several lanes may fail at once).
    pub failed: Vec<(Step, String)>,
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
        for (step, why) in &self.failed {
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

/// The state of a run that its concurrent lanes share.
struct Shared<'a> {
    c: &'a Connection,
    run: &'a str,
    all: &'a [Step],
    wait: Wait,
    journal: Mutex<&'a mut Journal>,
    /// The changes journaled, in journal order.
    recorded: Mutex<Vec<Recorded>>,
    made: Mutex<Vec<(usize, Step, Outcome)>>,
    failed: Mutex<Vec<(usize, Step, String)>>,
    started: Mutex<Vec<bool>>,
    stop: AtomicBool,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared<'_> {
    fn append(&self, r: &Record) -> Result<(), JournalError> {
        locked(&self.journal).append(r)
    }

    /// Journals the intent of step `i` as `change`, and records it.
    fn intent(&self, i: usize, change: &Step) -> Result<(), JournalError> {
        let mut j = locked(&self.journal);
        j.append(&Record::Intent {
            run: self.run.into(),
            step: i,
            change: change.clone(),
        })?;
        locked(&self.recorded).push(Recorded {
            run: self.run.into(),
            step: i,
            change: change.clone(),
            outcome: None,
            undone: false,
        });
        Ok(())
    }

    /// Runs step `i`: checks, observes, journals, makes, journals. False when
    /// it failed (the run then stops starting steps).
    async fn step(&self, i: usize) -> Result<bool, JournalError> {
        let step = &self.all[i];
        locked(&self.started)[i] = true;
        let checked = if matches!(step, Step::ReplaceAwsAuth { .. }) {
            entries_exist(self.c, self.all).await
        } else {
            Ok(())
        };
        // Read first: skip what is done, journal the real previous state.
        let observed = match checked {
            Ok(()) => change::observe(self.c, step)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        let result = match observed {
            Ok(Observed::Done) => {
                locked(&self.made).push((i, step.clone(), Outcome::AlreadyThere));
                return Ok(true);
            }
            Ok(Observed::Todo(todo)) => {
                self.intent(i, &todo)?;
                let token = format!("{}-{i}", self.run);
                match change::make(self.c, &todo, self.run, &token, self.wait).await {
                    Ok(()) => Ok((todo, Outcome::Made)),
                    // Made by EKS (or someone) between the read and the
                    // create, as EKS does with node entries after the switch:
                    // read again and go on from what is there.
                    Err(LiveError::Aws { code, .. })
                        if code == "ResourceInUseException"
                            && matches!(todo, Step::CreateEntry { .. }) =>
                    {
                        match change::observe(self.c, &todo).await {
                            Ok(Observed::Done) => Ok((todo, Outcome::AlreadyThere)),
                            Ok(Observed::Todo(next)) => {
                                self.intent(i, &next)?;
                                change::make(
                                    self.c,
                                    &next,
                                    self.run,
                                    &format!("{token}-r"),
                                    self.wait,
                                )
                                .await
                                .map(|()| (next, Outcome::Made))
                                .map_err(|e| e.to_string())
                            }
                            Err(e) => Err(e.to_string()),
                        }
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
            Err(e) => Err(e),
        };
        match result {
            Ok((made, outcome)) => {
                self.append(&Record::Done {
                    run: self.run.into(),
                    step: i,
                    outcome,
                })?;
                locked(&self.made).push((i, made, outcome));
                Ok(true)
            }
            Err(error) => {
                self.append(&Record::Failed {
                    run: self.run.into(),
                    step: i,
                    error: error.clone(),
                })?;
                locked(&self.failed).push((i, step.clone(), error));
                self.stop.store(true, Ordering::SeqCst);
                Ok(false)
            }
        }
    }

    /// Runs the steps of one lane in order, until one fails or the run stops.
    async fn lane(&self, lane: Vec<usize>) -> Result<(), JournalError> {
        for i in lane {
            if self.stop.load(Ordering::SeqCst) || !self.step(i).await? {
                break;
            }
        }
        Ok(())
    }
}

/// True for the steps that run in lanes (per principal).
fn in_lanes(step: &Step) -> bool {
    matches!(
        step,
        Step::CreateEntry { .. } | Step::UpdateEntry { .. } | Step::AssociatePolicy { .. }
    )
}

/// The principal a lane step is about, lower-cased.
fn principal_of(step: &Step) -> String {
    match step {
        Step::CreateEntry { principal_arn, .. }
        | Step::UpdateEntry { principal_arn, .. }
        | Step::AssociatePolicy { principal_arn, .. } => principal_arn.to_ascii_lowercase(),
        Step::SwitchMode { .. } | Step::ReplaceAwsAuth { .. } => String::new(),
    }
}

/// Makes `steps` as run `run`, journaling each, `concurrency` principals at
/// a time. On a failure, undoes this run's changes unless `keep`
/// (`--no-rollback`).
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
    concurrency: usize,
    keep: bool,
) -> Result<Report, JournalError> {
    let shared = Shared {
        c,
        run,
        all: steps,
        wait,
        journal: Mutex::new(journal),
        recorded: Mutex::new(Vec::new()),
        made: Mutex::new(Vec::new()),
        failed: Mutex::new(Vec::new()),
        started: Mutex::new(vec![false; steps.len()]),
        stop: AtomicBool::new(false),
    };
    let mut i = 0;
    while i < steps.len() && !shared.stop.load(Ordering::SeqCst) {
        if !in_lanes(&steps[i]) {
            shared.step(i).await?;
            i += 1;
            continue;
        }
        let end = (i..steps.len())
            .find(|&j| !in_lanes(&steps[j]))
            .unwrap_or(steps.len());
        let mut lanes: Vec<(String, Vec<usize>)> = Vec::new();
        for (j, step) in steps.iter().enumerate().take(end).skip(i) {
            let who = principal_of(step);
            match lanes.iter_mut().find(|(p, _)| *p == who) {
                Some((_, lane)) => lane.push(j),
                None => lanes.push((who, vec![j])),
            }
        }
        futures::stream::iter(lanes)
            .map(|(_, lane)| shared.lane(lane))
            .buffer_unordered(concurrency.max(1))
            .try_collect::<Vec<()>>()
            .await?;
        i = end;
    }
    let mut report = Report::default();
    let mut made = std::mem::take(&mut *locked(&shared.made));
    made.sort_by_key(|(i, _, _)| *i);
    report.made = made.into_iter().map(|(_, s, o)| (s, o)).collect();
    let mut failed = std::mem::take(&mut *locked(&shared.failed));
    failed.sort_by_key(|(i, _, _)| *i);
    report.failed = failed.into_iter().map(|(_, s, e)| (s, e)).collect();
    let started = std::mem::take(&mut *locked(&shared.started));
    report.not_reached = steps
        .iter()
        .zip(started)
        .filter(|(_, s)| !s)
        .map(|(step, _)| step.clone())
        .collect();
    let recorded = std::mem::take(&mut *locked(&shared.recorded));
    let journal = shared
        .journal
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    let ending = if report.failed.is_empty() {
        Ending::Applied
    } else if keep {
        Ending::Failed
    } else {
        // Failed steps too: they may have taken effect anyway.
        undo(c, journal, &recorded, &mut report, concurrency).await?
    };
    journal.append(&Record::End {
        run: run.into(),
        ending,
    })?;
    Ok(report)
}

/// The mode the cluster is in, as far as undoing is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UndoMode {
    /// Read, and no update under way.
    Known(AuthMode),
    /// Not ACTIVE: an update is under way, and it may be a switch to API.
    Pending(String),
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
    match crate::live::eks::describe_cluster(&c.eks, &c.cluster.name).await {
        Ok(d) if d.mode == AuthMode::Api => UndoMode::Known(AuthMode::Api),
        Ok(d) if d.status != "ACTIVE" => UndoMode::Pending(d.status),
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
                locked(&self.undone).push((n, result.clone()));
                Ok(Some(result))
            }
            Err(e) => {
                locked(&self.journal).append(&Record::UndoFailed {
                    run: r.run.clone(),
                    step: r.step,
                    error: e.clone(),
                })?;
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
/// [`JournalError`] when the journal cannot be written.
pub async fn undo(
    c: &Connection,
    journal: &mut Journal,
    changes: &[Recorded],
    report: &mut Report,
    concurrency: usize,
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
    };
    let mut end = shared.todo.len();
    while end > 0 && !shared.stop.load(Ordering::SeqCst) {
        if !in_lanes(&shared.todo[end - 1].change) {
            if shared.one(end - 1).await?.is_none() {
                break;
            }
            end -= 1;
            continue;
        }
        let start = (0..end)
            .rev()
            .find(|&j| !in_lanes(&shared.todo[j].change))
            .map_or(0, |j| j + 1);
        let mut lanes: Vec<(String, Vec<usize>)> = Vec::new();
        for n in (start..end).rev() {
            let who = principal_of(&shared.todo[n].change);
            match lanes.iter_mut().find(|(p, _)| *p == who) {
                Some((_, lane)) => lane.push(n),
                None => lanes.push((who, vec![n])),
            }
        }
        futures::stream::iter(lanes)
            .map(|(_, lane)| shared.lane(lane))
            .buffer_unordered(concurrency.max(1))
            .try_collect::<Vec<()>>()
            .await?;
        end = start;
    }
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
    Ok(if failed.is_empty() {
        Ending::RolledBack
    } else {
        Ending::Failed
    })
}
