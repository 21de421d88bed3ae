//! What a run or a rollback says while it goes: each change as it starts and
//! ends, and a long wait as it lasts. The engine only emits [`Event`]s to a
//! [`Progress`]; how they are shown (a bar on a terminal, timestamped lines in
//! a CI log, nothing with `--quiet`) is the commands' business.

use std::time::Duration;

use super::change::{Outcome, Undone};
use crate::migrate::steps::Step;
use crate::model::cluster::AuthMode;

/// The two phases a run can go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Making the planned changes.
    Apply,
    /// Undoing recorded changes (after a failure, or for `rollback`).
    Undo,
}

/// Something that happened in a run, when it happened.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A phase begins, with this many changes to go through.
    Begin { phase: Phase, total: usize },
    /// A change is being made.
    Started { step: &'a Step },
    /// A change was made, or found already made.
    Made {
        step: &'a Step,
        outcome: Outcome,
        took: Duration,
    },
    /// A change failed.
    Failed {
        step: &'a Step,
        why: &'a str,
        took: Duration,
    },
    /// A mode update is still under way (sent every [`WAIT_NOTE_EVERY`]).
    Waiting {
        update: &'a str,
        to: AuthMode,
        elapsed: Duration,
    },
    /// A change was undone, found with nothing to undo, or left.
    Undone { step: &'a Step, undone: &'a Undone },
    /// An undo failed: the change is still in place.
    UndoFailed { step: &'a Step, why: &'a str },
}

/// How often a long wait says it is still waiting.
pub const WAIT_NOTE_EVERY: Duration = Duration::from_secs(10);

/// Where a run's events go. Called from concurrent lanes, so it must not
/// block for long.
pub trait Progress: Send + Sync {
    /// Takes one event.
    fn event(&self, event: Event<'_>);
}

/// `1.2s`, `2m10s`, `1h02m`: an elapsed time as people read it.
pub fn elapsed(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..=59 => format!("{:.1}s", d.as_secs_f64()),
        60..=3599 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_times_read_as_people_write_them() {
        assert_eq!(elapsed(Duration::from_millis(1250)), "1.2s");
        assert_eq!(elapsed(Duration::from_secs(130)), "2m10s");
        assert_eq!(elapsed(Duration::from_secs(3720)), "1h02m");
    }
}
