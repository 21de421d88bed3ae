//! The EKS rest-json API: routing, request shapes, JSON responses and the EKS rules for access
//! entries, access policies and authentication-mode updates (docs/DOMAIN.md sections 2 to 4).

use std::collections::{BTreeMap, HashMap};

use axum::http::Method;
use serde_json::{json, Map, Value};

use crate::util::{is_account_id, page_token, parse_page_token, uuid, Arn, PARTITIONS};
use crate::world::{
    default_groups, default_username, AccessEntry, AwsWorld, Cluster, Scope, Update,
    ACCESS_POLICIES, AUTHENTICATION_MODES, ENTRY_TYPES,
};

/// An EKS error: HTTP status, `x-amzn-errortype` and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EksError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

fn err(status: u16, code: &'static str, message: impl Into<String>) -> EksError {
    EksError {
        status,
        code,
        message: message.into(),
    }
}

fn bad_param(message: impl Into<String>) -> EksError {
    err(400, "InvalidParameterException", message)
}

fn bad_request(message: impl Into<String>) -> EksError {
    err(400, "InvalidRequestException", message)
}

fn not_found(message: impl Into<String>) -> EksError {
    err(404, "ResourceNotFoundException", message)
}

fn in_use(message: impl Into<String>) -> EksError {
    err(409, "ResourceInUseException", message)
}

fn serialization(message: impl Into<String>) -> EksError {
    err(400, "SerializationException", message)
}

const MODE_REQUIRED: &str = "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.";
const ENTRY_NOT_FOUND: &str = "The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'.";
const ENTRY_IN_USE: &str = "The specified access entry resource is already in use on this cluster.";
const BAD_PRINCIPAL_FORMAT: &str = "The principalArn parameter format is not valid";
const SERVICE_LINKED: &str = "The caller is not allowed to modify access entries with a principalArn value of a Service Linked Role";
const INVALID_PRINCIPAL: &str = "The specified principalArn is invalid: invalid principal.";
/// Access entries per cluster (Service Quotas L-C56B9FC3, not adjustable).
const MAX_ENTRIES: usize = 3000;
/// Prefixes EKS reserves for usernames and (certainly `system:`, the others assumed) groups.
const RESERVED_PREFIXES: [&str; 5] = ["system:", "eks:", "aws:", "amazon:", "iam:"];

/// The emulated EKS operations, with their decoded path labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    ListClusters,
    DescribeCluster(String),
    UpdateClusterConfig(String),
    ListUpdates(String),
    DescribeUpdate(String, String),
    CreateAccessEntry(String),
    ListAccessEntries(String),
    DescribeAccessEntry(String, String),
    UpdateAccessEntry(String, String),
    DeleteAccessEntry(String, String),
    AssociateAccessPolicy(String, String),
    ListAssociatedAccessPolicies(String, String),
    DisassociateAccessPolicy(String, String, String),
    ListAccessPolicies,
    ListNodegroups(String),
    DescribeNodegroup(String, String),
    ListFargateProfiles(String),
    DescribeFargateProfile(String, String),
}

impl Op {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Op::ListClusters => "ListClusters",
            Op::DescribeCluster(..) => "DescribeCluster",
            Op::UpdateClusterConfig(..) => "UpdateClusterConfig",
            Op::ListUpdates(..) => "ListUpdates",
            Op::DescribeUpdate(..) => "DescribeUpdate",
            Op::CreateAccessEntry(..) => "CreateAccessEntry",
            Op::ListAccessEntries(..) => "ListAccessEntries",
            Op::DescribeAccessEntry(..) => "DescribeAccessEntry",
            Op::UpdateAccessEntry(..) => "UpdateAccessEntry",
            Op::DeleteAccessEntry(..) => "DeleteAccessEntry",
            Op::AssociateAccessPolicy(..) => "AssociateAccessPolicy",
            Op::ListAssociatedAccessPolicies(..) => "ListAssociatedAccessPolicies",
            Op::DisassociateAccessPolicy(..) => "DisassociateAccessPolicy",
            Op::ListAccessPolicies => "ListAccessPolicies",
            Op::ListNodegroups(..) => "ListNodegroups",
            Op::DescribeNodegroup(..) => "DescribeNodegroup",
            Op::ListFargateProfiles(..) => "ListFargateProfiles",
            Op::DescribeFargateProfile(..) => "DescribeFargateProfile",
        }
    }
}

/// Routes a request by method and decoded path segments. Labels are matched as whole segments,
/// so an ARN label must arrive percent-encoded as one segment.
pub(crate) fn route(method: &Method, segs: &[String]) -> Option<Op> {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let own = |i: usize| segs[i].clone();
    let get = method == Method::GET;
    let post = method == Method::POST;
    let delete = method == Method::DELETE;
    Some(match s.as_slice() {
        ["clusters"] if get => Op::ListClusters,
        ["access-policies"] if get => Op::ListAccessPolicies,
        ["clusters", _] if get => Op::DescribeCluster(own(1)),
        ["clusters", _, "update-config"] if post => Op::UpdateClusterConfig(own(1)),
        ["clusters", _, "updates"] if get => Op::ListUpdates(own(1)),
        ["clusters", _, "updates", _] if get => Op::DescribeUpdate(own(1), own(3)),
        ["clusters", _, "access-entries"] if post => Op::CreateAccessEntry(own(1)),
        ["clusters", _, "access-entries"] if get => Op::ListAccessEntries(own(1)),
        ["clusters", _, "access-entries", _] if get => Op::DescribeAccessEntry(own(1), own(3)),
        ["clusters", _, "access-entries", _] if post => Op::UpdateAccessEntry(own(1), own(3)),
        ["clusters", _, "access-entries", _] if delete => Op::DeleteAccessEntry(own(1), own(3)),
        ["clusters", _, "access-entries", _, "access-policies"] if post => {
            Op::AssociateAccessPolicy(own(1), own(3))
        }
        ["clusters", _, "access-entries", _, "access-policies"] if get => {
            Op::ListAssociatedAccessPolicies(own(1), own(3))
        }
        ["clusters", _, "access-entries", _, "access-policies", _] if delete => {
            Op::DisassociateAccessPolicy(own(1), own(3), own(5))
        }
        ["clusters", _, "node-groups"] if get => Op::ListNodegroups(own(1)),
        ["clusters", _, "node-groups", _] if get => Op::DescribeNodegroup(own(1), own(3)),
        ["clusters", _, "fargate-profiles"] if get => Op::ListFargateProfiles(own(1)),
        ["clusters", _, "fargate-profiles", _] if get => Op::DescribeFargateProfile(own(1), own(3)),
        _ => return None,
    })
}

