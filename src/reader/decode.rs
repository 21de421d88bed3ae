//! Decodes one data value the way aws-iam-authenticator does.
//!
//! `mapRoles` and `mapUsers` go YAML -> JSON (sigs.k8s.io/yaml, which sorts object
//! keys) -> Go's `encoding/json`, which matches field names case-insensitively,
//! lets the last of several matching keys win, skips a field of the wrong type but
//! keeps the rest of the item, and ignores unknown fields. Items without an ARN are
//! then dropped by validation. `mapAccounts` goes through go-yaml v2 into strings.
//! A value the authenticator skips as empty (`""`, ``` `` ```, blank) yields nothing.

use std::collections::BTreeMap;

use super::configmap::DataValue;
use super::{Account, AwsAuth, DataKey, Mapping, SsoMatcher, Standing, Target};
use crate::model::arn::Partition;
use crate::model::finding::{Code, Finding, Source};
use crate::yaml::{self, Node};

/// Decodes `value` into `out`.
pub(crate) fn decode_value(file: &str, value: &DataValue, out: &mut AwsAuth) {
    let Some(key) = DataKey::from_name(&value.key) else {
        out.findings.push(unknown_key(file, value));
        return;
    };
    let trimmed = value.text.trim();
    if trimmed.is_empty() || trimmed == "``" || trimmed == "\"\"" || trimmed == "''" {
        return;
    }
    let key_source = source_in(file, value, None, value.key_line);
    let (root, failed) = match parse_value(&value.text, key) {
        Ok(parsed) => parsed,
        Err(e) => {
            out.findings.push(unparsable_key(file, value, key, &e));
            return;
        }
    };
    if let Some(line) = second_document(&value.text) {
        out.findings.push(
            Finding::new(
                Code::ItemIgnored,
                format!(
                    "{key} holds a second YAML document; the authenticator reads only the first"
                ),
            )
            .at(&source_in(file, value, None, value.file_line(line))),
        );
    }
    if let Some((e, _)) = failed
        .as_ref()
        .filter(|_| root.as_ref().and_then(Node::as_seq).is_none())
    {
        // go-yaml stopped before it had a list to fill.
        out.findings.push(unparsable_key(file, value, key, e));
        return;
    }
    let Some(root) = root.filter(|d| !d.is_null()) else {
        return;
    };
    let Some(items) = root.as_seq() else {
        out.findings.push(
            Finding::new(
                Code::KeyInactive,
                format!(
                    "{key} must be a list but is {}; the authenticator ignores the whole key today",
                    root.kind_name()
                ),
            )
            .at(&key_source),
        );
        return;
    };
    hidden_yaml(file, value, key, &mut out.findings);
    match failed {
        None => decode_items(file, value, key, items, out),
        Some((e, item)) => {
            // go-yaml stopped at item `item`: the accounts before it count,
            // and the slots it never filled hold "".
            out.findings.push(unparsable_key(file, value, key, &e));
            let done = item.unwrap_or(0).min(items.len());
            decode_items(file, value, key, &items[..done], out);
            out.accounts.push(Account {
                id: String::new(),
                source: source_in(file, value, Some(done), value.file_line(e.line())),
            });
        }
    }
}

/// True when the line writes a merge key: `<<` followed by `:`, at the start
/// of an item, in a flow mapping, or tagged `!!merge`.
fn merge_key_in(line: &str) -> bool {
    if line.trim_start().starts_with('#') {
        return false;
    }
    let quoted = |before: &str| before.matches(['"', '\'']).count() % 2 == 1;
    line.contains("!!merge")
        || line.match_indices("<<").any(|(i, _)| {
            let before = line[..i].trim_end_matches([' ', '\t']);
            let opens = before.is_empty() || before.ends_with(['-', '{', ',', '?']);
            let colon = line[i + 2..]
                .trim_start_matches([' ', '\t'])
                .starts_with(':');
            opens && colon && !quoted(before)
        })
}

