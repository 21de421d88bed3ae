//! `fleet` against the emulators: clusters in two accounts and two regions
//! (one name used three times), each with its own Kubernetes API reached
//! with an EKS token signed by the role assumed into its account; named and
//! discovered clusters, a cluster that fails without stopping the others,
//! and shards that split the fleet.

use std::collections::BTreeMap;
use std::path::Path;

use emulator::{sample_cluster, Aws, AwsWorld, Kube, KubeWorld};
use serde_json::Value;

use crate::live::{ACCT, KEY};
use crate::{run_in, Run};

const OTHER: &str = "444455556666";

/// An emulated cluster: account, region, name, mode, tags.
type Emulated = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// The emulated clusters.
const CLUSTERS: [Emulated; 7] = [
    (ACCT, "us-east-1", "prod-east", "CONFIG_MAP", &[]),
    (ACCT, "eu-west-1", "prod-eu", "API_AND_CONFIG_MAP", &[]),
    (OTHER, "us-east-1", "prod", "CONFIG_MAP", &[]),
    (OTHER, "eu-west-1", "prod", "API", &[]),
    (
        ACCT,
        "us-east-1",
        "dev-1",
        "CONFIG_MAP",
        &[("team", "platform")],
    ),
    (ACCT, "us-east-1", "dev-2", "CONFIG_MAP", &[]),
    (
        ACCT,
        "eu-west-1",
        "dev-3",
        "CONFIG_MAP",
        &[("team", "platform")],
    ),
];

/// The role each account is entered with, and the keys AssumeRole gives.
fn entry_role(account: &str) -> (String, String, String) {
    (
        format!("arn:aws:iam::{account}:role/migrate-auth"),
        format!("AKIAASSUMED{account}"),
        format!("secret-{account}"),
    )
}

/// The emulators of a fleet: one AWS, one Kubernetes API per cluster.
struct Fleet {
    _rt: tokio::runtime::Runtime,
    aws: Aws,
    _kubes: Vec<Kube>,
    home: crate::Scratch,
}

fn start() -> Fleet {
    start_with(&CLUSTERS)
}

/// The emulators of `clusters`; accounts ACCT and OTHER can be entered.
fn start_with(clusters: &[Emulated]) -> Fleet {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut w = AwsWorld::default();
    w.add_signed_credentials(KEY, "secret", &format!("arn:aws:iam::{ACCT}:user/operator"));
    // Every Kubernetes API knows LOCKED's key, for when it may be assumed.
    let (_, key, secret) = entry_role(LOCKED);
    let mut secrets = BTreeMap::from([(key, secret)]);
    for account in [ACCT, OTHER] {
        let (role, key, secret) = entry_role(account);
        w.add_role(&role)
            .add_role(&format!("arn:aws:iam::{account}:role/teams/developer"));
        w.assumable.insert(role, (key.clone(), secret.clone()));
        secrets.insert(key, secret);
    }
    let mut kubes = Vec::new();
    for &(account, region, name, mode, tags) in clusters {
        let mut k = KubeWorld {
            accept_eks_tokens: true,
            eks_cluster: name.into(),
            aws_secrets: secrets.clone(),
            ..KubeWorld::default()
        };
        if mode != "API" {
            let roles = format!("- rolearn: arn:aws:iam::{account}:role/developer\n  username: dev\n  groups: [developers]\n");
            k.put_config_map(
                "kube-system",
                "aws-auth",
                BTreeMap::from([("mapRoles".to_string(), roles)]),
            );
        }
        let kube = rt.block_on(Kube::start(k));
        let mut c = sample_cluster(name, account);
        c.region = region.into();
        c.authentication_mode = mode.into();
        c.endpoint = kube.endpoint();
        // The emulator speaks plain HTTP: no CA to trust.
        c.certificate_authority = String::new();
        c.tags = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        w.add_cluster(c);
        kubes.push(kube);
    }
    let aws = rt.block_on(Aws::start(w));
    let home = crate::Scratch::new("fleet");
    Fleet {
        _rt: rt,
        aws,
        _kubes: kubes,
        home,
    }
}

const FLEET: &str = r#"defaults: {region: us-east-1, assumeRole: "arn:aws:iam::{account}:role/migrate-auth"}
clusters:
  - {name: prod-east, account: "111122223333", wave: 1}
  - {name: prod-eu, region: eu-west-1, account: "111122223333", wave: 2}
  - {name: prod, account: "444455556666", wave: 2}
  - {name: prod, region: eu-west-1, account: "444455556666", wave: 2}
  - {name: ghost, account: "111122223333", wave: 1}
discover:
  - {accounts: ["111122223333"], regions: [us-east-1, eu-west-1], namePattern: "dev-*", tags: {team: platform}, wave: 3}
"#;

impl Fleet {
    /// Runs `migrate-auth fleet ARGS` in the fleet's home with no kubeconfig.
    /// The emulators' environment, with no kubeconfig.
    fn env(&self) -> Vec<(&'static str, String)> {
        let none = self.home.join("no-such-file").display().to_string();
        vec![
            ("AWS_ENDPOINT_URL", self.aws.endpoint()),
            ("AWS_ACCESS_KEY_ID", KEY.to_string()),
            ("AWS_SECRET_ACCESS_KEY", "secret".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_CONFIG_FILE", none.clone()),
            ("AWS_SHARED_CREDENTIALS_FILE", none.clone()),
            ("HOME", self.home.display().to_string()),
            ("KUBECONFIG", none),
        ]
    }

    /// `migrate-auth fleet ARGS` with the emulators' environment, to spawn.
    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_migrate-auth"));
        c.arg("fleet")
            .args(args)
            .envs(self.env())
            .current_dir(&self.home);
        c
    }

