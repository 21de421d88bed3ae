//! One test per row of docs/MAPPING.md (rows 19-20 are the reader's; see
//! `reader::decode`), plus overrides and `--policies-from-rbac`.

use super::*;
use crate::model::entry::ScopeType;
use crate::reader;

const ACCT: &str = "111122223333";

struct World {
    rbac: Option<Rbac>,
    iam: IamDump,
    overrides: Overrides,
    options: Options,
}

impl World {
    fn new() -> World {
        World {
            rbac: None,
            iam: IamDump::default(),
            overrides: Overrides::default(),
            options: Options::default(),
        }
    }

    fn roles(mut self, arns: &[&str]) -> World {
        let items: Vec<String> = arns
            .iter()
            .map(|a| format!("{{\"Arn\": \"{a}\"}}"))
            .collect();
        let text = format!("{{\"Roles\": [{}]}}", items.join(","));
        self.iam.add_file("roles.json", text.as_bytes()).unwrap();
        self
    }

    fn overrides(mut self, text: &str) -> World {
        self.overrides.add_file("o.yaml", text.as_bytes()).unwrap();
        self
    }

    fn rbac(mut self, text: &str) -> World {
        let mut r = Rbac::default();
        r.add_file("rbac.yaml", text.as_bytes()).unwrap();
        self.rbac = Some(r);
        self
    }

    fn map(&self, data: &str) -> Mapped {
        let text = format!(
            "kind: ConfigMap\nmetadata: {{name: aws-auth, namespace: kube-system}}\ndata:\n{data}"
        );
        let a = reader::read("aws-auth.yaml", text.as_bytes()).unwrap();
        let cluster = Cluster {
            partition: Partition::Aws,
            account: Some(ACCT.into()),
        };
        map(
            &a,
            &Context {
                cluster: &cluster,
                rbac: self.rbac.as_ref(),
                iam: &self.iam,
                overrides: &self.overrides,
                options: self.options,
            },
        )
    }
}

fn roles(items: &str) -> String {
    format!("  mapRoles: |\n{}", indent(items))
}

fn users(items: &str) -> String {
    format!("  mapUsers: |\n{}", indent(items))
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    {l}\n")).collect()
}

fn codes(m: &Mapped) -> Vec<&'static str> {
    m.findings.iter().map(|f| f.code.as_str()).collect()
}

fn only(m: &Mapped) -> &DesiredEntry {
    assert_eq!(m.desired.len(), 1, "{:#?}", m);
    &m.desired[0]
}

const NODE: &str = "- rolearn: arn:aws:iam::111122223333:role/NodeRole\n  username: system:node:{{EC2PrivateDNSName}}\n";

#[test]
fn row_01_linux_node_role() {
    let m = World::new().map(&roles(&format!(
        "{NODE}  groups: [system:bootstrappers, system:nodes]"
    )));
    let e = only(&m);
    assert_eq!(e.entry_type, EntryType::Ec2Linux);
    assert_eq!((e.username.clone(), e.kubernetes_groups.len()), (None, 0));
    assert_eq!(codes(&m), vec!["path-unverified"]);
}

#[test]
fn row_02_windows_node_role() {
    let m = World::new().map(&roles(&format!(
        "{NODE}  groups: [system:bootstrappers, system:nodes, eks:kube-proxy-windows]"
    )));
    assert_eq!(only(&m).entry_type, EntryType::Ec2Windows);
    assert!(!codes(&m).contains(&"node-extra-groups"));
}

#[test]
fn row_03_node_extra_groups_are_lost_with_a_warning() {
    let m = World::new().map(&roles(&format!(
        "{NODE}  groups: [system:bootstrappers, system:nodes, monitoring]"
    )));
    assert_eq!(only(&m).entry_type, EntryType::Ec2Linux);
    let f = m
        .findings
        .iter()
        .find(|f| f.code == Code::NodeExtraGroups)
        .unwrap();
    assert!(f.message.contains("monitoring"));
}

#[test]
fn row_03b_node_username_missing_a_node_group() {
    let m = World::new().map(&roles(&format!("{NODE}  groups: [system:nodes]")));
    assert!(m.desired.is_empty());
    let f = m
        .findings
        .iter()
        .find(|f| f.code == Code::NodeGroupMissing)
        .unwrap();
    assert!(f.message.contains("system:bootstrappers"));
    assert_eq!(m.left[0].severity, Severity::Error);
}

