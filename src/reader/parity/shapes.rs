//! The structured classes about a value's shape rather than its characters:
//! documents, comments and line endings, JSON forms, wrong types, `sso`
//! matchers, duplicate principals, empty values, anchors and aliases.

use super::generate::{
    arn_for, field, mapping_key, one_group, plain_item, plain_value, render, role_arn, username,
    Case, Fields, Rng, Sample, ACCOUNTS,
};
use super::structured::json_array;

/// Several documents, document markers, directives, and text after the
/// first document that would not parse (yaml.v2 reads the first only).
pub(super) fn multi_doc(rng: &mut Rng, _: &[Sample]) -> Case {
    let key = *rng.pick(&["mapRoles", "mapUsers", "mapAccounts"]);
    let a = plain_value(rng, key);
    let b = plain_value(rng, key);
    let junk = *rng.pick(&["{{{ : : :", "]]] x", "- a: b: c", "'unclosed", "\t- tab"]);
    let text = match rng.below(13) {
        9 => format!("{a}---\n{junk}\n"),
        10 => format!("{a}...\n{junk}\n"),
        11 => format!("{} {junk}\n", json_array(rng, key)),
        12 => format!("[]\n{junk}\n"),
        0 => format!("---\n{a}"),
        1 => format!("{a}---\n{b}"),
        2 => format!("{a}...\n---\n{b}"),
        3 => format!("---\n---\n{a}"),
        4 => format!("---\n...\n{a}"),
        5 => format!("--- {}\n{b}", json_array(rng, key)),
        6 => format!("%YAML 1.1\n---\n{a}"),
        7 => format!("# only a comment\n---\n{a}"),
        _ => format!("{a}...\n{b}"),
    };
    Case::one("multi-doc", key, text)
}

/// Comments in odd places, CRLF and lone CR, tabs, flow style over lines.
pub(super) fn comment_crlf_style(rng: &mut Rng, _: &[Sample]) -> Case {
    let key = mapping_key(rng);
    let text = plain_value(rng, key);
    let item = plain_item(rng, key);
    let (f, v) = (&item[0].0, &item[0].1);
    let text = match rng.below(10) {
        0 => text.replace('\n', "\r\n"),
        1 => text.replace('\n', "\r"),
        2 => format!("- # first\n  {f}: {v} # the arn\n  username: x#y\n  groups: # none\n{text}"),
        3 => format!("-\t{f}: {v}\n{text}"),
        4 => format!("- {f}: {v}\n\tusername: tabbed\n"),
        5 => format!("- {{{f}: {v},\n   username: split,\n   groups: [a,\n b]}}\n{text}"),
        6 => format!("-   {f}: {v}   \n    username: indented   \n"),
        7 => format!("- {f}: {v}\n  username: 'it''s'\n  groups: [\"a\\tb\", 'c']\n"),
        8 => format!(
            "- {f}:\n    {v}\n  username: >\n    folded\n    text\n  groups: |\n    literal\n"
        ),
        _ => format!("  - {f}: {v}\n  - {f}: {}\n", role_arn(rng)),
    };
    Case::one("comment-crlf-style", key, text)
}

/// JSON forms: a leading `{` (passed through as JSON), a leading `[` (read as
/// YAML), whitespace before them, JSON escapes YAML lacks.
pub(super) fn json_form(rng: &mut Rng, _: &[Sample]) -> Case {
    let key = mapping_key(rng);
    let arr = json_array(rng, key);
    let obj = arr
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let lead = *rng.pick(&[
        "", " ", "\n", "\t", "\u{a0}", "\u{2028}", "\u{3000}", "\u{85}", "\r\n",
    ]);
    let f = if key == "mapUsers" {
        "userarn"
    } else {
        "rolearn"
    };
    let text = match rng.below(12) {
        0 => format!("{lead}{arr}"),
        1 => format!("{lead}{obj}"),
        2 => format!("{lead}{{\"{f}\": \"x\", \"items\": {arr}}}"),
        3 => format!(
            "[{{\"{f}\":\"{}\",\"username\":\"caf\\u00e9\"}}]",
            role_arn(rng)
        ),
        4 => format!("[{{\"{f}\":\"{}\",\"username\":\"a\\/b\"}}]", role_arn(rng)),
        5 => format!(
            "[{{\"{f}\":\"{}\",\"username\":\"\\ud83d\\ude00\"}}]",
            role_arn(rng)
        ),
        6 => format!(
            "[{{\"{f}\":\"{}\",\"username\":12,\"groups\":null}}]",
            role_arn(rng)
        ),
        7 => format!(
            "[{{\"{f}\":\"{}\",\"{f}\":\"{}\"}}]",
            role_arn(rng),
            role_arn(rng)
        ),
        8 => format!("[{{\"{f}\":\"{}\",}}]", role_arn(rng)),
        9 => format!("{lead}{{\"{f}\": \"x\"}} trailing"),
        10 => format!("[\n\t{{\"{f}\":\t\"{}\"}}\n]", role_arn(rng)),
        _ => (*rng.pick(&[
            "\"string\"",
            "123",
            "true",
            "null",
            "[]",
            "[null]",
            "{}",
            "[[]]",
        ]))
        .to_string(),
    };
    Case::one("json-form", key, text)
}

