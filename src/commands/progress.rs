//! How `apply` and `rollback` show a run while it goes, on stderr: on a
//! terminal, a bar per phase (changes done of all, elapsed time, the change
//! under way) with each finished change printed above it; otherwise (a CI
//! log, a pipe) one timestamped line per change; with `--quiet`, nothing.
//! Each change is reported when it ends, not at the end of the run.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use indicatif::{ProgressBar, ProgressStyle};

use crate::apply::change::{Outcome, Undone};
use crate::apply::progress::{elapsed, Event, Phase, Progress};
use crate::model::untrusted::terminal;

/// The display chosen for this run.
pub(crate) enum Display {
    /// `--quiet`.
    Quiet,
    /// Not a terminal: timestamped lines.
    Lines,
    /// A terminal: the current phase's bar.
    Bars(Mutex<Option<ProgressBar>>),
}

impl Display {
    /// Bars when stderr is a terminal that can draw them (`TERM` set, and
    /// not `dumb`), lines otherwise, nothing when `quiet`.
    pub(crate) fn new(quiet: bool) -> Self {
        if quiet {
            Display::Quiet
        } else if std::io::stderr().is_terminal()
            && !indicatif::ProgressDrawTarget::stderr().is_hidden()
        {
            Display::Bars(Mutex::new(None))
        } else {
            Display::Lines
        }
    }

    /// Clears the bar, before the report is printed.
    pub(crate) fn finish(&self) {
        if let Display::Bars(bar) = self {
            if let Some(bar) = held(bar).take() {
                bar.finish_and_clear();
            }
        }
    }

    /// Says `line`: above the bar, or as a timestamped line.
    fn say(&self, line: &str) {
        match self {
            Display::Quiet => {}
            Display::Lines => {
                // A lost progress line must not stop the run.
                let _ = writeln!(std::io::stderr(), "{} {line}", now());
            }
            Display::Bars(bar) => match &*held(bar) {
                Some(bar) if !bar.is_hidden() => bar.println(line),
                _ => {
                    let _ = writeln!(std::io::stderr(), "{line}");
                }
            },
        }
    }

    /// Starts the bar of `phase`, replacing the last one.
    fn begin(&self, phase: Phase, total: usize) {
        let what = match phase {
            Phase::Apply => "Applying",
            Phase::Undo => "Undoing",
        };
        match self {
            Display::Quiet => {}
            Display::Lines => self.say(&format!("{what} {total} changes")),
            Display::Bars(bar) => {
                let new = ProgressBar::new(total as u64).with_prefix(what);
                new.set_style(style());
                new.enable_steady_tick(Duration::from_millis(200));
                if let Some(old) = held(bar).replace(new) {
                    old.finish_and_clear();
                }
            }
        }
    }

    /// Moves the bar on by one change.
    fn advance(&self) {
        if let Display::Bars(bar) = self {
            if let Some(bar) = &*held(bar) {
                bar.inc(1);
            }
        }
    }

    /// Shows what is under way next to the bar (a line would be noise).
    fn status(&self, text: String) {
        if let Display::Bars(bar) = self {
            if let Some(bar) = &*held(bar) {
                bar.set_message(text);
            }
        }
    }
}

/// The bar; a poisoned lock still holds it.
fn held(bar: &Mutex<Option<ProgressBar>>) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
    bar.lock().unwrap_or_else(|e| e.into_inner())
}

/// The bar: `Applying [=====>    ] 12/20 [00:00:03] create ... entry ...`.
fn style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{spinner} {prefix} [{bar:30}] {pos}/{len} [{elapsed_precise}] {wide_msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

/// Now, in UTC to the second, as CI logs show times.
fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    aws_smithy_types::DateTime::from_secs(secs as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| secs.to_string())
}

impl Progress for Display {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::Begin { phase, total } => self.begin(phase, total),
            Event::Started { step } => {
                // Mode switches and the aws-auth edit take long and run alone.
                if step.principal().is_none() {
                    self.say(&format!("  started: {}", step.describe()));
                }
                self.status(step.describe());
            }
            Event::Made {
                step,
                outcome,
                took,
            } => {
                let how = match outcome {
                    Outcome::Made => "done",
                    Outcome::AlreadyThere => "already so",
                };
                self.say(&format!("  {how}: {} ({})", step.describe(), elapsed(took)));
                self.advance();
            }
            Event::Failed { step, why, took } => {
                self.say(&format!(
                    "  FAILED: {}: {} ({})",
                    step.describe(),
                    terminal(why),
                    elapsed(took)
                ));
                self.advance();
            }
            Event::Waiting {
                update,
                to,
                elapsed: e,
            } => {
                let text = format!(
                    "Still waiting for the mode update to {to} ({})... [{} elapsed]",
                    terminal(update),
                    elapsed(e)
                );
                match self {
                    Display::Bars(_) => self.status(text),
                    _ => self.say(&format!("  {text}")),
                }
            }
            Event::Undone { step, undone } => {
                let line = match undone {
                    Undone::Restored => format!("  undone: {}", step.describe()),
                    Undone::NothingToDo => format!("  nothing to undo: {}", step.describe()),
                    Undone::Left { why } => {
                        format!("  left: {}: {}", step.describe(), terminal(why))
                    }
                };
                self.say(&line);
                self.advance();
            }
            Event::UndoFailed { step, why } => {
                self.say(&format!(
                    "  STILL IN PLACE (undo failed): {}: {}",
                    step.describe(),
                    terminal(why)
                ));
                self.advance();
            }
        }
    }
}
