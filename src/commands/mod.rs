//! The commands: each reads its inputs (files, stdin), runs the pure core and
//! writes the result. The edge of the program, with anyhow errors.

pub mod apply;
mod confirm;
pub mod plan;
pub mod rollback;
pub mod snapshot;

use std::io::Read;
use std::path::Path;

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

/// Reads a whole file, naming it in the error.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Reads a file or stdin.
pub(crate) fn read_input(input: &Input) -> Result<Vec<u8>> {
    match input {
        Input::File(p) => read_file(p),
        Input::Stdin => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("cannot read stdin")?;
            Ok(buf)
        }
    }
}
