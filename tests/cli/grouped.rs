//! Repeated findings grouped in the text and Markdown plans: more than 3
//! alike (the same code; for warnings the same message too) are one line,
//! with the count, the message, a few principals and the flag that lists
//! them one by one; the JSON plan, the summary and `--fail-on` still see
//! every finding.

use std::fs;
use std::path::PathBuf;

use crate::{run_in, run_on_a_terminal};

/// A folder of its own holding `files`.
fn folder(name: &str, files: &[(&str, String)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "migrate-auth-grouped-{}-{name}",
        std::process::id()
    ));
    fs::create_dir_all(&dir).unwrap();
    for (file, text) in files {
        fs::write(dir.join(file), text).unwrap();
    }
    dir
}

/// aws-auth mapping `roles` roles of each account, no IAM dump: one
/// `path-unverified` warning per role.
fn roles(accounts: &[(&str, usize)]) -> String {
    let mut map_roles = String::new();
    for (account, n) in accounts {
        for i in 0..*n {
            map_roles.push_str(&format!(
                "    - rolearn: arn:aws:iam::{account}:role/team-{i}\n      username: team-{i}:{{{{SessionName}}}}\n      groups: [team-{i}]\n"
            ));
        }
    }
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n{map_roles}")
}

/// The findings part of a text plan.
fn findings_part(stdout: &str) -> &str {
    let at = stdout.find("Findings:").expect("a Findings section");
    &stdout[at..]
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn offline_path_unverified_is_one_warning_with_the_command_that_settles_it() {
    let dir = folder(
        "offline",
        &[(
            "aws-auth.yaml",
            roles(&[("111122223333", 5), ("444455556666", 2)]),
        )],
    );
    let plan = |extra: &[&str]| {
        let args = [
            &[
                "plan",
                "--aws-auth-file",
                "aws-auth.yaml",
                "--color",
                "never",
            ],
            extra,
        ]
        .concat();
        run_in(&dir, &args, b"", &[])
    };
    let r = plan(&[]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    let found = findings_part(&r.stdout);
    // One line for the 5 roles of the first account (the same warning, with
    // the command that settles it); the other account's 2 stay as they are.
    assert_eq!(count(found, "warning path-unverified"), 3, "{found}");
    assert!(
        found.contains(
            "warning path-unverified  5 roles' IAM paths could not be checked; listed one by one with --findings-ungrouped"
        ),
        "{found}"
    );
    for (account, times) in [("111122223333", 1), ("444455556666", 2)] {
        let settles = format!(
            "`aws iam list-roles --output json` in account {account}, given with --iam-file, settles it"
        );
        assert_eq!(count(found, &settles), times, "{found}");
    }
    // A few principals as examples, not all of them.
    assert!(
        found.contains("arn:aws:iam::111122223333:role/team-0"),
        "{found}"
    );
    assert!(!found.contains("role/team-4"), "{found}");
    // The summary still counts every finding.
    assert!(r.stdout.contains("7 warnings"), "{}", r.stdout);

    let all = plan(&["--findings-ungrouped"]);
    assert_eq!((all.code, all.stderr.as_str()), (0, ""));
    let found = findings_part(&all.stdout);
    assert_eq!(count(found, "warning path-unverified"), 7, "{found}");

    // --findings filters first; what it hides is not grouped either.
    let hidden = plan(&["--findings", "error,info"]);
    assert!(!findings_part(&hidden.stdout).contains("path-unverified"));
    assert!(hidden.stdout.contains("(7 not shown;"), "{}", hidden.stdout);

    // JSON lists every finding; --fail-on sees every finding.
    let json = plan(&["-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let n = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "path-unverified")
        .count();
    assert_eq!(n, 7);
    assert_eq!(plan(&["--fail-on", "warning"]).code, 1);

    // Markdown: one row for the group, with the count and the flag.
    let md = plan(&["-o", "markdown"]);
    assert_eq!(count(&md.stdout, "`path-unverified`"), 3, "{}", md.stdout);
    assert!(md.stdout.contains("--findings-ungrouped"), "{}", md.stdout);
    assert!(md.stdout.contains("5 roles"), "{}", md.stdout);
}

/// Three findings of a code stay as they are.
#[test]
fn three_findings_of_a_code_are_not_grouped() {
    let dir = folder("three", &[("aws-auth.yaml", roles(&[("111122223333", 3)]))]);
    let r = run_in(
        &dir,
        &[
            "plan",
            "--aws-auth-file",
            "aws-auth.yaml",
            "--color",
            "never",
        ],
        b"",
        &[],
    );
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    let found = findings_part(&r.stdout);
    assert_eq!(count(found, "warning path-unverified"), 3, "{found}");
    assert!(!found.contains("--findings-ungrouped"), "{found}");
}

/// A current state of `n` STANDARD entries aws-auth does not name, the
/// first with an escape sequence in its ARN.
fn unmanaged_state(n: usize) -> String {
    let entries: Vec<String> = (0..n)
        .map(|i| {
            let name = if i == 0 {
                "old-\\u001b[2J-ci".to_string()
            } else {
                format!("old-{i}")
            };
            format!(
                r#"{{"principalArn": "arn:aws:iam::111122223333:role/{name}", "type": "STANDARD", "username": "u{i}", "kubernetesGroups": [], "accessPolicies": []}}"#
            )
        })
        .collect();
    format!(
        r#"{{"schemaVersion": 1, "cluster": {{"name": "c", "arn": "arn:aws:eks:eu-west-1:111122223333:cluster/c", "authenticationMode": "API_AND_CONFIG_MAP"}}, "accessEntries": [{}]}}"#,
        entries.join(", ")
    )
}

/// On a terminal (stdout a pty, so colour is on), 6 existing entries that
/// aws-auth does not name are one info line; an escape sequence in an
/// example principal is shown escaped, never obeyed.
#[test]
fn unmanaged_entries_are_one_line_on_a_terminal() {
    let dir = folder(
        "terminal",
        &[
            ("aws-auth.yaml", roles(&[("111122223333", 1)])),
            ("current.json", unmanaged_state(6)),
        ],
    );
    let (code, screen) = run_on_a_terminal(
        &dir,
        &[
            "plan",
            "--aws-auth-file",
            "aws-auth.yaml",
            "--current-file",
            "current.json",
        ],
    );
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("\x1b[1mFindings:"), "colour: {screen:?}");
    let found = findings_part(&screen);
    assert_eq!(count(found, "unmanaged"), 1, "{found}");
    assert!(
        found.contains(
            "6 existing entries are not in aws-auth; listed one by one with --findings-ungrouped"
        ),
        "{found}"
    );
    assert!(found.contains("role/old-\\u{1b}[2J-ci"), "{found:?}");
    assert!(!screen.contains("\x1b[2J"), "{screen:?}");
    assert!(screen.contains("6 info"), "{screen}");
}
