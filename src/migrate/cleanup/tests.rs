//! Tests of the minimal cleanup edit, its fallback and its verification.

use super::*;

const ROLES: &str = "\
# Platform roles (managed by hand)

- rolearn: arn:aws:iam::111122223333:role/admin   # break-glass
  username: admin
  groups:
    - system:masters
# the ops team, on call
- \"rolearn\": 'arn:aws:iam::111122223333:role/ops'
  username: \"ops:{{SessionName}}\"
  groups: [ops-team]

- rolearn: arn:aws:iam::111122223333:role/dev
  username: dev
  groups:
  - developers
";

const ADMIN: &str = "- rolearn: arn:aws:iam::111122223333:role/admin   # break-glass\n  username: admin\n  groups:\n    - system:masters\n";
const OPS: &str = "# the ops team, on call\n- \"rolearn\": 'arn:aws:iam::111122223333:role/ops'\n  username: \"ops:{{SessionName}}\"\n  groups: [ops-team]\n\n";
const DEV: &str =
    "- rolearn: arn:aws:iam::111122223333:role/dev\n  username: dev\n  groups:\n  - developers\n";

fn data(roles: &str) -> ConfigMapData {
    ConfigMapData::from([
        ("mapRoles".to_string(), roles.to_string()),
        (
            "mapUsers".to_string(),
            "- userarn: arn:aws:iam::111122223333:user/alice\n  username: alice\n".to_string(),
        ),
        (
            "mapAccounts".to_string(),
            "- \"444455556666\"  # partner\n".to_string(),
        ),
        ("notes".to_string(), "free text\n".to_string()),
    ])
}

fn read(d: &ConfigMapData) -> AwsAuth {
    reader::read_data(
        "test",
        d.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        None,
    )
}

fn clean(d: &ConfigMapData, gone: &[(&str, usize)]) -> Result<AwsAuthCleanup, CleanupError> {
    let migrated = gone.iter().map(|(k, i)| (k.to_string(), *i)).collect();
    cleaned(d, &read(d), &migrated)
}

fn arns(d: &ConfigMapData) -> Vec<String> {
    read(d)
        .mappings
        .iter()
        .map(|m| m.target.written())
        .collect()
}

#[test]
fn removing_one_item_cuts_exactly_its_text_and_keeps_every_other_byte() {
    let d = data(ROLES);
    for (i, text) in [ADMIN, OPS, DEV].into_iter().enumerate() {
        let c = clean(&d, &[("mapRoles", i)]).unwrap();
        assert_eq!(c.after["mapRoles"], ROLES.replacen(text, "", 1), "item {i}");
        assert_eq!(c.keys.len(), 1);
        assert_eq!(c.keys[0].edit, Edit::Minimal);
        assert_eq!(c.keys[0].removed_items, [i]);
        for k in ["mapUsers", "mapAccounts", "notes"] {
            assert_eq!(c.after[k], d[k], "{k} is untouched");
        }
    }
}

#[test]
fn comments_quoting_and_the_header_stay() {
    let c = clean(&data(ROLES), &[("mapRoles", 0), ("mapRoles", 2)]).unwrap();
    let after = &c.after["mapRoles"];
    assert_eq!(
        after,
        "# Platform roles (managed by hand)\n\n# the ops team, on call\n- \"rolearn\": 'arn:aws:iam::111122223333:role/ops'\n  username: \"ops:{{SessionName}}\"\n  groups: [ops-team]\n\n"
    );
    assert_eq!(arns(&c.after)[0], "arn:aws:iam::111122223333:role/ops");
}

/// A comment line right above an item goes with it; one set apart by a
/// blank line stays.
#[test]
fn a_comment_between_items_goes_with_the_item_below_it() {
    let c = clean(&data(ROLES), &[("mapRoles", 1)]).unwrap();
    let after = &c.after["mapRoles"];
    assert!(!after.contains("the ops team"), "{after}");
    assert!(after.starts_with("# Platform roles"), "{after}");
    let c = clean(&data(ROLES), &[("mapRoles", 0)]).unwrap();
    assert!(c.after["mapRoles"].contains("# the ops team, on call\n- \"rolearn\""));
}

#[test]
fn removing_every_item_removes_the_key_and_nothing_else() {
    let d = data(ROLES);
    let c = clean(
        &d,
        &[
            ("mapRoles", 0),
            ("mapRoles", 1),
            ("mapRoles", 2),
            ("mapUsers", 0),
        ],
    )
    .unwrap();
    assert_eq!(c.after.keys().collect::<Vec<_>>(), ["mapAccounts", "notes"]);
    assert_eq!(c.after["mapAccounts"], d["mapAccounts"]);
    assert!(
        c.keys.iter().all(|k| k.edit == Edit::Removed),
        "{:?}",
        c.keys
    );
}

