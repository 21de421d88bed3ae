//! `plan --cluster` and `snapshot` against the local emulators: the real
//! aws-sdk-eks/iam/sts and kube-rs clients in the binary, pointed at
//! 127.0.0.1 through the standard endpoint variables and a kubeconfig.

use std::collections::BTreeMap;
use std::path::PathBuf;

use emulator::{sample_cluster, AccessEntry, Aws, AwsWorld, Faults, Kube, KubeWorld, Scope};
use serde_json::Value;

use crate::{run_in, Run};

pub(crate) const ACCT: &str = "111122223333";
const OTHER: &str = "444455556666";
pub(crate) const KEY: &str = "AKIAMIGRATEAUTHTEST";
const TOKEN: &str = "kube-token-for-tests";
const ADMIN_POLICY: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
const SSO: &str = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef";

/// The emulators, the runtime they run on, and a home with a kubeconfig.
pub(crate) struct Live {
    _rt: tokio::runtime::Runtime,
    pub(crate) aws: Aws,
    pub(crate) kube: Kube,
    pub(crate) home: crate::Scratch,
}

const AWS_AUTH: &str = "- rolearn: arn:aws:iam::111122223333:role/NodeRole
  username: system:node:{{EC2PrivateDNSName}}
  groups: [system:bootstrappers, system:nodes]
- rolearn: arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123456789abcdef
  username: admin:{{SessionName}}
  groups: [system:masters]
- rolearn: arn:aws:iam::111122223333:role/developer
  username: dev:{{SessionName}}
  groups: [developers]
- rolearn: arn:aws:iam::111122223333:role/deleted-role
  username: gone
- rolearn: arn:aws:iam::444455556666:role/developer
  username: partner:{{SessionName}}
  groups: [partners]
";

pub(crate) fn world(mode: &str) -> AwsWorld {
    let mut w = AwsWorld::default();
    let mut cluster = sample_cluster("prod", ACCT);
    cluster.authentication_mode = mode.into();
    cluster
        .nodegroups
        .insert("ng-1".into(), format!("arn:aws:iam::{ACCT}:role/NodeRole"));
    w.add_cluster(cluster)
        .add_signed_credentials(
            KEY,
            "secret",
            &format!("arn:aws:iam::{ACCT}:role/platform-admin"),
        )
        .add_role(&format!("arn:aws:iam::{ACCT}:role/platform-admin"))
        .add_role(&format!("arn:aws:iam::{ACCT}:role/NodeRole"))
        .add_role(SSO)
        .add_role(&format!("arn:aws:iam::{ACCT}:role/developer"))
        .add_role(&format!("arn:aws:iam::{ACCT}:role/cluster-creator"))
        // A same-named role in another account must never stand in for this one.
        .add_role(&format!("arn:aws:iam::{OTHER}:role/teams/developer"));
    w
}

pub(crate) fn kube_world(aws_auth: Option<&str>) -> KubeWorld {
    let mut k = KubeWorld::with_token(TOKEN);
    if let Some(text) = aws_auth {
        let data = BTreeMap::from([("mapRoles".to_string(), text.to_string())]);
        k.put_config_map("kube-system", "aws-auth", data);
    }
    k.rbac.push(serde_json::json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "developers-edit"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "Group", "name": "developers"}]
    }));
    k
}