    /// Runs `migrate-auth fleet ARGS` in the fleet's home with no kubeconfig.
    fn run(&self, args: &[&str]) -> Run {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let args: Vec<&str> = ["fleet"].iter().chain(args).copied().collect();
        run_in(&self.home, &args, b"", &env)
    }

    fn fleet_file(&self) -> String {
        let path = self.home.join("fleet.yaml");
        std::fs::write(&path, FLEET).unwrap();
        path.display().to_string()
    }
}

fn summary(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

/// (cluster, account, region, result) of each summary row.
fn rows(s: &Value) -> Vec<(String, String, String, String)> {
    s["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let f = |k: &str| r[k].as_str().unwrap().to_string();
            (f("cluster"), f("account"), f("region"), f("result"))
        })
        .collect()
}

#[test]
fn fleet_plan_plans_every_cluster_and_one_failure_stops_none() {
    let fleet = start();
    let file = fleet.fleet_file();
    let dir = fleet.home.join("run");
    let r = fleet.run(&[
        "plan",
        "--fleet",
        &file,
        "--run-dir",
        dir.to_str().unwrap(),
        "--parallel",
        "3",
    ]);
    assert_eq!(
        r.code, 1,
        "the ghost cluster failed:\n{}\n{}",
        r.stdout, r.stderr
    );
    assert!(
        r.stderr.contains("1 of 7 clusters could not be planned"),
        "{}",
        r.stderr
    );
    // IAM is read once per account for all its clusters, not per principal.
    let ops = fleet.aws.calls_by_operation();
    assert_eq!(ops.get("ListRoles"), Some(&2), "{ops:?}");
    assert!(!ops.contains_key("GetRole"), "{ops:?}");
    let s = summary(&dir);
    let got = rows(&s);
    let planned = |c: &str, a: &str, reg: &str| {
        (
            c.to_string(),
            a.to_string(),
            reg.to_string(),
            "planned".to_string(),
        )
    };
    // Wave order, then account, region and name; dev-2 has no team tag.
    assert_eq!(
        got,
        vec![
            (
                "ghost".into(),
                ACCT.into(),
                "us-east-1".into(),
                "failed".into()
            ),
            planned("prod-east", ACCT, "us-east-1"),
            planned("prod-eu", ACCT, "eu-west-1"),
            planned("prod", OTHER, "eu-west-1"),
            planned("prod", OTHER, "us-east-1"),
            planned("dev-3", ACCT, "eu-west-1"),
            planned("dev-1", ACCT, "us-east-1"),
        ]
    );
    let ghost = &s["clusters"][0];
    // Naming the fleet file's keys, which are what a fleet's operator sets.
    let error = ghost["error"].as_str().unwrap();
    assert!(
        error.contains("was not found in account 111122223333, region us-east-1")
            && error.contains("`assumeRole`"),
        "{ghost}"
    );
    assert_eq!(s["counts"]["planned"], 6);
    assert_eq!(s["counts"]["failed"], 1);
    each_plan_is_its_own(&dir, &s);
    // The text summary, fleet.json and the Markdown comment.
    assert!(r.stdout.contains("7 clusters: 6 planned"), "{}", r.stdout);
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("fleet.json")).unwrap()).unwrap();
    assert_eq!(record["clusters"].as_array().unwrap().len(), 7);
    assert_eq!(record["fingerprint"].as_str().unwrap().len(), 64);
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(
        md.contains("| cluster | account | region |") && md.matches("<details>").count() == 7,
        "{md}"
    );
}