/// Points at what go-yaml v2 honours but a reviewer reading the text would
/// miss: YAML 1.1 line breaks (NEL, LS, PS), after which a comment's tail is
/// live YAML, and merge keys, which copy fields in from elsewhere.
fn hidden_yaml(file: &str, value: &DataValue, key: DataKey, findings: &mut Vec<Finding>) {
    for (i, line) in value.text.split('\n').enumerate() {
        let at = source_in(file, value, None, value.file_line(i + 1));
        if let Some(c) = line
            .chars()
            .find(|c| matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}'))
        {
            findings.push(
                Finding::new(
                    Code::HiddenYaml,
                    format!(
                        "{key} has the character U+{:04X} here, a line break for the authenticator (YAML 1.1): text after it is read as YAML even inside a comment; the plan migrates what the authenticator reads",
                        u32::from(c)
                    ),
                )
                .at(&at),
            );
        }
        if merge_key_in(line) {
            findings.push(
                Finding::new(
                    Code::HiddenYaml,
                    format!(
                        "{key} uses a merge key (`<<`) here: the authenticator copies the merged fields into this item, and the plan migrates them; check it grants what you expect"
                    ),
                )
                .at(&at),
            );
        }
    }
}

/// A data value's first YAML document, as the authenticator decodes it:
/// `mapAccounts` straight through go-yaml v2; `mapRoles` and `mapUsers`
/// through k8s.io's `ToJSON`, which passes text starting with `{` to Go's
/// JSON decoder as it is (an object, never the list these keys need), and
/// converts anything else with sigs.k8s.io/yaml, which fails on what JSON
/// cannot hold.
/// For `mapAccounts`, an error go-yaml meets while decoding comes back
/// beside the document, with the list item it stopped at (see
/// [`yaml::parse_first_lenient`]).
///
/// # Errors
/// What fails the whole key.
fn parse_value(text: &str, key: DataKey) -> Result<yaml::FirstDocument, yaml::YamlError> {
    if key == DataKey::MapAccounts {
        return yaml::parse_first_lenient(text);
    }
    if yaml::is_json(text) {
        let line = 1 + text[..text.len() - text.trim_start().len()]
            .matches('\n')
            .count();
        return Err(yaml::YamlError::Syntax {
            line,
            col: 1,
            message: "text starting with `{` is read as a JSON object, and the key must be a list"
                .into(),
        });
    }
    let root = yaml::parse_first(text)?;
    if let Some(root) = &root {
        yaml::check_json(root)?;
    }
    Ok((root, None))
}

/// The line of a second YAML document in `text`, which the authenticator ignores.
fn second_document(text: &str) -> Option<usize> {
    // A second document needs a `---` or `...` marker.
    if !text.contains("---") && !text.contains("...") {
        return None;
    }
    yaml::parse_documents(text)
        .ok()
        .and_then(|docs| docs.get(1).map(|d| d.line))
}

/// Where a finding about `value` points: the file, the data key, the item and the line.
fn source_in(file: &str, value: &DataValue, index: Option<usize>, line: usize) -> Source {
    Source {
        file: file.to_string(),
        key: Some(value.key.clone()),
        index,
        line,
    }
}

/// The finding for a data key the authenticator never reads, with a hint when
/// it differs from a known key only in case.
fn unknown_key(file: &str, value: &DataValue) -> Finding {
    let hint = ["mapRoles", "mapUsers", "mapAccounts"]
        .into_iter()
        .find(|k| k.eq_ignore_ascii_case(&value.key))
        .map(|k| format!("; did you mean `{k}`? Keys are case-sensitive"))
        .unwrap_or_default();
    Finding::new(
        Code::UnknownDataKey,
        format!(
            "data key `{}` is never read by the authenticator{hint}",
            value.key
        ),
    )
    .at(&source_in(file, value, None, value.key_line))
}

/// The finding for a key whose value does not parse, naming the ARNs it holds.
fn unparsable_key(file: &str, value: &DataValue, key: DataKey, e: &yaml::YamlError) -> Finding {
    let line = value.file_line(e.line());
    let at = value.file_position(e.line(), e.col());
    let arns = arns_in(&value.text);
    let who = if arns.is_empty() {
        String::new()
    } else {
        format!(
            " ({}{})",
            arns.iter().take(10).cloned().collect::<Vec<_>>().join(", "),
            if arns.len() > 10 { ", ..." } else { "" }
        )
    };
    Finding::new(
        Code::KeyInactive,
        format!(
            "{key} does not parse at {}:{at}: {}; the authenticator ignores the whole key today, so none of its mappings work{who} and none gets an entry until it is fixed",
            file, e.what()
        ),
    )
    .at(&source_in(file, value, None, line))
}

