//! The summary of a fleet run: a table of clusters (text for a terminal, a
//! pull-request comment in Markdown with a `<details>` per cluster, and the
//! `schemaVersion: 1` JSON scripts read). Pure.

use std::fmt::Write as _;

use serde::Serialize;

use crate::fleet::apply::ApplyRow;
use crate::fleet::plan::{PlanRow, Planned};
use crate::fleet::report::Status;
use crate::model::cluster::AuthMode;
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

/// A plan row's mode (see [`mode_change`]).
fn mode(r: &PlanRow) -> String {
    mode_change(
        r.mode_before.map(AuthMode::as_str),
        r.mode_after.map(AuthMode::as_str),
    )
}

/// `CONFIG_MAP -> API_AND_CONFIG_MAP`, the one mode when it did not move (or
/// only one is known), or `-`.
fn mode_change(before: Option<&str>, after: Option<&str>) -> String {
    match (before, after) {
        (Some(a), Some(b)) if a != b => format!("{a} -> {b}"),
        (_, Some(m)) | (Some(m), None) => m.to_string(),
        (None, None) => "-".into(),
    }
}

/// An apply row's mode (see [`mode_change`]).
fn apply_mode(r: &ApplyRow) -> String {
    mode_change(r.mode_before.as_deref(), r.mode_after.as_deref())
}

/// A count the row may not know (no plan): the number, or `-`.
fn known(n: Option<u64>) -> String {
    n.map_or("-".into(), |n| n.to_string())
}

/// What became of the cluster, in a word or two.
fn result(r: &PlanRow) -> &'static str {
    match r.result {
        Planned::Failed => "FAILED",
        Planned::Planned if r.errors > 0 => "planned, errors",
        Planned::Planned => "planned",
    }
}

/// "1 cluster", "3 clusters".
fn clusters(n: usize) -> String {
    if n == 1 {
        "1 cluster".into()
    } else {
        format!("{n} clusters")
    }
}

/// The one-line summary: "6 clusters: 5 planned (3 with changes, 1 with error findings), 1 failed."
pub fn headline(rows: &[PlanRow]) -> String {
    let c = FleetCounts::of(rows);
    format!(
        "{}: {} planned ({} with changes, {} with error findings), {} failed.",
        clusters(c.clusters),
        c.planned,
        c.with_changes,
        c.with_errors,
        c.failed
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
            terminal(&r.at.cluster).into_owned(),
            terminal(&r.at.account).into_owned(),
            terminal(&r.at.region).into_owned(),
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
    let lines: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} {} | {} | {} | {} | {} | {} |\n",
                place_cells(&r.at),
                cell(&mode(r)),
                r.add,
                r.change,
                r.errors,
                r.warnings,
                result(r)
            )
        })
        .collect();
    o.push_str(&table(
        "| cluster | account | region | wave | mode | add | change | errors | warnings | result |\n|---|---|---|---|---|---|---|---|---|---|\n",
        &lines,
        LIMIT / 2,
    ));
    let share = LIMIT.saturating_sub(o.len()) / rows.len().max(1);
    let mut left_out = 0;
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
        let note = format!(
            "The plan is too long for this comment: `{}/plan.txt` in the run directory (save it as a CI artifact).\n",
            cell(&r.at.dir)
        );
        if summary.len() + body.len() + end.len() <= share {
            let _ = write!(o, "{summary}{body}{end}");
        } else if summary.len() + note.len() + end.len() <= share {
            let _ = write!(o, "{summary}{note}{end}");
        } else {
            left_out += 1;
        }
    }
    if left_out > 0 {
        let _ = writeln!(o, "{left_out} clusters' plans are not shown here: each is `ACCOUNT/REGION/NAME/plan.txt` in the run directory (save it as a CI artifact).");
    }
    o
}

/// `header` and as many of `lines` as fit in `budget` characters, then a
/// line saying how many were left out and where they are.
fn table(header: &str, lines: &[String], budget: usize) -> String {
    let mut o = header.to_string();
    let mut shown = 0;
    // Room for the closing line saying what was left out.
    let room = budget.saturating_sub(200);
    for l in lines {
        if o.len() + l.len() > room {
            break;
        }
        o.push_str(l);
        shown += 1;
    }
    o.push('\n');
    if shown < lines.len() {
        let _ = writeln!(
            o,
            "{} more clusters are not shown: `summary.json` in the run directory has them all.\n",
            lines.len() - shown
        );
    }
    o
}

/// A row's first cells: `| cluster | account | region | wave |`.
fn place_cells(at: &crate::fleet::Place) -> String {
    format!(
        "| {} | {} | {} | {} |",
        cell(&at.cluster),
        cell(&at.account),
        cell(&at.region),
        at.wave
    )
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
    let parts: Vec<String> = by
        .iter()
        .map(|(k, n)| format!("{n} {}", terminal(k)))
        .collect();
    format!("{}: {}.", clusters(rows.len()), parts.join(", "))
}

