//! Reading a live cluster into the inputs the offline plan takes: aws-auth
//! (as stored and as `kubectl get -o yaml` prints it), the RBAC bindings, the
//! access entries with their policies (marking those EKS owns), the access
//! policies that exist, and IAM's answers for the principals aws-auth names.

use std::collections::{BTreeSet, HashMap};

use futures::{StreamExt, TryStreamExt};
use tokio::sync::Semaphore;

use super::{
    aws, eks, iam, kubernetes, AwsErrorKind, Connection, Gathered, LiveError, LiveSettings,
};
use crate::inputs::iam::{IamDump, IamKind};
use crate::model::arn::{Arn, PrincipalArn, PrincipalKind};
use crate::model::cluster::{
    ClusterInfo, ConfigMapData, CurrentEntry, CurrentState, EksOwner, OwnedRole,
};
use crate::model::entry::{AccessScope, EntryType, CLUSTER_ADMIN_POLICY};
use crate::reader::{self, Target};

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
    let concurrency = s.client.concurrency.max(1);
    // One limit bounds every describe and lookup below (in a fleet, shared
    // with the account and region's other clusters).
    let limit = s
        .client
        .limit
        .clone()
        .unwrap_or_else(|| std::sync::Arc::new(Semaphore::new(concurrency)));
    let kube_client = kube.get();
    let (entry_arns, (owned, ownership_gap), policies, aws_auth, rbac_json) = tokio::try_join!(
        eks::list_entries(&eks, &s.cluster, cluster.mode),
        owned_or_gap(&eks, &s.cluster, concurrency, &limit),
        eks::access_policies(&eks),
        kubernetes::aws_auth(&kube_client),
        kubernetes::rbac_bindings(&kube_client),
    )?;
    let aws_auth_yaml = aws_auth.as_ref().map(kubernetes::render_configmap);
    let aws_auth_data = aws_auth.map(|cm| cm.data.unwrap_or_default().into_iter().collect());
    // aws-auth is decoded once for the lookups below.
    let arns = arns_in(aws_auth_data.as_ref());
    let named = named_principals(&arns);
    // Describe the entries that matter: those aws-auth names (by account and
    // name, whatever the path), or all of them.
    let (to_describe, undescribed): (Vec<String>, Vec<String>) =
        entry_arns.into_iter().partition(|arn| {
            s.client.describe_all
                || Arn::parse(arn)
                    .is_ok_and(|a| named.contains(&(a.account.clone(), a.name.to_lowercase())))
        });
    let accounts = iam_clients(&config, &account, &s.client.aws.lookup_roles).await?;
    // Entries and IAM lookups are independent: they run together.
    let lookups = futures::future::try_join_all(accounts.iter().map(|(acct, client)| {
        let wanted = named_in_account(&arns, acct);
        let shared = s.client.listings.as_deref().map(|l| (l, acct.as_str()));
        iam::look_up(client, wanted, (concurrency, &limit), shared)
    }));
    let describe = describe_entries(&eks, &s.cluster, to_describe, concurrency, &limit);
    let (described, answers) = tokio::try_join!(describe, lookups)?;
    let (entries, owned) = mark_owned(&eks, s, &cluster, described, owned, &limit).await?;
    let mut iam = IamDump::default();
    for ((acct, client), found) in accounts.iter().zip(answers) {
        iam::record(found, acct, &mut iam);
        if s.client.expand_sso {
            iam::list_sso_roles(client, acct, &mut iam).await?;
        }
    }
    Ok(Gathered {
        caller_arn,
        state: state_of(&cluster, entries, owned),
        undescribed,
        aws_auth_yaml,
        aws_auth_data,
        rbac_json,
        iam,
        policies,
        gaps: ownership_gap.into_iter().collect(),
    })
}

/// Describes `arns`, `concurrency` at a time; an entry deleted between the
/// list and the describe is gone, not an error.
async fn describe_entries(
    eks: &aws_sdk_eks::Client,
    cluster: &str,
    arns: Vec<String>,
    concurrency: usize,
    limit: &Semaphore,
) -> Result<Vec<eks::Described>, LiveError> {
    let found: Vec<Option<eks::Described>> = futures::stream::iter(arns)
        .map(|arn| async move { eks::describe_entry(eks, cluster, &arn, limit).await })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}

