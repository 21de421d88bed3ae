//! The human plan, modelled on `terraform plan`: a legend of the symbols used,
//! one block per principal, the findings (repeated ones grouped, see
//! [`super::grouped`]), and the `Plan:` line ("No changes."
//! when there are none). Colour only when asked for (a terminal without NO_COLOR).

use std::fmt::Write as _;

use super::grouped::{self, Group, Listed};
use super::{
    association_text, cluster_line, current_line, debug_quoted, findings_line, owner_text,
    policy_text, quoted_list, shown, summary_line, Style,
};
use crate::model::finding::{Code, Finding, Severity};
use crate::model::untrusted::terminal as safe;
use crate::planner::{Action, Change, Plan};

#[derive(Clone, Copy)]
enum Paint {
    Green,
    Yellow,
    Red,
    Dim,
    Bold,
}

struct Out {
    color: bool,
    buf: String,
}

impl Out {
    fn paint(&self, p: Paint, s: &str) -> String {
        if !self.color {
            return s.to_string();
        }
        let code = match p {
            Paint::Green => "32",
            Paint::Yellow => "33",
            Paint::Red => "31",
            Paint::Dim => "2",
            Paint::Bold => "1",
        };
        format!("\x1b[{code}m{s}\x1b[0m")
    }

    fn line(&mut self, s: impl AsRef<str>) {
        self.buf.push_str(s.as_ref());
        self.buf.push('\n');
    }
}

fn symbol(a: &Action) -> (&'static str, Paint) {
    match a {
        Action::Create { .. } => ("+", Paint::Green),
        Action::Update { .. } | Action::Associate { .. } => ("~", Paint::Yellow),
        Action::Adopt { .. } => ("=", Paint::Dim),
        Action::None {
            severity: Severity::Error,
            ..
        } => ("!", Paint::Red),
        Action::None { .. } => ("!", Paint::Yellow),
    }
}

/// Renders the plan for a terminal.
pub fn render(plan: &Plan, style: Style) -> String {
    let Style { color, grouped } = style;
    let mut o = Out {
        color,
        buf: String::new(),
    };
    o.line(format!("aws-auth: {}", safe(&plan.aws_auth_file)));
    o.line(format!("Cluster: {}", safe(&cluster_line(plan))));
    o.line(format!("Current state: {}", safe(&current_line(plan))));
    o.line("");

    legend(&mut o, plan);

    if plan.summary.has_changes() || !plan.actions.is_empty() {
        o.line("migrate-auth will perform the following actions:");
        o.line("");
    }
    if let Some(m) = &plan.mode_change {
        let s = o.paint(Paint::Yellow, "~");
        o.line(format!("  {s} authentication mode: {} -> {}", m.from, m.to));
        o.line("");
    }
    for a in &plan.actions {
        action(&mut o, a);
        o.line("");
    }
    if let Some(c) = &plan.aws_auth_cleanup {
        super::cleanup::text_lines(c).iter().for_each(|l| o.line(l));
    }

    if !plan.findings.is_empty() {
        o.line(o.paint(Paint::Bold, "Findings:"));
        for l in grouped::listed(&plan.findings, grouped) {
            match l {
                Listed::One(f) => finding(&mut o, f),
                Listed::Group(g) => group(&mut o, &g),
            }
        }
        o.line("");
    }

    if plan.summary.has_changes() {
        o.line(o.paint(Paint::Bold, &summary_line(plan)));
    } else {
        let why = if plan.summary.findings.errors > 0 {
            "No changes. Nothing more can be migrated until the errors above are settled."
        } else if plan.desired.is_empty() {
            "No changes. aws-auth has nothing to migrate."
        } else {
            "No changes. The cluster's access entries already match aws-auth."
        };
        o.line(o.paint(Paint::Bold, why));
    }
    o.line(findings_line(plan));
    o.buf
}

fn severity_head(severity: Severity, code: Code) -> (String, Paint) {
    let (sev, paint) = match severity {
        Severity::Error => ("error", Paint::Red),
        Severity::Warning => ("warning", Paint::Yellow),
        Severity::Info => ("info", Paint::Dim),
    };
    (format!("{sev:<7} {code}"), paint)
}

/// One finding: severity, code and source; the principal; the message.
fn finding(o: &mut Out, f: &Finding) {
    let (mut head, paint) = severity_head(f.severity, f.code);
    if let Some(src) = &f.source {
        let _ = write!(head, "  {}", safe(&src.to_string()));
    }
    o.line(format!("  {}", o.paint(paint, &head)));
    if let Some(p) = &f.principal_arn {
        o.line(format!("          {}", safe(p)));
    }
    o.line(format!("          {}", safe(&f.message)));
}

/// A group of findings: severity, code, count and the flag that lists them;
/// a few principals; what the messages say.
fn group(o: &mut Out, g: &Group<'_>) {
    let (mut head, paint) = severity_head(g.severity, g.code);
    let _ = write!(head, "  {}", g.headline());
    o.line(format!("  {}", o.paint(paint, &head)));
    let (examples, more) = g.examples();
    if !examples.is_empty() {
        let names: Vec<String> = examples.iter().map(|p| shown(p)).collect();
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        o.line(format!("          e.g. {}{tail}", names.join(", ")));
    }
    for line in g.messages().lines(|m| safe(m).into_owned()) {
        o.line(format!("          {line}"));
    }
}

