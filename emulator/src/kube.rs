//! The [`Kube`] server: the slice of the Kubernetes API migrate-auth uses, over plain HTTP. It
//! owns ConfigMap get/list/create/update/patch/delete with resourceVersion conflicts, RBAC object
//! lists with `limit`/`continue` paging, minimal discovery, bearer-token authentication, and
//! Kubernetes `Status` errors.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};

use crate::server::{lock, read_body, serve, Fault, Meter, Server, STALL};

mod lease;
use crate::util::{iso8601, now_epoch, page_token, parse_form, parse_page_token, segments, uuid};
pub use lease::{holders as lease_holders, Lease};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const RBAC_VERSION: &str = "rbac.authorization.k8s.io/v1";
/// (resource, kind, namespaced) of the RBAC resources served.
const RBAC_RESOURCES: [(&str, &str, bool); 4] = [
    ("clusterroles", "ClusterRole", false),
    ("clusterrolebindings", "ClusterRoleBinding", false),
    ("roles", "Role", true),
    ("rolebindings", "RoleBinding", true),
];

/// The Kubernetes state the [`Kube`] emulator serves.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KubeWorld {
    /// Valid bearer tokens; a request without a valid one => 401 (Status, reason Unauthorized).
    pub tokens: BTreeSet<String>,
    /// Tokens (among `tokens`) that may only get and list: any other verb is
    /// 403 Forbidden, and SelfSubjectAccessReviews say so.
    pub read_only_tokens: BTreeSet<String>,
    /// Also accept EKS tokens (what `aws eks get-token` makes) that pass the
    /// verifier's checks (see `eks_token`) for `eks_cluster`.
    pub accept_eks_tokens: bool,
    /// The cluster name EKS tokens must be signed for (`x-k8s-aws-id`).
    pub eks_cluster: String,
    /// Access key id -> secret, to check EKS tokens' signatures as STS would.
    pub aws_secrets: BTreeMap<String, String>,
    /// EKS tokens signed before this instant are refused as expired (as if more than 15
    /// minutes had passed since): a client must get a new one.
    pub eks_tokens_expired_before: Option<std::time::SystemTime>,
    /// ConfigMaps by (namespace, name).
    pub config_maps: BTreeMap<(String, String), ConfigMap>,
    /// Leases (`coordination.k8s.io/v1`) by (namespace, name).
    pub leases: BTreeMap<(String, String), Lease>,
    /// ClusterRole/ClusterRoleBinding/Role/RoleBinding objects as JSON (kind, apiVersion,
    /// metadata, ...).
    pub rbac: Vec<Value>,
    /// Global counter, bumped on every write.
    pub resource_version: u64,
    /// Someone else's edit of a ConfigMap, (namespace, name, key, value): it lands just
    /// before the next write to that ConfigMap, which then finds its resourceVersion stale.
    pub concurrent_edit: Option<(String, String, String, String)>,
}

impl KubeWorld {
    /// A world that accepts the bearer token `token`.
    pub fn with_token(token: &str) -> KubeWorld {
        KubeWorld {
            tokens: BTreeSet::from([token.to_string()]),
            ..KubeWorld::default()
        }
    }

    /// Stores a ConfigMap as a create or replace does: its data and labels,
    /// a new resource version.
    fn write_config_map(
        &mut self,
        namespace: &str,
        name: &str,
        data: BTreeMap<String, String>,
        labels: BTreeMap<String, String>,
    ) {
        self.put_config_map(namespace, name, data);
        if let Some(cm) = self
            .config_maps
            .get_mut(&(namespace.to_string(), name.to_string()))
        {
            cm.labels = labels;
        }
    }

    /// Stores a ConfigMap as a write would: bumps the resource version and keeps (or makes) its
    /// uid. Returns the new resource version.
    pub fn put_config_map(
        &mut self,
        namespace: &str,
        name: &str,
        data: BTreeMap<String, String>,
    ) -> String {
        self.resource_version += 1;
        let rv = self.resource_version.to_string();
        let key = (namespace.to_string(), name.to_string());
        let (uid, labels) = self
            .config_maps
            .get(&key)
            .map(|c| (c.uid.clone(), c.labels.clone()))
            .unwrap_or_else(|| {
                (
                    uuid((namespace, name, self.resource_version)),
                    BTreeMap::new(),
                )
            });
        self.config_maps.insert(
            key,
            ConfigMap {
                data,
                labels,
                resource_version: rv.clone(),
                uid,
            },
        );
        rv
    }
}

/// A ConfigMap's data, labels and identity.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigMap {
    pub data: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub resource_version: String,
    pub uid: String,
}

