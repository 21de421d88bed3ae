//! The fleet pipeline: one run over many clusters, accounts and regions,
//! made of exactly the single-cluster pipeline per cluster.
//!
//! - [`targets`]: the clusters a fleet file names or discovers, each with its
//!   options resolved (`defaults` under per-cluster ones, `{account}` filled
//!   in), its wave, and whether it is in this runner's `--shard`;
//! - [`run_dir`]: the run directory: `fleet.json` (the resolved clusters,
//!   fingerprinted), one folder per cluster (`ACCOUNT/REGION/NAME/`), the
//!   summary;
//! - [`plan`]: `fleet plan`, read-only, `--parallel` clusters at a time;
//! - [`apply`]: `fleet apply`'s waves, resumption and summary rows (the
//!   clusters run through the single-cluster apply, in `commands::fleet`);
//! - [`report`]: `fleet status` and `fleet report` (shards merged).

pub mod apply;
pub mod plan;
pub mod report;
pub mod run_dir;
pub mod targets;

pub use targets::{Place, Shard, Target};

/// Who hears of each cluster of a fleet run as it starts and as it ends (the
/// commands' progress display).
pub trait Watch: Sync {
    /// Cluster `who` starts.
    fn started(&self, who: &str);
    /// Cluster `who` ended with `result` after `seconds`.
    fn finished(&self, who: &str, result: &str, seconds: f64);
}

impl Target {
    /// How the progress names it: `NAME (ACCOUNT REGION)`.
    pub fn label(&self) -> String {
        format!("{} ({} {})", self.name, self.account, self.region)
    }
}

/// What the clusters of one fleet run share: one limit on the AWS calls under
/// way per account and region, [`PER_ACCOUNT_REGION`] times `--concurrency`
/// (EKS limits are per account and region, so a fleet does not throttle
/// itself into failure): a plan's reads, and an apply's reads, writes and
/// polls; and the IAM listings, made once per account for all its clusters.
/// How many clusters' worth of calls (`--concurrency` each) may be under
/// way in one account and region at once.
pub const PER_ACCOUNT_REGION: usize = 4;

#[derive(Debug, Default)]
pub struct Shared {
    limits: std::sync::Mutex<
        std::collections::HashMap<(String, String), std::sync::Arc<tokio::sync::Semaphore>>,
    >,
    listings: std::sync::Arc<crate::live::iam::Listings>,
}

impl Shared {
    /// How to reach `t` in this run: its settings, `concurrency` calls under
    /// way per account and region, the listings shared.
    pub fn settings(&self, t: &Target, concurrency: usize) -> crate::live::LiveSettings {
        let mut s = t.live_settings(concurrency);
        let limit = self
            .limits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((t.account.clone(), t.region.clone()))
            .or_insert_with(|| {
                std::sync::Arc::new(tokio::sync::Semaphore::new(
                    concurrency * PER_ACCOUNT_REGION,
                ))
            })
            .clone();
        s.client.limit = Some(limit);
        s.client.listings = Some(self.listings.clone());
        s
    }
}
