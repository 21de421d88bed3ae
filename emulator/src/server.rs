//! The HTTP plumbing both emulators share: binding 127.0.0.1:0, serving on the caller's tokio
//! runtime until dropped, counting calls, and deciding which fault a request gets.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use axum::Router;
use tokio::sync::oneshot;

use crate::Faults;

/// The fault a request gets, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// 429 (EKS, Kubernetes) or 400 Throttling (IAM, STS).
    Throttle,
    /// 500.
    Internal,
    /// 503.
    Unavailable,
    /// A refusal no client retries (400 / 422).
    Rejected,
    /// The request takes effect, then is answered as [`Fault::Rejected`].
    Lost,
    /// The request takes effect, then its answer is held for two minutes.
    Stalled,
    /// The request takes effect, then is answered as [`Fault::Internal`].
    FailedAfter,
}

impl Fault {
    /// The fault a request that took effect is answered with.
    pub(crate) fn answer(self) -> Fault {
        match self {
            Fault::FailedAfter => Fault::Internal,
            Fault::Lost | Fault::Stalled => Fault::Rejected,
            other => other,
        }
    }

    /// True for the faults that let the request take effect first.
    pub(crate) fn runs_first(self) -> bool {
        matches!(self, Fault::Lost | Fault::Stalled | Fault::FailedAfter)
    }
}

/// How long a [`Fault::Stalled`] answer is held.
pub(crate) const STALL: Duration = Duration::from_secs(120);

#[derive(Default)]
struct Counters {
    total: u64,
    writes: u64,
    by_operation: BTreeMap<String, u64>,
}

/// Fault settings and call counters of one server.
#[derive(Default)]
pub(crate) struct Meter {
    faults: Mutex<Faults>,
    counters: Mutex<Counters>,
}

/// Locks a mutex, recovering the data if a panicking test poisoned it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Meter {
    pub(crate) fn set_faults(&self, faults: Faults) {
        *lock(&self.faults) = faults;
    }

    /// Counts one request of `operation` (a write when `write`) and returns the latency to
    /// apply and its fault.
    pub(crate) fn begin(&self, operation: &str, write: bool) -> (Duration, Option<Fault>) {
        let (n, w) = {
            let mut c = lock(&self.counters);
            c.total += 1;
            if write {
                c.writes += 1;
            }
            *c.by_operation.entry(operation.to_string()).or_default() += 1;
            (c.total, write.then_some(c.writes))
        };
        let f = lock(&self.faults).clone();
        let divides = |every: Option<u64>| every.is_some_and(|e| e > 0 && n % e == 0);
        let fault = if w.is_some() && f.reject_write == w {
            Some(Fault::Rejected)
        } else if w.is_some() && f.lose_write == w {
            Some(Fault::Lost)
        } else if w.is_some() && f.stall_write == w {
            Some(Fault::Stalled)
        } else if w.is_some() && f.fail_after_write == w {
            Some(Fault::FailedAfter)
        } else if f.fail_call == Some(n) {
            Some(Fault::Internal)
        } else if f.fail_after_call == Some(n) {
            Some(Fault::FailedAfter)
        } else if divides(f.throttle_every) {
            Some(Fault::Throttle)
        } else if divides(f.server_error_every) {
            Some(Fault::Unavailable)
        } else {
            None
        };
        (f.latency, fault)
    }

    pub(crate) fn calls(&self) -> u64 {
        lock(&self.counters).total
    }

    pub(crate) fn writes(&self) -> u64 {
        lock(&self.counters).writes
    }

    pub(crate) fn calls_by_operation(&self) -> BTreeMap<String, u64> {
        lock(&self.counters).by_operation.clone()
    }
}

/// What both emulators offer besides their worlds: the address, the faults and the call
/// counts. [`crate::Aws`] and [`crate::Kube`] dereference to it.
pub struct Server {
    running: Running,
    meter: Arc<Meter>,
}

impl Server {
    pub(crate) fn new(running: Running, meter: Arc<Meter>) -> Server {
        Server { running, meter }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        self.running.endpoint.clone()
    }

    /// Replaces the fault settings (request numbering is not reset).
    pub fn set_faults(&self, faults: Faults) {
        self.meter.set_faults(faults);
    }

    /// Total requests answered, faulted ones included.
    pub fn calls(&self) -> u64 {
        self.meter.calls()
    }

    /// Write requests answered (see [`Faults::reject_write`]), faulted ones included.
    pub fn writes(&self) -> u64 {
        self.meter.writes()
    }

    /// Requests answered per operation name (EKS/IAM/STS: `DescribeCluster`, `GetRole`, ...,
    /// `Unknown` for requests that matched no operation; Kubernetes: `get configmaps`,
    /// `list clusterroles`, `discovery`, ...).
    pub fn calls_by_operation(&self) -> BTreeMap<String, u64> {
        self.meter.calls_by_operation()
    }
}

/// A running server: its address, and the signal that stops it when dropped.
pub(crate) struct Running {
    pub(crate) endpoint: String,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Binds 127.0.0.1:0 and serves `handler` for every request on a spawned task.
pub(crate) async fn serve<S, F, Fut>(state: Arc<S>, handler: F) -> Running
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Request<Body>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let app = Router::new().fallback(move |req: Request<Body>| {
        let state = state.clone();
        let handler = handler.clone();
        async move { handler(state, req).await }
    });
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    Running {
        endpoint: format!("http://{addr}"),
        shutdown: Some(tx),
    }
}

/// Reads a whole request body (bounded at 16 MiB).
pub(crate) async fn read_body(body: Body) -> Vec<u8> {
    axum::body::to_bytes(body, 16 << 20)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default()
}
