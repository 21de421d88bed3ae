//! The structured classes: one generator per known way a reader can part
//! from the authenticator (control characters, YAML 1.1 line breaks and
//! scalars, merge keys, tags, field-name folding, documents, JSON forms,
//! wrong types, `sso` matchers, duplicates, empty values, anchors).
//!
//! Each builds a small, mostly valid aws-auth value and puts the tricky part
//! at a random place in it.

use base64::Engine;

use super::generate::{
    arn_for, field, group, insert_at, mapping_key, one_group, plain_item, plain_value, render,
    role_arn, user_arn, username, Case, Fields, Rng, Sample, ACCOUNTS,
};

/// Any of the three keys the authenticator reads.
fn any_key(rng: &mut Rng) -> &'static str {
    ["mapRoles", "mapUsers", "mapAccounts"][rng.below(3)]
}

/// `text` with `s` at a random kind of place: the start, anywhere, inside a
/// scalar, in a comment, at the end, or after a quote.
pub(super) fn place(rng: &mut Rng, text: &str, s: &str) -> String {
    match rng.below(6) {
        0 => format!("{s}{text}"),
        1 => insert_at(text, rng.below(text.len() + 1), s),
        2 => match after_one_of(rng, text, &[": ", "- "]) {
            Some(at) => insert_at(text, at + 1 + rng.below(3), s),
            None => format!("{text}{s}"),
        },
        3 => {
            let first_line = text.find('\n').map_or(text.len(), |i| i + 1);
            insert_at(text, first_line, &format!("# note{s}here\n"))
        }
        4 => format!("{text}{s}"),
        _ => match after_one_of(rng, text, &["\""]) {
            Some(at) => insert_at(text, at, s),
            None => insert_at(text, rng.below(text.len() + 1), s),
        },
    }
}

/// The byte offset just after a random occurrence of one of `marks`.
fn after_one_of(rng: &mut Rng, text: &str, marks: &[&str]) -> Option<usize> {
    let spots: Vec<usize> = marks
        .iter()
        .flat_map(|m| text.match_indices(m).map(|(i, m)| i + m.len()))
        .collect();
    (!spots.is_empty()).then(|| *rng.pick(&spots))
}

/// NUL, ESC, DEL and C1 controls (and other C0 ones) inside one key.
pub(super) fn control_char(rng: &mut Rng, _: &[Sample]) -> Case {
    const CHARS: &[char] = &[
        '\0', '\u{1}', '\u{8}', '\u{b}', '\u{c}', '\u{1b}', '\u{1f}', '\u{7f}', '\u{80}', '\u{8d}',
        '\u{9f}', '\u{fffe}', '\u{ffff}',
    ];
    let key = any_key(rng);
    let text = plain_value(rng, key);
    let c = rng.pick(CHARS).to_string();
    if rng.chance(15) {
        // After the first document, and maybe past the 512 bytes yaml.v2's
        // reader checks beyond what the parser needs.
        let filler = "#".repeat(100 + rng.below(1400));
        return Case::one("control-char", key, format!("{text}---\n{filler}\n{c}\n"));
    }
    Case::one("control-char", key, place(rng, &text, &c))
}

/// A byte-order mark at the very start of a value, at a line start, or mid-text.
pub(super) fn bom(rng: &mut Rng, _: &[Sample]) -> Case {
    let key = any_key(rng);
    let mut text = plain_value(rng, key);
    if key != "mapAccounts" && rng.chance(20) {
        text = json_array(rng, key);
    }
    let text = match rng.below(3) {
        0 => format!("\u{feff}{text}"),
        1 => {
            let starts: Vec<usize> = [0]
                .into_iter()
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect();
            insert_at(&text, *rng.pick(&starts), "\u{feff}")
        }
        _ => place(rng, &text, "\u{feff}"),
    };
    Case::one("bom", key, text)
}