/// A Kubernetes API server emulator on 127.0.0.1 (plain HTTP).
pub struct Kube {
    server: Server,
    shared: Arc<Shared>,
}

impl std::ops::Deref for Kube {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

struct Shared {
    meter: Arc<Meter>,
    world: Mutex<KubeWorld>,
    started: u64,
}

impl Kube {
    /// Starts the server on 127.0.0.1 (a free port) on the current tokio runtime.
    pub async fn start(world: KubeWorld) -> Kube {
        let shared = Arc::new(Shared {
            meter: Arc::new(Meter::default()),
            world: Mutex::new(world),
            started: now_epoch(),
        });
        let running = serve(shared.clone(), handle).await;
        Kube {
            server: Server::new(running, shared.meter.clone()),
            shared,
        }
    }

    /// A snapshot of the current state.
    pub fn world(&self) -> KubeWorld {
        lock(&self.shared.world).clone()
    }

    /// Runs `f` on the live state (under the server's lock: do not call this server from `f`).
    pub fn with_world<R>(&self, f: impl FnOnce(&mut KubeWorld) -> R) -> R {
        f(&mut lock(&self.shared.world))
    }
}

/// A Kubernetes error, rendered as a `Status`.
struct KubeError {
    code: u16,
    reason: &'static str,
    message: String,
    details: Option<Value>,
}

fn kerr(code: u16, reason: &'static str, message: impl Into<String>) -> KubeError {
    KubeError {
        code,
        reason,
        message: message.into(),
        details: None,
    }
}

fn cm_details(name: &str) -> Option<Value> {
    Some(json!({ "name": name, "kind": "configmaps" }))
}

fn cm_not_found(name: &str) -> KubeError {
    KubeError {
        details: cm_details(name),
        ..kerr(404, "NotFound", format!("configmaps \"{name}\" not found"))
    }
}

fn cm_conflict(name: &str, message: String) -> KubeError {
    KubeError {
        details: cm_details(name),
        ..kerr(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on configmaps \"{name}\": {message}"),
        )
    }
}

/// 409 AlreadyExists for a create of `resource` (as the API names it, e.g.
/// `configmaps`, `leases.coordination.k8s.io`) named `name`.
fn already_exists(resource: &str, name: &str, details: Option<Value>) -> KubeError {
    KubeError {
        details,
        ..kerr(
            409,
            "AlreadyExists",
            format!("{resource} \"{name}\" already exists"),
        )
    }
}

fn bad_request(message: impl Into<String>) -> KubeError {
    kerr(400, "BadRequest", message)
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Version,
    Discovery(Value),
    ConfigMaps(Option<String>),
    ConfigMap(String, String),
    RbacList(usize, Option<String>),
    RbacGet(usize, Option<String>, String),
    AccessReview,
    Leases(String),
    Lease(String, String),
    NotFound,
}

fn route(segs: &[String]) -> Route {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let rbac = |r: &str| RBAC_RESOURCES.iter().position(|(n, _, _)| *n == r);
    match s.as_slice() {
        ["version"] => Route::Version,
        ["api"] => Route::Discovery(json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [ { "clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:443" } ]
        })),
        ["api", "v1"] => Route::Discovery(json!({
            "kind": "APIResourceList",
            "groupVersion": "v1",
            "resources": [ {
                "name": "configmaps", "singularName": "configmap", "namespaced": true,
                "kind": "ConfigMap", "shortNames": ["cm"],
                "verbs": ["create", "delete", "get", "list", "patch", "update"]
            } ]
        })),
        ["apis"] => Route::Discovery(json!({
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [ rbac_group() ]
        })),
        ["apis", RBAC_GROUP] => {
            let mut g = rbac_group();
            g["kind"] = json!("APIGroup");
            g["apiVersion"] = json!("v1");
            Route::Discovery(g)
        }
        ["apis", RBAC_GROUP, "v1"] => Route::Discovery(json!({
            "kind": "APIResourceList",
            "groupVersion": RBAC_VERSION,
            "resources": RBAC_RESOURCES.iter().map(|(n, k, ns)| json!({
                "name": n, "singularName": k.to_lowercase(), "namespaced": ns, "kind": k,
                "verbs": ["get", "list"]
            })).collect::<Vec<_>>()
        })),
        ["api", "v1", "configmaps"] => Route::ConfigMaps(None),
        ["api", "v1", "namespaces", ns, "configmaps"] => Route::ConfigMaps(Some(ns.to_string())),
        ["api", "v1", "namespaces", ns, "configmaps", name] => {
            Route::ConfigMap(ns.to_string(), name.to_string())
        }
        ["apis", RBAC_GROUP, "v1", r] => match rbac(r) {
            Some(i) => Route::RbacList(i, None),
            None => Route::NotFound,
        },
        ["apis", RBAC_GROUP, "v1", r, name] => match rbac(r) {
            Some(i) if !RBAC_RESOURCES[i].2 => Route::RbacGet(i, None, name.to_string()),
            _ => Route::NotFound,
        },
        ["apis", RBAC_GROUP, "v1", "namespaces", ns, r] => match rbac(r) {
            Some(i) if RBAC_RESOURCES[i].2 => Route::RbacList(i, Some(ns.to_string())),
            _ => Route::NotFound,
        },
        ["apis", "authorization.k8s.io", "v1", "selfsubjectaccessreviews"] => Route::AccessReview,
        ["apis", "coordination.k8s.io", "v1", "namespaces", ns, "leases"] => {
            Route::Leases(ns.to_string())
        }
        ["apis", "coordination.k8s.io", "v1", "namespaces", ns, "leases", name] => {
            Route::Lease(ns.to_string(), name.to_string())
        }
        ["apis", RBAC_GROUP, "v1", "namespaces", ns, r, name] => match rbac(r) {
            Some(i) if RBAC_RESOURCES[i].2 => {
                Route::RbacGet(i, Some(ns.to_string()), name.to_string())
            }
            _ => Route::NotFound,
        },
        _ => Route::NotFound,
    }
}

