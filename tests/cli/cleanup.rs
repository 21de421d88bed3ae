//! `plan --cleanup-aws-auth` offline: the plan previews the aws-auth the
//! cleanup leaves, as a unified diff per data key in which only the removed
//! items' lines change.

use std::fs;

use crate::run_in;

/// Admin and alice get entries; ops is dropped by an override, so it stays.
const AWS_AUTH: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: aws-auth
  namespace: kube-system
data:
  mapRoles: |
    # Roles (edited by hand; keep this header)

    # break-glass admin \u{202e}
    - rolearn: arn:aws:iam::111122223333:role/admin
      username: admin
      groups:
        - system:masters
    # ops, on call
    - \"rolearn\": 'arn:aws:iam::111122223333:role/ops'
      username: \"ops:{{SessionName}}\"
      groups: [ops-team]   # paged at night
  mapUsers: |
    - userarn: arn:aws:iam::111122223333:user/alice
      username: alice
      groups: [viewers]
  mapAccounts: |
    - \"444455556666\"
";

const OVERRIDES: &str = "arn:aws:iam::111122223333:role/ops:\n  drop: true\n";

/// The kept part of mapRoles, byte for byte.
const KEPT: &str = "# Roles (edited by hand; keep this header)\n\n# ops, on call\n- \"rolearn\": 'arn:aws:iam::111122223333:role/ops'\n  username: \"ops:{{SessionName}}\"\n  groups: [ops-team]   # paged at night\n";

fn plan(extra: &[&str]) -> crate::Run {
    // One folder per call: tests run at once, and a file half rewritten by
    // another would be read.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("migrate-auth-cleanup-{}-{n}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("aws-auth.yaml"), AWS_AUTH).unwrap();
    fs::write(dir.join("overrides.yaml"), OVERRIDES).unwrap();
    let args = [
        &[
            "plan",
            "--aws-auth-file",
            "aws-auth.yaml",
            "--overrides",
            "overrides.yaml",
            "--account",
            "111122223333",
            "--partition",
            "aws",
            "--cleanup-aws-auth",
        ][..],
        extra,
    ]
    .concat();
    run_in(&dir, &args, b"", &[])
}

#[test]
fn an_offline_plan_previews_the_cleanup_as_a_diff_of_the_removed_lines_only() {
    let r = plan(&[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let out = &r.stdout;
    assert!(out.contains("--- mapRoles (now)"), "{out}");
    assert!(out.contains("+++ mapRoles (after)"), "{out}");
    assert!(
        out.contains("-- rolearn: arn:aws:iam::111122223333:role/admin"),
        "{out}"
    );
    assert!(
        out.contains("-# break-glass admin \\u{202e}"),
        "escaped: {out}"
    );
    assert!(
        out.contains("-- userarn: arn:aws:iam::111122223333:user/alice"),
        "{out}"
    );
    // What stays is not removed and added again.
    // Diff lines are indented by 6 spaces; then comes the sign.
    for line in out.lines().filter_map(|l| l.strip_prefix("      ")) {
        let changed =
            line.starts_with(['-', '+']) && !line.starts_with("---") && !line.starts_with("+++");
        assert!(
            !(changed
                && (line.contains("role/ops")
                    || line.contains("ops, on call")
                    || line.contains("keep this header"))),
            "an untouched line is in the diff: {line}\n{out}"
        );
    }
    assert!(!out.contains("mapAccounts (now)"), "{out}");
    // The plan's summary still comes last.
    assert!(out.trim_end().ends_with("info."), "{out}");
}

#[test]
fn the_json_plan_holds_the_data_after_the_cleanup() {
    let r = plan(&["-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let c = &doc["awsAuthCleanup"];
    assert_eq!(c["data"]["mapRoles"], KEPT, "{c:#}");
    assert_eq!(c["data"]["mapAccounts"], "- \"444455556666\"\n");
    assert!(c["data"].get("mapUsers").is_none(), "{c:#}");
    let keys = c["keys"].as_array().unwrap();
    assert_eq!(keys[0]["key"], "mapRoles");
    assert_eq!(keys[0]["edit"], "minimal");
    assert_eq!(keys[0]["removedItems"], serde_json::json!([0]));
    assert_eq!(keys[1]["edit"], "removed");
    assert!(keys[0]["diff"]
        .as_str()
        .unwrap()
        .contains("-- rolearn: arn:aws:iam::111122223333:role/admin\n"));
    // Without the flag, no preview.
    let plain = run_in(
        &std::env::temp_dir(),
        &["plan", "--aws-auth-file", "-"],
        AWS_AUTH.as_bytes(),
        &[],
    );
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    assert!(!plain.stdout.contains("mapRoles (now)"), "{}", plain.stdout);
}

#[test]
fn the_markdown_plan_folds_the_diff_in_a_fenced_block() {
    let r = plan(&["-o", "markdown"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let md = &r.stdout;
    let start = md.find("<details>").expect(md);
    let block = &md[start..];
    assert!(block.contains("```diff\n--- mapRoles (now)\n"), "{block}");
    assert!(
        block.contains("\n-- rolearn: arn:aws:iam::111122223333:role/admin\n"),
        "{block}"
    );
    assert!(block.contains("</details>"), "{block}");
}

#[test]
fn a_rewritten_value_is_said_so() {
    let flow = AWS_AUTH.replace(
        "  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:user/alice\n      username: alice\n      groups: [viewers]\n",
        "  mapUsers: |\n    [{userarn: 'arn:aws:iam::111122223333:user/alice', username: alice}, {userarn: 'arn:aws:iam::111122223333:user/bob', username: bob}]\n",
    );
    let dir =
        std::env::temp_dir().join(format!("migrate-auth-cleanup-flow-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("aws-auth.yaml"), flow).unwrap();
    fs::write(
        dir.join("overrides.yaml"),
        "arn:aws:iam::111122223333:user/bob:\n  drop: true\n",
    )
    .unwrap();
    let r = run_in(
        &dir,
        &[
            "plan",
            "--aws-auth-file",
            "aws-auth.yaml",
            "--overrides",
            "overrides.yaml",
            "--account",
            "111122223333",
            "--cleanup-aws-auth",
        ],
        b"",
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("mapUsers is written anew"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("flow sequence"), "{}", r.stdout);
}

#[test]
fn the_switch_to_api_still_needs_a_saved_plan() {
    let r = plan(&["--target-mode", "API"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("--out"), "{}", r.stderr);
}