#[test]
fn crlf_line_endings_are_kept() {
    let roles = ROLES.replace('\n', "\r\n");
    let c = clean(&data(&roles), &[("mapRoles", 1)]).unwrap();
    assert_eq!(c.keys[0].edit, Edit::Minimal);
    assert_eq!(
        c.after["mapRoles"],
        roles.replacen(&OPS.replace('\n', "\r\n"), "", 1)
    );
}

#[test]
fn a_flow_sequence_is_written_anew_and_says_why() {
    let roles = "[{rolearn: 'arn:aws:iam::111122223333:role/a', groups: [x]}, {rolearn: 'arn:aws:iam::111122223333:role/b', username: b}]\n";
    let c = clean(&data(roles), &[("mapRoles", 0)]).unwrap();
    let Edit::Rewritten { reason } = &c.keys[0].edit else {
        panic!("{:?}", c.keys);
    };
    assert!(reason.contains("flow sequence"), "{reason}");
    let back = read(&c.after);
    let b = &back.mappings[0];
    assert_eq!(b.target.written(), "arn:aws:iam::111122223333:role/b");
    assert_eq!(b.username.as_deref(), Some("b"));
    assert_eq!(back.mappings.len(), 2, "b and alice");
}

#[test]
fn an_anchor_shared_between_items_is_written_anew() {
    let roles = "- rolearn: arn:aws:iam::111122223333:role/a\n  groups: &g [ops, dev]\n- rolearn: arn:aws:iam::111122223333:role/b\n  groups: *g\n";
    let c = clean(&data(roles), &[("mapRoles", 0)]).unwrap();
    assert!(
        matches!(c.keys[0].edit, Edit::Rewritten { .. }),
        "{:?}",
        c.keys
    );
    assert_eq!(read(&c.after).mappings[0].groups, ["ops", "dev"]);
}

/// The verification compares what the data after reads back to with the
/// kept mappings, and every other key byte for byte.
#[test]
fn verification_catches_a_wrong_edit() {
    let d = data(ROLES);
    let good = clean(&d, &[("mapRoles", 1)]).unwrap();
    let r = read(&d);
    assert_eq!(verify(&good, &r), Ok(()));
    let mut wrong_item = good.clone();
    wrong_item
        .after
        .insert("mapRoles".into(), ROLES.replacen(DEV, "", 1));
    let mut changed_group = good.clone();
    changed_group.after.insert(
        "mapRoles".into(),
        good.after["mapRoles"].replace("- system:masters", "- system:nodes"),
    );
    let mut other_key = good.clone();
    other_key
        .after
        .insert("mapAccounts".into(), "- \"999999999999\"\n".into());
    let mut lost_key = good.clone();
    lost_key.after.remove("notes");
    for (what, bad) in [
        ("another item removed", wrong_item),
        ("a group changed", changed_group),
        ("mapAccounts changed", other_key),
        ("a key dropped", lost_key),
    ] {
        assert!(
            matches!(verify(&bad, &r), Err(CleanupError::Unverified { .. })),
            "{what}"
        );
    }
}

/// A duplicate the migrated mapping shadows goes with it: kept, it would
/// come back to life (README, apply step 3).
#[test]
fn a_shadowed_duplicate_of_a_migrated_mapping_goes_too() {
    let roles = "- rolearn: arn:aws:iam::111122223333:role/admin\n  username: old\n- rolearn: arn:aws:iam::111122223333:role/ops\n- rolearn: arn:aws:iam::111122223333:role/admin\n  username: admin\n";
    let c = clean(&data(roles), &[("mapRoles", 2)]).unwrap();
    assert_eq!(c.keys[0].removed_items, [0, 2]);
    assert_eq!(
        c.after["mapRoles"],
        "- rolearn: arn:aws:iam::111122223333:role/ops\n"
    );
}

#[test]
fn a_value_with_a_byte_order_mark_is_written_anew_not_cut_wrong() {
    // The review's case: cut 3 bytes early, the edit left a stray `]` and
    // the check stopped the plan.
    let roles = "\u{feff}- rolearn: arn:aws:iam::111122223333:role/a\n  username: a\n  groups: [system:masters]\n  \n- rolearn: arn:aws:iam::111122223333:role/b\n  username: b\n  groups: [x,\n]\n";
    let d = data(roles);
    let c = clean(&d, &[("mapRoles", 1)]).unwrap();
    let Edit::Rewritten { reason } = &c.keys[0].edit else {
        panic!("{:?}", c.keys[0].edit)
    };
    assert!(reason.contains("byte-order mark"), "{reason}");
    assert_eq!(
        arns(&c.after),
        [
            "arn:aws:iam::111122223333:role/a",
            "arn:aws:iam::111122223333:user/alice"
        ]
    );
}
