//! What a run directory says after the fact: `fleet status` (where each
//! cluster of the run is, from the files in its folder), and `fleet report`
//! (the summaries of several run directories, one per shard, merged into
//! the one a single run would have written).

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::apply::ApplyRow;
use super::plan::PlanRow;
use super::run_dir::Whole;
use super::{Place, Shard, Target};
use crate::apply::journal::{Ending, Record};

/// Why a run directory cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{}: {message}", path.display())]
    Unreadable { path: PathBuf, message: String },
    #[error("cluster {arn} is in {} and in {}: the run directories overlap", first.display(), second.display())]
    Overlap {
        arn: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("{}: {message}", path.display())]
    NotMergeable { path: PathBuf, message: String },
    #[error("shard {missing} of {n} is missing: give the run directory of every shard (these are shards {given})")]
    MissingShard { missing: u32, n: u32, given: String },
    #[error("{} summarises a `{found}` run and {} a `{expected}` run: they cannot be merged", second.display(), first.display())]
    Mixed {
        first: PathBuf,
        expected: String,
        second: PathBuf,
        found: String,
    },
}

/// Reads a JSON file of the run directory.
fn json(path: &Path) -> Result<Value, ReportError> {
    let unreadable = |message: String| ReportError::Unreadable {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| unreadable(format!("not JSON: {e}")))
}

/// The clusters `fleet.json` of `run` records, with their options.
///
/// # Errors
/// A missing or unreadable `fleet.json`.
pub fn clusters(run: &Path) -> Result<Vec<Target>, ReportError> {
    let path = run.join("fleet.json");
    let doc = json(&path)?;
    let clusters: Vec<Target> =
        serde_json::from_value(doc["clusters"].clone()).map_err(|e| ReportError::Unreadable {
            path: path.clone(),
            message: format!("no list of clusters: {e}"),
        })?;
    // The file may have been edited: its names become paths.
    match clusters.iter().find_map(super::targets::unusable) {
        Some(message) => Err(ReportError::Unreadable { path, message }),
        None => Ok(clusters),
    }
}

/// Where a cluster of a run is.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    #[serde(flatten)]
    pub at: Place,
    /// `notStarted`, `planned`, `unfinished` (the journal's last run or
    /// rollback did not end: under way, or interrupted), the result of the
    /// run the journal ends with (`applied: done`, `rolledBack: done`, ...),
    /// or `unknown` (the error says why).
    pub state: String,
    /// The latest result's error, if any.
    pub error: Option<String>,
}

/// Where a cluster's journal stands: its last record.
enum Journaled {
    /// No journal: nothing was changed (or nothing began).
    Nothing,
    /// A run or a rollback began after the last end: under way, or killed.
    Unfinished,
    /// The last record ends `run`.
    Ended { run: String, ending: Ending },
}

/// What the journal at `path` says, and the runs it records, or why it
/// cannot be read.
fn journaled(path: &Path) -> Result<(Journaled, Vec<String>), String> {
    if !path.exists() {
        return Ok((Journaled::Nothing, Vec::new()));
    }
    let records = crate::apply::journal::read(path).map_err(|e| e.to_string())?;
    let runs = records
        .iter()
        .filter_map(|r| match r {
            Record::Begin { run, .. } => Some(run.clone()),
            _ => None,
        })
        .collect();
    let state = match records.last() {
        None => Journaled::Nothing,
        Some(Record::End { run, ending }) => Journaled::Ended {
            run: run.clone(),
            ending: *ending,
        },
        Some(_) => Journaled::Unfinished,
    };
    Ok((state, runs))
}

/// The apply result of a run the journal does not record, if it changed
/// nothing (refused by the lock, the guard or a stale plan, or nothing to
/// do): `result.json` is always the latest apply's, so this is the latest
/// apply, whose word the journal cannot give.
fn quiet<'a>(applied: &Option<(&'a str, Value)>, runs: &[String]) -> Option<(&'a str, Value)> {
    applied
        .as_ref()
        .filter(|(_, d)| !runs.iter().any(|r| d["runId"] == r.as_str()))
        .filter(|(_, d)| d["result"] == "notChanged" || d["result"] == "nothingToDo")
        .cloned()
}

