//! The pull-request recipes in `examples/`: the plain shell one
//! (`examples/ci/plan-comment.sh`) and the GitHub Actions workflow
//! (`examples/github-actions/plan-comment.yml`). The shell recipe and the
//! workflow's plan step are run against testdata cases; the workflow is
//! parsed with PyYAML and its `migrate-auth` command lines are checked
//! against `migrate-auth plan --help`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::{run, testdata};

const MARKER: &str = "<!-- migrate-auth-plan -->";
/// GitHub refuses comments over 65,536 characters; the plan keeps a margin.
const LIMIT: usize = 60_000;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_migrate-auth"))
}

/// A fresh scratch directory standing for a repository's checkout.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "migrate-auth-examples-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Copies the inputs of `testdata/cases/<case>` (not its expected outputs)
/// to `<root>/clusters/<name>/`, where the recipes expect a cluster folder.
fn cluster(root: &Path, name: &str, case: &str) -> String {
    let to = root.join("clusters").join(name);
    std::fs::create_dir_all(&to).unwrap();
    for file in [
        "aws-auth.yaml",
        "current.json",
        "rbac.yaml",
        "iam-roles.json",
        "overrides.yaml",
    ] {
        let from = testdata().join("cases").join(case).join(file);
        if from.exists() {
            std::fs::copy(&from, to.join(file)).unwrap();
        }
    }
    format!("clusters/{name}")
}

