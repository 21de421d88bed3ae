//! Benchmark: `migrate-auth plan --cluster` against the local emulators with
//! 20 ms latency per call, for a cluster with 1,000 existing access entries
//! and 1,000 aws-auth mappings. Not a test: it measures and prints the wall
//! time, the number of API calls, and the ratio against doing the same calls
//! one after another (`--concurrency 1`); then the same aws-auth on the
//! cluster with no entries yet. Run: `cargo bench --bench live_plan`.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{Bench, KEY};
use emulator::{sample_cluster, AccessEntry, AwsWorld};

const ACCT: &str = "111122223333";
const N: usize = 1000;
const LATENCY: Duration = Duration::from_millis(20);

fn main() {
    let mut world = AwsWorld::default();
    let mut cluster = sample_cluster("bench", ACCT);
    cluster.authentication_mode = "API_AND_CONFIG_MAP".into();
    let mut map_roles = String::new();
    for i in 0..N {
        let arn = format!("arn:aws:iam::{ACCT}:role/team-{i:04}");
        world.add_role(&arn);
        let mut e = AccessEntry::standard(&arn);
        e.username = format!("team-{i:04}:{{{{SessionName}}}}");
        e.kubernetes_groups = vec![format!("team-{i:04}")];
        cluster.access_entries.insert(arn.clone(), e);
        map_roles.push_str(&format!(
            "- rolearn: {arn}\n  username: team-{i:04}:{{{{SessionName}}}}\n  groups: [team-{i:04}, team-{i:04}-extra]\n"
        ));
    }
    world.add_cluster(cluster).add_signed_credentials(
        KEY,
        "secret",
        &format!("arn:aws:iam::{ACCT}:role/admin"),
    );
    let mut kube_world = common::kube_world();
    kube_world.put_config_map(
        "kube-system",
        "aws-auth",
        BTreeMap::from([("mapRoles".to_string(), map_roles)]),
    );
    let bench = Bench::start(world, kube_world, "bench", LATENCY);
    let aws = &bench.aws;

    let run = |concurrency: usize| {
        let before = bench.calls();
        let start = Instant::now();
        let out = bench
            .command(&["plan", "--cluster", "bench", "-o", "json", "--concurrency"])
            .arg(concurrency.to_string())
            .output()
            .expect("the binary runs");
        let took = start.elapsed();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(plan["actions"].as_array().unwrap().len(), N);
        (took, bench.calls() - before)
    };

    let (concurrent, calls) = run(16);
    let ideal = LATENCY * (calls as u32) / 16;
    println!(
        "live_plan: {N} existing entries, {N} mappings, {} ms latency per call",
        LATENCY.as_millis()
    );
    println!("  --concurrency 16: {:.2} s for {calls} calls; (calls / 16) x latency = {:.2} s; ratio {:.2}",
        concurrent.as_secs_f64(), ideal.as_secs_f64(), concurrent.as_secs_f64() / ideal.as_secs_f64());
    let (sequential, seq_calls) = run(1);
    println!(
        "  --concurrency 1:  {:.2} s for {seq_calls} calls",
        sequential.as_secs_f64()
    );
    println!(
        "  speed-up over one call at a time: {:.1}x",
        sequential.as_secs_f64() / concurrent.as_secs_f64()
    );
    let ops = aws.calls_by_operation();
    println!("  AWS calls by operation (both runs): {ops:?}");
    // The same aws-auth on a cluster with no access entries yet: the usual
    // cluster before its migration, where IAM was what cost (issue 12).
    aws.with_world(|w| {
        for c in w.clusters.values_mut() {
            c.access_entries.clear();
        }
    });
    let (fresh, fresh_calls) = run(16);
    println!(
        "  no entries yet, --concurrency 16: {:.3} s for {fresh_calls} calls ({:.0} round trips of {} ms)",
        fresh.as_secs_f64(),
        fresh.as_secs_f64() / LATENCY.as_secs_f64(),
        LATENCY.as_millis()
    );
}