/// EKS state that is not part of [`AwsWorld`]: idempotency tokens and id counters.
#[derive(Default, Debug)]
pub(crate) struct Internal {
    /// (cluster, clientRequestToken) -> (request body, principal ARN) of CreateAccessEntry.
    create_tokens: HashMap<(String, String), (Value, String)>,
    /// (cluster, clientRequestToken) -> (request body, update id) of UpdateClusterConfig.
    update_tokens: HashMap<(String, String), (Value, String)>,
    seq: u64,
}

/// Who is calling, and the request's query and body.
pub(crate) struct Ctx<'a> {
    pub account: String,
    pub partition: String,
    pub region: String,
    pub query: &'a BTreeMap<String, String>,
    pub body: &'a [u8],
    /// Epoch seconds used for every timestamp.
    pub time: u64,
}

/// Runs one EKS operation against the world.
pub(crate) fn handle(
    world: &mut AwsWorld,
    internal: &mut Internal,
    op: &Op,
    ctx: &Ctx,
) -> Result<Value, EksError> {
    match op {
        Op::ListClusters => list_clusters(world, ctx),
        Op::ListAccessPolicies => list_access_policies(ctx),
        Op::DescribeCluster(name) => describe_cluster(world, name, ctx),
        Op::UpdateClusterConfig(name) => update_cluster_config(world, internal, name, ctx),
        Op::ListUpdates(name) => list_updates(world, name, ctx),
        Op::DescribeUpdate(name, id) => describe_update(world, name, id, ctx),
        Op::CreateAccessEntry(name) => create_access_entry(world, internal, name, ctx),
        Op::ListAccessEntries(name) => list_access_entries(world, name, ctx),
        Op::DescribeAccessEntry(name, principal) => {
            describe_access_entry(world, name, principal, ctx)
        }
        Op::UpdateAccessEntry(name, principal) => update_access_entry(world, name, principal, ctx),
        Op::DeleteAccessEntry(name, principal) => delete_access_entry(world, name, principal, ctx),
        Op::AssociateAccessPolicy(name, principal) => {
            associate_access_policy(world, name, principal, ctx)
        }
        Op::ListAssociatedAccessPolicies(name, principal) => {
            list_associated_access_policies(world, name, principal, ctx)
        }
        Op::DisassociateAccessPolicy(name, principal, policy) => {
            disassociate_access_policy(world, name, principal, policy, ctx)
        }
        Op::ListNodegroups(name) => list_nodegroups(world, name, ctx),
        Op::DescribeNodegroup(name, ng) => describe_nodegroup(world, name, ng, ctx),
        Op::ListFargateProfiles(name) => list_fargate_profiles(world, name, ctx),
        Op::DescribeFargateProfile(name, fp) => describe_fargate_profile(world, name, fp, ctx),
    }
}

// ---------------------------------------------------------------------------------------------
// Lookups and shared checks

/// A cluster visible to the caller: it exists, in the caller's account and signing region.
fn cluster<'w>(
    world: &'w mut AwsWorld,
    name: &str,
    ctx: &Ctx,
) -> Result<&'w mut Cluster, EksError> {
    world
        .clusters
        .values_mut()
        .find(|c| c.name == name && c.account == ctx.account && c.region == ctx.region)
        .ok_or_else(|| not_found(format!("No cluster found for name: {name}.")))
}

/// A visible cluster whose authentication mode allows access-entry calls.
fn api_cluster<'w>(
    world: &'w mut AwsWorld,
    name: &str,
    ctx: &Ctx,
) -> Result<&'w mut Cluster, EksError> {
    let c = cluster(world, name, ctx)?;
    if c.authentication_mode == "API" || c.authentication_mode == "API_AND_CONFIG_MAP" {
        Ok(c)
    } else {
        Err(bad_request(MODE_REQUIRED))
    }
}

/// Applies `maxResults` (1-100, default 100) and `nextToken` to items sorted by key.
fn page(
    items: Vec<(String, Value)>,
    query: &BTreeMap<String, String>,
) -> Result<(Vec<Value>, Option<String>), EksError> {
    let max = match query.get("maxResults") {
        None => 100,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (1..=100).contains(&n) => n as usize,
            _ => {
                return Err(bad_param(format!(
                    "1 validation error detected: Value '{v}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100"
                )))
            }
        },
    };
    let after = match query.get("nextToken") {
        None => None,
        Some(t) => Some(
            parse_page_token(t)
                .ok_or_else(|| bad_param(format!("The nextToken {t} is not valid.")))?,
        ),
    };
    let mut rest = items
        .into_iter()
        .filter(|(k, _)| after.as_ref().is_none_or(|a| k > a))
        .peekable();
    let mut out = Vec::new();
    let mut last = None;
    while out.len() < max {
        match rest.next() {
            Some((k, v)) => {
                out.push(v);
                last = Some(k);
            }
            None => break,
        }
    }
    let next = match (rest.peek(), last) {
        (Some(_), Some(k)) => Some(page_token(&k)),
        _ => None,
    };
    Ok((out, next))
}

fn with_token(mut body: Value, next: Option<String>) -> Value {
    if let (Some(t), Some(obj)) = (next, body.as_object_mut()) {
        obj.insert("nextToken".into(), json!(t));
    }
    body
}

/// The request body as a JSON object (`{}` when empty).
fn body_object(body: &[u8]) -> Result<Map<String, Value>, EksError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(serialization(
            "The request body is not a valid JSON object.",
        )),
    }
}

fn opt_str(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, EksError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(serialization(format!("{key} must be a string"))),
    }
}

fn opt_str_list(obj: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, EksError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| serialization(format!("{key} must be a list of strings")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(serialization(format!("{key} must be a list of strings"))),
    }
}

