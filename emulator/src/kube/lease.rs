//! `coordination.k8s.io/v1` Leases, as the API server serves them: create
//! (409 AlreadyExists), get (404 NotFound), replace at a resourceVersion (409
//! Conflict when it is stale), delete. Leases are not counted as writes and
//! get no injected write faults, so lock traffic never shifts the fault
//! matrices that count ConfigMap and EKS writes.

use std::collections::BTreeMap;

use axum::http::Method;
use serde_json::{json, Map, Value};

use super::{already_exists, body_object, kerr, KubeError, KubeWorld, Req};
use crate::util::uuid;

/// The group and version Leases are served under.
pub(super) const GROUP_VERSION: &str = "coordination.k8s.io/v1";

/// A Lease: its spec as sent, and its identity.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lease {
    pub spec: Value,
    pub resource_version: String,
    pub uid: String,
}

fn details(name: &str) -> Option<Value> {
    Some(json!({ "name": name, "group": "coordination.k8s.io", "kind": "leases" }))
}

fn not_found(name: &str) -> KubeError {
    KubeError {
        details: details(name),
        ..kerr(
            404,
            "NotFound",
            format!("leases.coordination.k8s.io \"{name}\" not found"),
        )
    }
}

fn lease_json(ns: &str, name: &str, l: &Lease, created: &str) -> Value {
    json!({
        "apiVersion": GROUP_VERSION,
        "kind": "Lease",
        "metadata": {
            "name": name,
            "namespace": ns,
            "resourceVersion": l.resource_version,
            "uid": l.uid,
            "creationTimestamp": created
        },
        "spec": l.spec
    })
}

/// The body's name (checked against `name` when given) and spec.
fn parse(
    body: &[u8],
    name: Option<&str>,
) -> Result<(String, Map<String, Value>, Value), KubeError> {
    let obj = body_object(body)?;
    if obj
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k != "Lease")
    {
        return Err(kerr(400, "BadRequest", "the body is not a Lease"));
    }
    let meta = obj
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let given = meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let name = match name {
        Some(n) if !given.is_empty() && given != n => {
            return Err(kerr(
                400,
                "BadRequest",
                format!("the name of the object ({given}) does not match the name on the URL ({n})"),
            ))
        }
        Some(n) => n.to_string(),
        None if given.is_empty() => {
            return Err(kerr(
                422,
                "Invalid",
                "Lease.coordination.k8s.io \"\" is invalid: metadata.name: Required value: name or generateName is required",
            ))
        }
        None => given,
    };
    let spec = obj.get("spec").cloned().unwrap_or_else(|| json!({}));
    if let Some(d) = spec.get("leaseDurationSeconds") {
        if d.as_i64().is_none_or(|d| d <= 0) {
            return Err(kerr(
                422,
                "Invalid",
                format!("Lease.coordination.k8s.io \"{name}\" is invalid: spec.leaseDurationSeconds: Invalid value: {d}: must be greater than 0"),
            ));
        }
    }
    Ok((name, meta, spec))
}

fn put(world: &mut KubeWorld, ns: &str, name: &str, spec: Value) -> Lease {
    world.resource_version += 1;
    let key = (ns.to_string(), name.to_string());
    let uid = world
        .leases
        .get(&key)
        .map(|l| l.uid.clone())
        .unwrap_or_else(|| uuid((ns, name, world.resource_version)));
    let lease = Lease {
        spec,
        resource_version: world.resource_version.to_string(),
        uid,
    };
    world.leases.insert(key, lease.clone());
    lease
}

