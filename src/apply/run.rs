//! Making a run's steps: each observed, journaled, made and journaled again,
//! mode switches and the aws-auth edit alone, the entry steps in lanes (one
//! per principal), and on a failure the run's changes undone.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::change::{self, Observed, Outcome, Wait};
use super::group::Group;
use super::journal::{Ending, Journal, JournalError, Record, Recorded};
use super::lanes::{self, locked};
use super::progress::{Event, Phase, Progress};
use super::report::Report;
use super::undo::undo;
use crate::live::{AwsErrorKind, Connection};
use crate::migrate::steps::Step;
use crate::model::arn::PrincipalArn;
use crate::model::cluster::AuthMode;

/// Checked just before aws-auth is edited: the entries the run made must all
/// be there (`ListAccessEntries`), else aws-auth is left alone.
async fn entries_exist(c: &Connection, steps: &[Step]) -> Result<(), String> {
    let _turn = c.turn().await;
    let listed = crate::live::eks::list_entries(&c.eks, &c.cluster.name, AuthMode::ApiAndConfigMap)
        .await
        .map_err(|e| e.to_string())?;
    let listed: Vec<PrincipalArn> = listed.into_iter().map(PrincipalArn::from).collect();
    let missing: Vec<&str> = steps
        .iter()
        .filter_map(|s| match s {
            Step::CreateEntry { principal_arn, .. } => Some(principal_arn),
            _ => None,
        })
        .filter(|arn| !listed.contains(arn))
        .map(|arn| arn.as_str())
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
    /// Shared by the lanes: each record on disk before its `append` returns.
    journal: Group<'a>,
    /// The changes journaled, in journal order.
    recorded: Mutex<Vec<Recorded>>,
    made: Mutex<Vec<(usize, Step, Outcome, Duration)>>,
    failed: Mutex<Vec<(usize, Step, String, Duration)>>,
    started: Mutex<Vec<bool>>,
    stop: AtomicBool,
    /// Set from outside (Ctrl-C): no new step starts.
    interrupt: &'a AtomicBool,
    progress: &'a dyn Progress,
    /// The entries that exist, listed once by the first create that asks
    /// (after any mode switch: a switch runs alone, before the lanes);
    /// `None` when they could not be listed.
    listed: tokio::sync::OnceCell<Option<HashSet<PrincipalArn>>>,
}

/// The principals that have an entry now; `None` when EKS cannot say (it
/// still answers as in CONFIG_MAP, or the list failed): each create then
/// reads its own entry.
async fn listed_now(c: &Connection) -> Option<HashSet<PrincipalArn>> {
    let _turn = c.turn().await;
    let listed = crate::live::eks::list_entries_now(&c.eks, &c.cluster.name).await;
    Some(listed.ok()??.into_iter().map(PrincipalArn::from).collect())
}

