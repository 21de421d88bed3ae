//! Ctrl-C and SIGTERM during a run: the first sets the flag the run watches
//! (no new change starts; those under way finish and are journaled; then the
//! run's changes are undone as after a failure) and says so; a second within
//! five seconds leaves at once, saying where the journal is and how to go on.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::signal::unix::{signal, SignalKind};

use crate::model::untrusted::terminal;

/// Watches for SIGINT and SIGTERM on `rt` while a run of `what` (journaled
/// at `journal`) is under way, setting `flag`, which the run watches;
/// returns the watcher to abort once the run is over. `result`, if given,
/// is written on stdout before a second signal ends the process (the
/// `--output json` document of an interrupted run).
pub(crate) fn watch(
    rt: &tokio::runtime::Runtime,
    flag: &Arc<AtomicBool>,
    (what, journal): (&'static str, &Path),
    result: Option<String>,
) -> tokio::task::JoinHandle<()> {
    let set = flag.clone();
    let journal = terminal(&journal.display().to_string()).into_owned();
    // Installed now, before the run starts: a signal that came before the
    // task first ran would end the process the default way.
    let signals = {
        let _in = rt.enter();
        (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        )
    };
    let task = rt.spawn(async move {
        let (Ok(mut int), Ok(mut term)) = signals else {
            return;
        };
        let mut first: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            let mut err = std::io::stderr();
            match first {
                Some(at) if at.elapsed() < Duration::from_secs(5) => {
                    let _ = writeln!(err, "\nInterrupted again: leaving now, with changes possibly under way. The journal {journal} records them: `migrate-auth rollback --journal {journal}` undoes them, `migrate-auth apply` resumes.");
                    if let Some(doc) = &result {
                        let mut out = std::io::stdout();
                        let _ = out.write_all(doc.as_bytes());
                        let _ = out.flush();
                    }
                    std::process::exit(130);
                }
                _ => {
                    first = Some(Instant::now());
                    set.store(true, Ordering::SeqCst);
                    let _ = match what {
                        "fleet run" | "fleet rollback" => writeln!(err, "\nInterrupted: no new cluster starts; the clusters under way stop as one run does (the changes under way finish, then that cluster's changes are undone). Press Ctrl-C again within 5 s to leave at once (each cluster's journal in {journal} keeps track)."),
                        _ => writeln!(err, "\nInterrupted: no new change starts; the changes under way finish, then this {what}'s changes are undone. Press Ctrl-C again within 5 s to leave at once (the journal {journal} keeps track)."),
                    };
                }
            }
        }
    });
    task
}