/// What the binary's own Markdown plan says for a cluster folder (run from
/// `root`, with the same inputs the recipes pass).
fn plan_markdown(root: &Path, dir: &str) -> (i32, String) {
    let mut args = vec!["plan".to_string()];
    for (file, flag) in [
        ("aws-auth.yaml", "--aws-auth-file"),
        ("current.json", "--current-file"),
        ("rbac.yaml", "--rbac-file"),
        ("iam-roles.json", "--iam-file"),
        ("overrides.yaml", "--overrides"),
    ] {
        if root.join(dir).join(file).exists() {
            args.extend([flag.to_string(), format!("{dir}/{file}")]);
        }
    }
    args.extend(["-o", "markdown", "--detailed-exitcode"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = crate::run_in(root, &args, b"", &[]);
    (r.code, r.stdout)
}

/// Runs the shell recipe in `root` for `dir`; returns (exit code, stdout,
/// the comment file).
fn shell_recipe(root: &Path, dir: &str) -> (i32, String, String) {
    let out = Command::new("sh")
        .arg(repo().join("examples/ci/plan-comment.sh"))
        .arg(dir)
        .current_dir(root)
        .env("MIGRATE_AUTH", bin())
        .env("COMMENT_FILE", "comment.md")
        .output()
        .expect("sh runs");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let comment = std::fs::read_to_string(root.join("comment.md")).unwrap_or_default();
    (out.status.code().expect("exited"), stdout, comment)
}

#[test]
fn the_shell_recipe_passes_a_plan_with_changes_and_writes_the_comment() {
    let root = scratch("shell-changes");
    let dir = cluster(&root, "gov", "26-govcloud");
    let (plan_code, plan) = plan_markdown(&root, &dir);
    assert_eq!(plan_code, 2, "the case has changes and no error: {plan}");
    let (code, stdout, comment) = shell_recipe(&root, &dir);
    assert_eq!(code, 0, "{stdout}\n{comment}");
    assert!(comment.starts_with(&format!("{MARKER}\n")), "{comment}");
    assert!(comment.contains(&plan), "the plan, whole:\n{comment}");
    assert!(comment.contains("| Plan | |\n|---|---|\n"), "{comment}");
    assert!(comment.chars().count() < LIMIT);
    assert!(
        stdout.contains("comment.md"),
        "says where the body is: {stdout}"
    );
}

#[test]
fn the_shell_recipe_fails_on_error_findings_and_still_writes_the_comment() {
    let root = scratch("shell-errors");
    let dir = cluster(&root, "diff", "22-current-diff");
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(testdata().join("cases/22-current-diff/expected.json")).unwrap(),
    )
    .unwrap();
    let errors = expected["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .count();
    assert!(errors > 0, "the case has an error finding");
    let (code, stdout, comment) = shell_recipe(&root, &dir);
    assert_eq!(code, 1, "{stdout}\n{comment}");
    assert!(comment.starts_with(&format!("{MARKER}\n")), "{comment}");
    assert!(comment.contains(&plan_markdown(&root, &dir).1), "{comment}");
    assert!(comment.contains("| error findings | 1 |"), "{comment}");
}

#[test]
fn the_shell_recipe_fails_on_unreadable_input_and_says_so_in_the_comment() {
    let root = scratch("shell-broken");
    std::fs::create_dir_all(root.join("clusters/broken")).unwrap();
    std::fs::write(root.join("clusters/broken/aws-auth.yaml"), "data: [\n").unwrap();
    let (code, stdout, comment) = shell_recipe(&root, "clusters/broken");
    assert_eq!(code, 1, "{stdout}\n{comment}");
    assert!(comment.starts_with(&format!("{MARKER}\n")), "{comment}");
    assert!(
        comment.contains("clusters/broken"),
        "names the folder: {comment}"
    );
    assert!(comment.contains("error"), "carries the error: {comment}");
    // A folder with no aws-auth.yaml at all fails too.
    let (code, _, _) = shell_recipe(&root, "clusters/missing");
    assert_eq!(code, 1);
}

/// An aws-auth with `n` distinct roles.
fn big_aws_auth(n: usize) -> String {
    let mut roles = String::new();
    for i in 0..n {
        roles.push_str(&format!(
            "    - rolearn: arn:aws:iam::111122223333:role/team-{i:05}-with-a-long-name\n      \
             username: team-{i:05}\n      groups:\n        - group-{i:05}-a\n        - group-{i:05}-b\n"
        ));
    }
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\n\
         data:\n  mapRoles: |\n{roles}"
    )
}

#[test]
fn the_shell_recipe_keeps_a_large_plan_under_the_comment_limit() {
    let root = scratch("shell-large");
    std::fs::create_dir_all(root.join("clusters/big")).unwrap();
    std::fs::write(root.join("clusters/big/aws-auth.yaml"), big_aws_auth(3000)).unwrap();
    let (code, stdout, comment) = shell_recipe(&root, "clusters/big");
    assert_eq!(code, 0, "{stdout}");
    assert!(comment.starts_with(MARKER));
    let n = comment.chars().count();
    assert!(n > 40_000 && n < LIMIT, "{n} characters");
}

/// Any YAML file as JSON, through PyYAML (installed from PyPI if missing).
fn yaml_as_json(path: &Path) -> Value {
    const SCRIPT: &str = r#"
import sys, json
try:
    import yaml
except ImportError:
    import subprocess
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "pyyaml"], check=True)
    import yaml
print(json.dumps(yaml.safe_load(open(sys.argv[1], encoding="utf-8"))))
"#;
    let out = Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn workflow() -> Value {
    yaml_as_json(&repo().join("examples/github-actions/plan-comment.yml"))
}

/// The long and short flags `migrate-auth plan --help` lists.
fn plan_flags() -> BTreeSet<String> {
    let help = run(&["plan", "--help"]);
    assert_eq!(help.code, 0, "{}", help.stderr);
    let flags: BTreeSet<String> = help
        .stdout
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| (w.starts_with("--") && w.len() > 2) || (w.len() == 2 && w.starts_with('-')))
        .map(String::from)
        .collect();
    for known in [
        "--aws-auth-file",
        "--current-file",
        "--detailed-exitcode",
        "-o",
    ] {
        assert!(flags.contains(known), "{known} in {flags:?}");
    }
    flags
}

