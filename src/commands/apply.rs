//! `migrate-auth apply`: plan live (or read a saved plan and check it is not
//! stale), run the lockout guard, show the diff, ask, then make the steps
//! with the write-ahead journal, undoing them on a failure.

use std::io::Write;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _, Result};
use k8s_openapi::api::core::v1::ConfigMap;

use super::plan::{build_from, runtime, Inputs};
use super::{confirm, read_file, Outcome};
use crate::apply::journal::{self, Journal, Record};
use crate::cli::{ApplySettings, PlanSettings, Source};
use crate::live::{self, Connection, Gathered, LiveSettings};
use crate::migrate::guard;
use crate::migrate::plan_file::{Basis, PlanFile};
use crate::migrate::steps::{self, Step};
use crate::model::cluster::ConfigMapData;
use crate::model::cluster::{AuthMode, CurrentEntry};
use crate::model::finding::Severity;
use crate::planner::Plan;
use crate::reader::{self, AwsAuth};
use crate::render::diff;

/// A live plan turned into steps, with the guard's verdict.
pub(crate) struct Prepared {
    pub(crate) plan: Plan,
    pub(crate) basis: Basis,
    pub(crate) steps: Vec<Step>,
    /// The guard's reasons to refuse (the caller not checked).
    pub(crate) refusals: Vec<String>,
    /// aws-auth as read now.
    pub(crate) aws_auth: AwsAuth,
}

/// aws-auth's data as the reader sees it.
fn read_data(data: Option<&ConfigMapData>) -> Result<AwsAuth> {
    let yaml = match data {
        Some(d) => live::kubernetes::render_configmap(&ConfigMap {
            data: Some(d.clone()),
            ..ConfigMap::default()
        }),
        None => live::EMPTY_AWS_AUTH.to_string(),
    };
    Ok(reader::read(live::AWS_AUTH_LABEL, yaml.as_bytes())?)
}

/// aws-auth as it will be after `steps`.
fn kept(steps: &[Step], now: &AwsAuth) -> Result<AwsAuth> {
    match steps.iter().find_map(|s| match s {
        Step::ReplaceAwsAuth { after, .. } => Some(after),
        _ => None,
    }) {
        Some(after) => read_data(Some(after)),
        None => Ok(now.clone()),
    }
}

/// Plans from what was read live and turns the plan into steps.
pub(crate) fn prepare(s: &PlanSettings, cluster: &str, g: Gathered) -> Result<Prepared> {
    let basis = Basis::new(
        g.state.cluster.authentication_mode,
        g.aws_auth_data.clone(),
        g.state.access_entries.clone(),
    );
    let aws_auth = read_data(g.aws_auth_data.as_ref())?;
    let data = g.aws_auth_data.clone();
    let plan = build_from(s, Inputs::live(cluster, g))?;
    let steps = steps::steps(&plan, data.as_ref().map(|d| (d, &aws_auth)), s.extras);
    let after = steps::project(&basis.access_entries, &steps);
    let refusals = guard::check(&plan, &steps, &after, &kept(&steps, &aws_auth)?, None);
    Ok(Prepared {
        plan,
        basis,
        steps,
        refusals,
        aws_auth,
    })
}

/// The settings' live source.
pub(crate) fn live_source(s: &PlanSettings) -> Result<&LiveSettings> {
    match &s.source {
        Source::Live(l) => Ok(l),
        Source::Files { .. } => bail!("this needs a live cluster (--cluster)"),
    }
}

/// `plan --cluster NAME --out FILE`: plans live and saves the plan file.
/// Returns the plan, for rendering.
///
/// # Errors
/// Reading the cluster, planning, or writing the file.
pub(crate) fn save_plan(s: &PlanSettings, out: &PathBuf) -> Result<Plan> {
    let live = live_source(s)?;
    let rt = runtime()?;
    let conn = rt.block_on(live::connect(live))?;
    let g = rt.block_on(live::read(&conn, live))?;
    let p = prepare(s, &live.cluster, g)?;
    let file = PlanFile::new(
        (&conn.cluster.name, &conn.cluster.arn, &conn.region),
        p.basis,
        s.extras,
        p.steps,
        p.refusals,
    );
    std::fs::write(out, file.to_json())
        .with_context(|| format!("cannot write {}", out.display()))?;
    for r in &file.refusals {
        eprintln!("warning: apply will refuse this plan: {r}");
    }
    eprintln!(
        "Saved the plan ({} steps) to {}; `migrate-auth apply {}` carries it out.",
        file.steps.len(),
        out.display(),
        out.display()
    );
    Ok(p.plan)
}