/// Each cluster's folder has its own plan, read with its own account's
/// role; a migrated cluster has nothing to do, the others switch and create.
fn each_plan_is_its_own(dir: &Path, s: &Value) {
    // Each cluster's plan is its own, read with its own account's role.
    for (account, region, name) in [
        (OTHER, "us-east-1", "prod"),
        (OTHER, "eu-west-1", "prod"),
        (ACCT, "eu-west-1", "dev-3"),
    ] {
        let folder = dir.join(account).join(region).join(name);
        let plan: Value =
            serde_json::from_str(&std::fs::read_to_string(folder.join("plan.json")).unwrap())
                .unwrap();
        assert_eq!(plan["currentState"]["cluster"], name);
        assert_eq!(
            plan["cluster"]["accountId"],
            account,
            "{}: {}",
            folder.display(),
            plan["cluster"]
        );
        assert!(folder.join("plan.txt").exists() && folder.join("plan-result.json").exists());
        let caller = plan["currentState"]["caller"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            caller.contains(&format!("sts::{account}:assumed-role/migrate-auth")),
            "{caller}"
        );
    }
    // The migrated one has nothing to do; the others switch and create.
    let by = |name: &str, region: &str| {
        s["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["cluster"] == name && r["region"] == region)
            .unwrap()
            .clone()
    };
    assert_eq!(
        (
            by("prod", "eu-west-1")["add"].as_u64(),
            by("prod", "eu-west-1")["modeAfter"].as_str()
        ),
        (Some(0), Some("API"))
    );
    assert_eq!(by("prod", "us-east-1")["modeAfter"], "API_AND_CONFIG_MAP");
    assert_eq!(by("prod", "us-east-1")["add"], 1);
}

#[test]
fn shards_split_the_fleet_and_together_cover_it() {
    let fleet = start();
    let file = fleet.fleet_file();
    let mut seen = Vec::new();
    for k in 1..=3 {
        let dir = fleet.home.join(format!("shard-{k}"));
        let shard = format!("{k}/3");
        let r = fleet.run(&[
            "plan",
            "--fleet",
            &file,
            "--run-dir",
            dir.to_str().unwrap(),
            "--shard",
            &shard,
            "-o",
            "json",
        ]);
        assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
        let s: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(s, summary(&dir), "stdout is the summary");
        seen.extend(rows(&s).into_iter().map(|(c, a, reg, _)| (c, a, reg)));
    }
    seen.sort();
    let mut want: Vec<(String, String, String)> = CLUSTERS
        .iter()
        .filter(|c| c.2 != "dev-2")
        .map(|(a, reg, c, ..)| (c.to_string(), a.to_string(), reg.to_string()))
        .chain([(
            "ghost".to_string(),
            ACCT.to_string(),
            "us-east-1".to_string(),
        )])
        .collect();
    want.sort();
    assert_eq!(seen, want, "each cluster in exactly one shard");
}

#[test]
fn a_bad_fleet_file_names_its_line_and_plans_nothing() {
    let fleet = start();
    let path = fleet.home.join("bad.yaml");
    std::fs::write(
        &path,
        "clusters:\n  - {name: a, account: \"111122223333\", regoin: us-east-1}\n",
    )
    .unwrap();
    let r = fleet.run(&["plan", "--fleet", path.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("bad.yaml:2: unknown key `regoin`"),
        "{}",
        r.stderr
    );
    assert_eq!(fleet.aws.calls(), 0);
}

/// The fleet without the missing cluster: every cluster can be applied.
const FLEET_APPLY: &str = r#"defaults: {region: us-east-1, assumeRole: "arn:aws:iam::{account}:role/migrate-auth"}
clusters:
  - {name: prod-east, account: "111122223333", wave: 1}
  - {name: prod-eu, region: eu-west-1, account: "111122223333", wave: 2}
  - {name: prod, account: "444455556666", wave: 2}
  - {name: prod, region: eu-west-1, account: "444455556666", wave: 2}
discover:
  - {accounts: ["111122223333"], regions: [us-east-1, eu-west-1], namePattern: "dev-*", tags: {team: platform}, wave: 3}
"#;

impl Fleet {
    fn apply(&self, dir: &Path) -> Run {
        let path = self.home.join("fleet-apply.yaml");
        std::fs::write(&path, FLEET_APPLY).unwrap();
        self.apply_file(&path, dir, &["--parallel", "1"])
    }

    /// (name, region) -> the cluster's mode and its access entries' principals.
    fn state(&self) -> BTreeMap<(String, String), (String, Vec<String>)> {
        self.aws
            .world()
            .clusters
            .values()
            .map(|c| {
                let entries = c.access_entries.keys().cloned().collect();
                (
                    (c.name.clone(), format!("{}/{}", c.account, c.region)),
                    (c.authentication_mode.clone(), entries),
                )
            })
            .collect()
    }
}

/// (cluster, result) of each row of a fleet apply summary.
fn results(s: &Value) -> Vec<(String, String)> {
    s["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["cluster"].as_str().unwrap().into(),
                r["result"].as_str().unwrap().into(),
            )
        })
        .collect()
}

/// Every cluster of the fleet is migrated (its developer's entry, its mode);
/// dev-2, not in the fleet, is untouched.
fn every_cluster_converged(fleet: &Fleet) {
    let after = fleet.state();
    for (account, region, name, mode, _) in CLUSTERS.iter().filter(|c| c.2 != "dev-2") {
        let (now, entries) = &after[&(name.to_string(), format!("{account}/{region}"))];
        let want = if *mode == "API" {
            "API"
        } else {
            "API_AND_CONFIG_MAP"
        };
        assert_eq!(now, want, "{name} {region}");
        if *mode != "API" {
            let dev = format!("arn:aws:iam::{account}:role/teams/developer");
            assert!(entries.contains(&dev), "{name} {region}: {entries:?}");
        }
    }
    // dev-2 is not in the fleet (no team tag): untouched.
    assert_eq!(
        after[&("dev-2".into(), format!("{ACCT}/us-east-1"))].0,
        "CONFIG_MAP"
    );
}

