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
//!   stale plans, the lockout guard, prompts.

mod apply;
mod behaviour;
mod cleanup;
mod fuzz;
mod golden;
mod live;
mod real_eks;
mod safety;

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

/// Runs the binary in `testdata/` with no stdin.
pub fn run(args: &[&str]) -> Run {
    run_in(&testdata(), args, b"", &[])
}
