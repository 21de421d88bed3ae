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

pub(crate) const MAP_ROLES: &str = "- rolearn: arn:aws:iam::111122223333:role/NodeRole
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
pub(crate) fn kube(map_roles: &str) -> KubeWorld {
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
pub(crate) fn api_world() -> AwsWorld {
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
pub(crate) struct State {
    mode: String,
    entries: BTreeMap<String, Identity>,
    aws_auth: BTreeMap<String, String>,
}

pub(crate) fn state(live: &Live) -> State {
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
    pub(crate) fn journal(&self) -> PathBuf {
        self.home.join("prod.journal")
    }

    /// `apply --cluster prod` with quick polling, a journal in the test's
    /// home, and `extra`.
    pub(crate) fn apply_args(&self, extra: &[&str]) -> Vec<String> {
        let journal = self.journal();
        let base = [
            "apply",
            "--cluster",
            "prod",
            "--poll-interval",
            "20ms",
            "--journal",
            journal.to_str().unwrap(),
        ];
        base.iter().chain(extra).map(|a| a.to_string()).collect()
    }

    /// `apply --cluster prod --yes` with a journal in the test's home.
    pub(crate) fn apply(&self, extra: &[&str]) -> Run {
        self.apply_as(extra, KEY)
    }

    /// [`Live::apply`] with the credentials of `key`.
    fn apply_as(&self, extra: &[&str], key: &str) -> Run {
        let args = self.apply_args(&[&["--yes"], extra].concat());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run_with(&args, key)
    }

    pub(crate) fn rollback(&self) -> Run {
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
    // One counting rule for the diff's summary and the report.
    assert!(
        r.stdout
            .contains("Apply complete: 2 added, 1 changed, 0 destroyed."),
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

/// The changes of `apply --cleanup-aws-auth` on [`api_world`]: create admin,
/// associate its policy, update developer, create alice (4 EKS writes), then
/// the aws-auth edit (1 Kubernetes write).
const CHANGES: u64 = 5;

/// Sets `fault` on the k-th change (1-based) of [`CHANGES`].
fn on_change(live: &Live, k: u64, fault: fn(u64) -> Faults) {
    if k <= 4 {
        live.aws.set_faults(fault(k));
    } else {
        live.kube.set_faults(fault(k - 4));
    }
}

fn clear_faults(live: &Live) {
    live.aws.set_faults(Faults::default());
    live.kube.set_faults(Faults::default());
}

#[test]
fn every_failing_change_is_rolled_back_exactly_and_a_rerun_converges() {
    // One change at a time, so that the k-th write is the k-th change.
    let extra = ["--cleanup-aws-auth", "--concurrency", "1"];
    let goal = planned(api_world(), kube(MAP_ROLES), &extra);
    // Every mapping was migrated: both keys go.
    assert!(
        goal.aws_auth.is_empty(),
        "the cleanup removed the migrated mappings: {:?}",
        goal.aws_auth
    );
    let refused: fn(u64) -> Faults = |k| Faults {
        reject_write: Some(k),
        ..Faults::default()
    };
    // The change is made, yet the answer is an error.
    let lost: fn(u64) -> Faults = |k| Faults {
        lose_write: Some(k),
        ..Faults::default()
    };
    for (kind, fault) in [
        ("refused", refused),
        ("made but answered with an error", lost),
    ] {
        for k in 1..=CHANGES {
            let live = start(api_world(), kube(MAP_ROLES));
            let before = state(&live);
            on_change(&live, k, fault);
            let r = live.apply(&extra);
            // Refused at the first change: nothing was ever changed (exit 1);
            // else the changes made were undone (exit 3).
            let untouched = k == 1 && kind == "refused";
            assert_eq!(
                r.code,
                if untouched { 1 } else { 3 },
                "change {k} {kind}, yet: {}\n{}",
                r.stdout,
                r.stderr
            );
            assert!(
                r.stderr.contains(if untouched {
                    "the cluster was not changed"
                } else {
                    "were undone"
                }),
                "change {k} {kind}: {}",
                r.stderr
            );
            assert_eq!(
                state(&live),
                before,
                "change {k} {kind}: the rollback restores everything"
            );
            clear_faults(&live);
            let r = live.apply(&extra);
            assert_eq!(
                r.code, 0,
                "re-run after change {k} {kind}: {}\n{}",
                r.stdout, r.stderr
            );
            assert_eq!(
                state(&live),
                goal,
                "the re-run after change {k} {kind} converges"
            );
        }
    }
}

#[test]
fn a_throttling_storm_converges_without_duplicates() {
    let extra = ["--cleanup-aws-auth", "--concurrency", "1"];
    let goal = planned(api_world(), kube(MAP_ROLES), &extra);
    let live = start(api_world(), kube(MAP_ROLES));
    let storm = Faults {
        throttle_every: Some(3),
        ..Faults::default()
    };
    live.aws.set_faults(storm.clone());
    live.kube.set_faults(storm);
    let r = live.apply(&extra);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(state(&live), goal);
    // Each change was made once: one intent and one outcome each, none
    // found already made by an earlier attempt.
    let journal = std::fs::read_to_string(live.journal()).unwrap();
    assert_eq!(
        journal.matches("\"record\":\"intent\"").count(),
        CHANGES as usize
    );
    assert_eq!(
        journal.matches("\"outcome\":\"made\"").count(),
        CHANGES as usize
    );
    assert!(!r.stderr.contains("already so"), "{}", r.stderr);
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
    // Said as it happened, on stderr.
    assert!(
        r.stderr
            .contains("already so: create EC2_LINUX access entry"),
        "{}",
        r.stderr
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

/// Starts `apply --cleanup-aws-auth` in the background and kills it
/// (SIGKILL) while the k-th change, already made, waits for its answer: the
/// journal then holds its intent and no outcome.
fn kill_during_change(live: &Live, k: u64) {
    on_change(live, k, |k| Faults {
        stall_write: Some(k),
        ..Faults::default()
    });
    let journal = live.journal();
    let mut child = Command::new(env!("CARGO_BIN_EXE_migrate-auth"))
        .args([
            "apply",
            "--cluster",
            "prod",
            "--yes",
            "--cleanup-aws-auth",
            "--concurrency",
            "1",
            "--journal",
            journal.to_str().unwrap(),
        ])
        .envs(live.env(&[]))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (server_writes, target): (&dyn Fn() -> u64, u64) = if k <= 4 {
        (&|| live.aws.writes(), k)
    } else {
        (&|| live.kube.writes(), k - 4)
    };
    let started = Instant::now();
    while server_writes() < target {
        assert!(
            child.try_wait().unwrap().is_none(),
            "apply ended before change {k}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "apply never reached change {k}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Let the emulator finish making it (it answers only in two minutes).
    std::thread::sleep(Duration::from_millis(50));
    child.kill().unwrap();
    child.wait().unwrap();
    clear_faults(live);
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(
        !text.contains("\"record\":\"end\""),
        "the run was cut off: {text}"
    );
}

#[test]
fn an_apply_killed_during_any_change_can_be_rolled_back() {
    for k in 1..=CHANGES {
        let live = start(api_world(), kube(MAP_ROLES));
        let before = state(&live);
        kill_during_change(&live, k);
        assert_ne!(state(&live), before, "change {k} was made before the kill");
        let r = live.rollback();
        assert_eq!(
            r.code, 0,
            "after a kill at change {k}: {}\n{}",
            r.stdout, r.stderr
        );
        assert_eq!(state(&live), before, "after a kill at change {k}");
    }
}

#[test]
fn an_apply_killed_during_any_change_is_resumed_by_apply() {
    let goal = planned(api_world(), kube(MAP_ROLES), &["--cleanup-aws-auth"]);
    for k in 1..=CHANGES {
        let live = start(api_world(), kube(MAP_ROLES));
        kill_during_change(&live, k);
        let r = live.apply(&["--cleanup-aws-auth"]);
        assert_eq!(
            r.code, 0,
            "resuming after change {k}: {}\n{}",
            r.stdout, r.stderr
        );
        assert!(r.stderr.contains("resumes"), "{}", r.stderr);
        assert_eq!(state(&live), goal, "resumed after change {k}");
        let again = live.apply(&["--cleanup-aws-auth"]);
        assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    }
    // Rollback then undoes the whole migration, both runs.
    let live = start(api_world(), kube(MAP_ROLES));
    let before = state(&live);
    kill_during_change(&live, 3);
    assert_eq!(live.apply(&["--cleanup-aws-auth"]).code, 0);
    let rb = live.rollback();
    assert_eq!(rb.code, 0, "{}\n{}", rb.stdout, rb.stderr);
    assert_eq!(state(&live), before);
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
    live.kube.with_world(|k| {
        let key = ("kube-system".to_string(), "aws-auth".to_string());
        let mut data = k.config_maps[&key].data.clone();
        data.insert("mapUsers".into(), String::new());
        k.put_config_map("kube-system", "aws-auth", data);
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
    assert!(
        r.stderr
            .contains("kube-system/aws-auth key mapUsers changed"),
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
    let theirs = "- \"444455556666\"\n".to_string();
    live.kube.with_world(|k| {
        k.concurrent_edit = Some((
            "kube-system".into(),
            "aws-auth".into(),
            "mapAccounts".into(),
            theirs.clone(),
        ))
    });
    let r = live.apply(&["--cleanup-aws-auth"]);
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert!(r.stderr.contains("not overwritten"), "{}", r.stderr);
    let after = state(&live);
    assert_eq!(after.aws_auth["mapAccounts"], theirs, "their edit stands");
    assert_eq!(after.aws_auth["mapRoles"], before.aws_auth["mapRoles"]);
    assert_eq!(after.aws_auth["mapUsers"], before.aws_auth["mapUsers"]);
    assert_eq!(
        after.entries, before.entries,
        "the run's entries were rolled back"
    );
}

/// The cleanup cuts out the migrated items and leaves every other byte of
/// aws-auth as it was: the kept item's quoting and comments, the header.
#[test]
fn the_cleanup_leaves_what_it_keeps_as_it_was_written() {
    let kept = "# ops, on call\n- \"rolearn\": 'arn:aws:iam::111122223333:role/ops'\n  groups: [ops-team]   # paged at night\n";
    let roles = format!("# Roles of prod (edited by hand)\n\n{MAP_ROLES}{kept}");
    let mut w = api_world();
    w.add_role(&role("ops"));
    let live = start(w, kube(&roles));
    let overrides = live.home.join("overrides.yaml");
    std::fs::write(&overrides, format!("{}:\n  drop: true\n", role("ops"))).unwrap();
    let r = live.apply(&[
        "--cleanup-aws-auth",
        "--overrides",
        overrides.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let after = state(&live);
    assert_eq!(
        after.aws_auth["mapRoles"],
        format!("# Roles of prod (edited by hand)\n\n{kept}")
    );
    assert!(!after.aws_auth.contains_key("mapUsers"), "{after:?}");
    // The diff apply showed removes the migrated lines and nothing else.
    assert!(
        r.stdout
            .contains("      -- rolearn: arn:aws:iam::111122223333:role/developer\n"),
        "{}",
        r.stdout
    );
    let aws_auth = &r.stdout[r
        .stdout
        .find("kube-system/aws-auth:")
        .expect("the aws-auth diff")..];
    let added = aws_auth
        .lines()
        .find(|l| l.starts_with("      +") && !l.starts_with("      +++"));
    assert_eq!(added, None, "nothing is added: {aws_auth}");
}

#[test]
fn rollback_stops_rather_than_cut_off_people_whose_mappings_were_edited_since() {
    let live = start(api_world(), kube(MAP_ROLES));
    let r = live.apply(&["--cleanup-aws-auth"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // Someone edits mapUsers after the cleanup.
    let theirs = "- userarn: arn:aws:iam::111122223333:user/bob\n  username: bob\n".to_string();
    live.kube.with_world(|k| {
        let mut data = k.config_maps[&("kube-system".to_string(), "aws-auth".to_string())]
            .data
            .clone();
        data.insert("mapUsers".into(), theirs.clone());
        k.put_config_map("kube-system", "aws-auth", data);
    });
    let applied = state(&live);
    let rb = live.rollback();
    assert_eq!(rb.code, 4, "{}", rb.stdout);
    assert!(rb.stdout.contains("STILL IN PLACE"), "{}", rb.stdout);
    let after = state(&live);
    assert_eq!(after.aws_auth["mapUsers"], theirs, "their edit stands");
    assert!(
        !after.aws_auth.contains_key("mapRoles"),
        "nothing half-restored"
    );
    assert_eq!(after.entries, applied.entries, "no entry was deleted");
}

/// The guard refuses `args` and changes nothing, saying `why`.
fn refused(live: &Live, args: &[&str], key: &str, why: &str) {
    let before = state(live);
    let r = live.apply_as(args, key);
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
pub(crate) fn on_a_terminal(live: &Live, args: &[String], keys: &str) -> (i32, String) {
    on_a_terminal_as(live, args, keys, "dumb")
}

/// [`on_a_terminal`] with `TERM` set to `term`.
pub(crate) fn on_a_terminal_as(
    live: &Live,
    args: &[String],
    keys: &str,
    term: &str,
) -> (i32, String) {
    let (master, slave) = crate::openpty();
    let mut child = Command::new(env!("CARGO_BIN_EXE_migrate-auth"))
        .args(args)
        .envs(live.env(&[("TERM", Some(term))]))
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
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the prompt hung");
        }
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
    // What the terminal showed (the questions, and errors on stderr).
    let screen = screen.join().unwrap();
    (code, format!("{stdout}\n{screen}"))
}

#[test]
fn the_question_defaults_to_no_and_a_yes_applies() {
    let live = start(api_world(), kube(MAP_ROLES));
    let args = live.apply_args(&[]);
    let (code, out) = on_a_terminal(&live, &args, "\r");
    assert_eq!(code, 1, "Enter takes the default, no");
    assert!(out.contains("not confirmed"), "{out}");
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
        rb.stdout
            .contains("in API mode, where aws-auth no longer counts"),
        "{}",
        rb.stdout
    );
    let after = state(&live);
    // aws-auth comes back (harmless), the entries stay, policies and all:
    // without them nobody aws-auth served could get in. The developer's
    // update is undone.
    assert_eq!(after.aws_auth, before.aws_auth);
    let admin = role("platform-admin");
    assert_eq!(after.entries[&admin], applied.entries[&admin]);
    assert!(after.entries[&admin].3.contains_key(ADMIN_POLICY));
    let alice = format!("arn:aws:iam::{ACCT}:user/alice");
    assert_eq!(after.entries[&alice], applied.entries[&alice]);
    assert_eq!(after.entries[&role("developer")].1, "old-name");
    // The order of the run: entries and policies, then aws-auth, then API.
    let kinds = intent_kinds(&live);
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("switchMode"),
        "{kinds:?}"
    );
    assert_eq!(kinds[kinds.len() - 2], "replaceAwsAuth", "{kinds:?}");
}

/// The kinds of the journal's intents, in order.
fn intent_kinds(live: &Live) -> Vec<String> {
    std::fs::read_to_string(live.journal())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["record"] == "intent")
        .map(|r| r["change"]["kind"].as_str().unwrap().to_string())
        .collect()
}

/// Checks, in the journal, that each principal's changes ran in order: a
/// change's intent only after the outcome of the principal's previous one.
fn assert_lanes_in_order(live: &Live) {
    let records: Vec<serde_json::Value> = std::fs::read_to_string(live.journal())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut open: BTreeMap<String, (String, u64)> = BTreeMap::new();
    let mut last: BTreeMap<(String, String), u64> = BTreeMap::new();
    for r in &records {
        let key = |r: &serde_json::Value| {
            (
                r["run"].as_str().unwrap().to_string(),
                r["step"].as_u64().unwrap(),
            )
        };
        match r["record"].as_str().unwrap() {
            "intent" => {
                let who = r["change"]["principalArn"]
                    .as_str()
                    .unwrap_or("")
                    .to_lowercase();
                if who.is_empty() {
                    continue;
                }
                let (run, step) = key(r);
                assert!(
                    !open.contains_key(&who),
                    "{who}: step {step} began before the previous one ended"
                );
                if let Some(prev) = last.get(&(run.clone(), who.clone())) {
                    assert!(step > *prev, "{who}: step {step} after step {prev}");
                }
                open.insert(who.clone(), (run.clone(), step));
                last.insert((run, who), step);
            }
            "done" | "failed" => {
                let k = key(r);
                open.retain(|_, v| *v != k);
            }
            _ => {}
        }
    }
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
    let r = live.apply(&["--no-rollback", "--concurrency", "1"]);
    assert_eq!(r.code, 4, "{}", r.stdout);
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
        rb.stdout
            .contains("Rollback complete: 1 undone, 0 left in place"),
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
    assert_eq!(r.code, 4, "{}\n{}", r.stdout, r.stderr);
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

#[test]
fn a_switch_to_api_that_may_still_land_blocks_removing_entries() {
    let mut w = api_world();
    w.clusters.get_mut("prod").unwrap().update_polls = 1_000_000;
    let live = start(w, kube(MAP_ROLES));
    let r = live.apply(&[
        "--target-mode",
        "API",
        "--confirm-irreversible",
        "--wait-timeout",
        "300ms",
    ]);
    assert_eq!(r.code, 4, "{}", r.stdout);
    assert!(r.stderr.contains("still in progress"), "{}", r.stderr);
    // The update may finish into API at any time: the entries the run made
    // stay, or everyone aws-auth serves would be locked out then.
    let s = state(&live);
    assert!(s.entries.contains_key(&role("platform-admin")), "{s:?}");
    assert!(
        r.stdout.contains("not undone yet: the cluster is UPDATING"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("could not be undone"), "{}", r.stderr);
    // It lands.
    live.aws.with_world(|w| {
        let c = w.clusters.get_mut("prod").unwrap();
        c.authentication_mode = "API".into();
        c.status = "ACTIVE".into();
        for u in c.updates.values_mut() {
            u.status = "Successful".into();
        }
    });
    let rb = live.rollback();
    assert_eq!(rb.code, 0, "{}\n{}", rb.stdout, rb.stderr);
    assert!(state(&live).entries.contains_key(&role("platform-admin")));
}

#[test]
fn when_the_pending_switch_to_api_fails_rollback_can_finish_the_job() {
    let mut w = api_world();
    w.clusters.get_mut("prod").unwrap().update_polls = 1_000_000;
    let live = start(w, kube(MAP_ROLES));
    let before = state(&live);
    let r = live.apply(&[
        "--target-mode",
        "API",
        "--confirm-irreversible",
        "--wait-timeout",
        "300ms",
    ]);
    assert_eq!(r.code, 4, "{}", r.stdout);
    // While it is under way, rollback does not remove entries either.
    let rb = live.rollback();
    assert_eq!(rb.code, 4, "{}", rb.stdout);
    assert!(state(&live).entries.contains_key(&role("platform-admin")));
    // The update fails: the cluster stays in API_AND_CONFIG_MAP.
    live.aws.with_world(|w| {
        let c = w.clusters.get_mut("prod").unwrap();
        c.status = "ACTIVE".into();
        for u in c.updates.values_mut() {
            u.status = "Failed".into();
        }
    });
    let rb = live.rollback();
    assert_eq!(rb.code, 0, "{}\n{}", rb.stdout, rb.stderr);
    assert_eq!(state(&live), before);
}

#[test]
fn the_creators_entry_made_by_eks_is_brought_in_line_and_never_removed() {
    // aws-auth maps the creator with its own username; EKS will make the
    // creator's entry with a default username and cluster-admin at the switch.
    let roles = format!(
        "{MAP_ROLES}- rolearn: arn:aws:iam::111122223333:role/cluster-creator\n  username: creator:{{{{SessionName}}}}\n  groups: [system:masters]\n"
    );
    let mut w = world("CONFIG_MAP");
    w.add_user(&format!("arn:aws:iam::{ACCT}:user/alice"));
    let live = start(w, kube(&roles));
    let r = live.apply(&[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("for the cluster's creator"),
        "{}",
        r.stdout
    );
    let creator = role("cluster-creator");
    let applied = state(&live);
    assert_eq!(
        applied.entries[&creator].1, "creator:{{SessionName}}",
        "aws-auth's identity kept"
    );
    assert!(applied.entries[&creator].3.contains_key(ADMIN_POLICY));
    let rb = live.rollback();
    assert_eq!(rb.code, 0, "{}\n{}", rb.stdout, rb.stderr);
    let after = state(&live);
    // EKS's entry stays, with EKS's username and its cluster-admin policy.
    let (_, username, _, policies) = &after.entries[&creator];
    assert!(
        username.starts_with("arn:aws:sts::111122223333:assumed-role/cluster-creator/"),
        "{username}"
    );
    assert!(policies.contains_key(ADMIN_POLICY), "{policies:?}");
    assert!(!after.entries.contains_key(&role("platform-admin")));
}

#[test]
fn a_journal_of_another_cluster_is_refused() {
    let live = start(api_world(), kube(MAP_ROLES));
    let other = r#"{"record":"begin","run":"x","cluster":"staging","clusterArn":"arn:aws:eks:us-east-1:111122223333:cluster/staging","region":"us-east-1","caller":"c","at":0,"steps":1}"#;
    std::fs::write(live.journal(), format!("{other}\n")).unwrap();
    let r = live.apply(&[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains("holds runs of another cluster"),
        "{}",
        r.stderr
    );
    assert_eq!(live.aws.writes(), 0);
}

#[test]
fn an_sso_role_is_compared_with_its_aws_auth_mapping_despite_the_path() {
    let sso = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef";
    let roles = format!(
        "{MAP_ROLES}- rolearn: arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123456789abcdef\n  username: sso-admin:{{{{SessionName}}}}\n  groups: [ops]\n"
    );
    let mut w = api_world();
    w.add_role(sso);
    let live = start(w, kube(&roles));
    let r = live.apply(&[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains(&format!("+ {sso} (new STANDARD access entry)")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("    username: sso-admin:{{SessionName}}"),
        "the same username shows as unchanged: {}",
        r.stdout
    );
    assert!(state(&live).entries.contains_key(sso));
}

#[test]
fn a_failure_among_concurrent_changes_is_rolled_back_too() {
    // Many principals, changed 16 at a time; one write in the middle fails.
    let mut w = api_world();
    let mut roles = MAP_ROLES.to_string();
    for i in 0..40 {
        let arn = role(&format!("team-{i:02}"));
        w.add_role(&arn);
        roles.push_str(&format!(
            "- rolearn: {arn}\n  username: team-{i:02}\n  groups: [team]\n"
        ));
    }
    let live = start(w, kube(&roles));
    let before = state(&live);
    live.aws.set_faults(Faults {
        lose_write: Some(20),
        ..Faults::default()
    });
    let r = live.apply(&[]);
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert!(r.stderr.contains("were undone"), "{}", r.stderr);
    assert_eq!(state(&live), before);
    clear_faults(&live);
    let r = live.apply(&[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(state(&live).entries.len(), before.entries.len() + 42);
    assert_lanes_in_order(&live);
}

/// The tokens the emulator saw for `operation`, in order.
fn tokens(live: &Live, operation: &str) -> Vec<Option<String>> {
    live.aws
        .world()
        .token_log
        .into_iter()
        .filter(|(op, _, _)| op == operation)
        .map(|(_, _, t)| t)
        .collect()
}

/// True for a token of this tool (`RUN-STEP`), not one the SDK made up (a UUID).
fn ours(token: &Option<String>) -> bool {
    token.as_deref().is_some_and(|t| {
        let parts: Vec<&str> = t.split('-').collect();
        parts.len() >= 2
            && parts[0].chars().all(|c| c.is_ascii_hexdigit())
            && parts[1].parse::<u32>().is_ok()
    })
}

#[test]
fn a_change_made_but_answered_500_is_retried_without_acting_twice() {
    let extra = ["--concurrency", "1"];
    let goal = planned(api_world(), kube(MAP_ROLES), &extra);
    // The four EKS changes; each is made, answered 500, and retried by the SDK
    // with the same request: the idempotency token (or the call's own
    // idempotence) makes the retry a no-op, so the run succeeds.
    for k in 1..=4 {
        let live = start(api_world(), kube(MAP_ROLES));
        live.aws.set_faults(Faults {
            fail_after_write: Some(k),
            ..Faults::default()
        });
        let r = live.apply(&extra);
        assert_eq!(r.code, 0, "change {k}: {}\n{}", r.stdout, r.stderr);
        assert_eq!(state(&live), goal, "change {k}");
        assert_eq!(
            live.aws.writes(),
            5,
            "change {k} was sent twice, the rest once"
        );
        assert!(
            !r.stdout.contains("already so"),
            "change {k}: the retry was not a conflict: {}",
            r.stdout
        );
        // Creates and updates carry this run's tokens, and a retry the same one.
        for op in ["CreateAccessEntry", "UpdateAccessEntry"] {
            let seen = tokens(&live, op);
            assert!(seen.iter().all(ours), "{op}: {seen:?}");
            let mut unique = seen.clone();
            unique.dedup();
            let retried = matches!(
                (k, op),
                (1 | 4, "CreateAccessEntry") | (3, "UpdateAccessEntry")
            );
            assert_eq!(
                seen.len() - unique.len(),
                usize::from(retried),
                "change {k} {op}: {seen:?}"
            );
        }
    }
    // The mode switch too: made, answered 500, retried with the same token.
    let mut w = world("CONFIG_MAP");
    w.add_user(&format!("arn:aws:iam::{ACCT}:user/alice"));
    let live = start(w, kube(MAP_ROLES));
    live.aws.set_faults(Faults {
        fail_after_write: Some(1),
        ..Faults::default()
    });
    let r = live.apply(&extra);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let seen = tokens(&live, "UpdateClusterConfig");
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(ours(&seen[0]) && seen[0] == seen[1], "{seen:?}");
    assert_eq!(live.aws.world().clusters["prod"].updates.len(), 1);
}

#[test]
fn the_switch_to_api_asks_for_the_cluster_name_on_a_terminal() {
    let live = start(api_world(), kube(MAP_ROLES));
    let args = live.apply_args(&["--target-mode", "API"]);
    // Yes to the changes, then a wrong name: nothing happens.
    let (code, out) = on_a_terminal(&live, &args, "ystaging\r");
    assert_eq!(code, 1);
    assert!(out.contains("the name typed is not prod"), "{out}");
    assert_eq!(live.aws.writes(), 0);
    assert_eq!(state(&live).mode, "API_AND_CONFIG_MAP");
    let (code, stdout) = on_a_terminal(&live, &args, "yprod\r");
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(state(&live).mode, "API");
}

#[test]
fn a_node_entry_eks_makes_just_after_the_switch_is_adopted_not_fought() {
    let mut w = world("CONFIG_MAP");
    w.add_user(&format!("arn:aws:iam::{ACCT}:user/alice"));
    w.clusters.get_mut("prod").unwrap().late_node_entries = true;
    let live = start(w, kube(MAP_ROLES));
    let r = live.apply(&[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // Said as it happened, on stderr.
    assert!(
        r.stderr
            .contains("already so: create EC2_LINUX access entry"),
        "{}",
        r.stderr
    );
    let world = live.aws.world();
    assert!(world.clusters["prod"].access_entries[&role("NodeRole")].created_by_eks);
    // Rollback leaves EKS's entry.
    let rb = live.rollback();
    assert_eq!(rb.code, 0, "{}\n{}", rb.stdout, rb.stderr);
    assert!(state(&live).entries.contains_key(&role("NodeRole")));
}

#[test]
fn the_journal_goes_to_the_clusters_default_place() {
    let live = start(api_world(), kube(MAP_ROLES));
    let args = ["apply", "--cluster", "prod", "--yes"];
    let r = live.run_env(&args, &[("XDG_STATE_HOME", None)]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let path = live
        .home
        .join(".local/state/migrate-auth/111122223333/us-east-1/prod.journal");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(r.stderr.contains(path.to_str().unwrap()), "{}", r.stderr);
    // XDG_STATE_HOME wins when set.
    let live = start(api_world(), kube(MAP_ROLES));
    let state_home = live.home.join("state");
    let r = live.run_env(&args, &[("XDG_STATE_HOME", state_home.to_str())]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(state_home
        .join("migrate-auth/111122223333/us-east-1/prod.journal")
        .exists());
}

#[test]
fn a_refused_mode_switch_either_one_leaves_the_cluster_as_it_was() {
    // The switch to API_AND_CONFIG_MAP, first of all.
    let mut w = world("CONFIG_MAP");
    w.add_user(&format!("arn:aws:iam::{ACCT}:user/alice"));
    let live = start(w, kube(MAP_ROLES));
    let before = state(&live);
    live.aws.set_faults(Faults {
        reject_write: Some(1),
        ..Faults::default()
    });
    let r = live.apply(&[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("FAILED: switch authentication mode"),
        "{}",
        r.stdout
    );
    assert_eq!(state(&live), before);
    // The switch to API, last of all: everything before it is undone.
    let live = start(api_world(), kube(MAP_ROLES));
    let before = state(&live);
    live.aws.set_faults(Faults {
        reject_write: Some(5),
        ..Faults::default()
    });
    let r = live.apply(&[
        "--concurrency",
        "1",
        "--target-mode",
        "API",
        "--confirm-irreversible",
    ]);
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("FAILED: switch authentication mode API_AND_CONFIG_MAP -> API"),
        "{}",
        r.stdout
    );
    assert_eq!(state(&live), before);
}

#[test]
fn an_eks_token_that_expires_mid_run_is_renewed() {
    // No kubeconfig: the tool signs its own EKS token, which lasts 15 minutes.
    let mut k = kube(MAP_ROLES);
    k.tokens.clear();
    k.accept_eks_tokens = true;
    k.eks_cluster = "prod".into();
    k.aws_secrets.insert(KEY.into(), "secret".into());
    let live = start(api_world(), k);
    live.aws.with_world(|w| {
        w.clusters.get_mut("prod").unwrap().certificate_authority = String::new();
    });
    std::fs::remove_file(live.home.join("kubeconfig")).unwrap();
    let goal = {
        let fresh = start(api_world(), kube(MAP_ROLES));
        let r = fresh.apply(&["--cleanup-aws-auth"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        state(&fresh)
    };
    live.aws.set_faults(Faults {
        latency: Duration::from_millis(100),
        ..Faults::default()
    });
    let args = live.apply_args(&["--yes", "--cleanup-aws-auth", "--concurrency", "1"]);
    let child = Command::new(env!("CARGO_BIN_EXE_migrate-auth"))
        .args(&args)
        .envs(live.env(&[]))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    // Once the entries are under way (and the token is over a second old),
    // time passes: tokens signed until now have expired.
    loop {
        let text = std::fs::read_to_string(live.journal()).unwrap_or_default();
        if text.contains("\"record\":\"intent\"") && started.elapsed() > Duration::from_millis(1500)
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "apply made no progress"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    live.kube.with_world(|k| {
        k.eks_tokens_expired_before = Some(std::time::UNIX_EPOCH + Duration::from_secs(now))
    });
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(state(&live), goal, "the cleanup ran with a new token");
}