#[test]
fn a_failed_wave_stops_the_next_and_a_second_run_resumes_to_the_end() {
    let fleet = start();
    let dir = fleet.home.join("apply");
    // prod-east (wave 1, alone): its switch is made, then its first entry
    // is refused. It is rolled back as far as it goes (the switch is
    // one-way), and the later waves do not start.
    fleet.aws.set_faults(emulator::Faults {
        reject_write: Some(2),
        ..emulator::Faults::default()
    });
    let r = fleet.apply(&dir);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let s: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(s, summary(&dir));
    let got = results(&s);
    assert_eq!(got[0], ("prod-east".into(), "leftInPlace".into()), "{s:#}");
    // In a log, each cluster is a timestamped line as it starts and ends.
    let said = |what: &str| {
        r.stderr
            .lines()
            .any(|l| l.ends_with("s)") && l.contains(what) && l.as_bytes().get(19) == Some(&b'Z'))
    };
    assert!(
        said("prod-east (111122223333 us-east-1): leftInPlace ("),
        "{}",
        r.stderr
    );
    assert!(got[1..].iter().all(|(_, r)| r == "notStarted"), "{got:?}");
    assert!(s["clusters"][1]["error"]
        .as_str()
        .unwrap()
        .contains("wave 1 did not succeed"));
    let east = dir.join(ACCT).join("us-east-1").join("prod-east");
    for f in ["journal", "log", "result.json"] {
        assert!(east.join(f).exists(), "{f}");
    }
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(east.join("result.json")).unwrap()).unwrap();
    assert!(
        result["leftInPlace"][0]["why"]
            .as_str()
            .unwrap()
            .contains("one-way"),
        "{result:#}"
    );
    let before = fleet.state();
    assert_eq!(
        before[&("prod".into(), format!("{OTHER}/us-east-1"))].0,
        "CONFIG_MAP",
        "not started"
    );

    // The cause fixed, the same run directory resumes and finishes.
    fleet.aws.set_faults(emulator::Faults::default());
    let r = fleet.apply(&dir);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let s: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        results(&s)
            .iter()
            .all(|(_, r)| r == "done" || r == "nothingToDo"),
        "{s:#}"
    );
    every_cluster_converged(&fleet);

    // A third run finds everything done earlier and changes nothing.
    let writes = fleet.aws.writes();
    let r = fleet.apply(&dir);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        s["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["earlier"] == true),
        "{s:#}"
    );
    assert_eq!(fleet.aws.writes(), writes);
}