#[test]
fn row_04_fargate_role() {
    let m = World::new().map(&roles(
        "- rolearn: arn:aws:iam::111122223333:role/Fargate\n  username: system:node:{{SessionName}}\n  groups: [system:bootstrappers, system:nodes, system:node-proxier]",
    ));
    assert_eq!(only(&m).entry_type, EntryType::FargateLinux);
}

#[test]
fn row_05_session_name_node_role_is_ambiguous_until_overridden() {
    let data = roles("- rolearn: arn:aws:iam::111122223333:role/Hybrid\n  username: system:node:{{SessionName}}\n  groups: [system:bootstrappers, system:nodes]");
    let m = World::new().map(&data);
    assert!(m.desired.is_empty());
    assert!(codes(&m).contains(&"ambiguous-node-role"));
    let m = World::new()
        .overrides("arn:aws:iam::111122223333:role/Hybrid:\n  type: HYBRID_LINUX\n")
        .map(&data);
    let e = only(&m);
    assert_eq!(e.entry_type, EntryType::HybridLinux);
    assert_eq!(e.overridden_by.as_ref().unwrap().file, "o.yaml");
    assert!(!codes(&m).contains(&"ambiguous-node-role"));
    assert!(codes(&m).contains(&"override-applied"));
}

#[test]
fn row_06_system_masters_becomes_cluster_admin_and_keeps_other_groups() {
    let m = World::new().map(&roles(
        "- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin\n  groups: [system:masters, ops]",
    ));
    let e = only(&m);
    assert_eq!(e.entry_type, EntryType::Standard);
    assert_eq!(e.kubernetes_groups, vec!["ops"]);
    assert_eq!(
        e.access_policies[0].policy_arn,
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    );
    assert_eq!(
        e.access_policies[0].access_scope.scope_type,
        ScopeType::Cluster
    );
}

#[test]
fn row_07_other_reserved_groups_are_dropped_with_a_warning() {
    let m = World::new().map(&roles(
        "- rolearn: arn:aws:iam::111122223333:role/Dev\n  username: dev\n  groups: [system:authenticated, eks:x, dev]",
    ));
    assert_eq!(only(&m).kubernetes_groups, vec!["dev"]);
    let dropped = m
        .findings
        .iter()
        .filter(|f| f.code == Code::ReservedGroupDropped)
        .count();
    assert_eq!(dropped, 2);
}

#[test]
fn row_08_unbound_groups_are_reported_when_rbac_is_known() {
    let data = roles("- rolearn: arn:aws:iam::111122223333:role/Dev\n  username: dev\n  groups: [bound, unbound]");
    assert!(!codes(&World::new().map(&data)).contains(&"group-not-bound"));
    let m = World::new()
        .rbac("kind: RoleBinding\nmetadata: {name: b, namespace: x}\nroleRef: {kind: Role, name: r}\nsubjects: [{kind: Group, name: bound}]\n")
        .map(&data);
    assert_eq!(only(&m).kubernetes_groups, vec!["bound", "unbound"]);
    let f: Vec<_> = m
        .findings
        .iter()
        .filter(|f| f.code == Code::GroupNotBound)
        .collect();
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("`unbound`"));
}

#[test]
fn row_09_valid_username_is_kept() {
    let m = World::new().map(&roles(
        "- rolearn: arn:aws:iam::111122223333:role/Dev\n  username: dev:{{SessionName}}",
    ));
    assert_eq!(only(&m).username.as_deref(), Some("dev:{{SessionName}}"));
}

#[test]
fn row_10_empty_username_is_omitted_with_info() {
    let m = World::new().map(&users(
        "- userarn: arn:aws:iam::111122223333:user/bob\n  groups: [dev]",
    ));
    assert_eq!(only(&m).username, None);
    assert_eq!(codes(&m), vec!["default-username"]);
}