/// Where `t` of the run at `run` is, from the files in its folder: the
/// journal says whether its last run (or rollback) ended, and which; the
/// result document of that run (`result.json` for an apply,
/// `rollback.json` for a rollback) says how. A later apply that changed
/// nothing journaled nothing: its result stands when the journal's run has
/// none, and its error is told beside the journal's run otherwise.
pub fn status(run: &Path, t: &Target) -> Status {
    let dir = run.join(t.dir());
    let doc = |file: &str, command: &str| {
        json(&dir.join(file))
            .ok()
            .filter(|d| d["command"] == command)
    };
    let applied = doc("result.json", "apply").map(|d| ("applied", d));
    let rolled = doc("rollback.json", "rollback").map(|d| ("rolledBack", d));
    fn of(run: &str) -> impl Fn(&(&str, Value)) -> bool + '_ {
        move |(_, d)| d["runId"] == run
    }
    let (journal, runs) = match journaled(&dir.join("journal")) {
        Ok(both) => both,
        Err(message) => {
            return Status {
                at: Place::of(t),
                state: "unknown".into(),
                error: Some(format!("its journal cannot be read: {message}")),
            }
        }
    };
    let quiet = quiet(&applied, &runs);
    let latest = match journal {
        Journaled::Unfinished => {
            return Status {
                at: Place::of(t),
                state: "unfinished".into(),
                error: None,
            }
        }
        // A rollback's end is the rollback's result, else the apply's.
        Journaled::Ended { run, ending } => match ending {
            Ending::RolledBack => rolled.filter(of(&run)).or(applied.filter(of(&run))),
            _ => applied.filter(of(&run)),
        }
        .or(quiet.clone()),
        // Nothing journaled: an apply (or rollback) that had nothing to do.
        Journaled::Nothing => applied.or(rolled),
    };
    let (state, error) = match latest {
        Some((what, d)) => (
            format!("{what}: {}", d["result"].as_str().unwrap_or("unknown")),
            d["error"].as_str().map(str::to_string).or_else(|| {
                let (_, q) = quiet.filter(|(_, q)| q != &d)?;
                Some(format!(
                    "a later apply changed nothing ({}): {}",
                    q["result"].as_str()?,
                    q["error"].as_str()?
                ))
            }),
        ),
        None if dir.join("journal").exists() => (
            "unknown".to_string(),
            Some("the journal's last run has no result file".into()),
        ),
        None if dir.join("plan.json").exists() => ("planned".to_string(), None),
        None => ("notStarted".to_string(), None),
    };
    Status {
        at: Place::of(t),
        state,
        error,
    }
}

/// A summary of a run directory, plan or apply.
#[derive(Debug, Clone, PartialEq)]
pub enum Merged {
    Plan(Vec<PlanRow>),
    Apply(Vec<ApplyRow>),
}

/// Checks that `runs` are every shard of one fleet, or one whole run, and
/// returns how many clusters the fleet has.
///
/// # Errors
/// An unreadable `fleet.json`, runs of different fleets, a whole run among
/// shards, a shard given twice or missing.
fn complete(runs: &[PathBuf]) -> Result<usize, ReportError> {
    let mut seen: Vec<(Option<Shard>, Whole, PathBuf)> = Vec::new();
    for run in runs {
        let path = run.join("fleet.json");
        let doc = json(&path)?;
        let shard = serde_json::from_value::<Option<Shard>>(doc["shard"].clone());
        let whole = serde_json::from_value::<Whole>(doc["fleet"].clone());
        let (Ok(shard), Ok(whole)) = (shard, whole) else {
            return Err(ReportError::NotMergeable {
                path,
                message: "no shard or fleet record (made by an older migrate-auth?)".into(),
            });
        };
        let not = |message: String| ReportError::NotMergeable {
            path: path.clone(),
            message,
        };
        if let Some((first_shard, first, at)) = seen.first() {
            if whole != *first {
                return Err(not(format!(
                    "a run of another fleet than {} (other clusters or options)",
                    at.display()
                )));
            }
            let shards = (shard, *first_shard);
            match shards {
                (Some(a), Some(b)) if a.n != b.n => {
                    return Err(not(format!(
                        "shard {} of {}, but {} is of {}",
                        a.k,
                        a.n,
                        at.display(),
                        b.n
                    )))
                }
                (Some(a), _) if seen.iter().any(|(s, ..)| *s == Some(a)) => {
                    return Err(not(format!("shard {} of {} is given twice", a.k, a.n)))
                }
                (Some(_), Some(_)) => {}
                _ => return Err(not("a whole run is not a shard: report it alone".into())),
            }
        }
        seen.push((shard, whole, path));
    }
    let Some((Some(shard), whole, _)) = seen.first() else {
        return Ok(seen.first().map_or(0, |(_, w, _)| w.clusters));
    };
    let given: Vec<u32> = seen.iter().filter_map(|(s, ..)| s.map(|s| s.k)).collect();
    if let Some(missing) = (1..=shard.n).find(|k| !given.contains(k)) {
        let mut given = given;
        given.sort_unstable();
        let given: Vec<String> = given.iter().map(u32::to_string).collect();
        return Err(ReportError::MissingShard {
            missing,
            n: shard.n,
            given: given.join(", "),
        });
    }
    Ok(whole.clusters)
}