fn rbac_group() -> Value {
    let v = json!({ "groupVersion": RBAC_VERSION, "version": "v1" });
    json!({ "name": RBAC_GROUP, "versions": [v.clone()], "preferredVersion": v })
}

fn operation_name(method: &Method, route: &Route) -> String {
    let verb = |collection: bool| match (method.as_str(), collection) {
        ("GET", true) => "list",
        ("GET", false) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", _) => "delete",
        (other, _) => other,
    };
    match route {
        Route::Version => "version".into(),
        Route::Discovery(_) => "discovery".into(),
        Route::ConfigMaps(_) => format!("{} configmaps", verb(true)),
        Route::ConfigMap(..) => format!("{} configmaps", verb(false)),
        Route::RbacList(i, _) => format!("{} {}", verb(true), RBAC_RESOURCES[*i].0),
        Route::RbacGet(i, ..) => format!("{} {}", verb(false), RBAC_RESOURCES[*i].0),
        Route::AccessReview => "create selfsubjectaccessreviews".into(),
        Route::Leases(_) => format!("{} leases", verb(true)),
        Route::Lease(..) => format!("{} leases", verb(false)),
        Route::NotFound => "unknown".into(),
    }
}

fn authorized(world: &KubeWorld, headers: &HeaderMap, route: &Route) -> bool {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some(header) = header else {
        // Anonymous requests may read the version (system:public-info-viewer), nothing else.
        return *route == Route::Version;
    };
    let Some(token) = header.strip_prefix("Bearer ").map(str::trim) else {
        return false;
    };
    world.tokens.contains(token)
        || (world.accept_eks_tokens
            && world
                .eks_tokens_expired_before
                .is_none_or(|t| crate::eks_token::signed_at(token).is_some_and(|s| s >= t))
            && crate::eks_token::check(
                token,
                std::time::SystemTime::now(),
                &world.eks_cluster,
                &world.aws_secrets,
            )
            .is_ok())
}

async fn handle(shared: Arc<Shared>, req: Request<Body>) -> Response {
    let (parts, body) = req.into_parts();
    let body = read_body(body).await;
    let query = parse_form(parts.uri.query().unwrap_or(""));
    let route = route(&segments(parts.uri.path()));
    let write = parts.method != Method::GET && parts.method != Method::HEAD;
    // Lock traffic and access reviews are neither counted as writes nor
    // given write faults.
    let uncounted = matches!(
        route,
        Route::Leases(_) | Route::Lease(..) | Route::AccessReview
    );
    let (latency, fault) = shared
        .meter
        .begin(&operation_name(&parts.method, &route), write && !uncounted);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(f) = fault.filter(|f| !f.runs_first()) {
        return error_response(fault_error(f));
    }
    let result = {
        let mut world = lock(&shared.world);
        if !authorized(&world, &parts.headers, &route) {
            return error_response(kerr(401, "Unauthorized", "Unauthorized"));
        }
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let read_only = bearer(&parts.headers).is_some_and(|t| world.read_only_tokens.contains(t));
        let req = Req {
            method: parts.method,
            query,
            body,
            content_type,
            created: iso8601(shared.started),
            read_only,
        };
        if read_only && write && route != Route::AccessReview {
            return error_response(forbidden(&route, &req.method));
        }
        if write {
            apply_concurrent_edit(&mut world, &route);
        }
        serve_route(&mut world, &route, &req)
    };
    match fault {
        Some(f) if f.runs_first() => {
            if f == Fault::Stalled {
                tokio::time::sleep(STALL).await;
            }
            // Lost and stalled writes are refused (422); one that failed
            // after taking effect answers 500, as `Faults` says.
            error_response(fault_error(f.answer()))
        }
        _ => match result {
            Ok((code, v)) => json_response(code, &v),
            Err(e) => error_response(e),
        },
    }
}

