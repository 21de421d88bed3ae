//! Reads from the EKS API: the cluster, its access entries with their policies,
//! the roles EKS owns (managed node groups, Fargate profiles) and the access
//! policies that exist. Every list call follows `nextToken` to the end.

use aws_sdk_eks::types::{AccessScopeType, UpdateStatus, UpdateType};
use aws_sdk_eks::Client;
use futures::{StreamExt, TryStreamExt};
use tokio::sync::Semaphore;

use super::aws::{error, AwsErrorKind};
use super::LiveError;
use crate::model::arn::PrincipalArn;
use crate::model::cluster::{AuthMode, ClusterStatus, CurrentEntry, EksOwner};
use crate::model::entry::{AccessPolicy, AccessScope, EntryType, ScopeType};

/// What DescribeCluster says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterDescription {
    pub name: String,
    pub arn: String,
    pub status: ClusterStatus,
    pub version: Option<String>,
    pub platform_version: Option<String>,
    pub mode: AuthMode,
    pub endpoint: Option<String>,
    /// Base64 PEM of the cluster's CA.
    pub certificate_authority: Option<String>,
    /// When the cluster was created (epoch seconds).
    pub created_at: Option<i64>,
    /// `accessConfig.bootstrapClusterCreatorAdminPermissions`.
    pub bootstrap_creator_admin: Option<bool>,
    /// The cluster's tags.
    pub tags: std::collections::BTreeMap<String, String>,
}

/// DescribeCluster.
///
/// # Errors
/// [`LiveError::ClusterNotFound`] for an unknown cluster; others as the SDK reports.
pub async fn describe_cluster(eks: &Client, name: &str) -> Result<ClusterDescription, LiveError> {
    let out = eks
        .describe_cluster()
        .name(name)
        .send()
        .await
        .map_err(|e| match error("DescribeCluster", e) {
            e if e.kind() == Some(AwsErrorKind::NotFound) => LiveError::ClusterNotFound {
                cluster: name.to_string(),
            },
            e => e,
        })?;
    let unexpected = |message: String| LiveError::Unexpected {
        operation: "DescribeCluster",
        message,
    };
    let c = out
        .cluster()
        .ok_or_else(|| unexpected("no cluster in the response".into()))?;
    let mode = match c
        .access_config()
        .and_then(|a| a.authentication_mode())
        .map(|m| m.as_str())
    {
        Some("API") => AuthMode::Api,
        Some("API_AND_CONFIG_MAP") => AuthMode::ApiAndConfigMap,
        // Clusters created before access entries report no mode: CONFIG_MAP.
        Some("CONFIG_MAP") | None => AuthMode::ConfigMap,
        Some(other) => {
            return Err(unexpected(format!(
                "authentication mode {other} is unknown to this version"
            )))
        }
    };
    Ok(ClusterDescription {
        name: c.name().unwrap_or(name).to_string(),
        arn: c
            .arn()
            .ok_or_else(|| unexpected(format!("cluster {name} has no ARN")))?
            .to_string(),
        status: c
            .status()
            .map(|s| ClusterStatus::from(s.as_str().to_string()))
            .ok_or_else(|| unexpected(format!("cluster {name} has no status")))?,
        version: c.version().map(str::to_string),
        platform_version: c.platform_version().map(str::to_string),
        mode,
        endpoint: c.endpoint().map(str::to_string),
        certificate_authority: c
            .certificate_authority()
            .and_then(|ca| ca.data())
            .filter(|d| !d.is_empty())
            .map(str::to_string),
        created_at: c.created_at().map(|t| t.secs()),
        bootstrap_creator_admin: c
            .access_config()
            .and_then(|a| a.bootstrap_cluster_creator_admin_permissions()),
        tags: c
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    })
}

/// ListClusters, every page: the names of the clusters of the credentials'
/// account in the client's region.
///
/// # Errors
/// As the SDK reports.
pub async fn list_clusters(eks: &Client) -> Result<Vec<String>, LiveError> {
    eks.list_clusters()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| error("ListClusters", e))
}

/// ListAccessEntries, every page. In `CONFIG_MAP` mode there are none (EKS
/// answers 400 there), so nothing is asked.
///
/// # Errors
/// As the SDK reports.
pub async fn list_entries(
    eks: &Client,
    cluster: &str,
    mode: AuthMode,
) -> Result<Vec<String>, LiveError> {
    if mode == AuthMode::ConfigMap {
        return Ok(Vec::new());
    }
    Ok(list_entries_now(eks, cluster).await?.unwrap_or_default())
}

/// Every access entry's principal ARN; `None` when EKS still answers as in
/// `CONFIG_MAP` (right after a mode switch).
///
/// # Errors
/// As the SDK reports.
pub async fn list_entries_now(
    eks: &Client,
    cluster: &str,
) -> Result<Option<Vec<String>>, LiveError> {
    let listed: Result<Vec<String>, _> = eks
        .list_access_entries()
        .cluster_name(cluster)
        .max_results(100)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await;
    match listed {
        Ok(arns) => Ok(Some(arns)),
        // Right after a mode switch EKS may still answer as in CONFIG_MAP.
        Err(e) => match error("ListAccessEntries", e) {
            LiveError::Aws {
                kind: AwsErrorKind::InvalidRequest,
                message,
                ..
            } if message.contains("authentication mode") => Ok(None),
            e => Err(e),
        },
    }
}

