use super::*;
use crate::model::arn::Partition;
use crate::model::cluster::ClusterStatus;
use crate::model::entry::{policy_arn, AccessScope, ScopeType};

fn src(line: usize) -> Source {
    Source {
        file: "aws-auth.yaml".into(),
        key: Some("mapRoles".into()),
        index: Some(0),
        line,
    }
}

fn admin(arn: &str) -> AccessPolicy {
    let _ = arn;
    AccessPolicy {
        policy_arn: policy_arn(Partition::Aws, "AmazonEKSClusterAdminPolicy"),
        access_scope: AccessScope::cluster(),
    }
}

fn desired(
    arn: &str,
    username: Option<&str>,
    groups: &[&str],
    policies: Vec<AccessPolicy>,
) -> DesiredEntry {
    DesiredEntry {
        principal_arn: arn.into(),
        entry_type: EntryType::Standard,
        username: username.map(str::to_string),
        kubernetes_groups: groups.iter().map(|g| g.to_string()).collect(),
        access_policies: policies,
        source: src(1),
        overridden_by: None,
    }
}

fn current(
    arn: &str,
    t: EntryType,
    username: Option<&str>,
    groups: &[&str],
    policies: Vec<AccessPolicy>,
) -> CurrentEntry {
    CurrentEntry {
        principal_arn: arn.into(),
        entry_type: t,
        username: username.map(str::to_string),
        kubernetes_groups: groups.iter().map(|g| g.to_string()).collect(),
        access_policies: policies,
        eks_owned: None,
    }
}

fn run(desired: Vec<DesiredEntry>, mode: AuthMode, entries: Vec<CurrentEntry>) -> Plan {
    let cluster = Cluster {
        partition: Partition::Aws,
        account: Some("111122223333".into()),
    };
    plan(
        "aws-auth.yaml",
        ClusterFacts::new(&cluster, KnownFrom::Flag, KnownFrom::Flag),
        Mapped {
            desired,
            ..Mapped::default()
        },
        Current {
            origin: Origin::File {
                file: "c.json".into(),
            },
            mode,
            version: None,
            status: Some(ClusterStatus::Updating),
            entries,
            undescribed: Vec::new(),
            eks_owned_roles: Vec::new(),
            known_policies: Some(vec![admin(A).policy_arn]),
        },
        Existing::Update,
    )
}

const A: &str = "arn:aws:iam::111122223333:role/A";

#[test]
fn creates_missing_entries_and_switches_the_mode_first() {
    let p = run(
        vec![desired(A, Some("a"), &["g"], vec![admin(A)])],
        AuthMode::ConfigMap,
        vec![],
    );
    assert_eq!(p.actions[0].name(), "create");
    assert_eq!(
        p.mode_change,
        Some(Change {
            from: AuthMode::ConfigMap,
            to: AuthMode::ApiAndConfigMap
        })
    );
    assert_eq!((p.summary.add, p.summary.change), (1, 1));
}

#[test]
fn equal_entries_are_adopted_including_the_default_username() {
    let p = run(
        vec![desired(A, None, &["b", "a"], vec![admin(A)])],
        AuthMode::ApiAndConfigMap,
        vec![current(
            A,
            EntryType::Standard,
            Some("arn:aws:sts::111122223333:assumed-role/A/{{SessionName}}"),
            &["a", "b"],
            vec![admin(A)],
        )],
    );
    assert_eq!(p.actions[0].name(), "adopt");
    assert!(!p.summary.has_changes());
}

#[test]
fn different_username_or_groups_update() {
    let p = run(
        vec![desired(A, Some("new"), &["g"], vec![])],
        AuthMode::ApiAndConfigMap,
        vec![current(A, EntryType::Standard, Some("old"), &["g"], vec![])],
    );
    let Action::Update {
        username,
        kubernetes_groups,
        ..
    } = &p.actions[0]
    else {
        panic!("{:?}", p.actions[0]);
    };
    assert_eq!(username.as_ref().unwrap().to, Some("new".into()));
    assert!(kubernetes_groups.is_none());
    assert_eq!(p.summary.change, 1);
}

#[test]
fn missing_policies_and_other_scopes_are_associated() {
    let ns = AccessPolicy {
        policy_arn: admin(A).policy_arn,
        access_scope: AccessScope {
            scope_type: ScopeType::Namespace,
            namespaces: vec!["x".into()],
        },
    };
    let p = run(
        vec![desired(A, Some("a"), &[], vec![admin(A)])],
        AuthMode::ApiAndConfigMap,
        vec![current(
            A,
            EntryType::Standard,
            Some("a"),
            &[],
            vec![ns.clone()],
        )],
    );
    let Action::Associate { associate, .. } = &p.actions[0] else {
        panic!("{:?}", p.actions[0]);
    };
    assert_eq!(associate[0].previous_scope, Some(ns.access_scope));
}

