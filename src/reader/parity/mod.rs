//! The differential test of the reader against aws-iam-authenticator's own
//! decode path (test-only).
//!
//! It owns the run: generate cases from a seed ([`generate`]), ask the Go
//! oracle in `tools/authenticator-oracle` how the authenticator reads each
//! ([`oracle`]), read each with [`read_data`](crate::reader::read_data),
//! put that reading in the oracle's shape and compare ([`project`]), and
//! report every divergence ([`report`]). Cases whose reading in Go depends on
//! map order are skipped and counted.
//!
//! `MIGRATE_AUTH_PARITY_CASES` sets the number of cases, `MIGRATE_AUTH_PARITY_SEED`
//! the seed (decimal or `0x` hex); `MIGRATE_AUTH_ORACLE` a prebuilt oracle.
//! `MIGRATE_AUTH_PARITY_REPLAY` (with `--ignored`) replays a directory of
//! divergences, or a file of `{"data": {...}}` lines, instead.

mod facts;
mod generate;
mod mutate;
mod oracle;
mod project;
mod report;
mod shapes;
mod structured;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

use generate::Case;
use oracle::{Oracle, Reading};
use report::{Divergence, Tally};

/// The seed when none is given.
const DEFAULT_SEED: u64 = 0x6177_732d_6175_7468;
/// Cases per round trip to the oracle.
const BATCH: usize = 2_000;

/// A number from the environment, decimal or `0x` hex.
fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let text = text.trim().replace('_', "");
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    Some(parsed.unwrap_or_else(|e| panic!("{name}={text} is not a number: {e}")))
}

/// Where a run's diverging cases go: under the target directory.
fn divergence_dir(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    let profile = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    profile.join("parity-divergences").join(name)
}

/// The oracle's input line for a case.
fn input_line(case: &Case) -> String {
    let data: serde_json::Map<String, serde_json::Value> = case
        .data
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::json!({ "data": data }).to_string()
}

/// The tool's reading of a case, what its standings get wrong, and its findings.
fn tool_reading(case: &Case) -> (Reading, Vec<String>, Vec<String>) {
    let present: Vec<&str> = case.data.iter().map(|(k, _)| k.as_str()).collect();
    let data = case.data.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    match catch_unwind(AssertUnwindSafe(|| {
        crate::reader::read_data("parity", data, None)
    })) {
        Ok(auth) => {
            let (reading, problems) = project::project(&auth, &present);
            let findings = auth
                .findings
                .iter()
                .map(|f| format!("{}: {}", f.code, f.message))
                .collect();
            (reading, problems, findings)
        }
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let problem = format!("panic: the tool panicked: {why}");
            (Reading::default(), vec![problem], Vec::new())
        }
    }
}

/// Runs `default_cases` generated cases (or the environment's number) and
/// fails with a summary if any diverges.
fn run(default_cases: u64) {
    let cases = env_number("MIGRATE_AUTH_PARITY_CASES").unwrap_or(default_cases);
    let seed = env_number("MIGRATE_AUTH_PARITY_SEED").unwrap_or(DEFAULT_SEED);
    let corpus = mutate::corpus();
    let generated = (0..cases).map(|i| (i, generate::case(seed, i, &corpus)));
    let again = format!("MIGRATE_AUTH_PARITY_SEED={seed} MIGRATE_AUTH_PARITY_CASES={cases}");
    let dir = divergence_dir(&format!("seed-{seed:x}-cases-{cases}"));
    compare(generated, Tally::new(seed, dir, again));
}

/// Compares the tool with the oracle on `cases`, a batch at a time.
fn compare(cases: impl Iterator<Item = (u64, Case)>, mut tally: Tally) {
    let mut oracle = Oracle::start();
    let mut cases = cases.peekable();
    while cases.peek().is_some() {
        let batch: Vec<(u64, Case)> = cases.by_ref().take(BATCH).collect();
        let lines: Vec<String> = batch.iter().map(|(_, c)| input_line(c)).collect();
        let started = Instant::now();
        let answers = oracle.ask(&lines);
        tally.oracle_time += started.elapsed();
        for ((index, case), authenticator) in batch.iter().zip(&answers) {
            check(&mut tally, *index, case, authenticator);
        }
    }
    eprintln!("parity: {}", tally.timings());
    if let Some(summary) = tally.summary() {
        panic!("{summary}");
    }
}

