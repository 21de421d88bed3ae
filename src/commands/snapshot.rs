//! `migrate-auth snapshot`: read a live cluster and write its current access
//! configuration as the JSON `plan --current-file` reads, and optionally its
//! aws-auth and RBAC, for an offline review later.

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result};

use super::Outcome;
use crate::cli::SnapshotSettings;
use crate::model::untrusted::terminal;
use crate::pipeline::runtime;

/// Runs `snapshot`.
///
/// # Errors
/// When the cluster cannot be read or a file cannot be written.
pub fn run(s: &SnapshotSettings) -> Result<Outcome> {
    let g = runtime()?.block_on(crate::live::gather(&s.live))?;
    let mut json = serde_json::to_string_pretty(&g.state).context("serialising the state")?;
    json.push('\n');
    match &s.out {
        Some(path) => write(path, json.as_bytes())?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(json.as_bytes())?;
            out.flush()?;
        }
    }
    if let Some(path) = &s.aws_auth_out {
        let text = g
            .aws_auth_yaml
            .unwrap_or_else(|| crate::live::EMPTY_AWS_AUTH.to_string());
        write(path, text.as_bytes())?;
    }
    if let Some(path) = &s.rbac_out {
        write(path, g.rbac_json.as_bytes())?;
    }
    if let Some(path) = &s.iam_out {
        let mut json = serde_json::to_string_pretty(&g.iam.found_as_json())?;
        json.push('\n');
        write(path, json.as_bytes())?;
    }
    let what = [
        ("the current state", &s.out),
        ("aws-auth", &s.aws_auth_out),
        ("the RBAC bindings", &s.rbac_out),
        ("what IAM said", &s.iam_out),
    ];
    let written: Vec<String> = what
        .iter()
        .filter_map(|(w, p)| {
            p.as_ref()
                .map(|p| format!("{w} to {}", terminal(&p.display().to_string())))
        })
        .collect();
    if !written.is_empty() {
        let n = g.state.access_entries.len();
        // A lost note must not fail the snapshot.
        let _ = writeln!(
            std::io::stderr(),
            "Wrote, for cluster {} ({n} access entr{}, {} mode): {}.",
            terminal(&g.state.cluster.name),
            if n == 1 { "y" } else { "ies" },
            g.state.cluster.authentication_mode,
            written.join("; ")
        );
    }
    Ok(Outcome::Done { changes: false })
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::private::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