/// YAML 1.1 line breaks NEL, LS and PS, which yaml.v2 honours.
pub(super) fn line_break(rng: &mut Rng, _: &[Sample]) -> Case {
    let brk = *rng.pick(&["\u{85}", "\u{2028}", "\u{2029}"]);
    let key = mapping_key(rng);
    let item = plain_item(rng, key);
    let arn = &item[0];
    let text = match rng.below(7) {
        0 => format!(
            "- {}: {}\n  username: reviewer # reviewed{brk}  groups: [system:masters]\n",
            arn.0, arn.1
        ),
        1 => render(rng, std::slice::from_ref(&item)).replace('\n', brk),
        2 => format!("- {}: {}\n  username: a{brk}  b\n", arn.0, arn.1),
        3 => format!("- {}: {}\n  username: \"a{brk}b\"\n", arn.0, arn.1),
        4 => format!(
            "- {}: {}{brk}- {}: {}\n",
            arn.0,
            arn.1,
            arn.0,
            role_arn(rng)
        ),
        5 => format!("{brk}[{{\"{}\": \"{}\"}}]", arn.0, arn.1),
        _ => {
            let accounts = format!("- \"{}\"{brk}- \"{}\"\n", ACCOUNTS[0], ACCOUNTS[1]);
            return Case::one("line-break", "mapAccounts", accounts);
        }
    };
    Case::one("line-break", key, text)
}

/// Merge keys: `<<: *a`, `<<: [*a, *b]`, before and after explicit keys,
/// quoted `"<<"`, `!!merge`, and merges of things that are not mappings.
pub(super) fn merge_key(rng: &mut Rng, _: &[Sample]) -> Case {
    let key = mapping_key(rng);
    let (arn_field, a) = arn_for(rng, key);
    let b = format!("{a}-other");
    let mut text = format!(
        "- &adm\n  {arn_field}: {a}\n  username: base-user\n  groups: [system:masters]\n- &other {{{arn_field}: {b}, username: other-user, groups: [dev]}}\n"
    );
    const USES: &[&str] = &[
        "- <<: *adm\n  {f}: {c}\n",
        "- {f}: {c}\n  <<: *adm\n",
        "- username: mine\n  <<: *adm\n  {f}: {c}\n",
        "- <<: *adm\n  username: mine\n",
        "- <<: [*adm, *other]\n",
        "- <<: [*other, *adm]\n  username: mine\n",
        "- {f}: {c}\n  <<: {{username: merged, groups: [m]}}\n  groups: [explicit]\n",
        "- \"<<\": *adm\n  {f}: {c}\n",
        "- !!merge <<: *adm\n  {f}: {c}\n",
        "- {f}: {c}\n  <<: base\n",
        "- {f}: {c}\n  <<: [*adm, plain]\n",
        "- {f}: {c}\n  <<: *adm\n  <<: *other\n",
        "- {{<<: *adm, {f}: {c}}}\n",
    ];
    for _ in 0..1 + rng.below(3) {
        let c = format!("{a}-{}", rng.below(3));
        text.push_str(
            &rng.pick(USES)
                .replace("{f}", arn_field)
                .replace("{c}", &c)
                .replace("{{", "{")
                .replace("}}", "}"),
        );
    }
    Case::one("merge-key", key, text)
}

/// Where [`scalar_at`] puts a scalar.
const SITES: &[&str] = &[
    "username",
    "group",
    "arn",
    "userid",
    "unknown",
    "map-key",
    "account",
    "sso-account",
    "sso-name",
    "sso-partition",
    "item",
    "value",
];