/// The error an injected fault that answers instead of the request produces.
fn fault_error(f: Fault) -> KubeError {
    match f {
        Fault::Throttle => kerr(
            429,
            "TooManyRequests",
            "Too many requests, please try again later.",
        ),
        Fault::Internal => kerr(
            500,
            "InternalError",
            "Internal error occurred: injected fault",
        ),
        Fault::Unavailable => kerr(
            503,
            "ServiceUnavailable",
            "The server is currently unable to handle the request (injected fault)",
        ),
        Fault::Rejected | Fault::Lost | Fault::Stalled | Fault::FailedAfter => {
            kerr(422, "Invalid", "the request was refused (injected fault)")
        }
    }
}

/// Lands the pending concurrent edit if this write targets its ConfigMap.
fn apply_concurrent_edit(world: &mut KubeWorld, route: &Route) {
    if let Route::ConfigMap(ns, name) = route {
        let hit = world
            .concurrent_edit
            .as_ref()
            .is_some_and(|(n, m, _, _)| n == ns && m == name);
        if hit {
            if let Some((ns, name, key, value)) = world.concurrent_edit.take() {
                let mut data = world
                    .config_maps
                    .get(&(ns.clone(), name.clone()))
                    .map(|c| c.data.clone())
                    .unwrap_or_default();
                data.insert(key, value);
                world.put_config_map(&ns, &name, data);
            }
        }
    }
}

struct Req {
    method: Method,
    query: BTreeMap<String, String>,
    body: Vec<u8>,
    content_type: String,
    created: String,
    /// The caller's token may only get and list.
    read_only: bool,
}

/// The bearer token of a request, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
}

/// 403 for a write a read-only caller may not make.
fn forbidden(route: &Route, method: &Method) -> KubeError {
    let verb = match method.as_str() {
        "POST" => "create",
        "PUT" => "update",
        "PATCH" => "patch",
        "DELETE" => "delete",
        _ => "get",
    };
    let (group, resource, ns) = match route {
        Route::ConfigMaps(ns) => ("", "configmaps", ns.clone()),
        Route::ConfigMap(ns, _) => ("", "configmaps", Some(ns.clone())),
        Route::Leases(ns) | Route::Lease(ns, _) => {
            ("coordination.k8s.io", "leases", Some(ns.clone()))
        }
        _ => ("", "unknown", None),
    };
    let scope = ns.map_or("at the cluster scope".to_string(), |n| {
        format!("in the namespace \"{n}\"")
    });
    kerr(
        403,
        "Forbidden",
        format!("{resource} is forbidden: User \"read-only\" cannot {verb} resource \"{resource}\" in API group \"{group}\" {scope}"),
    )
}

/// A SelfSubjectAccessReview: allowed unless the caller is read-only and the
/// verb is not get, list or watch.
fn access_review(req: &Req) -> Result<(u16, Value), KubeError> {
    if req.method != Method::POST {
        return Err(kerr(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        ));
    }
    let mut obj = body_object(&req.body)?;
    let attrs = obj
        .get("spec")
        .and_then(|s| s.get("resourceAttributes"))
        .cloned()
        .ok_or_else(|| kerr(422, "Invalid", "SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: spec.resourceAttributes: Required value"))?;
    let verb = attrs.get("verb").and_then(Value::as_str).unwrap_or("");
    let allowed = !req.read_only || matches!(verb, "get" | "list" | "watch");
    obj.insert("apiVersion".into(), json!("authorization.k8s.io/v1"));
    obj.insert("kind".into(), json!("SelfSubjectAccessReview"));
    obj.insert(
        "status".into(),
        json!({ "allowed": allowed, "reason": if allowed { "" } else { "read-only token" } }),
    );
    Ok((201, Value::Object(obj)))
}

