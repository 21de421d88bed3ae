//! The commands: the edge of the program, with anyhow errors. Each reads its
//! inputs (files, stdin), runs a pipeline ([`crate::pipeline`]), and talks to
//! the terminal: the plan, the diff, the prompts, the report.

pub mod apply;
mod confirm;
pub mod export;
pub mod fleet;
mod interrupt;
pub mod plan;
mod progress;
pub mod rollback;
pub mod snapshot;

use std::io::{Read, Write};

use anyhow::{Context as _, Result};

use crate::cli::{Input, ReportSettings};
use crate::render::run_result::{RunCluster, RunCommand, RunFacts};

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

/// The exit status of a command's `result`: 0 success (2 with changes and
/// `detailed`), 1 an error before anything changed or findings at or above
/// `--fail-on`, 3 or 4 when a run failed after changing the cluster.
pub fn exit_code(result: &Result<Outcome>, detailed: bool) -> u8 {
    match result {
        Ok(Outcome::Done { changes: true }) if detailed => 2,
        Ok(Outcome::Done { .. }) => 0,
        Ok(Outcome::FailedOnFindings) => 1,
        Err(e) => e
            .downcast_ref::<ChangedThenFailed>()
            .map_or(1, ChangedThenFailed::exit_code),
    }
}

/// Where `apply` and `rollback` write for people: stdout, or stderr when
/// stdout carries the JSON result.
pub(crate) fn human(report: ReportSettings) -> Box<dyn Write> {
    if report.json {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    }
}

/// The cluster of a run, for its result.
pub(crate) fn run_cluster(conn: &crate::live::Connection) -> RunCluster {
    RunCluster {
        name: conn.cluster.name.clone(),
        arn: conn.cluster.arn.clone(),
        region: conn.region.clone(),
    }
}

/// The cluster's mode now, for a run's result; `None` when it cannot be read.
pub(crate) fn mode_now(
    rt: &tokio::runtime::Runtime,
    conn: &crate::live::Connection,
) -> Option<crate::model::cluster::AuthMode> {
    rt.block_on(final_mode(conn))
}

/// [`mode_now`], for a caller already in the runtime.
pub(crate) async fn final_mode(
    conn: &crate::live::Connection,
) -> Option<crate::model::cluster::AuthMode> {
    crate::live::eks::describe_cluster(&conn.eks, &conn.cluster.name)
        .await
        .ok()
        .map(|d| d.mode)
}

/// With `--output json`, writes the run's result on stdout (whether it
/// succeeded or not); hands `result` on for the exit status.
///
/// # Errors
/// `result`'s error, or stdout cannot be written.
pub(crate) fn print_result(
    command: RunCommand,
    report: ReportSettings,
    facts: &RunFacts,
    result: Result<Outcome>,
) -> Result<Outcome> {
    if report.json {
        let error = result.as_ref().err().map(|e| format!("{e:#}"));
        let doc = crate::render::run_result::render(
            command,
            facts,
            exit_code(&result, false),
            error.as_deref(),
        )?;
        let mut out = std::io::stdout().lock();
        out.write_all(doc.as_bytes())?;
        out.flush()?;
    }
    result
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
