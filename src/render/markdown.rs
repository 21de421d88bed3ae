//! The plan as a pull-request comment: the summary first, a table of actions,
//! then the findings, errors first. Table cells are escaped.

use std::fmt::Write as _;

use super::{
    association_text, cluster_line, current_line, findings_line, owner_text, policy_text, shown,
    summary_line,
};
use crate::planner::{Action, Plan};

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn code(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!("`{}`", cell(s).replace('`', "'"))
    }
}

/// Renders the plan as GitHub-flavoured Markdown.
pub fn render(plan: &Plan) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "### migrate-auth plan for `{}`\n", plan.aws_auth_file);
    let headline = if plan.summary.has_changes() {
        summary_line(plan)
    } else {
        "No changes.".to_string()
    };
    let _ = writeln!(o, "**{headline}** {}\n", findings_line(plan));
    let _ = writeln!(o, "- Cluster: {}", cluster_line(plan));
    let _ = writeln!(o, "- Current state: {}", current_line(plan));
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
                code(&shown(a.principal())),
                kind,
                username,
                groups,
                cell(&policies),
                cell(&at)
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
                cell(&f.source.as_ref().map(|s| s.to_string()).unwrap_or_default()),
                cell(&f.message)
            );
        }
        o.push('\n');
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