impl Shared<'_> {
    /// True once a step failed or the run was interrupted.
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.interrupt.load(Ordering::SeqCst)
    }

    /// Journals the intent of step `i` as `change`, and records it (in
    /// journal order); returns once the intent is on disk.
    async fn intent(&self, i: usize, change: &Step) -> Result<(), JournalError> {
        let record = Record::Intent {
            run: self.run.into(),
            step: i,
            change: change.clone(),
        };
        self.journal
            .append_then(&record, || {
                locked(&self.recorded).push(Recorded {
                    run: self.run.into(),
                    step: i,
                    change: change.clone(),
                    outcome: None,
                    undone: false,
                });
            })
            .await
    }

    /// Runs step `i`: checks, observes, journals, makes, journals. False when
    /// it failed (the run then stops starting steps).
    async fn step(&self, i: usize) -> Result<bool, JournalError> {
        let step = &self.all[i];
        locked(&self.started)[i] = true;
        let began = Instant::now();
        self.progress.event(Event::Started { step });
        let checked = if matches!(step, Step::ReplaceAwsAuth { .. }) {
            entries_exist(self.c, self.all).await
        } else {
            Ok(())
        };
        // Read first: skip what is done, journal the real previous state.
        let observed = match checked {
            Ok(()) => self.observe(step).await,
            Err(e) => Err(e),
        };
        let result = match observed {
            Ok(Observed::Done) => {
                // Nothing journaled: nothing was done.
                let (outcome, took) = (Outcome::AlreadyThere, began.elapsed());
                self.progress.event(Event::Made {
                    step,
                    outcome,
                    took,
                });
                locked(&self.made).push((i, step.clone(), outcome, took));
                return Ok(true);
            }
            Ok(Observed::Todo(todo)) => self.make(i, todo).await?,
            Err(e) => Err(e),
        };
        self.finish(i, result, began).await
    }

    /// Reads what `step` would change (see [`change::observe`]). A create
    /// of a principal the run's listing of entries does not name is to do,
    /// as it is, without a read of its own: "no entry before it" is exactly
    /// what EKS checks as it creates (an entry there refuses the create,
    /// ResourceInUse, changing nothing; [`Shared::make`] then reads the
    /// entry and journals it as found before any change).
    async fn observe(&self, step: &Step) -> Result<Observed, String> {
        if let Step::CreateEntry { principal_arn, .. } = step {
            let listed = self.listed.get_or_init(|| listed_now(self.c)).await;
            if listed.as_ref().is_some_and(|l| !l.contains(principal_arn)) {
                return Ok(Observed::Todo(step.clone()));
            }
        }
        change::observe(self.c, step)
            .await
            .map_err(|e| e.to_string())
    }

    /// Journals the intent of step `i` as observed (`todo`) and makes it.
    async fn make(
        &self,
        i: usize,
        todo: Step,
    ) -> Result<Result<(Step, Outcome), String>, JournalError> {
        self.intent(i, &todo).await?;
        let token = format!("{}-{i}", self.run);
        Ok(
            match change::make(self.c, &todo, (self.run, &token), self.wait, self.progress).await {
                Ok(()) => Ok((todo, Outcome::Made)),
                // Made by EKS (or someone) between the read and the create, as
                // EKS does with node entries after the switch: read again and go
                // on from what is there.
                Err(e)
                    if e.kind() == Some(AwsErrorKind::InUse)
                        && matches!(todo, Step::CreateEntry { .. }) =>
                {
                    match change::observe(self.c, &todo).await {
                        Ok(Observed::Done) => Ok((todo, Outcome::AlreadyThere)),
                        Ok(Observed::Todo(next)) => {
                            self.intent(i, &next).await?;
                            let token = format!("{token}-r");
                            change::make(
                                self.c,
                                &next,
                                (self.run, &token),
                                self.wait,
                                self.progress,
                            )
                            .await
                            .map(|()| (next, Outcome::Made))
                            .map_err(|e| e.to_string())
                        }
                        Err(e) => Err(e.to_string()),
                    }
                }
                Err(e) => Err(e.to_string()),
            },
        )
    }

    /// Journals how step `i` ended and records it; false when it failed.
    async fn finish(
        &self,
        i: usize,
        result: Result<(Step, Outcome), String>,
        began: Instant,
    ) -> Result<bool, JournalError> {
        let step = &self.all[i];
        let took = began.elapsed();
        match result {
            Ok((made, outcome)) => {
                // Made, whether or not its outcome can be journaled.
                self.progress.event(Event::Made {
                    step: &made,
                    outcome,
                    took,
                });
                locked(&self.made).push((i, made, outcome, took));
                let done = Record::Done {
                    run: self.run.into(),
                    step: i,
                    outcome,
                };
                self.journal.append(&done).await?;
                Ok(true)
            }
            Err(error) => {
                self.stop.store(true, Ordering::SeqCst);
                self.progress.event(Event::Failed {
                    step,
                    why: &error,
                    took,
                });
                locked(&self.failed).push((i, step.clone(), error.clone(), took));
                let failed = Record::Failed {
                    run: self.run.into(),
                    step: i,
                    error,
                };
                self.journal.append(&failed).await?;
                Ok(false)
            }
        }
    }

    /// Runs the steps of one lane in order, until one fails or the run stops.
    async fn lane(&self, lane: Vec<usize>) -> Result<(), JournalError> {
        for i in lane {
            if self.stopped() || !self.step(i).await? {
                break;
            }
        }
        Ok(())
    }
}

