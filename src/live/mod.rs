//! Reading a live cluster: the edge that talks to AWS (EKS, IAM, STS) and to
//! the Kubernetes API with the real SDK clients, and turns what it reads into
//! the same inputs the offline plan takes: the aws-auth file, RBAC, IAM facts
//! and the current state. Independent calls run concurrently, `concurrency` at
//! a time; throttling and 5xx are retried by the SDK.

pub mod aws;
pub mod change;
pub mod eks;
pub mod iam;
pub mod kubernetes;
pub mod token;

use std::collections::{BTreeSet, HashMap};
use std::time::SystemTime;

use aws_credential_types::provider::ProvideCredentials;
use futures::{StreamExt, TryStreamExt};
use tokio::sync::Semaphore;

use crate::arn::{Arn, PrincipalKind};
use crate::entry::{AccessScope, EntryType, CLUSTER_ADMIN_POLICY};
use crate::inputs::current::{ClusterInfo, CurrentEntry, CurrentState, EksOwner, OwnedRole};
use crate::inputs::iam::{IamDump, IamKind};
use crate::reader::{self, Target};

pub use aws::AwsSettings;
pub use kubernetes::KubeSettings;

/// An absent aws-auth, as the empty ConfigMap it is equivalent to.
pub const EMPTY_AWS_AUTH: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\n";

/// The label the live aws-auth carries in findings.
pub const AWS_AUTH_LABEL: &str = "kube-system/aws-auth";

/// Why the live cluster could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// No region anywhere in the configuration.
    #[error("no AWS region: give --region, set AWS_REGION, or set one in the profile")]
    NoRegion,
    /// Credentials are missing, invalid or expired.
    #[error("AWS credentials are missing, invalid or expired ({operation}): {message}")]
    Credentials {
        operation: &'static str,
        message: String,
    },
    /// The endpoint did not answer (connection refused, timeout).
    #[error("cannot reach the AWS endpoint ({operation}): {message}")]
    Unreachable {
        operation: &'static str,
        message: String,
    },
    /// The service refused a call.
    #[error("{operation} failed: {code}: {message}")]
    Aws {
        operation: &'static str,
        code: String,
        message: String,
    },
    /// DescribeCluster does not know the cluster.
    #[error("cluster `{cluster}` was not found in this account and region")]
    ClusterNotFound { cluster: String },
    /// The Kubernetes API could not be read.
    #[error("Kubernetes API: {message}")]
    Kubernetes { message: String },
    /// aws-auth is not as expected (edited concurrently or since the plan).
    #[error("{message}")]
    AwsAuthChanged { message: String },
    /// An authentication-mode update ended without success.
    #[error("authentication-mode update {id} ended {status}: {errors}")]
    UpdateFailed {
        id: String,
        status: String,
        errors: String,
    },
    /// An authentication-mode update was still in progress at the timeout.
    #[error("authentication-mode update {id} was still in progress after {waited:?}; it may yet finish: check with `aws eks describe-update`, then run apply again")]
    UpdateTimedOut {
        id: String,
        waited: std::time::Duration,
    },
}

/// What to read and how.
#[derive(Debug, Clone, Default)]
pub struct LiveSettings {
    pub cluster: String,
    pub aws: AwsSettings,
    pub kube: KubeSettings,
    /// How many calls may be under way at once.
    pub concurrency: usize,
    /// List IAM Identity Center roles to expand `sso` matchers.
    pub expand_sso: bool,
    /// Describe every entry, not only those aws-auth names (snapshot, prune).
    pub describe_all: bool,
}

/// Everything read from the cluster.
#[derive(Debug, Clone)]
pub struct Gathered {
    pub caller_arn: String,
    pub account: String,
    pub state: CurrentState,
    /// Entries listed but not described (aws-auth does not name them).
    pub undescribed: Vec<String>,
    /// The aws-auth ConfigMap rendered as `kubectl get -o yaml` would; `None` when absent.
    pub aws_auth_yaml: Option<String>,
    /// aws-auth's data exactly as stored; `None` when absent.
    pub aws_auth_data: Option<crate::steps::ConfigMapData>,
    /// ClusterRoleBindings and RoleBindings as a JSON `List`.
    pub rbac_json: String,
    /// Live IAM answers for the principals aws-auth names.
    pub iam: IamDump,
    /// ARNs of the access policies that exist.
    pub policies: Vec<String>,
    /// What could not be read (the plan shows these as findings).
    pub gaps: Vec<String>,
}

