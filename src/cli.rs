//! The command line: raw flags (clap) first, then checked settings, so the rest
//! of the program never sees an unchecked value. The edge of the program: it
//! may use anyhow.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::apply::change::Wait;
use crate::live::{AwsSettings, ClientSettings, KubeSettings, LiveSettings};
use crate::mapper::Options;
use crate::migrate::steps::Extras;
use crate::model::arn::Partition;
use crate::model::finding::Severity;
use crate::pipeline::plan::PlanOptions;
use crate::render::export;
use crate::render::Format;

/// Plan the move of an Amazon EKS cluster from the aws-auth ConfigMap to access entries.
#[derive(Debug, Parser)]
#[command(name = "migrate-auth", version, about, max_term_width = 100)]
struct Raw {
    #[command(subcommand)]
    command: RawCommand,
}

#[derive(Debug, Subcommand)]
enum RawCommand {
    /// Show the access entries that would replace aws-auth, and why: offline from
    /// files (--aws-auth-file), or from a live cluster (--cluster).
    Plan(RawPlan),
    /// Write a cluster's current access configuration as JSON (for --current-file).
    Snapshot(RawSnapshot),
    /// Show the changes as a diff, ask, then make them, journaled so they can
    /// be undone: from a live plan (--cluster) or a saved one (PLAN_FILE).
    Apply(RawApply),
    /// Undo what the journal's latest migration changed, newest first.
    Rollback(RawRollback),
    /// Write the migration as code (Terraform, eksctl, CloudFormation), to apply with your own
    /// pipeline instead of `apply`: the access entries and policy
    /// associations the plan wants, with import blocks for those that exist.
    Export(RawExport),
    /// Many clusters, accounts and regions in one run, each through the
    /// single-cluster pipeline, with a run directory and a summary.
    #[command(subcommand)]
    Fleet(RawFleet),
    /// Print a shell completion script (source it, or save it where your
    /// shell looks for completions).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), for `man -l -` or a man directory.
    Man,
}

#[derive(Debug, Args)]
struct RawExport {
    /// A plan saved by `plan --out` (`-` for stdin): export exactly that
    /// plan (no plan inputs then).
    #[arg(
        value_name = "PLAN_FILE",
        group = "source",
        conflicts_with_all = [
            "aws_auth_file", "cluster", "current_file", "rbac_file", "iam_file",
            "overrides", "account", "partition", "expand_sso", "policies_from_rbac",
            "keep_existing_entries", "region", "profile", "assume_role", "lookup_role",
            "kubeconfig", "context",
        ]
    )]
    plan_file: Option<PathBuf>,
    #[command(flatten)]
    inputs: RawPlanInputs,
    /// The format of the code.
    #[arg(long, value_enum)]
    format: ExportFormat,
    /// The cluster's name in the code (a variable's default; else the live
    /// cluster's name, else none: the variable must be set).
    #[arg(long, value_name = "NAME")]
    cluster_name: Option<String>,
    /// Write the code here instead of stdout (0600).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Export even while `error` findings stand: their principals are left
    /// out, and listed in a comment.
    #[arg(long)]
    allow_errors: bool,
    /// With --format terraform-module: the address of your
    /// terraform-aws-eks module block, for the import and moved blocks
    /// [default: module.eks].
    #[arg(long, value_name = "ADDRESS")]
    module_address: Option<String>,
}

/// `export --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// `aws_eks_access_entry` and `aws_eks_access_policy_association`
    /// resources, with `import {}` blocks (Terraform 1.5+).
    Terraform,
    /// The `access_entries` map of the terraform-aws-modules/eks/aws module
    /// (v20, v21), with the `import` and `moved` blocks its addresses need.
    TerraformModule,
    /// An eksctl ClusterConfig with its `accessConfig.accessEntries`.
    Eksctl,
    /// A CloudFormation template of `AWS::EKS::AccessEntry` resources.
    Cloudformation,
}

/// Checked settings of `export`.
#[derive(Debug, Clone)]
pub struct ExportSettings {
    pub from: ExportFrom,
    pub format: ExportFormat,
    pub cluster_name: Option<String>,
    pub out: Option<PathBuf>,
    pub allow_errors: bool,
    /// The module's address (`module.eks`), for `terraform-module`.
    pub module_address: String,
}

/// Where `export` takes its plan from.
#[derive(Debug, Clone)]
pub enum ExportFrom {
    /// It makes the plan, as `plan` does.
    Plan(Box<Source>, PlanOptions),
    /// A plan saved by `plan --out`.
    Saved(PathBuf),
}

/// `fleet` subcommands.
#[derive(Debug, Subcommand)]
enum RawFleet {
    /// Plan every cluster of a fleet file, read-only: a run directory with
    /// each cluster's plan (JSON and text), and a summary.
    Plan(RawFleetPlan),
    /// Apply every cluster of a fleet file, wave by wave (a wave starts only
    /// when the one before succeeded), each through the single-cluster apply
    /// with its own journal, lock and rollback; an existing run directory is
    /// resumed.
    Apply(RawFleetApply),
    /// Say where each cluster of a run directory is (from its files).
    Status(RawFleetStatus),
    /// Undo every cluster of a run directory, newest wave first, each
    /// through the single-cluster rollback (with its lockout guard).
    Rollback(RawFleetRollback),
    /// Merge the summaries of several run directories (one per shard) into
    /// the one a single run would have written.
    Report(RawFleetReport),
}