/// What apply will do, decided before anything changes.
struct Decided {
    steps: Vec<Step>,
    refusals: Vec<String>,
    entries: Vec<CurrentEntry>,
    aws_auth: AwsAuth,
    /// Findings worth showing (warnings and errors), as lines.
    findings: Vec<String>,
}

fn decide(
    s: &ApplySettings,
    live: &LiveSettings,
    conn: &Connection,
    g: Gathered,
    saved: Option<PlanFile>,
) -> Result<Decided> {
    let Some(saved) = saved else {
        let p = prepare(&s.plan, &live.cluster, g)?;
        let findings = p
            .plan
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .map(|f| {
                let who = f.principal_arn.as_deref().unwrap_or("");
                format!(
                    "  {}[{}] {who}: {}",
                    f.severity.as_str(),
                    f.code.as_str(),
                    f.message
                )
            })
            .collect();
        return Ok(Decided {
            steps: p.steps,
            refusals: p.refusals,
            entries: p.basis.access_entries,
            aws_auth: p.aws_auth,
            findings,
        });
    };
    if conn.cluster.arn != saved.cluster_arn {
        bail!(
            "the plan is for {}, but this is {}",
            saved.cluster_arn,
            conn.cluster.arn
        );
    }
    let now = Basis::new(
        g.state.cluster.authentication_mode,
        g.aws_auth_data.clone(),
        g.state.access_entries.clone(),
    );
    if now.fingerprint() != saved.fingerprint {
        let changes = saved.basis.changes(&now);
        bail!(
            "the plan is stale: the cluster changed since it was made, so nothing was changed. Plan again. What changed:\n  {}",
            changes.join("\n  ")
        );
    }
    let aws_auth = read_data(now.aws_auth.as_ref())?;
    Ok(Decided {
        steps: saved.steps,
        refusals: saved.refusals,
        entries: now.access_entries,
        aws_auth,
        findings: Vec::new(),
    })
}

/// Whether the journal at `path` ends with a run of this cluster that did not
/// finish (it was killed).
///
/// # Errors
/// An unreadable journal, or one that holds runs of another cluster.
fn unfinished_run(path: &std::path::Path, cluster_arn: &str) -> Result<bool> {
    if !path.exists() {
        return Ok(false);
    }
    let records = journal::read(path)?;
    let others: Vec<String> = journal::clusters(&records)
        .into_iter()
        .filter(|a| a != cluster_arn)
        .collect();
    if !others.is_empty() {
        bail!(
            "nothing was changed: the journal {} holds runs of another cluster ({}); give this cluster its own --journal",
            path.display(),
            others.join(", ")
        );
    }
    let last_run = records.iter().rev().find_map(|r| match r {
        Record::Begin { run, .. } => Some(run),
        _ => None,
    });
    Ok(last_run.is_some_and(|last| {
        !records
            .iter()
            .any(|r| matches!(r, Record::End { run, .. } if run == last))
    }))
}

/// A fresh run id: time and process, in hex.
fn run_id() -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!("{:x}{:04x}", t.as_millis(), std::process::id() & 0xffff)
}