pub(crate) fn start(aws: AwsWorld, kube: KubeWorld) -> Live {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (aws, kube) = rt.block_on(async { (Aws::start(aws).await, Kube::start(kube).await) });
    // The kubeconfig must name the cluster DescribeCluster describes.
    let endpoint = kube.endpoint();
    aws.with_world(|w| {
        for c in w.clusters.values_mut() {
            c.endpoint = endpoint.clone();
        }
    });
    let home = crate::Scratch::new("live");
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: emu\n  cluster: {{server: \"{}\"}}\nusers:\n- name: emu\n  user: {{token: {TOKEN}}}\ncontexts:\n- name: emu\n  context: {{cluster: emu, user: emu}}\ncurrent-context: emu\n",
        kube.endpoint()
    );
    std::fs::write(home.join("kubeconfig"), kubeconfig).unwrap();
    Live {
        _rt: rt,
        aws,
        kube,
        home,
    }
}

impl Live {
    /// The emulators' environment, changed by `changes` (a `None` value
    /// removes the variable).
    pub(crate) fn env(&self, changes: &[(&str, Option<&str>)]) -> Vec<(String, String)> {
        let kubeconfig = self.home.join("kubeconfig");
        let none = self.home.join("no-such-file");
        let path = |p: PathBuf| p.to_str().unwrap().to_string();
        let mut env: Vec<(String, String)> = [
            ("AWS_ENDPOINT_URL", self.aws.endpoint()),
            ("AWS_ACCESS_KEY_ID", KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", "secret".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_CONFIG_FILE", path(none.clone())),
            ("AWS_SHARED_CREDENTIALS_FILE", path(none)),
            ("HOME", path(self.home.to_path_buf())),
            ("KUBECONFIG", path(kubeconfig)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (name, value) in changes {
            env.retain(|(n, _)| n != name);
            if let Some(v) = value {
                env.push((name.to_string(), v.to_string()));
            }
        }
        env
    }

    /// Runs the binary with the emulators' environment, changed by `changes`
    /// (a `None` value removes the variable).
    pub(crate) fn run_env(&self, args: &[&str], changes: &[(&str, Option<&str>)]) -> Run {
        let env = self.env(changes);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run_in(&self.home, args, b"", &env)
    }

    pub(crate) fn run_with(&self, args: &[&str], key: &str) -> Run {
        self.run_env(args, &[("AWS_ACCESS_KEY_ID", Some(key))])
    }

    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, KEY)
    }

    fn plan(&self, extra: &[&str]) -> Value {
        let args = [&["plan", "--cluster", "prod", "-o", "json"], extra].concat();
        let r = self.run(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        serde_json::from_str(&r.stdout).unwrap()
    }
}

fn actions(plan: &Value) -> Vec<(String, String)> {
    plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let who = a["principalArn"]
                .as_str()
                .or(a["principal"].as_str())
                .unwrap();
            (a["action"].as_str().unwrap().to_string(), who.to_string())
        })
        .collect()
}

fn codes_for(plan: &Value, principal: &str) -> Vec<String> {
    plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["principalArn"].as_str() == Some(principal))
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_config_map_cluster_is_planned_from_the_live_apis() {
    let live = start(world("CONFIG_MAP"), kube_world(Some(AWS_AUTH)));
    let plan = live.plan(&[]);
    assert_eq!(plan["authenticationMode"]["to"], "API_AND_CONFIG_MAP");
    // A live state is a known state, and says where it came from.
    assert_eq!(plan["currentState"]["source"], "live");
    assert_eq!(plan["currentState"]["cluster"], "prod");
    assert_eq!(plan["cluster"]["accountFrom"], "live");
    let acts = actions(&plan);
    // The node group's role: EKS creates its entry itself at the mode switch,
    // and the plan says so.
    let node = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["principalArn"] == format!("arn:aws:iam::{ACCT}:role/NodeRole"))
        .unwrap();
    assert_eq!(
        (node["action"].as_str(), node["eksOwned"].as_str()),
        (Some("create"), Some("nodegroup"))
    );
    assert!(
        acts.contains(&(
            "create".into(),
            format!("arn:aws:iam::{ACCT}:role/NodeRole")
        )),
        "{acts:?}"
    );
    assert!(
        acts.contains(&("create".into(), SSO.into())),
        "the SSO path comes from GetRole: {acts:?}"
    );
    // GetRole said the role does not exist.
    let gone = format!("arn:aws:iam::{ACCT}:role/deleted-role");
    assert!(codes_for(&plan, &gone).contains(&"principal-not-found".to_string()));
    // Another account's role is not looked up, and not confused with a local one.
    let partner = format!("arn:aws:iam::{OTHER}:role/developer");
    assert!(
        acts.contains(&("create".into(), partner.clone())),
        "{acts:?}"
    );
    assert!(codes_for(&plan, &partner).contains(&"path-unverified".to_string()));
    // The message names what was consulted and what would settle it.
    let message = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["principalArn"] == partner.as_str() && f["code"] == "path-unverified")
        .and_then(|f| f["message"].as_str())
        .unwrap()
        .to_string();
    assert!(
        message.contains(&format!("IAM of account {OTHER} was not consulted"))
            && message.contains("--lookup-role")
            && !message.contains("IAM files"),
        "{message}"
    );
    // RBAC was read: `developers` is bound, so no group-not-bound finding.
    assert!(
        !codes_for(&plan, &format!("arn:aws:iam::{ACCT}:role/developer"))
            .contains(&"group-not-bound".to_string())
    );
    // Nothing in CONFIG_MAP mode asks for access entries.
    let ops = live.aws.calls_by_operation();
    assert!(!ops.contains_key("ListAccessEntries"), "{ops:?}");
    assert!(
        ops.contains_key("GetRole") && ops.contains_key("DescribeCluster"),
        "{ops:?}"
    );
}