#[derive(Debug, Args)]
struct RawFleetStatus {
    /// The run directory.
    #[arg(value_name = "RUN_DIR")]
    run_dir: PathBuf,
    /// The format.
    #[arg(short, long, value_enum, default_value_t = RawFormat::Text)]
    output: RawFormat,
}

#[derive(Debug, Args)]
struct RawFleetRollback {
    /// The run directory.
    #[arg(value_name = "RUN_DIR")]
    run_dir: PathBuf,
    /// Undo without asking (required: a fleet never prompts).
    #[arg(long, required = true)]
    yes: bool,
    /// How many clusters are undone at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    parallel: usize,
    /// The summary's format.
    #[arg(short, long, value_enum, default_value_t = RawFormat::Text)]
    output: RawFormat,
}

#[derive(Debug, Args)]
struct RawFleetReport {
    /// The run directories (one per shard).
    #[arg(value_name = "RUN_DIR", required = true)]
    run_dirs: Vec<PathBuf>,
    /// The format.
    #[arg(short, long, value_enum, default_value_t = RawFormat::Text)]
    output: RawFormat,
}

/// What every fleet command takes.
#[derive(Debug, Args)]
struct RawFleetRun {
    /// The fleet file: `defaults`, `clusters`, `discover` (see the README).
    #[arg(long, value_name = "FILE")]
    fleet: PathBuf,
    /// Where the run's files go (default ./migrate-auth-runs/<UTC time>).
    #[arg(long, value_name = "DIR")]
    run_dir: Option<PathBuf>,
    /// How many clusters run at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    parallel: usize,
    /// How many API calls may be under way at once, per cluster.
    #[arg(long, value_name = "N", default_value_t = 16)]
    concurrency: usize,
    /// This runner's part of the fleet: the clusters whose ARN hashes to K of
    /// N (a CI matrix, a Kubernetes Indexed Job).
    #[arg(long, value_name = "K/N", value_parser = crate::fleet::Shard::parse)]
    shard: Option<crate::fleet::Shard>,
    /// The summary's format.
    #[arg(short, long, value_enum, default_value_t = RawFormat::Text)]
    output: RawFormat,
}

#[derive(Debug, Args)]
struct RawFleetPlan {
    #[command(flatten)]
    run: RawFleetRun,
}

#[derive(Debug, Args)]
struct RawFleetApply {
    #[command(flatten)]
    run: RawFleetRun,
    /// Apply without asking (required: a fleet never prompts).
    #[arg(long, required = true)]
    yes: bool,
    /// Start no new cluster once this many have failed.
    #[arg(long, value_name = "N")]
    max_failures: Option<usize>,
    #[command(flatten)]
    extras: RawExtras,
    /// Allow the irreversible switch to API (with --target-mode API).
    #[arg(long)]
    confirm_irreversible: bool,
    /// How long to wait for an authentication-mode update (e.g. 30m, 90s).
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    wait_timeout: Duration,
    /// How often to poll the update (e.g. 10s, 500ms).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    poll_interval: Duration,
}