/// Every step's `run` script, by the step's id (or name).
fn run_scripts(wf: &Value) -> Vec<(String, String)> {
    let mut scripts = Vec::new();
    for job in wf["jobs"].as_object().expect("jobs").values() {
        for step in job["steps"].as_array().expect("steps") {
            if let Some(script) = step["run"].as_str() {
                let id = step["id"].as_str().or(step["name"].as_str()).unwrap_or("");
                scripts.push((id.to_string(), script.to_string()));
            }
        }
    }
    scripts
}

/// The command lines (continuations joined) of a script that run
/// `migrate-auth` with a subcommand: the words after `migrate-auth`, up to
/// a redirection or the next command.
fn migrate_auth_commands(script: &str) -> Vec<Vec<String>> {
    let joined = script.replace("\\\n", " ");
    let mut commands = Vec::new();
    for line in joined.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, w) in words.iter().enumerate() {
            let w = w.trim_matches('"');
            let is_bin = w == "migrate-auth" || w.ends_with("/migrate-auth");
            // In a command's place, not in a message or an argument.
            let first = i == 0 || matches!(words[i - 1], "|" | "||" | "&&" | ";" | "then" | "do");
            let sub = words.get(i + 1).is_some_and(|s| !s.starts_with('-'));
            if is_bin && first && sub {
                let end = words[i + 1..]
                    .iter()
                    .position(|w| matches!(*w, ">" | "|" | "||" | "&&" | ";" | "2>"))
                    .map_or(words.len(), |p| i + 1 + p);
                commands.push(words[i + 1..end].iter().map(|w| w.to_string()).collect());
            }
        }
    }
    commands
}

#[test]
fn the_workflow_runs_only_plan_with_flags_plan_has() {
    let flags = plan_flags();
    let scripts = run_scripts(&workflow());
    let commands: Vec<Vec<String>> = scripts
        .iter()
        .flat_map(|(_, s)| migrate_auth_commands(s))
        .collect();
    assert!(
        !commands.is_empty(),
        "no migrate-auth command in {scripts:?}"
    );
    for cmd in &commands {
        assert_eq!(cmd[0], "plan", "{cmd:?}");
        for w in cmd.iter().filter(|w| w.starts_with('-')) {
            assert!(
                flags.contains(w.as_str()),
                "{w} is not a plan flag: {cmd:?}"
            );
        }
        let line = cmd.join(" ");
        assert!(line.contains("--output markdown"), "{line}");
        assert!(line.contains("--detailed-exitcode"), "{line}");
    }
    // The flags the plan step builds beside the command line are plan's too.
    let (_, plan_step) = scripts
        .iter()
        .find(|(id, _)| id == "plan")
        .expect("a step with id plan");
    for w in plan_step.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
        if w.starts_with("--") && w.len() > 2 {
            assert!(flags.contains(w), "{w} in the plan step is not a plan flag");
        }
    }
}

#[test]
fn the_workflow_may_write_pull_requests_and_nothing_else() {
    let wf = workflow();
    // PyYAML reads the key `on` as YAML 1.1's true.
    let on = wf.get("on").or(wf.get("true")).expect("on");
    let paths: Vec<&str> = on["pull_request"]["paths"]
        .as_array()
        .expect("pull_request.paths")
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(paths.contains(&"clusters/**/aws-auth.yaml"), "{paths:?}");
    assert!(paths.contains(&"clusters/**/current.json"), "{paths:?}");
    let mut blocks = vec![&wf["permissions"]];
    blocks.extend(
        wf["jobs"]
            .as_object()
            .unwrap()
            .values()
            .map(|j| &j["permissions"]),
    );
    assert_eq!(
        wf["permissions"],
        serde_json::json!({"contents": "read", "pull-requests": "write"})
    );
    for block in blocks {
        if block.is_null() {
            continue;
        }
        let block = block
            .as_object()
            .expect("permissions is a map, not write-all");
        for (scope, level) in block {
            if scope != "pull-requests" {
                assert_ne!(level, "write", "{scope}: write");
            }
        }
    }
}