/// The clients of one cluster, and who is calling.
#[derive(Clone)]
pub struct Connection {
    pub caller_arn: String,
    pub account: String,
    pub region: String,
    pub config: aws_config::SdkConfig,
    pub eks: aws_sdk_eks::Client,
    pub kube: kubernetes::KubeClient,
    pub cluster: eks::ClusterDescription,
}

/// Reads the cluster.
///
/// # Errors
/// [`LiveError`] saying which call failed and why.
pub async fn gather(s: &LiveSettings) -> Result<Gathered, LiveError> {
    let conn = connect(s).await?;
    read(&conn, s).await
}

/// Loads the AWS configuration, checks who is calling, describes the cluster
/// and builds a Kubernetes client for it (kubeconfig, or an EKS token).
///
/// # Errors
/// [`LiveError`] saying which call failed and why.
pub async fn connect(s: &LiveSettings) -> Result<Connection, LiveError> {
    let config = aws::load(&s.aws).await?;
    let region = config
        .region()
        .map(|r| r.to_string())
        .ok_or(LiveError::NoRegion)?;
    let sts = aws_sdk_sts::Client::new(&config);
    let caller = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| aws::error("GetCallerIdentity", e))?;
    let account = caller.account().unwrap_or_default().to_string();
    let caller_arn = caller.arn().unwrap_or_default().to_string();
    let eks = aws_sdk_eks::Client::new(&config);
    let cluster = eks::describe_cluster(&eks, &s.cluster).await?;
    let kubeconfigs = kubernetes::kubeconfig_paths(&s.kube);
    let kube = if !kubeconfigs.is_empty() {
        kubernetes::KubeClient::fixed(
            kubernetes::from_kubeconfig(
                &kubeconfigs,
                s.kube.context.as_deref(),
                cluster.endpoint.as_deref(),
            )
            .await?,
        )
    } else {
        let endpoint = cluster
            .endpoint
            .clone()
            .ok_or_else(|| LiveError::Kubernetes {
                message: "no kubeconfig, and DescribeCluster gave no endpoint".into(),
            })?;
        let ca = cluster.certificate_authority.clone();
        let (config, region, name) = (config.clone(), region.clone(), s.cluster.clone());
        kubernetes::KubeClient::renewable(move || {
            let (config, region, name) = (config.clone(), region.clone(), name.clone());
            let (endpoint, ca) = (endpoint.clone(), ca.clone());
            Box::pin(async move {
                let token = eks_token(&config, &region, &name).await?;
                kubernetes::from_endpoint(&endpoint, ca.as_deref(), token)
            })
        })
        .await?
    };
    Ok(Connection {
        caller_arn,
        account,
        region,
        config,
        eks,
        kube,
        cluster,
    })
}

/// A fresh EKS token for `cluster`, signed with the configuration's credentials.
async fn eks_token(
    config: &aws_config::SdkConfig,
    region: &str,
    cluster: &str,
) -> Result<String, LiveError> {
    let provider = config
        .credentials_provider()
        .ok_or_else(|| LiveError::Credentials {
            operation: "eks token",
            message: "no credentials provider".into(),
        })?;
    let creds = provider
        .provide_credentials()
        .await
        .map_err(|e| LiveError::Credentials {
            operation: "eks token",
            message: e.to_string(),
        })?;
    token::eks_token(&creds, region, cluster, SystemTime::now()).map_err(|e| {
        LiveError::Credentials {
            operation: "eks token",
            message: e.to_string(),
        }
    })
}

