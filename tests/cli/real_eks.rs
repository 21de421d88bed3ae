//! End to end against a real EKS cluster, ignored unless asked for:
//! `MIGRATE_AUTH_E2E_CLUSTER=NAME cargo test --workspace real_eks -- --ignored`
//! (with `AWS_REGION`, credentials and, if needed, a kubeconfig in the
//! environment). Read-only: it runs `snapshot` and `plan --cluster`, never
//! `apply`. Asked for without a cluster name, it fails.

use crate::{run_in, testdata};

#[test]
#[ignore = "needs a real EKS cluster: MIGRATE_AUTH_E2E_CLUSTER=NAME ... -- --ignored"]
fn plan_and_snapshot_against_a_real_cluster() {
    let cluster = std::env::var("MIGRATE_AUTH_E2E_CLUSTER")
        .expect("MIGRATE_AUTH_E2E_CLUSTER names the real EKS cluster to read");
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
    assert_eq!(plan["cluster"]["accountFrom"], "live");
}
