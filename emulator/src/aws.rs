//! The [`Aws`] server: one HTTP endpoint for EKS (rest-json), IAM and STS (query protocol). It
//! tells the protocols apart by path (`POST /` with a form body is IAM/STS), counts and faults each
//! request, checks the SigV4 `Authorization` header's access key against the world's credentials,
//! and hands the request to [`crate::eks`] or [`crate::iam`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::response::Response;

use crate::eks::{self, EksError};
use crate::iam::{self, Caller, QueryError, Service};
use crate::server::{lock, read_body, serve, Fault, Meter, Server, STALL};
use crate::sigv4;
use crate::util::{now_epoch, parse_form, segments, uuid, Arn};
use crate::world::AwsWorld;

/// One HTTP server emulating EKS (rest-json) + IAM + STS (query protocol) on 127.0.0.1.
pub struct Aws {
    server: Server,
    shared: Arc<Shared>,
}

impl std::ops::Deref for Aws {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

struct Shared {
    meter: Arc<Meter>,
    state: Mutex<State>,
    /// Epoch seconds at start: every createdAt/CreateDate.
    started: u64,
}

struct State {
    world: AwsWorld,
    eks: eks::Internal,
    requests: u64,
}

impl Aws {
    /// Starts the server on 127.0.0.1 (a free port) on the current tokio runtime.
    pub async fn start(world: AwsWorld) -> Aws {
        let shared = Arc::new(Shared {
            meter: Arc::new(Meter::default()),
            state: Mutex::new(State {
                world,
                eks: eks::Internal::default(),
                requests: 0,
            }),
            started: now_epoch(),
        });
        let running = serve(shared.clone(), handle).await;
        Aws {
            server: Server::new(running, shared.meter.clone()),
            shared,
        }
    }

    /// A snapshot of the current state.
    pub fn world(&self) -> AwsWorld {
        lock(&self.shared.state).world.clone()
    }

    /// Runs `f` on the live state (under the server's lock: do not call this server from `f`).
    pub fn with_world<R>(&self, f: impl FnOnce(&mut AwsWorld) -> R) -> R {
        f(&mut lock(&self.shared.state).world)
    }
}

/// What a request is, decided before faults and auth.
enum Target {
    Eks(eks::Op),
    Query(Option<Service>, String, BTreeMap<String, String>),
    Unknown,
}

/// The SigV4 credential scope: access key id, region and service.
struct Scope {
    key: String,
    region: String,
    service: String,
    /// The key's secret is known and the signature does not match.
    bad_signature: bool,
}

fn parse_authorization(headers: &HeaderMap) -> Option<Scope> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let rest = value.strip_prefix("AWS4-HMAC-SHA256")?;
    let cred = rest
        .split(',')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("Credential="))?;
    let parts: Vec<&str> = cred.split('/').collect();
    match parts.as_slice() {
        [key, _date, region, service, "aws4_request"] if !key.is_empty() => Some(Scope {
            key: key.to_string(),
            region: region.to_string(),
            service: service.to_string(),
            bad_signature: false,
        }),
        _ => None,
    }
}

async fn handle(shared: Arc<Shared>, req: Request<Body>) -> Response {
    let (parts, body) = req.into_parts();
    let body = read_body(body).await;
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let path = parts.uri.path().to_string();
    let target = target_of(&parts.method, &path, &raw_query, &body);
    let op_name = operation_name(&target);
    let write = is_write(&op_name);
    let (latency, fault) = shared.meter.begin(&op_name, write);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let request_id = next_request_id(&shared);
    let scope = signed_scope(
        &shared,
        &parts.method,
        &parts.headers,
        &path,
        &raw_query,
        &body,
    );
    match target {
        Target::Eks(op) => {
            let result = match fault {
                Some(f) if f.runs_first() => {
                    let _ = run_eks(&shared, &op, scope, &parts.uri, &body);
                    if f == Fault::Stalled {
                        tokio::time::sleep(STALL).await;
                    }
                    Err(eks_fault(f.answer()))
                }
                Some(f) => Err(eks_fault(f)),
                None => run_eks(&shared, &op, scope, &parts.uri, &body),
            };
            eks_response(result, &request_id)
        }
        Target::Unknown => eks_response(
            Err(EksError {
                status: 404,
                code: "UnknownOperationException",
                message: format!("No operation matches {} {path}", parts.method),
            }),
            &request_id,
        ),
        Target::Query(service, action, params) => {
            let service = service.unwrap_or(match scope.as_ref().map(|s| s.service.as_str()) {
                Some("sts") => Service::Sts,
                _ => Service::Iam,
            });
            let result = match fault {
                Some(f) => Err(query_fault(service, f)),
                None => run_query(&shared, service, &action, &params, scope, &request_id),
            };
            query_response(service, result, &request_id)
        }
    }
}