/// Reads one case with the tool and records whether it agrees.
fn check(tally: &mut Tally, index: u64, case: &Case, authenticator: &Reading) {
    tally.count(&case.class);
    if authenticator.panic.is_some() {
        tally.oracle_panics += 1;
    }
    if authenticator.nondeterministic {
        tally.nondeterministic += 1;
        return;
    }
    let started = Instant::now();
    let (tool, problems, tool_findings) = tool_reading(case);
    tally.tool_time += started.elapsed();
    let mut differences = project::differences(authenticator, &tool);
    differences.extend(problems);
    if !differences.is_empty() {
        tally.diverged(&Divergence {
            index,
            case,
            authenticator,
            tool: &tool,
            tool_findings,
            differences,
        });
    }
}

/// The cases of `path`: a directory of divergence files (as this test writes
/// them), or a file of JSON lines `{"data": {...}}` (with an optional `class`).
fn replay_cases(path: &Path) -> Vec<(u64, Case)> {
    let docs: Vec<serde_json::Value> = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", path.display()))
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        let read = |p: &PathBuf| std::fs::read_to_string(p).expect("a readable divergence file");
        files
            .iter()
            .map(|p| serde_json::from_str(&read(p)).expect("JSON"))
            .collect()
    } else {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let lines = text.lines().filter(|l| !l.trim().is_empty());
        lines
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    };
    docs.iter()
        .enumerate()
        .map(|(i, doc)| {
            let data = doc.get("input").unwrap_or(doc)["data"].as_object().cloned();
            let data = data.unwrap_or_default().into_iter();
            let data = data.map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()));
            let class = doc["class"].as_str().unwrap_or("replay").to_string();
            let index = doc["index"].as_u64().unwrap_or(i as u64);
            (
                index,
                Case {
                    class,
                    data: data.collect(),
                },
            )
        })
        .collect()
}

#[test]
fn reader_agrees_with_the_authenticator() {
    run(5_000);
}

#[test]
#[ignore = "the long run: cargo test --lib parity -- --ignored"]
fn reader_agrees_with_the_authenticator_long_run() {
    run(200_000);
}

#[test]
#[ignore = "replays the cases in MIGRATE_AUTH_PARITY_REPLAY (a divergence directory or a JSON-lines file)"]
fn reader_agrees_with_the_authenticator_on_replayed_cases() {
    let Some(path) = std::env::var_os("MIGRATE_AUTH_PARITY_REPLAY").map(PathBuf::from) else {
        eprintln!("MIGRATE_AUTH_PARITY_REPLAY is not set: nothing to replay");
        return;
    };
    let cases = replay_cases(&path);
    let again = format!("MIGRATE_AUTH_PARITY_REPLAY={}", path.display());
    compare(
        cases.into_iter(),
        Tally::new(0, divergence_dir("replay"), again),
    );
}

/// Every divergence the parity test has found (up to 25 per class, from the
/// runs that found them) stays fixed: testdata/parity/fixed.jsonl.
#[test]
fn past_divergences_stay_fixed() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/parity/fixed.jsonl");
    let cases = replay_cases(&path);
    assert!(cases.len() >= 400, "only {} past divergences", cases.len());
    let again = format!("MIGRATE_AUTH_PARITY_REPLAY={}", path.display());
    compare(
        cases.into_iter(),
        Tally::new(0, divergence_dir("past"), again),
    );
}

#[test]
fn go_lower_is_go_strings_to_lower() {
    assert_eq!(project::go_lower("ARN:\u{130}\u{3a3}"), "arn:i\u{3c3}");
}

/// Prints generated cases of a class, to look at what the generator makes:
/// `MIGRATE_AUTH_PARITY_SHOW=mutate-structure cargo test --lib parity::show -- --ignored --nocapture`.
#[test]
#[ignore = "prints generated cases of MIGRATE_AUTH_PARITY_SHOW (a class name)"]
fn show_generated_cases() {
    let Ok(class) = std::env::var("MIGRATE_AUTH_PARITY_SHOW") else {
        return;
    };
    let seed = env_number("MIGRATE_AUTH_PARITY_SEED").unwrap_or(DEFAULT_SEED);
    let corpus = mutate::corpus();
    let shown = (0..100_000)
        .map(|i| (i, generate::case(seed, i, &corpus)))
        .filter(|(_, c)| c.class == class)
        .take(20);
    for (i, case) in shown {
        println!("--- case {i}");
        for (key, value) in &case.data {
            println!("{key}: {}", report::readable(&format!("{value:?}")));
        }
    }
}

#[test]
fn cases_depend_only_on_seed_and_index() {
    let corpus = mutate::corpus();
    let a = generate::case(7, 42, &corpus);
    let b = generate::case(7, 42, &corpus);
    assert_eq!((a.class, a.data), (b.class, b.data));
}