/// `/apis/coordination.k8s.io/v1/namespaces/{ns}/leases[/{name}]`.
pub(super) fn serve(
    world: &mut KubeWorld,
    ns: &str,
    name: Option<&str>,
    req: &Req,
) -> Result<(u16, Value), KubeError> {
    match (&req.method, name) {
        (&Method::GET, None) => {
            let items: Vec<Value> = world
                .leases
                .iter()
                .filter(|((n, _), _)| n == ns)
                .map(|((n, name), l)| lease_json(n, name, l, &req.created))
                .collect();
            Ok((
                200,
                json!({ "apiVersion": GROUP_VERSION, "kind": "LeaseList", "metadata": { "resourceVersion": world.resource_version.to_string() }, "items": items }),
            ))
        }
        (&Method::POST, None) => create(world, ns, req),
        (&Method::GET, Some(name)) => {
            let l = world
                .leases
                .get(&(ns.to_string(), name.to_string()))
                .ok_or_else(|| not_found(name))?;
            Ok((200, lease_json(ns, name, l, &req.created)))
        }
        (&Method::PUT, Some(name)) => replace(world, ns, name, req),
        (&Method::DELETE, Some(name)) => delete(world, ns, name, req),
        _ => Err(kerr(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )),
    }
}

/// POST: a new Lease; 409 AlreadyExists when the name is taken.
fn create(world: &mut KubeWorld, ns: &str, req: &Req) -> Result<(u16, Value), KubeError> {
    let (name, meta, spec) = parse(&req.body, None)?;
    if meta
        .get("resourceVersion")
        .and_then(Value::as_str)
        .is_some_and(|r| !r.is_empty())
    {
        return Err(kerr(
            400,
            "BadRequest",
            "resourceVersion should not be set on objects to be created",
        ));
    }
    if world.leases.contains_key(&(ns.to_string(), name.clone())) {
        return Err(already_exists(
            "leases.coordination.k8s.io",
            &name,
            details(&name),
        ));
    }
    let l = put(world, ns, &name, spec);
    Ok((201, lease_json(ns, &name, &l, &req.created)))
}

/// 409 Conflict for a write at a stale resourceVersion.
fn conflict(name: &str, why: &str) -> KubeError {
    KubeError {
        details: details(name),
        ..kerr(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on leases.coordination.k8s.io \"{name}\": {why}"
            ),
        )
    }
}

/// PUT: replaces the Lease, only at its resourceVersion when one is given.
fn replace(
    world: &mut KubeWorld,
    ns: &str,
    name: &str,
    req: &Req,
) -> Result<(u16, Value), KubeError> {
    let (_, meta, spec) = parse(&req.body, Some(name))?;
    let current = world
        .leases
        .get(&(ns.to_string(), name.to_string()))
        .ok_or_else(|| not_found(name))?;
    let rv = meta
        .get("resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !rv.is_empty() && rv != current.resource_version {
        return Err(conflict(
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        ));
    }
    let l = put(world, ns, name, spec);
    Ok((200, lease_json(ns, name, &l, &req.created)))
}

/// DELETE: removes the Lease, only at the resourceVersion its DeleteOptions'
/// preconditions name, if they name one.
fn delete(
    world: &mut KubeWorld,
    ns: &str,
    name: &str,
    req: &Req,
) -> Result<(u16, Value), KubeError> {
    let key = (ns.to_string(), name.to_string());
    let current = world.leases.get(&key).ok_or_else(|| not_found(name))?;
    let wanted = serde_json::from_slice::<Value>(&req.body)
        .ok()
        .and_then(|b| {
            b["preconditions"]["resourceVersion"]
                .as_str()
                .map(str::to_string)
        })
        .filter(|rv| !rv.is_empty());
    if let Some(rv) = wanted.filter(|rv| *rv != current.resource_version) {
        return Err(conflict(
            name,
            &format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                current.resource_version
            ),
        ));
    }
    let l = world.leases.remove(&key).ok_or_else(|| not_found(name))?;
    Ok((200, lease_json(ns, name, &l, &req.created)))
}

/// The Leases of a world, for tests: (namespace, name) -> holder identity.
pub fn holders(world: &KubeWorld) -> BTreeMap<(String, String), String> {
    world
        .leases
        .iter()
        .map(|(k, l)| {
            let h = l
                .spec
                .get("holderIdentity")
                .and_then(Value::as_str)
                .unwrap_or("");
            (k.clone(), h.to_string())
        })
        .collect()
}
