//! The plan pipeline: read the inputs (files or a live cluster), map, plan;
//! for an apply or a saved plan, also the steps and the lockout guard's
//! verdict.

use std::path::PathBuf;

use super::{read_file, Error};
use crate::inputs::iam::IamDump;
use crate::inputs::overrides::Overrides;
use crate::inputs::rbac::Rbac;
use crate::live::{self, Gathered};
use crate::mapper::{self, Cluster, Context};
use crate::migrate::plan_file::{Basis, SavedFile, SavedOptions};
use crate::migrate::steps::{self, Extras, Step};
use crate::migrate::{cleanup, guard};
use crate::model::arn::Partition;
use crate::model::cleanup::AwsAuthCleanup;
use crate::model::cluster::{ConfigMapData, CurrentState};
use crate::model::finding::{Code, Finding};
use crate::planner::{self, ClusterFacts, Current, Existing, KnownFrom, Origin, Plan};
use crate::reader::{self, AwsAuth};

/// What a plan is made from besides aws-auth and the current state, and what
/// an apply does besides creating entries: the same for a file plan, a live
/// plan and an apply.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub rbac_files: Vec<PathBuf>,
    pub iam_files: Vec<PathBuf>,
    pub overrides: Vec<PathBuf>,
    /// The cluster's account and partition, when given.
    pub account: Option<String>,
    pub partition: Option<Partition>,
    pub mapper: mapper::Options,
    pub extras: Extras,
    /// `--keep-existing-entries`: leave an existing entry that differs from
    /// aws-auth as it is.
    pub keep_existing_entries: bool,
}

impl PlanOptions {
    /// The options a saved plan records: these, with the overrides' text.
    ///
    /// # Errors
    /// An override file that cannot be read, or is not UTF-8.
    pub fn saved(&self) -> Result<SavedOptions, Error> {
        let mut overrides = Vec::new();
        for f in &self.overrides {
            let bytes = read_file(f)?;
            let text = String::from_utf8(bytes).map_err(|_| Error::Mismatch {
                message: format!("{}: an overrides file must be UTF-8", f.display()),
            })?;
            overrides.push(SavedFile {
                name: f.display().to_string(),
                text,
            });
        }
        Ok(SavedOptions {
            expand_sso: self.mapper.expand_sso,
            policies_from_rbac: self.mapper.policies_from_rbac,
            keep_existing_entries: self.keep_existing_entries,
            overrides,
        })
    }
}

/// What a plan is computed from, read from files or a live cluster.
pub struct Inputs {
    pub aws_auth: AwsAuthInput,
    /// Where the current state came from, and the state.
    pub state: Option<(Origin, CurrentState)>,
    pub undescribed: Vec<String>,
    pub iam: IamDump,
    pub rbac_texts: Vec<(String, Vec<u8>)>,
    pub known_policies: Option<Vec<String>>,
    pub gaps: Vec<String>,
}

/// Where aws-auth comes from.
pub enum AwsAuthInput {
    /// A file as kubectl prints it: its label (used in findings) and bytes.
    File { label: String, bytes: Vec<u8> },
    /// The data the API server holds (`None` when there is no aws-auth), and
    /// the ConfigMap as `snapshot` writes it, whose lines findings name.
    Live {
        data: Option<ConfigMapData>,
        layout: Option<String>,
    },
}

impl AwsAuthInput {
    /// Reads it: a file whole, live data key by key as the authenticator does.
    fn read(&self) -> Result<AwsAuth, Error> {
        Ok(match self {
            AwsAuthInput::File { label, bytes } => reader::read(label, bytes)?,
            AwsAuthInput::Live { data, layout } => {
                read_data_laid_out(data.as_ref(), layout.as_deref())
            }
        })
    }

    /// The name findings give it.
    fn label(&self) -> &str {
        match self {
            AwsAuthInput::File { label, .. } => label,
            AwsAuthInput::Live { .. } => live::AWS_AUTH_LABEL,
        }
    }
}

impl Inputs {
    /// The inputs of an offline plan: aws-auth's label and bytes, and the
    /// current state read from a file, if any.
    pub fn files(
        label: String,
        aws_auth_bytes: Vec<u8>,
        state: Option<(String, CurrentState)>,
    ) -> Inputs {
        Inputs {
            aws_auth: AwsAuthInput::File {
                label,
                bytes: aws_auth_bytes,
            },
            state: state.map(|(file, st)| (Origin::File { file }, st)),
            undescribed: Vec::new(),
            iam: IamDump::default(),
            rbac_texts: Vec::new(),
            known_policies: None,
            gaps: Vec::new(),
        }
    }

