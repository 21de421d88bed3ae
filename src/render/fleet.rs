//! The summary of a fleet run: a table of clusters (text for a terminal, a
//! pull-request comment in Markdown with a `<details>` per cluster, and the
//! `schemaVersion: 1` JSON scripts read). Pure.

use std::fmt::Write as _;

use serde::Serialize;

use crate::fleet::apply::ApplyRow;
use crate::fleet::plan::{PlanRow, Planned};
use crate::fleet::report::Status;
use crate::model::untrusted::terminal;

/// GitHub refuses comments over 65,536 characters; this leaves room.
const LIMIT: usize = 60_000;

/// The counts over a run's rows.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FleetCounts {
    pub clusters: usize,
    pub planned: usize,
    pub failed: usize,
    pub with_changes: usize,
    pub with_errors: usize,
}

impl FleetCounts {
    /// The counts of `rows`.
    pub fn of(rows: &[PlanRow]) -> FleetCounts {
        let planned: Vec<&PlanRow> = rows
            .iter()
            .filter(|r| r.result == Planned::Planned)
            .collect();
        FleetCounts {
            clusters: rows.len(),
            planned: planned.len(),
            failed: rows.len() - planned.len(),
            with_changes: planned
                .iter()
                .filter(|r| r.add + r.change > 0 || r.mode_before != r.mode_after)
                .count(),
            with_errors: planned.iter().filter(|r| r.errors > 0).count(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary<'a> {
    schema_version: u32,
    command: &'a str,
    counts: FleetCounts,
    clusters: &'a [PlanRow],
}

/// The summary as pretty JSON with a trailing newline.
///
/// # Errors
/// When serde_json cannot write it.
pub fn json(rows: &[PlanRow]) -> Result<String, serde_json::Error> {
    let doc = Summary {
        schema_version: 1,
        command: "fleet plan",
        counts: FleetCounts::of(rows),
        clusters: rows,
    };
    let mut s = serde_json::to_string_pretty(&doc)?;
    s.push('\n');
    Ok(s)
}

/// `CONFIG_MAP -> API_AND_CONFIG_MAP`, `API` (unchanged), or `-`.
fn mode(r: &PlanRow) -> String {
    match (r.mode_before, r.mode_after) {
        (Some(a), Some(b)) if a != b => format!("{a} -> {b}"),
        (Some(a), _) => a.to_string(),
        _ => "-".into(),
    }
}

/// What became of the cluster, in a word or two.
fn result(r: &PlanRow) -> &'static str {
    match r.result {
        Planned::Failed => "FAILED",
        Planned::Planned if r.errors > 0 => "planned, errors",
        Planned::Planned => "planned",
    }
}

/// The one-line summary: "6 clusters: 5 planned (3 with changes, 1 with error findings), 1 failed."
pub fn headline(rows: &[PlanRow]) -> String {
    let c = FleetCounts::of(rows);
    format!(
        "{} clusters: {} planned ({} with changes, {} with error findings), {} failed.",
        c.clusters, c.planned, c.with_changes, c.with_errors, c.failed
    )
}

/// The summary table for a terminal, then the failures with their reasons.
pub fn text(rows: &[PlanRow]) -> String {
    let header = [
        "CLUSTER", "ACCOUNT", "REGION", "WAVE", "MODE", "ADD", "CHANGE", "ERRORS", "WARNINGS",
        "RESULT", "TIME",
    ];
    let mut lines = vec![header.map(String::from).to_vec()];
    // Names, accounts and regions were checked; the rest are ours.
    lines.extend(rows.iter().map(|r| {
        vec![
            r.at.cluster.clone(),
            r.at.account.clone(),
            r.at.region.clone(),
            r.at.wave.to_string(),
            mode(r),
            r.add.to_string(),
            r.change.to_string(),
            r.errors.to_string(),
            r.warnings.to_string(),
            result(r).into(),
            format!("{:.1}s", r.seconds),
        ]
    }));
    let mut o = columns(&lines);
    let _ = writeln!(o, "\n{}", headline(rows));
    for r in rows.iter().filter(|r| r.result == Planned::Failed) {
        let why = r.error.as_deref().unwrap_or("(no reason recorded)");
        let _ = writeln!(
            o,
            "  {} ({} {}): {}",
            r.at.cluster,
            r.at.account,
            r.at.region,
            terminal(why)
        );
    }
    o
}

/// A Markdown table cell: `|`, `<`, `>`, `&` and backticks as entities, and
/// line breaks as spaces, so no text can leave its cell.
fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("&#124;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '`' => out.push_str("&#96;"),
            '\\' => out.push_str("&#92;"),
            '*' | '_' | '[' | ']' | '@' | '#' | '~' => {
                let _ = write!(out, "&#{};", c as u32);
            }
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The summary as a pull-request comment: the table of clusters, then a
/// `<details>` per cluster with its text plan, each cut short to stay under
/// the comment limit (the run directory has every plan).
pub fn markdown(rows: &[PlanRow], plans: &[Option<String>]) -> String {
    let mut o = format!("### migrate-auth fleet plan\n\n**{}**\n\n", headline(rows));
    o.push_str("| cluster | account | region | wave | mode | add | change | errors | warnings | result |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&r.at.cluster),
            cell(&r.at.account),
            cell(&r.at.region),
            r.at.wave,
            cell(&mode(r)),
            r.add,
            r.change,
            r.errors,
            r.warnings,
            result(r)
        );
    }
    o.push('\n');
    let share = LIMIT.saturating_sub(o.len()) / rows.len().max(1);
    for (r, plan) in rows.iter().zip(plans) {
        let body = match (plan, &r.error) {
            (_, Some(e)) => format!("Not planned: {}\n", cell(e)),
            (Some(p), None) => fenced(p),
            (None, None) => String::new(),
        };
        let summary = format!(
            "<details><summary>{} ({} {}): {}</summary>\n\n",
            cell(&r.at.cluster),
            cell(&r.at.account),
            cell(&r.at.region),
            result(r)
        );
        let end = "\n</details>\n\n";
        if summary.len() + body.len() + end.len() <= share {
            let _ = write!(o, "{summary}{body}{end}");
        } else {
            let note = format!(
                "The plan is too long for this comment: `{}/plan.txt` in the run directory (save it as a CI artifact).\n",
                cell(&r.at.dir)
            );
            if summary.len() + note.len() + end.len() <= share {
                let _ = write!(o, "{summary}{note}{end}");
            }
        }
    }
    o
}

/// `text` in a code fence longer than any backtick run in it.
fn fenced(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}text\n{}\n{fence}\n", text.trim_end())
}

/// Pads `lines` (the first is the header) into columns.
fn columns(lines: &[Vec<String>]) -> String {
    let n = lines.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..n)
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut o = String::new();
    for l in lines {
        let padded: Vec<String> = l
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(o, "{}", padded.join("  ").trim_end());
    }
    o
}

