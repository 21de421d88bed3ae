//! The edge that talks to AWS (EKS, IAM, STS) and to the Kubernetes API with
//! the real SDK clients: [`connect`] builds a cluster's clients, [`read()`]
//! reads it into the inputs the offline plan takes (the aws-auth file, RBAC,
//! IAM facts and the current state). The changes themselves are made by
//! [`crate::apply`], through these clients. Independent calls run
//! concurrently, `concurrency` at a time; throttling and 5xx are retried by
//! the SDK.

pub mod aws;
pub mod eks;
pub mod iam;
pub mod kubernetes;
pub mod read;
pub mod token;

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_credential_types::provider::ProvideCredentials;

use crate::inputs::iam::IamDump;
use crate::model::cluster::CurrentState;

pub use aws::{AwsErrorKind, AwsSettings};
pub use kubernetes::KubeSettings;
pub use read::read;

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
    /// `AWS_MAX_ATTEMPTS` is not a whole number from 1.
    #[error("AWS_MAX_ATTEMPTS={value} is not a whole number from 1 (the attempts per AWS call, the first included; unset, 5)")]
    BadMaxAttempts { value: String },
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
    /// The service refused a call; `kind` says what the code means.
    #[error("{operation} failed: {code}: {message}")]
    Aws {
        operation: &'static str,
        kind: AwsErrorKind,
        code: String,
        message: String,
    },
    /// The SDK failed before or after the service answered (a request it
    /// could not build, a response it could not read).
    #[error("{operation} failed: {message}")]
    Client {
        operation: &'static str,
        message: String,
    },
    /// The service answered with something this version cannot use (a
    /// missing field, an unknown mode, type or scope).
    #[error("{operation} answered unexpectedly: {message}")]
    Unexpected {
        operation: &'static str,
        message: String,
    },
    /// DescribeCluster does not know the cluster.
    #[error("cluster `{cluster}` was not found in this account and region")]
    ClusterNotFound { cluster: String },
    /// DescribeCluster does not know the cluster, in the account and region
    /// the credentials reach.
    #[error("cluster `{cluster}` was not found in account {account}, region {region}: check the region (--region or AWS_REGION; `region` in a fleet file) and the credentials' account (--profile, --assume-role; `profile`, `assumeRole`)")]
    ClusterNotFoundIn {
        cluster: String,
        account: String,
        region: String,
    },
    /// The Kubernetes API could not be read.
    #[error("the credentials reach {found}, not {expected}: check the account's profile and role (nothing was read or changed)")]
    WrongCluster { expected: String, found: String },
    #[error("Kubernetes API: {message}")]
    Kubernetes { message: String },
}