/// What to do beyond creating entries (apply, and plan --out).
#[derive(Debug, Args)]
struct RawExtras {
    /// After the entries exist, remove the migrated mappings from aws-auth
    /// (guarded against lockout; only at the resourceVersion read), editing
    /// only their lines. `plan` shows the aws-auth it leaves as a diff.
    #[arg(long)]
    cleanup_aws_auth: bool,
    /// The mode to end in; API (irreversible: aws-auth stops counting) is
    /// guarded against lockout. `plan` takes API only with --out.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = TargetMode::ApiAndConfigMap)]
    target_mode: TargetMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TargetMode {
    #[value(name = "API_AND_CONFIG_MAP", alias = "api-and-config-map")]
    ApiAndConfigMap,
    #[value(name = "API", alias = "api")]
    Api,
}

#[derive(Debug, Args)]
struct RawApply {
    /// A plan saved with `plan --cluster NAME --out FILE`; refused when the
    /// cluster changed since.
    #[arg(value_name = "PLAN_FILE")]
    plan_file: Option<PathBuf>,
    /// The EKS cluster's name (from the plan file when one is given).
    #[arg(long, value_name = "NAME", required_unless_present = "plan_file")]
    cluster: Option<String>,
    #[command(flatten)]
    connection: RawConnection,
    /// Human decisions that settle `error` findings (see the README); repeatable.
    #[arg(long, value_name = "FILE")]
    overrides: Vec<PathBuf>,
    /// Expand `sso` matchers into one entry per matching role.
    #[arg(long)]
    expand_sso: bool,
    /// Replace groups bound only to cluster-admin/admin/edit/view by access policies.
    #[arg(long)]
    policies_from_rbac: bool,
    /// Leave an existing access entry that differs from aws-auth as it is
    /// (the mapping is reported as shadowed) instead of updating it.
    #[arg(long)]
    keep_existing_entries: bool,
    #[command(flatten)]
    extras: RawExtras,
    /// Do not ask: apply (scripts). Switching to API also needs --confirm-irreversible.
    #[arg(long)]
    yes: bool,
    /// With --yes, allow the irreversible switch to API without typing the cluster name.
    #[arg(long, requires = "yes")]
    confirm_irreversible: bool,
    /// The journal (default: $XDG_STATE_HOME/migrate-auth/ACCOUNT/REGION/CLUSTER.journal).
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
    /// On a failure, leave what was done in place instead of undoing it.
    #[arg(long)]
    no_rollback: bool,
    /// How long to wait for an authentication-mode update (e.g. 30m, 90s).
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    wait_timeout: Duration,
    /// How often to poll the update (e.g. 10s, 500ms).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    poll_interval: Duration,
    /// Take over the cluster's lock from run RUN, which you know is gone.
    #[arg(long, value_name = "RUN")]
    force_unlock: Option<String>,
    #[command(flatten)]
    report: RawReport,
}

/// How `apply` and `rollback` report.
#[derive(Debug, Args)]
struct RawReport {
    /// The result's format: text, or one JSON document on stdout (schemaVersion 1;
    /// the diff, prompts and progress then go to stderr).
    #[arg(short, long, value_enum, default_value_t = RawRunFormat::Text)]
    output: RawRunFormat,
    /// No progress display (a bar on a terminal, timestamped lines otherwise).
    #[arg(short, long)]
    quiet: bool,
}

/// `--output` of `apply` and `rollback`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RawRunFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
struct RawRollback {
    /// The journal of the run to undo.
    #[arg(long, value_name = "FILE")]
    journal: PathBuf,
    #[command(flatten)]
    connection: RawConnection,
    /// Do not ask.
    #[arg(long)]
    yes: bool,
    /// Undo even when the lockout guard refuses (someone, or you, would lose
    /// access): asks for the cluster's name to be typed, even with --yes.
    #[arg(long)]
    force: bool,
    /// Take over the cluster's lock from run RUN, which you know is gone.
    #[arg(long, value_name = "RUN")]
    force_unlock: Option<String>,
    #[command(flatten)]
    report: RawReport,
}

/// The checked settings every fleet command takes.
fn fleet_run(f: RawFleetRun) -> Result<FleetRun> {
    for (flag, n) in [("--parallel", f.parallel), ("--concurrency", f.concurrency)] {
        if !(1..=64).contains(&n) {
            bail!("{flag} must be between 1 and 64");
        }
    }
    Ok(FleetRun {
        fleet: f.fleet,
        run_dir: f.run_dir,
        parallel: f.parallel,
        concurrency: f.concurrency,
        shard: f.shard,
        format: format(f.output),
    })
}

fn check_fleet_apply(f: RawFleetApply) -> Result<Command> {
    if f.poll_interval.is_zero() || f.wait_timeout.is_zero() {
        bail!("--wait-timeout and --poll-interval must be more than 0");
    }
    let extras = extras(f.extras);
    if extras.target_api && !f.confirm_irreversible {
        bail!("--target-mode API switches every cluster irreversibly: give --confirm-irreversible too");
    }
    if f.max_failures == Some(0) {
        bail!("--max-failures must be at least 1");
    }
    Ok(Command::Fleet(FleetCommand::Apply(FleetApplySettings {
        run: fleet_run(f.run)?,
        max_failures: f.max_failures,
        extras,
        confirm_irreversible: f.confirm_irreversible,
        wait: Wait {
            timeout: f.wait_timeout,
            poll: f.poll_interval,
        },
    })))
}

/// The checked format of `--output`.
fn format(raw: RawFormat) -> Format {
    match raw {
        RawFormat::Text => Format::Text,
        RawFormat::Json => Format::Json,
        RawFormat::Markdown => Format::Markdown,
    }
}

/// "30m", "90s", "250ms", "1h" -> a duration.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 30m, 90s or 500ms"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" | "" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => return Err(format!("{s:?}: unit must be ms, s, m or h")),
    };
    Ok(d)
}

/// How to reach a live cluster.
#[derive(Debug, Args)]
struct RawConnection {
    /// AWS region of the cluster (else the standard chain: AWS_REGION, the profile).
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// AWS profile to use.
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Assume this role for every AWS call (a cross-account run).
    #[arg(long, value_name = "ROLE_ARN")]
    assume_role: Option<String>,
    /// Assume this role to look up aws-auth's principals in its account with
    /// IAM (repeatable; principals of accounts without one are reported).
    #[arg(long, value_name = "ROLE_ARN")]
    lookup_role: Vec<String>,
    /// Kubeconfig to use (else KUBECONFIG, ~/.kube/config, or straight from
    /// DescribeCluster with an EKS token when there is none).
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use.
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
    /// How many API calls may be under way at once.
    #[arg(long, value_name = "N", default_value_t = 16)]
    concurrency: usize,
}