/// A case with `scalar` (YAML text) at a random site: a field, a group, a map
/// key, an account, inside an `sso` matcher, a whole item or the whole value.
pub(super) fn scalar_at(rng: &mut Rng, class: &str, scalar: &str) -> Case {
    let key = mapping_key(rng);
    let site = *rng.pick(SITES);
    if site == "account" {
        let text = format!("- \"{}\"\n- {scalar}\n- {}\n", ACCOUNTS[0], ACCOUNTS[1]);
        return Case::one(class, "mapAccounts", text);
    }
    if site == "value" {
        return Case::one(class, any_key(rng), scalar.to_string());
    }
    let mut item = plain_item(rng, key);
    let set = |item: &mut Fields, name: &str, value: String| {
        item.retain(|(k, _)| k != name);
        item.push(field(name, value));
    };
    let sso = |name: &str, acct: &str, part: &str| {
        format!("{{permissionSetName: {name}, accountID: {acct}, partition: {part}}}")
    };
    match site {
        "username" => set(&mut item, "username", scalar.into()),
        "group" => set(&mut item, "groups", format!("[{}, {scalar}]", group(rng))),
        "arn" => item[0].1 = scalar.into(),
        "userid" => set(&mut item, "userid", scalar.into()),
        "unknown" => set(&mut item, "note", scalar.into()),
        "map-key" => {
            item.push(field(scalar, "value"));
            if rng.chance(30) {
                item.push(field(&format!("\"{scalar}\""), "quoted"));
            }
        }
        "sso-account" => item[0] = field("sso", sso("Admin", scalar, "aws")),
        "sso-name" => item[0] = field("sso", sso(scalar, "'111122223333'", "aws")),
        "sso-partition" => item[0] = field("sso", sso("Admin", "'111122223333'", scalar)),
        _ => {
            let mut text = render(rng, &[item]);
            text.push_str(&format!("- {scalar}\n"));
            return Case::one(class, key, text);
        }
    }
    let extra = plain_item(rng, key);
    let items = if rng.chance(50) {
        vec![item, extra]
    } else {
        vec![extra, item]
    };
    Case::one(class, key, render(rng, &items))
}

/// `!!binary` values, valid and invalid base64, some not UTF-8 once decoded.
pub(super) fn binary_tag(rng: &mut Rng, _: &[Sample]) -> Case {
    let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    let payload = match rng.below(8) {
        0 => b64(b"admin"),
        1 => b64(role_arn(rng).as_bytes()),
        2 => b64(ACCOUNTS[0].as_bytes()),
        3 => "YWRtaW4".to_string(),
        4 => "'###'".to_string(),
        5 => b64(&[0xff, 0xfe, b'a']),
        6 => "\"\"".to_string(),
        _ => format!(
            "|\n      {}\n      {}",
            &b64(b"system:masters")[..8],
            &b64(b"system:masters")[8..]
        ),
    };
    scalar_at(rng, "binary-tag", &format!("!!binary {payload}"))
}

/// Explicit tags: `!!str 123`, `!!int "42"`, `!!int abc`, custom `!foo`, ...
pub(super) fn tags(rng: &mut Rng, _: &[Sample]) -> Case {
    const TAGGED: &[&str] = &[
        "!!str 123",
        "!!str yes",
        "!!str",
        "!!int \"42\"",
        "!!int 42",
        "!!int abc",
        "!!int 0x1F",
        "!foo bar",
        "!foo 123",
        "!!float 1",
        "!!float abc",
        "!!bool yes",
        "!!bool maybe",
        "!!null \"\"",
        "!!null x",
        "!<tag:yaml.org,2002:str> 7",
        "!!timestamp 2001-12-14",
        "!!seq [a]",
        "!!map {a: b}",
        "!!str [a]",
        "! 12",
        "!!binary aGk=",
        "!e!x y",
    ];
    let scalar = *rng.pick(TAGGED);
    scalar_at(rng, "tag", scalar)
}

/// `.nan` and `.inf` anywhere, including as a map key.
pub(super) fn nan_inf(rng: &mut Rng, _: &[Sample]) -> Case {
    const VALUES: &[&str] = &[
        ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "-.inf", "+.inf", "-.Inf", ".nAn", "1e400",
        "-1e400",
    ];
    let scalar = *rng.pick(VALUES);
    if rng.chance(15) {
        // Keys that collide as JSON keys: which value survives is up to Go's map order.
        let text = format!(
            "- rolearn: {}\n  1: {scalar}\n  \"1\": one\n",
            role_arn(rng)
        );
        return Case::one("nan-inf", "mapRoles", text);
    }
    scalar_at(rng, "nan-inf", scalar)
}