fn opt_str_map(
    obj: &Map<String, Value>,
    key: &str,
) -> Result<Option<BTreeMap<String, String>>, EksError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| {
                v.as_str()
                    .map(|s| (k.clone(), s.to_string()))
                    .ok_or_else(|| serialization(format!("{key} values must be strings")))
            })
            .collect::<Result<BTreeMap<_, _>, _>>()
            .map(Some),
        Some(_) => Err(serialization(format!("{key} must be a map of strings"))),
    }
}

// ---------------------------------------------------------------------------------------------
// Validation rules

/// Checks a principal ARN for an access entry; returns it parsed and whether it is a role.
fn validate_principal(
    world: &AwsWorld,
    cluster: &Cluster,
    principal: &str,
) -> Result<(Arn, bool), EksError> {
    let format = || bad_param(BAD_PRINCIPAL_FORMAT);
    let arn = Arn::parse(principal).ok_or_else(format)?;
    if arn.service != "iam"
        || !arn.region.is_empty()
        || !PARTITIONS.contains(&arn.partition.as_str())
        || !is_account_id(&arn.account)
    {
        return Err(format());
    }
    let is_role = match arn.resource.split_once('/') {
        Some(("role", name)) if !name.is_empty() && !name.ends_with('/') => true,
        Some(("user", name)) if !name.is_empty() && !name.ends_with('/') => false,
        _ => return Err(format()),
    };
    if arn.resource.starts_with("role/aws-service-role/") {
        return Err(bad_param(SERVICE_LINKED));
    }
    let known = if is_role { &world.roles } else { &world.users };
    if arn.partition != cluster.partition || !known.iter().any(|p| p.arn == principal) {
        return Err(bad_param(INVALID_PRINCIPAL));
    }
    Ok((arn, is_role))
}

/// Username rules: no reserved prefix; `{{SessionName}}`/`{{SessionNameRaw}}` only at the end
/// with a `:` before it; no other template.
/// The AWS tagging rules EKS applies: at most 50 tags, keys of 1 to 128 characters not starting
/// with `aws:`, values of at most 256.
fn validate_tags(tags: &BTreeMap<String, String>) -> Result<(), EksError> {
    if tags.len() > 50 {
        return Err(bad_param("A resource can have at most 50 tags."));
    }
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(bad_param(format!("The tag {k} is not valid.")));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(bad_param(
                "Tag keys starting with aws: are reserved for AWS use.",
            ));
        }
    }
    Ok(())
}

fn validate_username(username: &str) -> Result<(), EksError> {
    if username.is_empty() {
        return Err(bad_param("The username must not be empty."));
    }
    for p in RESERVED_PREFIXES {
        if username.starts_with(p) {
            return Err(bad_param(format!("The username must not begin with {p}")));
        }
    }
    let mut from = 0;
    while let Some(open) = username[from..].find("{{").map(|i| i + from) {
        let Some(close) = username[open..].find("}}").map(|i| i + open) else {
            return Err(bad_param(format!(
                "The username {username} has an unterminated template."
            )));
        };
        let name = &username[open + 2..close];
        if name != "SessionName" && name != "SessionNameRaw" {
            return Err(bad_param(format!(
                "The username template {{{{{name}}}}} is not supported for access entries; only {{{{SessionName}}}} and {{{{SessionNameRaw}}}} are."
            )));
        }
        if close + 2 != username.len() {
            return Err(bad_param(format!(
                "The username template {{{{{name}}}}} must be at the end of the username."
            )));
        }
        if !username[..open].contains(':') {
            return Err(bad_param(format!(
                "The username must contain a ':' before the {{{{{name}}}}} template."
            )));
        }
        from = close + 2;
    }
    if username[from..].contains("}}") {
        return Err(bad_param(format!(
            "The username {username} has an unterminated template."
        )));
    }
    Ok(())
}

fn validate_groups(groups: &[String]) -> Result<(), EksError> {
    for g in groups {
        if g.is_empty() {
            return Err(bad_param("The kubernetes group name must not be empty."));
        }
        for p in RESERVED_PREFIXES {
            if g.starts_with(p) {
                return Err(bad_param(format!(
                    "The kubernetes group name {g} is invalid, it cannot start with {p}"
                )));
            }
        }
    }
    Ok(())
}

/// A namespace in an access scope: a DNS label, `*` allowed as a wildcard.
fn valid_namespace(ns: &str) -> bool {
    !ns.is_empty()
        && ns.len() <= 63
        && ns
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'*')
        && !ns.starts_with('-')
        && !ns.ends_with('-')
}

/// Whether a cluster's platform version supports access entries (docs/DOMAIN.md section 3).
/// Versions that cannot be parsed are assumed to support them.
fn supports_access_entries(version: &str, platform: &str) -> bool {
    let minor = version
        .strip_prefix("1.")
        .and_then(|m| m.parse::<u32>().ok());
    let patch = platform
        .strip_prefix("eks.")
        .and_then(|p| p.parse::<u32>().ok());
    let (Some(minor), Some(patch)) = (minor, patch) else {
        return true;
    };
    let needed = match minor {
        0..=22 => return false,
        23 => 17,
        24 => 15,
        25 => 12,
        26 => 11,
        27 => 10,
        28 => 6,
        29 => 1,
        30 => 2,
        _ => 0,
    };
    patch >= needed
}

// ---------------------------------------------------------------------------------------------
// Operations

fn list_clusters(world: &AwsWorld, ctx: &Ctx) -> Result<Value, EksError> {
    let items = world
        .clusters
        .values()
        .filter(|c| c.account == ctx.account && c.region == ctx.region)
        .map(|c| (c.name.clone(), json!(c.name)))
        .collect();
    let (names, next) = page(items, ctx.query)?;
    Ok(with_token(json!({ "clusters": names }), next))
}

fn list_access_policies(ctx: &Ctx) -> Result<Value, EksError> {
    let items = ACCESS_POLICIES
        .iter()
        .map(|n| {
            let arn = policy_arn(&ctx.partition, n);
            (n.to_string(), json!({ "name": n, "arn": arn }))
        })
        .collect();
    let (policies, next) = page(items, ctx.query)?;
    Ok(with_token(json!({ "accessPolicies": policies }), next))
}

fn policy_arn(partition: &str, name: &str) -> String {
    format!("arn:{partition}:eks::aws:cluster-access-policy/{name}")
}