/// An entry as it exists, when EKS created it, and its tags.
pub struct Described {
    pub entry: CurrentEntry,
    /// When EKS created it (epoch seconds).
    pub created_at: Option<i64>,
    pub tags: std::collections::HashMap<String, String>,
}

/// DescribeAccessEntry and ListAssociatedAccessPolicies for one principal;
/// `None` when it has no entry.
///
/// # Errors
/// As the SDK reports, and [`LiveError::Unexpected`] for an entry this
/// version cannot read (no type, an unknown type or scope).
pub async fn describe_entry(
    eks: &Client,
    cluster: &str,
    principal: &str,
    limit: &Semaphore,
) -> Result<Option<Described>, LiveError> {
    describe_entry_as(eks, (cluster, principal), limit, Fetch::Together).await
}

/// How [`describe_entry_as`] makes its two calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetch {
    /// Both at once: for an entry that is expected to exist.
    Together,
    /// DescribeAccessEntry, then the policies only if the entry exists: for
    /// one that is expected not to (before a create), one call instead of two.
    EntryFirst,
}

/// [`describe_entry`], making its calls as `fetch` says.
///
/// # Errors
/// As [`describe_entry`].
pub async fn describe_entry_as(
    eks: &Client,
    (cluster, principal): (&str, &str),
    limit: &Semaphore,
    fetch: Fetch,
) -> Result<Option<Described>, LiveError> {
    let describe = async {
        let _permit = limit.acquire().await;
        eks.describe_access_entry()
            .cluster_name(cluster)
            .principal_arn(principal)
            .send()
            .await
            .map_err(|e| error("DescribeAccessEntry", e))
    };
    let policies = async {
        let _permit = limit.acquire().await;
        let pages: Result<Vec<_>, _> = eks
            .list_associated_access_policies()
            .cluster_name(cluster)
            .principal_arn(principal)
            .max_results(100)
            .into_paginator()
            .send()
            .try_collect()
            .await;
        pages.map_err(|e| error("ListAssociatedAccessPolicies", e))
    };
    let both = match fetch {
        Fetch::Together => futures::try_join!(describe, policies),
        Fetch::EntryFirst => match describe.await {
            Ok(out) => policies.await.map(|pages| (out, pages)),
            Err(e) => Err(e),
        },
    };
    let (out, pages) = match both {
        Ok(both) => both,
        Err(e) if e.kind() == Some(AwsErrorKind::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    let unexpected = |operation, message: String| LiveError::Unexpected { operation, message };
    let e = out.access_entry().ok_or_else(|| {
        unexpected(
            "DescribeAccessEntry",
            format!("no access entry in the answer for {principal}"),
        )
    })?;
    let kind = e.r#type().ok_or_else(|| {
        unexpected(
            "DescribeAccessEntry",
            format!("{principal}: the access entry has no type"),
        )
    })?;
    let entry_type = EntryType::from_name(kind).ok_or_else(|| {
        unexpected(
            "DescribeAccessEntry",
            format!("{principal} has access entry type {kind}, which this version does not know"),
        )
    })?;
    let access_policies = pages
        .iter()
        .flat_map(|p| p.associated_access_policies())
        .map(|p| associated(principal, p))
        .collect::<Result<_, LiveError>>()?;
    let entry = CurrentEntry {
        principal_arn: e.principal_arn().unwrap_or(principal).into(),
        entry_type,
        username: e.username().map(str::to_string),
        kubernetes_groups: e.kubernetes_groups().to_vec(),
        access_policies,
        eks_owned: None,
    };
    Ok(Some(Described {
        entry,
        created_at: e.created_at().map(|t| t.secs()),
        // An entry without tags is answered with none.
        tags: e.tags().cloned().unwrap_or_default(),
    }))
}

/// One associated policy as the tool models it.
fn associated(
    principal: &str,
    p: &aws_sdk_eks::types::AssociatedAccessPolicy,
) -> Result<AccessPolicy, LiveError> {
    let unexpected = |message: String| LiveError::Unexpected {
        operation: "ListAssociatedAccessPolicies",
        message,
    };
    let policy_arn = p
        .policy_arn()
        .ok_or_else(|| unexpected(format!("{principal}: an associated policy has no ARN")))?
        .to_string();
    let access_scope = match p.access_scope().and_then(|s| s.r#type().map(|t| (s, t))) {
        Some((s, AccessScopeType::Namespace)) => AccessScope {
            scope_type: ScopeType::Namespace,
            namespaces: s.namespaces().to_vec(),
        },
        Some((_, AccessScopeType::Cluster)) => AccessScope::cluster(),
        // Never widen an unknown scope to the whole cluster.
        other => {
            return Err(unexpected(format!(
                "{principal}: {policy_arn} has scope {:?}, unknown to this version",
                other.map(|(_, t)| t.as_str().to_string())
            )))
        }
    };
    Ok(AccessPolicy {
        policy_arn,
        access_scope,
    })
}

