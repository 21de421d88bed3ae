//! Local emulators of the Amazon EKS, IAM, STS and Kubernetes APIs for migrate-auth's tests.
//!
//! Each emulator is a real HTTP server on `127.0.0.1:0` that speaks the real wire protocol, so
//! tests drive the real `aws-sdk-eks`, `aws-sdk-iam`, `aws-sdk-sts` and `kube` clients against it
//! with only the endpoint changed:
//!
//! - [`Aws`] serves EKS (rest-json) and IAM + STS (query protocol, XML) on one port, over the state
//!   in an [`AwsWorld`], and enforces the EKS access-entry rules of docs/DOMAIN.md sections 2 to 4.
//! - [`Kube`] serves the parts of the Kubernetes API that migrate-auth uses (ConfigMaps, RBAC
//!   lists, discovery) over a [`KubeWorld`].
//!
//! Both take [`Faults`] (latency, throttling, server errors, refused or lost writes), count the
//! calls they answer (through the [`Server`] they dereference to), run as a task on the caller's
//! tokio runtime and stop when dropped.

mod aws;
mod eks;
pub mod eks_token;
mod iam;
mod kube;
mod server;
mod sigv4;
mod util;
mod world;

pub use aws::Aws;
pub use kube::{lease_holders, ConfigMap, Kube, KubeWorld, Lease};
pub use server::Server;
/// RFC 3339 (UTC, seconds) of an epoch time, as the emulators write times.
pub use util::iso8601;
pub use world::{
    sample_cluster, AccessEntry, AwsWorld, Cluster, IamPrincipal, Scope, Update, ACCESS_POLICIES,
    AUTHENTICATION_MODES, ENTRY_TYPES,
};

/// Fault injection; applies to every request of the server it is set on.
///
/// Requests are numbered from 1 over the server's whole life, and so are writes (requests that
/// change state). For request `n` the first rule that matches wins: `reject_write` naming it
/// (by its write number), then `lose_write`, `stall_write` and `fail_after_write` likewise, then `fail_call == Some(n)`, then `fail_after_call == Some(n)`, then `throttle_every` dividing `n`, then
/// `server_error_every` dividing `n`. Faulted requests are counted like any other.
#[derive(Default, Clone, Debug)]
pub struct Faults {
    /// Sleep before answering each request.
    pub latency: std::time::Duration,
    /// Every n-th request answers 429 ThrottlingException (EKS) / 400 Throttling (IAM, STS) /
    /// 429 TooManyRequests (Kubernetes).
    pub throttle_every: Option<u64>,
    /// The k-th request (1-based, over all requests of this server) answers 500
    /// (EKS ServerException, IAM ServiceFailure, STS InternalFailure, Kubernetes InternalError).
    pub fail_call: Option<u64>,
    /// The k-th request (as `fail_call` counts) takes effect, and then is answered 500 like
    /// `fail_call`: for requests that are not counted as writes, such as the lock's Lease.
    pub fail_after_call: Option<u64>,
    /// Every n-th request answers 503 (EKS ServiceUnavailableException, IAM/STS
    /// ServiceUnavailable, Kubernetes ServiceUnavailable).
    pub server_error_every: Option<u64>,
    /// The k-th write (1-based: EKS UpdateClusterConfig, Create/Update/DeleteAccessEntry,
    /// Associate/DisassociateAccessPolicy; Kubernetes POST/PUT/PATCH/DELETE) is refused with an
    /// error no client retries (EKS 400 InvalidRequestException, Kubernetes 422 Invalid), and
    /// changes nothing.
    pub reject_write: Option<u64>,
    /// The k-th write takes effect, and then is answered like `reject_write` (a change that
    /// happened although the client was told it failed).
    pub lose_write: Option<u64>,
    /// The k-th write takes effect, and then its answer is held for two minutes (a client
    /// killed while waiting for it).
    pub stall_write: Option<u64>,
    /// The k-th write takes effect, and then is answered 500 (EKS ServerException, Kubernetes
    /// InternalError), which clients retry: the retry must not act twice.
    pub fail_after_write: Option<u64>,
}