#[test]
fn row_11_unsupported_usernames_and_group_templates_block_the_entry() {
    for (username, groups) in [
        ("\"{{SessionName}}\"", "[dev]"),
        ("system:admin", "[dev]"),
        ("dev:{{SessionName}}:x", "[dev]"),
        ("acct-{{AccountID}}", "[dev]"),
        ("ip-{{EC2PrivateDNSName}}", "[dev]"),
        ("dev", "[\"team-{{SessionName}}\"]"),
    ] {
        let m = World::new().map(&roles(&format!(
            "- rolearn: arn:aws:iam::111122223333:role/Dev\n  username: {username}\n  groups: {groups}"
        )));
        assert!(m.desired.is_empty(), "{username} {groups}");
        let c = codes(&m);
        assert!(
            c.contains(&"unsupported-username") || c.contains(&"unsupported-group"),
            "{username}: {c:?}"
        );
    }
}

#[test]
fn row_12_role_path_is_restored_from_the_iam_dump() {
    let m = World::new()
        .roles(&["arn:aws:iam::111122223333:role/teams/ops/Ops"])
        .map(&roles(
            "- rolearn: arn:aws:iam::111122223333:role/ops\n  username: ops",
        ));
    assert_eq!(
        only(&m).principal_arn.as_str(),
        "arn:aws:iam::111122223333:role/teams/ops/Ops"
    );
    assert_eq!(codes(&m), vec!["path-restored"]);
}

#[test]
fn row_13_unverifiable_path_warns_and_sso_roles_error() {
    let m = World::new().map(&roles(
        "- rolearn: arn:aws:iam::444455556666:role/Ops\n  username: ops",
    ));
    assert_eq!(
        only(&m).principal_arn.as_str(),
        "arn:aws:iam::444455556666:role/Ops"
    );
    assert_eq!(codes(&m), vec!["path-unverified"]);
    let m = World::new().map(&roles(
        "- rolearn: arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123456789abcdef\n  username: admin",
    ));
    assert!(m.desired.is_empty());
    assert_eq!(codes(&m), vec!["sso-path-unknown"]);
}

#[test]
fn row_14_principal_missing_from_a_covering_dump() {
    let m = World::new()
        .roles(&["arn:aws:iam::111122223333:role/Other"])
        .map(&roles(
            "- rolearn: arn:aws:iam::111122223333:role/Gone\n  username: gone",
        ));
    assert!(m.desired.is_empty());
    assert_eq!(codes(&m), vec!["principal-not-found"]);
}

#[test]
fn row_15_sso_matcher_errors_unless_expanded() {
    let data = roles("- sso:\n    permissionSetName: Admin\n    accountID: \"111122223333\"\n  username: admin:{{SessionName}}\n  groups: [ops]");
    let world = World::new().roles(&[
        "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_aaaa",
        "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_bbbb",
        "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_ReadOnly_cccc",
    ]);
    let m = world.map(&data);
    assert!(m.desired.is_empty());
    assert_eq!(codes(&m), vec!["sso-matcher"]);
    let world = World {
        options: Options {
            expand_sso: true,
            ..Options::default()
        },
        ..world
    };
    let m = world.map(&data);
    assert_eq!(m.desired.len(), 2);
    assert!(m.desired.iter().all(|e| e.kubernetes_groups == ["ops"]));
    assert_eq!(codes(&m), vec!["sso-expanded"]);
}

#[test]
fn row_15b_wildcard_role_arn_is_dead() {
    let m = World::new().map(&roles(
        "- rolearn: arn:aws:iam::111122223333:role/Admin*\n  username: a",
    ));
    assert!(m.desired.is_empty());
    assert_eq!(codes(&m), vec!["wildcard-arn"]);
    assert_eq!(m.left[0].severity, Severity::Warning);
}

#[test]
fn row_16_mappings_that_never_match_get_no_entry() {
    for arn in [
        "arn:aws:sts::111122223333:assumed-role/Admin/session",
        "arn:aws:iam::111122223333:role/teams/Admin",
        "\" arn:aws:iam::111122223333:role/Admin\"",
        "arn:aws-cn:iam::111122223333:role/Admin",
        "arn:aws:iam::1111:role/Admin",
    ] {
        let m = World::new().map(&roles(&format!("- rolearn: {arn}\n  username: a")));
        assert!(m.desired.is_empty(), "{arn}");
        assert_eq!(codes(&m), vec!["dead-mapping"], "{arn}");
    }
}