/// "7 clusters: 5 done, 1 with nothing to do, 1 not started."
pub fn apply_headline(rows: &[ApplyRow]) -> String {
    let mut by: Vec<(&str, usize)> = Vec::new();
    for r in rows {
        match by.iter_mut().find(|(k, _)| *k == r.result) {
            Some((_, n)) => *n += 1,
            None => by.push((&r.result, 1)),
        }
    }
    let parts: Vec<String> = by.iter().map(|(k, n)| format!("{n} {k}")).collect();
    format!("{} clusters: {}.", rows.len(), parts.join(", "))
}

/// A fleet apply's summary for a terminal, then why each one that did not
/// succeed did not.
pub fn apply_text(rows: &[ApplyRow]) -> String {
    let mut lines = vec![[
        "CLUSTER", "ACCOUNT", "REGION", "WAVE", "MODE", "ADDED", "CHANGED", "LEFT", "RESULT",
        "TIME",
    ]
    .map(String::from)
    .to_vec()];
    for r in rows {
        let result = if r.earlier {
            format!("{} (earlier)", r.result)
        } else {
            r.result.clone()
        };
        lines.push(vec![
            r.at.cluster.clone(),
            r.at.account.clone(),
            r.at.region.clone(),
            r.at.wave.to_string(),
            r.mode_after
                .clone()
                .map_or("-".into(), |m| terminal(&m).into_owned()),
            r.added.to_string(),
            r.changed.to_string(),
            r.left_in_place.to_string(),
            result,
            format!("{:.1}s", r.seconds),
        ]);
    }
    let mut o = columns(&lines);
    let _ = writeln!(o, "\n{}", apply_headline(rows));
    for r in rows.iter().filter(|r| !r.succeeded()) {
        let why = r.error.as_deref().unwrap_or("(no reason recorded)");
        let _ = writeln!(
            o,
            "  {} ({} {}): {}",
            r.at.cluster,
            r.at.account,
            r.at.region,
            terminal(why)
        );
    }
    o
}

