//! Golden tests: each folder of `testdata/cases/` is a realistic aws-auth with
//! the inputs named in its `args` file. The JSON, text and Markdown plans must
//! equal the reviewed `expected.json` / `expected.txt` / `expected.md` /
//! `expected.tf` / `expected.module.tf` / `expected.eksctl.yaml` /
//! `expected.cfn.json` (the exports), and the JSON must satisfy the `expect` file, written from docs/MAPPING.md
//! independently of the code.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::{run_in, testdata};

fn cases() -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = fs::read_dir(testdata().join("cases"))
        .expect("testdata/cases exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn args_of(dir: &Path) -> Vec<String> {
    let aws_auth = if dir.join("aws-auth.json").exists() {
        "aws-auth.json"
    } else {
        "aws-auth.yaml"
    };
    let mut args = vec![
        "plan".to_string(),
        "--aws-auth-file".into(),
        aws_auth.into(),
    ];
    let extra = fs::read_to_string(dir.join("args")).unwrap_or_default();
    args.extend(extra.split_whitespace().map(str::to_string));
    args
}

fn compare_or_update(path: &Path, actual: &str, failures: &mut Vec<String>) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(path, actual).unwrap();
        return;
    }
    match fs::read_to_string(path) {
        Ok(expected) if expected == actual => {}
        Ok(expected) => {
            let first = expected
                .lines()
                .zip(actual.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(expected.lines().count().min(actual.lines().count()));
            failures.push(format!(
                "{} differs from the output at line {}:\n  expected: {:?}\n  actual:   {:?}",
                path.display(),
                first + 1,
                expected.lines().nth(first).unwrap_or("<end>"),
                actual.lines().nth(first).unwrap_or("<end>")
            ));
        }
        Err(_) => failures.push(format!(
            "{} is missing (run with UPDATE_GOLDEN=1)",
            path.display()
        )),
    }
}

/// The golden case `dir` (its plan `args`) exported in every format, error
/// principals left out, compared with its reviewed files.
fn exports(dir: &Path, args: &[String], failures: &mut Vec<String>) {
    for (format, golden) in [
        ("terraform", "expected.tf"),
        ("terraform-module", "expected.module.tf"),
        ("eksctl", "expected.eksctl.yaml"),
        ("cloudformation", "expected.cfn.json"),
    ] {
        let mut export: Vec<&str> = args.iter().map(String::as_str).collect();
        export[0] = "export";
        export.extend([
            "--format",
            format,
            "--allow-errors",
            "--cluster-name",
            "golden",
        ]);
        let r = run_in(dir, &export, b"", &[]);
        assert_eq!(r.code, 0, "{} {format}: {}", dir.display(), r.stderr);
        compare_or_update(&dir.join(golden), &r.stdout, failures);
    }
}

#[test]
fn every_case_matches_its_reviewed_outputs() {
    let cases = cases();
    assert!(
        cases.len() >= 15,
        "at least 15 golden cases, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for dir in &cases {
        let mut args = args_of(dir);
        let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
        let text = run_in(
            dir,
            &[&args_ref[..], &["--color", "never"]].concat(),
            b"",
            &[],
        );
        assert_eq!(text.code, 0, "{}: {}", dir.display(), text.stderr);
        assert_eq!(text.stderr, "", "{}", dir.display());
        compare_or_update(&dir.join("expected.txt"), &text.stdout, &mut failures);

        let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
        let md = run_in(
            dir,
            &[&args_ref[..], &["--output", "markdown"]].concat(),
            b"",
            &[],
        );
        assert_eq!(md.code, 0, "{}: {}", dir.display(), md.stderr);
        compare_or_update(&dir.join("expected.md"), &md.stdout, &mut failures);

        exports(dir, &args, &mut failures);

        args.extend(["--output".into(), "json".into()]);
        let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
        let json = run_in(dir, &args_ref, b"", &[]);
        assert_eq!(json.code, 0, "{}: {}", dir.display(), json.stderr);
        compare_or_update(&dir.join("expected.json"), &json.stdout, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Checks one line of an `expect` file against the JSON plan.
fn check_expectation(plan: &Value, line: &str) -> Result<(), String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let arr = |k: &str| plan[k].as_array().cloned().unwrap_or_default();
    let principal_is = |v: &Value, arn: &str| {
        v["principalArn"].as_str() == Some(arn) || v["principal"].as_str() == Some(arn)
    };
    match words.as_slice() {
        ["finding", severity, code, arn] => {
            let found = arr("findings").iter().any(|f| {
                f["severity"] == *severity
                    && f["code"] == *code
                    && (*arn == "-" || f["principalArn"].as_str() == Some(arn))
            });
            found.then_some(()).ok_or_else(|| "no such finding".into())
        }
        ["entry", arn, t] => {
            let found = arr("desired")
                .iter()
                .any(|e| e["principalArn"].as_str() == Some(arn) && e["type"] == *t);
            found
                .then_some(())
                .ok_or_else(|| "no such desired entry".into())
        }
        ["no-entry", arn] => {
            let found = arr("desired").iter().any(|e| {
                e["principalArn"]
                    .as_str()
                    .is_some_and(|p| p.eq_ignore_ascii_case(arn))
            });
            (!found)
                .then_some(())
                .ok_or_else(|| "an entry is planned".into())
        }
        ["action", action, arn] => {
            let found = arr("actions")
                .iter()
                .any(|a| a["action"] == *action && principal_is(a, arn));
            found.then_some(()).ok_or_else(|| "no such action".into())
        }
        _ => Err("unknown expectation form".into()),
    }
}

#[test]
fn every_case_meets_its_mapping_md_expectations() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for dir in cases() {
        let Ok(expect) = fs::read_to_string(dir.join("expect")) else {
            continue;
        };
        let mut args = args_of(&dir);
        args.extend(["--output".into(), "json".into()]);
        let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_in(&dir, &args_ref, b"", &[]);
        assert_eq!(out.code, 0, "{}: {}", dir.display(), out.stderr);
        let plan: Value = serde_json::from_str(&out.stdout).expect("JSON output");
        for line in expect
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            checked += 1;
            if let Err(why) = check_expectation(&plan, line) {
                failures.push(format!(
                    "{}: `{line}`: {why}",
                    dir.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    assert!(checked > 100, "only {checked} expectations checked");
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