fn serve_route(world: &mut KubeWorld, route: &Route, req: &Req) -> Result<(u16, Value), KubeError> {
    if req
        .query
        .get("watch")
        .is_some_and(|w| w == "true" || w == "1")
    {
        return Err(bad_request("watch is not supported by the emulator"));
    }
    match route {
        Route::Version => {
            get_only(req)?;
            Ok((200, version_json()))
        }
        Route::Discovery(v) => {
            get_only(req)?;
            Ok((200, v.clone()))
        }
        Route::NotFound => Err(kerr(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )),
        Route::ConfigMaps(ns) => serve_config_maps(world, ns.as_ref(), req),
        Route::ConfigMap(ns, name) => serve_config_map(world, ns, name, req),
        Route::RbacList(i, ns) => {
            get_only(req)?;
            list_rbac(world, *i, ns.as_ref(), req)
        }
        Route::RbacGet(i, ns, name) => {
            get_only(req)?;
            get_rbac(world, *i, ns.as_ref(), name)
        }
        Route::AccessReview => access_review(req),
        Route::Leases(ns) => lease::serve(world, ns, None, req),
        Route::Lease(ns, name) => lease::serve(world, ns, Some(name), req),
    }
}

/// Refuses (405) any method but GET.
fn get_only(req: &Req) -> Result<(), KubeError> {
    if req.method == Method::GET {
        Ok(())
    } else {
        Err(kerr(
            405,
            "MethodNotAllowed",
            format!(
                "the server does not allow this method on the requested resource ({})",
                req.method
            ),
        ))
    }
}

/// The `/version` document.
fn version_json() -> Value {
    json!({
        "major": "1", "minor": "29", "gitVersion": "v1.29.0-eks-emulator",
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2024-01-01T00:00:00Z", "goVersion": "go1.21.5", "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// The ConfigMap collection: list (all or one namespace) and create.
fn serve_config_maps(
    world: &mut KubeWorld,
    ns: Option<&String>,
    req: &Req,
) -> Result<(u16, Value), KubeError> {
    match req.method {
        Method::GET => {
            let items = world
                .config_maps
                .iter()
                .filter(|((n, _), _)| ns.is_none_or(|x| x == n))
                .map(|((n, name), cm)| {
                    let mut v = cm_json(n, name, cm, &req.created);
                    strip_type(&mut v);
                    (format!("{n}\u{0}{name}"), v)
                })
                .collect();
            list(world, items, "v1", "ConfigMapList", &req.query)
        }
        Method::POST => {
            let ns = ns.ok_or_else(|| kerr(405, "MethodNotAllowed", "create needs a namespace"))?;
            create_cm(world, ns, req)
        }
        _ => Err(kerr(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )),
    }
}

/// One ConfigMap: get, update, patch and delete.
fn serve_config_map(
    world: &mut KubeWorld,
    ns: &str,
    name: &str,
    req: &Req,
) -> Result<(u16, Value), KubeError> {
    match req.method {
        Method::GET => {
            let cm = world
                .config_maps
                .get(&(ns.to_string(), name.to_string()))
                .ok_or_else(|| cm_not_found(name))?;
            Ok((200, cm_json(ns, name, cm, &req.created)))
        }
        Method::PUT => update_cm(world, ns, name, req),
        Method::PATCH => patch_cm(world, ns, name, req),
        Method::DELETE => delete_cm(world, ns, name, req),
        _ => Err(kerr(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )),
    }
}

/// Lists the RBAC objects of resource `i` (in namespace `ns`, if given).
fn list_rbac(
    world: &KubeWorld,
    i: usize,
    ns: Option<&String>,
    req: &Req,
) -> Result<(u16, Value), KubeError> {
    let (_, kind, _) = RBAC_RESOURCES[i];
    let mut items: Vec<(String, Value)> = world
        .rbac
        .iter()
        .filter(|o| o["kind"] == kind)
        .filter(|o| ns.is_none_or(|n| o["metadata"]["namespace"] == n.as_str()))
        .map(|o| {
            let key = format!(
                "{}\u{0}{}",
                o["metadata"]["namespace"].as_str().unwrap_or(""),
                o["metadata"]["name"].as_str().unwrap_or("")
            );
            let mut v = o.clone();
            strip_type(&mut v);
            (key, v)
        })
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    list(
        world,
        items,
        RBAC_VERSION,
        &format!("{kind}List"),
        &req.query,
    )
}

/// Gets the RBAC object of resource `i` named `name` (in namespace `ns`, if given).
fn get_rbac(
    world: &KubeWorld,
    i: usize,
    ns: Option<&String>,
    name: &str,
) -> Result<(u16, Value), KubeError> {
    let (resource, kind, _) = RBAC_RESOURCES[i];
    world
        .rbac
        .iter()
        .find(|o| {
            o["kind"] == kind
                && o["metadata"]["name"] == name
                && ns.is_none_or(|n| o["metadata"]["namespace"] == n.as_str())
        })
        .map(|o| (200, o.clone()))
        .ok_or_else(|| KubeError {
            details: Some(json!({ "name": name, "group": RBAC_GROUP, "kind": resource })),
            ..kerr(
                404,
                "NotFound",
                format!("{resource}.{RBAC_GROUP} \"{name}\" not found"),
            )
        })
}

/// List items do not repeat `kind`/`apiVersion`.
fn strip_type(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        o.remove("kind");
        o.remove("apiVersion");
    }
}

/// A `...List` object over items sorted by key, honouring `limit`, `continue` and the
/// `metadata.name`/`metadata.namespace` field selectors.
fn list(
    world: &KubeWorld,
    items: Vec<(String, Value)>,
    api_version: &str,
    kind: &str,
    query: &BTreeMap<String, String>,
) -> Result<(u16, Value), KubeError> {
    if query.get("labelSelector").is_some_and(|s| !s.is_empty()) {
        return Err(bad_request(
            "labelSelector is not supported by the emulator",
        ));
    }
    let mut fields: Vec<(String, String)> = Vec::new();
    if let Some(sel) = query.get("fieldSelector").filter(|s| !s.is_empty()) {
        for term in sel.split(',') {
            let (k, v) = term
                .split_once("==")
                .or_else(|| term.split_once('='))
                .ok_or_else(|| bad_request(format!("invalid field selector: {term}")))?;
            if k != "metadata.name" && k != "metadata.namespace" {
                return Err(bad_request(format!("field label not supported: {k}")));
            }
            fields.push((k.to_string(), v.to_string()));
        }
    }
    let limit = match query.get("limit") {
        None => 0,
        Some(l) => l
            .parse::<usize>()
            .map_err(|_| bad_request(format!("invalid limit: {l}")))?,
    };
    let after = match query.get("continue").filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(
            parse_page_token(c)
                .ok_or_else(|| bad_request("The provided continue parameter is invalid"))?,
        ),
    };
    let mut rest = items
        .into_iter()
        .filter(|(k, _)| after.as_ref().is_none_or(|a| k > a))
        .filter(|(_, v)| {
            fields.iter().all(|(f, want)| {
                let field = f.strip_prefix("metadata.").unwrap_or(f);
                v["metadata"][field].as_str().unwrap_or("") == want
            })
        })
        .collect::<Vec<_>>();
    let mut meta = Map::new();
    meta.insert(
        "resourceVersion".into(),
        json!(world.resource_version.to_string()),
    );
    if limit > 0 && rest.len() > limit {
        let remaining = rest.len() - limit;
        rest.truncate(limit);
        let last = rest.last().map(|(k, _)| k.clone()).unwrap_or_default();
        meta.insert("continue".into(), json!(page_token(&last)));
        meta.insert("remainingItemCount".into(), json!(remaining));
    }
    let items: Vec<Value> = rest.into_iter().map(|(_, v)| v).collect();
    Ok((
        200,
        json!({
            "apiVersion": api_version,
            "kind": kind,
            "metadata": meta,
            "items": items
        }),
    ))
}

fn cm_json(ns: &str, name: &str, cm: &ConfigMap, created: &str) -> Value {
    let mut v = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": ns,
            "resourceVersion": cm.resource_version,
            "uid": cm.uid,
            "creationTimestamp": created
        },
        "data": cm.data
    });
    if !cm.labels.is_empty() {
        v["metadata"]["labels"] = json!(cm.labels);
    }
    v
}