/// DescribeCluster: polls the cluster's updates first.
fn describe_cluster(world: &mut AwsWorld, name: &str, ctx: &Ctx) -> Result<Value, EksError> {
    let c = cluster(world, name, ctx)?;
    let ids: Vec<String> = c.updates.keys().cloned().collect();
    for id in ids {
        advance(c, &id);
    }
    settle_status(c);
    Ok(json!({ "cluster": cluster_json(c, ctx) }))
}

/// ListUpdates: one page of the cluster's update ids.
fn list_updates(world: &mut AwsWorld, name: &str, ctx: &Ctx) -> Result<Value, EksError> {
    let c = cluster(world, name, ctx)?;
    let items = c.updates.keys().map(|k| (k.clone(), json!(k))).collect();
    let (ids, next) = page(items, ctx.query)?;
    Ok(with_token(json!({ "updateIds": ids }), next))
}

/// DescribeUpdate: polls the update, then describes it.
fn describe_update(
    world: &mut AwsWorld,
    name: &str,
    id: &str,
    ctx: &Ctx,
) -> Result<Value, EksError> {
    let c = cluster(world, name, ctx)?;
    if !c.updates.contains_key(id) {
        return Err(not_found(format!("No update found for ID: {id}")));
    }
    advance(c, id);
    settle_status(c);
    Ok(json!({ "update": update_json(&c.updates[id], ctx) }))
}

/// ListAccessEntries: one page of principal ARNs, optionally those with a given policy.
fn list_access_entries(world: &mut AwsWorld, name: &str, ctx: &Ctx) -> Result<Value, EksError> {
    let c = api_cluster(world, name, ctx)?;
    let filter = ctx.query.get("associatedPolicyArn");
    let items = c
        .access_entries
        .values()
        .filter(|e| filter.is_none_or(|p| e.policies.contains_key(p)))
        .map(|e| (e.principal_arn.clone(), json!(e.principal_arn)))
        .collect();
    let (arns, next) = page(items, ctx.query)?;
    Ok(with_token(json!({ "accessEntries": arns }), next))
}

/// DescribeAccessEntry.
fn describe_access_entry(
    world: &mut AwsWorld,
    name: &str,
    principal: &str,
    ctx: &Ctx,
) -> Result<Value, EksError> {
    let c = api_cluster(world, name, ctx)?;
    let e = c
        .access_entries
        .get(principal)
        .ok_or_else(|| not_found(ENTRY_NOT_FOUND))?;
    Ok(json!({ "accessEntry": entry_json(c, e, ctx) }))
}

/// DeleteAccessEntry.
fn delete_access_entry(
    world: &mut AwsWorld,
    name: &str,
    principal: &str,
    ctx: &Ctx,
) -> Result<Value, EksError> {
    let c = api_cluster(world, name, ctx)?;
    c.access_entries
        .remove(principal)
        .ok_or_else(|| not_found(ENTRY_NOT_FOUND))?;
    Ok(json!({}))
}

/// ListAssociatedAccessPolicies: one page of an entry's policy associations.
fn list_associated_access_policies(
    world: &mut AwsWorld,
    name: &str,
    principal: &str,
    ctx: &Ctx,
) -> Result<Value, EksError> {
    let c = api_cluster(world, name, ctx)?;
    let e = c
        .access_entries
        .get(principal)
        .ok_or_else(|| not_found(ENTRY_NOT_FOUND))?;
    let items = e
        .policies
        .iter()
        .map(|(arn, scope)| (arn.clone(), association_json(arn, scope, ctx)))
        .collect();
    let (policies, next) = page(items, ctx.query)?;
    let body = json!({
        "clusterName": c.name,
        "principalArn": e.principal_arn,
        "associatedAccessPolicies": policies,
    });
    Ok(with_token(body, next))
}

/// DisassociateAccessPolicy.
fn disassociate_access_policy(
    world: &mut AwsWorld,
    name: &str,
    principal: &str,
    policy: &str,
    ctx: &Ctx,
) -> Result<Value, EksError> {
    let c = api_cluster(world, name, ctx)?;
    let e = c
        .access_entries
        .get_mut(principal)
        .ok_or_else(|| not_found(ENTRY_NOT_FOUND))?;
    e.policies.remove(policy).ok_or_else(|| {
        not_found(format!(
            "The specified policyArn {policy} is not associated with the access entry."
        ))
    })?;
    Ok(json!({}))
}

/// ListNodegroups: one page of the cluster's managed node group names.
fn list_nodegroups(world: &mut AwsWorld, name: &str, ctx: &Ctx) -> Result<Value, EksError> {
    let c = cluster(world, name, ctx)?;
    let items = c.nodegroups.keys().map(|k| (k.clone(), json!(k))).collect();
    let (names, next) = page(items, ctx.query)?;
    Ok(with_token(json!({ "nodegroups": names }), next))
}

/// DescribeNodegroup.
fn describe_nodegroup(
    world: &mut AwsWorld,
    name: &str,
    ng: &str,
    ctx: &Ctx,
) -> Result<Value, EksError> {
    let c = cluster(world, name, ctx)?;
    let role = c
        .nodegroups
        .get(ng)
        .ok_or_else(|| not_found(format!("No node group found for name: {ng}.")))?;
    Ok(json!({ "nodegroup": nodegroup_json(c, ng, role, ctx) }))
}

/// ListFargateProfiles: one page of the cluster's Fargate profile names.
fn list_fargate_profiles(world: &mut AwsWorld, name: &str, ctx: &Ctx) -> Result<Value, EksError> {
    let c = cluster(world, name, ctx)?;
    let items = c
        .fargate_profiles
        .keys()
        .map(|k| (k.clone(), json!(k)))
        .collect();
    let (names, next) = page(items, ctx.query)?;
    Ok(with_token(json!({ "fargateProfileNames": names }), next))
}

/// DescribeFargateProfile.
fn describe_fargate_profile(
    world: &mut AwsWorld,
    name: &str,
    fp: &str,
    ctx: &Ctx,
) -> Result<Value, EksError> {
    let c = cluster(world, name, ctx)?;
    let role = c
        .fargate_profiles
        .get(fp)
        .ok_or_else(|| not_found(format!("No Fargate Profile found with name: {fp}.")))?;
    Ok(json!({ "fargateProfile": fargate_json(c, fp, role, ctx) }))
}