impl LiveError {
    /// What the service's refusal means, when the service refused.
    pub fn kind(&self) -> Option<AwsErrorKind> {
        match self {
            LiveError::Aws { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}

/// An error and its causes in words, each said once, joined by ": " (never
/// a client's debug dump of them).
pub(crate) fn in_words(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// How to reach a cluster's account and Kubernetes API, and how to read it:
/// everything but the cluster's name.
#[derive(Debug, Clone, Default)]
pub struct ClientSettings {
    pub aws: AwsSettings,
    pub kube: KubeSettings,
    /// How many calls may be under way at once.
    pub concurrency: usize,
    /// List IAM Identity Center roles to expand `sso` matchers.
    pub expand_sso: bool,
    /// Describe every entry, not only those aws-auth names (snapshot, prune).
    pub describe_all: bool,
    /// In a fleet run, shared by the clusters of one account and region: it
    /// bounds the calls under way there (EKS limits are per account and
    /// region). `None`: this run's own, of `concurrency`.
    pub limit: Option<std::sync::Arc<tokio::sync::Semaphore>>,
    /// In a fleet run, the IAM listings shared by its clusters, per account.
    pub listings: Option<std::sync::Arc<iam::Listings>>,
}

impl ClientSettings {
    /// These settings for the cluster `name`.
    pub fn for_cluster(&self, name: &str) -> LiveSettings {
        LiveSettings {
            cluster: name.to_string(),
            client: self.clone(),
            expect_arn: None,
        }
    }
}

/// Which cluster to read, and how.
#[derive(Debug, Clone)]
pub struct LiveSettings {
    pub cluster: String,
    pub client: ClientSettings,
    /// The ARN the cluster must have (a fleet knows its account and
    /// region): credentials that reach a same-named cluster elsewhere are
    /// refused before anything is read.
    pub expect_arn: Option<String>,
}

/// Everything read from the cluster.
#[derive(Debug, Clone)]
pub struct Gathered {
    pub caller_arn: String,
    pub state: CurrentState,
    /// Entries listed but not described (aws-auth does not name them).
    pub undescribed: Vec<String>,
    /// The aws-auth ConfigMap rendered as `kubectl get -o yaml` would; `None` when absent.
    pub aws_auth_yaml: Option<String>,
    /// aws-auth's data exactly as stored; `None` when absent.
    pub aws_auth_data: Option<crate::model::cluster::ConfigMapData>,
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
    /// In a fleet run, the limit on the calls under way in this account and
    /// region, shared by its clusters ([`ClientSettings::limit`]): apply's
    /// reads and writes wait for a turn under it too.
    pub limit: Option<std::sync::Arc<tokio::sync::Semaphore>>,
}

impl Connection {
    /// A turn under the shared limit, if there is one: hold it for one call.
    pub async fn turn(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        match &self.limit {
            Some(limit) => limit.acquire().await.ok(),
            None => None,
        }
    }
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
    let config = aws::load(&s.client.aws).await?;
    let region = config
        .region()
        .map(|r| r.to_string())
        .ok_or(LiveError::NoRegion)?;
    let eks = aws_sdk_eks::Client::new(&config);
    let (account, caller_arn, cluster) = caller_and_cluster(&config, &eks, s, &region).await?;
    if let Some(expected) = s.expect_arn.as_ref().filter(|e| **e != cluster.arn) {
        return Err(LiveError::WrongCluster {
            expected: expected.clone(),
            found: cluster.arn,
        });
    }
    let kubeconfigs = kubernetes::kubeconfig_paths(&s.client.kube);
    let kube = if !kubeconfigs.is_empty() {
        kubernetes::KubeClient::fixed(
            kubernetes::from_kubeconfig(
                &kubeconfigs,
                s.client.kube.context.as_deref(),
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
        limit: s.client.limit.clone(),
    })
}

/// Who is calling (GetCallerIdentity: the account and ARN) and the cluster
/// (DescribeCluster), asked at once: neither depends on the other. The
/// caller's failure is said first, as when they ran one after the other.
async fn caller_and_cluster(
    config: &aws_config::SdkConfig,
    eks: &aws_sdk_eks::Client,
    s: &LiveSettings,
    region: &str,
) -> Result<(String, String, eks::ClusterDescription), LiveError> {
    let sts = aws_sdk_sts::Client::new(config);
    let (caller, cluster) = tokio::join!(
        sts.get_caller_identity().send(),
        eks::describe_cluster(eks, &s.cluster)
    );
    let caller = caller.map_err(|e| aws::error("GetCallerIdentity", e))?;
    let missing = |what: &str| LiveError::Unexpected {
        operation: "GetCallerIdentity",
        message: format!("no {what} in the answer"),
    };
    let account = caller
        .account()
        .ok_or_else(|| missing("account"))?
        .to_string();
    let caller_arn = caller.arn().ok_or_else(|| missing("ARN"))?.to_string();
    let cluster = cluster.map_err(|e| match e {
        LiveError::ClusterNotFound { cluster } => LiveError::ClusterNotFoundIn {
            cluster,
            account: account.clone(),
            region: region.to_string(),
        },
        e => e,
    })?;
    Ok((account, caller_arn, cluster))
}

/// The clusters `aws` reaches (the settings' account and region), with
/// their tags when `tags` (one DescribeCluster each), and the account the
/// credentials are for (GetCallerIdentity): a caller checks it is the one
/// it meant.
///
/// # Errors
/// [`LiveError`] saying which call failed and why.
pub async fn clusters_of(
    aws: &AwsSettings,
    tags: bool,
) -> Result<(String, Vec<(String, BTreeMap<String, String>)>), LiveError> {
    let config = aws::load(aws).await?;
    let caller = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| aws::error("GetCallerIdentity", e))?;
    let account = caller
        .account()
        .ok_or_else(|| LiveError::Unexpected {
            operation: "GetCallerIdentity",
            message: "no account in the answer".into(),
        })?
        .to_string();
    let client = aws_sdk_eks::Client::new(&config);
    let mut out = Vec::new();
    for name in eks::list_clusters(&client).await? {
        let tags = if tags {
            eks::describe_cluster(&client, &name).await?.tags
        } else {
            BTreeMap::new()
        };
        out.push((name, tags));
    }
    Ok((account, out))
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
