//! The write-ahead journal: one JSON object per line, appended and flushed to
//! disk (fsync) before each change (the step, with what undoes it) and after
//! it (the outcome), so a run killed at any point can be undone from the file
//! alone. The file is created 0600; one file per cluster holds all its runs.
//!
//! A *migration* is the last run together with the runs before it that it
//! resumed (runs that neither finished nor were rolled back); `rollback`
//! undoes the migration's changes that are not undone yet, newest first.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::apply::change::{Outcome, Undone};
use crate::migrate::steps::Step;

/// What can go wrong with a journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The file cannot be opened, written or synced.
    #[error("journal {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A line is not a record.
    #[error("journal {path}:{line}: not a journal record: {message}")]
    Corrupt {
        path: String,
        line: usize,
        message: String,
    },
    /// The journal holds no run.
    #[error("journal {path} records no run")]
    Empty { path: String },
    /// Another process has it open (an apply or rollback under way).
    #[error("journal {path} is in use by another migrate-auth (an apply or rollback under way); nothing was changed")]
    Busy { path: String },
    /// A record could not be serialised (a broken invariant): it was not
    /// written, and its change is not made.
    #[error("journal {path}: cannot serialise a record: {message}")]
    Serialize { path: String, message: String },
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Ending {
    /// Every step was made.
    Applied,
    /// A step failed and the run's changes were undone.
    RolledBack,
    /// A step failed and changes were left in place (`--no-rollback`, or an
    /// undo failed).
    Failed,
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "record")]
pub enum Record {
    /// A run starts.
    #[serde(rename_all = "camelCase")]
    Begin {
        run: String,
        cluster: String,
        cluster_arn: String,
        region: String,
        caller: String,
        at: u64,
        steps: usize,
    },
    /// A change is about to be made.
    #[serde(rename_all = "camelCase")]
    Intent {
        run: String,
        step: usize,
        change: Step,
    },
    /// It was made (or found already made).
    #[serde(rename_all = "camelCase")]
    Done {
        run: String,
        step: usize,
        outcome: Outcome,
    },
    /// It failed.
    #[serde(rename_all = "camelCase")]
    Failed {
        run: String,
        step: usize,
        error: String,
    },
    /// Its undo is about to be made (by the run itself or by `rollback`).
    #[serde(rename_all = "camelCase")]
    UndoIntent { run: String, step: usize },
    /// It was undone.
    #[serde(rename_all = "camelCase")]
    Undone {
        run: String,
        step: usize,
        result: Undone,
    },
    /// Its undo failed.
    #[serde(rename_all = "camelCase")]
    UndoFailed {
        run: String,
        step: usize,
        error: String,
    },
    /// A run (or a rollback of it) ended.
    #[serde(rename_all = "camelCase")]
    End { run: String, ending: Ending },
}

/// An open journal, appending.
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens (or creates, mode 0600, in folders made 0700) the journal at
    /// `path` for appending; a symbolic link there is refused. A line left
    /// half-written by a killed run is cut off first (its change was not
    /// made, or is recorded as begun by the line before), so the next record
    /// starts on a line of its own. An existing file is made 0600.
    ///
    /// # Errors
    /// [`JournalError::Io`] when it cannot be created, repaired or opened.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let io = |source| JournalError::Io {
            path: path.display().to_string(),
            source,
        };
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir {
            crate::private::create_dirs(dir).map_err(io)?;
        }
        let existed = path.exists();
        let mut file = crate::private::open_append(path).map_err(io)?;
        // One run (or rollback) at a time per journal.
        if let Err(e) = file.try_lock() {
            return Err(match e {
                std::fs::TryLockError::WouldBlock => JournalError::Busy {
                    path: path.display().to_string(),
                },
                std::fs::TryLockError::Error(source) => io(source),
            });
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(io)?;
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        if !bytes.is_empty() && !bytes.ends_with(b"\n") {
            let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            file.set_len(keep as u64).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        if !existed {
            // The new file's name must survive a crash too.
            if let Some(d) = dir.and_then(|d| File::open(d).ok()) {
                d.sync_all().map_err(io)?;
            }
        }
        Ok(Journal {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Appends `record` and syncs it to disk before returning.
    ///
    /// # Errors
    /// [`JournalError::Io`] when it cannot be written or synced, and
    /// [`JournalError::Serialize`] when the record cannot be serialised: the
    /// caller must then not make the change.
    pub fn append(&mut self, record: &Record) -> Result<(), JournalError> {
        self.write(record)?;
        self.file.sync_data().map_err(|source| self.io(source))
    }

    /// Appends `record` without syncing it: [`super::group::Group`] syncs.
    ///
    /// # Errors
    /// As [`Journal::append`].
    pub(crate) fn write(&mut self, record: &Record) -> Result<(), JournalError> {
        let mut line = serde_json::to_string(record).map_err(|e| JournalError::Serialize {
            path: self.path.display().to_string(),
            message: e.to_string(),
        })?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .map_err(|source| self.io(source))
    }

    /// The journal's file again (the same open file), to sync it with, and
    /// its path.
    ///
    /// # Errors
    /// [`JournalError::Io`] when the descriptor cannot be duplicated.
    pub(crate) fn file_to_sync(&self) -> Result<(File, PathBuf), JournalError> {
        let file = self.file.try_clone().map_err(|source| self.io(source))?;
        Ok((file, self.path.clone()))
    }

    fn io(&self, source: std::io::Error) -> JournalError {
        JournalError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }
}

/// Reads every record of the journal at `path`. A last line cut short (the
/// process was killed while writing it) is ignored: its change was not made.
///
/// # Errors
/// [`JournalError`] when the file cannot be read or a complete line is not a record.
pub fn read(path: &Path) -> Result<Vec<Record>, JournalError> {
    let name = path.display().to_string();
    let file = crate::private::open_read(path).map_err(|source| JournalError::Io {
        path: name.clone(),
        source,
    })?;
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(|source| JournalError::Io {
            path: name.clone(),
            source,
        })?;
    let mut out = Vec::new();
    let last = lines.len();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line) {
            Ok(r) => out.push(r),
            Err(_) if i + 1 == last => {}
            Err(e) => {
                return Err(JournalError::Corrupt {
                    path: name,
                    line: i + 1,
                    message: e.to_string(),
                })
            }
        }
    }
    Ok(out)
}

/// A change recorded in the journal, and how far it got.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub run: String,
    pub step: usize,
    pub change: Step,
    /// `None`: the run stopped before it knew; `Some(Err)`: it failed.
    pub outcome: Option<Result<Outcome, String>>,
    /// Already undone.
    pub undone: bool,
}