fn update_cluster_config(
    world: &mut AwsWorld,
    internal: &mut Internal,
    name: &str,
    ctx: &Ctx,
) -> Result<Value, EksError> {
    let body = body_object(ctx.body)?;
    internal.seq += 1;
    let seq = internal.seq;
    let token = opt_str(&body, "clientRequestToken")?;
    world
        .token_log
        .push(("UpdateClusterConfig".into(), name.into(), token.clone()));
    let c = cluster(world, name, ctx)?;
    let fingerprint = fingerprint(&body);
    if let Some(replay) = replayed_update(internal, c, name, token.as_deref(), &fingerprint, ctx) {
        return Ok(replay);
    }
    let target = requested_mode(&body)?;
    check_mode_update(c, name, &target)?;
    let id = uuid((name, seq, "update"));
    let update = Update {
        id: id.clone(),
        status: "InProgress".into(),
        polls_left: c.update_polls,
        target_mode: target,
        created_at: ctx.time,
    };
    c.status = "UPDATING".into();
    c.updates.insert(id.clone(), update.clone());
    if let Some(t) = token {
        internal
            .update_tokens
            .insert((name.to_string(), t), (fingerprint, id));
    }
    Ok(json!({ "update": update_json(&update, ctx) }))
}

/// A request body without its `clientRequestToken`, to compare retries with.
fn fingerprint(body: &Map<String, Value>) -> Value {
    let mut fingerprint = body.clone();
    fingerprint.remove("clientRequestToken");
    Value::Object(fingerprint)
}

/// The answer to a retried UpdateClusterConfig (same token, same body), if this is one.
fn replayed_update(
    internal: &Internal,
    c: &Cluster,
    name: &str,
    token: Option<&str>,
    fingerprint: &Value,
    ctx: &Ctx,
) -> Option<Value> {
    let t = token?;
    let (req, id) = internal
        .update_tokens
        .get(&(name.to_string(), t.to_string()))?;
    if *req != *fingerprint {
        return None;
    }
    let u = c.updates.get(id)?;
    Some(json!({ "update": update_json(u, ctx) }))
}

/// The authentication mode an UpdateClusterConfig body asks for (the only update supported).
fn requested_mode(body: &Map<String, Value>) -> Result<String, EksError> {
    let others: Vec<&String> = body
        .keys()
        .filter(|k| *k != "accessConfig" && *k != "clientRequestToken")
        .collect();
    let mode = match body.get("accessConfig") {
        Some(Value::Object(ac)) => opt_str(ac, "authenticationMode")?,
        Some(Value::Null) | None => None,
        Some(_) => return Err(serialization("accessConfig must be an object")),
    };
    if !others.is_empty() && mode.is_some() {
        return Err(bad_param("Only one type of update can be allowed."));
    }
    let Some(target) = mode else {
        return Err(bad_param(
            "The emulator supports only accessConfig.authenticationMode updates.",
        ));
    };
    Ok(target)
}

/// The EKS rules for moving cluster `name` to authentication mode `target`.
fn check_mode_update(c: &Cluster, name: &str, target: &str) -> Result<(), EksError> {
    if let Some(u) = c.updates.values().find(|u| u.status == "InProgress") {
        return Err(in_use(format!(
            "Cannot AccessConfigUpdate because cluster {name} currently has update {} in progress",
            u.id
        )));
    }
    if c.status != "ACTIVE" {
        return Err(in_use(format!(
            "Cannot AccessConfigUpdate because cluster {name} is in {} state",
            c.status
        )));
    }
    let Some(to) = AUTHENTICATION_MODES.iter().position(|m| *m == target) else {
        return Err(bad_param(format!(
            "1 validation error detected: Value '{target}' at 'accessConfig.authenticationMode' failed to satisfy constraint: Member must satisfy enum value set: [API, API_AND_CONFIG_MAP, CONFIG_MAP]"
        )));
    };
    let from = AUTHENTICATION_MODES
        .iter()
        .position(|m| *m == c.authentication_mode)
        .unwrap_or(0);
    if from == to {
        return Err(bad_param(format!(
            "Cluster is already at the desired configuration with authenticationMode: {target}"
        )));
    }
    if to != from + 1 {
        return Err(bad_param(format!(
            "Unsupported authentication mode update from {} to {target}",
            c.authentication_mode
        )));
    }
    if !supports_access_entries(&c.version, &c.platform_version) {
        return Err(bad_request(format!(
            "The cluster's platform version {} (Kubernetes {}) does not support access entries. Update the cluster's platform version first.",
            c.platform_version, c.version
        )));
    }
    Ok(())
}

/// One poll of an update: counts down, then completes it.
fn advance(c: &mut Cluster, id: &str) {
    let Some(u) = c.updates.get_mut(id) else {
        return;
    };
    if u.status != "InProgress" {
        return;
    }
    if u.polls_left > 0 {
        u.polls_left -= 1;
        return;
    }
    u.status = "Successful".into();
    let target = u.target_mode.clone();
    let from = std::mem::replace(&mut c.authentication_mode, target.clone());
    if from == "CONFIG_MAP" && target == "API_AND_CONFIG_MAP" {
        let at = u.created_at;
        create_eks_entries(c, at);
    }
}

/// Back to ACTIVE once no update is in progress.
fn settle_status(c: &mut Cluster) {
    if c.status == "UPDATING" && !c.updates.values().any(|u| u.status == "InProgress") {
        c.status = "ACTIVE".into();
    }
}