/// Runs the workflow's plan step (`id: plan`) as the runner would (bash,
/// -e, pipefail) in `root`, with `DIRS` and `migrate-auth` on the PATH;
/// returns (the step's exit code, its `status` output, comment.md).
fn workflow_plan_step(root: &Path, dirs: &str) -> (i32, String, String) {
    let scripts = run_scripts(&workflow());
    let (_, script) = scripts
        .iter()
        .find(|(id, _)| id == "plan")
        .expect("a step with id plan");
    let path = format!(
        "{}:{}",
        bin().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = root.join("github-output");
    std::fs::write(&output, "").unwrap();
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(root)
        .env("PATH", path)
        .env("DIRS", dirs)
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", root.join("step-summary"))
        .output()
        .expect("bash runs");
    let outputs = std::fs::read_to_string(&output).unwrap();
    let status = outputs
        .lines()
        .find_map(|l| l.strip_prefix("status="))
        .unwrap_or_else(|| panic!("no status output: {outputs}"))
        .to_string();
    let comment = std::fs::read_to_string(root.join("comment.md")).unwrap();
    (out.status.code().expect("exited"), status, comment)
}

#[test]
fn the_workflow_plan_step_puts_every_cluster_in_one_comment_and_fails_on_errors() {
    let root = scratch("workflow-two");
    let gov = cluster(&root, "gov", "26-govcloud");
    let diff = cluster(&root, "diff", "22-current-diff");
    let (code, status, comment) = workflow_plan_step(&root, &format!("{gov} {diff}"));
    assert_eq!(
        code, 0,
        "the step posts first; a later step fails the check"
    );
    assert_eq!(status, "1", "22-current-diff has an error finding");
    assert!(comment.starts_with(&format!("{MARKER}\n")), "{comment}");
    assert_eq!(comment.matches(MARKER).count(), 1);
    assert!(comment.contains(&plan_markdown(&root, &gov).1), "{comment}");
    assert!(
        comment.contains(&plan_markdown(&root, &diff).1),
        "{comment}"
    );
    // Changes alone pass.
    let (_, status, _) = workflow_plan_step(&root, &gov);
    assert_eq!(status, "0");
}

#[test]
fn the_workflow_plan_step_keeps_many_large_clusters_under_the_limit() {
    let root = scratch("workflow-large");
    for name in ["a", "b"] {
        std::fs::create_dir_all(root.join("clusters").join(name)).unwrap();
        std::fs::write(
            root.join(format!("clusters/{name}/aws-auth.yaml")),
            big_aws_auth(3000),
        )
        .unwrap();
    }
    let (code, status, comment) = workflow_plan_step(&root, "clusters/a clusters/b");
    assert_eq!((code, status.as_str()), (0, "0"));
    let n = comment.chars().count();
    assert!(n < LIMIT, "{n} characters");
    assert!(
        comment.contains("clusters/a/aws-auth.yaml"),
        "the first plan is there"
    );
    assert!(
        comment.contains("`clusters/b`"),
        "the second is named: {comment}"
    );
}

/// `shellcheck` on the shell recipe and on every `run` script of the
/// workflow (as bash, the runner's shell), when it is installed (`.ci/run`
/// installs it).
#[test]
fn the_scripts_pass_shellcheck() {
    if Command::new("shellcheck")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("shellcheck is not installed: skipped");
        return;
    }
    let root = scratch("shellcheck");
    let mut files = vec![repo().join("examples/ci/plan-comment.sh")];
    for (i, (_, script)) in run_scripts(&workflow()).iter().enumerate() {
        let file = root.join(format!("step-{i}.sh"));
        std::fs::write(&file, format!("#!/bin/bash\n{script}")).unwrap();
        files.push(file);
    }
    assert!(files.len() >= 3, "the recipe and the workflow's steps");
    for script in files {
        let out = Command::new("shellcheck").arg(&script).output().unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            script.display(),
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