/// YAML 1.1 scalars that yaml.v2 types: booleans, numbers, null, timestamps.
pub(super) fn yaml11_scalar(rng: &mut Rng, _: &[Sample]) -> Case {
    const SCALARS: &[&str] = &[
        "yes",
        "Yes",
        "YES",
        "yEs",
        "no",
        "No",
        "NO",
        "on",
        "On",
        "ON",
        "off",
        "Off",
        "OFF",
        "y",
        "Y",
        "n",
        "N",
        "true",
        "True",
        "TRUE",
        "tRue",
        "false",
        "1_000",
        "0b101",
        "0b2",
        "017",
        "08",
        "09.5",
        "0x1F",
        "0X1F",
        "0o17",
        "+12",
        "-12",
        "12e3",
        "1.5",
        ".5",
        "1.",
        "~",
        "null",
        "Null",
        "NULL",
        "nUll",
        "2001-12-14",
        "2001-12-14t21:59:43.10-05:00",
        "12:30",
        "190:20:30",
        "0",
        "-0",
        "12345678901234567890",
        "111122223333",
        "'111122223333'",
        "0111122223333",
        "1e3",
        "=",
        "<<",
    ];
    let scalar = *rng.pick(SCALARS);
    scalar_at(rng, "yaml11-scalar", scalar)
}

/// Field names in other cases and with Unicode folding (`ſ`, `K`), several
/// spellings of one field in one item.
pub(super) fn field_name(rng: &mut Rng, _: &[Sample]) -> Case {
    let key = mapping_key(rng);
    let item = plain_item(rng, key);
    let mut out: Fields = Vec::new();
    for (name, value) in &item {
        for n in 0..1 + rng.below(2) {
            let value = if n == 0 {
                value.clone()
            } else {
                alternative(rng, name)
            };
            out.push(field(&spelling(rng, name), value));
        }
    }
    if rng.chance(30) {
        out.push(field(&spelling(rng, "userid"), "AIDAEXAMPLE"));
    }
    if rng.chance(30) {
        let at = rng.below(out.len() + 1);
        out.insert(
            at,
            field(
                &spelling(rng, "sso"),
                "{permissionSetName: Admin, accountID: '111122223333'}",
            ),
        );
    }
    let items = vec![out, plain_item(rng, key)];
    Case::one("field-name", key, render(rng, &items))
}

/// Another spelling of a field name: case changes, `ſ` for `s`, a Kelvin
/// sign, a dotless or dotted i, or quotes.
pub(super) fn spelling(rng: &mut Rng, name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let r = rng.below(10);
        out.push_str(&match (c, r) {
            ('s', 0..=2) => "\u{17f}".to_string(),
            ('i', 0) => "\u{131}".to_string(),
            ('i', 1) => "\u{130}".to_string(),
            (c, 3..=5) => c.to_ascii_uppercase().to_string(),
            (c, _) => c.to_string(),
        });
    }
    match rng.below(8) {
        0 => format!("\"{out}\""),
        1 => format!("{out}\u{212a}"),
        _ => out,
    }
}

/// A different value for field `name`.
fn alternative(rng: &mut Rng, name: &str) -> String {
    match name {
        "groups" => one_group(rng),
        "username" => format!("other-{}", rng.below(9)),
        "userarn" => user_arn(rng),
        _ => role_arn(rng),
    }
}

/// A JSON array of one plain item for `key`.
pub(super) fn json_array(rng: &mut Rng, key: &str) -> String {
    let (f, arn) = arn_for(rng, key);
    format!(
        "[{{\"{f}\":\"{arn}\",\"username\":\"{}\",\"groups\":[\"{}\"]}}]",
        username(rng).trim_matches('"'),
        group(rng)
    )
}