/// The entries EKS creates when access entries are enabled: the creator's admin entry and the
/// node entries of managed node groups and Fargate profiles.
fn create_eks_entries(c: &mut Cluster, at: u64) {
    let creator = match Arn::parse(&c.creator_arn) {
        // An assumed-role creator becomes its role (without path, as STS reports it).
        Some(a) if a.service == "sts" && a.resource.starts_with("assumed-role/") => {
            let role = a.resource.split('/').nth(1).unwrap_or_default();
            Some(format!(
                "arn:{}:iam::{}:role/{role}",
                a.partition, a.account
            ))
        }
        Some(_) => Some(c.creator_arn.clone()),
        None => None,
    };
    if let Some(arn) = creator {
        let admin = policy_arn(&c.partition, "AmazonEKSClusterAdminPolicy");
        c.access_entries.entry(arn.clone()).or_insert_with(|| {
            let mut e = AccessEntry::standard(&arn);
            e.created_by_eks = true;
            e.created_at = at;
            e.policies.insert(admin, Scope::cluster());
            e
        });
    }
    let nodes = c
        .nodegroups
        .values()
        .map(|r| (r.clone(), "EC2_LINUX"))
        .chain(
            c.fargate_profiles
                .values()
                .map(|r| (r.clone(), "FARGATE_LINUX")),
        )
        .collect::<Vec<_>>();
    for (role, kind) in nodes {
        if c.late_node_entries {
            c.owed_entries.insert(role, kind.into());
        } else {
            make_node_entry(c, &role, kind, at);
        }
    }
}

/// The entry EKS makes for a node role.
fn make_node_entry(c: &mut Cluster, role: &str, kind: &str, at: u64) {
    c.access_entries
        .entry(role.to_string())
        .or_insert_with(|| AccessEntry {
            principal_arn: role.to_string(),
            kind: kind.into(),
            username: default_username(role, kind),
            kubernetes_groups: default_groups(kind),
            created_by_eks: true,
            created_at: at,
            ..AccessEntry::default()
        });
}

fn create_access_entry(
    world: &mut AwsWorld,
    internal: &mut Internal,
    name: &str,
    ctx: &Ctx,
) -> Result<Value, EksError> {
    let body = body_object(ctx.body)?;
    // Checks the cluster (404) and the mode (400) first, as EKS does.
    let snapshot = api_cluster(world, name, ctx)?.clone();
    let principal =
        opt_str(&body, "principalArn")?.ok_or_else(|| bad_param("principalArn is required."))?;
    let token = opt_str(&body, "clientRequestToken")?;
    world
        .token_log
        .push(("CreateAccessEntry".into(), principal.clone(), token.clone()));
    let fingerprint = fingerprint(&body);
    if let Some(replay) = replayed_entry(
        internal,
        &snapshot,
        name,
        token.as_deref(),
        &fingerprint,
        ctx,
    ) {
        return Ok(replay);
    }
    let snapshot = land_owed_entry(world, snapshot, name, &principal, ctx)?;
    let (arn, is_role) = validate_principal(world, &snapshot, &principal)?;
    let kind = opt_str(&body, "type")?.unwrap_or_else(|| "STANDARD".into());
    if !ENTRY_TYPES.contains(&kind.as_str()) {
        return Err(bad_param(format!(
            "The type {kind} is not valid. Valid types are: {}",
            ENTRY_TYPES.join(", ")
        )));
    }
    let username = opt_str(&body, "username")?;
    let groups = opt_str_list(&body, "kubernetesGroups")?.unwrap_or_default();
    let tags = opt_str_map(&body, "tags")?.unwrap_or_default();
    validate_tags(&tags)?;
    validate_entry_fields(
        &snapshot,
        &kind,
        &arn,
        is_role,
        username.as_deref(),
        &groups,
    )?;
    if snapshot.access_entries.contains_key(&principal) {
        return Err(in_use(ENTRY_IN_USE));
    }
    if snapshot.access_entries.len() >= MAX_ENTRIES {
        // The quota's code is documented; this message is ours (EKS's exact
        // wording is not published).
        return Err(err(
            400,
            "ResourceLimitExceededException",
            format!("Cannot create more than {MAX_ENTRIES} access entries for this cluster."),
        ));
    }
    let entry = new_entry(&principal, kind, username, groups, tags, ctx.time);
    let c = cluster(world, name, ctx)?;
    c.access_entries.insert(principal.clone(), entry);
    if let Some(t) = token {
        internal
            .create_tokens
            .insert((name.to_string(), t), (fingerprint, principal.clone()));
    }
    Ok(json!({ "accessEntry": entry_json(c, &c.access_entries[&principal], ctx) }))
}

/// The answer to a retried CreateAccessEntry (same token, same body), if this is one.
fn replayed_entry(
    internal: &Internal,
    snapshot: &Cluster,
    name: &str,
    token: Option<&str>,
    fingerprint: &Value,
    ctx: &Ctx,
) -> Option<Value> {
    let t = token?;
    let (req, arn) = internal
        .create_tokens
        .get(&(name.to_string(), t.to_string()))?;
    if *req != *fingerprint {
        return None;
    }
    let e = snapshot.access_entries.get(arn)?;
    Some(json!({ "accessEntry": entry_json(snapshot, e, ctx) }))
}

/// Makes the entry EKS owes for `principal` (just before the request lands); returns the cluster.
fn land_owed_entry(
    world: &mut AwsWorld,
    snapshot: Cluster,
    name: &str,
    principal: &str,
    ctx: &Ctx,
) -> Result<Cluster, EksError> {
    let mut snapshot = snapshot;
    if let Some(kind) = snapshot.owed_entries.get(principal).cloned() {
        let c = cluster(world, name, ctx)?;
        c.owed_entries.remove(principal);
        make_node_entry(c, principal, &kind, ctx.time);
        snapshot = c.clone();
    }
    Ok(snapshot)
}

/// The type-specific rules for a new entry's principal, username and groups.
fn validate_entry_fields(
    snapshot: &Cluster,
    kind: &str,
    arn: &Arn,
    is_role: bool,
    username: Option<&str>,
    groups: &[String],
) -> Result<(), EksError> {
    if kind != "STANDARD" {
        if !is_role {
            return Err(bad_param(format!(
                "The principalArn of an access entry of type {kind} must be an IAM role."
            )));
        }
        if arn.account != snapshot.account {
            return Err(bad_param(format!(
                "The principalArn of an access entry of type {kind} must be in the cluster's account {}.",
                snapshot.account
            )));
        }
        if username.is_some() {
            return Err(bad_param(format!(
                "The username can't be set for an access entry of type {kind}."
            )));
        }
        if !groups.is_empty() {
            return Err(bad_param(format!(
                "kubernetesGroups can't be set for an access entry of type {kind}."
            )));
        }
    } else {
        if let Some(u) = username {
            validate_username(u)?;
        }
        validate_groups(groups)?;
    }
    Ok(())
}