#[derive(Debug, Args)]
struct RawSnapshot {
    /// The EKS cluster's name.
    #[arg(long, value_name = "NAME")]
    cluster: String,
    #[command(flatten)]
    connection: RawConnection,
    /// Write the state here instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also write the aws-auth ConfigMap (YAML, as kubectl prints it) here.
    #[arg(long, value_name = "FILE")]
    aws_auth_out: Option<PathBuf>,
    /// Also write the RBAC bindings (JSON List) here.
    #[arg(long, value_name = "FILE")]
    rbac_out: Option<PathBuf>,
    /// Also write what IAM said of aws-auth's principals (as `aws iam list-roles`
    /// and `list-users` print it) here, for `plan --iam-file`.
    #[arg(long, value_name = "FILE")]
    iam_out: Option<PathBuf>,
    /// List IAM Identity Center roles too (for `plan --expand-sso`).
    #[arg(long)]
    expand_sso: bool,
}

/// What a plan is made from: aws-auth (a file, or a live cluster) and the
/// inputs beside it.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["aws_auth_file", "cluster"])))]
struct RawPlanInputs {
    /// The aws-auth ConfigMap as `kubectl get cm aws-auth -n kube-system -o yaml|json`
    /// prints it (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    aws_auth_file: Option<PathBuf>,
    /// Plan against this live EKS cluster instead of files.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["aws_auth_file", "current_file"])]
    cluster: Option<String>,
    #[command(flatten)]
    connection: RawConnection,
    /// RBAC objects (`kubectl get clusterroles,clusterrolebindings,roles,rolebindings -A
    /// -o yaml`); repeatable.
    #[arg(long, value_name = "FILE")]
    rbac_file: Vec<PathBuf>,
    /// IAM roles or users (`aws iam list-roles` / `aws iam list-users`), to restore role
    /// paths; repeatable.
    #[arg(long, value_name = "FILE")]
    iam_file: Vec<PathBuf>,
    /// Human decisions that settle `error` findings (see the README); repeatable.
    #[arg(long, value_name = "FILE")]
    overrides: Vec<PathBuf>,
    /// The cluster's current state as `migrate-auth snapshot` writes it (JSON).
    #[arg(long, value_name = "FILE")]
    current_file: Option<PathBuf>,
    /// The cluster's AWS account id (else from --current-file, else inferred).
    #[arg(long, value_name = "ID")]
    account: Option<String>,
    /// The cluster's partition (else from --current-file, else inferred).
    #[arg(long, value_name = "NAME", value_parser = parse_partition)]
    partition: Option<Partition>,
    /// Expand `sso` matchers into one entry per matching role (needs --iam-file).
    #[arg(long)]
    expand_sso: bool,
    /// Replace groups bound only to cluster-admin/admin/edit/view by access policies.
    #[arg(long)]
    policies_from_rbac: bool,
    /// Leave an existing access entry that differs from aws-auth as it is
    /// (the mapping is reported as shadowed) instead of updating it.
    #[arg(long)]
    keep_existing_entries: bool,
}

#[derive(Debug, Args)]
struct RawPlan {
    #[command(flatten)]
    inputs: RawPlanInputs,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = RawFormat::Text)]
    output: RawFormat,
    /// When to colour text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Exit 2 when the plan has changes (0: none, 1: error).
    #[arg(long)]
    detailed_exitcode: bool,
    /// Exit 1 when any finding is at least this severe.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    fail_on: Option<FailOn>,
    /// The severities the text and Markdown plans list (the summary counts
    /// all; JSON lists all).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        value_name = "SEVERITIES",
        default_value = "error,warning,info"
    )]
    findings: Vec<Shown>,
    /// List every finding on its own line in the text and Markdown plans (by
    /// default, more than 3 alike infos or warnings are one grouped line).
    #[arg(long)]
    findings_ungrouped: bool,
    /// Save the plan for `apply FILE` (live plans only), with a fingerprint
    /// of the state it was computed from.
    #[arg(long, value_name = "FILE", requires = "cluster")]
    out: Option<PathBuf>,
    #[command(flatten)]
    extras: RawExtras,
}

/// `--output`: the plan's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RawFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// `--findings`: a severity to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Shown {
    Error,
    Warning,
    Info,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    Warning,
    Error,
}

fn parse_partition(s: &str) -> Result<Partition, String> {
    Partition::from_name(s).ok_or_else(|| {
        format!(
            "unknown partition; one of {}",
            Partition::ALL.map(Partition::as_str).join(", ")
        )
    })
}

/// Where an input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    /// The name used in messages.
    pub fn label(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".into(),
            Input::File(p) => p.display().to_string(),
        }
    }
}

/// Where `plan` reads aws-auth and the current state from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Files: aws-auth, and the current state if given.
    Files {
        aws_auth: Input,
        current_file: Option<PathBuf>,
    },
    /// A live cluster.
    Live(LiveSettings),
}