#[test]
fn row_16b_service_linked_role() {
    let m = World::new().map(&roles(
        "- rolearn: arn:aws:iam::111122223333:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS\n  username: x",
    ));
    assert!(m.desired.is_empty());
    assert_eq!(codes(&m), vec!["service-linked-role"]);
}

#[test]
fn row_16c_root_and_federated_users_need_a_drop() {
    let data = users("- userarn: arn:aws:iam::111122223333:root\n  username: root\n- userarn: arn:aws:sts::111122223333:federated-user/bob\n  username: bob");
    let m = World::new().map(&data);
    assert!(m.desired.is_empty());
    assert_eq!(
        codes(&m),
        vec!["unsupported-principal", "unsupported-principal"]
    );
    let m = World::new()
        .overrides("arn:aws:iam::111122223333:root:\n  username: x\narn:aws:sts::111122223333:federated-user/bob:\n  drop: true\n")
        .map(&data);
    assert!(m.desired.is_empty());
    let c = codes(&m);
    assert_eq!(
        c.iter().filter(|c| **c == "unsupported-principal").count(),
        1,
        "only drop settles it: {c:?}"
    );
}

#[test]
fn row_17_map_accounts_warn_per_account() {
    let m = World::new().map("  mapAccounts: |\n    - \"111122223333\"\n    - 444455556666\n");
    assert_eq!(codes(&m), vec!["map-accounts", "map-accounts"]);
    assert!(m.findings[1].message.contains("444455556666"));
}

#[test]
fn row_18_last_duplicate_wins() {
    let m = World::new().map(&roles(
        "- rolearn: arn:aws:iam::111122223333:role/Dev\n  username: first\n- rolearn: arn:aws:iam::111122223333:role/dev\n  username: second",
    ));
    assert_eq!(only(&m).username.as_deref(), Some("second"));
    assert!(codes(&m).contains(&"duplicate-shadowed"));
}

#[test]
fn row_18b_maproles_wins_over_mapusers() {
    let m = World::new().map(&format!(
        "{}{}",
        roles("- rolearn: arn:aws:iam::111122223333:role/Dev\n  username: as-role"),
        users("- userarn: arn:aws:iam::111122223333:role/Dev\n  username: as-user")
    ));
    assert_eq!(only(&m).username.as_deref(), Some("as-role"));
    assert!(codes(&m).contains(&"shadowed-by-maproles"));
}

#[test]
fn row_18c_role_under_mapusers_is_migrated_as_a_role() {
    let m = World::new().map(&users(
        "- userarn: arn:aws:iam::111122223333:role/Dev\n  username: dev",
    ));
    assert_eq!(
        only(&m).principal_arn.as_str(),
        "arn:aws:iam::111122223333:role/Dev"
    );
    assert!(codes(&m).contains(&"role-in-mapusers"));
}

#[test]
fn row_18d_case_only_user_duplicates_need_a_decision() {
    let data = users("- userarn: arn:aws:iam::111122223333:user/Bob\n  username: b1\n- userarn: arn:aws:iam::111122223333:user/bob\n  username: b2");
    let m = World::new().map(&data);
    assert!(m.desired.is_empty());
    assert_eq!(
        codes(&m),
        vec!["case-ambiguous-users", "case-ambiguous-users"]
    );
    let m = World::new()
        .overrides("arn:aws:iam::111122223333:user/Bob:\n  drop: true\narn:aws:iam::111122223333:user/bob:\n  username: b2\n")
        .map(&data);
    assert_eq!(
        only(&m).principal_arn.as_str(),
        "arn:aws:iam::111122223333:user/bob"
    );
}

#[test]
fn row_19_to_20_reader_findings_pass_through() {
    let m = World::new().map("  mapRoles: |\n    - role_arn: x\n  mapusers: |\n    - userarn: y\n");
    assert_eq!(codes(&m), vec!["item-ignored", "unknown-data-key"]);
}

#[test]
fn row_21_node_roles_must_be_in_the_cluster_account() {
    let m = World::new().map(&roles(
        "- rolearn: arn:aws:iam::444455556666:role/NodeRole\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]",
    ));
    assert!(m.desired.is_empty());
    assert!(codes(&m).contains(&"node-cross-account"));
}

