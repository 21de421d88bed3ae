//! Benchmark: `migrate-auth plan --cluster` against the local emulators with
//! 20 ms latency per call, for a cluster with 1,000 existing access entries
//! and 1,000 aws-auth mappings. Not a test: it measures and prints the wall
//! time, the number of API calls, and the ratio against doing the same calls
//! one after another (`--concurrency 1`). Run: `cargo bench --bench live_plan`.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use emulator::{sample_cluster, AccessEntry, Aws, AwsWorld, Faults, Kube, KubeWorld};

const ACCT: &str = "111122223333";
const KEY: &str = "AKIAMIGRATEAUTHBENCH";
const N: usize = 1000;
const LATENCY: Duration = Duration::from_millis(20);

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
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
    let mut kube_world = KubeWorld::with_token("bench-token");
    kube_world.put_config_map(
        "kube-system",
        "aws-auth",
        BTreeMap::from([("mapRoles".to_string(), map_roles)]),
    );
    let (aws, kube) =
        rt.block_on(async { (Aws::start(world).await, Kube::start(kube_world).await) });
    let endpoint = kube.endpoint();
    aws.with_world(|w| w.clusters.get_mut("bench").unwrap().endpoint = endpoint);
    let faults = Faults {
        latency: LATENCY,
        ..Faults::default()
    };
    aws.set_faults(faults.clone());
    kube.set_faults(faults);

    let home = std::env::temp_dir().join(format!("migrate-auth-bench-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let kubeconfig = home.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: e\n  cluster: {{server: \"{}\"}}\nusers:\n- name: e\n  user: {{token: bench-token}}\ncontexts:\n- name: e\n  context: {{cluster: e, user: e}}\ncurrent-context: e\n",
            kube.endpoint()
        ),
    )
    .unwrap();

    let run = |concurrency: usize| {
        let before = aws.calls() + kube.calls();
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_migrate-auth"))
            .args(["plan", "--cluster", "bench", "-o", "json", "--concurrency"])
            .arg(concurrency.to_string())
            .env("AWS_ENDPOINT_URL", aws.endpoint())
            .env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("HOME", &home)
            .env("KUBECONFIG", &kubeconfig)
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
        (took, aws.calls() + kube.calls() - before)
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
}
