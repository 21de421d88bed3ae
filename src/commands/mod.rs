//! The commands: the edge of the program, with anyhow errors. Each reads its
//! inputs (files, stdin), runs a pipeline ([`crate::pipeline`]), and talks to
//! the terminal: the plan, the diff, the prompts, the report.

pub mod apply;
mod confirm;
mod interrupt;
pub mod plan;
pub mod rollback;
pub mod snapshot;

use std::io::{Read, Write};

use anyhow::{Context as _, Result};

use crate::cli::Input;

/// How a command ended, for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Success; `changes` says whether the plan has changes.
    Done { changes: bool },
    /// Findings at or above `--fail-on`.
    FailedOnFindings,
}

/// A run that failed after it changed the cluster; how it ended decides the
/// exit status: 3 when every change was undone, 4 when something is left in
/// place (the report says what).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ChangedThenFailed {
    /// Something the run (or an earlier one) changed is still in place.
    pub left_in_place: bool,
    pub message: String,
}

impl ChangedThenFailed {
    /// The exit status: 3 rolled back cleanly, 4 something left in place.
    pub fn exit_code(&self) -> u8 {
        if self.left_in_place {
            4
        } else {
            3
        }
    }
}

/// Says whose lock a run took over, if it took one over.
pub(crate) fn note_takeover(held: &crate::apply::lock::Held) {
    if let Some(who) = &held.took_over {
        let _ = writeln!(
            std::io::stderr(),
            "Took over the cluster's lock from a run that is gone: {}",
            crate::model::untrusted::terminal(who)
        );
    }
}

/// Reads a file or stdin.
pub(crate) fn read_input(input: &Input) -> Result<Vec<u8>> {
    match input {
        Input::File(p) => Ok(crate::pipeline::read_file(p)?),
        Input::Stdin => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("cannot read stdin")?;
            Ok(buf)
        }
    }
}
