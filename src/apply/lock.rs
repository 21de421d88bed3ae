//! The cluster-wide lock: one `apply` or `rollback` at a time per cluster,
//! whatever machine or journal it runs with. It is a `coordination.k8s.io/v1`
//! Lease, `kube-system/migrate-auth`, whose holder names the run, the caller
//! and the host; it is renewed while the run lasts, released at its end, and
//! a lease not renewed within its duration (a run that died) is taken over,
//! saying whose it was. `--force-unlock RUN` takes over a live one for a
//! human who knows that run is gone.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};

use crate::live::kubernetes::KubeClient;
use crate::live::Connection;

/// The Lease's name, in `kube-system`.
pub(crate) const LEASE: &str = "migrate-auth";

/// How long a holder that stops renewing keeps the lock.
const DURATION: Duration = Duration::from_secs(60);

/// How often the holder renews it.
const RENEW_EVERY: Duration = Duration::from_secs(15);

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds it.
    #[error("nothing was changed: another migrate-auth run holds the cluster's lock (kube-system/{LEASE}): {holder}, last renewed {renewed}; wait for it to end, or, if that run is gone, `--force-unlock {run}` (it expires on its own {expires_in}s after its last renewal)")]
    Held {
        holder: String,
        run: String,
        renewed: String,
        expires_in: u64,
    },
    /// The Kubernetes API refused.
    #[error("nothing was changed: the cluster's lock (kube-system/{LEASE}) could not be {what}: {message}")]
    Kubernetes { what: &'static str, message: String },
}

/// The lock, held: renewed in the background until [`Held::release`].
pub struct Held {
    kube: KubeClient,
    holder: String,
    /// The Lease's resourceVersion as this run last wrote it.
    version: Arc<std::sync::Mutex<Option<String>>>,
    renewal: tokio::task::JoinHandle<()>,
    lost: Arc<AtomicBool>,
    /// Whose stale lock was taken over, if one was.
    pub took_over: Option<String>,
}

/// `holder`'s run id (the first word after `run `).
fn run_of(holder: &str) -> String {
    holder
        .strip_prefix("run ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or(holder)
        .to_string()
}

/// This machine's name, for the holder identity.
fn host() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `len` bytes into the buffer given.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    if ok {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        "unknown-host".into()
    }
}

fn spec(holder: &str, transitions: i32) -> LeaseSpec {
    let now = MicroTime(Timestamp::now());
    LeaseSpec {
        holder_identity: Some(holder.to_string()),
        lease_duration_seconds: Some(DURATION.as_secs() as i32),
        acquire_time: Some(now.clone()),
        renew_time: Some(now),
        lease_transitions: Some(transitions),
        ..LeaseSpec::default()
    }
}

fn k8s(what: &'static str) -> impl Fn(kube::Error) -> LockError {
    move |e| LockError::Kubernetes {
        what,
        message: crate::live::kubernetes::describe(&e),
    }
}

/// Who holds `lease`, as it says (empty when it does not).
fn holder_of(lease: &Lease) -> &str {
    lease
        .spec
        .as_ref()
        .and_then(|s| s.holder_identity.as_deref())
        .unwrap_or_default()
}

/// Seconds since `lease` was last renewed (or acquired), when it says.
fn age(lease: &Lease) -> Option<i64> {
    let s = lease.spec.as_ref()?;
    let t = s.renew_time.as_ref().or(s.acquire_time.as_ref())?;
    Some(Timestamp::now().as_second() - t.0.as_second())
}

/// Takes the lock for run `run` of `c`'s caller. A lease held by a run in
/// `dead` (the runs of a journal this process holds, whose processes are
/// therefore gone), or named by `force_unlock`, or not renewed for twice
/// its duration (clocks may differ by up to one), is taken over. Should the
/// lock be lost while held (another run took it over), `stop` is set, so
/// that the run starts no new change.
///
/// # Errors
/// [`LockError::Held`] when another live run holds it,
/// [`LockError::Kubernetes`] when the API refuses.
pub async fn acquire(
    c: &Connection,
    run: &str,
    force_unlock: Option<&str>,
    dead: &[String],
    stop: Arc<AtomicBool>,
) -> Result<Held, LockError> {
    let api: Api<Lease> = Api::namespaced(c.kube.get(), "kube-system");
    let holder = format!("run {run} by {} on {}", c.caller_arn, host());
    let mut took_over = None;
    // Created at once when free (one round trip); a Lease already there is
    // read and taken over only when its run is gone. One deleted between
    // our create and our read is created again, a few times at most.
    let mut tries = 0;
    let version = loop {
        tries += 1;
        let fresh = Lease {
            metadata: ObjectMeta {
                name: Some(LEASE.into()),
                ..ObjectMeta::default()
            },
            spec: Some(spec(&holder, 0)),
        };
        match api.create(&PostParams::default(), &fresh).await {
            Ok(made) => break made.metadata.resource_version,
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            // The create may have been made and its answer lost: a Lease
            // naming this run (a new run id) can only be ours.
            Err(e) => match api.get_opt(LEASE).await {
                Ok(Some(l)) if holder_of(&l) == holder => break l.metadata.resource_version,
                _ => return Err(k8s("created")(e)),
            },
        }
        let Some(lease) = api.get_opt(LEASE).await.map_err(k8s("read"))? else {
            if tries < 3 {
                continue;
            }
            return Err(LockError::Kubernetes {
                what: "created",
                message:
                    "it was made and deleted again three times while this run tried to take it"
                        .into(),
            });
        };
        let (version, theirs) = take_over(&api, lease, &holder, (force_unlock, dead)).await?;
        took_over = theirs;
        break version;
    };
    let lost = Arc::new(AtomicBool::new(false));
    let version = Arc::new(std::sync::Mutex::new(version));
    let renewal = tokio::spawn(renew(
        c.kube.clone(),
        holder.clone(),
        version.clone(),
        (lost.clone(), stop),
    ));
    Ok(Held {
        kube: c.kube.clone(),
        holder,
        version,
        renewal,
        lost,
        took_over,
    })
}