/// The runs of the latest migration and its changes, in the order they were made.
#[derive(Debug, Clone, PartialEq)]
pub struct Migration {
    /// The `Begin` record of its last run.
    pub last_begin: Record,
    pub changes: Vec<Recorded>,
}

/// The clusters (ARNs) whose runs `records` hold, in order of first run.
pub fn clusters(records: &[Record]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in records {
        if let Record::Begin { cluster_arn, .. } = r {
            if !out.contains(cluster_arn) {
                out.push(cluster_arn.clone());
            }
        }
    }
    out
}

/// The latest migration in `records`: that of the cluster of the last run
/// (runs of other clusters in a shared journal are never mixed in).
///
/// # Errors
/// [`JournalError::Empty`] when no run is recorded.
pub fn latest(path: &Path, records: &[Record]) -> Result<Migration, JournalError> {
    let last_cluster = records.iter().rev().find_map(|r| match r {
        Record::Begin { cluster_arn, .. } => Some(cluster_arn.clone()),
        _ => None,
    });
    // Runs of that cluster in order, with how each ended (if it did).
    let mut runs: Vec<(String, usize, Option<Ending>)> = Vec::new();
    for (i, r) in records.iter().enumerate() {
        match r {
            Record::Begin {
                run, cluster_arn, ..
            } if Some(cluster_arn) == last_cluster.as_ref() => runs.push((run.clone(), i, None)),
            Record::End { run, ending } => {
                if let Some(x) = runs.iter_mut().rev().find(|x| x.0 == *run) {
                    x.2 = Some(*ending);
                }
            }
            _ => {}
        }
    }
    let Some(last) = runs.last() else {
        return Err(JournalError::Empty {
            path: path.display().to_string(),
        });
    };
    let last_begin = records[last.1].clone();
    // Walk back over runs the migration resumed.
    let mut first = runs.len() - 1;
    while first > 0 && matches!(runs[first - 1].2, None | Some(Ending::Failed)) {
        first -= 1;
    }
    let ids: Vec<&String> = runs[first..].iter().map(|r| &r.0).collect();
    let mut changes: Vec<Recorded> = Vec::new();
    for r in records {
        if let Record::Intent { run, step, change } = r {
            if ids.contains(&run) {
                changes.push(Recorded {
                    run: run.clone(),
                    step: *step,
                    change: change.clone(),
                    outcome: None,
                    undone: false,
                });
            }
            continue;
        }
        let (run, step) = match r {
            Record::Done { run, step, .. }
            | Record::Failed { run, step, .. }
            | Record::Undone { run, step, .. } => (run, *step),
            _ => continue,
        };
        let Some(c) = changes
            .iter_mut()
            .rev()
            .find(|c| c.run == *run && c.step == step)
        else {
            continue;
        };
        match r {
            Record::Done { outcome, .. } => c.outcome = Some(Ok(*outcome)),
            Record::Failed { error, .. } => c.outcome = Some(Err(error.clone())),
            _ => c.undone = true,
        }
    }
    Ok(Migration {
        last_begin,
        changes,
    })
}

