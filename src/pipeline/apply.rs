//! The apply pipeline: what apply will do, decided from a live plan or a
//! saved one checked against the cluster now; the checks before anything
//! changes (the cluster ACTIVE, the lockout guard with the caller); then the
//! run, journaled, through [`crate::apply`].

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{SystemTime, UNIX_EPOCH};

use super::plan::{kept, prepare, PlanOptions};
use super::Error;
use crate::apply::journal::{self, Journal, Record};
use crate::apply::Report;
pub use crate::apply::RunOptions;
use crate::live::kubernetes::{self, Need};
use crate::live::{Connection, Gathered};
use crate::migrate::guard;
use crate::migrate::plan_file::{Basis, PlanFile, SavedOptions};
use crate::migrate::steps::{self, Step};
use crate::migrate::wants::Wants;
use crate::model::cluster::CurrentEntry;
use crate::model::finding::Severity;
use crate::model::untrusted::terminal;
use crate::planner::Plan;
use crate::reader::AwsAuth;

/// What apply will do, decided before anything changes.
pub struct Decided {
    pub steps: Vec<Step>,
    /// The guard's reasons to refuse, the caller not yet checked.
    pub refusals: Vec<String>,
    /// The access entries now.
    pub entries: Vec<CurrentEntry>,
    /// aws-auth now.
    pub aws_auth: AwsAuth,
    /// Findings worth showing (warnings and errors), as lines.
    pub findings: Vec<String>,
    /// The plan the steps carry out (made again from the live state, for a
    /// saved plan).
    pub plan: Box<Plan>,
}

/// Decides from a live plan of what `g` read.
///
/// # Errors
/// As [`super::plan::build`].
pub fn decide_live(o: &PlanOptions, cluster: &str, g: Gathered) -> Result<Decided, Error> {
    let p = prepare(o, cluster, g)?;
    let findings = p
        .plan
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .map(|f| {
            let who = f.principal_arn.as_deref().map(terminal).unwrap_or_default();
            format!(
                "  {}[{}] {who}: {}",
                f.severity.as_str(),
                f.code.as_str(),
                terminal(&f.message)
            )
        })
        .collect();
    Ok(Decided {
        steps: p.steps,
        refusals: p.refusals,
        entries: p.basis.access_entries,
        aws_auth: p.aws_auth,
        findings,
        plan: Box::new(p.plan),
    })
}

/// Decides from a saved plan, if the cluster is still as it was planned and
/// the plan's steps are what its recorded options give for it: a plan file
/// can never add to what the live state implies.
///
/// # Errors
/// [`Error::Mismatch`] for a plan of another cluster, [`Error::Stale`] when
/// the cluster changed since, [`Error::NotDerived`] when the steps (or what
/// the migration wants) are not the plan's own (the file was edited).
pub fn decide_saved(
    conn: &Connection,
    g: Gathered,
    saved: PlanFile,
    given: &PlanOptions,
) -> Result<Decided, Error> {
    if conn.cluster.arn != saved.cluster_arn {
        return Err(Error::Mismatch {
            message: format!(
                "the plan is for {}, but this is {}",
                saved.cluster_arn, conn.cluster.arn
            ),
        });
    }
    let now = Basis::new(
        g.state.cluster.authentication_mode,
        g.aws_auth_data.clone(),
        g.state.access_entries.clone(),
    );
    if now.fingerprint()? != saved.fingerprint {
        return Err(Error::Stale {
            changes: saved.basis.changes(&now),
        });
    }
    // The options are the operator's, given again; the file's only have to
    // match them: a file cannot choose its own overrides or extras.
    let differences = options_differ(&saved, given)?;
    if !differences.is_empty() {
        return Err(Error::OptionsDiffer { differences });
    }
    let again = prepare(given, &conn.cluster.name, g)?;
    if again.steps != saved.steps {
        return Err(Error::NotDerived {
            what: format!(
                "steps ({}; made again: {}) are",
                saved.steps.len(),
                again.steps.len()
            ),
        });
    }
    if Wants::of(&again.plan) != saved.wants {
        return Err(Error::NotDerived {
            what: "wanted entries (what `export` writes) are".into(),
        });
    }
    Ok(Decided {
        steps: again.steps,
        refusals: again.refusals,
        entries: again.basis.access_entries,
        aws_auth: again.aws_auth,
        findings: Vec::new(),
        plan: Box::new(again.plan),
    })
}