/// `fleet apply` keeps, per cluster, the plan it applied (JSON and text),
/// and its summary says each cluster's mode before and after, and the plan's
/// errors and warnings, as the plan itself says them.
#[test]
fn fleet_apply_keeps_each_plan_and_summarises_modes_and_findings() {
    let fleet = start();
    let dir = fleet.home.join("apply");
    let r = fleet.apply(&dir);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let s: Value = serde_json::from_str(&r.stdout).unwrap();
    let mut switched = 0;
    for row in s["clusters"].as_array().unwrap() {
        let folder = dir.join(row["dir"].as_str().unwrap());
        let plan: Value =
            serde_json::from_str(&std::fs::read_to_string(folder.join("plan.json")).unwrap())
                .unwrap();
        let text = std::fs::read_to_string(folder.join("plan.txt")).unwrap();
        assert!(!text.is_empty() && !text.contains('\u{1b}'), "{text}");
        let before = plan["currentState"]["authenticationMode"].clone();
        assert_eq!(row["modeBefore"], before, "{row}");
        let want_after = match plan["authenticationMode"]["to"].as_str() {
            Some(to) => to.to_string(),
            None => before.as_str().unwrap().to_string(),
        };
        assert_eq!(row["modeAfter"], want_after.as_str(), "{row}");
        switched += usize::from(row["modeBefore"] != row["modeAfter"]);
        assert_eq!(row["errors"], plan["summary"]["errors"], "{row}");
        assert_eq!(row["warnings"], plan["summary"]["warnings"], "{row}");
    }
    assert!(switched >= 3, "{s:#}");
    let text = fleet.run(&["status", dir.to_str().unwrap()]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let report = fleet.run(&["report", dir.to_str().unwrap()]);
    assert!(
        report.stdout.contains("CONFIG_MAP -> API_AND_CONFIG_MAP")
            && report.stdout.contains("WARNINGS"),
        "{}",
        report.stdout
    );
}

#[test]
fn fleet_status_then_fleet_rollback_restores_every_cluster() {
    let fleet = start();
    let dir = fleet.home.join("apply");
    let before = fleet.state();
    let r = fleet.apply(&dir);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let status = |fleet: &Fleet| -> Vec<String> {
        let r = fleet.run(&["status", dir.to_str().unwrap(), "-o", "json"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let s: Value = serde_json::from_str(&r.stdout).unwrap();
        s["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["state"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        status(&fleet)
            .iter()
            .all(|s| s == "applied: done" || s == "applied: nothingToDo"),
        "{:?}",
        status(&fleet)
    );
    let r = fleet.run(&["rollback", dir.to_str().unwrap(), "--yes", "-o", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let s: Value = serde_json::from_str(&r.stdout).unwrap();
    // Newest wave first.
    let waves: Vec<u64> = s["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["wave"].as_u64().unwrap())
        .collect();
    assert!(waves.windows(2).all(|w| w[0] >= w[1]), "{waves:?}");
    // Every entry the runs made is gone; modes stay (one-way), and say so.
    let after = fleet.state();
    for (key, (mode, entries)) in &after {
        let (was_mode, was) = &before[key];
        let made: Vec<&String> = entries
            .iter()
            .filter(|e| {
                !was.contains(e) && !e.contains("NodeRole") && !e.contains("cluster-creator")
            })
            .collect();
        assert!(made.is_empty(), "{key:?}: {made:?}");
        if was_mode == "CONFIG_MAP" && key.0 != "dev-2" {
            assert_eq!(mode, "API_AND_CONFIG_MAP", "{key:?}");
        }
    }
    // The migrated cluster had nothing to do: there is nothing to undo.
    assert!(
        status(&fleet)
            .iter()
            .all(|s| s.starts_with("rolledBack: ") || s == "applied: nothingToDo"),
        "{:?}",
        status(&fleet)
    );
}

#[test]
fn shards_merge_into_the_summary_of_one_run() {
    let fleet = start();
    let file = fleet.fleet_file();
    let one = fleet.home.join("one");
    fleet.run(&["plan", "--fleet", &file, "--run-dir", one.to_str().unwrap()]);
    let mut dirs = Vec::new();
    for k in 1..=3 {
        let dir = fleet.home.join(format!("part-{k}"));
        let shard = format!("{k}/3");
        fleet.run(&[
            "plan",
            "--fleet",
            &file,
            "--run-dir",
            dir.to_str().unwrap(),
            "--shard",
            &shard,
        ]);
        dirs.push(dir.to_str().unwrap().to_string());
    }
    let mut args = vec!["report", "-o", "json"];
    args.extend(dirs.iter().map(String::as_str));
    let r = fleet.run(&args);
    assert_eq!(r.code, 1, "the ghost cluster failed: {}", r.stderr);
    let without_time = |mut v: Value| {
        for c in v["clusters"].as_array_mut().unwrap() {
            c.as_object_mut().unwrap().remove("seconds");
        }
        v
    };
    let merged = without_time(serde_json::from_str(&r.stdout).unwrap());
    assert_eq!(merged, without_time(summary(&one)));
    // A run directory given twice overlaps itself.
    let first = dirs
        .iter()
        .find(|d| {
            summary(Path::new(d))["clusters"]
                .as_array()
                .is_some_and(|c| !c.is_empty())
        })
        .unwrap();
    let r = fleet.run(&["report", first, first]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("shard") && r.stderr.contains("twice"),
        "{}",
        r.stderr
    );
    // A shard left out: the report would pass for the whole fleet.
    let r = fleet.run(&["report", &dirs[0], &dirs[2]]);
    assert_eq!((r.code, r.stdout.as_str()), (1, ""), "{}", r.stderr);
    assert!(r.stderr.contains("shard 2 of 3 is missing"), "{}", r.stderr);
    // A whole run with a shard of it, and shards of different fleets.
    let r = fleet.run(&["report", one.to_str().unwrap(), &dirs[1]]);
    assert_eq!((r.code, r.stdout.as_str()), (1, ""), "{}", r.stderr);
    assert!(r.stderr.contains("not a shard"), "{}", r.stderr);
    let other = fleet.home.join("other.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let first_cluster = text.lines().find(|l| l.contains("name:")).unwrap();
    std::fs::write(&other, text.replace(&format!("{first_cluster}\n"), "")).unwrap();
    let elsewhere = fleet.home.join("other-2");
    fleet.run(&[
        "plan",
        "--fleet",
        other.to_str().unwrap(),
        "--run-dir",
        elsewhere.to_str().unwrap(),
        "--shard",
        "2/3",
    ]);
    let r = fleet.run(&["report", &dirs[0], elsewhere.to_str().unwrap(), &dirs[2]]);
    assert_eq!((r.code, r.stdout.as_str()), (1, ""), "{}", r.stderr);
    assert!(r.stderr.contains("another fleet"), "{}", r.stderr);
}

/// 50 clusters over 3 regions and 2 accounts, mixed modes, and 2 clusters
/// of an account the operator cannot enter (AssumeRole is denied).
fn fifty() -> Vec<Emulated> {
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let mut out: Vec<Emulated> = (0..50)
        .map(|i| {
            let account = [ACCT, OTHER][i % 2];
            let region = ["us-east-1", "eu-west-1", "ap-southeast-2"][i % 3];
            let mode = match i % 5 {
                0 => "API",
                1 => "API_AND_CONFIG_MAP",
                _ => "CONFIG_MAP",
            };
            (account, region, leak(format!("c-{i:02}")), mode, &[][..])
        })
        .collect();
    for i in 0..2 {
        out.push((
            LOCKED,
            "us-east-1",
            leak(format!("x-{i}")),
            "CONFIG_MAP",
            &[][..],
        ));
    }
    out
}

/// An account whose entry role nobody may assume (until the test allows it).
const LOCKED: &str = "777788889999";

/// The fleet file of `clusters`: the first five in wave 1, the rest in 2.
fn fleet_file_of(clusters: &[Emulated]) -> String {
    let mut f = String::from(
        "defaults: {assumeRole: \"arn:aws:iam::{account}:role/migrate-auth\"}\nclusters:\n",
    );
    for (i, (account, region, name, ..)) in clusters.iter().enumerate() {
        let wave = if i < 5 { 1 } else { 2 };
        f.push_str(&format!(
            "  - {{name: {name}, account: \"{account}\", region: {region}, wave: {wave}}}\n"
        ));
    }
    f
}

impl Fleet {
    fn apply_file(&self, file: &Path, dir: &Path, extra: &[&str]) -> Run {
        let (file, dir) = (file.to_str().unwrap(), dir.to_str().unwrap());
        let mut args = vec![
            "apply",
            "--fleet",
            file,
            "--run-dir",
            dir,
            "--yes",
            "--poll-interval",
            "20ms",
            "-o",
            "json",
        ];
        args.extend(extra);
        self.run(&args)
    }
}

/// The healthy clusters converged despite the throttling; c-07, c-11, x-0
/// and x-1 are as they were.
fn healthy_ones_converged(fleet: &Fleet, clusters: &[Emulated]) {
    let mid = fleet.state();
    for (account, region, name, mode, _) in clusters {
        let key = (name.to_string(), format!("{account}/{region}"));
        let healthy = !["c-07", "c-11", "x-0", "x-1"].contains(name);
        let want = match (*mode, healthy) {
            ("API", _) => "API",
            (_, true) => "API_AND_CONFIG_MAP",
            (m, false) => m,
        };
        assert_eq!(mid[&key].0, want, "{key:?}");
        if healthy && *mode != "API" {
            assert!(
                mid[&key]
                    .1
                    .contains(&format!("arn:aws:iam::{account}:role/teams/developer")),
                "{key:?}"
            );
        }
    }
}

/// c-11 (already API_AND_CONFIG_MAP) gets a second mapping, and refuses
/// its second write.
fn c11_refuses_its_second_write(fleet: &Fleet) {
    let c11 = format!("arn:aws:eks:ap-southeast-2:{OTHER}:cluster/c-11");
    fleet.aws.with_world(|w| {
        w.add_role(&format!("arn:aws:iam::{OTHER}:role/teams/ops"));
        w.reject_cluster_write = Some((c11.clone(), 2, 0));
    });
    fleet._kubes[11].with_world(|k| {
        let roles = format!("- rolearn: arn:aws:iam::{OTHER}:role/developer\n  username: dev\n  groups: [developers]\n- rolearn: arn:aws:iam::{OTHER}:role/ops\n  username: ops\n  groups: [ops]\n");
        k.put_config_map("kube-system", "aws-auth", BTreeMap::from([("mapRoles".to_string(), roles)]));
    });
}

/// c-11's first entry was made, its second refused, and the first undone:
/// its journal says so, and its entries are as `before`.
fn c11_was_undone(
    fleet: &Fleet,
    dir: &Path,
    before: &BTreeMap<(String, String), (String, Vec<String>)>,
) {
    let key = ("c-11".to_string(), format!("{OTHER}/ap-southeast-2"));
    assert_eq!(fleet.state()[&key], before[&key]);
    let journal =
        std::fs::read_to_string(dir.join(OTHER).join("ap-southeast-2/c-11/journal")).unwrap();
    // The two steps run side by side: their records interleave.
    let records: Vec<Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kind = |r: &Value| r["record"].as_str().unwrap().to_string();
    assert_eq!(kind(&records[0]), "begin");
    assert_eq!(records.last().unwrap()["ending"], "rolledBack");
    let mut kinds: Vec<String> = records.iter().map(kind).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "begin",
            "done",
            "end",
            "failed",
            "intent",
            "intent",
            "undoIntent",
            "undoIntent",
            "undone",
            "undone"
        ],
        "{journal}"
    );
    // The refused create is checked and found not made; the made one is
    // deleted.
    let undone = |result: &str| {
        records
            .iter()
            .filter(|r| r["record"] == "undone" && r["result"] == result)
            .count()
    };
    assert_eq!(
        (undone("nothingToDo"), undone("restored")),
        (1, 1),
        "{journal}"
    );
}

#[test]
fn fifty_clusters_with_faults_converge_resume_after_a_kill_and_roll_back() {
    let clusters = fifty();
    let fleet = start_with(&clusters);
    let file = fleet.home.join("fifty.yaml");
    std::fs::write(&file, fleet_file_of(&clusters)).unwrap();
    let dir = fleet.home.join("fifty");
    let before = fleet.state();
    // c-07 is not ACTIVE; every 7th AWS call is throttled; c-11 (two
    // mappings, already API_AND_CONFIG_MAP) refuses its second write.
    fleet
        .aws
        .with_world(|w| w.clusters.get_mut("c-07").unwrap().status = "CREATING".into());
    c11_refuses_its_second_write(&fleet);
    fleet.aws.set_faults(emulator::Faults {
        throttle_every: Some(7),
        ..emulator::Faults::default()
    });
    let r = fleet.apply_file(&file, &dir, &[]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let s: Value = serde_json::from_str(&r.stdout).unwrap();
    let failed: Vec<String> = results(&s)
        .into_iter()
        .filter(|(_, r)| r != "done" && r != "nothingToDo")
        .map(|(c, r)| format!("{c}:{r}"))
        .collect();
    // On a failure, the rows that did not succeed, with their errors, first
    // (a CI log shows the end of a message, and the whole summary is long).
    let why: Vec<String> = s["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["result"] != "done" && c["result"] != "nothingToDo")
        .map(|c| format!("{} {}: {}", c["cluster"], c["result"], c["error"]))
        .collect();
    assert_eq!(
        failed,
        [
            "c-11:rolledBack",
            "c-07:notChanged",
            "x-0:notChanged",
            "x-1:notChanged"
        ],
        "{s:#}\n{}",
        why.join("\n")
    );
    c11_was_undone(&fleet, &dir, &before);
    let denied = s["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cluster"] == "x-0")
        .unwrap();
    assert!(
        denied["error"].as_str().unwrap().contains("AccessDenied"),
        "{denied}"
    );
    healthy_ones_converged(&fleet, &clusters);
    // The causes fixed; a second run is killed part-way, a third finishes.
    fleet.aws.set_faults(emulator::Faults::default());
    fleet.aws.with_world(|w| {
        w.reject_cluster_write = None;
        w.clusters.get_mut("c-07").unwrap().status = "ACTIVE".into();
        let (role, key, secret) = entry_role(LOCKED);
        w.add_role(&role)
            .add_role(&format!("arn:aws:iam::{LOCKED}:role/teams/developer"));
        w.assumable.insert(role, (key, secret));
    });
    killed_part_way(&fleet, &file, &dir);
    let r = fleet.apply_file(&file, &dir, &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // Rolled back, every cluster is as before but for the one-way modes.
    let r = fleet.run(&[
        "rollback",
        dir.to_str().unwrap(),
        "--yes",
        "--parallel",
        "8",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    for (key, (_, entries)) in fleet.state() {
        let made: Vec<&String> = entries
            .iter()
            .filter(|e| !before[&key].1.contains(e) && e.contains("developer"))
            .collect();
        assert!(made.is_empty(), "{key:?}: {made:?}");
    }
}

/// Starts `fleet apply` and kills it (SIGKILL) as soon as x-1, the last
/// cluster, has journaled its run: part-way through it, its lock held.
fn killed_part_way(fleet: &Fleet, file: &Path, dir: &Path) {
    let journal = dir
        .join(LOCKED)
        .join("us-east-1")
        .join("x-1")
        .join("journal");
    assert!(!journal.exists(), "x-1 never started before");
    let (file, dir) = (file.to_str().unwrap(), dir.to_str().unwrap());
    let mut child = fleet
        .command(&[
            "apply",
            "--fleet",
            file,
            "--run-dir",
            dir,
            "--yes",
            "--poll-interval",
            "20ms",
            "--parallel",
            "1",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    // Once the run is journaled (a run killed before that holds a lock no
    // journal records, which is taken over only when it expires).
    let journaled = || std::fs::metadata(&journal).is_ok_and(|m| m.len() > 0);
    while !journaled() && started.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _ = child.kill();
    let status = child.wait().unwrap();
    assert!(status.code().is_none(), "killed, not finished: {status}");
}

#[test]
fn on_a_terminal_fleet_plan_shows_a_bar_and_each_cluster_as_it_ends() {
    let fleet = start();
    let file = fleet.fleet_file();
    let dir = fleet.home.join("tty");
    let (master, slave) = crate::openpty();
    let mut child = fleet
        .command(&["plan", "--fleet", &file, "--run-dir", dir.to_str().unwrap()])
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::from(slave))
        .spawn()
        .unwrap();
    let mut reader = std::fs::File::from(master);
    let screen = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = std::io::Read::read_to_end(&mut reader, &mut all);
        String::from_utf8_lossy(&all).to_string()
    });
    let status = child.wait().unwrap();
    drop(child);
    let screen = screen.join().unwrap();
    assert_eq!(status.code(), Some(1), "the ghost cluster: {screen}");
    assert!(screen.contains("Planning"), "{screen}");
    assert!(
        screen.contains("prod-eu (111122223333 eu-west-1): planned"),
        "{screen}"
    );
    assert!(
        screen.contains("ghost (111122223333 us-east-1): FAILED"),
        "{screen}"
    );
}

#[test]
fn a_cluster_reached_in_another_account_than_named_is_refused() {
    let fleet = start();
    // prod-eu is in ACCT; the file says OTHER, and enters ACCT's role.
    let path = fleet.home.join("wrong.yaml");
    std::fs::write(&path, format!("defaults: {{region: eu-west-1, assumeRole: \"arn:aws:iam::{ACCT}:role/migrate-auth\"}}\nclusters:\n  - {{name: prod-eu, account: \"{OTHER}\"}}\n")).unwrap();
    let dir = fleet.home.join("wrong");
    let before = fleet.state();
    let r = fleet.apply_file(&path, &dir, &[]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let s: Value = serde_json::from_str(&r.stdout).unwrap();
    let error = s["clusters"][0]["error"].as_str().unwrap();
    assert!(error.contains(&format!("reach arn:aws:eks:eu-west-1:{ACCT}:cluster/prod-eu, not arn:aws:eks:eu-west-1:{OTHER}:cluster/prod-eu")), "{error}");
    assert_eq!(fleet.state(), before, "nothing changed");
    let r = fleet.run(&[
        "plan",
        "--fleet",
        path.to_str().unwrap(),
        "--run-dir",
        fleet.home.join("wrong-plan").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
}

#[test]
fn what_was_rolled_back_or_asked_more_of_is_applied_again_and_plans_clobber_nothing() {
    let fleet = start();
    let dir = fleet.home.join("again");
    let r = fleet.apply(&dir);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // A plan into the same directory keeps the apply's results.
    let path = fleet.home.join("fleet-apply.yaml");
    let r = fleet.run(&[
        "plan",
        "--fleet",
        path.to_str().unwrap(),
        "--run-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let status = fleet.run(&["status", dir.to_str().unwrap()]);
    assert!(
        !status.stdout.contains("unfinished") && status.stdout.contains("applied: done"),
        "{}",
        status.stdout
    );
    // Rolled back, the clusters are applied again, not skipped as done.
    let r = fleet.run(&["rollback", dir.to_str().unwrap(), "--yes", "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(s["command"], "fleet rollback");
    let r = fleet.apply(&dir);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s: Value = serde_json::from_str(&r.stdout).unwrap();
    let again: Vec<&Value> = s["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["earlier"] == false)
        .collect();
    assert_eq!(again.len(), 5, "all but the migrated one: {s:#}");
    every_cluster_converged(&fleet);
    // Asked more of (the cleanup), every cluster is applied again. Here the
    // lockout guard refuses it: the role the fleet enters with has no entry,
    // and would lose the aws-auth mapping that lets it in.
    let (file, d) = (path.to_str().unwrap(), dir.to_str().unwrap());
    let r = fleet.run(&[
        "apply",
        "--fleet",
        file,
        "--run-dir",
        d,
        "--yes",
        "--poll-interval",
        "20ms",
        "--cleanup-aws-auth",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let s: Value = serde_json::from_str(&r.stdout).unwrap();
    let rows = s["clusters"].as_array().unwrap();
    assert!(rows.iter().all(|c| c["earlier"] == false), "{s:#}");
    assert!(
        rows[0]["error"]
            .as_str()
            .unwrap()
            .contains("lockout guard refused"),
        "{s:#}"
    );
}

#[test]
fn an_edited_fleet_json_with_a_path_for_a_name_is_refused() {
    let fleet = start();
    let dir = fleet.home.join("edited");
    let file = fleet.fleet_file();
    fleet.run(&["plan", "--fleet", &file, "--run-dir", dir.to_str().unwrap()]);
    let record = std::fs::read_to_string(dir.join("fleet.json")).unwrap();
    std::fs::write(
        dir.join("fleet.json"),
        record.replace("\"prod-east\"", "\"../../../outside\""),
    )
    .unwrap();
    for args in [
        vec!["status", dir.to_str().unwrap()],
        vec!["rollback", dir.to_str().unwrap(), "--yes"],
    ] {
        let r = fleet.run(&args);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stdout);
        assert!(
            r.stderr
                .contains("is not a cluster this tool would have recorded"),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn max_failures_stops_starting_clusters() {
    let clusters: Vec<Emulated> = vec![
        (ACCT, "us-east-1", "c-0", "CONFIG_MAP", &[]),
        (LOCKED, "us-east-1", "x-0", "CONFIG_MAP", &[]),
        (LOCKED, "us-east-1", "x-1", "CONFIG_MAP", &[]),
    ];
    let fleet = start_with(&clusters);
    let file = fleet.home.join("three.yaml");
    std::fs::write(&file, fleet_file_of(&clusters)).unwrap();
    let dir = fleet.home.join("three");
    let r = fleet.apply_file(&file, &dir, &["--parallel", "1", "--max-failures", "1"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let s: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        results(&s),
        [
            ("c-0".to_string(), "done".to_string()),
            ("x-0".into(), "notChanged".into()),
            ("x-1".into(), "notStarted".into())
        ]
    );
    assert!(s["clusters"][2]["error"]
        .as_str()
        .unwrap()
        .contains("--max-failures was reached"));
    assert!(
        !dir.join(LOCKED)
            .join("us-east-1")
            .join("x-1")
            .join("log")
            .exists(),
        "x-1 never ran"
    );
}

/// A mode switch holds its turn under the account and region's limit only
/// for its UpdateClusterConfig, not through the wait for the update (each
/// poll takes a turn of its own). Held through the wait, with --concurrency
/// 1 (a limit of 4), four clusters switching at once held all four turns and
/// each waited for a fifth, forever: --wait-timeout cannot end a wait for a
/// turn (found by an independent review).
#[test]
fn mode_switches_of_one_account_and_region_do_not_deadlock_on_their_limit() {
    let clusters: Vec<Emulated> = (0..6)
        .map(|i| {
            let name: &'static str = Box::leak(format!("sw-{i}").into_boxed_str());
            (ACCT, "us-east-1", name, "CONFIG_MAP", &[][..])
        })
        .collect();
    let fleet = start_with(&clusters);
    // Each update stays InProgress for a while: the switches overlap.
    fleet.aws.with_world(|w| {
        for c in w.clusters.values_mut() {
            c.update_polls = 20;
        }
    });
    let path = fleet.home.join("switch.yaml");
    std::fs::write(
        &path,
        fleet_file_of(&clusters).replace("wave: 2", "wave: 1"),
    )
    .unwrap();
    let dir = fleet.home.join("switch");
    let mut cmd = fleet.command(&[
        "apply",
        "--fleet",
        path.to_str().unwrap(),
        "--run-dir",
        dir.to_str().unwrap(),
        "--yes",
        "--poll-interval",
        "50ms",
        "--wait-timeout",
        "20s",
        "--parallel",
        "8",
        "--concurrency",
        "1",
        "-o",
        "json",
    ]);
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let modes: Vec<String> = fleet.state().values().map(|(m, _)| m.clone()).collect();
    assert!(
        status.is_some(),
        "fleet apply still running after 60 s (wait-timeout 20 s): deadlocked on the shared limit; modes {modes:?}"
    );
    assert_eq!(status.unwrap().code(), Some(0), "modes {modes:?}");
}
