//! `apply` and `rollback` against the emulators, through the real clients in
//! the binary: convergence and idempotence, the fault matrix (every change
//! failing in turn is rolled back exactly), a throttling storm, a process
//! killed mid-apply, stale plans, a concurrent aws-auth edit, the lockout
//! guard, and prompts (never hanging without a terminal; answered on a pty).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use emulator::{AccessEntry, AwsWorld, Faults, KubeWorld, Scope};

use crate::live::{kube_world, start, world, Live, ACCT, KEY};
use crate::Run;

const ADMIN_POLICY: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

const MAP_ROLES: &str = "- rolearn: arn:aws:iam::111122223333:role/NodeRole
  username: system:node:{{EC2PrivateDNSName}}
  groups: [system:bootstrappers, system:nodes]
- rolearn: arn:aws:iam::111122223333:role/platform-admin
  username: admin:{{SessionName}}
  groups: [system:masters]
- rolearn: arn:aws:iam::111122223333:role/developer
  username: dev:{{SessionName}}
  groups: [developers]
";

const MAP_USERS: &str = "- userarn: arn:aws:iam::111122223333:user/alice
  username: alice
  groups: [viewers]
";

fn role(name: &str) -> String {
    format!("arn:aws:iam::{ACCT}:role/{name}")
}

/// aws-auth with roles and users; the caller (platform-admin) is an admin.
fn kube(map_roles: &str) -> KubeWorld {
    let mut k = kube_world(None);
    let data = BTreeMap::from([
        ("mapRoles".to_string(), map_roles.to_string()),
        ("mapUsers".to_string(), MAP_USERS.to_string()),
    ]);
    k.put_config_map("kube-system", "aws-auth", data);
    k
}

/// A cluster already in API_AND_CONFIG_MAP: the node role's entry (EKS's)
/// exists, and the developer's, with another username.
fn api_world() -> AwsWorld {
    let mut w = world("API_AND_CONFIG_MAP");
    w.add_user(&format!("arn:aws:iam::{ACCT}:user/alice"));
    let c = w.clusters.get_mut("prod").unwrap();
    let node = role("NodeRole");
    c.access_entries.insert(
        node.clone(),
        AccessEntry {
            principal_arn: node,
            kind: "EC2_LINUX".into(),
            username: "system:node:{{EC2PrivateDNSName}}".into(),
            created_by_eks: true,
            ..AccessEntry::default()
        },
    );
    let mut dev = AccessEntry::standard(&role("developer"));
    dev.username = "old-name".into();
    dev.kubernetes_groups = vec!["developers".into()];
    c.access_entries.insert(role("developer"), dev);
    w
}

/// One entry as it shapes identity: type, username, groups, policies with scopes.
type Identity = (String, String, Vec<String>, BTreeMap<String, Scope>);

/// What identity the cluster gives: per entry (type, username, groups,
/// policies with scopes), the mode, and aws-auth's data byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    mode: String,
    entries: BTreeMap<String, Identity>,
    aws_auth: BTreeMap<String, String>,
}

fn state(live: &Live) -> State {
    let w = live.aws.world();
    let c = &w.clusters["prod"];
    let k = live.kube.world();
    State {
        mode: c.authentication_mode.clone(),
        entries: c
            .access_entries
            .iter()
            .map(|(arn, e)| {
                (
                    arn.clone(),
                    (
                        e.kind.clone(),
                        e.username.clone(),
                        e.kubernetes_groups.clone(),
                        e.policies.clone(),
                    ),
                )
            })
            .collect(),
        aws_auth: k
            .config_maps
            .get(&("kube-system".to_string(), "aws-auth".to_string()))
            .map(|c| c.data.clone())
            .unwrap_or_default(),
    }
}

impl Live {
    fn journal(&self) -> PathBuf {
        self.home.join("prod.journal")
    }

    /// `apply --cluster prod --yes` with a journal in the test's home.
    fn apply(&self, extra: &[&str]) -> Run {
        let journal = self.journal();
        let args = [
            &[
                "apply",
                "--cluster",
                "prod",
                "--yes",
                "--poll-interval",
                "20ms",
                "--journal",
                journal.to_str().unwrap(),
            ],
            extra,
        ]
        .concat();
        self.run(&args)
    }