/// Checked settings of `snapshot`.
#[derive(Debug, Clone)]
pub struct SnapshotSettings {
    pub live: LiveSettings,
    pub out: Option<PathBuf>,
    pub aws_auth_out: Option<PathBuf>,
    pub rbac_out: Option<PathBuf>,
    pub iam_out: Option<PathBuf>,
}

/// How `plan` shows the plan.
#[derive(Debug, Clone)]
pub struct Output {
    pub format: Format,
    pub color: bool,
    pub detailed_exitcode: bool,
    pub fail_on: Option<Severity>,
    /// The severities the text and Markdown plans list.
    pub findings: Vec<Severity>,
    /// Group repeated findings in the text and Markdown plans.
    pub grouped: bool,
}

/// Checked settings of `plan`.
#[derive(Debug, Clone)]
pub struct PlanSettings {
    pub source: Source,
    pub plan: PlanOptions,
    pub output: Output,
    /// `--out`: save the plan here (live only).
    pub out: Option<PathBuf>,
}

/// What `apply` carries out.
#[derive(Debug, Clone)]
pub enum ApplyTarget {
    /// A plan made now, of this cluster.
    Live(LiveSettings),
    /// A saved plan; the cluster (and region, unless given) come from it.
    SavedPlan {
        file: PathBuf,
        /// `--cluster`, which must then match the plan's.
        cluster: Option<String>,
        client: ClientSettings,
    },
}

/// Checked settings of `apply`.
#[derive(Debug, Clone)]
pub struct ApplySettings {
    pub target: ApplyTarget,
    /// How to plan a live plan (a saved plan carries its own).
    pub plan: PlanOptions,
    pub yes: bool,
    pub confirm_irreversible: bool,
    pub journal: Option<PathBuf>,
    pub no_rollback: bool,
    pub wait: Wait,
    /// Take over the cluster's lock from this run.
    pub force_unlock: Option<String>,
    pub report: ReportSettings,
}

/// How `apply` and `rollback` report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportSettings {
    /// The result as one JSON document on stdout (everything else on stderr).
    pub json: bool,
    /// No progress display.
    pub quiet: bool,
}

impl From<RawReport> for ReportSettings {
    fn from(r: RawReport) -> Self {
        ReportSettings {
            json: r.output == RawRunFormat::Json,
            quiet: r.quiet,
        }
    }
}

/// Checked settings of `rollback`. The cluster's name (and region, unless
/// given) come from the journal.
#[derive(Debug, Clone)]
pub struct RollbackSettings {
    pub journal: PathBuf,
    pub client: ClientSettings,
    pub yes: bool,
    /// Undo even when the lockout guard refuses, after typing the name.
    pub force: bool,
    /// Take over the cluster's lock from this run.
    pub force_unlock: Option<String>,
    pub report: ReportSettings,
}

/// Checked settings every fleet command takes.
#[derive(Debug, Clone)]
pub struct FleetRun {
    pub fleet: PathBuf,
    pub run_dir: Option<PathBuf>,
    pub parallel: usize,
    pub concurrency: usize,
    pub shard: Option<crate::fleet::Shard>,
    pub format: Format,
}

/// Checked settings of `fleet apply`.
#[derive(Debug, Clone)]
pub struct FleetApplySettings {
    pub run: FleetRun,
    pub max_failures: Option<usize>,
    pub extras: Extras,
    pub confirm_irreversible: bool,
    pub wait: Wait,
}

/// A checked `fleet` command.
#[derive(Debug, Clone)]
pub enum FleetCommand {
    Plan(FleetRun),
    Apply(FleetApplySettings),
    Status {
        run_dir: PathBuf,
        format: Format,
    },
    Rollback {
        run_dir: PathBuf,
        parallel: usize,
        format: Format,
    },
    Report {
        run_dirs: Vec<PathBuf>,
        format: Format,
    },
}

/// A checked command.
#[derive(Debug, Clone)]
pub enum Command {
    Export(ExportSettings),
    Fleet(FleetCommand),
    Plan(PlanSettings),
    Snapshot(SnapshotSettings),
    Apply(ApplySettings),
    Rollback(RollbackSettings),
}

fn extras(e: RawExtras) -> Extras {
    Extras {
        cleanup_aws_auth: e.cleanup_aws_auth,
        target_api: e.target_mode == TargetMode::Api,
    }
}

/// What parsing the command line produced.
#[derive(Debug)]
pub enum Parsed {
    Run(Box<Command>),
    /// Help or version text to print, then exit 0.
    Print(String),
    /// A usage error to print, then exit 1.
    Usage(String),
}