#[test]
fn existing_entries_over_several_pages_are_compared_and_eks_owned_ones_adopted() {
    let mut w = world("API_AND_CONFIG_MAP");
    {
        let c = w.clusters.get_mut("prod").unwrap();
        let node = format!("arn:aws:iam::{ACCT}:role/NodeRole");
        c.access_entries.insert(
            node.clone(),
            AccessEntry {
                principal_arn: node.clone(),
                kind: "EC2_LINUX".into(),
                username: "system:node:{{EC2PrivateDNSName}}".into(),
                created_by_eks: true,
                ..AccessEntry::default()
            },
        );
        let mut admin = AccessEntry::standard(SSO);
        admin.username = "admin:{{SessionName}}".into();
        admin.policies.insert(ADMIN_POLICY.into(), Scope::cluster());
        c.access_entries.insert(SSO.into(), admin);
        let dev = format!("arn:aws:iam::{ACCT}:role/developer");
        let mut d = AccessEntry::standard(&dev);
        d.username = "old-name".into();
        d.kubernetes_groups = vec!["developers".into()];
        c.access_entries.insert(dev, d);
        // 250 unrelated entries: three pages of ListAccessEntries.
        for i in 0..250 {
            let arn = format!("arn:aws:iam::{ACCT}:role/service-{i:03}");
            c.access_entries
                .insert(arn.clone(), AccessEntry::standard(&arn));
        }
    }
    for i in 0..250 {
        w.add_role(&format!("arn:aws:iam::{ACCT}:role/service-{i:03}"));
    }
    let live = start(w, kube_world(Some(AWS_AUTH)));
    let plan = live.plan(&[]);
    let acts = actions(&plan);
    assert!(
        acts.contains(&("adopt".into(), format!("arn:aws:iam::{ACCT}:role/NodeRole"))),
        "{acts:?}"
    );
    assert!(acts.contains(&("adopt".into(), SSO.into())), "{acts:?}");
    assert!(
        acts.contains(&(
            "update".into(),
            format!("arn:aws:iam::{ACCT}:role/developer")
        )),
        "{acts:?}"
    );
    let node = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["principalArn"] == format!("arn:aws:iam::{ACCT}:role/NodeRole"))
        .unwrap();
    assert_eq!(node["eksOwned"], "nodegroup");
    let unmanaged = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "unmanaged")
        .count();
    assert_eq!(
        unmanaged, 250,
        "every listed entry is seen, over every page"
    );
    let ops = live.aws.calls_by_operation();
    assert!(ops["ListAccessEntries"] >= 3, "{ops:?}");
    assert!(
        ops["DescribeAccessEntry"] <= 5,
        "only the entries aws-auth names are described: {ops:?}"
    );
    assert!(plan["summary"]["destroy"] == 0);
}

#[test]
fn a_missing_aws_auth_is_an_empty_one() {
    let live = start(world("API_AND_CONFIG_MAP"), kube_world(None));
    let plan = live.plan(&[]);
    assert_eq!(plan["desired"].as_array().unwrap().len(), 0);
    assert_eq!(plan["summary"]["add"], 0);
}

