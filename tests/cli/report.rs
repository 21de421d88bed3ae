//! How `apply` and `rollback` report, against the emulators: the JSON result
//! (`--output json`, schemaVersion 1) for every way a run ends, and progress
//! as it happens: timestamped lines in a log, a bar on a terminal, nothing
//! with `--quiet`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use emulator::Faults;
use serde_json::Value;

use crate::apply::{api_world, kube, on_a_terminal_as, MAP_ROLES};
use crate::live::{start, world, ACCT};

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON document: {e}\n{stdout}"))
}

/// The fates of the document's `list` (`changes` or `undo`), in order.
fn fates(doc: &Value, list: &str) -> Vec<String> {
    doc[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["fate"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn apply_json_is_one_document_with_each_change_its_fate_and_timing() {
    let live = start(api_world(), kube(MAP_ROLES));
    let r = live.apply(&["-o", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let doc = json(&r.stdout);
    assert_eq!(doc["schemaVersion"], 1);
    assert_eq!(doc["command"], "apply");
    assert_eq!(doc["result"], "done");
    assert_eq!(doc["exitCode"], 0);
    assert!(
        doc["runId"].as_str().is_some_and(|id| !id.is_empty()),
        "{doc}"
    );
    assert_eq!(doc["cluster"]["name"], "prod");
    assert_eq!(doc["cluster"]["region"], "us-east-1");
    assert_eq!(doc["journal"], live.journal().to_str().unwrap());
    assert_eq!(doc["finalMode"], "API_AND_CONFIG_MAP");
    assert_eq!(doc["error"], Value::Null);
    // The same counting rule as the diff's summary, now on stderr.
    assert!(
        r.stderr
            .contains("Apply: 2 to add, 1 to change, 0 to destroy."),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("Apply complete: 2 added, 1 changed, 0 destroyed."),
        "{}",
        r.stderr
    );
    assert_eq!(doc["counts"]["added"], 2);
    assert_eq!(doc["counts"]["changed"], 1);
    assert_eq!(doc["counts"]["destroyed"], 0);
    let changes = doc["changes"].as_array().unwrap();
    assert!(!changes.is_empty());
    for c in changes {
        assert!(
            matches!(c["fate"].as_str(), Some("made" | "alreadySo")),
            "{c}"
        );
        assert!(c["seconds"].as_f64().is_some_and(|s| s >= 0.0), "{c}");
        assert!(c["description"].as_str().is_some(), "{c}");
        assert!(c["change"].is_object(), "{c}");
    }
    assert!(fates(&doc, "undo").is_empty());
    assert_eq!(doc["leftInPlace"], serde_json::json!([]));
}

#[test]
fn apply_json_after_a_failure_says_what_was_undone_or_left() {
    let live = start(api_world(), kube(MAP_ROLES));
    // The third write (the developer's update) is refused.
    live.aws.set_faults(Faults {
        reject_write: Some(3),
        ..Faults::default()
    });
    let r = live.apply(&["-o", "json", "--concurrency", "1"]);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    let doc = json(&r.stdout);
    assert_eq!(doc["result"], "rolledBack");
    assert_eq!(doc["exitCode"], 3);
    assert!(
        doc["error"].as_str().is_some_and(|e| e.contains("failed")),
        "{doc}"
    );
    let changes = fates(&doc, "changes");
    assert_eq!(
        changes.iter().filter(|f| *f == "failed").count(),
        1,
        "{changes:?}"
    );
    assert!(changes.contains(&"notMade".to_string()), "{changes:?}");
    assert_eq!(doc["counts"]["failed"], 1);
    // The admin's entry is deleted (its policy goes with it); the refused
    // update had nothing to undo.
    let mut undo = fates(&doc, "undo");
    undo.sort();
    assert_eq!(undo, ["nothingToUndo", "nothingToUndo", "undone"]);
    assert_eq!(doc["counts"]["undone"], 1);
    assert_eq!(doc["leftInPlace"], serde_json::json!([]));

    // With --no-rollback what was made is left, and said to be.
    let live = start(api_world(), kube(MAP_ROLES));
    live.aws.set_faults(Faults {
        reject_write: Some(3),
        ..Faults::default()
    });
    let r = live.apply(&["-o", "json", "--concurrency", "1", "--no-rollback"]);
    assert_eq!(r.code, 4, "{}\n{}", r.stdout, r.stderr);
    let doc = json(&r.stdout);
    assert_eq!(doc["result"], "leftInPlace");
    let left = doc["leftInPlace"].as_array().unwrap();
    assert_eq!(left.len(), 2, "{doc}");
    assert!(left
        .iter()
        .all(|l| l["why"].as_str().unwrap().contains("--no-rollback")));
    assert_eq!(doc["counts"]["leftInPlace"], 2);
}

#[test]
fn apply_json_refused_before_any_change_still_answers_in_json() {
    let live = start(api_world(), kube(MAP_ROLES));
    // No --yes and no terminal: nothing is confirmed.
    let args = live.apply_args(&["--output", "json"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = live.run(&args);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let doc = json(&r.stdout);
    assert_eq!(doc["result"], "notChanged");
    assert_eq!(doc["exitCode"], 1);
    assert!(
        doc["error"].as_str().unwrap().contains("no terminal"),
        "{doc}"
    );
    assert!(fates(&doc, "changes").is_empty());
    assert_eq!(live.aws.writes(), 0);
    // The diff went to stderr, with the error.
    assert!(r.stderr.contains("Apply: 2 to add"), "{}", r.stderr);
}

#[test]
fn rollback_json_lists_each_undo() {
    let live = start(api_world(), kube(MAP_ROLES));
    let r = live.apply(&[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let journal = live.journal();
    let rb = live.run(&[
        "rollback",
        "--yes",
        "--journal",
        journal.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(rb.code, 0, "{}\n{}", rb.stdout, rb.stderr);
    let doc = json(&rb.stdout);
    assert_eq!(doc["command"], "rollback");
    assert_eq!(doc["result"], "done");
    let undo = fates(&doc, "undo");
    assert!(!undo.is_empty());
    assert!(
        undo.iter().all(|f| f == "undone" || f == "nothingToUndo"),
        "{undo:?}"
    );
    assert_eq!(
        doc["counts"]["undone"].as_u64().unwrap() as usize,
        undo.iter().filter(|f| *f == "undone").count()
    );
    assert!(rb.stderr.contains("Rollback complete"), "{}", rb.stderr);
    // Nothing left to undo: still one document.
    let again = live.run(&[
        "rollback",
        "--yes",
        "--journal",
        journal.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(json(&again.stdout)["result"], "nothingToDo");
}

/// `2026-12-07T00:41:38Z` at the start of a line.
fn timestamped(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 21
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[10] == b'T'
        && b[19] == b'Z'
        && b[20] == b' '
}

#[test]
fn in_a_log_each_change_is_a_timestamped_line_and_quiet_says_nothing() {
    let live = start(api_world(), kube(MAP_ROLES));
    let r = live.apply(&[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let done: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("  done: "))
        .collect();
    assert_eq!(done.len(), 3 + 1, "3 entries and a policy:\n{}", r.stderr);
    assert!(done.iter().all(|l| timestamped(l)), "{}", r.stderr);
    // Said as they happened: not again on stdout, which has the summary.
    assert!(!r.stdout.contains("done: "), "{}", r.stdout);
    assert!(r.stdout.contains("Apply complete"), "{}", r.stdout);

    let live = start(api_world(), kube(MAP_ROLES));
    let r = live.apply(&["--quiet"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("done: "), "{}", r.stderr);
    assert!(r.stdout.contains("Apply complete: 2 added"), "{}", r.stdout);
}

#[test]
fn a_long_mode_update_says_it_is_still_waiting_while_it_waits() {
    let mut w = world("CONFIG_MAP");
    w.add_user(&format!("arn:aws:iam::{ACCT}:user/alice"));
    // 12 polls a second apart: the update lasts about 12 s.
    w.clusters.get_mut("prod").unwrap().update_polls = 12;
    let live = start(w, kube(MAP_ROLES));
    let mut args = live.apply_args(&["--yes"]);
    args.retain(|a| a != "20ms");
    let at = args.iter().position(|a| a == "--poll-interval").unwrap();
    args.insert(at + 1, "1s".into());
    let env = live.env(&[]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_migrate-auth"))
        .args(&args)
        .envs(env)
        .current_dir(&live.home)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut waiting_while_running = false;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.contains("Still waiting for the mode update to API_AND_CONFIG_MAP") {
            // It says so while it waits, not at the end.
            waiting_while_running = child.try_wait().unwrap().is_none();
            assert!(line.contains("s elapsed]"), "{line}");
            assert!(timestamped(&line), "{line}");
        }
        seen.push(line);
        assert!(started.elapsed() < Duration::from_secs(120), "hung");
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "{}", seen.join("\n"));
    assert!(waiting_while_running, "{}", seen.join("\n"));
    let started_line = seen
        .iter()
        .position(|l| l.contains("started: switch authentication mode"))
        .expect("the switch is said when it starts");
    let done_line = seen
        .iter()
        .position(|l| l.contains("done: switch authentication mode"))
        .expect("and when it is done");
    assert!(started_line < done_line);
}

#[test]
fn on_a_terminal_a_bar_shows_the_run_and_each_change_is_printed_above_it() {
    let live = start(api_world(), kube(MAP_ROLES));
    let args = live.apply_args(&[]);
    let (code, screen) = on_a_terminal_as(&live, &args, "y", "xterm");
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("Applying"), "{screen}");
    assert!(
        screen.contains("done: create STANDARD access entry"),
        "{screen}"
    );
    assert!(
        screen.contains("Apply complete: 2 added, 1 changed"),
        "{screen}"
    );
    // No timestamps on a terminal: the bar shows the time.
    assert!(!screen.lines().any(timestamped), "{screen}");
}

#[test]
fn a_journal_that_cannot_be_written_is_reported_with_what_was_made() {
    let live = start(api_world(), kube(MAP_ROLES));
    let args = live.apply_args(&["--yes", "-o", "json", "--concurrency", "1"]);
    // Files may not grow past 1 KiB: the journal fails after a few changes.
    let out = Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 2; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_migrate-auth"))
        .args(&args)
        .envs(live.env(&[]))
        .current_dir(&live.home)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(4), "{stdout}\n{stderr}");
    let doc = json(&stdout);
    assert_eq!(doc["result"], "leftInPlace");
    let made: Vec<&Value> = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["fate"] == "made")
        .collect();
    assert!(
        !made.is_empty(),
        "stderr says changes were made:\n{stderr}\n{doc}"
    );
    let left = doc["leftInPlace"].as_array().unwrap();
    assert_eq!(left.len(), made.len(), "{doc}");
    assert!(
        left.iter().all(|l| l["why"]
            .as_str()
            .unwrap()
            .contains("journal could not be written")),
        "{doc}"
    );
    assert_eq!(doc["counts"]["leftInPlace"], left.len());
}

#[test]
fn interrupted_twice_with_json_still_writes_the_result() {
    let mut w = world("CONFIG_MAP");
    w.add_user(&format!("arn:aws:iam::{ACCT}:user/alice"));
    w.clusters.get_mut("prod").unwrap().update_polls = 60;
    let live = start(w, kube(MAP_ROLES));
    let mut args = live.apply_args(&["--yes", "-o", "json"]);
    args.retain(|a| a != "20ms");
    let at = args.iter().position(|a| a == "--poll-interval").unwrap();
    args.insert(at + 1, "1s".into());
    let mut child = Command::new(env!("CARGO_BIN_EXE_migrate-auth"))
        .args(&args)
        .envs(live.env(&[]))
        .current_dir(&live.home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let started = Instant::now();
    for line in stderr.lines() {
        if line
            .unwrap()
            .contains("started: switch authentication mode")
        {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no switch");
    }
    let pid = child.id() as libc::pid_t;
    // SAFETY: signals to our own child.
    unsafe { libc::kill(pid, libc::SIGINT) };
    std::thread::sleep(Duration::from_millis(300));
    unsafe { libc::kill(pid, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let doc = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(doc["result"], "interrupted");
    assert_eq!(doc["exitCode"], 130);
    assert_eq!(doc["journal"], live.journal().to_str().unwrap());
    assert!(
        doc["runId"].as_str().is_some_and(|r| !r.is_empty()),
        "{doc}"
    );
}
