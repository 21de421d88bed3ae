//! The one integration-test binary: runs the built `migrate-auth` and checks
//! stdout, stderr and exit status together.
//!
//! - `golden`: every case in `testdata/cases/` against its reviewed expected
//!   outputs and its hand-written `expect` file (`UPDATE_GOLDEN=1` rewrites the
//!   expected outputs; review the diff before committing);
//! - `behaviour`: exit codes, stdin, renderers, colour, bad input;
//! - `fuzz`: the reader never panics or hangs on mutated input;
//! - `live`: `plan --cluster` and `snapshot` against the emulators;
//! - `apply`: `apply` and `rollback` against the emulators: faults, crashes,
//!   stale plans, the lockout guard, prompts;
//! - `report`: how `apply` and `rollback` report: the JSON result, progress;
//! - `fleet`: `fleet` over clusters in several accounts and regions;
//! - `examples`: the pull-request recipes in `examples/` (shell and GitHub
//!   Actions), run against testdata cases;
//! - `export`: the Terraform export, parsed with an HCL2 parser and compared
//!   with the plan.

mod apply;
mod behaviour;
mod cleanup;
mod examples;
mod export;
mod fleet;
mod fuzz;
mod golden;
mod grouped;
mod live;
mod markdown;
mod real_eks;
mod report;
mod safety;
mod terraform;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What a run of the binary produced.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// The repository's `testdata/`.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// Runs the binary in `dir` with `args`, feeding `stdin`, with colour left to
/// the environment given.
pub fn run_in(dir: &Path, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_migrate-auth"));
    cmd.current_dir(dir)
        .args(args)
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the binary starts");
    {
        let mut input = child.stdin.take().expect("stdin is piped");
        // The program may exit before reading everything; that is not our failure.
        let _ = input.write_all(stdin);
    }
    let out = child.wait_with_output().expect("the binary finishes");
    Run {
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        code: out.status.code().expect("exited, not killed"),
    }
}

/// A directory of one test's own: named by this process and a counter, never
/// by a port (the system hands a port out again once its server is gone, and
/// a home named by it once held another test's journal). Created empty and
/// removed when dropped.
pub(crate) struct Scratch(PathBuf);

impl Scratch {
    pub(crate) fn new(label: &str) -> Scratch {
        static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("migrate-auth-{label}-{}-{n}", std::process::id()));
        // Left by an earlier process of the same id.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn scratch_directories_are_each_new_and_empty_and_go_away() {
    let (one, two) = (Scratch::new("scratch"), Scratch::new("scratch"));
    assert_ne!(one.to_path_buf(), two.to_path_buf());
    std::fs::write(one.join("journal"), "left over").unwrap();
    let path = one.to_path_buf();
    drop(one);
    assert!(!path.exists(), "{} was left", path.display());
    assert_eq!(std::fs::read_dir(&*two).unwrap().count(), 0);
}

/// Runs the binary in `testdata/` with no stdin.
pub fn run(args: &[&str]) -> Run {
    run_in(&testdata(), args, b"", &[])
}

/// A fresh pseudo-terminal: (master, slave).
pub fn openpty() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty fills two descriptors we then own.
    let ok = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(ok, 0, "openpty");
    // SAFETY: both descriptors are fresh and owned here.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// Runs the binary in `dir` with stdout on a pseudo-terminal (stdin empty,
/// stderr piped) and returns what the terminal showed, with `\r\n` made `\n`,
/// and the exit code.
pub fn run_on_a_terminal(dir: &Path, args: &[&str]) -> (i32, String) {
    use std::io::Read as _;
    let (master, slave) = openpty();
    let mut child = Command::new(env!("CARGO_BIN_EXE_migrate-auth"))
        .current_dir(dir)
        .args(args)
        .env_remove("NO_COLOR")
        .env("TERM", "dumb")
        .stdin(Stdio::null())
        .stdout(Stdio::from(slave))
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut reader = std::fs::File::from(master);
    let screen = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        // EIO once the child closed its side.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&all).replace("\r\n", "\n")
    });
    let status = child.wait().expect("the binary finishes");
    (status.code().expect("exited"), screen.join().unwrap())
}

/// `doc` as a plan file with its checksum recomputed (SHA-256 of the
/// compact JSON without it, keys sorted): the checksum is unkeyed.
pub(crate) fn with_checksum(mut doc: serde_json::Value) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    doc.as_object_mut().unwrap().remove("checksum");
    let sum = Sha256::digest(serde_json::to_vec(&doc).unwrap());
    doc["checksum"] = sum
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        .into();
    serde_json::to_vec_pretty(&doc).unwrap()
}