/// A fleet apply's summary for a terminal, then why each one that did not
/// succeed did not.
pub fn apply_text(rows: &[ApplyRow]) -> String {
    let mut lines = vec![[
        "CLUSTER", "ACCOUNT", "REGION", "WAVE", "MODE", "ADDED", "CHANGED", "LEFT", "ERRORS",
        "WARNINGS", "RESULT", "TIME",
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
            terminal(&r.at.cluster).into_owned(),
            terminal(&r.at.account).into_owned(),
            terminal(&r.at.region).into_owned(),
            r.at.wave.to_string(),
            terminal(&apply_mode(r)).into_owned(),
            r.added.to_string(),
            r.changed.to_string(),
            r.left_in_place.to_string(),
            known(r.errors),
            known(r.warnings),
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
    apply_json_of("fleet apply", rows)
}

/// [`apply_json`] for `command` (`fleet apply`, `fleet rollback`).
///
/// # Errors
/// When serde_json cannot write it.
pub fn apply_json_of(command: &str, rows: &[ApplyRow]) -> Result<String, serde_json::Error> {
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
        command,
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
    apply_markdown_of("fleet apply", rows)
}

/// [`apply_markdown`] for `command` (`fleet apply`, `fleet rollback`): the
/// clusters that did not succeed first, with why, then the table, each cut
/// to stay under the comment limit.
pub fn apply_markdown_of(command: &str, rows: &[ApplyRow]) -> String {
    let mut o = format!(
        "### migrate-auth {command}\n\n**{}**\n\n",
        apply_headline(rows)
    );
    let failed: Vec<String> = rows
        .iter()
        .filter(|r| !r.succeeded())
        .map(|r| {
            format!(
                "- {} ({} {}): {}: {}\n",
                cell(&r.at.cluster),
                cell(&r.at.account),
                cell(&r.at.region),
                cell(&r.result),
                cell(r.error.as_deref().unwrap_or("(no reason recorded)"))
            )
        })
        .collect();
    for (i, line) in failed.iter().enumerate() {
        if o.len() + line.len() > LIMIT / 2 {
            let _ = writeln!(
                o,
                "- and {} more: see `summary.json` in the run directory",
                failed.len() - i
            );
            break;
        }
        o.push_str(line);
    }
    o.push('\n');
    let lines: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} {} | {} | {} | {} | {} | {} | {} |\n",
                place_cells(&r.at),
                cell(&apply_mode(r)),
                r.added,
                r.changed,
                r.left_in_place,
                known(r.errors),
                known(r.warnings),
                cell(&r.result)
            )
        })
        .collect();
    let budget = LIMIT.saturating_sub(o.len());
    o.push_str(&table(
        "| cluster | account | region | wave | mode | added | changed | left | errors | warnings | result |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
        &lines,
        budget,
    ));
    o
}

/// Where each cluster of a run is, for a terminal. A run directory's files
/// are untrusted: every value is escaped.
pub fn status_text(rows: &[Status]) -> String {
    let mut lines = vec![["CLUSTER", "ACCOUNT", "REGION", "WAVE", "STATE"]
        .map(String::from)
        .to_vec()];
    lines.extend(rows.iter().map(|r| {
        vec![
            terminal(&r.at.cluster).into_owned(),
            terminal(&r.at.account).into_owned(),
            terminal(&r.at.region).into_owned(),
            r.at.wave.to_string(),
            terminal(&r.state).into_owned(),
        ]
    }));
    let mut o = columns(&lines);
    for r in rows.iter().filter(|r| r.error.is_some()) {
        let why = r.error.as_deref().unwrap_or_default();
        let _ = writeln!(
            o,
            "  {} ({} {}): {}",
            terminal(&r.at.cluster),
            terminal(&r.at.account),
            terminal(&r.at.region),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::Place;

    fn place(i: usize) -> Place {
        Place {
            cluster: format!("cluster-with-a-long-name-{i:04}"),
            account: "111122223333".into(),
            region: "ap-southeast-2".into(),
            wave: 1,
            arn: format!("arn:aws:eks:ap-southeast-2:111122223333:cluster/c-{i}"),
            dir: format!("111122223333/ap-southeast-2/cluster-with-a-long-name-{i:04}"),
        }
    }

    #[test]
    fn a_thousand_clusters_stay_under_the_comment_limit() {
        let plans: Vec<PlanRow> = (0..1000)
            .map(|i| PlanRow {
                at: place(i),
                result: Planned::Planned,
                mode_before: None,
                mode_after: None,
                add: 3,
                change: 1,
                errors: 0,
                warnings: 2,
                infos: 0,
                error: None,
                seconds: 1.0,
            })
            .collect();
        let texts = vec![Some("x\n".repeat(200)); 1000];
        let md = markdown(&plans, &texts);
        assert!(md.len() < LIMIT, "{}", md.len());
        assert!(md.contains("more clusters are not shown"), "{md}");
        let mut applied: Vec<ApplyRow> = (0..1000)
            .map(|i| ApplyRow {
                at: place(i),
                result: "done".into(),
                exit_code: Some(0),
                earlier: false,
                mode_before: Some("CONFIG_MAP".into()),
                mode_after: Some("API_AND_CONFIG_MAP".into()),
                added: 3,
                changed: 0,
                left_in_place: 0,
                errors: Some(0),
                warnings: Some(2),
                error: None,
                seconds: 1.0,
            })
            .collect();
        applied[999].result = "rolledBack".into();
        applied[999].error = Some("the 1000th failed | <b>why</b>".into());
        let md = apply_markdown(&applied);
        assert!(md.len() < LIMIT, "{}", md.len());
        // The failure is said first, escaped, whatever is cut.
        let failure = md.find("cluster-with-a-long-name-0999 (").unwrap();
        assert!(failure < md.find("| cluster |").unwrap(), "{md}");
        assert!(md.contains("&#124; &lt;b&gt;why&lt;/b&gt;"), "{md}");
    }
}