/// Takes `lease` over for `holder` when its run is gone (stale, named by
/// `force_unlock`, or one of `dead`), at the version read: a run that took
/// it meanwhile wins. Returns the new version and whose lease it was.
async fn take_over(
    api: &Api<Lease>,
    mut lease: Lease,
    holder: &str,
    (force_unlock, dead): (Option<&str>, &[String]),
) -> Result<(Option<String>, Option<String>), LockError> {
    let theirs = holder_of(&lease).to_string();
    let their_run = run_of(&theirs);
    let stale = theirs.is_empty()
        || age(&lease).is_none_or(|a| a >= 2 * DURATION.as_secs() as i64)
        || force_unlock == Some(their_run.as_str())
        || dead.contains(&their_run);
    if !stale {
        return Err(held(&lease));
    }
    let transitions = lease
        .spec
        .as_ref()
        .and_then(|s| s.lease_transitions)
        .unwrap_or(0);
    lease.spec = Some(spec(holder, transitions + 1));
    match api.replace(LEASE, &PostParams::default(), &lease).await {
        Ok(made) => Ok((
            made.metadata.resource_version,
            (!theirs.is_empty()).then_some(theirs),
        )),
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let now = api.get(LEASE).await.map_err(k8s("read"))?;
            Err(held(&now))
        }
        Err(e) => Err(k8s("taken over")(e)),
    }
}

/// The refusal for a lease someone else holds.
fn held(lease: &Lease) -> LockError {
    let s = lease.spec.clone().unwrap_or_default();
    let holder = s.holder_identity.unwrap_or_default();
    let renewed = s
        .renew_time
        .or(s.acquire_time)
        .map_or("at an unknown time".into(), |t| format!("at {}", t.0));
    let left = 2 * DURATION.as_secs() as i64 - age(lease).unwrap_or(0);
    LockError::Held {
        run: run_of(&holder),
        holder,
        renewed,
        expires_in: left.max(0) as u64,
    }
}

/// The Lease API with the current client (an EKS token is renewed on 401).
async fn lease_api(kube: &KubeClient) -> Api<Lease> {
    Api::namespaced(kube.get(), "kube-system")
}

/// Renews the lease every [`RENEW_EVERY`] while `holder` holds it, with a
/// fresh client each time (an EKS token lasts 15 minutes); when another run
/// has taken it, sets `lost` and `stop` and ends.
async fn renew(
    kube: KubeClient,
    holder: String,
    version: Arc<std::sync::Mutex<Option<String>>>,
    (lost, stop): (Arc<AtomicBool>, Arc<AtomicBool>),
) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let mut got = lease_api(&kube).await.get_opt(LEASE).await;
        if matches!(&got, Err(kube::Error::Api(s)) if s.code == 401)
            && kube.renew().await.unwrap_or(false)
        {
            got = lease_api(&kube).await.get_opt(LEASE).await;
        }
        let mut lease = match got {
            Ok(Some(lease)) => lease,
            // Deleted by someone: ours no more.
            Ok(None) => Lease::default(),
            // Unreadable now: try again at the next tick.
            Err(_) => continue,
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(holder.as_str()) {
            lost.store(true, Ordering::SeqCst);
            stop.store(true, Ordering::SeqCst);
            return;
        }
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        let renewed = lease_api(&kube)
            .await
            .replace(LEASE, &PostParams::default(), &lease)
            .await;
        if let Ok(made) = renewed {
            *version.lock().unwrap_or_else(|e| e.into_inner()) = made.metadata.resource_version;
        }
    }
}

impl Held {
    /// True when another run took the lock over while this one held it.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Stops renewing and deletes the lease, if it is still ours: at the
    /// version this run last wrote (one call), else, when that delete is
    /// refused (a renewal cut off by the stop, or another run's write), as
    /// read now.
    pub async fn release(self) {
        self.renewal.abort();
        let api = lease_api(&self.kube).await;
        let known = self
            .version
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(version) = known {
            match api.delete(LEASE, &at_version(version)).await {
                Ok(_) => return,
                // Gone already: nothing to release.
                Err(kube::Error::Api(s)) if s.code == 404 => return,
                Err(_) => {}
            }
        }
        let Ok(Some(lease)) = api.get_opt(LEASE).await else {
            return;
        };
        let ours = holder_of(&lease) == self.holder;
        if let (true, Some(version)) = (ours, lease.metadata.resource_version) {
            let _ = api.delete(LEASE, &at_version(version)).await;
        }
    }
}

/// A delete that only happens at `version` (nobody wrote since).
fn at_version(version: String) -> DeleteParams {
    DeleteParams {
        preconditions: Some(Preconditions {
            resource_version: Some(version),
            uid: None,
        }),
        ..DeleteParams::default()
    }
}