/// Decodes the items of a key's list into accounts or mappings.
fn decode_items(file: &str, value: &DataValue, key: DataKey, items: &[Node], out: &mut AwsAuth) {
    for (index, item) in items.iter().enumerate() {
        let src = source_in(file, value, Some(index), value.file_line(item.line));
        match key {
            DataKey::MapAccounts => decode_account(item, src, out),
            DataKey::MapRoles | DataKey::MapUsers => {
                let at_line = |inner: usize| value.file_line(inner);
                if let Some(m) = decode_mapping(key, item, src, &at_line, &mut out.findings) {
                    out.mappings.push(m);
                }
            }
        }
    }
}

/// go-yaml v2 decodes any scalar into a string as its text (null becomes
/// "", which matches no account); a list or mapping is skipped.
fn decode_account(item: &Node, source: Source, out: &mut AwsAuth) {
    match item.scalar() {
        Some(s) => out.accounts.push(Account {
            id: if item.is_null() {
                String::new()
            } else {
                s.text.clone()
            },
            source,
        }),
        _ => out.findings.push(
            Finding::new(
                Code::WrongFieldType,
                format!(
                    "mapAccounts item is {}, not an account id; the authenticator ignores it",
                    item.kind_name()
                ),
            )
            .at(&source),
        ),
    }
}

/// The struct fields of the authenticator's RoleMapping / UserMapping.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Arn,
    Sso,
    Username,
    Groups,
    UserId,
}

fn field_of(key: DataKey, name: &str) -> Option<Field> {
    let fields: &[(&str, Field)] = match key {
        DataKey::MapRoles => &[
            ("rolearn", Field::Arn),
            ("sso", Field::Sso),
            ("username", Field::Username),
            ("groups", Field::Groups),
            ("userid", Field::UserId),
        ],
        _ => &[
            ("userarn", Field::Arn),
            ("username", Field::Username),
            ("groups", Field::Groups),
            ("userid", Field::UserId),
        ],
    };
    fields
        .iter()
        .find(|(field, _)| go_fold_eq(name, field))
        .map(|(_, f)| *f)
}

/// Go's encoding/json case folding against a lower-case ASCII field name:
/// ASCII letters fold, and so do the Kelvin sign (`k`) and long s (`s`).
fn go_fold_eq(name: &str, field: &str) -> bool {
    let mut chars = name.chars();
    for want in field.chars() {
        let folded = match chars.next() {
            Some('\u{212A}') => 'k',
            Some('\u{017F}') => 's',
            Some(c) => c.to_ascii_lowercase(),
            None => return false,
        };
        if folded != want {
            return false;
        }
    }
    chars.next().is_none()
}

/// What a JSON string field receives from a YAML value.
enum GoString {
    Set(String),
    /// null: no effect on a string field.
    Null,
    /// A type error: the field is skipped.
    Wrong(&'static str),
}

fn go_string(node: &Node) -> GoString {
    if node.is_null() {
        GoString::Null
    } else if let Some(s) = node.as_str() {
        GoString::Set(s.to_string())
    } else {
        GoString::Wrong(node.kind_name())
    }
}

/// The YAML mapping as the JSON object Go decodes: keys as text, the last of
/// exact duplicates wins, and keys come in sorted order (sigs.k8s.io/yaml
/// marshals a Go map, which sorts its keys).
fn json_object(entries: &[(Node, Node)]) -> BTreeMap<&str, &Node> {
    entries.iter().map(|(k, v)| (k.key_text(), v)).collect()
}

/// The fields of one item as Go's encoding/json leaves them.
struct Fields<'a> {
    arn: String,
    sso: Option<SsoMatcher>,
    username: String,
    groups: Vec<String>,
    /// The keys that name no field.
    unknown: Vec<&'a str>,
    /// The fields skipped for their type, reported with the item.
    findings: Vec<Finding>,
}

fn decode_mapping(
    key: DataKey,
    item: &Node,
    source: Source,
    at_line: &dyn Fn(usize) -> usize,
    findings: &mut Vec<Finding>,
) -> Option<Mapping> {
    let Some(entries) = item.as_map() else {
        findings.push(
            Finding::new(
                Code::ItemIgnored,
                format!(
                    "item is {}, not a mapping; the authenticator ignores it",
                    item.kind_name()
                ),
            )
            .at(&source),
        );
        return None;
    };
    let mut fields = decode_fields(key, entries, &source, at_line);
    let target = match target_of(key, &fields.arn, fields.sso.take(), &fields.unknown) {
        Ok(target) => target,
        Err(why) => {
            findings.extend(fields.findings);
            findings.push(ignored(why, &fields.arn, &source));
            return None;
        }
    };
    let who = target.written();
    findings.extend(
        fields
            .findings
            .into_iter()
            .map(|f| f.principal(who.clone())),
    );
    if !fields.unknown.is_empty() {
        findings.push(
            Finding::new(
                Code::UnknownField,
                format!(
                    "unknown field {} is ignored by the authenticator and not carried over",
                    quote_list(&fields.unknown)
                ),
            )
            .principal(who)
            .at(&source),
        );
    }
    Some(Mapping {
        key,
        target,
        username: Some(fields.username).filter(|u| !u.is_empty()),
        groups: fields.groups,
        source,
        standing: Standing::Active,
    })
}

