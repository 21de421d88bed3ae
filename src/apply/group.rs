//! Group commit: the journal as a run's concurrent lanes share it. Each
//! record is written at once and is synced to disk (fsync) before its
//! [`Group::append`] returns, as with [`Journal::append`]: nothing a record
//! announces is made before the record is on disk. Records written while a
//! sync is under way are covered by the next one, so the lanes share syncs
//! instead of taking turns at the journal one sync each.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Mutex;

use super::journal::{Journal, JournalError, Record};
use super::lanes::locked;

/// A journal shared by concurrent lanes.
pub struct Group<'a> {
    state: Mutex<State<'a>>,
    /// The journal's file, to sync outside the lock.
    file: File,
    path: PathBuf,
    /// Told when a sync ends.
    synced: tokio::sync::Notify,
}

struct State<'a> {
    journal: &'a mut Journal,
    /// How many records were written, and how many of those are on disk.
    written: u64,
    on_disk: u64,
    /// A sync is under way.
    syncing: bool,
    /// Why a sync failed: every record not yet on disk fails with it, and
    /// so does every later one (the run then stops).
    failed: Option<(std::io::ErrorKind, String)>,
    /// How many syncs were made.
    syncs: u64,
}

impl<'a> Group<'a> {
    /// Shares `journal`.
    ///
    /// # Errors
    /// [`JournalError::Io`] when its file cannot be opened again for syncing.
    pub fn new(journal: &'a mut Journal) -> Result<Group<'a>, JournalError> {
        let (file, path) = journal.file_to_sync()?;
        Ok(Group {
            state: Mutex::new(State {
                journal,
                written: 0,
                on_disk: 0,
                syncing: false,
                failed: None,
                syncs: 0,
            }),
            file,
            path,
            synced: tokio::sync::Notify::new(),
        })
    }

    /// The journal, once no lane shares it any more.
    pub fn into_inner(self) -> &'a mut Journal {
        self.state
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .journal
    }

    /// Appends `record`, runs `then` right after writing it (under the same
    /// lock as the write: what `then` records follows the journal's order),
    /// and returns once the record is on disk.
    ///
    /// # Errors
    /// As [`Journal::append`]; a sync that failed fails every record it was
    /// to cover, and every later one. `then` runs only when the record was
    /// written.
    pub async fn append_then(
        &self,
        record: &Record,
        then: impl FnOnce(),
    ) -> Result<(), JournalError> {
        let mine = {
            let mut st = locked(&self.state);
            if let Some(failed) = &st.failed {
                return Err(self.error(failed));
            }
            // A write that failed may have left part of a line: as for a
            // failed sync, every later record fails too.
            if let Err(e) = st.journal.write(record) {
                st.failed = Some(match &e {
                    JournalError::Io { source, .. } => (source.kind(), source.to_string()),
                    other => (std::io::ErrorKind::Other, other.to_string()),
                });
                return Err(e);
            }
            then();
            st.written += 1;
            st.written
        };
        // Lets the other lanes write theirs first, so that one sync covers
        // them all (the sync below blocks the task the lanes share). A lane
        // dropped here has written a record whose change it never makes.
        tokio::task::yield_now().await;
        self.on_disk(mine).await
    }

    /// [`Group::append_then`] with nothing to run.
    ///
    /// # Errors
    /// As [`Group::append_then`].
    pub async fn append(&self, record: &Record) -> Result<(), JournalError> {
        self.append_then(record, || {}).await
    }

    /// Returns once record number `mine` is on disk: a sync that started
    /// after it was written has ended. Starts that sync when none is under
    /// way; otherwise waits for the one under way and looks again.
    async fn on_disk(&self, mine: u64) -> Result<(), JournalError> {
        loop {
            // Made before looking, so that the end of a sync is not missed.
            let ended = self.synced.notified();
            let upto = {
                let mut st = locked(&self.state);
                if st.on_disk >= mine {
                    return Ok(());
                }
                if let Some(failed) = &st.failed {
                    return Err(self.error(failed));
                }
                if st.syncing {
                    None
                } else {
                    st.syncing = true;
                    Some(st.written)
                }
            };
            let Some(upto) = upto else {
                ended.await;
                continue;
            };
            // Every record up to `upto` was written before this sync starts.
            // No await until `syncing` is reset: a dropped lane cannot leave
            // it set.
            let result = self.file.sync_data();
            {
                let mut st = locked(&self.state);
                st.syncing = false;
                st.syncs += 1;
                match result {
                    Ok(()) => st.on_disk = st.on_disk.max(upto),
                    Err(e) => st.failed = Some((e.kind(), e.to_string())),
                }
            }
            self.synced.notify_waiters();
        }
    }

    fn error(&self, (kind, message): &(std::io::ErrorKind, String)) -> JournalError {
        JournalError::Io {
            path: self.path.display().to_string(),
            source: std::io::Error::new(*kind, message.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::journal::{read, Ending};

    /// Lanes appending at once: every record is in the file, whole and in
    /// the order the writes (and `then`) saw.
    #[test]
    fn concurrent_appends_are_all_on_disk_in_write_order() {
        let dir = std::env::temp_dir().join(format!("group-{}", std::process::id()));
        let path = dir.join("journal");
        let mut journal = Journal::open(&path).unwrap();
        let order = Mutex::new(Vec::new());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let group = Group::new(&mut journal).unwrap();
        rt.block_on(futures::future::try_join_all((0..64).map(|i| {
            let (group, order) = (&group, &order);
            async move {
                let record = Record::End {
                    run: format!("run-{i}"),
                    ending: Ending::Applied,
                };
                group
                    .append_then(&record, || locked(order).push(format!("run-{i}")))
                    .await
            }
        })))
        .unwrap();
        // They shared syncs: far fewer than one each.
        let syncs = locked(&group.state).syncs;
        assert!((1..=8).contains(&syncs), "{syncs} syncs for 64 appends");
        let journal = group.into_inner();
        journal
            .append(&Record::End {
                run: "last".into(),
                ending: Ending::Failed,
            })
            .unwrap();
        let runs: Vec<String> = read(&path)
            .unwrap()
            .into_iter()
            .map(|r| match r {
                Record::End { run, .. } => run,
                other => panic!("{other:?}"),
            })
            .collect();
        let mut expected = order.into_inner().unwrap();
        expected.push("last".into());
        assert_eq!(runs, expected);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
