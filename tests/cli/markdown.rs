//! The Markdown plan as a pull-request comment, as GitHub's cmark-gfm
//! renders it: a summary table first, one `<details>` section per action
//! kind with one row per principal, and a comment that stays under 60,000
//! characters however large aws-auth is.

use serde_json::Value;

use crate::safety::cmark_gfm;
use crate::{run, run_in};

/// GitHub refuses comments over 65,536 characters; the plan keeps a margin.
const LIMIT: usize = 60_000;

fn markdown(args: &[&str]) -> String {
    let r = run(&[args, &["-o", "markdown"]].concat());
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    r.stdout
}

fn section<'a>(html: &'a Value, kind: &str) -> &'a Value {
    html["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["summary"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{kind}:"))
        })
        .unwrap_or_else(|| panic!("no {kind} section: {html}"))
}

/// The rows (header first) of the one table of a section.
fn rows<'a>(html: &'a Value, section: &Value) -> &'a Vec<Value> {
    let tables = section["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 1, "{section}");
    let i = tables[0].as_u64().unwrap() as usize;
    html["tables"][i].as_array().unwrap()
}

#[test]
fn a_summary_table_comes_first_then_a_section_per_action_kind() {
    let md = markdown(&[
        "plan",
        "--aws-auth-file",
        "cases/22-current-diff/aws-auth.yaml",
        "--current-file",
        "cases/22-current-diff/current.json",
    ]);
    let html = cmark_gfm(&md);
    assert_eq!(html["errors"], serde_json::json!([]), "{md}");
    // The first table is the summary: counts per kind and per severity.
    let summary = &html["tables"][0];
    let cell = |name: &str| -> String {
        let row = summary
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r[0] == name)
            .unwrap_or_else(|| panic!("no {name} row: {summary}"));
        row[1].as_str().unwrap().to_string()
    };
    let json = run(&[
        "plan",
        "--aws-auth-file",
        "cases/22-current-diff/aws-auth.yaml",
        "--current-file",
        "cases/22-current-diff/current.json",
        "-o",
        "json",
    ]);
    let plan: Value = serde_json::from_str(&json.stdout).unwrap();
    for kind in ["create", "update", "associate", "adopt", "none"] {
        let n = plan["actions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["action"] == kind)
            .count();
        assert!(n > 0, "case 22 has every kind");
        assert_eq!(cell(kind), n.to_string(), "{kind}");
        let s = section(&html, kind);
        let noun = if n == 1 { "principal" } else { "principals" };
        assert_eq!(s["summary"], format!("{kind}: {n} {noun}"));
        assert_eq!(rows(&html, s).len(), n + 1, "{kind}: a row per principal");
    }
    assert_eq!(
        cell("error findings"),
        plan["summary"]["errors"].to_string()
    );
    assert_eq!(
        cell("warning findings"),
        plan["summary"]["warnings"].to_string()
    );
    assert_eq!(cell("info findings"), plan["summary"]["infos"].to_string());
    // A none row's reason has a column of its own, not Policies.
    let none = rows(&html, section(&html, "none"));
    assert_eq!(none[0][2], "Reason", "{none:?}");
    assert!(!none[0].as_array().unwrap().contains(&"Policies".into()));
}

/// Two user ARNs that differ only in case are one principal for EKS: one
/// row, with both mappings' sources.
#[test]
fn one_principal_is_one_row() {
    let md = markdown(&[
        "plan",
        "--aws-auth-file",
        "cases/13-roles-and-users/aws-auth.yaml",
    ]);
    let html = cmark_gfm(&md);
    let none = rows(&html, section(&html, "none"));
    let bob: Vec<&Value> = none
        .iter()
        .filter(|r| r[0].as_str().unwrap().to_lowercase().contains("bob.smith"))
        .collect();
    assert_eq!(bob.len(), 1, "{none:?}");
    let source = bob[0].as_array().unwrap().last().unwrap().as_str().unwrap();
    assert!(
        source.contains("mapUsers[3]") && source.contains("mapUsers[4]"),
        "{source}"
    );
}

/// aws-auth with `n` role mappings (a few of them dead).
fn large_aws_auth(n: usize) -> String {
    let mut map_roles = String::new();
    for i in 0..n {
        let arn = if i % 50 == 7 {
            format!("arn:aws:sts::111122223333:assumed-role/team-{i}/session")
        } else {
            format!("arn:aws:iam::111122223333:role/team-{i:04}-deployer")
        };
        let policy = if i % 3 == 0 { "system:masters" } else { "team" };
        map_roles.push_str(&format!(
            "    - rolearn: {arn}\n      username: team-{i}:{{{{SessionName}}}}\n      groups: [{policy}, team-{i}]\n"
        ));
    }
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n{map_roles}")
}

/// 1,200 mappings: the comment stays under 60,000 characters, every section
/// is closed and holds one table, the rows left out are counted and the
/// full plan is pointed to; the summary still counts everything.
#[test]
fn a_large_plan_stays_under_the_comment_limit() {
    let dir = std::env::temp_dir().join(format!("migrate-auth-md-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("aws-auth.yaml"), large_aws_auth(1200)).unwrap();
    let r = run_in(
        &dir,
        &["plan", "--aws-auth-file", "aws-auth.yaml", "-o", "markdown"],
        b"",
        &[],
    );
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    let md = r.stdout;
    assert!(md.chars().count() < LIMIT, "{} characters", md.len());
    let html = cmark_gfm(&md);
    assert_eq!(html["errors"], serde_json::json!([]));
    assert_eq!(html["found"], "<h3>");
    let create = section(&html, "create");
    assert_eq!(create["summary"], "create: 1176 principals");
    let shown = rows(&html, create).len() - 1;
    assert!((100..1176).contains(&shown), "{shown} rows shown");
    let text = create["text"].as_str().unwrap();
    let left = format!("{} more rows not shown", 1176 - shown);
    assert!(text.contains(&left), "{text}");
    assert!(text.contains("-o json"), "{text}");
    let none = section(&html, "none");
    assert_eq!(none["summary"], "none: 24 principals");

    // Every finding on its own row: the findings are cut short too.
    let r = run_in(
        &dir,
        &[
            "plan",
            "--aws-auth-file",
            "aws-auth.yaml",
            "-o",
            "markdown",
            "--findings-ungrouped",
        ],
        b"",
        &[],
    );
    assert!(r.stdout.chars().count() < LIMIT, "{}", r.stdout.len());
    let html = cmark_gfm(&r.stdout);
    assert_eq!(html["errors"], serde_json::json!([]));
    let findings = section(&html, "findings");
    assert!(
        findings["text"]
            .as_str()
            .unwrap()
            .contains("more rows not shown"),
        "{findings}"
    );
}
