//! migrate-auth: moves an Amazon EKS cluster from the aws-auth ConfigMap to
//! access entries without changing who anyone is.
//!
//! The pure core turns files into a plan and has no I/O:
//! [`reader`] (aws-auth -> mappings), [`inputs`] (RBAC, IAM dumps, overrides,
//! current state), [`mapper`] (mappings -> desired entries + findings),
//! [`planner`] (desired vs current -> actions) and [`render`] (plan -> text,
//! JSON, Markdown). The edges live in `main.rs` and [`cli`] (flags -> checked
//! settings, files, exit status).

pub mod apply;
pub mod cli;
pub mod commands;
pub mod inputs;
pub mod live;
pub mod mapper;
pub mod migrate;
pub mod model;
pub mod pipeline;
pub mod planner;
pub mod reader;
pub mod render;
pub mod yaml;

use crate::inputs::iam::IamDump;
use crate::inputs::overrides::Overrides;
use crate::planner::{ClusterFacts, Current, KnownFrom, Plan};

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
    Ok(planner::plan(file, facts, mapped, Current::assumed()))
}