#[test]
fn overrides_for_unknown_principals_are_errors() {
    let m = World::new()
        .overrides("arn:aws:iam::111122223333:role/Nobody:\n  drop: true\n")
        .map(&roles(
            "- rolearn: arn:aws:iam::111122223333:role/Dev\n  username: dev",
        ));
    assert_eq!(m.desired.len(), 1);
    let f = m
        .findings
        .iter()
        .find(|f| f.code == Code::OverrideUnknownPrincipal)
        .unwrap();
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.source.as_ref().unwrap().file, "o.yaml");
}

#[test]
fn override_principal_arn_settles_an_sso_path_and_is_validated() {
    let data = roles("- rolearn: arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123456789abcdef\n  username: admin\n  groups: [system:masters]");
    let m = World::new()
        .overrides("arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123456789abcdef:\n  principalArn: arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef\n")
        .map(&data);
    let e = only(&m);
    assert!(e.principal_arn.contains("/aws-reserved/sso.amazonaws.com/"));
    assert_eq!(
        e.access_policies.len(),
        1,
        "the rest of the identity is kept"
    );
    let m = World::new()
        .overrides("arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123456789abcdef:\n  principalArn: arn:aws:sts::111122223333:assumed-role/x/y\n")
        .map(&data);
    assert!(m.desired.is_empty());
    assert!(codes(&m).contains(&"override-invalid"));
}

#[test]
fn policies_from_rbac_replace_groups_bound_to_one_builtin_role() {
    let rbac = "kind: List\nitems:\n- kind: ClusterRoleBinding\n  metadata: {name: v}\n  roleRef: {kind: ClusterRole, name: view}\n  subjects: [{kind: Group, name: viewers}]\n- kind: RoleBinding\n  metadata: {name: e, namespace: apps}\n  roleRef: {kind: ClusterRole, name: edit}\n  subjects: [{kind: Group, name: editors}]\n- kind: RoleBinding\n  metadata: {name: c, namespace: apps}\n  roleRef: {kind: Role, name: custom}\n  subjects: [{kind: Group, name: custom}]\n";
    let data = roles("- rolearn: arn:aws:iam::111122223333:role/Dev\n  username: dev\n  groups: [viewers, editors, custom]");
    let off = World::new().rbac(rbac).map(&data);
    assert_eq!(
        only(&off).kubernetes_groups,
        vec!["viewers", "editors", "custom"]
    );
    let mut world = World::new().rbac(rbac);
    world.options.policies_from_rbac = true;
    let on = world.map(&data);
    let e = only(&on);
    assert_eq!(e.kubernetes_groups, vec!["custom"]);
    let names: Vec<(&str, String)> = e
        .access_policies
        .iter()
        .map(|p| (p.short_name(), p.access_scope.to_string()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("AmazonEKSViewPolicy", "cluster".to_string()),
            ("AmazonEKSEditPolicy", "namespaces apps".to_string())
        ]
    );
    assert_eq!(
        on.findings
            .iter()
            .filter(|f| f.code == Code::PolicyFromRbac)
            .count(),
        2
    );
}

#[test]
fn two_mappings_resolving_to_one_principal_conflict() {
    let mut world = World::new().roles(&[
        "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_aaaa",
    ]);
    world.options.expand_sso = true;
    let m = world.map(&roles(
        "- rolearn: arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_aaaa\n  username: a\n- sso: {permissionSetName: Admin, accountID: \"111122223333\"}\n  username: b",
    ));
    assert!(m.desired.is_empty(), "{:?}", m.desired);
    assert_eq!(
        m.findings
            .iter()
            .filter(|f| f.code == Code::PrincipalConflict)
            .count(),
        2
    );
    assert_eq!(m.left.len(), 2);
}

#[test]
fn cluster_account_is_inferred_from_node_roles_first() {
    let text = "kind: ConfigMap\nmetadata: {name: aws-auth}\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::444455556666:role/A\n    - rolearn: arn:aws:iam::444455556666:role/B\n    - rolearn: arn:aws:iam::111122223333:role/N\n      username: system:node:{{EC2PrivateDNSName}}\n";
    let a = reader::read("f", text.as_bytes()).unwrap();
    let (c, how) = infer_cluster(&a);
    assert_eq!(c.account.as_deref(), Some(ACCT));
    assert!(how.account.contains("node roles"));
}