/// When the cluster's authentication-mode updates succeeded (epoch seconds):
/// EKS creates the creator's entry then, for clusters that had no entries.
///
/// # Errors
/// As the SDK reports.
pub async fn access_config_times(
    eks: &Client,
    cluster: &str,
    limit: &Semaphore,
) -> Result<Vec<i64>, LiveError> {
    let ids: Vec<String> = eks
        .list_updates()
        .name(cluster)
        .max_results(100)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| error("ListUpdates", e))?;
    let times: Vec<Option<i64>> = futures::stream::iter(ids)
        .map(|id| async move {
            let _permit = limit.acquire().await;
            let out = eks
                .describe_update()
                .name(cluster)
                .update_id(&id)
                .send()
                .await
                .map_err(|e| error("DescribeUpdate", e))?;
            let u = out.update();
            let wanted = u.is_some_and(|u| {
                u.r#type() == Some(&UpdateType::AccessConfigUpdate)
                    && u.status() == Some(&UpdateStatus::Successful)
            });
            Ok::<_, LiveError>(
                u.and_then(|u| u.created_at())
                    .map(|t| t.secs())
                    .filter(|_| wanted),
            )
        })
        .buffer_unordered(4)
        .try_collect()
        .await?;
    Ok(times.into_iter().flatten().collect())
}

/// The roles EKS creates entries for itself: managed node groups' node roles
/// and Fargate profiles' pod execution roles.
///
/// # Errors
/// As the SDK reports.
pub async fn owned_roles(
    eks: &Client,
    cluster: &str,
    concurrency: usize,
    limit: &Semaphore,
) -> Result<Vec<(PrincipalArn, EksOwner)>, LiveError> {
    // The two lists are independent: at once (a failure of the first is
    // said first, as when they ran one after the other).
    let nodegroups = async {
        let listed: Result<Vec<String>, _> = eks
            .list_nodegroups()
            .cluster_name(cluster)
            .max_results(100)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await;
        listed.map_err(|e| error("ListNodegroups", e))
    };
    let profiles = async {
        let listed: Result<Vec<String>, _> = eks
            .list_fargate_profiles()
            .cluster_name(cluster)
            .max_results(100)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await;
        listed.map_err(|e| error("ListFargateProfiles", e))
    };
    let (nodegroups, profiles) = futures::join!(nodegroups, profiles);
    let (nodegroups, profiles) = (nodegroups?, profiles?);
    let ng = roles_of(nodegroups, concurrency, |name| async move {
        let _permit = limit.acquire().await;
        let out = eks
            .describe_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(&name)
            .send()
            .await
            .map_err(|e| error("DescribeNodegroup", e))?;
        Ok(out
            .nodegroup()
            .and_then(|n| n.node_role())
            .map(str::to_string))
    });
    let fp = roles_of(profiles, concurrency, |name| async move {
        let _permit = limit.acquire().await;
        let out = eks
            .describe_fargate_profile()
            .cluster_name(cluster)
            .fargate_profile_name(&name)
            .send()
            .await
            .map_err(|e| error("DescribeFargateProfile", e))?;
        Ok(out
            .fargate_profile()
            .and_then(|p| p.pod_execution_role_arn())
            .map(str::to_string))
    });
    let (ng, fp) = futures::try_join!(ng, fp)?;
    let mut roles: Vec<(PrincipalArn, EksOwner)> = ng
        .into_iter()
        .map(|r| (r.into(), EksOwner::Nodegroup))
        .chain(fp.into_iter().map(|r| (r.into(), EksOwner::FargateProfile)))
        .collect();
    // One owner per principal, as EKS compares ARNs: the node group's when
    // a Fargate profile names the same role (the sort is stable).
    roles.sort_by_cached_key(|(arn, _)| arn.to_ascii_lowercase());
    roles.dedup_by(|x, y| x.0 == y.0);
    Ok(roles)
}

/// Describes each of `names` (`concurrency` at a time) and keeps the roles found.
async fn roles_of<F, Fut>(
    names: Vec<String>,
    concurrency: usize,
    describe: F,
) -> Result<Vec<String>, LiveError>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>, LiveError>>,
{
    let found: Vec<Option<String>> = futures::stream::iter(names)
        .map(describe)
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}

/// ListAccessPolicies: the ARNs of every access policy that exists.
///
/// # Errors
/// As the SDK reports.
pub async fn access_policies(eks: &Client) -> Result<Vec<String>, LiveError> {
    let policies: Vec<_> = eks
        .list_access_policies()
        .max_results(100)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| error("ListAccessPolicies", e))?;
    Ok(policies
        .iter()
        .filter_map(|p| p.arn().map(str::to_string))
        .collect())
}
