//! `migrate-auth plan`: read aws-auth and the optional inputs, map, plan,
//! render; with `--out`, save the plan for a later `apply`.

use std::io::Write;

use anyhow::{Context as _, Result};

use super::{read_input, Outcome};
use crate::cli::{PlanSettings, Source};
use crate::live;
use crate::model::untrusted::terminal;
use crate::pipeline::plan::{build, Inputs};
use crate::pipeline::{self, read_file};
use crate::planner::Plan;
use crate::render;

/// Runs `plan` and writes the rendered plan to stdout.
///
/// # Errors
/// Unreadable or malformed inputs, and flags that contradict the current state.
pub fn run(s: &PlanSettings) -> Result<Outcome> {
    let plan = match (&s.source, &s.out) {
        (Source::Live(l), Some(out)) => save(s, l, out)?,
        (source, _) => plan_of(source, &s.plan)?,
    };
    let o = &s.output;
    let style = render::Style {
        color: o.color,
        grouped: o.grouped,
    };
    let text = render::render(&listed(&plan, o), o.format, style);
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    let worst = plan.summary.findings.worst();
    if let (Some(limit), Some(worst)) = (o.fail_on, worst) {
        if worst >= limit {
            return Ok(Outcome::FailedOnFindings);
        }
    }
    let cleanup = plan.aws_auth_cleanup.as_ref().is_some_and(|c| c.changes());
    Ok(Outcome::Done {
        changes: plan.summary.has_changes() || cleanup,
    })
}

/// The plan of `source`, made with `o`: read live, or from the files.
///
/// # Errors
/// Unreadable or malformed inputs, a cluster that cannot be read, and
/// options that contradict the current state.
pub(crate) fn plan_of(source: &Source, o: &crate::pipeline::plan::PlanOptions) -> Result<Plan> {
    match source {
        Source::Live(l) => {
            let g = pipeline::runtime()?.block_on(live::gather(l))?;
            Ok(build(o, Inputs::live(&l.cluster, g))?)
        }
        Source::Files {
            aws_auth,
            current_file,
        } => {
            let state = match current_file {
                Some(f) => {
                    let name = f.display().to_string();
                    let state = crate::inputs::current::read(&name, &read_file(f)?)?;
                    Some((name, state))
                }
                None => None,
            };
            let inputs = Inputs::files(aws_auth.label(), read_input(aws_auth)?, state);
            Ok(build(o, inputs)?)
        }
    }
}

/// The plan as the text and Markdown outputs list it: only the findings of
/// the severities `--findings` names (the summary still counts them all).
/// JSON lists every finding.
fn listed(plan: &Plan, o: &crate::cli::Output) -> Plan {
    let mut shown = plan.clone();
    if o.format != render::Format::Json {
        shown.findings.retain(|f| o.findings.contains(&f.severity));
    }
    shown
}

/// `plan --cluster NAME --out FILE`: plans live and saves the plan file.
/// Returns the plan, for rendering.
fn save(s: &PlanSettings, l: &live::LiveSettings, out: &std::path::Path) -> Result<Plan> {
    let rt = pipeline::runtime()?;
    let conn = rt.block_on(live::connect(l))?;
    let g = rt.block_on(live::read(&conn, l))?;
    let (file, plan) = pipeline::apply::save(&s.plan, &conn, g)?;
    crate::private::write(out, file.to_json()?.as_bytes())
        .with_context(|| format!("cannot write {}", out.display()))?;
    for r in &file.refusals {
        eprintln!("warning: apply will refuse this plan: {}", terminal(r));
    }
    eprintln!(
        "Saved the plan ({} steps) to {}; `migrate-auth apply {}` carries it out.",
        file.steps.len(),
        out.display(),
        out.display()
    );
    Ok(plan)
}
