//! `migrate-auth plan`: read aws-auth and the optional inputs, map, plan, render.

use std::io::Write;

use anyhow::{bail, Result};

use super::{read_file, read_input, Outcome};
use crate::cli::{PlanSettings, Source};
use crate::inputs::iam::IamDump;
use crate::inputs::overrides::Overrides;
use crate::inputs::rbac::Rbac;
use crate::mapper::{self, Cluster, Context};
use crate::model::cluster::CurrentState;
use crate::model::finding::{Code, Finding};
use crate::planner::{self, ClusterFacts, Current, KnownFrom, Plan};
use crate::reader;
use crate::render;

/// Runs `plan` and writes the rendered plan to stdout.
///
/// # Errors
/// Unreadable or malformed inputs, and flags that contradict the current state.
pub fn run(s: &PlanSettings) -> Result<Outcome> {
    let plan = match &s.out {
        Some(out) => super::apply::save_plan(s, out)?,
        None => build(s)?,
    };
    let text = render::render(&plan, s.format, s.color);
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    let worst = plan.summary.findings.worst();
    if let (Some(limit), Some(worst)) = (s.fail_on, worst) {
        if worst >= limit {
            return Ok(Outcome::FailedOnFindings);
        }
    }
    Ok(Outcome::Done {
        changes: plan.summary.has_changes(),
    })
}

/// What a plan is computed from, read from files or a live cluster.
pub(crate) struct Inputs {
    /// The aws-auth label used in findings, and its bytes.
    label: String,
    aws_auth_bytes: Vec<u8>,
    /// Where the current state came from, and the state.
    state: Option<(String, CurrentState)>,
    undescribed: Vec<String>,
    iam: IamDump,
    rbac_texts: Vec<(String, Vec<u8>)>,
    known_policies: Option<Vec<String>>,
    gaps: Vec<String>,
}

impl Inputs {
    /// The inputs read live from `cluster`.
    pub(crate) fn live(cluster: &str, g: crate::live::Gathered) -> Inputs {
        // An absent aws-auth is an empty one.
        let yaml = g
            .aws_auth_yaml
            .unwrap_or_else(|| crate::live::EMPTY_AWS_AUTH.to_string());
        Inputs {
            label: crate::live::AWS_AUTH_LABEL.to_string(),
            aws_auth_bytes: yaml.into_bytes(),
            state: Some((
                format!("cluster {cluster} (read live as {})", g.caller_arn),
                g.state,
            )),
            undescribed: g.undescribed,
            iam: g.iam,
            rbac_texts: vec![(format!("cluster {cluster} RBAC"), g.rbac_json.into_bytes())],
            known_policies: Some(g.policies),
            gaps: g.gaps,
        }
    }
}

/// Reads every input and computes the plan.
///
/// # Errors
/// As [`run`].
pub fn build(s: &PlanSettings) -> Result<Plan> {
    let inputs = match &s.source {
        Source::Files {
            aws_auth,
            current_file,
        } => {
            let state = match current_file {
                Some(f) => {
                    let name = f.display().to_string();
                    Some((
                        name.clone(),
                        crate::inputs::current::read(&name, &read_file(f)?)?,
                    ))
                }
                None => None,
            };
            Inputs {
                label: aws_auth.label(),
                aws_auth_bytes: read_input(aws_auth)?,
                state,
                undescribed: Vec::new(),
                iam: IamDump::default(),
                rbac_texts: Vec::new(),
                known_policies: None,
                gaps: Vec::new(),
            }
        }
        Source::Live(live) => {
            let g = runtime()?.block_on(crate::live::gather(live))?;
            Inputs::live(&live.cluster, g)
        }
    };
    build_from(s, inputs)
}

