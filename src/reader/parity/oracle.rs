//! The authenticator oracle from the test's side: the shape both readings are
//! compared in ([`Reading`]), building `tools/authenticator-oracle` (Go, from
//! Debian's packages) once per test process, and feeding it cases.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The Debian packages the oracle builds from.
const GO_PACKAGES: [&str; 3] = [
    "golang-go",
    "golang-gopkg-yaml.v2-dev",
    "golang-k8s-sigs-yaml-dev",
];
/// Where Debian puts the Go sources of those packages.
const DEBIAN_GOPATH: &str = "/usr/share/gocode";
/// Set to a built oracle to skip building one.
const ORACLE_ENV: &str = "MIGRATE_AUTH_ORACLE";

/// An `sso` matcher as decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Sso {
    #[serde(rename = "permissionSetName")]
    pub permission_set_name: String,
    #[serde(rename = "accountID")]
    pub account_id: String,
    pub partition: String,
}

/// A live `mapRoles` mapping, under the key the authenticator files it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Role {
    pub key: String,
    pub rolearn: String,
    pub sso: Option<Sso>,
    pub username: String,
    pub groups: Vec<String>,
}

/// A live `mapUsers` mapping, under the key the authenticator files it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct User {
    pub key: String,
    pub userarn: String,
    pub username: String,
    pub groups: Vec<String>,
}

/// What a reader makes of one case, in the oracle's output shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Reading {
    /// `loaded`, `failed` or `skipped` for each of the three keys present.
    pub keys: BTreeMap<String, String>,
    pub roles: Vec<Role>,
    pub users: Vec<User>,
    pub accounts: Vec<String>,
    #[serde(default)]
    pub nondeterministic: bool,
    /// Oracle only: the errors ParseMap would log, per key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, String>,
    /// Oracle only: a recovered Go panic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panic: Option<String>,
}

/// The built oracle, once per test process.
pub(super) fn binary() -> &'static Path {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BUILT.get_or_init(build) {
        Ok(path) => path,
        Err(why) => panic!("{why}"),
    }
}

/// Builds the oracle next to the test binary unless it is built and newer
/// than its sources.
fn build() -> Result<PathBuf, String> {
    if let Some(given) = std::env::var_os(ORACLE_ENV) {
        return Ok(PathBuf::from(given));
    }
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/authenticator-oracle");
    let exe = std::env::current_exe().map_err(|e| format!("no test binary path: {e}"))?;
    let dir = exe
        .parent()
        .ok_or("the test binary has no directory")?
        .join("authenticator-oracle");
    let bin = dir.join("authenticator-oracle");
    if is_fresh(&bin, &source) {
        return Ok(bin);
    }
    ensure_go()?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let partial = dir.join(format!("authenticator-oracle.{}", std::process::id()));
    let out = Command::new("go")
        .args(["build", "-o"])
        .arg(&partial)
        .arg(".")
        .current_dir(&source)
        .env("GOPATH", DEBIAN_GOPATH)
        .env("GO111MODULE", "off")
        .env("GOFLAGS", "")
        .env("CGO_ENABLED", "0")
        .env("GOCACHE", dir.join("gocache"))
        .output()
        .map_err(|e| format!("cannot run go build: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "building the authenticator oracle failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    std::fs::rename(&partial, &bin).map_err(|e| format!("cannot move the oracle in place: {e}"))?;
    Ok(bin)
}

/// Whether `bin` exists and is newer than every file of `source`.
fn is_fresh(bin: &Path, source: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let Some(built) = modified(bin) else {
        return false;
    };
    let Ok(entries) = std::fs::read_dir(source) else {
        return true;
    };
    entries
        .flatten()
        .all(|e| modified(&e.path()).is_some_and(|m| m <= built))
}

/// Makes sure Go and the two YAML libraries are installed, installing the
/// Debian packages when possible (CI runs as root).
fn ensure_go() -> Result<(), String> {
    let present = || {
        let go = Command::new("go")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success());
        go && ["gopkg.in/yaml.v2", "sigs.k8s.io/yaml"]
            .iter()
            .all(|p| Path::new(DEBIAN_GOPATH).join("src").join(p).is_dir())
    };
    if present() {
        return Ok(());
    }
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-q"])
            .args(GO_PACKAGES)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !install() {
        let _ = Command::new("apt-get").args(["update", "-q"]).output();
        install();
    }
    if present() {
        return Ok(());
    }
    Err(format!(
        "the parity test needs Go and two Go YAML libraries to build tools/authenticator-oracle: \
         install the Debian packages `{}` (apt-get install -y {}), or set {ORACLE_ENV} to a built oracle",
        GO_PACKAGES.join(" "),
        GO_PACKAGES.join(" ")
    ))
}

/// A running oracle, answering batches of cases.
pub(super) struct Oracle {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Oracle {
    /// Starts the (built) oracle.
    pub(super) fn start() -> Oracle {
        let mut child = Command::new(binary())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the authenticator oracle: {e}"));
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Oracle {
            child,
            stdin,
            stdout,
        }
    }

    /// The oracle's readings of `lines` (one JSON case each), in order.
    pub(super) fn ask(&mut self, lines: &[String]) -> Vec<Reading> {
        let Oracle { stdin, stdout, .. } = self;
        std::thread::scope(|s| {
            s.spawn(move || {
                for line in lines {
                    stdin
                        .write_all(line.as_bytes())
                        .and_then(|()| stdin.write_all(b"\n"))
                        .expect("the oracle stopped reading");
                }
                stdin.flush().expect("the oracle stopped reading");
            });
            (0..lines.len()).map(|i| read_answer(stdout, i)).collect()
        })
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the oracle's answer to case `i` of a batch.
fn read_answer(stdout: &mut BufReader<ChildStdout>, i: usize) -> Reading {
    let mut line = String::new();
    let n = stdout
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("reading the oracle's answer {i}: {e}"));
    assert!(
        n > 0,
        "the oracle ended before answering case {i} of the batch"
    );
    serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("the oracle's answer {i} is not a reading ({e}): {line}"))
}
