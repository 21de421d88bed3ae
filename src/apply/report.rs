//! What happened to each change of a run or a rollback: made, failed,
//! undone, left, not reached. The commands print it; a fleet stores it.

use std::time::Duration;

use crate::apply::change::{Outcome, Undone};
use crate::migrate::steps::Step;
use crate::model::untrusted::terminal;

/// What happened to each change.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Made, or found already made, and how long that took.
    pub made: Vec<(Step, Outcome, Duration)>,
    /// The steps that failed, why (several lanes may fail at once), and
    /// after how long.
    pub failed: Vec<(Step, String, Duration)>,
    /// Undone (or left, with the reason).
    pub undone: Vec<(Step, Undone)>,
    /// Undos that failed: these changes are still in place.
    pub undo_failed: Vec<(Step, String)>,
    /// Older changes left in place because an undo failed (newest first).
    pub not_undone: Vec<Step>,
    /// Steps never reached.
    pub not_reached: Vec<Step>,
    /// The run was interrupted (Ctrl-C, SIGTERM) before its last step.
    pub interrupted: bool,
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
        for (step, outcome, _) in &self.made {
            let how = match outcome {
                Outcome::Made => "done",
                Outcome::AlreadyThere => "already so",
            };
            s.push_str(&format!("  {how}: {}\n", step.describe()));
        }
        for (step, why, _) in &self.failed {
            s.push_str(&format!(
                "  FAILED: {}: {}\n",
                step.describe(),
                terminal(why)
            ));
        }
        for (step, undone) in &self.undone {
            match undone {
                Undone::Restored => s.push_str(&format!("  undone: {}\n", step.describe())),
                Undone::NothingToDo => {
                    s.push_str(&format!("  nothing to undo: {}\n", step.describe()))
                }
                Undone::Left { why } => {
                    s.push_str(&format!("  left: {}: {}\n", step.describe(), terminal(why)))
                }
            }
        }
        for (step, why) in &self.undo_failed {
            s.push_str(&format!(
                "  STILL IN PLACE (undo failed): {}: {}\n",
                step.describe(),
                terminal(why)
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