    /// The inputs read live from `cluster`.
    pub fn live(cluster: &str, g: Gathered) -> Inputs {
        Inputs {
            aws_auth: AwsAuthInput::Live {
                data: g.aws_auth_data,
                layout: g.aws_auth_yaml,
            },
            state: Some((
                Origin::Live {
                    cluster: cluster.to_string(),
                    caller: g.caller_arn.clone(),
                },
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

/// The other inputs, read from the files `o` names and the live reads.
struct Read {
    rbac: Option<Rbac>,
    iam: IamDump,
    overrides: Overrides,
}

fn read_others(
    o: &PlanOptions,
    mut rbac_texts: Vec<(String, Vec<u8>)>,
    mut iam: IamDump,
    state: Option<&CurrentState>,
) -> Result<Read, Error> {
    for f in &o.rbac_files {
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
    for f in &o.iam_files {
        iam.add_file(&f.display().to_string(), &read_file(f)?)?;
    }
    let mut overrides = Overrides::default();
    for f in &o.overrides {
        overrides.add_file(&f.display().to_string(), &read_file(f)?)?;
    }
    // Existing entries restore paths, as an IAM dump does.
    for e in state.iter().flat_map(|st| &st.access_entries) {
        iam.add_existing(&e.principal_arn);
    }
    Ok(Read {
        rbac,
        iam,
        overrides,
    })
}

/// Computes the plan from inputs already read (plus the files `o` names).
///
/// # Errors
/// Unreadable or malformed inputs, and options that contradict the current
/// state.
pub fn build(o: &PlanOptions, inputs: Inputs) -> Result<Plan, Error> {
    let Inputs {
        aws_auth: aws_auth_input,
        state,
        undescribed,
        iam,
        rbac_texts,
        known_policies,
        gaps,
    } = inputs;
    let aws_auth = aws_auth_input.read()?;
    let read = read_others(o, rbac_texts, iam, state.as_ref().map(|(_, st)| st))?;
    let (cluster, facts, inferred) = cluster_facts(o, state.as_ref(), &aws_auth)?;
    let ctx = Context {
        cluster: &cluster,
        rbac: read.rbac.as_ref(),
        iam: &read.iam,
        overrides: &read.overrides,
        options: o.mapper,
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
        Some((origin, st)) => {
            let mut c = Current::read(origin, st);
            c.undescribed = undescribed;
            c.known_policies = known_policies;
            c
        }
        None => Current::assumed(),
    };
    let existing = if o.keep_existing_entries {
        Existing::Keep
    } else {
        Existing::Update
    };
    let mut plan = planner::plan(aws_auth_input.label(), facts, mapped, current, existing);
    if o.extras.cleanup_aws_auth {
        plan.aws_auth_cleanup = Some(cleanup_preview(&plan, &aws_auth_input, &aws_auth)?);
    }
    Ok(plan)
}

/// What `--cleanup-aws-auth` would leave of aws-auth after `plan` (an
/// absent aws-auth is an empty one): the same edit `apply` makes.
///
/// # Errors
/// [`Error::Read`] for a file that does not read, [`Error::Cleanup`] when
/// the edit does not verify.
fn cleanup_preview(
    plan: &Plan,
    input: &AwsAuthInput,
    aws_auth: &AwsAuth,
) -> Result<AwsAuthCleanup, Error> {
    let data = match input {
        AwsAuthInput::File { label, bytes } => reader::data(label, bytes)?,
        AwsAuthInput::Live { data, .. } => data.clone().unwrap_or_default(),
    };
    Ok(cleanup::cleaned(&data, aws_auth, &cleanup::migrated(plan))?)
}

fn mismatch(message: String) -> Error {
    Error::Mismatch { message }
}

/// The cluster's partition and account, each from the current state, an
/// option, or inferred from aws-auth (then with a note saying how).
fn cluster_facts(
    o: &PlanOptions,
    state: Option<&(Origin, CurrentState)>,
    aws_auth: &AwsAuth,
) -> Result<(Cluster, ClusterFacts, Option<String>), Error> {
    if let Some((origin, st)) = state {
        let (known, whose) = match origin {
            Origin::Live { .. } => (KnownFrom::Live, "the cluster"),
            Origin::File { .. } | Origin::Assumed => {
                (KnownFrom::CurrentFile, "the current-state file")
            }
        };
        let Some((partition, account)) = st.cluster.partition_and_account() else {
            return Err(mismatch(
                "the current-state file has no cluster ARN with an account".into(),
            ));
        };
        if o.account.as_ref().is_some_and(|a| *a != account) {
            return Err(mismatch(format!(
                "--account differs from the account of {whose} ({account})"
            )));
        }
        if o.partition.is_some_and(|p| p != partition) {
            return Err(mismatch(format!(
                "--partition differs from the partition of {whose} ({partition})"
            )));
        }
        let cluster = Cluster {
            partition,
            account: Some(account),
        };
        let facts = ClusterFacts::new(&cluster, known, known);
        return Ok((cluster, facts, None));
    }
    let (guess, how) = mapper::infer_cluster(aws_auth);
    let cluster = Cluster {
        partition: o.partition.unwrap_or(guess.partition),
        account: o.account.clone().or(guess.account),
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
        origin(o.account.is_some()),
        origin(o.partition.is_some()),
    );
    let mut notes = Vec::new();
    if o.account.is_none() {
        notes.push(format!(
            "account {} inferred from {} (give --account to be sure)",
            cluster.account.as_deref().unwrap_or("unknown"),
            how.account
        ));
    }
    if o.partition.is_none() {
        notes.push(format!(
            "partition {} inferred from {} (give --partition to be sure)",
            cluster.partition, how.partition
        ));
    }
    let note = (!notes.is_empty()).then(|| notes.join("; "));
    Ok((cluster, facts, note))
}

/// A live plan turned into steps, with the guard's verdict.
pub struct Prepared {
    pub plan: Plan,
    pub basis: Basis,
    pub steps: Vec<Step>,
    /// The guard's reasons to refuse (the caller not checked).
    pub refusals: Vec<String>,
    /// aws-auth as read now.
    pub aws_auth: AwsAuth,
}

/// aws-auth's data as the authenticator reads it: each value on its own. An
/// absent aws-auth is an empty one.
pub fn read_data(data: Option<&ConfigMapData>) -> AwsAuth {
    read_data_laid_out(data, None)
}

/// As [`read_data`], with findings at the lines of `layout` (the ConfigMap
/// as `snapshot` writes it).
fn read_data_laid_out(data: Option<&ConfigMapData>, layout: Option<&str>) -> AwsAuth {
    let data = data.into_iter().flatten();
    reader::read_data(
        live::AWS_AUTH_LABEL,
        data.map(|(k, v)| (k.as_str(), v.as_str())),
        layout,
    )
}

/// aws-auth as it will be after `steps`.
///
/// # Errors
/// [`Error::Read`] when the data the steps write does not read.
pub fn kept(steps: &[Step], now: &AwsAuth) -> Result<AwsAuth, Error> {
    match steps.iter().find_map(|s| match s {
        Step::ReplaceAwsAuth { after, .. } => Some(after),
        _ => None,
    }) {
        Some(after) => Ok(read_data(Some(after))),
        None => Ok(now.clone()),
    }
}

/// Plans from what was read live and turns the plan into steps.
///
/// # Errors
/// As [`build`].
pub fn prepare(o: &PlanOptions, cluster: &str, g: Gathered) -> Result<Prepared, Error> {
    let basis = Basis::new(
        g.state.cluster.authentication_mode,
        g.aws_auth_data.clone(),
        g.state.access_entries.clone(),
    );
    let aws_auth = read_data(g.aws_auth_data.as_ref());
    let data = g.aws_auth_data.clone();
    let plan = build(o, Inputs::live(cluster, g))?;
    let steps = steps::steps(&plan, data.as_ref().map(|d| (d, &aws_auth)), o.extras)?;
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

#[cfg(test)]
mod live_data_tests {
    use super::*;

    /// Live findings name the lines of the ConfigMap as `snapshot` writes it.
    #[test]
    fn live_findings_point_at_the_snapshot_lines() {
        let mut data = ConfigMapData::new();
        data.insert(
            "mapUsers".into(),
            "- userarn: arn:aws:iam::111122223333:user/alice\n  username: alice\n  groups: ops\n"
                .into(),
        );
        let cm = k8s_openapi::api::core::v1::ConfigMap {
            data: Some(data.clone()),
            ..Default::default()
        };
        let layout = live::kubernetes::render_configmap(&cm);
        let a = read_data_laid_out(Some(&data), Some(&layout));
        let wrong = a
            .findings
            .iter()
            .find(|f| f.code == Code::WrongFieldType)
            .unwrap();
        let line = wrong.source.as_ref().unwrap().line;
        assert_eq!(
            layout.lines().nth(line - 1),
            Some("      groups: ops"),
            "{layout}"
        );
    }

    /// The authenticator decodes each data value on its own: a control
    /// character that breaks `mapAccounts` must not hide `mapRoles`.
    #[test]
    fn live_data_is_read_one_value_at_a_time() {
        let mut data = ConfigMapData::new();
        data.insert(
            "mapAccounts".into(),
            "- \"111122223333\"\n- x\u{0}y\n".into(),
        );
        data.insert(
            "mapRoles".into(),
            "- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin\n  groups: [ops]\n"
                .into(),
        );
        data.insert(
            "mapUsers".into(),
            "- userarn: arn:aws:iam::111122223333:user/alice\n  username: alice\n".into(),
        );
        let a = read_data(Some(&data));
        let arns: Vec<String> = a.mappings.iter().map(|m| m.target.written()).collect();
        assert_eq!(
            arns,
            [
                "arn:aws:iam::111122223333:role/Admin",
                "arn:aws:iam::111122223333:user/alice"
            ]
        );
    }
}