/// Tells IAM/STS (`POST /` with a form) from EKS routes and unknown requests.
fn target_of(method: &Method, path: &str, raw_query: &str, body: &[u8]) -> Target {
    if path == "/" && *method == Method::POST {
        let mut params = parse_form(raw_query);
        params.extend(parse_form(&String::from_utf8_lossy(body)));
        let action = params.get("Action").cloned().unwrap_or_default();
        Target::Query(Service::of_action(&action), action, params)
    } else {
        match eks::route(method, &segments(path)) {
            Some(op) => Target::Eks(op),
            None => Target::Unknown,
        }
    }
}

/// The operation name a request is metered under.
fn operation_name(target: &Target) -> String {
    match target {
        Target::Eks(op) => op.name().to_string(),
        Target::Query(Some(_), action, _) => action.clone(),
        Target::Query(None, _, _) | Target::Unknown => "Unknown".to_string(),
    }
}

/// [`AwsWorld::reject_cluster_write`]: counts a write to the cluster it names, and refuses the
/// k-th.
fn refuse_cluster_write(
    world: &mut AwsWorld,
    op_name: &str,
    uri: &axum::http::Uri,
    ctx: &eks::Ctx,
) -> Result<(), EksError> {
    let Some((arn, k, seen)) = world.reject_cluster_write.as_mut() else {
        return Ok(());
    };
    let name = uri
        .path()
        .strip_prefix("/clusters/")
        .and_then(|rest| rest.split('/').next());
    let this = name.map(|n| {
        format!(
            "arn:{}:eks:{}:{}:cluster/{n}",
            ctx.partition, ctx.region, ctx.account
        )
    });
    if !is_write(op_name) || this.as_deref() != Some(arn.as_str()) {
        return Ok(());
    }
    *seen += 1;
    if *seen != *k {
        return Ok(());
    }
    Err(EksError {
        status: 400,
        code: "InvalidRequestException",
        message: format!("{op_name} was refused (a fault injected on {arn})"),
    })
}

/// Whether the operation writes (for the meter's write faults).
fn is_write(op_name: &str) -> bool {
    matches!(
        op_name,
        "UpdateClusterConfig"
            | "CreateAccessEntry"
            | "UpdateAccessEntry"
            | "DeleteAccessEntry"
            | "AssociateAccessPolicy"
            | "DisassociateAccessPolicy"
    )
}

/// Counts the request and returns its id.
fn next_request_id(shared: &Shared) -> String {
    let mut st = lock(&shared.state);
    st.requests += 1;
    uuid(("request", st.requests))
}

/// The request's credential scope, with its signature checked when the world knows the key.
fn signed_scope(
    shared: &Shared,
    method: &Method,
    headers: &HeaderMap,
    path: &str,
    raw_query: &str,
    body: &[u8],
) -> Option<Scope> {
    let mut scope = parse_authorization(headers);
    if let Some(sc) = scope.as_mut() {
        // A key whose secret the world knows must sign correctly.
        let secret = lock(&shared.state).world.secrets.get(&sc.key).cloned();
        if let Some(secret) = secret {
            sc.bad_signature =
                !sigv4::verify_request(method.as_str(), path, raw_query, headers, body, &secret);
        }
    }
    scope
}

fn eks_fault(f: Fault) -> EksError {
    match f {
        Fault::Throttle => EksError {
            status: 429,
            code: "ThrottlingException",
            message: "Rate exceeded".into(),
        },
        Fault::Internal => EksError {
            status: 500,
            code: "ServerException",
            message: "An internal error occurred (injected fault).".into(),
        },
        Fault::Unavailable => EksError {
            status: 503,
            code: "ServiceUnavailableException",
            message: "The service is unavailable (injected fault).".into(),
        },
        Fault::Rejected | Fault::Lost | Fault::Stalled | Fault::FailedAfter => EksError {
            status: 400,
            code: "InvalidRequestException",
            message: "The request was refused (injected fault).".into(),
        },
    }
}

fn query_fault(service: Service, f: Fault) -> QueryError {
    match f {
        Fault::Throttle => QueryError {
            status: 400,
            code: "Throttling",
            message: "Rate exceeded".into(),
        },
        Fault::Internal => QueryError {
            status: 500,
            code: match service {
                Service::Iam => "ServiceFailure",
                Service::Sts => "InternalFailure",
            },
            message: "An internal error occurred (injected fault).".into(),
        },
        Fault::Unavailable => QueryError {
            status: 503,
            code: "ServiceUnavailable",
            message: "The service is unavailable (injected fault).".into(),
        },
        Fault::Rejected | Fault::Lost | Fault::Stalled | Fault::FailedAfter => QueryError {
            status: 400,
            code: "ValidationError",
            message: "The request was refused (injected fault).".into(),
        },
    }
}