/// Decodes an item's keys into its fields, in the order Go applies them.
fn decode_fields<'a>(
    key: DataKey,
    entries: &'a [(Node, Node)],
    source: &Source,
    at_line: &dyn Fn(usize) -> usize,
) -> Fields<'a> {
    let mut f = Fields {
        arn: String::new(),
        sso: None,
        username: String::new(),
        groups: Vec::new(),
        unknown: Vec::new(),
        findings: Vec::new(),
    };
    let wrong =
        |name: &str, found: &str, node: &Node| wrong_type(key, name, found, node, source, at_line);
    for (name, value) in json_object(entries) {
        let Some(field) = field_of(key, name) else {
            f.unknown.push(name);
            continue;
        };
        match field {
            Field::Arn | Field::Username | Field::UserId => match go_string(value) {
                GoString::Set(s) => match field {
                    Field::Arn => f.arn = s,
                    Field::Username => f.username = s,
                    _ => {}
                },
                GoString::Null => {}
                GoString::Wrong(found) => f.findings.push(wrong(name, found, value)),
            },
            Field::Groups => decode_groups(name, value, &mut f.groups, &mut f.findings, &wrong),
            Field::Sso => {
                if value.is_null() {
                    f.sso = None;
                } else if let Some(m) = value.as_map() {
                    f.sso = Some(decode_sso(m, f.sso.take()));
                } else {
                    // Go allocates the matcher before it sees the type: an
                    // empty one, which fails validation.
                    f.sso = Some(f.sso.take().unwrap_or_else(SsoMatcher::empty));
                    f.findings.push(wrong(name, value.kind_name(), value));
                }
            }
        }
    }
    f
}

/// Sets `groups` from a `groups` value, reporting the names Go skips.
fn decode_groups(
    name: &str,
    value: &Node,
    groups: &mut Vec<String>,
    findings: &mut Vec<Finding>,
    wrong: &dyn Fn(&str, &str, &Node) -> Finding,
) {
    if value.is_null() {
        groups.clear();
    } else if let Some(list) = value.as_seq() {
        groups.clear();
        // Go keeps a place for every element: one it cannot decode stays "".
        for g in list {
            match go_string(g) {
                GoString::Set(s) if !s.is_empty() => groups.push(s),
                GoString::Set(_) | GoString::Null => {
                    findings.push(wrong(name, "a list with an empty group name", g));
                    groups.push(String::new());
                }
                GoString::Wrong(found) => {
                    findings.push(wrong(&format!("{name}[]"), found, g));
                    groups.push(String::new());
                }
            }
        }
    } else {
        findings.push(wrong(name, value.kind_name(), value));
    }
}

/// The finding for field `name`, which is `found` at `node` where another type is expected.
fn wrong_type(
    key: DataKey,
    name: &str,
    found: &str,
    node: &Node,
    source: &Source,
    at_line: &dyn Fn(usize) -> usize,
) -> Finding {
    let mut at = source.clone();
    at.line = at_line(node.line);
    let expected = match field_of(key, name.trim_end_matches("[]")) {
        Some(Field::Groups) if name.ends_with("[]") => "a group name (a string)",
        Some(Field::Groups) => "a list of strings",
        Some(Field::Sso) => "a mapping",
        _ => "a string",
    };
    Finding::new(
        Code::WrongFieldType,
        format!("`{name}` is {found} where the authenticator expects {expected}; it ignores the field today, so it is not carried over"),
    )
    .at(&at)
}

/// Whom the item maps (its ARN or a valid `sso` matcher), or why the authenticator ignores it.
fn target_of(
    key: DataKey,
    arn: &str,
    sso: Option<SsoMatcher>,
    unknown: &[&str],
) -> Result<Target, String> {
    let arn_field = if key == DataKey::MapRoles {
        "rolearn"
    } else {
        "userarn"
    };
    match (arn.is_empty(), sso) {
        (false, None) => Ok(Target::Arn(arn.to_string())),
        (true, Some(m)) => {
            validate_sso(&m)?;
            Ok(Target::Sso(m))
        }
        (false, Some(_)) => Err(format!("has both `{arn_field}` and `sso`")),
        (true, None) => {
            let found = if unknown.is_empty() {
                String::new()
            } else {
                format!(" (found {})", quote_list(unknown))
            };
            Err(format!("has no `{arn_field}`{found}"))
        }
    }
}