/// Lists only the symbols the plan uses.
fn legend(o: &mut Out, plan: &Plan) {
    let mut used: Vec<(&str, Paint, &str)> = Vec::new();
    let mut add = |sym: &'static str, p: Paint, what: &'static str| {
        if !used.iter().any(|(s, _, _)| *s == sym) {
            used.push((sym, p, what));
        }
    };
    if plan.mode_change.is_some() {
        add("~", Paint::Yellow, "update in-place");
    }
    let kept = plan
        .actions
        .iter()
        .any(|a| matches!(a, Action::Adopt { kept: true, .. }));
    for a in &plan.actions {
        let (sym, p) = symbol(a);
        let what = match sym {
            "+" => "create",
            "~" => "update in-place",
            "=" if kept => "adopt (already as planned, or kept as it is)",
            "=" => "adopt (already as planned)",
            _ => "no entry (the principal stays on aws-auth)",
        };
        add(sym, p, what);
    }
    if used.is_empty() {
        return;
    }
    used.sort_by_key(|(s, _, _)| ["+", "~", "=", "!"].iter().position(|x| x == s));
    o.line("Access entry actions are indicated with the following symbols:");
    for (sym, p, what) in used {
        let s = o.paint(p, sym);
        o.line(format!("  {s} {what}"));
    }
    o.line("");
}

fn action(o: &mut Out, a: &Action) {
    let (sym, paint) = symbol(a);
    let s = o.paint(paint, sym);
    let mut at = a.source().to_string();
    if let Some(o) = a.overridden_by() {
        at.push_str(&format!("; decided by the override at {o}"));
    }
    let head = format!("  # {} ({})", shown(a.principal()), safe(&at));
    o.line(o.paint(Paint::Bold, &head));
    match a {
        Action::Create {
            entry_type,
            username,
            kubernetes_groups,
            associate,
            eks_owned,
            ..
        } => {
            let note = eks_owned
                .map(|x| format!("  # EKS creates it itself for {} when access entries are enabled; created here only if missing", x.describe()))
                .unwrap_or_default();
            o.line(format!("  {s} access entry{note}"));
            o.line(format!("      type             = {entry_type}"));
            if entry_type.is_standard() {
                standard_fields(o, username.as_deref(), kubernetes_groups);
            }
            for p in associate {
                let plus = o.paint(Paint::Green, "+");
                o.line(format!(
                    "    {plus} policy {}",
                    safe(&policy_text(&p.policy))
                ));
            }
        }
        Action::Update {
            username,
            kubernetes_groups,
            associate,
            eks_owned,
            ..
        } => {
            let owner = owner_comment(*eks_owned);
            o.line(format!("  {s} access entry{owner}"));
            changes(o, username.as_ref(), kubernetes_groups.as_ref());
            associations(o, associate);
        }
        Action::Associate {
            associate,
            eks_owned,
            ..
        } => {
            let owner = owner_comment(*eks_owned);
            o.line(format!("  {s} access entry (policies only){owner}"));
            associations(o, associate);
        }
        Action::Adopt {
            eks_owned, kept, ..
        } => {
            let owner = eks_owned
                .map(|x| format!("; {}", owner_text(x)))
                .unwrap_or_default();
            let how = if *kept {
                "kept as it is, with --keep-existing-entries: aws-auth's mapping does not apply"
            } else {
                "exists as planned"
            };
            o.line(format!("  {s} access entry ({how}{owner})"));
        }
        Action::None { reason, .. } => {
            o.line(format!("  {s} no access entry: {}", safe(reason)));
        }
    }
}

/// The username and groups of a STANDARD entry to create.
fn standard_fields(o: &mut Out, username: Option<&str>, kubernetes_groups: &[String]) {
    let u = username.map_or("(EKS default)".to_string(), debug_quoted);
    o.line(format!("      username         = {u}"));
    o.line(format!(
        "      kubernetesGroups = {}",
        quoted_list(kubernetes_groups)
    ));
}

/// The username and groups an update changes, from -> to.
fn changes(
    o: &mut Out,
    username: Option<&Change<Option<String>>>,
    kubernetes_groups: Option<&Change<Vec<String>>>,
) {
    let tilde = o.paint(Paint::Yellow, "~");
    if let Some(c) = username {
        let show =
            |u: &Option<String>| u.as_ref().map_or("(none)".to_string(), |u| debug_quoted(u));
        o.line(format!(
            "    {tilde} username         = {} -> {}",
            show(&c.from),
            show(&c.to)
        ));
    }
    if let Some(c) = kubernetes_groups {
        o.line(format!(
            "    {tilde} kubernetesGroups = {} -> {}",
            quoted_list(&c.from),
            quoted_list(&c.to)
        ));
    }
}

/// "  # created by EKS for ..." after an entry line, or nothing.
fn owner_comment(owner: Option<crate::model::cluster::EksOwner>) -> String {
    owner
        .map(|x| format!("  # {}", owner_text(x)))
        .unwrap_or_default()
}

fn associations(o: &mut Out, list: &[crate::planner::Association]) {
    for a in list {
        let (sym, paint) = if a.previous_scope.is_some() {
            ("~", Paint::Yellow)
        } else {
            ("+", Paint::Green)
        };
        let s = o.paint(paint, sym);
        o.line(format!("    {s} policy {}", safe(&association_text(a))));
    }
}
