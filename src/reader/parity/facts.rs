//! What the oracle must answer on inputs whose reading by the authenticator
//! was worked out by hand from the Go sources, so that a broken oracle fails
//! here, loudly, instead of flooding the comparison. Each is also evidence of
//! a quirk the reader has to reproduce.

use super::oracle::{Oracle, Reading};

fn ask(data: &[(&str, &str)]) -> Reading {
    let data: serde_json::Map<String, serde_json::Value> = data
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
        .collect();
    let line = serde_json::json!({ "data": data }).to_string();
    Oracle::start().ask(&[line]).remove(0)
}

fn status(r: &Reading, key: &str) -> String {
    r.keys[key].clone()
}

#[test]
fn plain_roles_are_keyed_by_the_lower_cased_arn() {
    let r = ask(&[(
        "mapRoles",
        "- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: a\n  groups: [g]\n- rolearn: arn:aws:iam::111122223333:role/ADMIN\n  username: b\n",
    )]);
    assert_eq!(status(&r, "mapRoles"), "loaded");
    assert_eq!(r.roles.len(), 1, "{r:?}");
    assert_eq!(r.roles[0].key, "arn:aws:iam::111122223333:role/admin");
    assert_eq!(
        (r.roles[0].username.as_str(), r.roles[0].groups.len()),
        ("b", 0)
    );
}

#[test]
fn empty_values_are_skipped_and_a_leading_brace_is_json() {
    let r = ask(&[("mapRoles", " '' "), ("mapUsers", "{\"userarn\": \"x\"}")]);
    assert_eq!(status(&r, "mapRoles"), "skipped");
    assert_eq!(status(&r, "mapUsers"), "failed", "an object is not a list");
}

#[test]
fn yaml_v2_refuses_control_characters_but_breaks_lines_at_ls() {
    let r = ask(&[("mapRoles", "- rolearn: r1\n  username: a\u{0}b\n")]);
    assert_eq!(status(&r, "mapRoles"), "failed");
    let r = ask(&[(
        "mapRoles",
        "- rolearn: r1\n  username: u # note\u{2028}  groups: [system:masters]\n",
    )]);
    assert_eq!(r.roles[0].groups, ["system:masters"], "{r:?}");
}

#[test]
fn a_merge_key_overrides_the_keys_before_it() {
    let r = ask(&[(
        "mapRoles",
        "- rolearn: r1\n  username: mine\n  <<: {rolearn: r2, username: merged}\n",
    )]);
    assert_eq!(
        (r.roles[0].key.as_str(), r.roles[0].username.as_str()),
        ("r2", "merged")
    );
}

#[test]
fn nan_anywhere_fails_the_key_and_wrong_typed_groups_stay_empty() {
    let r = ask(&[("mapRoles", "- rolearn: r1\n  note: .nan\n")]);
    assert_eq!(status(&r, "mapRoles"), "failed");
    let r = ask(&[(
        "mapUsers",
        "- userarn: u1\n  username: 2001-12-14\n  groups: [a, 1_000, null, !!binary Yg==]\n",
    )]);
    assert_eq!(r.users[0].username, "2001-12-14");
    assert_eq!(r.users[0].groups, ["a", "", "", "b"]);
}

#[test]
fn a_second_spelling_of_groups_reuses_the_first_ones_elements() {
    let r = ask(&[(
        "mapRoles",
        "- Groups: [a, b]\n  groups: [1]\n  rolearn: r1\n",
    )]);
    assert_eq!(r.roles[0].groups, ["a"], "{r:?}");
}

#[test]
fn sso_matchers_in_other_partitions_share_one_key() {
    let r = ask(&[(
        "mapRoles",
        "- sso: {permissionSetName: Admin, accountID: '111122223333', partition: aws-cn}\n- sso: {permissionSetName: Admin, accountID: '111122223333', partition: aws-us-gov}\n  username: second\n",
    )]);
    assert_eq!(r.roles.len(), 1, "{r:?}");
    assert_eq!(
        r.roles[0].key,
        "arn::iam::111122223333:role/awsreservedsso_admin_*"
    );
    assert_eq!(r.roles[0].username, "second");
}

#[test]
fn accounts_decoded_before_a_yaml_error_are_kept() {
    let r = ask(&[(
        "mapAccounts",
        "- 111122223333\n- !!binary '#'\n- 444455556666\n",
    )]);
    assert_eq!(status(&r, "mapAccounts"), "failed");
    assert_eq!(r.accounts, ["", "111122223333"]);
}

#[test]
fn colliding_keys_are_nondeterministic_when_their_values_differ_in_effect() {
    let r = ask(&[("mapRoles", "- rolearn: r1\n  1: .nan\n  \"1\": x\n")]);
    assert!(r.nondeterministic, "{r:?}");
    let r = ask(&[("mapRoles", "- rolearn: r1\n  1: a\n  \"1\": b\n")]);
    assert!(!r.nondeterministic, "{r:?}");
}