#[test]
fn snapshot_writes_what_plan_current_file_reads() {
    let mut w = world("API_AND_CONFIG_MAP");
    let node = format!("arn:aws:iam::{ACCT}:role/NodeRole");
    w.clusters.get_mut("prod").unwrap().access_entries.insert(
        node.clone(),
        AccessEntry {
            principal_arn: node.clone(),
            kind: "EC2_LINUX".into(),
            username: "system:node:{{EC2PrivateDNSName}}".into(),
            created_by_eks: true,
            ..AccessEntry::default()
        },
    );
    let live = start(w, kube_world(Some(AWS_AUTH)));
    let r = live.run(&[
        "snapshot",
        "--cluster",
        "prod",
        "--out",
        "current.json",
        "--aws-auth-out",
        "aws-auth.yaml",
        "--rbac-out",
        "rbac.json",
        "--iam-out",
        "iam.json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // It says what it wrote, where.
    assert!(
        r.stderr.contains("Wrote, for cluster prod")
            && r.stderr.contains("the current state to current.json")
            && r.stderr.contains("aws-auth to aws-auth.yaml"),
        "{}",
        r.stderr
    );
    let state: Value =
        serde_json::from_slice(&std::fs::read(live.home.join("current.json")).unwrap()).unwrap();
    assert_eq!(state["schemaVersion"], 1);
    assert_eq!(state["cluster"]["authenticationMode"], "API_AND_CONFIG_MAP");
    assert_eq!(state["accessEntries"][0]["principalArn"], node);
    assert_eq!(state["accessEntries"][0]["eksOwned"], "nodegroup");
    // The offline plan from the snapshot decides the same actions as the live one.
    let offline = live.run(&[
        "plan",
        "--aws-auth-file",
        "aws-auth.yaml",
        "--current-file",
        "current.json",
        "--rbac-file",
        "rbac.json",
        "--iam-file",
        "iam.json",
        "-o",
        "json",
    ]);
    assert_eq!(offline.code, 0, "{}", offline.stderr);
    let offline: Value = serde_json::from_str(&offline.stdout).unwrap();
    let live_plan = live.plan(&[]);
    assert_eq!(actions(&offline), actions(&live_plan));
    let codes = |p: &Value| {
        let mut c: Vec<String> = p["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect();
        c.sort();
        c
    };
    assert_eq!(codes(&offline), codes(&live_plan));
}

#[test]
fn throttling_is_retried_until_the_plan_completes() {
    let live = start(world("CONFIG_MAP"), kube_world(Some(AWS_AUTH)));
    let calm = live.plan(&[]);
    let calls_calm = live.aws.calls();
    live.aws.set_faults(Faults {
        throttle_every: Some(3),
        ..Faults::default()
    });
    let stormy = live.plan(&[]);
    let calls_stormy = live.aws.calls() - calls_calm;
    assert_eq!(
        actions(&stormy),
        actions(&calm),
        "the same plan despite throttling"
    );
    assert!(
        calls_stormy > calls_calm,
        "throttled calls were retried: {calls_stormy} vs {calls_calm}"
    );
}

/// `AWS_MAX_ATTEMPTS` sets the attempts per call, as for the AWS CLI and
/// SDKs (5 when unset); a value that is not a whole number from 1 is refused.
#[test]
fn aws_max_attempts_sets_the_attempts_per_call() {
    let live = start(world("CONFIG_MAP"), kube_world(Some(AWS_AUTH)));
    live.aws.set_faults(Faults {
        throttle_every: Some(1),
        ..Faults::default()
    });
    let attempts = |value: Option<&str>| {
        let before = live.aws.calls_by_operation();
        let r = live.run_env(
            &["plan", "--cluster", "prod"],
            &[("AWS_MAX_ATTEMPTS", value)],
        );
        assert_eq!(r.code, 1, "every call is throttled: {}", r.stdout);
        let after = live.aws.calls_by_operation();
        let n = |m: &std::collections::BTreeMap<String, u64>| {
            m.get("GetCallerIdentity").copied().unwrap_or(0)
        };
        n(&after) - n(&before)
    };
    assert_eq!(attempts(Some("2")), 2);
    assert_eq!(attempts(None), 5);
    for bad in ["0", "many", "-1"] {
        let r = live.run_env(
            &["plan", "--cluster", "prod"],
            &[("AWS_MAX_ATTEMPTS", Some(bad))],
        );
        assert_eq!(r.code, 1);
        assert!(
            r.stderr.contains(&format!("AWS_MAX_ATTEMPTS={bad}")),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn a_kubeconfig_for_another_cluster_is_refused() {
    let live = start(world("CONFIG_MAP"), kube_world(Some(AWS_AUTH)));
    let other = "https://ABCDEF.gr7.us-east-1.eks.amazonaws.com";
    live.aws.with_world(|w| {
        w.clusters.get_mut("prod").unwrap().endpoint = other.into();
    });
    let r = live.run(&["plan", "--cluster", "prod"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("points at") && r.stderr.contains(other),
        "{}",
        r.stderr
    );
    assert_eq!(
        live.kube.calls(),
        0,
        "nothing was read from the other cluster"
    );
}

#[test]
fn bad_credentials_fail_clearly() {
    let live = start(world("CONFIG_MAP"), kube_world(Some(AWS_AUTH)));
    for key in ["EXPIRED", "AKIAUNKNOWNKEY000000"] {
        let r = live.run_with(&["plan", "--cluster", "prod"], key);
        assert_eq!(r.code, 1, "{key}");
        assert!(
            r.stderr
                .contains("AWS credentials are missing, invalid or expired"),
            "{key}: {}",
            r.stderr
        );
        assert_eq!(r.stdout, "");
    }
}

#[test]
fn an_unknown_cluster_and_an_unreachable_endpoint_fail_clearly() {
    let live = start(world("CONFIG_MAP"), kube_world(Some(AWS_AUTH)));
    let r = live.run(&["plan", "--cluster", "nope"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("cluster `nope` was not found"),
        "{}",
        r.stderr
    );
    // It says where it looked.
    assert!(
        r.stderr.contains("us-east-1") && r.stderr.contains("111122223333"),
        "{}",
        r.stderr
    );
    // A port nothing listens on: refused at once, reported, no hang.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let closed = format!("http://127.0.0.1:{port}");
    let r = live.run_env(
        &["plan", "--cluster", "prod"],
        &[("AWS_ENDPOINT_URL", Some(&closed))],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("cannot reach the AWS endpoint"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_kubernetes_api_that_refuses_the_token_fails_clearly() {
    let mut k = kube_world(Some(AWS_AUTH));
    k.tokens.clear();
    let live = start(world("CONFIG_MAP"), k);
    let r = live.run(&["plan", "--cluster", "prod"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("Kubernetes API"), "{}", r.stderr);
    assert!(live.kube.calls() >= 1);
}

/// Emulators where the Kubernetes API takes only EKS tokens signed for
/// `token_cluster`, and no kubeconfig exists: the tool must sign its own.
fn token_only(token_cluster: &str) -> Live {
    let mut k = kube_world(Some(AWS_AUTH));
    k.tokens.clear();
    k.accept_eks_tokens = true;
    // The token must be signed with the caller's secret, for this cluster.
    k.eks_cluster = token_cluster.into();
    k.aws_secrets.insert(KEY.into(), "secret".into());
    let live = start(world("CONFIG_MAP"), k);
    let endpoint = live.kube.endpoint();
    live.aws.with_world(|w| {
        let c = w.clusters.get_mut("prod").unwrap();
        // The emulator speaks plain HTTP, so there is no CA to trust.
        c.endpoint = endpoint.clone();
        c.certificate_authority = String::new();
    });
    std::fs::remove_file(live.home.join("kubeconfig")).unwrap();
    live
}

#[test]
fn without_a_kubeconfig_the_cluster_is_reached_with_an_eks_token() {
    let live = token_only("prod");
    let plan = live.plan(&[]);
    assert!(
        actions(&plan).len() >= 4,
        "aws-auth was read with the EKS token"
    );
    assert!(live.kube.calls() >= 1);
}

#[test]
fn assume_role_runs_in_the_other_account_and_looks_principals_up_there() {
    let mut w = AwsWorld::default();
    w.add_cluster(sample_cluster("prod", OTHER))
        .add_signed_credentials(KEY, "secret", &format!("arn:aws:iam::{ACCT}:user/operator"))
        .add_role(&format!("arn:aws:iam::{OTHER}:role/migrator"))
        .add_role(&format!("arn:aws:iam::{OTHER}:role/teams/developer"))
        // The caller's own account has a same-named role with another path.
        .add_role(&format!("arn:aws:iam::{ACCT}:role/developer"));
    w.assumable.insert(
        format!("arn:aws:iam::{OTHER}:role/migrator"),
        ("AKIAASSUMEDROLEKEY01".into(), "assumed-secret".into()),
    );
    let aws_auth = "- rolearn: arn:aws:iam::444455556666:role/developer\n  username: dev\n";
    let live = start(w, kube_world(Some(aws_auth)));
    let plan = live.plan(&[
        "--assume-role",
        &format!("arn:aws:iam::{OTHER}:role/migrator"),
    ]);
    let acts = actions(&plan);
    assert_eq!(
        acts,
        vec![(
            "create".to_string(),
            format!("arn:aws:iam::{OTHER}:role/teams/developer")
        )],
        "the path comes from the cluster account's IAM, not the caller's"
    );
    assert!(live.aws.calls_by_operation().contains_key("AssumeRole"));
}

#[test]
fn an_api_mode_cluster_needs_no_mode_step_and_type_conflicts_are_reported() {
    let mut w = world("API");
    let dev = format!("arn:aws:iam::{ACCT}:role/NodeRole");
    // A STANDARD entry where aws-auth maps a node role: EKS cannot change the type.
    w.clusters
        .get_mut("prod")
        .unwrap()
        .access_entries
        .insert(dev.clone(), AccessEntry::standard(&dev));
    let live = start(w, kube_world(Some(AWS_AUTH)));
    let plan = live.plan(&[]);
    assert!(plan["authenticationMode"].is_null());
    assert!(actions(&plan).contains(&("none".into(), dev.clone())));
    assert!(codes_for(&plan, &dev).contains(&"type-conflict".to_string()));
}

#[test]
fn absent_credentials_fail_clearly() {
    let live = start(world("CONFIG_MAP"), kube_world(Some(AWS_AUTH)));
    let r = live.run_env(
        &["plan", "--cluster", "prod"],
        &[("AWS_ACCESS_KEY_ID", None), ("AWS_SECRET_ACCESS_KEY", None)],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("AWS credentials are missing, invalid or expired"),
        "{}",
        r.stderr
    );
    assert_eq!(live.aws.calls(), 0, "nothing is sent without credentials");
}

#[test]
fn a_failed_call_is_retried() {
    let live = start(world("CONFIG_MAP"), kube_world(Some(AWS_AUTH)));
    live.aws.set_faults(Faults {
        fail_call: Some(2),
        server_error_every: Some(7),
        ..Faults::default()
    });
    let plan = live.plan(&[]);
    assert!(actions(&plan).len() >= 4);
}

#[test]
fn lookup_roles_resolve_principals_in_their_own_accounts() {
    let mut w = world("CONFIG_MAP");
    w.add_role(&format!("arn:aws:iam::{OTHER}:role/iam-reader"));
    w.assumable.insert(
        format!("arn:aws:iam::{OTHER}:role/iam-reader"),
        ("AKIALOOKUPROLEKEY001".into(), "lookup-secret".into()),
    );
    let live = start(w, kube_world(Some(AWS_AUTH)));
    let plan = live.plan(&[
        "--lookup-role",
        &format!("arn:aws:iam::{OTHER}:role/iam-reader"),
    ]);
    let acts = actions(&plan);
    // Found with its real path in its own account, not the caller's.
    assert!(
        acts.contains(&(
            "create".into(),
            format!("arn:aws:iam::{OTHER}:role/teams/developer")
        )),
        "{acts:?}"
    );
    assert!(
        codes_for(&plan, &format!("arn:aws:iam::{OTHER}:role/developer"))
            .contains(&"path-restored".to_string())
    );
}

#[test]
fn kubernetes_throttling_is_retried() {
    let live = start(world("CONFIG_MAP"), kube_world(Some(AWS_AUTH)));
    live.kube.set_faults(Faults {
        throttle_every: Some(2),
        ..Faults::default()
    });
    let plan = live.plan(&[]);
    assert!(actions(&plan).len() >= 4);
    // aws-auth and two RBAC lists, each answered 429 every other time.
    assert!(live.kube.calls() >= 4, "{}", live.kube.calls());
}

#[test]
fn the_cluster_creators_entry_is_recognised_from_its_creation_time() {
    let mut w = world("API_AND_CONFIG_MAP");
    {
        let c = w.clusters.get_mut("prod").unwrap();
        let creator = format!("arn:aws:iam::{ACCT}:role/cluster-creator");
        let mut e = AccessEntry::standard(&creator);
        e.policies.insert(ADMIN_POLICY.into(), Scope::cluster());
        e.created_at = c.created_at + 30;
        c.access_entries.insert(creator, e);
        // An admin added ten days later by a human is not EKS's.
        let later = format!("arn:aws:iam::{ACCT}:role/platform-admin");
        let mut e = AccessEntry::standard(&later);
        e.policies.insert(ADMIN_POLICY.into(), Scope::cluster());
        e.created_at = c.created_at + 10 * 86_400;
        c.access_entries.insert(later, e);
    }
    let live = start(w, kube_world(Some(AWS_AUTH)));
    let r = live.run(&["snapshot", "--cluster", "prod"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let state: Value = serde_json::from_str(&r.stdout).unwrap();
    let owner = |arn: String| {
        state["accessEntries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["principalArn"] == arn)
            .map(|e| e["eksOwned"].clone())
            .unwrap()
    };
    assert_eq!(
        owner(format!("arn:aws:iam::{ACCT}:role/cluster-creator")),
        "clusterCreator"
    );
    assert!(owner(format!("arn:aws:iam::{ACCT}:role/platform-admin")).is_null());
    // Without bootstrap permissions, EKS made no creator entry: nothing is guessed.
    live.aws
        .with_world(|w| w.clusters.get_mut("prod").unwrap().bootstrap_creator_admin = false);
    let r = live.run(&["snapshot", "--cluster", "prod"]);
    let state: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(!r.stdout.contains("clusterCreator"), "{state}");
}

#[test]
fn kubeconfig_files_merge_like_kubectl_and_context_picks_the_cluster() {
    let live = start(world("CONFIG_MAP"), kube_world(Some(AWS_AUTH)));
    let staging = live.home.join("staging.yaml");
    std::fs::write(
        &staging,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: staging\n  cluster: {server: \"https://staging.example.com\"}\nusers:\n- name: s\n  user: {token: t}\ncontexts:\n- name: staging\n  context: {cluster: staging, user: s}\ncurrent-context: staging\n",
    )
    .unwrap();
    let paths = format!(
        "{}:{}:{}",
        live.home.join("missing.yaml").display(),
        staging.display(),
        live.home.join("kubeconfig").display()
    );
    let run = |extra: &[&str]| {
        let args = [&["plan", "--cluster", "prod", "-o", "json"], extra].concat();
        live.run_env(&args, &[("KUBECONFIG", Some(&paths))])
    };
    // The first file's current context is staging: refused, nothing read there.
    let r = run(&[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("https://staging.example.com"),
        "{}",
        r.stderr
    );
    // The second file's context, chosen by name, is this cluster.
    let r = run(&["--context", "emu"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn an_eks_token_is_only_good_for_its_own_cluster() {
    let live = token_only("another-cluster");
    let r = live.run(&["plan", "--cluster", "prod"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("Kubernetes API"), "{}", r.stderr);
}

#[test]
fn a_wrong_secret_is_caught_by_the_signature_check() {
    let live = start(world("CONFIG_MAP"), kube_world(Some(AWS_AUTH)));
    live.aws.with_world(|w| {
        w.secrets.insert(KEY.into(), "another-secret".into());
    });
    let r = live.run(&["plan", "--cluster", "prod"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("SignatureDoesNotMatch"), "{}", r.stderr);
}

#[test]
fn denied_reads_become_findings_not_failures() {
    let mut w = world("CONFIG_MAP");
    w.denied_operations.insert("ListNodegroups".into());
    w.denied_operations.insert("GetRole".into());
    let live = start(w, kube_world(Some(AWS_AUTH)));
    let plan = live.plan(&[]);
    let codes: Vec<&str> = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"live-read-incomplete"), "{codes:?}");
    // Without GetRole the SSO role's path is unknown: no guessed entry.
    assert!(codes_for(
        &plan,
        "arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123456789abcdef"
    )
    .contains(&"sso-path-unknown".to_string()));
    let dev = format!("arn:aws:iam::{ACCT}:role/developer");
    let f = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["principalArn"] == dev && f["code"] == "path-unverified")
        .unwrap();
    assert!(
        f["message"].as_str().unwrap().contains("AccessDenied"),
        "{f}"
    );
}

/// EKS compares role ARNs ignoring case: an entry is EKS-owned whatever the
/// case its node group or Fargate profile writes the role in, and a role
/// named by both gets one owner, the node group, whatever other roles sort
/// between the two spellings.
#[test]
fn ownership_follows_eks_comparison_of_role_arns() {
    let mut w = world("API_AND_CONFIG_MAP");
    let node = format!("arn:aws:iam::{ACCT}:role/NodeRole");
    let c = w.clusters.get_mut("prod").unwrap();
    c.nodegroups
        .insert("ng-1".into(), format!("arn:aws:iam::{ACCT}:role/noderole"));
    c.nodegroups
        .insert("ng-2".into(), format!("arn:aws:iam::{ACCT}:role/Other"));
    c.fargate_profiles
        .insert("fp-1".into(), format!("arn:aws:iam::{ACCT}:role/NODEROLE"));
    c.access_entries.insert(
        node.clone(),
        AccessEntry {
            principal_arn: node.clone(),
            kind: "EC2_LINUX".into(),
            username: "system:node:{{EC2PrivateDNSName}}".into(),
            created_by_eks: true,
            ..AccessEntry::default()
        },
    );
    let live = start(w, kube_world(Some(AWS_AUTH)));
    let r = live.run(&["snapshot", "--cluster", "prod"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let state: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(state["accessEntries"][0]["principalArn"], node);
    assert_eq!(state["accessEntries"][0]["eksOwned"], "nodegroup");
    let owned = state["eksOwnedRoles"].as_array().unwrap();
    let named: Vec<(&str, &str)> = owned
        .iter()
        .map(|o| {
            (
                o["principalArn"].as_str().unwrap(),
                o["owner"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(named.len(), 2, "{named:?}");
    assert!(
        named
            .iter()
            .any(|(a, o)| a.eq_ignore_ascii_case(&node) && *o == "nodegroup"),
        "{named:?}"
    );
}

/// Error messages say what failed and why in words: never a Rust debug
/// dump of the client's error (`Status { ... }`, `DispatchFailure(...)`).
#[test]
fn errors_never_dump_debug_structures() {
    let mut k = kube_world(Some(AWS_AUTH));
    k.tokens.clear();
    let live = start(world("CONFIG_MAP"), k);
    let r = live.run(&["plan", "--cluster", "prod"]);
    assert_eq!(r.code, 1);
    for dump in ["Status {", "ErrorResponse", "Some(", "DispatchFailure("] {
        assert!(!r.stderr.contains(dump), "{dump}: {}", r.stderr);
    }
    assert!(r.stderr.contains("Unauthorized"), "{}", r.stderr);
    let live = start(world("CONFIG_MAP"), kube_world(Some(AWS_AUTH)));
    let r = live.run_env(
        &["plan", "--cluster", "prod"],
        &[("AWS_ENDPOINT_URL", Some("http://127.0.0.1:9"))],
    );
    assert_eq!(r.code, 1);
    for dump in ["Status {", "Some(", "DispatchFailure(", "ConnectorError {"] {
        assert!(!r.stderr.contains(dump), "{dump}: {}", r.stderr);
    }
}

/// aws-auth naming `n` roles of the caller's account (written without their
/// path `/teams/`), a missing one, and a user.
fn many_roles(n: usize) -> (AwsWorld, String) {
    let mut w = world("API_AND_CONFIG_MAP");
    let mut map_roles = String::new();
    for i in 0..n {
        w.add_role(&format!("arn:aws:iam::{ACCT}:role/teams/team-{i}"));
        map_roles.push_str(&format!(
            "- rolearn: arn:aws:iam::{ACCT}:role/Team-{i}\n  username: team-{i}\n  groups: [developers]\n"
        ));
    }
    map_roles.push_str(&format!(
        "- rolearn: arn:aws:iam::{ACCT}:role/gone\n  username: gone\n"
    ));
    (w, map_roles)
}

#[test]
fn many_principals_are_looked_up_with_one_listing_not_one_call_each() {
    let (w, map_roles) = many_roles(40);
    let live = start(w, kube_world(Some(&map_roles)));
    let plan = live.plan(&[]);
    let ops = live.aws.calls_by_operation();
    assert!(!ops.contains_key("GetRole"), "{ops:?}");
    assert_eq!(ops.get("ListRoles"), Some(&1), "one page: {ops:?}");
    // The listing carries the paths, matched as GetRole matches names
    // (case-insensitively), and says who is gone.
    let acts = actions(&plan);
    for i in [0, 17, 39] {
        let arn = format!("arn:aws:iam::{ACCT}:role/teams/team-{i}");
        assert!(acts.contains(&("create".into(), arn)), "{acts:?}");
    }
    let gone = format!("arn:aws:iam::{ACCT}:role/gone");
    assert!(codes_for(&plan, &gone).contains(&"principal-not-found".to_string()));

    // Where ListRoles is denied, each role is asked for on its own.
    let (mut w, map_roles) = many_roles(40);
    w.denied_operations.insert("ListRoles".into());
    let live = start(w, kube_world(Some(&map_roles)));
    let denied = live.plan(&[]);
    let ops = live.aws.calls_by_operation();
    assert_eq!(ops.get("GetRole"), Some(&41), "{ops:?}");
    assert_eq!(actions(&denied), acts);
}