/// Authenticates (the signature itself is not verified) and returns the caller ARN.
fn authenticate(
    world: &AwsWorld,
    scope: Option<&Scope>,
    expected_service: &str,
) -> Result<String, (u16, AuthError)> {
    let Some(scope) = scope else {
        return Err((403, AuthError::Missing));
    };
    if scope.service != expected_service {
        return Err((403, AuthError::WrongService));
    }
    if scope.key == "EXPIRED" {
        return Err((403, AuthError::Expired));
    }
    if scope.bad_signature {
        return Err((403, AuthError::BadSignature));
    }
    world
        .credentials
        .get(&scope.key)
        .cloned()
        .ok_or((403, AuthError::UnknownKey))
}

enum AuthError {
    Missing,
    WrongService,
    Expired,
    UnknownKey,
    BadSignature,
}

fn run_eks(
    shared: &Shared,
    op: &eks::Op,
    scope: Option<Scope>,
    uri: &axum::http::Uri,
    body: &[u8],
) -> Result<serde_json::Value, EksError> {
    let mut st = lock(&shared.state);
    let caller = authenticate(&st.world, scope.as_ref(), "eks").map_err(|(status, e)| {
        let (code, message) = match e {
            AuthError::Missing => (
                "MissingAuthenticationTokenException",
                "Missing Authentication Token".to_string(),
            ),
            AuthError::WrongService => (
                "InvalidSignatureException",
                "Credential should be scoped to correct service: 'eks'. ".to_string(),
            ),
            AuthError::Expired => (
                "ExpiredTokenException",
                "The security token included in the request is expired".to_string(),
            ),
            AuthError::UnknownKey => (
                "UnrecognizedClientException",
                "The security token included in the request is invalid.".to_string(),
            ),
            AuthError::BadSignature => (
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.".to_string(),
            ),
        };
        EksError {
            status,
            code,
            message,
        }
    })?;
    let arn = Arn::parse(&caller);
    let query = parse_form(uri.query().unwrap_or(""));
    let ctx = eks::Ctx {
        account: arn.as_ref().map(|a| a.account.clone()).unwrap_or_default(),
        partition: arn
            .map(|a| a.partition)
            .unwrap_or_else(|| "aws".to_string()),
        region: scope.map(|s| s.region).unwrap_or_default(),
        query: &query,
        body,
        time: shared.started,
    };
    if st.world.denied_operations.contains(op.name()) {
        return Err(EksError {
            status: 403,
            code: "AccessDeniedException",
            message: format!(
                "User: {caller} is not authorized to perform: eks:{} on resource: {}",
                op.name(),
                uri.path()
            ),
        });
    }
    refuse_cluster_write(&mut st.world, op.name(), uri, &ctx)?;
    let State { world, eks, .. } = &mut *st;
    eks::handle(world, eks, op, &ctx)
}

fn run_query(
    shared: &Shared,
    service: Service,
    action: &str,
    params: &BTreeMap<String, String>,
    scope: Option<Scope>,
    request_id: &str,
) -> Result<String, QueryError> {
    let mut st = lock(&shared.state);
    let caller = authenticate(&st.world, scope.as_ref(), service.signing_name()).map_err(
        |(status, e)| {
            let (code, message) = match e {
                AuthError::Missing => (
                    "MissingAuthenticationToken",
                    "Request is missing Authentication Token".to_string(),
                ),
                AuthError::WrongService => (
                    "SignatureDoesNotMatch",
                    format!(
                        "Credential should be scoped to correct service: '{}'. ",
                        service.signing_name()
                    ),
                ),
                AuthError::Expired => (
                    "ExpiredToken",
                    "The security token included in the request is expired".to_string(),
                ),
                AuthError::UnknownKey => (
                    "InvalidClientTokenId",
                    "The security token included in the request is invalid.".to_string(),
                ),
                AuthError::BadSignature => (
                    "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.".to_string(),
                ),
            };
            QueryError {
                status,
                code,
                message,
            }
        },
    )?;
    if st.world.denied_operations.contains(action) {
        return Err(QueryError {
            status: 403,
            code: "AccessDenied",
            message: format!(
                "User: {caller} is not authorized to perform: {}:{action}",
                service.signing_name()
            ),
        });
    }
    let caller = Caller { arn: caller };
    iam::handle(
        &mut st.world,
        service,
        action,
        params,
        &caller,
        shared.started,
        request_id,
    )
}

fn eks_response(result: Result<serde_json::Value, EksError>, request_id: &str) -> Response {
    let (status, code, body) = match result {
        Ok(v) => (200, None, v),
        Err(e) => (
            e.status,
            Some(e.code),
            serde_json::json!({ "message": e.message }),
        ),
    };
    let mut b = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-amzn-requestid", request_id);
    if let Some(code) = code {
        b = b.header("x-amzn-errortype", code);
    }
    b.body(Body::from(body.to_string()))
        .expect("valid response")
}

fn query_response(
    service: Service,
    result: Result<String, QueryError>,
    request_id: &str,
) -> Response {
    let (status, body) = match result {
        Ok(xml) => (200, xml),
        Err(e) => (e.status, iam::error_xml(service, &e, request_id)),
    };
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "text/xml")
        .header("x-amzn-requestid", request_id)
        .body(Body::from(body))
        .expect("valid response")
}
