//! `export --format terraform`: the Terraform of every golden case parses
//! with an HCL2 parser (python-hcl2), uses only the provider schema's
//! attributes, and declares exactly the plan's desired entries, groups,
//! usernames, policies and scopes (those with `error` findings left out);
//! hostile values come back as written; `error` findings refuse the export.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::{run_in, testdata};

/// What `script` (in tests/cli/data, then its arguments, if any: `NAME
/// ARG...`) makes of `files`: per file, its entries.
fn parsed_by(script: &str, files: &[PathBuf]) -> Value {
    let mut words = script.split(' ');
    let name = words.next().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli/data")
        .join(name);
    let out = Command::new("python3")
        .arg(script)
        .args(words)
        .args(files)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What the Terraform script makes of `files`.
fn parsed(files: &[PathBuf]) -> Value {
    parsed_by("terraform_entries.py", files)
}

/// An entry as a comparable value: policies sorted, scope type lower-case.
fn canonical(e: &Value) -> String {
    let mut policies: Vec<String> = e["accessPolicies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let scope = &p["accessScope"];
            format!(
                "{} {} {}",
                p["policyArn"],
                scope["type"].as_str().unwrap().to_lowercase(),
                scope["namespaces"]
            )
        })
        .collect();
    policies.sort();
    let mut groups: Vec<String> = e["kubernetesGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.to_string())
        .collect();
    groups.sort();
    let username = e["username"].as_str().map(str::to_string);
    format!(
        "{} {} {username:?} {groups:?} {policies:?}",
        e["principalArn"], e["type"]
    )
}

#[test]
fn every_case_exports_the_plans_desired_entries_as_valid_terraform() {
    every_case_exports("expected.tf", "terraform_entries.py");
}

#[test]
fn every_case_exports_the_plans_desired_entries_as_the_eks_modules_access_entries() {
    every_case_exports(
        "expected.module.tf",
        "terraform_module_entries.py module.eks",
    );
}

#[test]
fn every_case_exports_the_plans_desired_entries_as_a_valid_eksctl_config() {
    every_case_exports("expected.eksctl.yaml", "eksctl_entries.py");
}

#[test]
fn every_case_exports_the_plans_desired_entries_as_a_template_cfn_lint_passes() {
    every_case_exports("expected.cfn.json", "cloudformation_entries.py");
    let mut files: Vec<PathBuf> = std::fs::read_dir(testdata().join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path().join("expected.cfn.json"))
        .filter(|p| p.exists())
        .collect();
    files.sort();
    // cfn-lint (PyPI) checks each template against the resource specification.
    let installed = Command::new("cfn-lint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        let pip = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "cfn-lint"])
            .status()
            .unwrap();
        assert!(pip.success(), "cannot install cfn-lint");
    }
    let out = Command::new("cfn-lint")
        .args(&files)
        .output()
        .expect("cfn-lint runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every golden case's `golden` export, read by `script`, declares the
/// plan's desired entries.
fn every_case_exports(golden: &str, script: &str) {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(testdata().join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join(golden).exists())
        .collect();
    cases.sort();
    assert!(cases.len() >= 35, "{}", cases.len());
    let files: Vec<PathBuf> = cases.iter().map(|c| c.join(golden)).collect();
    let all = parsed_by(script, &files);
    for (case, file) in cases.iter().zip(&files) {
        let plan: Value =
            serde_json::from_str(&std::fs::read_to_string(case.join("expected.json")).unwrap())
                .unwrap();
        let errors: BTreeSet<&str> = plan["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "error")
            .filter_map(|f| f["principalArn"].as_str())
            .collect();
        // An entry kept as it is (--keep-existing-entries) is exported as it
        // is now, from the current state, so that Terraform leaves it too.
        let kept: BTreeSet<&str> = plan["actions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["kept"] == true)
            .filter_map(|a| a["principalArn"].as_str())
            .collect();
        let current: Value = std::fs::read_to_string(case.join("current.json"))
            .map(|t| serde_json::from_str(&t).unwrap())
            .unwrap_or(Value::Null);
        let now = |arn: &str| {
            let mut e = current["accessEntries"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["principalArn"] == arn)
                .unwrap()
                .clone();
            for p in e["accessPolicies"].as_array_mut().unwrap() {
                if p["accessScope"].get("namespaces").is_none() {
                    p["accessScope"]["namespaces"] = serde_json::json!([]);
                }
            }
            e
        };
        let want: BTreeSet<String> = plan["desired"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| !errors.contains(d["principalArn"].as_str().unwrap()))
            .map(|d| match d["principalArn"].as_str().unwrap() {
                arn if kept.contains(arn) => canonical(&now(arn)),
                _ => canonical(d),
            })
            .collect();
        let got: BTreeSet<String> = all[file.to_str().unwrap()]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(canonical)
            .collect();
        assert_eq!(got, want, "{}", case.display());
    }
}

#[test]
fn error_findings_refuse_the_export_and_hostile_values_stay_inert() {
    // Case 22, with its current state, has an error finding.
    let case = "cases/22-current-diff";
    let args = [
        "export",
        "--format",
        "terraform",
        "--aws-auth-file",
        "aws-auth.yaml",
        "--current-file",
        "current.json",
    ];
    let r = run_in(&testdata().join(case), &args, b"", &[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("--allow-errors"), "{}", r.stderr);
    assert_eq!(r.stdout, "");
    // Hostile text: templates, quotes, escapes and controls come back as written.
    let dir = std::env::temp_dir().join(format!("migrate-auth-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let username = "x${file(\"/etc/passwd\")}%{if true}\\\"\u{202e}";
    let aws_auth = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: aws-auth, namespace: kube-system}}\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/a\n      username: {}\n      groups: [\"g\\\"\"]\n",
        serde_json::to_string(username).unwrap()
    );
    std::fs::write(dir.join("aws-auth.yaml"), aws_auth).unwrap();
    let out = dir.join("main.tf");
    let r = run_in(
        &dir,
        &[
            "export",
            "--format",
            "terraform",
            "--aws-auth-file",
            "aws-auth.yaml",
            "--account",
            "111122223333",
            "--out",
            out.to_str().unwrap(),
        ],
        b"",
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        !text.contains('\u{202e}') && !text.contains("\"x${"),
        "{text}"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let back = parsed(std::slice::from_ref(&out));
    let entry = &back[out.to_str().unwrap()]["entries"][0];
    assert_eq!(entry["username"], username);
    assert_eq!(entry["kubernetesGroups"][0], "g\"");
    eksctl_keeps_them_too(&dir, username);
    module_keeps_them_too(&dir, username);
}

/// The hostile aws-auth in `dir`, as the EKS module's map under a nested
/// module address, reads back as written; the import ids name that module.
fn module_keeps_them_too(dir: &Path, username: &str) {
    let out = dir.join("module.tf");
    let args = [
        "export",
        "--format",
        "terraform-module",
        "--module-address",
        "module.platform.module.eks",
        "--aws-auth-file",
        "aws-auth.yaml",
        "--account",
        "111122223333",
        "--out",
        out.to_str().unwrap(),
    ];
    let r = run_in(dir, &args, b"", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        !text.contains('\u{202e}') && !text.contains("\"x${"),
        "{text}"
    );
    let back = parsed_by(
        "terraform_module_entries.py module.platform.module.eks",
        std::slice::from_ref(&out),
    );
    let entry = &back[out.to_str().unwrap()]["entries"][0];
    assert_eq!(entry["username"], username);
    assert_eq!(entry["kubernetesGroups"][0], "g\"");
}

#[test]
fn the_module_export_takes_a_checked_module_address_and_moves_the_plain_exports_resources() {
    let case = testdata().join("cases/22-current-diff");
    let export = |extra: &[&str]| {
        let args = [
            &[
                "export",
                "--aws-auth-file",
                "aws-auth.yaml",
                "--current-file",
                "current.json",
            ],
            &["--allow-errors"][..],
            extra,
        ]
        .concat();
        run_in(&case, &args, b"", &[])
    };
    for bad in [
        "module.eks[\"a\"]",
        "eks",
        "module.eks.aws_eks_access_entry",
    ] {
        let r = export(&["--format", "terraform-module", "--module-address", bad]);
        assert_eq!(r.code, 1, "{bad}: {}", r.stderr);
        assert!(r.stderr.contains("--module-address"), "{}", r.stderr);
        assert_eq!(r.stdout, "");
    }
    let r = export(&["--format", "terraform", "--module-address", "module.eks"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("terraform-module"), "{}", r.stderr);
    // Without --cluster-name the import ids come from a variable of the
    // file's own: never the module's cluster_name output, which depends on
    // the entries (a cycle in `terraform plan`), nor a `cluster_name` the
    // root module may declare already.
    let r = export(&[
        "--format",
        "terraform-module",
        "--module-address",
        "module.k8s",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("id = \"${var.migrate_auth_cluster_name}:arn:aws:iam::111122223333:role/platform-admin\"")
            && r.stdout.contains("variable \"migrate_auth_cluster_name\" {")
            && !r.stdout.contains("module.k8s.cluster_name"),
        "{}",
        r.stdout
    );
    // Every moved block starts from a resource of the plain export, and
    // every resource of the plain export is moved.
    let plain = export(&["--format", "terraform"]);
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    let resources: BTreeSet<String> = plain
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("resource \""))
        .map(|l| {
            l.trim_end_matches(" {")
                .replace("\" \"", ".")
                .replace('"', "")
        })
        .collect();
    let moved: BTreeSet<String> = r
        .stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("from = "))
        .map(str::to_string)
        .collect();
    assert!(resources.len() > 5, "{resources:?}");
    assert_eq!(moved, resources);
}

/// The hostile aws-auth in `dir`, as an eksctl ClusterConfig, reads back as
/// written.
fn eksctl_keeps_them_too(dir: &Path, username: &str) {
    let out = dir.join("cluster.yaml");
    let r = run_in(
        dir,
        &[
            "export",
            "--format",
            "eksctl",
            "--aws-auth-file",
            "aws-auth.yaml",
            "--account",
            "111122223333",
            "--out",
            out.to_str().unwrap(),
        ],
        b"",
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!std::fs::read_to_string(&out).unwrap().contains('\u{202e}'));
    let back = parsed_by("eksctl_entries.py", std::slice::from_ref(&out));
    let entry = &back[out.to_str().unwrap()]["entries"][0];
    assert_eq!(entry["username"], username);
    assert_eq!(entry["kubernetesGroups"][0], "g\"");
}

#[test]
fn a_saved_plan_exports_exactly_what_the_live_plan_exports() {
    use crate::apply::{api_world, kube, MAP_ROLES};
    use crate::live::{start, world};
    let mut refused = 0;
    for aws in [api_world(), world("CONFIG_MAP")] {
        let live = start(aws, kube(MAP_ROLES));
        for options in [&[][..], &["--keep-existing-entries"]] {
            refused += saved_equals_live(&live, options);
        }
    }
    assert_eq!(refused, 2, "one of the two clusters has an error finding");
}

/// Saves the plan of `live` with `options` and exports it in every format,
/// as the live export with the same options does; 1 when both refuse for an
/// error finding (without --allow-errors), else 0.
fn saved_equals_live(live: &crate::live::Live, options: &[&str]) -> usize {
    let file = live.home.join("plan.json");
    let plan = [
        &["plan", "--cluster", "prod", "--out", file.to_str().unwrap()][..],
        options,
    ]
    .concat();
    let r = live.run(&plan);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for format in ["terraform", "terraform-module", "eksctl", "cloudformation"] {
        let live_args = [
            &[
                "export",
                "--format",
                format,
                "--allow-errors",
                "--cluster",
                "prod",
            ][..],
            options,
        ]
        .concat();
        let now = live.run(&live_args);
        assert_eq!(now.code, 0, "{}", now.stderr);
        assert!(now.stdout.contains("platform-admin"), "{}", now.stdout);
        let saved = live.run(&[
            "export",
            "--format",
            format,
            "--allow-errors",
            file.to_str().unwrap(),
        ]);
        assert_eq!(saved.code, 0, "{format} {options:?}: {}", saved.stderr);
        assert_eq!(saved.stdout, now.stdout, "{format} {options:?}");
    }
    // Without --allow-errors, both refuse or both export.
    let live_args = [
        &["export", "--format", "terraform", "--cluster", "prod"][..],
        options,
    ]
    .concat();
    let now = live.run(&live_args);
    let saved = live.run(&["export", "--format", "terraform", file.to_str().unwrap()]);
    assert_eq!((saved.code, saved.stderr), (now.code, now.stderr));
    usize::from(now.code == 1)
}

#[test]
fn a_saved_plan_export_refuses_edits_and_other_versions() {
    let (live, _, text) = saved_plan();
    let export = |path: &Path, extra: &[&str]| export_saved(&live, path, extra);
    // Someone edits what the migration wants: refused, nothing written.
    let edited = live.home.join("edited.json");
    std::fs::write(
        &edited,
        text.replace("dev:{{SessionName}}", "cluster-admin"),
    )
    .unwrap();
    assert_ne!(std::fs::read_to_string(&edited).unwrap(), text);
    let r = export(&edited, &[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("edited"), "{}", r.stderr);
    assert_eq!(r.stdout, "");
    // Someone edits what the migration wants, checksum recomputed: the
    // steps would not make it, so the export refuses it, as apply does.
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    for e in doc["wants"]["entries"].as_array_mut().unwrap() {
        if e["principalArn"] == "arn:aws:iam::111122223333:role/developer" {
            e["kubernetesGroups"] = serde_json::json!(["system:masters"]);
        }
    }
    let resummed = live.home.join("resummed.json");
    std::fs::write(&resummed, crate::with_checksum(doc)).unwrap();
    let r = export(&resummed, &[]);
    assert_eq!((r.code, r.stdout.as_str()), (1, ""), "{}", r.stdout);
    assert!(
        r.stderr
            .contains("role/developer is not what its steps make"),
        "{}",
        r.stderr
    );
    // A version that is not a number is said to be one.
    let odd = live.home.join("odd.json");
    std::fs::write(
        &odd,
        text.replace("\"schemaVersion\": 3", "\"schemaVersion\": \"3\""),
    )
    .unwrap();
    let r = export(&odd, &[]);
    assert!(
        r.stderr.contains("schemaVersion is not a whole number"),
        "{}",
        r.stderr
    );
    // A plan file of the schema before `wants`.
    let old = live.home.join("old.json");
    std::fs::write(
        &old,
        text.replace("\"schemaVersion\": 3", "\"schemaVersion\": 2"),
    )
    .unwrap();
    let r = export(&old, &[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("schemaVersion 2"), "{}", r.stderr);
    assert!(r.stderr.contains("make the plan again"), "{}", r.stderr);
}

#[test]
fn a_saved_plan_export_reads_stdin_and_refuses_plan_inputs() {
    let (live, file, text) = saved_plan();
    let export = |path: &Path, extra: &[&str]| export_saved(&live, path, extra);
    // From stdin, the same file exports as from its path.
    let from_stdin = run_in(
        &live.home,
        &["export", "--format", "terraform", "-"],
        text.as_bytes(),
        &[],
    );
    assert_eq!(from_stdin.code, 0, "{}", from_stdin.stderr);
    assert_eq!(from_stdin.stdout, export(&file, &[]).stdout);
    // Plan inputs cannot reshape a saved plan.
    for extra in [
        &["--keep-existing-entries"][..],
        &["--cluster", "prod"],
        &["--overrides", "o.yaml"],
    ] {
        let r = export(&file, extra);
        assert_eq!(r.code, 1, "{extra:?}: {}", r.stdout);
        assert!(r.stderr.contains("cannot be used with"), "{}", r.stderr);
    }
    // --cluster-name still names the cluster in the code.
    let r = export(&file, &["--cluster-name", "other"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("default     = \"other\""), "{}", r.stdout);
}

/// A live cluster and its plan saved by `plan --out`: (cluster, file, text).
fn saved_plan() -> (crate::live::Live, std::path::PathBuf, String) {
    use crate::apply::{api_world, kube, MAP_ROLES};
    let live = crate::live::start(api_world(), kube(MAP_ROLES));
    let file = live.home.join("plan.json");
    let r = live.run(&["plan", "--cluster", "prod", "--out", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&file).unwrap();
    (live, file, text)
}

/// `export --format terraform PATH EXTRA...` against `live`.
fn export_saved(live: &crate::live::Live, path: &Path, extra: &[&str]) -> crate::Run {
    let args = [
        &["export", "--format", "terraform", path.to_str().unwrap()][..],
        extra,
    ]
    .concat();
    live.run(&args)
}

/// Where @cdktf/hcl2json (HashiCorp's HCL parser, from the npm registry) is
/// installed for the tests: once, under the target directory.
fn hcl2json() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hcl2json");
    if !dir.join("node_modules/@cdktf/hcl2json").exists() {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("package.json"), "{\"private\": true}\n").unwrap();
        let npm = Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund"])
            .arg("@cdktf/hcl2json@0.21.0")
            .current_dir(&dir)
            .status()
            .expect("npm runs (.ci/run installs Node.js)");
        assert!(npm.success(), "cannot install @cdktf/hcl2json");
    }
    dir
}

#[test]
fn every_terraform_export_parses_with_hashicorps_own_hcl_parser() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(testdata().join("cases"))
        .unwrap()
        .flat_map(|e| {
            let case = e.unwrap().path();
            [case.join("expected.tf"), case.join("expected.module.tf")]
        })
        .filter(|p| p.exists())
        .collect();
    files.sort();
    assert!(files.len() >= 70, "{}", files.len());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/data/hcl_parse.mjs");
    let out = Command::new("node")
        .arg(script)
        .arg(hcl2json())
        .args(&files)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: Value = serde_json::from_slice(&out.stdout).unwrap();
    for f in &files {
        let blocks = &parsed[f.to_str().unwrap()];
        let want = if f.ends_with("expected.tf") {
            "variable"
        } else {
            "locals"
        };
        assert!(
            blocks.as_array().unwrap().iter().any(|b| b == want),
            "{}: {blocks}",
            f.display()
        );
    }
}