/// Fields and items of the wrong type.
pub(super) fn wrong_type(rng: &mut Rng, _: &[Sample]) -> Case {
    let key = mapping_key(rng);
    let mut item = plain_item(rng, key);
    const WRONG: &[(&str, &str)] = &[
        ("groups", "system:masters"),
        ("groups", "{a: b}"),
        ("groups", "[[a], b]"),
        ("groups", "[a, {b: c}, d]"),
        ("groups", "[a, null, '', b]"),
        ("groups", "null"),
        ("groups", "[]"),
        ("username", "true"),
        ("username", "42"),
        ("username", "[a]"),
        ("username", "{a: b}"),
        ("username", "null"),
        ("username", "''"),
        ("arn", "123"),
        ("arn", "[a]"),
        ("arn", "{a: b}"),
        ("arn", "null"),
        ("arn", "''"),
        ("sso", "Admin"),
        ("sso", "[a]"),
        ("sso", "null"),
        ("sso", "true"),
    ];
    let (name, value) = *rng.pick(WRONG);
    match name {
        "arn" => item[0].1 = value.to_string(),
        _ => {
            item.retain(|(k, _)| k != name);
            item.push(field(name, value));
        }
    }
    let extra = plain_item(rng, key);
    let mut text = render(rng, &[item, extra]);
    if rng.chance(30) {
        let odd = *rng.pick(&[
            "- just-a-string\n",
            "- \n",
            "- 42\n",
            "- [a, b]\n",
            "- ~\n",
            "-\n",
        ]);
        text = if rng.chance(50) {
            format!("{odd}{text}")
        } else {
            format!("{text}{odd}")
        };
    }
    if rng.chance(10) {
        text = (*rng.pick(&[
            "a: b\n",
            "just text\n",
            "'quoted'\n",
            "42\n",
            "- - a\n  - b\n",
        ]))
        .to_string();
    }
    Case::one("wrong-type", key, text)
}

const SSO_NAMES: &[&str] = &[
    "Admin",
    "AdministratorAccess",
    "a+b=c,d.e@f-g_h",
    "",
    "'has space'",
    "caf\u{e9}",
    "abcdefghijklmnopqrstuvwxyz012345",
    "abcdefghijklmnopqrstuvwxyz0123456",
    "'*'",
    "x:y",
];
const SSO_ACCOUNTS: &[&str] = &[
    "'111122223333'",
    "111122223333",
    "'11112222333'",
    "'1111222233334'",
    "'11112222333a'",
    "\"012345678901\"",
    "'111122223333\\n'",
    "\"111122223333\\n\"",
    "''",
];
const SSO_PARTITIONS: &[&str] = &[
    "",
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
    "AWS",
    "bogus",
    "''",
];

/// `sso` matchers, valid and invalid, alone or with a `rolearn`, several
/// that the partition quirk files under one key, and a role ARN written as
/// the matcher's own key.
pub(super) fn sso(rng: &mut Rng, _: &[Sample]) -> Case {
    let mut items: Vec<Fields> = Vec::new();
    let (name, acct) = (*rng.pick(SSO_NAMES), *rng.pick(SSO_ACCOUNTS));
    for _ in 0..1 + rng.below(3) {
        let (name, acct) = if rng.chance(70) {
            (name, acct)
        } else {
            (*rng.pick(SSO_NAMES), *rng.pick(SSO_ACCOUNTS))
        };
        let mut item = sso_item(rng, name, acct);
        match rng.below(6) {
            0 => item.push(field("rolearn", role_arn(rng))),
            1 => item.push(field("rolearn", "''")),
            _ => {}
        }
        items.push(item);
    }
    if rng.chance(30) {
        let written = format!(
            "arn:aws:iam::{}:role/AWSReservedSSO_{}_*",
            acct.trim_matches(['\'', '"']),
            name.trim_matches('\'')
        );
        let at = rng.below(items.len() + 1);
        items.insert(
            at,
            vec![field("rolearn", written), field("username", "as-arn")],
        );
    }
    if rng.chance(30) {
        items.push(vec![field("sso", "{}"), field("username", "empty")]);
    }
    Case::one("sso", "mapRoles", render(rng, &items))
}

