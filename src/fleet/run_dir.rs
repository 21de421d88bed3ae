//! A fleet run's directory: `fleet.json` at the top (the resolved clusters
//! and options, fingerprinted, so a later command knows what the run was),
//! one folder per cluster (`ACCOUNT/REGION/NAME/`: its plan as JSON and
//! text, its result), and the summary (`summary.json`, `summary.md`).
//! Folders are 0700 and files 0600, as for every file that holds a cluster's
//! access configuration ([`crate::private`]).

use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Shard, Target};

/// The run directory's layout.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub root: PathBuf,
}

/// The whole fleet a run is a shard of: `fleet report` merges only the
/// shards of one fleet, and only all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Whole {
    /// How many clusters the fleet has.
    pub clusters: usize,
    /// [`fingerprint`] of all of them.
    pub fingerprint: String,
}

/// What `fleet.json` records.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FleetRecord<'a> {
    schema_version: u32,
    fleet_file: &'a str,
    shard: Option<Shard>,
    fleet: Whole,
    /// SHA-256 of `clusters` as JSON: the same clusters with the same options.
    fingerprint: String,
    clusters: &'a [Target],
}

impl RunDir {
    /// `./migrate-auth-runs/<UTC time>`, e.g. `migrate-auth-runs/20261207T010203Z`.
    pub fn default_root() -> PathBuf {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let stamp = aws_smithy_types::DateTime::from_secs(secs as i64)
            .fmt(aws_smithy_types::date_time::Format::DateTime)
            .map_or_else(|_| secs.to_string(), |t| t.replace(['-', ':'], ""));
        PathBuf::from("migrate-auth-runs").join(stamp)
    }

    /// Creates the directory (0700) and writes `fleet.json`; or, when it
    /// holds a `fleet.json` already (a run to resume), checks it is of the
    /// same clusters with the same options.
    ///
    /// # Errors
    /// When the folder or the file cannot be written, or the directory holds
    /// another fleet's run.
    pub fn create(
        root: &Path,
        fleet_file: &str,
        (shard, all): (Option<Shard>, &[Target]),
        clusters: &[Target],
    ) -> io::Result<RunDir> {
        crate::private::create_dirs(root)?;
        let run = RunDir {
            root: root.to_path_buf(),
        };
        let fingerprint = fingerprint(clusters)?;
        let path = root.join("fleet.json");
        if let Ok(text) = std::fs::read_to_string(&path) {
            let earlier: serde_json::Value = serde_json::from_str(&text)?;
            if earlier["fingerprint"] != fingerprint.as_str() {
                return Err(io::Error::other(format!(
                    "{} records another fleet run (other clusters or options): give a new --run-dir, or the fleet file it was made from",
                    path.display()
                )));
            }
            return Ok(run);
        }
        let record = FleetRecord {
            schema_version: 1,
            fleet_file,
            shard,
            fleet: Whole {
                clusters: all.len(),
                fingerprint: self::fingerprint(all)?,
            },
            fingerprint,
            clusters,
        };
        run.write(Path::new("fleet.json"), &pretty(&record)?)?;
        Ok(run)
    }

    /// The folder of `t`, created.
    ///
    /// # Errors
    /// When it cannot be created.
    pub fn cluster(&self, t: &Target) -> io::Result<PathBuf> {
        let dir = self.root.join(t.dir());
        crate::private::create_dirs(&dir)?;
        Ok(dir)
    }

    /// Writes `bytes` at `rel` (under the root), 0600.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn write(&self, rel: &Path, bytes: &[u8]) -> io::Result<()> {
        crate::private::write(&self.root.join(rel), bytes)
    }
}

/// SHA-256 of `clusters` as JSON, in hex: the same clusters with the same
/// options (where the fleet file names them is left out: not what they run
/// with).
///
/// # Errors
/// When serde_json cannot write them.
pub fn fingerprint(clusters: &[Target]) -> io::Result<String> {
    let unplaced: Vec<Target> = clusters
        .iter()
        .map(|t| Target {
            line: 0,
            ..t.clone()
        })
        .collect();
    Ok(hex(&Sha256::digest(serde_json::to_vec(&unplaced)?)))
}

/// `value` as pretty JSON with a trailing newline.
///
/// # Errors
/// When serde_json cannot write it.
pub fn pretty(value: &impl Serialize) -> io::Result<Vec<u8>> {
    let mut out = serde_json::to_vec_pretty(value)?;
    out.push(b'\n');
    Ok(out)
}

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