/// The finding for an item the authenticator ignores, naming its ARN if it has one.
fn ignored(why: String, arn: &str, source: &Source) -> Finding {
    let mut f = Finding::new(
        Code::ItemIgnored,
        format!("{why}; the authenticator ignores this item"),
    )
    .at(source);
    if !arn.is_empty() {
        f = f.principal(arn);
    }
    f
}

/// The ARNs a broken key names, found line by line (`rolearn: ...`), so the
/// user knows who has no access through it today.
fn arns_in(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim_start().trim_start_matches("- ").trim_start();
            let (k, v) = l.split_once(':')?;
            let k = k.trim().to_ascii_lowercase();
            (k == "rolearn" || k == "userarn")
                .then(|| v.trim().trim_matches(['"', '\'']).to_string())
                .filter(|v| !v.is_empty())
        })
        .collect()
}

fn quote_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Decodes an `sso` object into the matcher Go already holds, if any (a
/// second spelling of `sso` fills in the same one).
fn decode_sso(entries: &[(Node, Node)], into: Option<SsoMatcher>) -> SsoMatcher {
    let mut m = into.unwrap_or_else(SsoMatcher::empty);
    for (name, value) in json_object(entries) {
        let slot = if go_fold_eq(name, "permissionsetname") {
            &mut m.permission_set_name
        } else if go_fold_eq(name, "accountid") {
            &mut m.account_id
        } else if go_fold_eq(name, "partition") {
            &mut m.partition
        } else {
            continue;
        };
        if let GoString::Set(s) = go_string(value) {
            *slot = s;
        }
    }
    m
}

/// The authenticator's `Validate()` of an `sso` matcher.
fn validate_sso(m: &SsoMatcher) -> Result<(), String> {
    let name_ok = (1..=32).contains(&m.permission_set_name.chars().count())
        && m.permission_set_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if !name_ok {
        return Err(format!(
            "`sso.permissionSetName` `{}` is not a permission set name",
            m.permission_set_name
        ));
    }
    if m.account_id.len() != 12 || !m.account_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`sso.accountID` `{}` is not 12 digits",
            m.account_id
        ));
    }
    if !m.partition.is_empty() && Partition::from_name(&m.partition).is_none() {
        return Err(format!("`sso.partition` `{}` is unknown", m.partition));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::read;
    use super::*;

    fn cm(data: &str) -> String {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n{data}")
    }

    fn codes(a: &AwsAuth) -> Vec<&'static str> {
        a.findings.iter().map(|f| f.code.as_str()).collect()
    }

    /// kubectl writes `|2` for a value that starts with spaces: columns count
    /// from the indentation the indicator gives, not from the first line's.
    #[test]
    fn a_block_with_an_indentation_indicator_points_at_the_right_column() {
        let a = read(
            "f",
            cm("  mapRoles: |2\n      - rolearn: arn:aws:iam::111122223333:role/a\n        groups: a: b\n").as_bytes(),
        )
        .unwrap();
        let msg = &a.findings[0].message;
        assert!(msg.contains("at f:9:18:"), "{msg}");
    }

    #[test]
    fn merge_keys_are_found_in_every_form() {
        for line in [
            "- <<: *a",
            "  << : *a",
            "- {<<: *a, rolearn: x}",
            "- {rolearn: x, <<: *a}",
            "  !!merge '<<': *a",
        ] {
            assert!(merge_key_in(line), "{line}");
        }
        for line in [
            "  username: a<<b",
            "  # <<: *a is not used",
            "  groups: ['<<']",
            "#- <<: *base",
            "  username: \"x, <<: y\"",
        ] {
            assert!(!merge_key_in(line), "{line}");
        }
    }

    #[test]
    fn field_names_are_case_insensitive() {
        let a = read(
            "f",
            cm("  mapRoles: |\n    - RoleARN: arn:aws:iam::111122223333:role/a\n      UserName: a\n      GROUPS: [g]\n").as_bytes(),
        )
        .unwrap();
        let m = &a.mappings[0];
        assert_eq!(
            m.target,
            Target::Arn("arn:aws:iam::111122223333:role/a".into())
        );
        assert_eq!(m.username.as_deref(), Some("a"));
        assert_eq!(m.groups, vec!["g"]);
        assert!(a.findings.is_empty());
    }

    #[test]
    fn go_folding_matches_kelvin_and_long_s_like_encoding_json() {
        assert!(go_fold_eq("RoleARN", "rolearn"));
        assert!(go_fold_eq("\u{212A}ind", "kind"));
        assert!(go_fold_eq("\u{017F}so", "sso"));
        assert!(!go_fold_eq("rolearns", "rolearn"));
        assert!(!go_fold_eq("role", "rolearn"));
    }

    #[test]
    fn case_variant_keys_resolve_in_sorted_key_order() {
        // JSON keys are sorted: "roleArn" < "rolearn", so `rolearn` is applied last.
        let a = read(
            "f",
            cm("  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/second\n      roleArn: arn:aws:iam::111122223333:role/first\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(
            a.mappings[0].target,
            Target::Arn("arn:aws:iam::111122223333:role/second".into())
        );
    }

    #[test]
    fn wrong_type_drops_only_that_field_row_19b() {
        let a = read(
            "f",
            cm("  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/a\n      username: admin\n      groups: system:masters\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(a.mappings.len(), 1);
        assert!(a.mappings[0].groups.is_empty());
        assert_eq!(a.mappings[0].username.as_deref(), Some("admin"));
        assert_eq!(codes(&a), vec!["wrong-field-type"]);
        assert_eq!(a.findings[0].source.as_ref().unwrap().line, 10);
    }

    #[test]
    fn item_without_arn_is_ignored_row_19() {
        let a = read(
            "f",
            cm("  mapRoles: |\n    - role_arn: arn:aws:iam::111122223333:role/a\n      username: x\n").as_bytes(),
        )
        .unwrap();
        assert!(a.mappings.is_empty());
        assert_eq!(codes(&a), vec!["item-ignored"]);
        assert!(a.findings[0].message.contains("`role_arn`"));
    }

    #[test]
    fn unknown_field_is_info_row_19a() {
        let a = read(
            "f",
            cm("  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:user/a\n      description: ops\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(a.mappings.len(), 1);
        assert_eq!(codes(&a), vec!["unknown-field"]);
    }

    #[test]
    fn misspelled_data_key_is_reported_row_19c() {
        let a = read("f", cm("  mapusers: |\n    - userarn: x\n").as_bytes()).unwrap();
        assert!(a.mappings.is_empty());
        assert_eq!(codes(&a), vec!["unknown-data-key"]);
        assert!(a.findings[0].message.contains("did you mean `mapUsers`"));
    }

    #[test]
    fn syntax_error_makes_the_key_inactive_with_its_line_row_20() {
        let a = read(
            "f",
            cm("  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/a\n  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:user/a\n      groups: [a\n    - userarn: b\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(a.mappings.len(), 1, "mapRoles still loads");
        assert_eq!(codes(&a), vec!["key-inactive"]);
        let src = a.findings[0].source.as_ref().unwrap();
        assert_eq!(src.key.as_deref(), Some("mapUsers"));
        assert!((10..=12).contains(&src.line), "line {}", src.line);
    }

    #[test]
    fn map_accounts_accepts_quoted_and_bare_ids() {
        let a = read(
            "f",
            cm("  mapAccounts: |\n    - \"111122223333\"\n    - 444455556666\n").as_bytes(),
        )
        .unwrap();
        let ids: Vec<&str> = a.accounts.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(ids, vec!["111122223333", "444455556666"]);
        assert_eq!(a.accounts[1].source.line, 9);
    }

    #[test]
    fn skippable_values_yield_nothing() {
        for v in ["\"\"", "'``'", "''"] {
            let a = read("f", cm(&format!("  mapRoles: {v}\n")).as_bytes()).unwrap();
            assert!(a.mappings.is_empty() && a.findings.is_empty(), "{v}");
        }
    }

    #[test]
    fn sso_matcher_is_decoded_and_validated() {
        let a = read(
            "f",
            cm("  mapRoles: |\n    - sso: {permissionSetName: Admin, accountID: \"111122223333\"}\n      groups: [g]\n    - sso: {permissionSetName: X, accountID: \"12\"}\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(a.mappings.len(), 1);
        assert_eq!(a.mappings[0].target.written(), "sso:111122223333:Admin");
        assert_eq!(codes(&a), vec!["item-ignored"]);
    }
}