/// Parses and checks `args` (the first is the program name).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Parsed {
    let raw = match Raw::try_parse_from(args) {
        Ok(raw) => raw,
        Err(e) => {
            use clap::error::ErrorKind;
            let text = e.render().to_string();
            return match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => Parsed::Print(text),
                _ => Parsed::Usage(text),
            };
        }
    };
    let command = match raw.command {
        RawCommand::Completions { shell } => return Parsed::Print(completions(shell)),
        RawCommand::Man => {
            return match man_page() {
                Ok(text) => Parsed::Print(text),
                Err(e) => Parsed::Usage(format!("error: cannot render the manual page: {e}\n")),
            }
        }
        other => other,
    };
    match check(command) {
        Ok(c) => Parsed::Run(Box::new(c)),
        Err(e) => Parsed::Usage(format!("error: {e:#}\n")),
    }
}

/// The completion script for `shell`.
fn completions(shell: clap_complete::Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Raw::command(), "migrate-auth", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The manual page, in roff.
fn man_page() -> std::io::Result<String> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Raw::command()).render(&mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn client_settings(
    c: RawConnection,
    expand_sso: bool,
    describe_all: bool,
) -> Result<ClientSettings> {
    if c.concurrency == 0 || c.concurrency > 64 {
        bail!("--concurrency must be between 1 and 64");
    }
    for role in c.assume_role.iter().chain(&c.lookup_role) {
        match crate::model::arn::Arn::parse(role) {
            Ok(a) if a.kind == crate::model::arn::PrincipalKind::Role => {}
            _ => bail!("{role:?} is not an IAM role ARN"),
        }
    }
    Ok(ClientSettings {
        aws: AwsSettings {
            profile: c.profile,
            region: c.region,
            assume_role: c.assume_role,
            lookup_roles: c.lookup_role,
            max_attempts: 5,
        },
        kube: KubeSettings {
            kubeconfig: c.kubeconfig,
            context: c.context,
        },
        concurrency: c.concurrency,
        expand_sso,
        describe_all,
        limit: None,
        listings: None,
    })
}

fn live_settings(
    cluster: String,
    c: RawConnection,
    expand_sso: bool,
    describe_all: bool,
) -> Result<LiveSettings> {
    if cluster.is_empty() {
        bail!("--cluster needs a name");
    }
    Ok(client_settings(c, expand_sso, describe_all)?.for_cluster(&cluster))
}

/// Checks `export`'s flags: the plan's source (its inputs, or a saved plan),
/// `--cluster-name`, and `--module-address` (only for `terraform-module`).
fn check_export(e: RawExport) -> Result<Command> {
    check_stdin(&e.inputs)?;
    if let Some(name) = e
        .cluster_name
        .as_deref()
        .filter(|n| !crate::model::cluster::is_cluster_name(n))
    {
        bail!("--cluster-name {name:?} is not an EKS cluster name (letters, digits, - and _)");
    }
    let module_address = match (&e.module_address, e.format) {
        (Some(_), f) if f != ExportFormat::TerraformModule => {
            bail!("--module-address is for --format terraform-module")
        }
        (Some(a), _) if !export::terraform_module::is_module_address(a) => bail!(
            "--module-address {a:?} is not a module address (module.NAME, or module.A.module.B)"
        ),
        (a, _) => a.clone().unwrap_or_else(|| "module.eks".into()),
    };
    let from = match e.plan_file {
        Some(file) => ExportFrom::Saved(file),
        None => {
            let (source, plan) = plan_inputs(e.inputs, false)?;
            ExportFrom::Plan(Box::new(source), plan)
        }
    };
    Ok(Command::Export(ExportSettings {
        from,
        format: e.format,
        cluster_name: e.cluster_name,
        out: e.out,
        allow_errors: e.allow_errors,
        module_address,
    }))
}

fn check(command: RawCommand) -> Result<Command> {
    match command {
        RawCommand::Completions { .. } | RawCommand::Man => {
            bail!("completions and man are printed while parsing, not run")
        }
        RawCommand::Plan(p) => check_plan(p),
        RawCommand::Export(e) => check_export(e),
        RawCommand::Fleet(RawFleet::Plan(f)) => {
            Ok(Command::Fleet(FleetCommand::Plan(fleet_run(f.run)?)))
        }
        RawCommand::Fleet(RawFleet::Apply(f)) => check_fleet_apply(f),
        RawCommand::Fleet(RawFleet::Status(f)) => Ok(Command::Fleet(FleetCommand::Status {
            run_dir: f.run_dir,
            format: format(f.output),
        })),
        RawCommand::Fleet(RawFleet::Rollback(f)) => {
            if !(1..=64).contains(&f.parallel) {
                bail!("--parallel must be between 1 and 64");
            }
            Ok(Command::Fleet(FleetCommand::Rollback {
                run_dir: f.run_dir,
                parallel: f.parallel,
                format: format(f.output),
            }))
        }
        RawCommand::Fleet(RawFleet::Report(f)) => Ok(Command::Fleet(FleetCommand::Report {
            run_dirs: f.run_dirs,
            format: format(f.output),
        })),
        RawCommand::Apply(a) => check_apply(a),
        RawCommand::Rollback(r) => Ok(Command::Rollback(RollbackSettings {
            journal: r.journal,
            client: client_settings(r.connection, false, true)?,
            yes: r.yes,
            force: r.force,
            force_unlock: r.force_unlock,
            report: r.report.into(),
        })),
        RawCommand::Snapshot(s) => Ok(Command::Snapshot(SnapshotSettings {
            live: live_settings(s.cluster, s.connection, s.expand_sso, true)?,
            out: s.out,
            aws_auth_out: s.aws_auth_out,
            rbac_out: s.rbac_out,
            iam_out: s.iam_out,
        })),
    }
}

/// Only `--aws-auth-file` may be `-` (stdin), and only once.
fn check_stdin(p: &RawPlanInputs) -> Result<()> {
    let stdin_count = p
        .aws_auth_file
        .iter()
        .chain(&p.rbac_file)
        .chain(&p.iam_file)
        .chain(&p.overrides)
        .chain(&p.current_file)
        .filter(|f| f.as_os_str() == "-")
        .count();
    let aws_auth_is_stdin = p
        .aws_auth_file
        .as_ref()
        .is_some_and(|f| f.as_os_str() == "-");
    if stdin_count > 0 && !aws_auth_is_stdin || stdin_count > 1 {
        bail!("only --aws-auth-file can be read from stdin (`-`)");
    }
    Ok(())
}

/// How `plan` shows the plan: `auto` colours only a terminal without `NO_COLOR`.
fn output(p: &RawPlan) -> Output {
    let color = match p.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    Output {
        format: format(p.output),
        color,
        detailed_exitcode: p.detailed_exitcode,
        fail_on: p.fail_on.map(|f| match f {
            FailOn::Warning => Severity::Warning,
            FailOn::Error => Severity::Error,
        }),
        findings: p
            .findings
            .iter()
            .map(|f| match f {
                Shown::Error => Severity::Error,
                Shown::Warning => Severity::Warning,
                Shown::Info => Severity::Info,
            })
            .collect(),
        grouped: !p.findings_ungrouped,
    }
}

fn check_plan(p: RawPlan) -> Result<Command> {
    // A plan previews the cleanup; the switch to API it cannot show, so
    // only a saved plan (which apply checks against its options) takes it.
    if p.out.is_none() && p.extras.target_mode == TargetMode::Api {
        bail!("--target-mode API shapes a saved plan: give --cluster NAME --out FILE too (or pass it to apply)");
    }
    if p.out.is_some() && !(p.inputs.rbac_file.is_empty() && p.inputs.iam_file.is_empty()) {
        bail!("--rbac-file and --iam-file cannot shape a saved plan: apply makes it again from the cluster, which it reads live (RBAC and IAM included)");
    }
    check_stdin(&p.inputs)?;
    let output = output(&p);
    let (source, plan) = plan_inputs(p.inputs, p.out.is_some())?;
    Ok(Command::Plan(PlanSettings {
        source,
        plan: PlanOptions {
            extras: extras(p.extras),
            ..plan
        },
        output,
        out: p.out,
    }))
}

/// Where a plan comes from, and how it is made (all but the extras);
/// `saved` when it is saved for `apply` (it then describes every entry).
fn plan_inputs(i: RawPlanInputs, saved: bool) -> Result<(Source, PlanOptions)> {
    if let Some(a) = &i.account {
        if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
            bail!("--account {a:?} is not a 12-digit AWS account id");
        }
    }
    let source = match (i.cluster, i.aws_auth_file) {
        (Some(cluster), _) => {
            Source::Live(live_settings(cluster, i.connection, i.expand_sso, saved)?)
        }
        (None, Some(file)) => Source::Files {
            aws_auth: if file.as_os_str() == "-" {
                Input::Stdin
            } else {
                Input::File(file)
            },
            current_file: i.current_file,
        },
        (None, None) => bail!("give --aws-auth-file FILE (offline) or --cluster NAME (live)"),
    };
    let plan = PlanOptions {
        rbac_files: i.rbac_file,
        iam_files: i.iam_file,
        overrides: i.overrides,
        account: i.account,
        partition: i.partition,
        mapper: Options {
            expand_sso: i.expand_sso,
            policies_from_rbac: i.policies_from_rbac,
        },
        extras: Extras::default(),
        keep_existing_entries: i.keep_existing_entries,
    };
    Ok((source, plan))
}