/// What the lanes made, failed and never reached, in plan order.
fn made_so_far(shared: &Shared<'_>) -> Report {
    let mut report = Report::default();
    let mut made = std::mem::take(&mut *locked(&shared.made));
    made.sort_by_key(|(i, ..)| *i);
    let mut failed = std::mem::take(&mut *locked(&shared.failed));
    failed.sort_by_key(|(i, ..)| *i);
    // Not started, or stopped before it was made (its intent could not be
    // journaled).
    let ended: std::collections::HashSet<usize> = made
        .iter()
        .map(|(i, ..)| *i)
        .chain(failed.iter().map(|(i, ..)| *i))
        .collect();
    report.not_reached = (0..shared.all.len())
        .filter(|i| !ended.contains(i))
        .map(|i| shared.all[i].clone())
        .collect();
    report.made = made.into_iter().map(|(_, s, o, t)| (s, o, t)).collect();
    report.failed = failed.into_iter().map(|(_, s, e, t)| (s, e, t)).collect();
    report
}

/// How a run goes.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    pub wait: Wait,
    /// Principals changed at once.
    pub concurrency: usize,
    /// `--no-rollback`: leave what was done after a failure.
    pub keep: bool,
}

/// Makes `steps` as run `run`, journaling each, `concurrency` principals at
/// a time. On a failure, undoes this run's changes unless `keep`
/// (`--no-rollback`).
///
/// # Errors
/// [`Stopped`] when the journal cannot be written: the step it was for is
/// not made (or, for an outcome, is reported made), and nothing more is
/// attempted.
pub async fn apply(
    c: &Connection,
    journal: &mut Journal,
    run: &str,
    steps: &[Step],
    (options, interrupt): (RunOptions, &AtomicBool),
    progress: &dyn Progress,
) -> Result<Report, Stopped> {
    let RunOptions {
        wait,
        concurrency,
        keep,
    } = options;
    let journal = Group::new(journal).map_err(|error| Stopped {
        error,
        report: Report {
            not_reached: steps.to_vec(),
            ..Report::default()
        },
    })?;
    let shared = Shared {
        c,
        run,
        all: steps,
        wait,
        journal,
        recorded: Mutex::new(Vec::new()),
        made: Mutex::new(Vec::new()),
        failed: Mutex::new(Vec::new()),
        started: Mutex::new(vec![false; steps.len()]),
        stop: AtomicBool::new(false),
        interrupt,
        progress,
        listed: tokio::sync::OnceCell::new(),
    };
    progress.event(Event::Begin {
        phase: Phase::Apply,
        total: steps.len(),
    });
    let order: Vec<usize> = (0..steps.len()).collect();
    let s = &shared;
    let ran = lanes::run(
        &order,
        |n| &steps[n],
        concurrency,
        &|| s.stopped(),
        |n| async move { s.step(n).await.map(|_| ()) },
        |lane| s.lane(lane),
    )
    .await;
    let mut report = made_so_far(&shared);
    if let Err(error) = ran {
        return Err(Stopped { error, report });
    }
    let recorded = std::mem::take(&mut *locked(&shared.recorded));
    let journal = shared.journal.into_inner();
    // Interrupted before the end: undone as after a failure.
    report.interrupted = interrupt.load(Ordering::SeqCst) && !report.not_reached.is_empty();
    let ending = if report.failed.is_empty() && !report.interrupted {
        Ending::Applied
    } else if keep {
        Ending::Failed
    } else {
        // Failed steps too: they may have taken effect anyway.
        match undo(c, journal, &recorded, &mut report, (concurrency, progress)).await {
            Ok(ending) => ending,
            Err(error) => return Err(Stopped { error, report }),
        }
    };
    match journal.append(&Record::End {
        run: run.into(),
        ending,
    }) {
        Ok(()) => Ok(report),
        Err(error) => Err(Stopped { error, report }),
    }
}

/// A run or an undo the journal stopped: no change was started after the
/// write that failed. `report` says what was done before.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct Stopped {
    pub error: JournalError,
    pub report: Report,
}
