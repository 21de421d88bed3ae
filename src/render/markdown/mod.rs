//! The plan as a pull-request comment: the headline and a summary table
//! (the mode change, principals per action kind, findings per severity),
//! then a folded `<details>` section per action kind with one row per
//! principal ([`rows`]), then the findings (open; alike ones grouped). The
//! comment stays under [`LIMIT`] characters ([`budget`]): a table cut short
//! says how many rows it leaves out and where the full plan is.
//!
//! No value can leave its cell: values are code spans fenced with more
//! backticks than they hold ([`code`]), so they show exactly as written, and
//! text that carries values is escaped ([`text`]) so that no HTML, link,
//! image, heading, mention or line break comes from input. Section
//! summaries hold our words only.

use std::fmt::Write as _;

mod budget;
mod rows;

pub(crate) use budget::LIMIT;

use super::grouped::{self, Group, Listed};
use super::{cluster_line, current_line, findings_line, summary_line};
use crate::model::finding::{Finding, Tally};
use crate::model::untrusted::terminal;
use crate::planner::Plan;

/// `s` as plain text in a line or a table cell: controls shown as `\u{..}`,
/// the characters that start Markdown syntax backslash-escaped (no code
/// span, emphasis, link, image, HTML, entity or cell break can start; a line
/// break cannot occur, so neither can a heading), and an invisible break
/// after `@` and `#`, in `://` and in `www.`, where GitHub would otherwise
/// make a mention, an issue reference or a link of plain text.
fn text(s: &str) -> String {
    let s = terminal(s);
    let mut out = String::with_capacity(s.len() + 16);
    for (i, c) in s.char_indices() {
        if MARKUP.contains(c) {
            out.push('\\');
        }
        out.push(c);
        let rest = &s[i + c.len_utf8()..];
        let www = c.eq_ignore_ascii_case(&'w')
            && s[..i].to_ascii_lowercase().ends_with("ww")
            && rest.starts_with('.');
        if c == '@' || c == '#' || (c == ':' && rest.starts_with("//")) || www {
            out.push_str(ZERO_WIDTH_SPACE);
        }
    }
    out
}

/// The characters that start Markdown (and GitHub table) syntax.
const MARKUP: &str = "\\`*_[]<>&|!~";

/// An invisible break GitHub does not link or mention across.
const ZERO_WIDTH_SPACE: &str = "&#8203;";

/// `s` as a code span in a table cell: controls shown as `\u{..}`, pipes
/// escaped (GitHub splits cells before it reads code spans), and a fence of
/// one backtick more than the longest run inside, padded when the value
/// starts or ends with a backtick or a space.
fn code(s: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    let s = terminal(s).replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') || (s.starts_with(' ') && s.ends_with(' '))
    {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// Renders the plan as GitHub-flavoured Markdown, under [`LIMIT`]
/// characters; `grouped`: alike findings as one row.
pub fn render(plan: &Plan, grouped: bool) -> String {
    let mut o = head(plan);
    let sections = sections(plan, grouped);
    let cleanup = cleanup(plan);
    let fixed: usize =
        o.len() + cleanup.len() + sections.iter().map(Section::fixed_len).sum::<usize>();
    let sizes: Vec<usize> = sections.iter().map(Section::rows_len).collect();
    let shares = budget::shares(&sizes, LIMIT.saturating_sub(fixed));
    for (s, share) in sections.iter().zip(shares) {
        s.write(&mut o, budget::fitting(&s.rows, share));
    }
    o.push_str(&cleanup);
    o
}

/// The preview of `--cleanup-aws-auth`, if asked for: the diff, or, when it
/// would take more than a quarter of the comment, where to read it.
fn cleanup(plan: &Plan) -> String {
    let Some(c) = &plan.aws_auth_cleanup else {
        return String::new();
    };
    let md = super::cleanup::markdown(c);
    if md.len() <= LIMIT / 4 {
        return md;
    }
    format!(
        "**aws-auth after the cleanup:** the diff ({} characters) is too long for this comment; `migrate-auth plan --cleanup-aws-auth -o text` (saved as a CI artifact) shows it.\n\n",
        md.len()
    )
}

/// The title, the headline, the cluster and the summary table.
fn head(plan: &Plan) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "### migrate-auth plan for {}\n",
        code(&plan.aws_auth_file)
    );
    let headline = if plan.summary.has_changes() {
        summary_line(plan)
    } else {
        "No changes.".to_string()
    };
    let _ = writeln!(o, "**{headline}** {}\n", findings_line(plan));
    let _ = writeln!(o, "- Cluster: {}", text(&cluster_line(plan)));
    let _ = writeln!(o, "- Current state: {}\n", text(&current_line(plan)));
    o.push_str("| Plan | |\n|---|---|\n");
    let mode = match &plan.mode_change {
        Some(m) => format!("`{}` -> `{}`", m.from, m.to),
        None => format!("`{}` (unchanged)", plan.current.mode),
    };
    let _ = writeln!(o, "| authentication mode | {mode} |");
    let tables = rows::tables(plan);
    for kind in rows::KINDS {
        let count = tables
            .iter()
            .find(|t| t.kind == kind)
            .map_or("0".to_string(), principals);
        let _ = writeln!(o, "| {kind} | {count} |");
    }
    let t = &plan.summary.findings;
    for (severity, n) in [
        ("error", t.errors),
        ("warning", t.warnings),
        ("info", t.infos),
    ] {
        let _ = writeln!(o, "| {severity} findings | {n} |");
    }
    o.push('\n');
    o
}

