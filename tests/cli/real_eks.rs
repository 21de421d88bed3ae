//! End to end against a real EKS cluster, only when the user names one:
//! `MIGRATE_AUTH_E2E_CLUSTER=NAME` (and `AWS_REGION`, credentials and, if
//! needed, a kubeconfig in the environment). Read-only: it runs `snapshot` and
//! `plan --cluster`, never `apply`. Skipped (and says so) otherwise.

use crate::{run_in, testdata};

#[test]
fn plan_and_snapshot_against_a_real_cluster() {
    let Ok(cluster) = std::env::var("MIGRATE_AUTH_E2E_CLUSTER") else {
        eprintln!("skipped: set MIGRATE_AUTH_E2E_CLUSTER to run against a real EKS cluster");
        return;
    };
    let r = run_in(&testdata(), &["snapshot", "--cluster", &cluster], b"", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let state: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(state["schemaVersion"], 1);
    assert!(state["cluster"]["arn"].as_str().unwrap().contains(&cluster));
    let r = run_in(
        &testdata(),
        &["plan", "--cluster", &cluster, "-o", "json"],
        b"",
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(plan["schemaVersion"], 1);
    assert_eq!(plan["cluster"]["accountFrom"], "currentFile");
}