#[test]
fn overrides_that_change_the_identity_say_so() {
    let data = roles("- rolearn: arn:aws:iam::111122223333:role/Nodes\n  username: system:node:{{SessionName}}\n  groups: [system:bootstrappers, system:nodes]\n- rolearn: arn:aws:iam::111122223333:role/teams/Dead\n  username: dead");
    let m = World::new()
        .overrides("arn:aws:iam::111122223333:role/Nodes:\n  type: EC2_LINUX\narn:aws:iam::111122223333:role/teams/Dead:\n  principalArn: arn:aws:iam::444455556666:role/teams/Other\n")
        .map(&data);
    assert_eq!(m.desired.len(), 2);
    let changed: Vec<&str> = m
        .findings
        .iter()
        .filter(|f| f.code == Code::IdentityChanged)
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(changed.len(), 3, "{changed:#?}");
    assert!(changed[0].contains("`system:node:{{EC2PrivateDNSName}}`"));
    assert!(changed[1].contains("never matches today"));
    assert!(changed[2].contains("another principal"));
}

#[test]
fn node_mappings_for_users_name_the_real_problem() {
    let m = World::new().map(&users(
        "- userarn: arn:aws:iam::111122223333:user/n\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]",
    ));
    assert!(m.desired.is_empty());
    assert_eq!(codes(&m), vec!["node-principal-not-role"]);
}

#[test]
fn existing_entries_restore_paths_like_an_iam_dump() {
    let mut world = World::new();
    world.iam.add_existing("arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef");
    let m = world.map(&roles(
        "- rolearn: arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123456789abcdef\n  username: admin",
    ));
    assert!(only(&m)
        .principal_arn
        .contains("/aws-reserved/sso.amazonaws.com/"));
    let f = m
        .findings
        .iter()
        .find(|f| f.code == Code::PathRestored)
        .unwrap();
    assert!(
        f.message.contains("the existing access entry"),
        "{}",
        f.message
    );
}

#[test]
fn an_override_for_a_shadowed_mapping_is_refused_with_the_reason() {
    let m = World::new()
        .overrides("arn:aws:iam::111122223333:role/Dev:\n  username: x\n")
        .map(&roles(
            "- rolearn: arn:aws:iam::111122223333:role/Dev\n  username: first\n- rolearn: arn:aws:iam::111122223333:role/DEV\n  username: second",
        ));
    let f = m
        .findings
        .iter()
        .find(|f| f.code == Code::OverrideUnknownPrincipal)
        .unwrap();
    assert!(f.message.contains("has no effect today"), "{}", f.message);
    assert_eq!(only(&m).username.as_deref(), Some("second"));
}

#[test]
fn path_warnings_are_dropped_for_principals_without_an_entry() {
    let m = World::new().map(&roles(
        "- rolearn: arn:aws:iam::111122223333:role/X\n  username: system:admin",
    ));
    assert_eq!(codes(&m), vec!["unsupported-username"]);
}

#[test]
fn a_missing_sso_role_points_at_its_reprovisioned_successor_without_picking_it() {
    let m = World::new()
        .roles(&["arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Power_User_9d8c7b6a5f4e3d21"])
        .map(&roles("- rolearn: arn:aws:iam::111122223333:role/AWSReservedSSO_Power_User_0a1b2c3d4e5f6a7b\n  username: p"));
    assert!(m.desired.is_empty());
    let f = &m.findings[0];
    assert_eq!(f.code, Code::PrincipalNotFound);
    assert!(
        f.message
            .contains("AWSReservedSSO_Power_User_9d8c7b6a5f4e3d21"),
        "{}",
        f.message
    );
}

#[test]
fn a_refused_iam_lookup_leaves_the_path_unverified_and_says_why() {
    let mut world = World::new();
    world.iam.add_denied(ACCT);
    let m = world.map(&roles(
        "- rolearn: arn:aws:iam::111122223333:role/Ops\n  username: ops",
    ));
    assert_eq!(
        only(&m).principal_arn.as_str(),
        "arn:aws:iam::111122223333:role/Ops"
    );
    let f = m
        .findings
        .iter()
        .find(|f| f.code == Code::PathUnverified)
        .unwrap();
    assert!(f.message.contains("AccessDenied"), "{}", f.message);
}