/// Computes the plan from inputs already read (plus the files `s` names).
///
/// # Errors
/// As [`run`].
pub(crate) fn build_from(s: &PlanSettings, inputs: Inputs) -> Result<Plan> {
    let Inputs {
        label,
        aws_auth_bytes,
        state,
        undescribed,
        mut iam,
        mut rbac_texts,
        known_policies,
        gaps,
    } = inputs;
    let aws_auth = reader::read(&label, &aws_auth_bytes)?;
    for f in &s.rbac_files {
        rbac_texts.push((f.display().to_string(), read_file(f)?));
    }
    let rbac = if rbac_texts.is_empty() {
        None
    } else {
        let mut r = Rbac::default();
        for (name, bytes) in &rbac_texts {
            r.add_file(name, bytes)?;
        }
        Some(r)
    };
    for f in &s.iam_files {
        iam.add_file(&f.display().to_string(), &read_file(f)?)?;
    }
    let mut overrides = Overrides::default();
    for f in &s.overrides {
        overrides.add_file(&f.display().to_string(), &read_file(f)?)?;
    }
    if let Some((_, st)) = &state {
        for e in &st.access_entries {
            iam.add_existing(&e.principal_arn);
        }
    }
    let (cluster, facts, inferred) = cluster_facts(s, state.as_ref().map(|(_, st)| st), &aws_auth)?;
    let ctx = Context {
        cluster: &cluster,
        rbac: rbac.as_ref(),
        iam: &iam,
        overrides: &overrides,
        options: s.options,
    };
    let mut mapped = mapper::map(&aws_auth, &ctx);
    mapped.findings.extend(
        gaps.into_iter()
            .map(|g| Finding::new(Code::LiveReadIncomplete, g)),
    );
    if let Some(how) = inferred {
        mapped
            .findings
            .push(Finding::new(Code::ClusterAccountInferred, how));
    }
    let current = match state {
        Some((name, st)) => {
            let mut c = Current::from_state(&name, st);
            c.undescribed = undescribed;
            c.known_policies = known_policies;
            c
        }
        None => Current::assumed(),
    };
    Ok(planner::plan(&label, facts, mapped, current))
}

/// A runtime for the live calls (the offline plan needs none).
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// The cluster's partition and account, each from the current state, a flag,
/// or inferred from aws-auth (then with a note saying how).
fn cluster_facts(
    s: &PlanSettings,
    state: Option<&CurrentState>,
    aws_auth: &reader::AwsAuth,
) -> Result<(Cluster, ClusterFacts, Option<String>)> {
    if let Some(st) = state {
        let Some((partition, account)) = st.cluster.partition_and_account() else {
            bail!("the current-state file has no cluster ARN with an account");
        };
        if s.account.as_ref().is_some_and(|a| *a != account) {
            bail!("--account differs from the account in the current-state file ({account})");
        }
        if s.partition.is_some_and(|p| p != partition) {
            bail!("--partition differs from the partition in the current-state file ({partition})");
        }
        let cluster = Cluster {
            partition,
            account: Some(account),
        };
        let facts = ClusterFacts::new(&cluster, KnownFrom::CurrentFile, KnownFrom::CurrentFile);
        return Ok((cluster, facts, None));
    }
    let (guess, how) = mapper::infer_cluster(aws_auth);
    let cluster = Cluster {
        partition: s.partition.unwrap_or(guess.partition),
        account: s.account.clone().or(guess.account),
    };
    let origin = |given: bool| {
        if given {
            KnownFrom::Flag
        } else {
            KnownFrom::Inferred
        }
    };
    let facts = ClusterFacts::new(
        &cluster,
        origin(s.account.is_some()),
        origin(s.partition.is_some()),
    );
    let mut notes = Vec::new();
    if s.account.is_none() {
        notes.push(format!(
            "account {} inferred from {} (give --account to be sure)",
            cluster.account.as_deref().unwrap_or("unknown"),
            how.account
        ));
    }
    if s.partition.is_none() {
        notes.push(format!(
            "partition {} inferred from {} (give --partition to be sure)",
            cluster.partition, how.partition
        ));
    }
    let note = (!notes.is_empty()).then(|| notes.join("; "));
    Ok((cluster, facts, note))
}