/// A new (customer-made) access entry; non-STANDARD types get their default groups.
fn new_entry(
    principal: &str,
    kind: String,
    username: Option<String>,
    groups: Vec<String>,
    tags: BTreeMap<String, String>,
    at: u64,
) -> AccessEntry {
    AccessEntry {
        principal_arn: principal.to_string(),
        username: username.unwrap_or_else(|| default_username(principal, &kind)),
        kubernetes_groups: if kind == "STANDARD" {
            groups
        } else {
            default_groups(&kind)
        },
        kind,
        policies: BTreeMap::new(),
        created_by_eks: false,
        created_at: at,
        tags,
    }
}

fn update_access_entry(
    world: &mut AwsWorld,
    name: &str,
    principal: &str,
    ctx: &Ctx,
) -> Result<Value, EksError> {
    let body = body_object(ctx.body)?;
    world.token_log.push((
        "UpdateAccessEntry".into(),
        principal.into(),
        opt_str(&body, "clientRequestToken")?,
    ));
    let c = api_cluster(world, name, ctx)?;
    let e = c
        .access_entries
        .get(principal)
        .ok_or_else(|| not_found(ENTRY_NOT_FOUND))?;
    let username = opt_str(&body, "username")?;
    let groups = opt_str_list(&body, "kubernetesGroups")?;
    if e.kind != "STANDARD" {
        if username.is_some() {
            return Err(bad_param(format!(
                "The username can't be set for an access entry of type {}.",
                e.kind
            )));
        }
        if groups.as_ref().is_some_and(|g| !g.is_empty()) {
            return Err(bad_param(format!(
                "kubernetesGroups can't be set for an access entry of type {}.",
                e.kind
            )));
        }
    } else {
        if let Some(u) = &username {
            validate_username(u)?;
        }
        if let Some(g) = &groups {
            validate_groups(g)?;
        }
    }
    let e = c.access_entries.get_mut(principal).expect("checked above");
    if e.kind == "STANDARD" {
        if let Some(u) = username {
            e.username = u;
        }
        if let Some(g) = groups {
            e.kubernetes_groups = g;
        }
    }
    Ok(json!({ "accessEntry": entry_json(c, &c.access_entries[principal], ctx) }))
}

fn associate_access_policy(
    world: &mut AwsWorld,
    name: &str,
    principal: &str,
    ctx: &Ctx,
) -> Result<Value, EksError> {
    let body = body_object(ctx.body)?;
    let c = api_cluster(world, name, ctx)?;
    let partition = c.partition.clone();
    let e = c
        .access_entries
        .get(principal)
        .ok_or_else(|| not_found(ENTRY_NOT_FOUND))?;
    let policy = opt_str(&body, "policyArn")?.ok_or_else(|| bad_param("policyArn is required."))?;
    let scope = match body.get("accessScope") {
        Some(Value::Object(s)) => s.clone(),
        None | Some(Value::Null) => return Err(bad_param("accessScope is required.")),
        Some(_) => return Err(serialization("accessScope must be an object")),
    };
    if e.kind != "STANDARD" {
        return Err(bad_param(format!(
            "Access policies can't be associated with an access entry of type {}.",
            e.kind
        )));
    }
    let policy_name = match Arn::parse(&policy) {
        Some(a) if a.service == "eks" && a.region.is_empty() && a.account == "aws" => a
            .resource
            .strip_prefix("cluster-access-policy/")
            .map(str::to_string)
            .filter(|n| !n.is_empty())
            .map(|n| (a.partition, n)),
        _ => None,
    };
    let Some((policy_partition, policy_name)) = policy_name else {
        return Err(bad_param(format!("The policyArn {policy} is not valid.")));
    };
    if policy_partition != partition || !ACCESS_POLICIES.contains(&policy_name.as_str()) {
        return Err(not_found(format!(
            "The specified policyArn {policy} could not be found."
        )));
    }
    let kind = opt_str(&scope, "type")?.unwrap_or_default();
    let namespaces = opt_str_list(&scope, "namespaces")?.unwrap_or_default();
    match kind.as_str() {
        "cluster" if !namespaces.is_empty() => {
            return Err(bad_param(
                "namespaces can't be specified for an access scope of type cluster.",
            ))
        }
        "cluster" => {}
        "namespace" if namespaces.is_empty() => {
            return Err(bad_param(
                "At least one namespace is required for an access scope of type namespace.",
            ))
        }
        "namespace" => {
            if let Some(bad) = namespaces.iter().find(|n| !valid_namespace(n)) {
                return Err(bad_param(format!("The namespace {bad} is not valid.")));
            }
        }
        other => {
            return Err(bad_param(format!(
                "The access scope type {other} is not valid. Valid types are: cluster, namespace"
            )))
        }
    }
    let scope = Scope { kind, namespaces };
    let e = c.access_entries.get_mut(principal).expect("checked above");
    e.policies.insert(policy.clone(), scope.clone());
    Ok(json!({
        "clusterName": c.name,
        "principalArn": principal,
        "associatedAccessPolicy": association_json(&policy, &scope, ctx),
    }))
}

// ---------------------------------------------------------------------------------------------
// JSON shapes

fn cluster_json(c: &Cluster, ctx: &Ctx) -> Value {
    let (p, r, a) = (&c.partition, &c.region, &c.account);
    json!({
        "name": c.name,
        "arn": format!("arn:{p}:eks:{r}:{a}:cluster/{}", c.name),
        "createdAt": stored_or(c.created_at, ctx),
        "version": c.version,
        "endpoint": c.endpoint,
        "roleArn": format!("arn:{p}:iam::{a}:role/eks-cluster-role"),
        "resourcesVpcConfig": {
            "subnetIds": [],
            "securityGroupIds": [],
            "clusterSecurityGroupId": "sg-0e0e0e0e0e0e0e0e0",
            "vpcId": "vpc-0e0e0e0e0e0e0e0e0",
            "endpointPublicAccess": true,
            "endpointPrivateAccess": false,
            "publicAccessCidrs": ["0.0.0.0/0"]
        },
        "kubernetesNetworkConfig": { "serviceIpv4Cidr": "10.100.0.0/16", "ipFamily": "ipv4" },
        "logging": { "clusterLogging": [ {
            "types": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
            "enabled": false
        } ] },
        "identity": { "oidc": { "issuer": format!(
            "https://oidc.eks.{r}.amazonaws.com/id/{}",
            uuid(c.name.as_str()).replace('-', "").to_uppercase()
        ) } },
        "status": c.status,
        "certificateAuthority": { "data": c.certificate_authority },
        "platformVersion": c.platform_version,
        "tags": c.tags,
        "health": { "issues": [] },
        "accessConfig": {
            "authenticationMode": c.authentication_mode,
            "bootstrapClusterCreatorAdminPermissions": c.bootstrap_creator_admin
        }
    })
}

