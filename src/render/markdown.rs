//! The plan as a pull-request comment: the summary first, a table of actions,
//! then the findings, errors first. No value can leave its cell: values are
//! code spans fenced with more backticks than they hold ([`code`]), and text
//! that carries values is escaped ([`text`]) so that no HTML, link, image,
//! heading, mention or line break comes from input.

use std::fmt::Write as _;

use super::{
    association_text, cluster_line, current_line, findings_line, owner_text, policy_text,
    summary_line,
};
use crate::model::untrusted::terminal;
use crate::planner::{Action, Plan};

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

/// Renders the plan as GitHub-flavoured Markdown.
pub fn render(plan: &Plan) -> String {
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
    let _ = writeln!(o, "- Current state: {}", text(&current_line(plan)));
    if let Some(m) = &plan.mode_change {
        let _ = writeln!(o, "- Authentication mode: `{}` -> `{}`", m.from, m.to);
    }
    o.push('\n');

    if !plan.actions.is_empty() {
        o.push_str("| Action | Principal | Type | Username | Groups | Policies | Source |\n");
        o.push_str("|---|---|---|---|---|---|---|\n");
        for a in &plan.actions {
            let (kind, username, groups, policies) = columns(a);
            let mut at = a.source().to_string();
            if let Some(o) = a.overridden_by() {
                at.push_str(&format!("; override {o}"));
            }
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} |",
                a.name(),
                code(a.principal()),
                kind,
                username,
                groups,
                text(&policies),
                text(&at)
            );
        }
        o.push('\n');
    }

    if !plan.findings.is_empty() {
        o.push_str("#### Findings\n\n");
        o.push_str("| Severity | Code | Principal | Source | Message |\n");
        o.push_str("|---|---|---|---|---|\n");
        for f in &plan.findings {
            let _ = writeln!(
                o,
                "| {} | `{}` | {} | {} | {} |",
                f.severity,
                f.code,
                code(f.principal_arn.as_deref().unwrap_or_default()),
                text(&f.source.as_ref().map(|s| s.to_string()).unwrap_or_default()),
                text(&f.message)
            );
        }
        o.push('\n');
    }
    if let Some(c) = &plan.aws_auth_cleanup {
        o.push_str(&super::cleanup::markdown(c));
    }
    o
}

/// Type, username, groups and policies columns of one action.
fn columns(a: &Action) -> (String, String, String, String) {
    let groups = |g: &[String]| g.iter().map(|x| code(x)).collect::<Vec<_>>().join(", ");
    match a {
        Action::Create {
            entry_type,
            username,
            kubernetes_groups,
            associate,
            ..
        } => (
            entry_type.to_string(),
            username.as_deref().map_or("(EKS default)".into(), code),
            groups(kubernetes_groups),
            associate
                .iter()
                .map(|p| policy_text(&p.policy))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        Action::Update {
            username,
            kubernetes_groups,
            associate,
            ..
        } => (
            String::new(),
            username.as_ref().map_or(String::new(), |c| {
                format!(
                    "{} -> {}",
                    code(c.from.as_deref().unwrap_or("(none)")),
                    code(c.to.as_deref().unwrap_or("(none)"))
                )
            }),
            kubernetes_groups.as_ref().map_or(String::new(), |c| {
                format!("{} -> {}", groups(&c.from), groups(&c.to))
            }),
            associate
                .iter()
                .map(association_text)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        Action::Associate { associate, .. } => (
            String::new(),
            String::new(),
            String::new(),
            associate
                .iter()
                .map(association_text)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        Action::Adopt {
            eks_owned, kept, ..
        } => (
            String::new(),
            String::new(),
            String::new(),
            match (kept, eks_owned) {
                (true, _) => "kept as it is, with --keep-existing-entries".to_string(),
                (false, Some(o)) => owner_text(*o),
                (false, None) => "already as planned".to_string(),
            },
        ),
        Action::None { reason, .. } => {
            (String::new(), String::new(), String::new(), reason.clone())
        }
    }
}