/// How the options `plan --out` recorded in `saved` differ from those
/// `given` to apply, in words (overrides compared by their text).
fn options_differ(saved: &PlanFile, given: &PlanOptions) -> Result<Vec<String>, Error> {
    let now = given.saved()?;
    let was = &saved.options;
    let mut out = Vec::new();
    let flag = |name: &str, planned: bool, applied: bool| {
        (planned != applied).then(|| {
            if planned {
                format!("the plan was made with {name}, apply was not given it")
            } else {
                format!("apply was given {name}, the plan was made without it")
            }
        })
    };
    out.extend(flag(
        "--cleanup-aws-auth",
        saved.extras.cleanup_aws_auth,
        given.extras.cleanup_aws_auth,
    ));
    out.extend(flag(
        "--target-mode API",
        saved.extras.target_api,
        given.extras.target_api,
    ));
    out.extend(flag("--expand-sso", was.expand_sso, now.expand_sso));
    out.extend(flag(
        "--policies-from-rbac",
        was.policies_from_rbac,
        now.policies_from_rbac,
    ));
    out.extend(flag(
        "--keep-existing-entries",
        was.keep_existing_entries,
        now.keep_existing_entries,
    ));
    let texts = |o: &SavedOptions| {
        o.overrides
            .iter()
            .map(|f| f.text.clone())
            .collect::<Vec<_>>()
    };
    if texts(was) != texts(&now) {
        let names: Vec<String> = was.overrides.iter().map(|f| f.name.clone()).collect();
        out.push(format!(
            "the plan was made with --overrides {} ({} files), apply was given {} files that differ; give the same files",
            if names.is_empty() { "(none)".into() } else { names.join(" ") },
            was.overrides.len(),
            now.overrides.len()
        ));
    }
    Ok(out)
}

/// Plans live and makes the plan file `plan --out` saves.
///
/// # Errors
/// As [`super::plan::build`].
pub fn save(o: &PlanOptions, conn: &Connection, g: Gathered) -> Result<(PlanFile, Plan), Error> {
    let p = prepare(o, &conn.cluster.name, g)?;
    let file = PlanFile::new(
        (&conn.cluster.name, &conn.cluster.arn, &conn.region),
        p.basis,
        (o.extras, o.saved()?),
        (Wants::of(&p.plan), p.steps),
        p.refusals,
    )?;
    Ok((file, p.plan))
}

/// The checks made just before anything changes: the cluster is ACTIVE, and
/// the lockout guard, with the caller, lets the steps through.
///
/// # Errors
/// [`Error::NotActive`] or [`Error::Refused`].
pub fn check(conn: &Connection, d: &Decided) -> Result<(), Error> {
    if !conn.cluster.status.is_active() {
        return Err(Error::NotActive {
            status: conn.cluster.status.to_string(),
        });
    }
    let after = steps::project(&d.entries, &d.steps);
    let mut reasons = d.refusals.clone();
    reasons.extend(guard::caller_check(
        &d.steps,
        &after,
        &kept(&d.steps, &d.aws_auth)?,
        &conn.caller_arn,
    ));
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(Error::Refused { reasons })
    }
}

/// The journal a run of `conn`'s cluster uses: `given`, or the default path.
pub fn journal_path(conn: &Connection, given: Option<&PathBuf>) -> PathBuf {
    given
        .cloned()
        .unwrap_or_else(|| journal::default_path(&conn.account, &conn.region, &conn.cluster.name))
}

