//! Benchmark: `migrate-auth apply --yes` against the local emulators with
//! 20 ms latency per call: a cluster in API_AND_CONFIG_MAP with no entries and
//! an aws-auth of 1,000 role mappings, each becoming an entry with a policy
//! (`system:masters`) or groups. Measures the apply (plan, observe, journal
//! with an fsync per record, create, associate) and the rollback of it all,
//! at `--concurrency 16` and at 1 (one principal at a time). Not a test. Run: `cargo bench --bench live_apply`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use emulator::{sample_cluster, Aws, AwsWorld, Faults, Kube, KubeWorld};

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
    let admin = format!("arn:aws:iam::{ACCT}:role/admin");
    let mut map_roles = format!(
        "- rolearn: {admin}\n  username: admin:{{{{SessionName}}}}\n  groups: [system:masters]\n"
    );
    world.add_role(&admin);
    for i in 1..N {
        let arn = format!("arn:aws:iam::{ACCT}:role/team-{i:04}");
        world.add_role(&arn);
        let groups = if i % 4 == 0 {
            "system:masters".to_string()
        } else {
            format!("team-{i:04}")
        };
        map_roles.push_str(&format!(
            "- rolearn: {arn}\n  username: team-{i:04}:{{{{SessionName}}}}\n  groups: [{groups}]\n"
        ));
    }
    world
        .add_cluster(cluster)
        .add_signed_credentials(KEY, "secret", &admin);
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

    let home =
        std::env::temp_dir().join(format!("migrate-auth-bench-apply-{}", std::process::id()));
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
    let journal = home.join("bench.journal");

    let run = |args: &[&str]| {
        let before = aws.calls() + kube.calls();
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_migrate-auth"))
            .args(args)
            .arg("--journal")
            .arg(&journal)
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
        (took, aws.calls() + kube.calls() - before)
    };
    let entries = || aws.world().clusters["bench"].access_entries.len();
    let lines = |p: &Path| {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .count()
    };

    println!(
        "live_apply: {N} mappings -> {N} entries ({} with AmazonEKSClusterAdminPolicy), {} ms latency per call",
        N / 4,
        LATENCY.as_millis()
    );
    for concurrency in ["16", "1"] {
        let _ = std::fs::remove_file(&journal);
        let (took, calls) = run(&[
            "apply",
            "--cluster",
            "bench",
            "--yes",
            "--concurrency",
            concurrency,
        ]);
        assert_eq!(entries(), N);
        let records = lines(&journal);
        println!(
            "  apply    --concurrency {concurrency:>2}: {:6.2} s, {calls} calls, {records} journal records (each fsynced)",
            took.as_secs_f64()
        );
        let (took, calls) = run(&["rollback", "--yes", "--concurrency", concurrency]);
        assert_eq!(entries(), 0);
        println!(
            "  rollback --concurrency {concurrency:>2}: {:6.2} s, {calls} calls",
            took.as_secs_f64()
        );
    }
    let ops = aws.calls_by_operation();
    println!("  AWS calls by operation (all runs): {ops:?}");
}
