//! What the live benchmarks share: the emulators on a runtime, a kubeconfig
//! pointing at them, and the binary's command with the environment that
//! reaches them.

// Each benchmark compiles this module and uses a part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use emulator::{Aws, AwsWorld, Faults, Kube, KubeWorld};

/// The access key the benchmarks sign with (secret `secret`).
pub const KEY: &str = "AKIAMIGRATEAUTHBENCH";

/// Running emulators, and a home with a kubeconfig for them.
pub struct Bench {
    _rt: tokio::runtime::Runtime,
    pub aws: Aws,
    pub kube: Kube,
    home: PathBuf,
}

impl Bench {
    /// Starts the emulators for `world` (whose cluster `cluster` gets the
    /// Kubernetes emulator's endpoint) with `latency` on every call.
    pub fn start(
        world: AwsWorld,
        kube_world: KubeWorld,
        cluster: &str,
        latency: Duration,
    ) -> Bench {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (aws, kube) =
            rt.block_on(async { (Aws::start(world).await, Kube::start(kube_world).await) });
        let endpoint = kube.endpoint();
        aws.with_world(|w| w.clusters.get_mut(cluster).unwrap().endpoint = endpoint);
        let faults = Faults {
            latency,
            ..Faults::default()
        };
        aws.set_faults(faults.clone());
        kube.set_faults(faults);
        let home = std::env::temp_dir().join(format!(
            "migrate-auth-bench-{cluster}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(
            home.join("kubeconfig"),
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: e\n  cluster: {{server: \"{}\"}}\nusers:\n- name: e\n  user: {{token: bench-token}}\ncontexts:\n- name: e\n  context: {{cluster: e, user: e}}\ncurrent-context: e\n",
                kube.endpoint()
            ),
        )
        .unwrap();
        Bench {
            _rt: rt,
            aws,
            kube,
            home,
        }
    }

    /// A file in the benchmark's home.
    pub fn file(&self, name: &str) -> PathBuf {
        self.home.join(name)
    }

    /// The binary with `args` and the environment that reaches the emulators.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_migrate-auth"));
        c.args(args)
            .env("AWS_ENDPOINT_URL", self.aws.endpoint())
            .env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("HOME", &self.home)
            .env("KUBECONFIG", self.home.join("kubeconfig"));
        c
    }

    /// Calls answered by both emulators so far.
    pub fn calls(&self) -> u64 {
        self.aws.calls() + self.kube.calls()
    }
}

/// The token the benchmarks' kubeconfig carries.
pub fn kube_world() -> KubeWorld {
    KubeWorld::with_token("bench-token")
}