/// The summaries of `runs` merged: the rows of all, in the order one run
/// writes them (wave, account, region, name).
///
/// # Errors
/// An unreadable summary, summaries of different commands, a cluster in
/// two of them, runs that are not every shard of one fleet (or one whole
/// run), or fewer rows than the fleet has clusters.
pub fn merge(runs: &[PathBuf]) -> Result<Merged, ReportError> {
    let clusters = complete(runs)?;
    let mut kind: Option<(String, PathBuf)> = None;
    let mut rows: Vec<(Value, PathBuf)> = Vec::new();
    for run in runs {
        let path = run.join("summary.json");
        let doc = json(&path)?;
        let command = doc["command"].as_str().unwrap_or_default().to_string();
        match &kind {
            Some((expected, first)) if *expected != command => {
                return Err(ReportError::Mixed {
                    first: first.clone(),
                    expected: expected.clone(),
                    second: path,
                    found: command,
                })
            }
            Some(_) => {}
            None => kind = Some((command, path.clone())),
        }
        for row in doc["clusters"].as_array().into_iter().flatten() {
            if let Some((_, first)) = rows.iter().find(|(r, _)| r["arn"] == row["arn"]) {
                return Err(ReportError::Overlap {
                    arn: row["arn"].as_str().unwrap_or_default().to_string(),
                    first: first.clone(),
                    second: path,
                });
            }
            rows.push((row.clone(), path.clone()));
        }
    }
    let key = |r: &Value| {
        let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
        (
            r["wave"].as_u64().unwrap_or(0),
            s("account"),
            s("region"),
            s("cluster"),
        )
    };
    rows.sort_by_key(|(r, _)| key(r));
    if rows.len() != clusters {
        return Err(ReportError::NotMergeable {
            path: runs.first().cloned().unwrap_or_default(),
            message: format!(
                "the summaries hold {} clusters; the fleet has {clusters}",
                rows.len()
            ),
        });
    }
    let values: Vec<Value> = rows.into_iter().map(|(r, _)| r).collect();
    let (command, path) = kind.unwrap_or_default();
    let bad = |e: serde_json::Error| ReportError::Unreadable {
        path: path.clone(),
        message: format!("a row is not a summary row: {e}"),
    };
    let rows = Value::Array(values);
    match command.as_str() {
        "fleet apply" => Ok(Merged::Apply(serde_json::from_value(rows).map_err(bad)?)),
        "fleet plan" => Ok(Merged::Plan(serde_json::from_value(rows).map_err(bad)?)),
        other => Err(ReportError::Unreadable {
            path,
            message: format!("{other:?} is not a fleet summary's command"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::time::{Duration, SystemTime};

    fn target() -> Target {
        Target {
            name: "c".into(),
            account: "111122223333".into(),
            region: "us-east-1".into(),
            wave: 1,
            assume_role: None,
            lookup_roles: Vec::new(),
            profile: None,
            kubeconfig: None,
            kube_context: None,
            overrides: Vec::new(),
            expand_sso: false,
            policies_from_rbac: false,
            keep_existing_entries: false,
            line: 0,
            discovered: false,
        }
    }

    /// A cluster folder with `files` (name, text), each written at the
    /// given seconds after the epoch.
    fn folder(test: &str, files: &[(&str, String, u64)]) -> (PathBuf, Target) {
        let run =
            std::env::temp_dir().join(format!("migrate-auth-status-{test}-{}", std::process::id()));
        let t = target();
        let dir = run.join(t.dir());
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text, at) in files {
            std::fs::write(dir.join(name), text).unwrap();
            let f = File::options().write(true).open(dir.join(name)).unwrap();
            f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(*at))
                .unwrap();
        }
        (run, t)
    }

    const BEGIN_A: &str = r#"{"record":"begin","run":"A","cluster":"c","clusterArn":"arn:aws:eks:us-east-1:111122223333:cluster/c","region":"us-east-1","caller":"x","at":0,"steps":1}"#;
    const BEGIN_B: &str = r#"{"record":"begin","run":"B","cluster":"c","clusterArn":"arn:aws:eks:us-east-1:111122223333:cluster/c","region":"us-east-1","caller":"x","at":0,"steps":1}"#;

    fn result(command: &str, run: &str, result: &str) -> String {
        format!(r#"{{"command":"{command}","runId":"{run}","result":"{result}"}}"#)
    }

    #[test]
    fn status_follows_the_journal_not_the_file_times() {
        // Applied, then rolled back; result.json was touched last (a copy, a
        // restore from backup): the journal says rolled back.
        let journal = format!(
            "{BEGIN_A}\n{}\n{}\n",
            r#"{"record":"end","run":"A","ending":"applied"}"#,
            r#"{"record":"end","run":"A","ending":"rolledBack"}"#
        );
        let (run, t) = folder(
            "rolled-back",
            &[
                ("journal", journal, 100),
                ("rollback.json", result("rollback", "A", "done"), 100),
                ("result.json", result("apply", "A", "done"), 200),
            ],
        );
        assert_eq!(status(&run, &t).state, "rolledBack: done");
        // A new run began after the last end and did not end: unfinished,
        // however old the journal's time.
        let journal = format!(
            "{BEGIN_A}\n{}\n{BEGIN_B}\n",
            r#"{"record":"end","run":"A","ending":"applied"}"#
        );
        let (run, t) = folder(
            "unfinished",
            &[
                ("journal", journal, 50),
                ("result.json", result("apply", "A", "done"), 200),
            ],
        );
        assert_eq!(status(&run, &t).state, "unfinished");
        // Applied again after a rollback: the apply's result, though the
        // rollback's file is newer.
        let journal = format!(
            "{BEGIN_A}\n{}\n{}\n{BEGIN_B}\n{}\n",
            r#"{"record":"end","run":"A","ending":"applied"}"#,
            r#"{"record":"end","run":"A","ending":"rolledBack"}"#,
            r#"{"record":"end","run":"B","ending":"applied"}"#
        );
        let (run, t) = folder(
            "applied-again",
            &[
                ("journal", journal, 100),
                ("result.json", result("apply", "B", "done"), 100),
                ("rollback.json", result("rollback", "A", "done"), 300),
            ],
        );
        assert_eq!(status(&run, &t).state, "applied: done");
        // Nothing journaled (nothing to do): the result says so.
        let (run, t) = folder(
            "nothing",
            &[("result.json", result("apply", "A", "nothingToDo"), 100)],
        );
        assert_eq!(status(&run, &t).state, "applied: nothingToDo");
        // A journal that cannot be read is said, not guessed around.
        let (run, t) = folder(
            "corrupt",
            &[
                ("journal", "not a record\n{}\n".into(), 100),
                ("result.json", result("apply", "A", "done"), 200),
            ],
        );
        let s = status(&run, &t);
        assert_eq!(s.state, "unknown");
        assert!(s.error.unwrap().contains("journal"));
    }
    /// A later apply that changed nothing (refused by the lock or
    /// the guard, or nothing to do) journals nothing, so the journal still
    /// ends with the run before. Its result.json is the cluster's latest
    /// word, with the error saying why; status must not call it unknown.
    #[test]
    fn status_shows_a_later_apply_that_changed_nothing() {
        let journal = format!(
            "{BEGIN_A}\n{}\n",
            r#"{"record":"end","run":"A","ending":"rolledBack"}"#
        );
        let later = r#"{"command":"apply","runId":"B","result":"notChanged","error":"the cluster's lock is held by run Z"}"#;
        let (run, t) = folder(
            "review-later",
            &[
                ("journal", journal, 100),
                ("result.json", later.into(), 200),
            ],
        );
        let s = status(&run, &t);
        assert_eq!(
            (s.state.as_str(), s.error.as_deref()),
            (
                "applied: notChanged",
                Some("the cluster's lock is held by run Z")
            )
        );
        // With the journal's run's own result there, that stands, and the
        // later apply's error is told beside it.
        let journal = format!(
            "{BEGIN_A}\n{}\n{}\n",
            r#"{"record":"end","run":"A","ending":"applied"}"#,
            r#"{"record":"end","run":"A","ending":"rolledBack"}"#
        );
        let (run, t) = folder(
            "later-beside",
            &[
                ("journal", journal, 100),
                ("rollback.json", result("rollback", "A", "done"), 100),
                ("result.json", later.into(), 50),
            ],
        );
        let s = status(&run, &t);
        assert_eq!(s.state, "rolledBack: done");
        assert_eq!(
            s.error.as_deref(),
            Some("a later apply changed nothing (notChanged): the cluster's lock is held by run Z")
        );
    }
}