/// `metadata.labels`, checked as the API server checks label keys and values.
fn cm_labels(meta: &Value, name: &str) -> Result<BTreeMap<String, String>, KubeError> {
    let invalid = |what: String| {
        kerr(
            422,
            "Invalid",
            format!("ConfigMap \"{name}\" is invalid: metadata.labels: Invalid value: {what}"),
        )
    };
    let Some(labels) = meta.get("labels").filter(|l| !l.is_null()) else {
        return Ok(BTreeMap::new());
    };
    let Some(labels) = labels.as_object() else {
        return Err(invalid("labels must be a map of strings".into()));
    };
    let mut out = BTreeMap::new();
    for (k, v) in labels {
        let Some(v) = v.as_str() else {
            return Err(invalid(format!("{k:?}: a label value must be a string")));
        };
        let (prefix, key_name) = match k.rsplit_once('/') {
            Some((p, n)) => (Some(p), n),
            None => (None, k.as_str()),
        };
        if !label_name(key_name) || key_name.is_empty() || prefix.is_some_and(|p| !dns_subdomain(p))
        {
            return Err(invalid(format!("{k:?}: not a valid label key")));
        }
        if !label_name(v) {
            return Err(invalid(format!("{v:?}: not a valid label value")));
        }
        out.insert(k.clone(), v.to_string());
    }
    Ok(out)
}

