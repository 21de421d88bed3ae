//! migrate-auth: moves an Amazon EKS cluster from the aws-auth ConfigMap to
//! access entries without changing who anyone is.
//!
//! Two pipelines, each run end to end by a library function in [`pipeline`]:
//!
//! - **plan** (pure: no I/O, no async): aws-auth -> `reader` (the mappings,
//!   exactly as aws-iam-authenticator reads them; YAML only through `yaml`)
//!   -> `mapper` (desired entries and findings, with `inputs`: RBAC, IAM
//!   dumps, overrides, the current state) -> `planner` (desired vs current:
//!   actions) -> `render` (text, JSON, Markdown, the apply diff).
//! - **apply**: a plan -> `migrate` (the ordered steps, each with its undo,
//!   the lockout guard, the saved plan file; pure) -> `apply` (observe,
//!   journal, make, undo: the only code that changes a cluster) -> a report.
//!   `rollback` undoes a journal's changes through `apply` too.
//! - **fleet**: many clusters in one run (`fleet`), each through exactly the
//!   single-cluster pipeline, with a run directory and a summary.
//!
//! `model` holds the domain types both pipelines share; `live` holds the AWS
//! and Kubernetes clients and reads a cluster into the plan's inputs. The
//! edges are `main.rs` (exit codes), [`cli`] (flags -> checked settings) and
//! [`commands`] (files, the terminal, prompts). Dependencies point from the
//! edges down to `model`, never back up. The rules and facts the code cites
//! are in `docs/` (MAPPING.md, DOMAIN.md, CONTRACTS.md).

pub(crate) mod apply;
pub mod cli;
pub mod commands;
pub(crate) mod fleet;
pub(crate) mod inputs;
pub(crate) mod live;
pub(crate) mod mapper;
pub(crate) mod migrate;
pub(crate) mod model;
pub(crate) mod pipeline;
pub(crate) mod planner;
pub(crate) mod private;
pub(crate) mod reader;
pub(crate) mod render;
pub(crate) mod yaml;

pub use mapper::Options;
pub use planner::Plan;
pub use reader::ReadError;
pub use render::{render, Format, Style};

/// `text` made safe for a terminal (what could move the cursor, erase or
/// reorder is escaped), its line breaks kept: for the binary's error messages.
pub fn safe_for_terminal(text: &str) -> String {
    model::untrusted::terminal_lines(text)
}

use crate::inputs::iam::IamDump;
use crate::inputs::overrides::Overrides;
use crate::planner::{ClusterFacts, Current, KnownFrom};

/// Plans an aws-auth file with no other input: the cluster's account and
/// partition are inferred, the current state is assumed (`CONFIG_MAP`, no
/// entries). For benchmarks and fuzzing; `migrate-auth plan` adds the options.
///
/// # Errors
/// A [`reader::ReadError`] when `bytes` hold no readable aws-auth ConfigMap.
pub fn plan_aws_auth_only(
    file: &str,
    bytes: &[u8],
    options: mapper::Options,
) -> Result<Plan, reader::ReadError> {
    let aws_auth = reader::read(file, bytes)?;
    let (cluster, _) = mapper::infer_cluster(&aws_auth);
    let ctx = mapper::Context {
        cluster: &cluster,
        rbac: None,
        iam: &IamDump::default(),
        overrides: &Overrides::default(),
        options,
    };
    let mapped = mapper::map(&aws_auth, &ctx);
    let facts = ClusterFacts::new(&cluster, KnownFrom::Inferred, KnownFrom::Inferred);
    Ok(planner::plan(
        file,
        facts,
        mapped,
        Current::assumed(),
        planner::Existing::Update,
    ))
}