/// Runs `apply`.
///
/// # Errors
/// Stale plan, lockout guard, no confirmation, a failed step (after the
/// rollback), or the cluster cannot be read.
pub fn run(s: &ApplySettings) -> Result<Outcome> {
    let mut live = live_source(&s.plan)?.clone();
    let saved = match &s.plan_file {
        Some(f) => {
            let p = PlanFile::from_bytes(&f.display().to_string(), &read_file(f)?)?;
            if !live.cluster.is_empty() && live.cluster != p.cluster {
                bail!(
                    "the plan is for cluster {}, not {}",
                    p.cluster,
                    live.cluster
                );
            }
            live.cluster = p.cluster.clone();
            live.aws.region.get_or_insert_with(|| p.region.clone());
            Some(p)
        }
        None => None,
    };
    let rt = runtime()?;
    let conn = rt.block_on(live::connect(&live))?;
    let g = rt.block_on(live::read(&conn, &live))?;
    let d = decide(s, &live, &conn, g, saved)?;
    let mut err = std::io::stderr().lock();
    let mut out = std::io::stdout().lock();
    let path = s
        .journal
        .clone()
        .unwrap_or_else(|| journal::default_path(&conn.account, &conn.region, &conn.cluster.name));
    if unfinished_run(&path, &conn.cluster.arn)? {
        writeln!(
            err,
            "The journal {} records a run that did not finish; this run resumes it (what is done is skipped; `rollback` undoes both).",
            path.display()
        )?;
    }
    if !d.findings.is_empty() {
        writeln!(out, "Findings (see `migrate-auth plan` for all):")?;
        for f in &d.findings {
            writeln!(out, "{f}")?;
        }
        writeln!(out)?;
    }
    out.write_all(diff::render(&d.steps, &d.entries, &d.aws_auth).as_bytes())?;
    out.flush()?;
    if d.steps.is_empty() {
        return Ok(Outcome::Done { changes: false });
    }
    if !conn.cluster.status.is_active() {
        bail!(
            "nothing was changed: the cluster is {}, not ACTIVE (an update may be under way); apply again once it is ACTIVE",
            conn.cluster.status
        );
    }
    let after = steps::project(&d.entries, &d.steps);
    let mut refusals = d.refusals;
    refusals.extend(guard::caller_check(
        &d.steps,
        &after,
        &kept(&d.steps, &d.aws_auth)?,
        &conn.caller_arn,
    ));
    if !refusals.is_empty() {
        bail!(
            "the lockout guard refused, so nothing was changed:\n  {}",
            refusals.join("\n  ")
        );
    }
    let cluster = conn.cluster.name.clone();
    confirm::ask(
        &format!("Make these {} changes to cluster {cluster}?", d.steps.len()),
        s.yes,
        "--yes",
    )?;
    if d.steps.iter().any(|st| {
        matches!(
            st,
            Step::SwitchMode {
                to: AuthMode::Api,
                ..
            }
        )
    }) {
        confirm::ask_irreversible(&cluster, "Switching to API", s.yes, s.confirm_irreversible)?;
    }
    let mut j = Journal::open(&path)?;
    let run = run_id();
    j.append(&Record::Begin {
        run: run.clone(),
        cluster: cluster.clone(),
        cluster_arn: conn.cluster.arn.clone(),
        region: conn.region.clone(),
        caller: conn.caller_arn.clone(),
        at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs(),
        steps: d.steps.len(),
    })?;
    writeln!(err, "Journal: {}", path.display())?;
    let report = rt.block_on(crate::apply::apply(
        &conn,
        &mut j,
        &run,
        &d.steps,
        s.wait,
        live.concurrency,
        s.no_rollback,
    ))
    .with_context(|| {
        format!(
            "the run stopped part-way and the cluster may be partly changed: once the journal can be written, `migrate-auth rollback --journal {}` undoes what it recorded, or `apply` resumes",
            path.display()
        )
    })?;
    writeln!(out, "\n{}", report.describe())?;
    if let Some((step, why)) = report.failed.first() {
        let what = if s.no_rollback {
            format!(
                "what was done is left in place (--no-rollback); `migrate-auth rollback --journal {}` undoes it, `apply` resumes",
                path.display()
            )
        } else if report.undo_failed.is_empty() {
            match report.undo_counts() {
                (_, 0) => "this run's changes were undone".to_string(),
                (undone, left) => format!(
                    "{undone} of this run's changes were undone and {left} left in place, as said above"
                ),
            }
        } else {
            format!(
                "some changes could not be undone (above); `migrate-auth rollback --journal {}` tries again",
                path.display()
            )
        };
        bail!("{} failed: {why}; {what}", step.describe());
    }
    writeln!(out, "Apply complete: {} changes made.", report.made.len())?;
    Ok(Outcome::Done { changes: true })
}