/// A label value or key name: at most 63 of `[A-Za-z0-9-_.]`, starting and
/// ending with a letter or digit (or empty).
fn label_name(s: &str) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    s.len() <= 63
        && s.chars().all(ok)
        && (s.is_empty()
            || (s.starts_with(|c: char| c.is_ascii_alphanumeric())
                && s.ends_with(|c: char| c.is_ascii_alphanumeric())))
}

/// A DNS-1123 subdomain (a label key's prefix).
fn dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
}

/// The body as a JSON object.
fn body_object(body: &[u8]) -> Result<Map<String, Value>, KubeError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(bad_request("the request body is not a JSON object")),
    }
}

/// Checks `kind`/`apiVersion` and the name/namespace of a full ConfigMap body.
fn check_cm_body(obj: &Map<String, Value>, ns: &str, name: Option<&str>) -> Result<(), KubeError> {
    if let Some(k) = obj.get("kind").and_then(Value::as_str) {
        if k != "ConfigMap" {
            return Err(bad_request(format!(
                "the kind {k} does not match the expected kind ConfigMap"
            )));
        }
    }
    if let Some(v) = obj.get("apiVersion").and_then(Value::as_str) {
        if v != "v1" {
            return Err(bad_request(format!(
                "the apiVersion {v} does not match the expected v1"
            )));
        }
    }
    let meta = &obj.get("metadata").cloned().unwrap_or(Value::Null);
    if let (Some(url), Some(body)) = (name, meta["name"].as_str()) {
        if url != body {
            return Err(bad_request(format!(
                "the name of the object ({body}) does not match the name on the URL ({url})"
            )));
        }
    }
    if let Some(body_ns) = meta["namespace"].as_str() {
        if !body_ns.is_empty() && body_ns != ns {
            return Err(bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    Ok(())
}

/// `data` of a ConfigMap body: a map of strings with valid keys.
fn cm_data(obj: &Map<String, Value>, name: &str) -> Result<BTreeMap<String, String>, KubeError> {
    let mut out = BTreeMap::new();
    match obj.get("data") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let v = v
                    .as_str()
                    .ok_or_else(|| bad_request(format!("data[{k}] must be a string")))?;
                check_key(k, name)?;
                out.insert(k.clone(), v.to_string());
            }
        }
        Some(_) => return Err(bad_request("data must be a map of strings")),
    }
    Ok(out)
}

fn check_key(k: &str, name: &str) -> Result<(), KubeError> {
    let valid = !k.is_empty()
        && k.len() <= 253
        && k != "."
        && k != ".."
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if valid {
        Ok(())
    } else {
        Err(KubeError {
            details: cm_details(name),
            ..kerr(
                422,
                "Invalid",
                format!("ConfigMap \"{name}\" is invalid: data[{k}]: Invalid value: \"{k}\": a valid config key must consist of alphanumeric characters, '-', '_' or '.'"),
            )
        })
    }
}

fn stale(name: &str) -> KubeError {
    cm_conflict(
        name,
        "the object has been modified; please apply your changes to the latest version and try again".into(),
    )
}

fn create_cm(world: &mut KubeWorld, ns: &str, req: &Req) -> Result<(u16, Value), KubeError> {
    let obj = body_object(&req.body)?;
    check_cm_body(&obj, ns, None)?;
    let meta = obj.get("metadata").cloned().unwrap_or(Value::Null);
    let name = meta["name"].as_str().unwrap_or("").to_string();
    if name.is_empty() {
        return Err(kerr(
            422,
            "Invalid",
            "ConfigMap \"\" is invalid: metadata.name: Required value: name or generateName is required",
        ));
    }
    if meta["resourceVersion"]
        .as_str()
        .is_some_and(|r| !r.is_empty())
    {
        return Err(bad_request(
            "resourceVersion should not be set on objects to be created",
        ));
    }
    let data = cm_data(&obj, &name)?;
    let labels = cm_labels(&meta, &name)?;
    if world
        .config_maps
        .contains_key(&(ns.to_string(), name.clone()))
    {
        return Err(already_exists("configmaps", &name, cm_details(&name)));
    }
    world.write_config_map(ns, &name, data, labels);
    let key = (ns.to_string(), name.clone());
    let cm = &world.config_maps[&key];
    Ok((201, cm_json(ns, &name, cm, &req.created)))
}

/// Checks optional resourceVersion/uid preconditions against the stored object.
fn preconditions(
    cm: &ConfigMap,
    name: &str,
    rv: Option<&str>,
    uid: Option<&str>,
) -> Result<(), KubeError> {
    if let Some(uid) = uid.filter(|u| !u.is_empty()) {
        if uid != cm.uid {
            return Err(cm_conflict(
                name,
                format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    cm.uid
                ),
            ));
        }
    }
    if let Some(rv) = rv.filter(|r| !r.is_empty()) {
        if rv != cm.resource_version {
            return Err(stale(name));
        }
    }
    Ok(())
}