    fn rollback(&self) -> Run {
        let journal = self.journal();
        self.run(&["rollback", "--yes", "--journal", journal.to_str().unwrap()])
    }
}

/// The state a clean apply of `extra` reaches, from fresh emulators.
fn planned(aws: AwsWorld, kube: KubeWorld, extra: &[&str]) -> State {
    let live = start(aws, kube);
    let r = live.apply(extra);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    state(&live)
}

#[test]
fn apply_converges_and_a_second_apply_changes_nothing() {
    let live = start(api_world(), kube(MAP_ROLES));
    let before = state(&live);
    let r = live.apply(&[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("Apply: 2 to add, 1 to change, 0 to destroy."),
        "{}",
        r.stdout
    );
    // The developer's username changes, shown as a diff.
    assert!(r.stdout.contains("- username: old-name"), "{}", r.stdout);
    assert!(
        r.stdout.contains("+ username: dev:{{SessionName}}"),
        "{}",
        r.stdout
    );
    let after = state(&live);
    let admin = &after.entries[&role("platform-admin")];
    assert_eq!(admin.1, "admin:{{SessionName}}");
    assert_eq!(admin.3.keys().collect::<Vec<_>>(), [ADMIN_POLICY]);
    assert_eq!(after.entries[&role("developer")].1, "dev:{{SessionName}}");
    assert!(after
        .entries
        .contains_key(&format!("arn:aws:iam::{ACCT}:user/alice")));
    // Without --cleanup-aws-auth, aws-auth is untouched.
    assert_eq!(after.aws_auth, before.aws_auth);
    // The journal is private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(live.journal())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let writes = live.aws.writes() + live.kube.writes();
    let again = live.apply(&[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    assert_eq!(
        live.aws.writes() + live.kube.writes(),
        writes,
        "the second apply wrote"
    );
    assert_eq!(state(&live), after);
}

#[test]
fn every_failing_change_is_rolled_back_exactly_and_a_rerun_converges() {
    let extra = ["--cleanup-aws-auth"];
    let goal = planned(api_world(), kube(MAP_ROLES), &extra);
    // Every mapping was migrated: both keys go.
    assert!(
        goal.aws_auth.is_empty(),
        "the cleanup removed the migrated mappings: {:?}",
        goal.aws_auth
    );
    // The changes: create admin, associate its policy, update developer,
    // create alice (4 EKS writes), then the aws-auth edit (1 Kubernetes write).
    let m = 5;
    for k in 1..=m {
        let live = start(api_world(), kube(MAP_ROLES));
        let before = state(&live);
        let fault = Faults {
            reject_write: Some(if k <= 4 { k } else { 1 }),
            ..Faults::default()
        };
        if k <= 4 {
            live.aws.set_faults(fault);
        } else {
            live.kube.set_faults(fault);
        }
        let r = live.apply(&extra);
        assert_eq!(
            r.code, 1,
            "change {k} failed, yet: {}\n{}",
            r.stdout, r.stderr
        );
        assert!(r.stderr.contains("failed"), "{}", r.stderr);
        assert!(r.stderr.contains("were undone"), "change {k}: {}", r.stderr);
        assert_eq!(
            state(&live),
            before,
            "after failing change {k}, the rollback restores all"
        );
        live.aws.set_faults(Faults::default());
        live.kube.set_faults(Faults::default());
        let r = live.apply(&extra);
        assert_eq!(
            r.code, 0,
            "re-run after change {k}: {}\n{}",
            r.stdout, r.stderr
        );
        assert_eq!(state(&live), goal, "the re-run after change {k} converges");
    }
}

#[test]
fn a_throttling_storm_converges_without_duplicates() {
    let goal = planned(api_world(), kube(MAP_ROLES), &["--cleanup-aws-auth"]);
    let live = start(api_world(), kube(MAP_ROLES));
    let storm = Faults {
        throttle_every: Some(3),
        ..Faults::default()
    };
    live.aws.set_faults(storm.clone());
    live.kube.set_faults(storm);
    let r = live.apply(&["--cleanup-aws-auth"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(state(&live), goal);
    let ops = live.aws.calls_by_operation();
    assert!(ops["CreateAccessEntry"] >= 2, "{ops:?}");
}

#[test]
fn a_config_map_cluster_switches_first_and_rollback_leaves_what_eks_made() {
    let mut w = world("CONFIG_MAP");
    w.add_user(&format!("arn:aws:iam::{ACCT}:user/alice"));
    w.clusters.get_mut("prod").unwrap().update_polls = 3;
    let live = start(w, kube(MAP_ROLES));
    let before = state(&live);
    let r = live.apply(&[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("~ authentication mode: CONFIG_MAP -> API_AND_CONFIG_MAP"),
        "{}",
        r.stdout
    );
    let after = state(&live);
    assert_eq!(after.mode, "API_AND_CONFIG_MAP");
    let world = live.aws.world();
    let entries = &world.clusters["prod"].access_entries;
    // EKS made the node role's and the creator's entries at the switch; the
    // node role's was adopted, not made again.
    assert!(entries[&role("NodeRole")].created_by_eks);
    assert!(entries[&role("cluster-creator")].created_by_eks);
    assert!(
        r.stdout
            .contains("already so: create EC2_LINUX access entry"),
        "{}",
        r.stdout
    );

    let rb = live.rollback();
    assert_eq!(rb.code, 0, "{}\n{}", rb.stdout, rb.stderr);
    assert!(
        rb.stdout.contains("mode changes are one-way"),
        "{}",
        rb.stdout
    );
    let undone = state(&live);
    assert_eq!(undone.mode, "API_AND_CONFIG_MAP", "a mode change stays");
    assert_eq!(undone.aws_auth, before.aws_auth);
    let left: Vec<&String> = undone.entries.keys().collect();
    assert_eq!(
        left,
        [&role("NodeRole"), &role("cluster-creator")],
        "only EKS's entries are left"
    );
    // Nothing more to undo.
    let again = live.rollback();
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("Nothing to undo"), "{}", again.stdout);
}

/// Starts apply in the background, slowed down, and kills it (SIGKILL) once
/// the journal records `done` changes.
fn kill_mid_apply(live: &Live, done: usize) {
    live.aws.set_faults(Faults {
        latency: Duration::from_millis(150),
        ..Faults::default()
    });
    let journal = live.journal();
    let env = live.env(&[]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_migrate-auth"))
        .args([
            "apply",
            "--cluster",
            "prod",
            "--yes",
            "--cleanup-aws-auth",
            "--journal",
            journal.to_str().unwrap(),
        ])
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(&journal).unwrap_or_default();
        if text.matches("\"record\":\"done\"").count() >= done {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "apply ended before it was killed"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "apply made no progress"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    live.aws.set_faults(Faults::default());
}

#[test]
fn a_killed_apply_can_be_rolled_back() {
    let live = start(api_world(), kube(MAP_ROLES));
    let before = state(&live);
    kill_mid_apply(&live, 2);
    assert_ne!(state(&live), before, "the killed run changed something");
    let r = live.rollback();
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(state(&live), before);
}

#[test]
fn a_killed_apply_is_resumed_by_apply() {
    let goal = planned(api_world(), kube(MAP_ROLES), &["--cleanup-aws-auth"]);
    let live = start(api_world(), kube(MAP_ROLES));
    kill_mid_apply(&live, 2);
    let r = live.apply(&["--cleanup-aws-auth"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("resumes"), "{}", r.stderr);
    assert_eq!(state(&live), goal);
    // Rollback now undoes the whole migration, both runs.
    let rb = live.rollback();
    assert_eq!(rb.code, 0, "{}\n{}", rb.stdout, rb.stderr);
    let fresh = start(api_world(), kube(MAP_ROLES));
    assert_eq!(state(&live), state(&fresh));
}

#[test]
fn a_stale_plan_is_refused_and_a_fresh_one_applies() {
    let live = start(api_world(), kube(MAP_ROLES));
    let file = live.home.join("plan.json");
    let r = live.run(&["plan", "--cluster", "prod", "--out", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Someone adds an entry and edits aws-auth.
    let intruder = role("intruder");
    live.aws.with_world(|w| {
        w.clusters
            .get_mut("prod")
            .unwrap()
            .access_entries
            .insert(intruder.clone(), AccessEntry::standard(&intruder));
    });
    let before = state(&live);
    let writes = live.aws.writes();
    let r = live.run(&["apply", "--yes", file.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("stale"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("access entry {intruder} was created")),
        "{}",
        r.stderr
    );
    assert_eq!(live.aws.writes(), writes);
    assert_eq!(state(&live), before);

    let r = live.run(&["plan", "--cluster", "prod", "--out", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let journal = live.journal();
    let r = live.run(&[
        "apply",
        "--yes",
        "--journal",
        journal.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(state(&live).entries.contains_key(&role("platform-admin")));
}

#[test]
fn a_concurrent_aws_auth_edit_is_not_overwritten() {
    let live = start(api_world(), kube(MAP_ROLES));
    let before = state(&live);
    let theirs = "- userarn: arn:aws:iam::111122223333:user/bob\n  username: bob\n".to_string();
    live.kube.with_world(|k| {
        k.concurrent_edit = Some((
            "kube-system".into(),
            "aws-auth".into(),
            "mapUsers".into(),
            theirs.clone(),
        ))
    });
    let r = live.apply(&["--cleanup-aws-auth"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("not overwritten"), "{}", r.stderr);
    let after = state(&live);
    assert_eq!(after.aws_auth["mapUsers"], theirs, "their edit stands");
    assert_eq!(after.aws_auth["mapRoles"], before.aws_auth["mapRoles"]);
    assert_eq!(
        after.entries, before.entries,
        "the run's entries were rolled back"
    );
}

/// The guard refuses `args` and changes nothing, saying `why`.
fn refused(live: &Live, args: &[&str], key: &str, why: &str) {
    let before = state(live);
    let journal = live.journal();
    let r = live.run_with(
        &[
            &[
                "apply",
                "--cluster",
                "prod",
                "--yes",
                "--journal",
                journal.to_str().unwrap(),
            ],
            args,
        ]
        .concat(),
        key,
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains(why), "wanted {why:?}: {}", r.stderr);
    assert_eq!(live.aws.writes() + live.kube.writes(), 0);
    assert_eq!(state(live), before);
}

const TO_API: [&str; 3] = ["--target-mode", "API", "--confirm-irreversible"];

#[test]
fn the_guard_refuses_to_lock_the_caller_out() {
    let mut w = api_world();
    let other = format!("arn:aws:iam::{ACCT}:role/outsider");
    w.add_role(&other)
        .add_signed_credentials("AKIAOUTSIDER", "secret", &other);
    let live = start(w, kube(MAP_ROLES));
    refused(&live, &TO_API, "AKIAOUTSIDER", "would lose access");
    refused(
        &live,
        &["--cleanup-aws-auth"],
        "AKIAOUTSIDER",
        "would lose access",
    );
}

#[test]
fn the_guard_refuses_when_nobody_keeps_cluster_admin() {
    let live = start(
        api_world(),
        kube(&MAP_ROLES.replace("system:masters", "ops")),
    );
    refused(&live, &TO_API, KEY, "nobody would keep cluster-admin");
}

#[test]
fn the_guard_refuses_while_an_error_finding_stands() {
    let roles = MAP_ROLES.replace("username: dev:{{SessionName}}", "username: system:dev");
    let live = start(api_world(), kube(&roles));
    refused(
        &live,
        &["--cleanup-aws-auth"],
        KEY,
        "an error finding stands",
    );
}

#[test]
fn the_switch_to_api_needs_its_own_confirmation_then_goes_through() {
    let live = start(api_world(), kube(MAP_ROLES));
    refused(
        &live,
        &["--target-mode", "API"],
        KEY,
        "--confirm-irreversible",
    );
    let r = live.apply(&TO_API);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("! authentication mode: API_AND_CONFIG_MAP -> API"),
        "{}",
        r.stdout
    );
    assert_eq!(state(&live).mode, "API");
}

#[test]
fn without_a_terminal_and_without_yes_nothing_waits_or_changes() {
    let live = start(api_world(), kube(MAP_ROLES));
    let started = Instant::now();
    let r = live.run(&["apply", "--cluster", "prod"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("no terminal"), "{}", r.stderr);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(live.aws.writes() + live.kube.writes(), 0);
}

/// Runs apply with stdin and stderr on a pseudo-terminal, typing `keys`.
fn on_a_terminal(live: &Live, args: &[&str], keys: &str) -> (i32, String) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty fills two descriptors we then own.
    let ok = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(ok, 0, "openpty");
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: both descriptors are fresh and owned here.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut child = Command::new(env!("CARGO_BIN_EXE_migrate-auth"))
        .args(args)
        .envs(live.env(&[("TERM", Some("dumb"))]))
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut writer = std::fs::File::from(master.try_clone().unwrap());
    let mut reader = std::fs::File::from(master);
    let screen = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        // EIO once the child closed its side.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&all).to_string()
    });
    // Type once the question is up (the plan is read first).
    std::thread::sleep(Duration::from_millis(1500));
    writer.write_all(keys.as_bytes()).unwrap();
    let started = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code().unwrap_or(-1);
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the prompt hung"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(writer);
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let _ = screen;
    (code, stdout)
}

#[test]
fn the_question_defaults_to_no_and_a_yes_applies() {
    let live = start(api_world(), kube(MAP_ROLES));
    let journal = live.journal();
    let args = [
        "apply",
        "--cluster",
        "prod",
        "--journal",
        journal.to_str().unwrap(),
    ];
    let (code, _) = on_a_terminal(&live, &args, "\r");
    assert_eq!(code, 1, "Enter takes the default, no");
    assert_eq!(live.aws.writes(), 0);
    let (code, stdout) = on_a_terminal(&live, &args, "y");
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("Apply complete"), "{stdout}");
    assert!(state(&live).entries.contains_key(&role("platform-admin")));
}

#[test]
fn after_the_switch_to_api_rollback_leaves_the_entries_that_let_people_in() {
    let live = start(api_world(), kube(MAP_ROLES));
    let before = state(&live);
    let r = live.apply(&[
        "--cleanup-aws-auth",
        "--target-mode",
        "API",
        "--confirm-irreversible",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let applied = state(&live);
    assert_eq!(applied.mode, "API");
    let rb = live.rollback();
    assert_eq!(rb.code, 0, "{}\n{}", rb.stdout, rb.stderr);
    assert!(
        rb.stdout.contains("the cluster is in API mode"),
        "{}",
        rb.stdout
    );
    let after = state(&live);
    // aws-auth comes back (harmless), the entries stay: without them nobody
    // aws-auth served could get in. The developer's update is undone.
    assert_eq!(after.aws_auth, before.aws_auth);
    assert!(after.entries.contains_key(&role("platform-admin")));
    assert_eq!(after.entries[&role("developer")].1, "old-name");
}

#[test]
fn no_rollback_leaves_the_changes_and_rollback_undoes_them_later() {
    let live = start(api_world(), kube(MAP_ROLES));
    let before = state(&live);
    // The third write: the developer's update.
    live.aws.set_faults(Faults {
        reject_write: Some(3),
        ..Faults::default()
    });
    let r = live.apply(&["--no-rollback"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains("left in place (--no-rollback)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.contains("FAILED: update access entry"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("not made: create STANDARD access entry"),
        "{}",
        r.stdout
    );
    let left = state(&live);
    assert_eq!(left.entries[&role("platform-admin")].3.len(), 1);
    live.aws.set_faults(Faults::default());
    let rb = live.rollback();
    assert_eq!(rb.code, 0, "{}\n{}", rb.stdout, rb.stderr);
    assert!(
        rb.stdout.contains("2 changes undone, 0 left"),
        "{}",
        rb.stdout
    );
    assert_eq!(state(&live), before);
}

#[test]
fn a_mode_update_that_does_not_finish_in_time_stops_the_run() {
    let mut w = world("CONFIG_MAP");
    w.add_user(&format!("arn:aws:iam::{ACCT}:user/alice"));
    w.clusters.get_mut("prod").unwrap().update_polls = 1_000_000;
    let live = start(w, kube(MAP_ROLES));
    let started = Instant::now();
    let r = live.apply(&["--wait-timeout", "300ms"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("still in progress"), "{}", r.stderr);
    assert!(started.elapsed() < Duration::from_secs(30));
    let s = state(&live);
    assert_eq!(s.mode, "CONFIG_MAP");
    assert!(
        s.entries.is_empty(),
        "nothing after the switch was attempted"
    );
    assert_eq!(live.aws.calls_by_operation()["UpdateClusterConfig"], 1);
}
