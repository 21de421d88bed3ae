//! Renderers: turn a [`Plan`] into what people and scripts read. Pure: each
//! returns a `String`.
//!
//! - [`text`]: terraform-like, for a terminal (colour optional);
//! - [`json`]: the stable `schemaVersion: 1` contract for scripts;
//! - [`markdown`]: a pull-request comment;
//! - [`diff`]: what `apply` shows before it asks (steps, not a plan);
//! - [`run_result`]: the JSON result of `apply` and `rollback`;
//! - [`grouped`]: repeated findings as one line, for text and Markdown;
//! - [`cleanup`]: a plan's preview of `--cleanup-aws-auth`, in each format;
//! - [`fleet`]: the summary of a fleet run;
//! - [`export`]: the migration as code (Terraform).

pub(crate) mod cleanup;
pub mod diff;
pub mod export;
pub mod fleet;
mod grouped;
pub mod json;
pub mod markdown;
pub mod run_result;
pub mod text;

use crate::model::cluster::EksOwner;
use crate::model::entry::AccessPolicy;
use crate::planner::{Association, KnownFrom, Origin, Plan};

/// Output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

/// How the human plans look (JSON ignores it: it lists every finding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Colour the text plan.
    pub color: bool,
    /// Group repeated findings (`--findings-ungrouped` turns it off).
    pub grouped: bool,
}

/// Renders `plan` in `format`.
pub fn render(plan: &Plan, format: Format, style: Style) -> String {
    match format {
        Format::Text => text::render(plan, style),
        Format::Json => json::render(plan),
        Format::Markdown => markdown::render(plan, style.grouped),
    }
}

/// "account 111122223333 (from --account), partition aws (inferred ...)".
fn cluster_line(plan: &Plan) -> String {
    let c = &plan.cluster;
    let from = |k: KnownFrom, flag: &str| match k {
        KnownFrom::CurrentFile => "from the current-state file".to_string(),
        KnownFrom::Live => "from the cluster, read live".to_string(),
        KnownFrom::Flag => format!("from {flag}"),
        KnownFrom::Inferred => format!("inferred from aws-auth; give {flag} to be sure"),
    };
    format!(
        "account {} ({}), partition {} ({})",
        c.account_id.as_deref().unwrap_or("unknown"),
        from(c.account_from, "--account"),
        c.partition,
        from(c.partition_from, "--partition")
    )
}

/// "CONFIG_MAP, 0 access entries (assumed: no --current-file)".
fn current_line(plan: &Plan) -> String {
    let c = &plan.current;
    match &c.origin {
        Origin::Assumed => format!(
            "assumed {} with no access entries (no --current-file given)",
            c.mode
        ),
        Origin::File { file } => format!(
            "{}, {} access entr{} (from {file})",
            c.mode,
            c.entries.len(),
            if c.entries.len() == 1 { "y" } else { "ies" }
        ),
        Origin::Live { cluster, caller } => format!(
            "{}, {} access entr{} (read live from cluster {cluster} as {caller})",
            c.mode,
            c.entries.len() + c.undescribed.len(),
            if c.entries.len() + c.undescribed.len() == 1 {
                "y"
            } else {
                "ies"
            }
        ),
    }
}

fn policy_text(p: &AccessPolicy) -> String {
    format!("{} ({})", p.short_name(), p.access_scope)
}

fn association_text(a: &Association) -> String {
    match &a.previous_scope {
        None => policy_text(&a.policy),
        Some(prev) => format!(
            "{} ({} -> {})",
            a.policy.short_name(),
            prev,
            a.policy.access_scope
        ),
    }
}

fn owner_text(o: EksOwner) -> String {
    format!("created by EKS for {}", o.describe())
}

/// A principal as written, quoted when spaces around it would be invisible,
/// and safe for a terminal.
fn shown(principal: &str) -> String {
    if principal.trim() == principal {
        crate::model::untrusted::terminal(principal).into_owned()
    } else {
        format!("{principal:?}")
    }
}

/// `s` quoted as Rust's `{:?}` does, with what that leaves raw (bidi and
/// format characters) escaped too.
fn debug_quoted(s: &str) -> String {
    crate::model::untrusted::terminal(&format!("{s:?}")).into_owned()
}

fn quoted_list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|g| debug_quoted(g)).collect();
    format!("[{}]", inner.join(", "))
}

fn summary_line(plan: &Plan) -> String {
    let s = &plan.summary;
    format!(
        "Plan: {} to add, {} to change, {} to destroy.",
        s.add, s.change, s.destroy
    )
}

fn findings_line(plan: &Plan) -> String {
    let t = &plan.summary.findings;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    // The plan may list fewer than it counts (`plan --findings`).
    let not_shown = (t.errors + t.warnings + t.infos).saturating_sub(plan.findings.len());
    let tail = if not_shown == 0 {
        String::new()
    } else {
        format!(" ({not_shown} not shown; --findings error,warning,info lists them all)")
    };
    format!(
        "Findings: {}, {}, {} info{tail}.",
        plural(t.errors, "error"),
        plural(t.warnings, "warning"),
        t.infos
    )
}