fn update_cm(
    world: &mut KubeWorld,
    ns: &str,
    name: &str,
    req: &Req,
) -> Result<(u16, Value), KubeError> {
    let obj = body_object(&req.body)?;
    check_cm_body(&obj, ns, Some(name))?;
    let key = (ns.to_string(), name.to_string());
    let current = world
        .config_maps
        .get(&key)
        .cloned()
        .ok_or_else(|| cm_not_found(name))?;
    let meta = obj.get("metadata").cloned().unwrap_or(Value::Null);
    preconditions(
        &current,
        name,
        meta["resourceVersion"].as_str(),
        meta["uid"].as_str(),
    )?;
    let data = cm_data(&obj, name)?;
    // A replace sets the labels the body has (none: none).
    let labels = cm_labels(&meta, name)?;
    if data != current.data || labels != current.labels {
        world.write_config_map(ns, name, data, labels);
    }
    Ok((
        200,
        cm_json(ns, name, &world.config_maps[&key], &req.created),
    ))
}

fn patch_cm(
    world: &mut KubeWorld,
    ns: &str,
    name: &str,
    req: &Req,
) -> Result<(u16, Value), KubeError> {
    let media = req.content_type.split(';').next().unwrap_or("").trim();
    let apply = match media {
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => false,
        "application/apply-patch+yaml" => true,
        other => {
            return Err(kerr(
                415,
                "UnsupportedMediaType",
                format!("the emulator does not support the patch type {other:?}"),
            ))
        }
    };
    if apply && req.query.get("fieldManager").is_none_or(|f| f.is_empty()) {
        return Err(kerr(
            422,
            "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        ));
    }
    let obj = body_object(&req.body)?;
    if apply {
        check_cm_body(&obj, ns, Some(name))?;
    }
    let key = (ns.to_string(), name.to_string());
    let current = match world.config_maps.get(&key) {
        Some(c) => c.clone(),
        None if apply => ConfigMap::default(),
        None => return Err(cm_not_found(name)),
    };
    let meta = obj.get("metadata").cloned().unwrap_or(Value::Null);
    if world.config_maps.contains_key(&key) {
        preconditions(
            &current,
            name,
            meta["resourceVersion"].as_str(),
            meta["uid"].as_str(),
        )?;
    }
    let mut data = current.data.clone();
    match obj.get("data") {
        None => {}
        Some(Value::Null) => data.clear(),
        Some(Value::Object(m)) => {
            for (k, v) in m {
                match v {
                    Value::Null => {
                        data.remove(k);
                    }
                    Value::String(s) => {
                        check_key(k, name)?;
                        data.insert(k.clone(), s.clone());
                    }
                    _ => return Err(bad_request(format!("data[{k}] must be a string"))),
                }
            }
        }
        Some(_) => return Err(bad_request("data must be a map of strings")),
    }
    let created = !world.config_maps.contains_key(&key);
    if created || data != current.data {
        world.put_config_map(ns, name, data);
    }
    Ok((
        if created { 201 } else { 200 },
        cm_json(ns, name, &world.config_maps[&key], &req.created),
    ))
}

fn delete_cm(
    world: &mut KubeWorld,
    ns: &str,
    name: &str,
    req: &Req,
) -> Result<(u16, Value), KubeError> {
    let key = (ns.to_string(), name.to_string());
    let current = world
        .config_maps
        .get(&key)
        .cloned()
        .ok_or_else(|| cm_not_found(name))?;
    if !req.body.iter().all(u8::is_ascii_whitespace) {
        let opts = body_object(&req.body)?;
        let pre = opts.get("preconditions").cloned().unwrap_or(Value::Null);
        preconditions(
            &current,
            name,
            pre["resourceVersion"].as_str(),
            pre["uid"].as_str(),
        )?;
    }
    world.config_maps.remove(&key);
    world.resource_version += 1;
    Ok((
        200,
        json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": { "name": name, "kind": "configmaps", "uid": current.uid }
        }),
    ))
}

fn json_response(code: u16, v: &Value) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::OK))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(v.to_string()))
        .expect("valid response")
}

fn error_response(e: KubeError) -> Response {
    let mut status = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": e.message,
        "reason": e.reason,
        "code": e.code
    });
    if let Some(d) = e.details {
        status["details"] = d;
    }
    let mut b = Response::builder()
        .status(StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/json");
    if e.code == 429 {
        b = b.header(header::RETRY_AFTER, "1");
    }
    b.body(Body::from(status.to_string()))
        .expect("valid response")
}