/// A stored timestamp, or the request time for one that was never set.
fn stored_or(at: u64, ctx: &Ctx) -> u64 {
    if at > 0 {
        at
    } else {
        ctx.time
    }
}

fn update_json(u: &Update, ctx: &Ctx) -> Value {
    json!({
        "id": u.id,
        "status": u.status,
        "type": "AccessConfigUpdate",
        "params": [ { "type": "AuthenticationMode", "value": u.target_mode } ],
        "createdAt": stored_or(u.created_at, ctx),
        "errors": []
    })
}

fn entry_json(c: &Cluster, e: &AccessEntry, ctx: &Ctx) -> Value {
    let (kind, rest) = Arn::parse(&e.principal_arn)
        .map(|a| {
            let (k, r) = a.resource.split_once('/').unwrap_or(("role", ""));
            let name = r.rsplit('/').next().unwrap_or_default().to_string();
            (k.to_string(), format!("{}/{name}", a.account))
        })
        .unwrap_or_default();
    json!({
        "clusterName": c.name,
        "principalArn": e.principal_arn,
        "kubernetesGroups": e.kubernetes_groups,
        "accessEntryArn": format!(
            "arn:{}:eks:{}:{}:access-entry/{}/{kind}/{rest}/{}",
            c.partition, c.region, c.account, c.name, uuid(e.principal_arn.as_str())
        ),
        "createdAt": stored_or(e.created_at, ctx),
        "modifiedAt": ctx.time,
        "tags": e.tags,
        "username": e.username,
        "type": e.kind
    })
}

fn association_json(policy: &str, scope: &Scope, ctx: &Ctx) -> Value {
    json!({
        "policyArn": policy,
        "accessScope": { "type": scope.kind, "namespaces": scope.namespaces },
        "associatedAt": ctx.time,
        "modifiedAt": ctx.time
    })
}

fn nodegroup_json(c: &Cluster, ng: &str, role: &str, ctx: &Ctx) -> Value {
    json!({
        "nodegroupName": ng,
        "nodegroupArn": format!(
            "arn:{}:eks:{}:{}:nodegroup/{}/{ng}/{}",
            c.partition, c.region, c.account, c.name, uuid((c.name.as_str(), ng))
        ),
        "clusterName": c.name,
        "version": c.version,
        "releaseVersion": format!("{}.0-20240101", c.version),
        "createdAt": ctx.time,
        "modifiedAt": ctx.time,
        "status": "ACTIVE",
        "capacityType": "ON_DEMAND",
        "scalingConfig": { "minSize": 1, "maxSize": 3, "desiredSize": 2 },
        "instanceTypes": ["t3.medium"],
        "subnets": [],
        "amiType": "AL2023_x86_64_STANDARD",
        "nodeRole": role,
        "labels": {},
        "diskSize": 20,
        "health": { "issues": [] },
        "tags": {}
    })
}

fn fargate_json(c: &Cluster, fp: &str, role: &str, ctx: &Ctx) -> Value {
    json!({
        "fargateProfileName": fp,
        "fargateProfileArn": format!(
            "arn:{}:eks:{}:{}:fargateprofile/{}/{fp}/{}",
            c.partition, c.region, c.account, c.name, uuid((c.name.as_str(), fp))
        ),
        "clusterName": c.name,
        "createdAt": ctx.time,
        "podExecutionRoleArn": role,
        "subnets": [],
        "selectors": [ { "namespace": "default", "labels": {} } ],
        "status": "ACTIVE",
        "tags": {}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for ok in [
            "alice",
            "team:{{SessionName}}",
            "a:b-{{SessionNameRaw}}",
            "arn:aws:sts::111122223333:assumed-role/dev/{{SessionName}}",
        ] {
            assert_eq!(validate_username(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "system:admin",
            "eks:x",
            "aws:x",
            "amazon:x",
            "iam:x",
            "{{SessionName}}",
            "team-{{SessionName}}",
            "a:{{SessionName}}-x",
            "a:{{AccountID}}",
            "a:{{AccessKeyID}}",
            "a:{{EC2PrivateDNSName}}",
            "a:{{SessionName",
            "a:}}",
        ] {
            assert!(validate_username(bad).is_err(), "{bad}");
        }
        assert_eq!(
            validate_username("system:admin").unwrap_err().message,
            "The username must not begin with system:"
        );
    }

    #[test]
    fn groups() {
        assert!(validate_groups(&["dev".into(), "ops:readers".into()]).is_ok());
        assert_eq!(
            validate_groups(&["system:masters".into()])
                .unwrap_err()
                .message,
            "The kubernetes group name system:masters is invalid, it cannot start with system:"
        );
    }

    #[test]
    fn platform_versions() {
        assert!(supports_access_entries("1.29", "eks.1"));
        assert!(!supports_access_entries("1.28", "eks.5"));
        assert!(supports_access_entries("1.28", "eks.6"));
        assert!(!supports_access_entries("1.22", "eks.99"));
        assert!(supports_access_entries("1.31", "eks.1"));
    }

    #[test]
    fn routes_decode_labels_after_routing() {
        let segs = crate::util::segments(
            "/clusters/prod/access-entries/arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fa%2Fb/access-policies",
        );
        assert_eq!(
            route(&Method::POST, &segs),
            Some(Op::AssociateAccessPolicy(
                "prod".into(),
                "arn:aws:iam::111122223333:role/a/b".into()
            ))
        );
        // An unencoded ARN spills over several segments and matches nothing.
        let segs = crate::util::segments("/clusters/prod/access-entries/arn:aws:iam::1:role/a/b");
        assert_eq!(route(&Method::GET, &segs), None);
    }
}
