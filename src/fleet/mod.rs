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