/// Whether the journal at `path` ends with a run of this cluster that did not
/// finish (it was killed).
///
/// # Errors
/// An unreadable journal, or one that holds runs of another cluster.
pub fn unfinished_run(path: &Path, cluster_arn: &str) -> Result<bool, Error> {
    if !path.exists() {
        return Ok(false);
    }
    let records = journal::read(path)?;
    let others: Vec<String> = journal::clusters(&records)
        .into_iter()
        .filter(|a| a != cluster_arn)
        .collect();
    if !others.is_empty() {
        return Err(Error::Mismatch {
            message: format!(
                "nothing was changed: the journal {} holds runs of another cluster ({}); give this cluster its own --journal",
                path.display(),
                others.join(", ")
            ),
        });
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

/// Seconds since the epoch (0 on a clock set before 1970, which only
/// misdates the journal).
fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |t| t.as_secs())
}

/// What a run needs of the Kubernetes API: the cluster's lock always, and
/// aws-auth (read, backed up, replaced) when it cleans aws-auth up.
pub fn kubernetes_needs(cleanup: bool) -> Vec<Need> {
    let need = |verb, group, resource| Need {
        verb,
        group,
        resource,
        namespace: "kube-system",
    };
    let mut needs = vec![
        need("get", "coordination.k8s.io", "leases"),
        need("create", "coordination.k8s.io", "leases"),
        need("update", "coordination.k8s.io", "leases"),
        need("delete", "coordination.k8s.io", "leases"),
    ];
    if cleanup {
        needs.extend([
            need("get", "", "configmaps"),
            need("create", "", "configmaps"),
            need("update", "", "configmaps"),
        ]);
    }
    needs
}

/// The pre-flight, before the first write: the caller may do in the
/// Kubernetes API everything the run needs (`needs`).
///
/// # Errors
/// [`Error::Preflight`] naming what is missing; [`Error::Live`] when the
/// reviews cannot be made.
pub async fn preflight(conn: &Connection, needs: &[Need]) -> Result<(), Error> {
    let missing = kubernetes::missing_permissions(&conn.kube.get(), needs).await?;
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::Preflight { missing })
    }
}

/// The journal at `path`, held (its file lock) when it exists, with the runs
/// it records: while we hold it, no process of those runs is alive.
///
/// # Errors
/// [`Error::Journal`] when it cannot be read, or another process holds it.
pub fn hold_journal(path: &Path) -> Result<(Option<Journal>, Vec<String>), Error> {
    if !path.exists() {
        return Ok((None, Vec::new()));
    }
    let held = Journal::open(path)?;
    let runs = journal::read(path)?
        .into_iter()
        .filter_map(|r| match r {
            Record::Begin { run, .. } => Some(run),
            _ => None,
        })
        .collect();
    Ok((Some(held), runs))
}

/// A fresh run id: time and process, in hex.
pub fn new_run_id() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |t| t.as_millis());
    format!("{millis:x}{:04x}", std::process::id() & 0xffff)
}

/// Starts run `run` of `steps` on `conn`'s cluster in `journal`. Nothing is
/// changed yet.
///
/// # Errors
/// [`Error::Journal`] when the journal cannot be written.
pub fn begin(
    conn: &Connection,
    journal: &mut Journal,
    steps: &[Step],
    run: &str,
) -> Result<(), Error> {
    journal.append(&Record::Begin {
        run: run.to_string(),
        cluster: conn.cluster.name.clone(),
        cluster_arn: conn.cluster.arn.clone(),
        region: conn.region.clone(),
        caller: conn.caller_arn.clone(),
        at: now_secs(),
        steps: steps.len(),
    })?;
    Ok(())
}

/// Makes `steps` on `conn`'s cluster as run `run` (see [`begin`]). Once
/// `interrupt` is set no new step starts; the steps under way finish, and
/// the run's changes are undone as after a failure (unless `keep`).
///
/// # Errors
/// [`crate::apply::Stopped`] when the journal cannot be written: the
/// cluster may then be partly changed, as its report says.
pub async fn run(
    conn: &Connection,
    journal: &mut Journal,
    run: &str,
    steps: &[Step],
    (options, interrupt): (RunOptions, &AtomicBool),
    progress: &dyn crate::apply::progress::Progress,
) -> Result<Report, crate::apply::Stopped> {
    crate::apply::apply(conn, journal, run, steps, (options, interrupt), progress).await
}