/// Reads aws-auth, RBAC, the access entries and IAM through `conn`.
///
/// # Errors
/// [`LiveError`] saying which call failed and why.
pub async fn read(conn: &Connection, s: &LiveSettings) -> Result<Gathered, LiveError> {
    let Connection {
        caller_arn,
        account,
        config,
        eks,
        kube,
        cluster,
        ..
    } = conn.clone();
    let iam_client = aws_sdk_iam::Client::new(&config);
    let concurrency = s.concurrency.max(1);
    // One limit bounds every describe and lookup below.
    let limit = Semaphore::new(concurrency);
    let kube_client = kube.get();
    let (entry_arns, (owned, ownership_gap), policies, aws_auth, rbac_json) = tokio::try_join!(
        eks::list_entries(&eks, &s.cluster, cluster.mode),
        owned_or_gap(&eks, &s.cluster, concurrency, &limit),
        eks::access_policies(&eks),
        kubernetes::aws_auth(&kube_client),
        kubernetes::rbac_bindings(&kube_client),
    )?;
    let aws_auth_yaml = aws_auth.as_ref().map(kubernetes::render_configmap);
    let aws_auth_data = aws_auth.as_ref().map(|cm| {
        cm.data
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect::<crate::steps::ConfigMapData>()
    });
    let named = named_principals(aws_auth_yaml.as_deref());

    // Describe the entries that matter: those aws-auth names (by account and
    // name, whatever the path), or all of them.
    let matters = |arn: &str| {
        s.describe_all
            || Arn::parse(arn)
                .is_ok_and(|a| named.contains(&(a.account.clone(), a.name.to_lowercase())))
    };
    let (to_describe, undescribed): (Vec<String>, Vec<String>) =
        entry_arns.into_iter().partition(|a| matters(a));
    let owner: HashMap<String, EksOwner> = owned.iter().cloned().collect();
    // Entries and IAM lookups are independent: they run together.
    let describe = futures::stream::iter(to_describe)
        .map(|arn| {
            let (eks, name, limit) = (&eks, s.cluster.as_str(), &limit);
            async move {
                match eks::describe_entry(eks, name, &arn, limit).await {
                    // Deleted between the list and the describe: it is gone.
                    Err(LiveError::Aws { code, .. }) if code == "ResourceNotFoundException" => {
                        Ok(None)
                    }
                    other => other.map(Some),
                }
            }
        })
        .buffer_unordered(concurrency)
        .try_collect::<Vec<Option<eks::Described>>>();
    // IAM answers for its own account only: one client per account we can reach.
    let mut accounts = vec![(account.clone(), iam_client)];
    for role in &s.aws.lookup_roles {
        let other = Arn::parse(role).map(|a| a.account).unwrap_or_default();
        if accounts.iter().any(|(a, _)| *a == other) {
            continue;
        }
        let config = aws::assume(&config, role).await;
        accounts.push((other, aws_sdk_iam::Client::new(&config)));
    }
    let lookups = futures::future::try_join_all(accounts.iter().map(|(acct, client)| {
        let wanted = named_in_account(aws_auth_yaml.as_deref(), acct);
        iam::look_up(client, wanted, concurrency, &limit)
    }));
    let (entries, answers) = tokio::try_join!(describe, lookups)?;
    let (mut entries, created): (Vec<CurrentEntry>, Vec<Option<i64>>) = entries
        .into_iter()
        .flatten()
        .map(|d| (d.entry, d.created_at))
        .unzip();
    for e in &mut entries {
        e.eks_owned = owner.get(&e.principal_arn).copied();
    }
    let mut owned = owned;
    if let Some(i) = creator_entry(&eks, s, &cluster, &entries, &created, &limit).await? {
        entries[i].eks_owned = Some(EksOwner::ClusterCreator);
        owned.push((entries[i].principal_arn.clone(), EksOwner::ClusterCreator));
    }
    entries.sort_by(|a, b| a.principal_arn.cmp(&b.principal_arn));

    let mut iam = IamDump::default();
    for ((acct, client), found) in accounts.iter().zip(answers) {
        iam::record(found, acct, &mut iam);
        if s.expand_sso {
            iam::list_sso_roles(client, acct, &mut iam).await?;
        }
    }

    let state = CurrentState {
        schema_version: 1,
        cluster: ClusterInfo {
            name: cluster.name.clone(),
            arn: cluster.arn.clone(),
            authentication_mode: cluster.mode,
            status: Some(cluster.status.clone()),
            version: cluster.version.clone(),
            platform_version: cluster.platform_version.clone(),
        },
        access_entries: entries,
        eks_owned_roles: owned
            .into_iter()
            .map(|(principal_arn, owner)| OwnedRole {
                principal_arn,
                owner,
            })
            .collect(),
    };
    let gaps = ownership_gap.into_iter().collect();
    Ok(Gathered {
        caller_arn,
        account,
        state,
        undescribed,
        aws_auth_yaml,
        aws_auth_data,
        rbac_json,
        iam,
        policies,
        gaps,
    })
}

