//! Exit codes, stdin, renderers, colour and bad input, end to end.

use std::fs;

use crate::{run, run_in, testdata};

const CASE: &str = "cases/01-node-roles/aws-auth.yaml";
const EMPTY: &str = "cases/23-empty/aws-auth.yaml";

fn tmp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("migrate-auth-tests-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn plan_exits_0_and_prints_the_terraform_summary() {
    let r = run(&[
        "plan",
        "--aws-auth-file",
        CASE,
        "--account",
        "111122223333",
        "--partition",
        "aws",
    ]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert!(
        r.stdout
            .contains("Plan: 4 to add, 1 to change, 0 to destroy."),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("  + create\n"));
    assert!(
        !r.stdout.contains("  = adopt"),
        "the legend lists only the symbols used"
    );
    assert!(
        !r.stdout.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
}

#[test]
fn detailed_exitcode_is_2_with_changes_and_0_without() {
    let r = run(&["plan", "--aws-auth-file", CASE, "--detailed-exitcode"]);
    assert_eq!((r.code, r.stderr.as_str()), (2, ""));
    // Nothing to migrate, but a CONFIG_MAP cluster still takes the mode step.
    let r = run(&["plan", "--aws-auth-file", EMPTY, "--detailed-exitcode"]);
    assert_eq!((r.code, r.stderr.as_str()), (2, ""));
    assert!(
        r.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{}",
        r.stdout
    );
    let current = tmp(
        "api-and-config-map.json",
        br#"{"schemaVersion": 1, "cluster": {"name": "c", "arn": "arn:aws:eks:eu-west-1:111122223333:cluster/c", "authenticationMode": "API_AND_CONFIG_MAP"}}"#,
    );
    let r = run(&[
        "plan",
        "--aws-auth-file",
        EMPTY,
        "--current-file",
        current.to_str().unwrap(),
        "--detailed-exitcode",
    ]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert!(
        r.stdout
            .contains("No changes. aws-auth has nothing to migrate."),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("Plan:"));
}

#[test]
fn fail_on_turns_findings_into_exit_1_but_still_prints_the_plan() {
    let r = run(&[
        "plan",
        "--aws-auth-file",
        CASE,
        "--fail-on",
        "warning",
        "--detailed-exitcode",
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--fail-on"), "{}", r.stderr);
    assert!(r.stdout.contains("Plan:"));
    let r = run(&["plan", "--aws-auth-file", CASE, "--fail-on", "error"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (0, ""),
        "case 01 has warnings only"
    );
    let r = run(&[
        "plan",
        "--aws-auth-file",
        "cases/05-hybrid-ambiguous/aws-auth.yaml",
        "--fail-on",
        "error",
    ]);
    assert_eq!(r.code, 1);
}

/// `--findings` chooses the severities the text and Markdown plans list;
/// the summary still counts them all and says how many are not shown; the
/// JSON plan always lists every finding.
#[test]
fn findings_chooses_which_severities_are_listed() {
    let all = run(&["plan", "--aws-auth-file", CASE, "--color", "never"]);
    assert!(
        all.stdout.contains("info    current-state-assumed"),
        "{}",
        all.stdout
    );
    let some = run(&[
        "plan",
        "--aws-auth-file",
        CASE,
        "--color",
        "never",
        "--findings",
        "error,warning",
    ]);
    assert_eq!((some.code, some.stderr.as_str()), (0, ""));
    assert!(!some.stdout.contains("info    "), "{}", some.stdout);
    assert!(
        some.stdout.contains("warning path-unverified"),
        "{}",
        some.stdout
    );
    let summary = some.stdout.lines().last().unwrap();
    assert!(
        summary.ends_with("2 info (2 not shown; --findings error,warning,info lists them all)."),
        "{summary}"
    );
    let md = run(&[
        "plan",
        "--aws-auth-file",
        CASE,
        "-o",
        "markdown",
        "--findings",
        "error",
    ]);
    assert!(!md.stdout.contains("path-unverified"), "{}", md.stdout);
    let json = run(&[
        "plan",
        "--aws-auth-file",
        CASE,
        "-o",
        "json",
        "--findings",
        "error",
    ]);
    assert!(json.stdout.contains("current-state-assumed"));
    let bad = run(&["plan", "--aws-auth-file", CASE, "--findings", "loud"]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
}

#[test]
fn stdin_is_read_with_dash() {
    let bytes = fs::read(testdata().join(CASE)).unwrap();
    let r = run_in(
        &testdata(),
        &["plan", "--aws-auth-file", "-", "-o", "json"],
        &bytes,
        &[],
    );
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["awsAuthFile"], "<stdin>");
    assert_eq!(v["desired"].as_array().unwrap().len(), 4);
}

#[test]
fn empty_stdin_is_an_error_not_a_hang() {
    let r = run_in(&testdata(), &["plan", "--aws-auth-file", "-"], b"", &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.starts_with("error: <stdin>:1:"), "{}", r.stderr);
    assert_eq!(r.stdout, "");
}

#[test]
fn json_output_follows_the_documented_contract() {
    let r = run(&[
        "plan",
        "--aws-auth-file",
        "cases/22-current-diff/aws-auth.yaml",
        "--current-file",
        "cases/22-current-diff/current.json",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["schemaVersion"], 1);
    let d = &v["desired"][0];
    for key in [
        "principalArn",
        "type",
        "kubernetesGroups",
        "accessPolicies",
        "source",
    ] {
        assert!(d.get(key).is_some(), "desired lacks {key}: {d}");
    }
    let f = &v["findings"][0];
    for key in ["severity", "code", "message"] {
        assert!(f.get(key).is_some(), "finding lacks {key}: {f}");
    }
    let actions: Vec<&str> = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    for a in ["adopt", "update", "associate", "create", "none"] {
        assert!(actions.contains(&a), "no {a} in {actions:?}");
    }
    assert_eq!(v["summary"]["add"], 1);
    assert_eq!(v["currentState"]["source"], "file");
}

#[test]
fn markdown_is_a_pull_request_comment() {
    let r = run(&[
        "plan",
        "--aws-auth-file",
        "cases/05-hybrid-ambiguous/aws-auth.yaml",
        "--output",
        "markdown",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r
        .stdout
        .starts_with("### migrate-auth plan for `cases/05-hybrid-ambiguous/aws-auth.yaml`"));
    assert!(
        r.stdout
            .contains("<details><summary>none: 2 principals</summary>\n\n| Principal | Severity | Reason | Source |"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("| error | `ambiguous-node-role` |"),
        "{}",
        r.stdout
    );
}

#[test]
fn colour_is_on_when_asked_and_off_otherwise() {
    let r = run(&["plan", "--aws-auth-file", CASE, "--color", "always"]);
    assert!(r.stdout.contains("\x1b[32m+\x1b[0m"), "{}", r.stdout);
    let r = run_in(
        &testdata(),
        &["plan", "--aws-auth-file", CASE, "--color", "never"],
        b"",
        &[("NO_COLOR", "")],
    );
    assert!(!r.stdout.contains('\x1b'));
}

#[test]
fn usage_errors_exit_1_not_2() {
    let r = run(&["plan", "--aws-auth-file", CASE, "--no-such-flag"]);
    assert_eq!(r.code, 1, "2 means 'changes' with --detailed-exitcode");
    assert!(r.stderr.contains("--no-such-flag"));
    let r = run(&["plan", "--aws-auth-file", CASE, "--account", "abc"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("12-digit"), "{}", r.stderr);
    let r = run(&["--help"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert!(r.stdout.contains("plan"));
}

/// Runs `plan` on `bytes` and returns (exit code, stderr).
fn plan_bytes(name: &str, bytes: &[u8]) -> (i32, String) {
    let path = tmp(name, bytes);
    let r = run(&["plan", "--aws-auth-file", path.to_str().unwrap()]);
    assert_eq!(r.stdout, "", "nothing on stdout when the input is bad");
    (r.code, r.stderr)
}

#[test]
fn bad_input_names_the_file_and_line() {
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n";
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("missing.yaml", Vec::new(), "cannot read"),
        (
            "latin1.yaml",
            [cm.as_bytes(), b"  mapRoles: |\n    - username: caf\xe9\n"].concat(),
            "latin1.yaml:8: not valid UTF-8",
        ),
        (
            "secret.yaml",
            b"kind: Secret\nmetadata: {name: aws-auth}\n".to_vec(),
            "secret.yaml:1: expected the ConfigMap",
        ),
        (
            "broken.yaml",
            b"kind: ConfigMap\nmetadata: {name: aws-auth\n".to_vec(),
            "broken.yaml:",
        ),
        (
            "list-value.yaml",
            format!("{cm}  mapRoles:\n    - rolearn: x\n").into_bytes(),
            "list-value.yaml:8: data.mapRoles must be a string",
        ),
        (
            "huge.yaml",
            format!("{cm}  mapRoles: \"{}\"\n", "x".repeat(1_100_000)).into_bytes(),
            "huge.yaml:7: data.mapRoles is 1100000 bytes",
        ),
    ];
    for (name, bytes, expected) in cases {
        let (code, stderr) = if name == "missing.yaml" {
            let r = run(&["plan", "--aws-auth-file", "no/such/file.yaml"]);
            (r.code, r.stderr)
        } else {
            plan_bytes(name, &bytes)
        };
        assert_eq!(code, 1, "{name}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{name}: expected {expected:?} in {stderr:?}"
        );
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
}

#[test]
fn alias_bombs_fail_fast_with_a_clear_error() {
    let mut text = String::from(
        "kind: ConfigMap\nmetadata: {name: aws-auth}\nx0: &a0 [l, l, l, l, l, l, l, l, l, l]\n",
    );
    for i in 1..12 {
        let p = i - 1;
        text.push_str(&format!(
            "x{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let (code, stderr) = plan_bytes("bomb.yaml", text.as_bytes());
    assert_eq!(code, 1);
    // go-yaml's own rule (the authenticator's) refuses it, once, with its line.
    assert!(
        stderr.contains("bomb.yaml:6: not valid YAML/JSON: document contains excessive aliasing\n"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("excessive aliasing").count(), 1, "{stderr}");
}

#[test]
fn an_alias_bomb_inside_a_key_only_disables_that_key() {
    let mut inner = String::from("- &a0 {rolearn: arn:aws:iam::111122223333:role/x, groups: [l, l, l, l, l, l, l, l, l, l]}\n");
    for i in 1..12 {
        let p = i - 1;
        inner.push_str(&format!(
            "- &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let text = format!(
        "kind: ConfigMap\nmetadata: {{name: aws-auth}}\ndata:\n  mapRoles: {:?}\n  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:user/a\n      username: a\n",
        inner
    );
    let path = tmp("inner-bomb.yaml", text.as_bytes());
    let r = run(&[
        "plan",
        "--aws-auth-file",
        path.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"key-inactive"), "{codes:?}");
    assert_eq!(
        v["desired"].as_array().unwrap().len(),
        1,
        "mapUsers still migrates"
    );
}

/// Runs `plan` on case 01 with `extra` flags; it must fail with `expected` in stderr.
fn assert_refused(extra: &[&str], expected: &str) {
    let args = [
        &[
            "plan",
            "--aws-auth-file",
            "cases/01-node-roles/aws-auth.yaml",
        ],
        extra,
    ]
    .concat();
    let r = run(&args);
    assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
    assert!(
        r.stderr.contains(expected),
        "{args:?}: expected {expected:?} in {:?}",
        r.stderr
    );
    assert_eq!(r.stdout, "");
}

#[test]
fn bad_optional_inputs_name_their_file_and_line() {
    let over = tmp(
        "over.yaml",
        b"arn:aws:iam::111122223333:role/x:\n  typ: EC2_LINUX\n",
    );
    assert_refused(
        &["--overrides", over.to_str().unwrap()],
        "over.yaml:2: unknown override field `typ`",
    );
    let cur = tmp("cur.json", b"{\"schemaVersion\": 2, \"cluster\": {\"name\": \"x\", \"arn\": \"arn:aws:eks:eu-west-1:111122223333:cluster/x\", \"authenticationMode\": \"API\"}}");
    assert_refused(
        &["--current-file", cur.to_str().unwrap()],
        "schemaVersion 2 is not supported",
    );
    let iam = tmp(
        "iam.json",
        b"{\"Roles\": [{\"Arn\": \"arn:aws:iam::1:role/x\"}]}",
    );
    assert_refused(&["--iam-file", iam.to_str().unwrap()], "iam.json:1: `Arn`");
    let rbac = tmp("rbac.yaml", b"kind: Pod\nmetadata: {name: p}\n");
    assert_refused(
        &["--rbac-file", rbac.to_str().unwrap()],
        "rbac.yaml:1: expected RBAC objects",
    );
}

#[test]
fn flags_that_contradict_the_current_state_are_refused() {
    let r = run(&[
        "plan",
        "--aws-auth-file",
        "cases/22-current-diff/aws-auth.yaml",
        "--current-file",
        "cases/22-current-diff/current.json",
        "--account",
        "444455556666",
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--account differs"), "{}", r.stderr);
}

/// `plan` with no source names both ways to give one.
#[test]
fn plan_without_a_source_names_both_sources() {
    let r = run(&["plan"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("--aws-auth-file") && r.stderr.contains("--cluster"),
        "{}",
        r.stderr
    );
}

/// Shell completions and the manual page come from the same definition as
/// `--help`: every subcommand and flag is in them.
#[test]
fn completions_and_the_manual_page_cover_every_command() {
    let r = run(&["completions", "bash"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    for word in [
        "plan",
        "apply",
        "rollback",
        "snapshot",
        "--cleanup-aws-auth",
        "--force-unlock",
    ] {
        assert!(r.stdout.contains(word), "bash completions lack {word}");
    }
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let r = run(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stdout.contains("migrate-auth"), "{shell}");
    }
    let r = run(&["completions", "tcsh"]);
    assert_eq!(r.code, 1, "an unknown shell is a usage error");
    let r = run(&["man"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert!(
        r.stdout.starts_with(".ie") || r.stdout.contains(".TH migrate-auth"),
        "{}",
        &r.stdout[..200.min(r.stdout.len())]
    );
    for word in ["plan", "apply", "rollback", "snapshot"] {
        assert!(r.stdout.contains(word), "man page lacks {word}");
    }
}

/// The README is the user's manual: every subcommand and every flag that
/// `--help` shows is documented in it.
#[test]
fn the_readme_documents_every_flag_help_shows() {
    let readme = std::fs::read_to_string(testdata().join("../README.md")).unwrap();
    let documented = |flag: &str| {
        readme.match_indices(flag).any(|(at, _)| {
            !readme[at + flag.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-')
        })
    };
    let mut missing = Vec::new();
    for command in [
        "plan",
        "apply",
        "rollback",
        "snapshot",
        "completions",
        "man",
        "fleet plan",
        "fleet apply",
        "fleet status",
        "fleet rollback",
        "fleet report",
        "export",
    ] {
        if !documented(&format!("migrate-auth {command}")) {
            missing.push(format!("the `{command}` command"));
        }
        let args: Vec<&str> = command.split(' ').chain(["--help"]).collect();
        let r = run(&args);
        assert_eq!(r.code, 0, "{command} --help: {}", r.stderr);
        for line in r.stdout.lines() {
            let text = line.trim_start();
            // Flags sit at the left; wrapped help text is indented far.
            if !text.starts_with('-') || line.len() - text.len() > 8 {
                continue;
            }
            let line = text;
            // `-o, --output <OUTPUT>  What it does`: the words before the text.
            let words = line
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|w| !w.is_empty())
                .take_while(|w| w.starts_with('-') || w.starts_with('<') || w.starts_with('['));
            for flag in words.filter(|w| w.starts_with("--") && *w != "--help") {
                if !documented(flag) {
                    missing.push(format!("{command} {flag}"));
                }
            }
        }
    }
    assert!(missing.is_empty(), "the README lacks: {missing:?}");
}

/// With a current-state file but no IAM file, `path-unverified` says no IAM
/// file was given (the state's entries are not an IAM listing).
#[test]
fn path_unverified_with_only_a_current_state_file_says_no_iam_file_was_given() {
    let case = "cases/22-current-diff";
    let r = run(&[
        "plan",
        "--aws-auth-file",
        &format!("{case}/aws-auth.yaml"),
        "--current-file",
        &format!("{case}/current.json"),
        "--findings-ungrouped",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stdout.contains("the IAM files list no roles"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("no --iam-file was given"), "{}", r.stdout);
}