/// One IAM client per account IAM can be asked in: the caller's, and each
/// `--lookup-role`'s (IAM answers for its own account only).
async fn iam_clients(
    config: &aws_config::SdkConfig,
    account: &str,
    lookup_roles: &[String],
) -> Result<Vec<(String, aws_sdk_iam::Client)>, LiveError> {
    let mut accounts = vec![(account.to_string(), aws_sdk_iam::Client::new(config))];
    for role in lookup_roles {
        let other = Arn::parse(role)
            .map_err(|e| LiveError::Credentials {
                operation: "AssumeRole",
                message: format!("--lookup-role {role}: {e}"),
            })?
            .account;
        if accounts.iter().any(|(a, _)| *a == other) {
            continue;
        }
        let config = aws::assume(config, role).await;
        accounts.push((other, aws_sdk_iam::Client::new(&config)));
    }
    Ok(accounts)
}

/// Marks the entries EKS owns (node groups, Fargate profiles, the creator),
/// sorted by ARN; returns them and every owned role.
async fn mark_owned(
    eks: &aws_sdk_eks::Client,
    s: &LiveSettings,
    cluster: &eks::ClusterDescription,
    described: Vec<eks::Described>,
    mut owned: Vec<(PrincipalArn, EksOwner)>,
    limit: &Semaphore,
) -> Result<(Vec<CurrentEntry>, Vec<(PrincipalArn, EksOwner)>), LiveError> {
    let owner: HashMap<&PrincipalArn, EksOwner> = owned.iter().map(|(a, o)| (a, *o)).collect();
    let (mut entries, created): (Vec<CurrentEntry>, Vec<Option<i64>>) = described
        .into_iter()
        .map(|d| (d.entry, d.created_at))
        .unzip();
    for e in &mut entries {
        e.eks_owned = owner.get(&e.principal_arn).copied();
    }
    if let Some(i) = creator_entry(eks, s, cluster, &entries, &created, limit).await? {
        entries[i].eks_owned = Some(EksOwner::ClusterCreator);
        owned.push((entries[i].principal_arn.clone(), EksOwner::ClusterCreator));
    }
    entries.sort_by(|a, b| a.principal_arn.as_str().cmp(b.principal_arn.as_str()));
    Ok((entries, owned))
}

/// The current state (schemaVersion 1) of what was read.
fn state_of(
    cluster: &eks::ClusterDescription,
    entries: Vec<CurrentEntry>,
    owned: Vec<(PrincipalArn, EksOwner)>,
) -> CurrentState {
    CurrentState {
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
    }
}

/// The roles EKS owns, or, when the caller may not list node groups or Fargate
/// profiles, none and the reason (ownership stays unknown, the run goes on).
async fn owned_or_gap(
    eks: &aws_sdk_eks::Client,
    cluster: &str,
    concurrency: usize,
    limit: &Semaphore,
) -> Result<(Vec<(PrincipalArn, EksOwner)>, Option<String>), LiveError> {
    match eks::owned_roles(eks, cluster, concurrency, limit).await {
        Ok(roles) => Ok((roles, None)),
        Err(LiveError::Aws {
            operation,
            kind: AwsErrorKind::AccessDenied,
            ..
        }) => Ok((
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
fn named_principals(arns: &[Arn]) -> BTreeSet<(String, String)> {
    arns.iter()
        .map(|a| (a.account.clone(), a.name.to_lowercase()))
        .collect()
}

/// The roles and users aws-auth names in `account`, for IAM lookups.
fn named_in_account(arns: &[Arn], account: &str) -> Vec<iam::Wanted> {
    let mut wanted: Vec<iam::Wanted> = arns
        .iter()
        .filter(|a| a.account == account)
        .filter_map(|a| {
            let kind = match a.kind {
                PrincipalKind::Role => IamKind::Role,
                PrincipalKind::User => IamKind::User,
                _ => return None,
            };
            Some(iam::Wanted {
                kind,
                name: a.name.clone(),
            })
        })
        .collect();
    wanted.sort();
    wanted.dedup();
    wanted
}

/// The principal ARNs aws-auth's data names, each value read on its own.
fn arns_in(data: Option<&ConfigMapData>) -> Vec<Arn> {
    let data = data.into_iter().flatten();
    reader::read_data(
        super::AWS_AUTH_LABEL,
        data.map(|(k, v)| (k.as_str(), v.as_str())),
        None,
    )
    .mappings
    .iter()
    .filter_map(|m| match &m.target {
        Target::Arn(t) => Arn::parse(t.trim()).ok(),
        Target::Sso(_) => None,
    })
    .collect()
}