/// A fleet apply's summary as JSON (schemaVersion 1).
///
/// # Errors
/// When serde_json cannot write it.
pub fn apply_json(rows: &[ApplyRow]) -> Result<String, serde_json::Error> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Doc<'a> {
        schema_version: u32,
        command: &'a str,
        succeeded: usize,
        failed: usize,
        clusters: &'a [ApplyRow],
    }
    let succeeded = rows.iter().filter(|r| r.succeeded()).count();
    let mut s = serde_json::to_string_pretty(&Doc {
        schema_version: 1,
        command: "fleet apply",
        succeeded,
        failed: rows.len() - succeeded,
        clusters: rows,
    })?;
    s.push('\n');
    Ok(s)
}

/// A fleet apply's summary as Markdown: the table, then why each one that
/// did not succeed did not (cut to stay under the comment limit).
pub fn apply_markdown(rows: &[ApplyRow]) -> String {
    let mut o = format!(
        "### migrate-auth fleet apply\n\n**{}**\n\n",
        apply_headline(rows)
    );
    o.push_str("| cluster | account | region | wave | mode | added | changed | left | result |\n|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&r.at.cluster),
            cell(&r.at.account),
            cell(&r.at.region),
            r.at.wave,
            cell(r.mode_after.as_deref().unwrap_or("-")),
            r.added,
            r.changed,
            r.left_in_place,
            cell(&r.result)
        );
    }
    o.push('\n');
    for r in rows.iter().filter(|r| !r.succeeded()) {
        let line = format!(
            "- {} ({} {}): {}\n",
            cell(&r.at.cluster),
            cell(&r.at.account),
            cell(&r.at.region),
            cell(r.error.as_deref().unwrap_or("(no reason recorded)"))
        );
        if o.len() + line.len() > LIMIT {
            o.push_str("- (more not shown: see summary.json in the run directory)\n");
            break;
        }
        o.push_str(&line);
    }
    o
}

/// Where each cluster of a run is, for a terminal.
pub fn status_text(rows: &[Status]) -> String {
    let mut lines = vec![["CLUSTER", "ACCOUNT", "REGION", "WAVE", "STATE"]
        .map(String::from)
        .to_vec()];
    lines.extend(rows.iter().map(|r| {
        vec![
            r.at.cluster.clone(),
            r.at.account.clone(),
            r.at.region.clone(),
            r.at.wave.to_string(),
            r.state.clone(),
        ]
    }));
    let mut o = columns(&lines);
    for r in rows.iter().filter(|r| r.error.is_some()) {
        let why = r.error.as_deref().unwrap_or_default();
        let _ = writeln!(
            o,
            "  {} ({} {}): {}",
            r.at.cluster,
            r.at.account,
            r.at.region,
            terminal(why)
        );
    }
    o
}

/// Where each cluster of a run is, as JSON (schemaVersion 1).
///
/// # Errors
/// When serde_json cannot write it.
pub fn status_json(rows: &[Status]) -> Result<String, serde_json::Error> {
    let mut s = serde_json::to_string_pretty(&serde_json::json!({
        "schemaVersion": 1,
        "command": "fleet status",
        "clusters": rows,
    }))?;
    s.push('\n');
    Ok(s)
}