/// The default journal of a cluster:
/// `$XDG_STATE_HOME/migrate-auth/ACCOUNT/REGION/CLUSTER.journal`
/// (`~/.local/state` when XDG_STATE_HOME is unset).
pub fn default_path(account: &str, region: &str, cluster: &str) -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("migrate-auth")
        .join(account)
        .join(region)
        .join(format!("{cluster}.journal"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cluster::AuthMode;

    fn begin(run: &str) -> Record {
        Record::Begin {
            run: run.into(),
            cluster: "prod".into(),
            cluster_arn: "arn:aws:eks:us-east-1:111122223333:cluster/prod".into(),
            region: "us-east-1".into(),
            caller: "arn:aws:iam::111122223333:role/admin".into(),
            at: 0,
            steps: 2,
        }
    }

    fn intent(run: &str, step: usize) -> Record {
        Record::Intent {
            run: run.into(),
            step,
            change: Step::SwitchMode {
                from: AuthMode::ConfigMap,
                to: AuthMode::ApiAndConfigMap,
            },
        }
    }

    fn done(run: &str, step: usize) -> Record {
        Record::Done {
            run: run.into(),
            step,
            outcome: Outcome::Made,
        }
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("migrate-auth-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        let _ = std::fs::remove_file(&p);
        p
    }

    #[test]
    fn the_latest_migration_takes_in_the_runs_it_resumed() {
        let records = vec![
            // An old migration, finished.
            begin("a"),
            intent("a", 0),
            done("a", 0),
            Record::End {
                run: "a".into(),
                ending: Ending::Applied,
            },
            // Killed after its first change (no `done` for step 1).
            begin("b"),
            intent("b", 0),
            done("b", 0),
            intent("b", 1),
            // The run that resumed it.
            begin("c"),
            intent("c", 0),
            Record::Failed {
                run: "c".into(),
                step: 0,
                error: "refused".into(),
            },
        ];
        let m = latest(Path::new("j"), &records).unwrap();
        assert_eq!(m.last_begin, begin("c"));
        let seen: Vec<(&str, usize, Option<bool>)> = m
            .changes
            .iter()
            .map(|c| {
                (
                    c.run.as_str(),
                    c.step,
                    c.outcome.as_ref().map(|o| o.is_ok()),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [("b", 0, Some(true)), ("b", 1, None), ("c", 0, Some(false))]
        );
    }

    #[test]
    fn a_rolled_back_run_ends_its_migration() {
        let records = vec![
            begin("a"),
            intent("a", 0),
            done("a", 0),
            Record::UndoIntent {
                run: "a".into(),
                step: 0,
            },
            Record::Undone {
                run: "a".into(),
                step: 0,
                result: Undone::Restored,
            },
            Record::End {
                run: "a".into(),
                ending: Ending::RolledBack,
            },
            begin("b"),
        ];
        let m = latest(Path::new("j"), &records).unwrap();
        assert!(m.changes.is_empty());
        let only_a = latest(Path::new("j"), &records[..6]).unwrap();
        assert!(only_a.changes[0].undone);
        assert!(matches!(
            latest(Path::new("j"), &[]),
            Err(JournalError::Empty { .. })
        ));
    }

    #[test]
    fn writes_are_private_and_a_torn_last_line_is_ignored() {
        let path = temp("torn.journal");
        let mut j = Journal::open(&path).unwrap();
        j.append(&begin("a")).unwrap();
        j.append(&intent("a", 0)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // The process died while writing the next line.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"{\"record\":\"done\",\"run\":\"a\",\"st")
            .unwrap();
        let records = read(&path).unwrap();
        assert_eq!(records, [begin("a"), intent("a", 0)]);
    }

    #[test]
    fn reopening_cuts_off_a_torn_line_so_the_next_record_reads() {
        let path = temp("reopen.journal");
        std::fs::write(
            &path,
            format!(
                "{}\n{{\"record\":\"do",
                serde_json::to_string(&begin("a")).unwrap()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut j = Journal::open(&path).unwrap();
        j.append(&intent("a", 0)).unwrap();
        assert_eq!(read(&path).unwrap(), [begin("a"), intent("a", 0)]);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "an existing journal is made private");
    }

    #[test]
    fn one_process_at_a_time_holds_a_journal() {
        let path = temp("busy.journal");
        let first = Journal::open(&path).unwrap();
        assert!(matches!(
            Journal::open(&path),
            Err(JournalError::Busy { .. })
        ));
        drop(first);
        Journal::open(&path).unwrap();
    }

    #[test]
    fn a_bad_line_in_the_middle_is_named() {
        let path = temp("bad.journal");
        std::fs::write(
            &path,
            format!(
                "{}\nnot json\n{}\n",
                serde_json::to_string(&begin("a")).unwrap(),
                serde_json::to_string(&intent("a", 0)).unwrap()
            ),
        )
        .unwrap();
        let e = read(&path).unwrap_err();
        assert!(e.to_string().contains("bad.journal:2"), "{e}");
    }
}