/// The roles EKS owns, or, when the caller may not list node groups or Fargate
/// profiles, none and the reason (ownership stays unknown, the run goes on).
async fn owned_or_gap(
    eks: &aws_sdk_eks::Client,
    cluster: &str,
    concurrency: usize,
    limit: &Semaphore,
) -> Result<(Vec<(String, EksOwner)>, Option<String>), LiveError> {
    match eks::owned_roles(eks, cluster, concurrency, limit).await {
        Ok(roles) => Ok((roles, None)),
        Err(LiveError::Aws { operation, code, .. }) if code == "AccessDeniedException" => Ok((
            Vec::new(),
            Some(format!(
                "{operation} was denied: which entries EKS owns for node groups and Fargate profiles is unknown, so none is marked EKS-owned"
            )),
        )),
        Err(e) => Err(e),
    }
}

/// The entry EKS made for the cluster's creator, if it can be told. The API does
/// not name the creator, so this is inferred: with
/// `bootstrapClusterCreatorAdminPermissions`, EKS gives the creator a STANDARD
/// entry with AmazonEKSClusterAdminPolicy on the cluster when access entries
/// start (the cluster's creation, or the successful switch from CONFIG_MAP).
/// The one such entry created within two minutes of either is the creator's.
async fn creator_entry(
    eks: &aws_sdk_eks::Client,
    s: &LiveSettings,
    cluster: &eks::ClusterDescription,
    entries: &[CurrentEntry],
    created: &[Option<i64>],
    limit: &Semaphore,
) -> Result<Option<usize>, LiveError> {
    if cluster.bootstrap_creator_admin == Some(false) {
        return Ok(None);
    }
    let admin: Vec<usize> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            e.entry_type == EntryType::Standard
                && e.eks_owned.is_none()
                && e.access_policies.iter().any(|p| {
                    p.policy_arn.ends_with(&format!("/{CLUSTER_ADMIN_POLICY}"))
                        && p.access_scope == AccessScope::cluster()
                })
        })
        .map(|(i, _)| i)
        .collect();
    if admin.is_empty() {
        return Ok(None);
    }
    let mut starts: Vec<i64> = cluster.created_at.into_iter().collect();
    starts.extend(eks::access_config_times(eks, &s.cluster, limit).await?);
    let near = |t: i64| starts.iter().any(|s| (t - s).abs() <= 120);
    let found: Vec<usize> = admin
        .into_iter()
        .filter(|&i| created[i].is_some_and(near))
        .collect();
    Ok(match found.as_slice() {
        [one] => Some(*one),
        _ => None,
    })
}

/// (account, lower-cased name) of every principal ARN aws-auth names.
fn named_principals(aws_auth_yaml: Option<&str>) -> BTreeSet<(String, String)> {
    arns_in(aws_auth_yaml)
        .into_iter()
        .map(|a| (a.account, a.name.to_lowercase()))
        .collect()
}

/// The roles and users aws-auth names in `account`, for IAM lookups.
fn named_in_account(aws_auth_yaml: Option<&str>, account: &str) -> Vec<iam::Wanted> {
    let mut wanted: Vec<iam::Wanted> = arns_in(aws_auth_yaml)
        .into_iter()
        .filter(|a| a.account == account)
        .filter_map(|a| match a.kind {
            PrincipalKind::Role => Some(iam::Wanted {
                kind: IamKind::Role,
                name: a.name,
            }),
            PrincipalKind::User => Some(iam::Wanted {
                kind: IamKind::User,
                name: a.name,
            }),
            _ => None,
        })
        .collect();
    wanted.sort();
    wanted.dedup();
    wanted
}

fn arns_in(aws_auth_yaml: Option<&str>) -> Vec<Arn> {
    let Some(text) = aws_auth_yaml else {
        return Vec::new();
    };
    let Ok(a) = reader::read(AWS_AUTH_LABEL, text.as_bytes()) else {
        return Vec::new();
    };
    a.mappings
        .iter()
        .filter_map(|m| match &m.target {
            Target::Arn(t) => Arn::parse(t.trim()).ok(),
            Target::Sso(_) => None,
        })
        .collect()
}