/// An item with an `sso` matcher for `name` in `acct`, in a random partition.
fn sso_item(rng: &mut Rng, name: &str, acct: &str) -> Fields {
    let part = *rng.pick(SSO_PARTITIONS);
    let partition = if part.is_empty() {
        String::new()
    } else {
        format!(", partition: {part}")
    };
    vec![
        field(
            "sso",
            format!("{{permissionSetName: {name}, accountID: {acct}{partition}}}"),
        ),
        field("username", format!("sso-{}", rng.below(5))),
        field("groups", one_group(rng)),
    ]
}

/// The same principal more than once: ARNs differing in case (ASCII and
/// Unicode), exact repeats, and a role ARN in both mapRoles and mapUsers.
pub(super) fn duplicate_arn(rng: &mut Rng, _: &[Sample]) -> Case {
    const NAMES: &[&str] = &[
        "Admin",
        "admin",
        "ADMIN",
        "\u{391}\u{3a3}",
        "\u{3b1}\u{3c2}",
        "\u{3b1}\u{3c3}",
        "\u{130}nfra",
        "infra",
        "i\u{307}nfra",
        "\u{212a}ey",
        "key",
        "Stra\u{df}e",
        "STRASSE",
    ];
    let key = mapping_key(rng);
    let kind = if key == "mapUsers" { "user" } else { "role" };
    let f = if key == "mapUsers" {
        "userarn"
    } else {
        "rolearn"
    };
    let acct = *rng.pick(ACCOUNTS);
    let items: Vec<Fields> = (0..2 + rng.below(3))
        .map(|i| {
            vec![
                field(f, format!("arn:aws:iam::{acct}:{kind}/{}", rng.pick(NAMES))),
                field("username", format!("user-{i}")),
                field("groups", one_group(rng)),
            ]
        })
        .collect();
    let text = render(rng, &items);
    if rng.chance(25) {
        let other = if key == "mapUsers" {
            "mapRoles"
        } else {
            "mapUsers"
        };
        let of = if other == "mapUsers" {
            "userarn"
        } else {
            "rolearn"
        };
        let arn = format!("arn:aws:iam::{acct}:{kind}/{}", rng.pick(NAMES));
        let twin = format!("- {of}: {arn}\n  username: twin\n");
        return Case {
            class: "duplicate-arn".into(),
            data: vec![(key.into(), text), (other.into(), twin)],
        };
    }
    Case::one("duplicate-arn", key, text)
}

/// Values the authenticator skips as empty, and near misses.
pub(super) fn skippable(rng: &mut Rng, _: &[Sample]) -> Case {
    const CORES: &[&str] = &[
        "",
        "``",
        "\"\"",
        "''",
        "`",
        "` `",
        "\"\" \"\"",
        "''''",
        "null",
        "~",
        "[]",
        "{}",
        "---",
        "# only a comment",
        "'' # c",
        "\"\"\n# c",
        "[ ]",
        "- ",
        "-",
        "...",
        "`x`",
    ];
    const PADS: &[&str] = &[
        "", " ", "\n", "\t", "\r\n", "\u{a0}", "\u{85}", "\u{2028}", "\u{3000}", "\u{feff}",
        "\u{200b}", "\u{b}", "\u{c}",
    ];
    let text = format!("{}{}{}", rng.pick(PADS), rng.pick(CORES), rng.pick(PADS));
    let key = *rng.pick(&["mapRoles", "mapUsers", "mapAccounts"]);
    Case::one("skippable", key, text)
}

/// Anchors and aliases: repeated items, shared group lists and scalars,
/// undefined and self-referencing aliases, aliases as keys.
pub(super) fn anchor_alias(rng: &mut Rng, _: &[Sample]) -> Case {
    let key = mapping_key(rng);
    let (f, a) = arn_for(rng, key);
    let u = username(rng);
    let text = match rng.below(9) {
        0 => format!("- &item\n  {f}: {a}\n  username: {u}\n- *item\n"),
        1 => {
            format!("- {f}: {a}\n  groups: &g [system:masters, dev]\n- {f}: {a}-2\n  groups: *g\n")
        }
        2 => format!("- {f}: &arn {a}\n  username: first\n- {f}: *arn\n  username: second\n"),
        3 => format!("- {f}: {a}\n  username: *nowhere\n"),
        4 => format!("- &self {{{f}: {a}, again: *self}}\n"),
        5 => format!("- &k username: x\n  {f}: {a}\n"),
        6 => format!("- {f}: {a}\n  &k username: first\n- {f}: {a}-2\n  *k : second\n"),
        7 => format!("- {f}: {a}\n  username: &u {u}\n  groups: [*u]\n"),
        _ => format!("- {f}: {a}\n  username: &u {u}\n  groups: [&u g1, *u]\n"),
    };
    let text = if rng.chance(30) {
        format!("{}{text}", plain_value(rng, key))
    } else {
        text
    };
    Case::one("anchor-alias", key, text)
}
