//! Benchmark: `migrate-auth fleet plan` over 200 emulated clusters of 100
//! aws-auth mappings each, with 20 ms of latency on every AWS and
//! Kubernetes call, then `fleet apply` of the same fleet. Not a test: it
//! measures and prints the wall time, the calls per cluster, the ideal
//! (calls x latency / calls in flight) and the peak memory of the binary.
//! Run: `cargo bench --bench fleet_plan`.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

use common::KEY;
use emulator::{sample_cluster, Aws, AwsWorld, Faults, Kube, KubeWorld};

const ACCT: &str = "111122223333";
const CLUSTERS: usize = 200;
const MAPPINGS: usize = 100;
const LATENCY: Duration = Duration::from_millis(20);
const PARALLEL: usize = 8;
const CONCURRENCY: usize = 16;

/// The emulators: one AWS, one Kubernetes API per cluster, and a kubeconfig
/// with a context per cluster.
struct Fleet {
    _rt: tokio::runtime::Runtime,
    aws: Aws,
    kubes: Vec<Kube>,
    home: std::path::PathBuf,
}

fn start() -> Fleet {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut w = AwsWorld::default();
    w.add_signed_credentials(KEY, "secret", &format!("arn:aws:iam::{ACCT}:role/admin"));
    let mut roles = String::new();
    for i in 0..MAPPINGS {
        let arn = format!("arn:aws:iam::{ACCT}:role/team-{i:03}");
        w.add_role(&arn);
        let _ = write!(
            roles,
            "- rolearn: {arn}\n  username: team-{i:03}\n  groups: [team-{i:03}]\n"
        );
    }
    let faults = Faults {
        latency: LATENCY,
        ..Faults::default()
    };
    let (mut kubes, mut kubeconfig) = (
        Vec::new(),
        String::from("apiVersion: v1\nkind: Config\nclusters:\n"),
    );
    let mut contexts = String::new();
    for i in 0..CLUSTERS {
        let mut k = KubeWorld::with_token("bench-token");
        k.put_config_map(
            "kube-system",
            "aws-auth",
            BTreeMap::from([("mapRoles".to_string(), roles.clone())]),
        );
        let kube = rt.block_on(Kube::start(k));
        kube.set_faults(faults.clone());
        let mut c = sample_cluster(&format!("c-{i:03}"), ACCT);
        c.endpoint = kube.endpoint();
        w.add_cluster(c);
        let _ = write!(
            kubeconfig,
            "- name: c-{i:03}\n  cluster: {{server: \"{}\"}}\n",
            kube.endpoint()
        );
        let _ = write!(
            contexts,
            "- name: c-{i:03}\n  context: {{cluster: c-{i:03}, user: u}}\n"
        );
        kubes.push(kube);
    }
    kubeconfig.push_str("users:\n- name: u\n  user: {token: bench-token}\ncontexts:\n");
    kubeconfig.push_str(&contexts);
    let aws = rt.block_on(Aws::start(w));
    aws.set_faults(faults);
    let home =
        std::env::temp_dir().join(format!("migrate-auth-bench-fleet-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("kubeconfig"), kubeconfig).unwrap();
    let mut fleet = format!(
        "defaults: {{region: us-east-1, kubeconfig: \"{}\"}}\nclusters:\n",
        home.join("kubeconfig").display()
    );
    for i in 0..CLUSTERS {
        let _ = writeln!(
            fleet,
            "  - {{name: c-{i:03}, account: \"{ACCT}\", kubeContext: c-{i:03}}}"
        );
    }
    std::fs::write(home.join("fleet.yaml"), fleet).unwrap();
    Fleet {
        _rt: rt,
        aws,
        kubes,
        home,
    }
}

impl Fleet {
    fn calls(&self) -> u64 {
        self.aws.calls() + self.kubes.iter().map(|k| k.calls()).sum::<u64>()
    }

    /// Runs `fleet ARGS` and returns its wall time and the calls it made.
    fn run(&self, args: &[&str]) -> (Duration, u64) {
        let before = self.calls();
        let cpu = children_cpu();
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_migrate-auth"))
            .arg("fleet")
            .args(args)
            .env("AWS_ENDPOINT_URL", self.aws.endpoint())
            .env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("HOME", &self.home)
            .current_dir(&self.home)
            .output()
            .expect("the binary runs");
        let took = start.elapsed();
        println!(
            "  (the binary used {:.2} s of CPU)",
            (children_cpu() - cpu).as_secs_f64()
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (took, self.calls() - before)
    }
}

/// The CPU time (user and system) the binary's runs have used so far.
fn children_cpu() -> Duration {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn peak_rss_mib() -> f64 {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let kib = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage.ru_maxrss
    };
    kib as f64 / 1024.0
}

fn report(what: &str, (took, calls): (Duration, u64)) {
    let parallel = what
        .split_once("--parallel ")
        .map_or(PARALLEL, |(_, n)| n.parse().unwrap());
    let in_flight = (parallel * CONCURRENCY) as u32;
    let ideal = LATENCY * (calls as u32) / in_flight;
    println!(
        "  {what}: {:.2} s for {calls} calls ({:.1} per cluster); ideal (calls x {} ms / {in_flight} in flight) {:.2} s; ratio {:.2}; peak memory of the binary so far {:.1} MiB",
        took.as_secs_f64(),
        calls as f64 / CLUSTERS as f64,
        LATENCY.as_millis(),
        ideal.as_secs_f64(),
        took.as_secs_f64() / ideal.as_secs_f64(),
        peak_rss_mib()
    );
}

fn main() {
    let fleet = start();
    println!(
        "fleet: {CLUSTERS} clusters of {MAPPINGS} mappings, {} ms latency per call, --parallel {PARALLEL} --concurrency {CONCURRENCY}",
        LATENCY.as_millis()
    );
    let p = PARALLEL.to_string();
    let c = CONCURRENCY.to_string();
    let common = [
        "--fleet",
        "fleet.yaml",
        "--parallel",
        &p,
        "--concurrency",
        &c,
    ];
    let plan: Vec<&str> = ["plan"]
        .iter()
        .chain(&common)
        .chain(&["--run-dir", "plan-run"])
        .copied()
        .collect();
    report("fleet plan", fleet.run(&plan));
    // Each cluster's plan is a chain of dependent calls (STS, DescribeCluster,
    // the lists, then the reads they name): --parallel bounds the wall time.
    let wide: Vec<&str> = [
        "plan",
        "--fleet",
        "fleet.yaml",
        "--parallel",
        "32",
        "--concurrency",
        &c,
        "--run-dir",
        "plan-run-32",
    ]
    .to_vec();
    report("fleet plan --parallel 32", fleet.run(&wide));
    let apply: Vec<&str> = ["apply"]
        .iter()
        .chain(&common)
        .chain(&[
            "--run-dir",
            "apply-run",
            "--yes",
            "--poll-interval",
            "100ms",
        ])
        .copied()
        .collect();
    report("fleet apply", fleet.run(&apply));
    println!(
        "  AWS calls by operation (both runs): {:?}",
        fleet.aws.calls_by_operation()
    );
    // A fleet apply is a chain per cluster: more clusters at once, on fresh
    // clusters (the first apply migrated these).
    drop(fleet);
    let fresh = start();
    let mut wide: Vec<&str> = apply.clone();
    let at = wide.iter().position(|a| *a == "--parallel").unwrap();
    wide[at + 1] = "16";
    let at = wide.iter().position(|a| *a == "--run-dir").unwrap();
    wide[at + 1] = "apply-run-16";
    report("fleet apply --parallel 16", fresh.run(&wide));
}
