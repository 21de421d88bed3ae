//! The apply pipeline's engine, and the only place that changes a cluster:
//! [`run`] makes a run's steps, [`undo`] undoes recorded changes (after a
//! failure, or for `rollback`), [`change`] holds each kind of change with its
//! observe, make and undo side by side, [`journal`] is the write-ahead
//! journal every change is recorded in before it is made (`group`: its
//! syncs shared by concurrent lanes), [`lanes`] orders
//! and runs steps concurrently, one lane per principal, and [`report`] says
//! what happened to each change; [`progress`] says it while it happens.
//!
//! Mode switches and the aws-auth edit run alone, in order. Between them, the
//! entry steps run in lanes, `concurrency` lanes at a time. After a failure
//! no new step starts; the steps under way finish and are journaled, then
//! everything the run made is undone.

pub mod change;
mod group;
pub mod journal;
mod lanes;
pub mod lock;
pub mod progress;
pub mod report;
pub mod run;
pub mod undo;

pub use report::Report;
pub use run::{apply, RunOptions, Stopped};
pub use undo::{blocked, undo, undo_mode, UndoMode};