fn check_apply(a: RawApply) -> Result<Command> {
    if a.poll_interval.is_zero() || a.wait_timeout.is_zero() {
        bail!("--wait-timeout and --poll-interval must be more than 0");
    }
    if a.cluster.as_deref() == Some("") {
        bail!("--cluster needs a name");
    }
    let target = match a.plan_file {
        Some(file) => ApplyTarget::SavedPlan {
            file,
            cluster: a.cluster,
            client: client_settings(a.connection, a.expand_sso, true)?,
        },
        None => {
            let Some(cluster) = a.cluster else {
                bail!("give --cluster NAME (plan and apply now) or a saved PLAN_FILE");
            };
            ApplyTarget::Live(live_settings(cluster, a.connection, a.expand_sso, true)?)
        }
    };
    Ok(Command::Apply(ApplySettings {
        target,
        plan: PlanOptions {
            overrides: a.overrides,
            mapper: Options {
                expand_sso: a.expand_sso,
                policies_from_rbac: a.policies_from_rbac,
            },
            extras: extras(a.extras),
            keep_existing_entries: a.keep_existing_entries,
            ..PlanOptions::default()
        },
        yes: a.yes,
        confirm_irreversible: a.confirm_irreversible,
        journal: a.journal,
        no_rollback: a.no_rollback,
        wait: Wait {
            timeout: a.wait_timeout,
            poll: a.poll_interval,
        },
        force_unlock: a.force_unlock,
        report: a.report.into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Parsed {
        parse(
            std::iter::once("migrate-auth")
                .chain(args.iter().copied())
                .map(OsString::from),
        )
    }

    #[test]
    fn live_and_file_sources_exclude_each_other() {
        let Parsed::Usage(msg) = parse_args(&["plan", "--aws-auth-file", "f", "--cluster", "c"])
        else {
            panic!("accepted both sources");
        };
        assert!(msg.contains("--cluster"), "{msg}");
        let Parsed::Usage(msg) = parse_args(&["plan"]) else {
            panic!("accepted no source");
        };
        assert!(msg.contains("--aws-auth-file"), "{msg}");
        let Parsed::Run(command) = parse_args(&[
            "plan",
            "--cluster",
            "prod",
            "--region",
            "eu-west-1",
            "--concurrency",
            "4",
        ]) else {
            panic!("refused a live plan");
        };
        let Command::Plan(s) = *command else {
            panic!("not a plan")
        };
        let Source::Live(l) = s.source else {
            panic!("not live")
        };
        assert_eq!(
            (
                l.cluster.as_str(),
                l.client.aws.region.as_deref(),
                l.client.concurrency
            ),
            ("prod", Some("eu-west-1"), 4)
        );
    }

    #[test]
    fn checks_the_account_id() {
        let Parsed::Usage(msg) = parse_args(&["plan", "--aws-auth-file", "f", "--account", "12"])
        else {
            panic!("accepted a bad account id");
        };
        assert!(msg.contains("12-digit"), "{msg}");
    }

    #[test]
    fn only_aws_auth_reads_stdin() {
        let Parsed::Usage(msg) = parse_args(&["plan", "--aws-auth-file", "f", "--iam-file", "-"])
        else {
            panic!("accepted stdin for --iam-file");
        };
        assert!(msg.contains("stdin"), "{msg}");
    }

    #[test]
    fn settings_carry_the_flags() {
        let Parsed::Run(command) = parse_args(&[
            "plan",
            "--aws-auth-file",
            "-",
            "--partition",
            "aws-cn",
            "--fail-on",
            "warning",
            "--expand-sso",
            "-o",
            "json",
            "--color",
            "always",
        ]) else {
            panic!("refused valid flags");
        };
        let Command::Plan(s) = *command else {
            panic!("not a plan")
        };
        assert!(matches!(
            s.source,
            Source::Files {
                aws_auth: Input::Stdin,
                ..
            }
        ));
        assert_eq!(s.plan.partition, Some(Partition::AwsCn));
        assert_eq!(s.output.fail_on, Some(Severity::Warning));
        assert!(s.plan.mapper.expand_sso && s.output.color);
        assert_eq!(s.output.format, Format::Json);
    }

    #[test]
    fn apply_takes_its_options_from_the_command_line_even_with_a_plan_file() {
        // A plan file cannot choose its options: they are given again, and
        // apply checks they match the file's.
        let Parsed::Run(command) = parse_args(&["apply", "plan.json", "--cleanup-aws-auth"]) else {
            panic!("refused extras with a plan file");
        };
        let Command::Apply(a) = *command else {
            panic!("not an apply")
        };
        assert!(a.plan.extras.cleanup_aws_auth);
        assert!(matches!(a.target, ApplyTarget::SavedPlan { .. }));
        let Parsed::Usage(msg) = parse_args(&["apply", "--cluster", "c", "--confirm-irreversible"])
        else {
            panic!("accepted --confirm-irreversible without --yes");
        };
        assert!(msg.contains("--yes"), "{msg}");
        let Parsed::Usage(msg) =
            parse_args(&["plan", "--aws-auth-file", "f", "--target-mode", "API"])
        else {
            panic!("accepted --target-mode without --out");
        };
        assert!(msg.contains("--out"), "{msg}");
        let Parsed::Run(command) = parse_args(&[
            "apply",
            "--cluster",
            "prod",
            "--cleanup-aws-auth",
            "--target-mode",
            "API",
            "--wait-timeout",
            "90s",
            "--poll-interval",
            "250ms",
        ]) else {
            panic!("refused a valid apply");
        };
        let Command::Apply(a) = *command else {
            panic!("not apply")
        };
        assert!(a.plan.extras.cleanup_aws_auth && a.plan.extras.target_api);
        assert_eq!(a.wait.timeout, Duration::from_secs(90));
        assert_eq!(a.wait.poll, Duration::from_millis(250));
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("").is_err());
    }
}