#[test]
fn another_type_is_a_conflict_and_nothing_is_done() {
    let p = run(
        vec![desired(A, Some("a"), &[], vec![])],
        AuthMode::Api,
        vec![current(A, EntryType::Ec2Linux, None, &[], vec![])],
    );
    assert_eq!(p.actions[0].name(), "none");
    assert_eq!(p.findings[0].code, Code::TypeConflict);
    assert_eq!(p.summary.findings.errors, 1);
    assert!(p.mode_change.is_none());
}

#[test]
fn eks_owned_and_unmanaged_entries_are_left_alone() {
    let mut node = current(
        A,
        EntryType::Ec2Linux,
        Some("system:node:{{EC2PrivateDNSName}}"),
        &[],
        vec![],
    );
    node.eks_owned = Some(EksOwner::Nodegroup);
    let mut d = desired(A, None, &[], vec![]);
    d.entry_type = EntryType::Ec2Linux;
    let other = current(
        "arn:aws:iam::111122223333:role/Other",
        EntryType::Standard,
        None,
        &[],
        vec![],
    );
    let p = run(vec![d], AuthMode::ApiAndConfigMap, vec![node, other]);
    assert!(matches!(
        p.actions[0],
        Action::Adopt {
            eks_owned: Some(EksOwner::Nodegroup),
            ..
        }
    ));
    assert_eq!(p.actions.len(), 1);
    assert!(p.findings.iter().any(|f| f.code == Code::Unmanaged));
    assert_eq!(p.summary.destroy, 0);
}

#[test]
fn platform_versions_below_the_minimum_are_errors() {
    assert!(platform_unsupported("1.28", "eks.5")
        .unwrap()
        .contains("eks.6"));
    assert_eq!(platform_unsupported("1.28", "eks.6"), None);
    assert_eq!(platform_unsupported("1.30", "eks.2"), None);
    assert!(platform_unsupported("1.22", "eks.20").is_some());
    assert_eq!(platform_unsupported("1.33", "eks.1"), None);
    assert_eq!(platform_unsupported("weird", "eks.1"), None);
    let mut p = run(vec![], AuthMode::ConfigMap, vec![]);
    assert!(!p
        .findings
        .iter()
        .any(|f| f.code == Code::PlatformVersionUnsupported));
    let cluster = Cluster {
        partition: Partition::Aws,
        account: None,
    };
    let mut current = Current::assumed();
    current.version = Some(("1.27".into(), "eks.3".into()));
    p = plan(
        "f",
        ClusterFacts::new(&cluster, KnownFrom::Flag, KnownFrom::Flag),
        Mapped::default(),
        current,
        Existing::Update,
    );
    assert_eq!(p.findings[0].code, Code::PlatformVersionUnsupported);
}

#[test]
fn policies_eks_does_not_know_are_errors() {
    let bogus = AccessPolicy {
        policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSMadeUpPolicy".into(),
        access_scope: AccessScope::cluster(),
    };
    let p = run(
        vec![desired(A, Some("a"), &[], vec![admin(A), bogus])],
        AuthMode::Api,
        vec![],
    );
    let unknown: Vec<_> = p
        .findings
        .iter()
        .filter(|f| f.code == Code::UnknownAccessPolicy)
        .collect();
    assert_eq!(unknown.len(), 1);
    assert!(unknown[0].message.contains("AmazonEKSMadeUpPolicy"));
}

#[test]
fn a_cluster_that_is_not_active_is_warned_about() {
    let p = run(vec![], AuthMode::Api, vec![]);
    let f = p
        .findings
        .iter()
        .find(|f| f.code == Code::ClusterNotActive)
        .unwrap();
    assert!(f.message.contains("UPDATING"));
}

/// docs/MAPPING.md row 22: EKS holds at most 3,000 entries per cluster, so a
/// plan that needs more is an error, with the numbers; at 3,000 it is not.
#[test]
fn more_entries_than_the_quota_is_an_error() {
    let role = |i: usize| format!("arn:aws:iam::111122223333:role/r{i}");
    let existing: Vec<CurrentEntry> = (0..2999)
        .map(|i| current(&role(i), EntryType::Standard, None, &[], vec![]))
        .collect();
    let new = |n: usize| -> Vec<DesiredEntry> {
        (0..n)
            .map(|i| desired(&role(5000 + i), Some("u"), &["g"], vec![]))
            .collect()
    };
    let at_limit = run(new(1), AuthMode::ApiAndConfigMap, existing.clone());
    assert!(!at_limit
        .findings
        .iter()
        .any(|f| f.code == Code::EntryQuotaExceeded));
    let over = run(new(2), AuthMode::ApiAndConfigMap, existing);
    let f = over
        .findings
        .iter()
        .find(|f| f.code == Code::EntryQuotaExceeded)
        .expect("a quota finding");
    assert_eq!(f.severity, Severity::Error);
    assert!(f.message.contains("3001"), "{}", f.message);
    assert!(f.message.contains("2999 existing"), "{}", f.message);
}
