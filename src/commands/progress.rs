//! How `apply` and `rollback` show a run while it goes, on stderr: on a
//! terminal, a bar per phase (changes done of all, elapsed time, the change
//! under way) with each finished change printed above it; otherwise (a CI
//! log, a pipe) one timestamped line per change; with `--quiet`, nothing;
//! in a fleet, timestamped lines in the cluster's log. Each change is
//! reported when it ends, not at the end of the run. [`Channels`] says
//! where all of a run's words go.

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
    /// A fleet's cluster: timestamped lines in its log.
    Log(Mutex<std::fs::File>),
}

/// Where a run's words go: the diff and the report (`out`), notes, and the
/// progress; and, in a fleet, the fleet's stop flag (set: no new change
/// starts here either; `None`: this run watches Ctrl-C itself).
pub(crate) struct Channels {
    out: Out,
    pub(crate) display: Display,
    pub(crate) fleet_stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

/// Where the diff and the report go.
enum Out {
    /// Stdout, or stderr when stdout carries the JSON result.
    Human(crate::cli::ReportSettings),
    /// A fleet cluster's log.
    Log(std::sync::Arc<std::fs::File>),
}

/// A writer to a shared file (`&File` writes; no handle to duplicate, so
/// nothing can fail before the first write).
struct SharedFile(std::sync::Arc<std::fs::File>);

impl Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        (&*self.0).flush()
    }
}

impl Channels {
    /// A run at a terminal (or in a CI log), as `settings` ask.
    pub(crate) fn terminal(settings: crate::cli::ReportSettings) -> Channels {
        Channels {
            out: Out::Human(settings),
            display: Display::new(settings.quiet),
            fleet_stop: None,
        }
    }

    /// A fleet's cluster: every word in `log`, stopped with the fleet.
    ///
    /// # Errors
    /// When the log cannot be shared between the report and the progress.
    pub(crate) fn log(
        log: std::fs::File,
        fleet_stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> std::io::Result<Channels> {
        Ok(Channels {
            display: Display::Log(Mutex::new(log.try_clone()?)),
            out: Out::Log(std::sync::Arc::new(log)),
            fleet_stop: Some(fleet_stop),
        })
    }

    /// Where the diff and the report go.
    pub(crate) fn out(&self) -> Box<dyn Write> {
        match &self.out {
            Out::Human(settings) => super::human(*settings),
            Out::Log(file) => Box::new(SharedFile(file.clone())),
        }
    }

    /// Says whose lock a run took over, if it took one over.
    pub(crate) fn took_over(&self, held: &crate::apply::lock::Held) {
        if let Some(who) = &held.took_over {
            self.note(&format!(
                "Took over the cluster's lock from a run that is gone: {}",
                terminal(who)
            ));
        }
    }

    /// A note beside the report (the journal's path, a lock taken over):
    /// stderr, or the log. A lost note must not stop the run.
    pub(crate) fn note(&self, text: &str) {
        let _ = match &self.out {
            Out::Human(_) => writeln!(std::io::stderr(), "{text}"),
            Out::Log(file) => writeln!(&**file, "{} {text}", now()),
        };
    }
}

impl Display {
    /// Bars when stderr is a terminal that can draw them (`TERM` set, and
    /// not `dumb`), lines otherwise, nothing when `quiet`.
    pub(crate) fn new(quiet: bool) -> Self {
        if quiet {
            Display::Quiet
        } else if bars_can_draw() {
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
            Display::Log(file) => {
                let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
                let _ = writeln!(f, "{} {line}", now());
            }
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
            Display::Lines | Display::Log(_) => self.say(&format!("{what} {total} changes")),
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

/// Whether stderr is a terminal that can draw bars (`TERM` set, and not
/// `dumb`).
fn bars_can_draw() -> bool {
    std::io::stderr().is_terminal() && !indicatif::ProgressDrawTarget::stderr().is_hidden()
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

/// A fleet run's display, on stderr: on a terminal, an overall bar and a
/// line per running cluster; otherwise a timestamped line per cluster as it
/// starts and as it ends.
pub(crate) enum FleetDisplay {
    Bars {
        multi: indicatif::MultiProgress,
        overall: ProgressBar,
        running: Mutex<Vec<(String, ProgressBar)>>,
    },
    Lines,
}

impl FleetDisplay {
    /// The display for `total` clusters doing `what` ("Applying", "Planning").
    pub(crate) fn new(what: &str, total: usize) -> FleetDisplay {
        if !bars_can_draw() {
            return FleetDisplay::Lines;
        }
        let multi = indicatif::MultiProgress::new();
        let overall = multi.add(ProgressBar::new(total as u64).with_prefix(what.to_string()));
        overall.set_style(style());
        overall.enable_steady_tick(Duration::from_millis(200));
        FleetDisplay::Bars {
            multi,
            overall,
            running: Mutex::new(Vec::new()),
        }
    }
}

impl crate::fleet::Watch for FleetDisplay {
    fn started(&self, who: &str) {
        match self {
            FleetDisplay::Lines => {
                let _ = writeln!(std::io::stderr(), "{} {who}: started", now());
            }
            FleetDisplay::Bars { multi, running, .. } => {
                let line =
                    multi.add(ProgressBar::new_spinner().with_message(format!("{who}: running")));
                line.enable_steady_tick(Duration::from_millis(200));
                running
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((who.to_string(), line));
            }
        }
    }

    fn finished(&self, who: &str, result: &str, seconds: f64) {
        let text = format!(
            "{who}: {} ({})",
            terminal(result),
            elapsed(Duration::from_secs_f64(seconds.max(0.0)))
        );
        match self {
            FleetDisplay::Lines => {
                let _ = writeln!(std::io::stderr(), "{} {text}", now());
            }
            FleetDisplay::Bars {
                multi,
                overall,
                running,
            } => {
                let mut running = running.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(at) = running.iter().position(|(w, _)| w == who) {
                    let (_, line) = running.remove(at);
                    line.finish_and_clear();
                    multi.remove(&line);
                }
                overall.println(text);
                overall.inc(1);
            }
        }
    }
}

impl FleetDisplay {
    /// Clears the bars.
    pub(crate) fn finish(&self) {
        if let FleetDisplay::Bars { overall, .. } = self {
            overall.finish_and_clear();
        }
    }
}
