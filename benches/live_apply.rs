//! Benchmark: `migrate-auth apply --yes` against the local emulators with
//! 20 ms latency per call: a cluster in API_AND_CONFIG_MAP with no entries and
//! an aws-auth of 1,000 role mappings, each becoming an entry with a policy
//! (`system:masters`) or groups. Measures the apply (plan, observe, journal
//! with an fsync per record, create, associate) and the rollback of it all,
//! at `--concurrency 16` and at 1 (one principal at a time). Not a test. Run: `cargo bench --bench live_apply`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Bench, KEY};
use emulator::{sample_cluster, AwsWorld, KubeWorld};

const ACCT: &str = "111122223333";
const N: usize = 1000;
const LATENCY: Duration = Duration::from_millis(20);

fn main() {
    let bench = Bench::start(aws_world(), kube_world_with_mappings(), "bench", LATENCY);
    let journal = bench.file("bench.journal");
    println!(
        "live_apply: {N} mappings -> {N} entries ({} with AmazonEKSClusterAdminPolicy), {} ms latency per call",
        N / 4,
        LATENCY.as_millis()
    );
    for concurrency in ["16", "1"] {
        apply_and_roll_back(&bench, &journal, concurrency);
    }
    let ops = bench.aws.calls_by_operation();
    println!("  AWS calls by operation (all runs): {ops:?}");
}

/// The admin role's ARN, which signs every call and is mapped to `system:masters`.
fn admin_arn() -> String {
    format!("arn:aws:iam::{ACCT}:role/admin")
}

/// The AWS world: cluster `bench` in API_AND_CONFIG_MAP, the admin and the `N - 1` team roles.
fn aws_world() -> AwsWorld {
    let mut world = AwsWorld::default();
    let mut cluster = sample_cluster("bench", ACCT);
    cluster.authentication_mode = "API_AND_CONFIG_MAP".into();
    let admin = admin_arn();
    world.add_role(&admin);
    for i in 1..N {
        world.add_role(&format!("arn:aws:iam::{ACCT}:role/team-{i:04}"));
    }
    world
        .add_cluster(cluster)
        .add_signed_credentials(KEY, "secret", &admin);
    world
}

/// The Kubernetes world: an aws-auth mapping the admin and every team role.
fn kube_world_with_mappings() -> KubeWorld {
    let mut map_roles = format!(
        "- rolearn: {}\n  username: admin:{{{{SessionName}}}}\n  groups: [system:masters]\n",
        admin_arn()
    );
    for i in 1..N {
        let arn = format!("arn:aws:iam::{ACCT}:role/team-{i:04}");
        let groups = if i % 4 == 0 {
            "system:masters".to_string()
        } else {
            format!("team-{i:04}")
        };
        map_roles.push_str(&format!(
            "- rolearn: {arn}\n  username: team-{i:04}:{{{{SessionName}}}}\n  groups: [{groups}]\n"
        ));
    }
    let mut kube_world = common::kube_world();
    kube_world.put_config_map(
        "kube-system",
        "aws-auth",
        BTreeMap::from([("mapRoles".to_string(), map_roles)]),
    );
    kube_world
}

/// Runs the binary with `args` and the journal; returns the time taken and the calls made.
fn run(bench: &Bench, journal: &Path, args: &[&str]) -> (Duration, u64) {
    let before = bench.calls();
    let start = Instant::now();
    let out = bench
        .command(args)
        .arg("--journal")
        .arg(journal)
        .output()
        .expect("the binary runs");
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (took, bench.calls() - before)
}

/// The number of access entries on cluster `bench`.
fn entries(bench: &Bench) -> usize {
    bench.aws.world().clusters["bench"].access_entries.len()
}

/// The number of lines (records) in the journal at `p`.
fn lines(p: &Path) -> usize {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .count()
}

/// Measures an apply of every mapping and its rollback at `concurrency`.
fn apply_and_roll_back(bench: &Bench, journal: &Path, concurrency: &str) {
    let _ = std::fs::remove_file(journal);
    let (took, calls) = run(
        bench,
        journal,
        &[
            "apply",
            "--cluster",
            "bench",
            "--yes",
            "--concurrency",
            concurrency,
        ],
    );
    assert_eq!(entries(bench), N);
    let records = lines(journal);
    println!(
        "  apply    --concurrency {concurrency:>2}: {:6.2} s, {calls} calls, {records} journal records (each fsynced)",
        took.as_secs_f64()
    );
    let (took, calls) = run(
        bench,
        journal,
        &["rollback", "--yes", "--concurrency", concurrency],
    );
    assert_eq!(entries(bench), 0);
    println!(
        "  rollback --concurrency {concurrency:>2}: {:6.2} s, {calls} calls",
        took.as_secs_f64()
    );
}