/// "3", or "1 (2 mappings)" when rows were folded.
fn principals(t: &rows::Table) -> String {
    if t.actions == t.rows.len() {
        t.rows.len().to_string()
    } else {
        format!("{} ({} mappings)", t.rows.len(), t.actions)
    }
}

/// A `<details>` section holding one table.
struct Section {
    /// Our words only: nothing from input.
    summary: String,
    open: bool,
    /// The header and delimiter rows, with their line breaks.
    header: String,
    rows: Vec<String>,
}

/// The most a "rows not shown" note takes.
const NOTE_MAX: usize = 300;

impl Section {
    fn new(summary: String, open: bool, columns: &[&str], rows: Vec<String>) -> Section {
        let header = format!(
            "| {} |\n|{}\n",
            columns.join(" | "),
            "---|".repeat(columns.len())
        );
        Section {
            summary,
            open,
            header,
            rows,
        }
    }

    /// What the section takes besides its rows (a note included).
    fn fixed_len(&self) -> usize {
        let mut o = String::new();
        self.write(&mut o, 0);
        o.len() + NOTE_MAX
    }

    fn rows_len(&self) -> usize {
        self.rows.iter().map(|r| r.len() + 1).sum()
    }

    /// Writes the section with its first `shown` rows, and a note saying
    /// how many were left out and where the full plan is.
    fn write(&self, o: &mut String, shown: usize) {
        let open = if self.open { " open" } else { "" };
        let _ = write!(
            o,
            "<details{open}><summary>{}</summary>\n\n{}",
            self.summary, self.header
        );
        for r in &self.rows[..shown] {
            o.push_str(r);
            o.push('\n');
        }
        let left = self.rows.len() - shown;
        if left > 0 {
            let _ = write!(
                o,
                "\n{left} more rows not shown: this comment stays under {},{:03} characters. The full plan is `migrate-auth plan -o json` (or `-o text`) with the same options, saved as a CI artifact.\n",
                LIMIT / 1000,
                LIMIT % 1000
            );
        }
        o.push_str("\n</details>\n\n");
    }
}

/// A section per action kind, then the findings (open).
fn sections(plan: &Plan, grouped: bool) -> Vec<Section> {
    let mut out: Vec<Section> = rows::tables(plan)
        .into_iter()
        .map(|t| {
            let n = t.rows.len();
            let noun = if n == 1 { "principal" } else { "principals" };
            let folded = if t.actions == n {
                String::new()
            } else {
                format!(" ({} mappings)", t.actions)
            };
            let summary = format!("{}: {n} {noun}{folded}", t.kind);
            Section::new(summary, false, rows::header(t.kind), t.rows)
        })
        .collect();
    if !plan.findings.is_empty() {
        let rows: Vec<String> = grouped::listed(&plan.findings, grouped)
            .into_iter()
            .map(|l| match l {
                Listed::One(f) => finding_row(f),
                Listed::Group(g) => group_row(&g),
            })
            .collect();
        let t = Tally::of(&plan.findings);
        let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
        let summary = format!(
            "findings: {}, {}, {} info",
            plural(t.errors, "error"),
            plural(t.warnings, "warning"),
            t.infos
        );
        let columns = ["Severity", "Code", "Principal", "Source", "Message"];
        out.push(Section::new(summary, true, &columns, rows));
    }
    out
}

/// A findings row: severity, code, principal, source, message.
fn finding_row(f: &Finding) -> String {
    format!(
        "| {} | `{}` | {} | {} | {} |",
        f.severity,
        f.code,
        code(f.principal_arn.as_deref().unwrap_or_default()),
        text(&f.source.as_ref().map(|s| s.to_string()).unwrap_or_default()),
        text(&f.message)
    )
}

/// A grouped findings row: severity, code, a few principals, the first
/// source, then the count, the flag and the messages.
fn group_row(g: &Group<'_>) -> String {
    let (examples, more) = g.examples();
    let mut principals: Vec<String> = examples.iter().map(|p| code(p)).collect();
    if more > 0 {
        principals.push(format!("and {more} more"));
    }
    let first = g.members.iter().find_map(|f| f.source.as_ref());
    let source = first.map_or(String::new(), |s| {
        format!("{} and others", text(&s.to_string()))
    });
    let said = g.messages().lines(text);
    format!(
        "| {} | `{}` | {} | {} | **{}**<br>{} |",
        g.severity,
        g.code,
        principals.join(", "),
        source,
        text(&g.headline()),
        said.join("<br>")
    )
}
