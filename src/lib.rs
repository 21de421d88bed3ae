//! migrate-auth: moves an Amazon EKS cluster from the aws-auth ConfigMap to
//! access entries without changing who anyone is.
//!
//! The pure core turns files into a plan and has no I/O:
//! [`reader`] (aws-auth -> mappings), [`inputs`] (RBAC, IAM dumps, overrides,
//! current state), [`mapper`] (mappings -> desired entries + findings),
//! [`planner`] (desired vs current -> actions) and [`render`] (plan -> text,
//! JSON, Markdown). The edges live in `main.rs` and [`cli`] (flags -> checked
//! settings, files, exit status).

pub mod arn;
pub mod cli;
pub mod commands;
pub mod entry;
pub mod finding;
pub mod inputs;
pub mod mapper;
pub mod planner;
pub mod reader;
pub mod render;
pub mod yaml;
