//! The corpus (the data values of `testdata/cases/*/aws-auth.*`, read with the
//! tool's own ConfigMap locator) and the random mutations of it: by
//! character, by scalar token, and by structure (items, documents, styles,
//! field names, keys).

use std::path::Path;

use super::generate::{Case, Rng, Sample};
use super::structured::spelling;
use crate::reader::configmap;

/// Values that are always in the corpus, whatever the test data holds.
const BUILT_IN: &[(&str, &str)] = &[
    ("mapRoles", "- rolearn: arn:aws:iam::111122223333:role/eks-node\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n    - system:bootstrappers\n    - system:nodes\n- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin\n  groups: [system:masters]\n"),
    ("mapUsers", "- userarn: arn:aws:iam::111122223333:user/alice\n  username: alice\n  groups:\n  - system:masters\n"),
    ("mapAccounts", "- \"111122223333\"\n- 444455556666\n"),
];

/// The data values of every test case's aws-auth file, in a stable order.
pub(super) fn corpus() -> Vec<Sample> {
    let mut out: Vec<Sample> = BUILT_IN
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/cases");
    let mut dirs: Vec<_> = std::fs::read_dir(&cases)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    dirs.sort();
    for dir in dirs {
        for name in ["aws-auth.yaml", "aws-auth.json"] {
            let Ok(text) = std::fs::read_to_string(dir.join(name)) else {
                continue;
            };
            if let Ok(values) = configmap::locate(name, &text) {
                out.extend(values.into_iter().map(|v| (v.key, v.text)));
            }
        }
    }
    out
}

/// What character mutations insert or put in place.
const ALPHABET: &[&str] = &[
    "\0",
    "\u{1b}",
    "\u{7f}",
    "\u{85}",
    "\u{9f}",
    "\u{feff}",
    "\u{2028}",
    "\u{2029}",
    "\u{fffe}",
    "\"",
    "'",
    ":",
    "-",
    "#",
    "&",
    "*",
    "!",
    "<<",
    "{",
    "}",
    "[",
    "]",
    "\t",
    " ",
    "\r\n",
    "\n",
    "\r",
    ",",
    "|",
    ">",
    "?",
    "%",
    "@",
    "`",
    "\\",
    "~",
    "\u{a0}",
    "\u{17f}",
    "\u{212a}",
    ": ",
    "- ",
    "&a ",
    "*a",
    "!!binary ",
    "---\n",
];

/// Inserts, deletes or replaces a few characters of a corpus value.
pub(super) fn by_char(rng: &mut Rng, corpus: &[Sample]) -> Case {
    let (key, mut text) = rng.pick(corpus).clone();
    for _ in 0..1 + rng.below(4) {
        let bounds: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .collect();
        let at = *rng.pick(&bounds);
        let end = bounds
            .iter()
            .copied()
            .find(|&b| b > at)
            .unwrap_or(text.len());
        let token = *rng.pick(ALPHABET);
        text = match rng.below(3) {
            0 => format!("{}{token}{}", &text[..at], &text[at..]),
            1 => format!("{}{}", &text[..at], &text[end..]),
            _ => format!("{}{token}{}", &text[..at], &text[end..]),
        };
    }
    Case::one("mutate-char", &key, text)
}

/// The spans of scalar values: what follows `: ` or `- ` up to the end of the line.
fn value_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        for mark in [": ", "- "] {
            if let Some(i) = body.find(mark) {
                let from = start + i + mark.len();
                let to = start + body.len();
                if to > from {
                    spans.push((from, to));
                }
            }
        }
        start += line.len();
    }
    spans
}

/// What a scalar becomes: a typed YAML 1.1 scalar, a tagged, anchored,
/// aliased or quoted version of itself, or a value of another type.
fn new_token(rng: &mut Rng, old: &str) -> String {
    const TYPED: &[&str] = &[
        "yes",
        "No",
        "on",
        "OFF",
        "y",
        "N",
        "1_000",
        "0b101",
        "017",
        "08",
        "0x1F",
        "+12",
        "12e3",
        "~",
        "null",
        "2001-12-14",
        "12:30",
        ".nan",
        ".inf",
        "-.Inf",
        "",
        "[]",
        "{}",
        "[a, 1]",
        "{a: b}",
        "true",
        "111122223333",
    ];
    match rng.below(9) {
        0 | 1 => rng.pick(TYPED).to_string(),
        2 => format!(
            "{} {old}",
            rng.pick(&["!!str", "!!binary", "!foo", "!!int", "!", "!!merge"])
        ),
        3 => format!("&a {old}"),
        4 => "*a".to_string(),
        5 => format!("'{}'", old.replace('\'', "''")),
        6 => format!("\"{}\"", old.replace('\\', "\\\\").replace('"', "\\\"")),
        7 => format!("{old} # comment"),
        _ => format!(
            "{old}{}",
            rng.pick(&["\u{2028}x", "\u{85}", " #", ":", " :x", "\u{feff}"])
        ),
    }
}

/// Replaces one to three scalar values of a corpus value.
pub(super) fn by_token(rng: &mut Rng, corpus: &[Sample]) -> Case {
    let (key, mut text) = rng.pick(corpus).clone();
    for _ in 0..1 + rng.below(3) {
        let spans = value_spans(&text);
        if spans.is_empty() {
            break;
        }
        let (from, to) = *rng.pick(&spans);
        let token = new_token(rng, &text[from..to]);
        text = format!("{}{token}{}", &text[..from], &text[to..]);
    }
    if text.contains("*a") && !text.contains("&a") && rng.chance(70) {
        let spans = value_spans(&text);
        let (from, _) = spans[0];
        text = format!("{}&a {}", &text[..from], &text[from..]);
    }
    Case::one("mutate-token", &key, text)
}

/// A block list split into its items (each with its lines), if it is one.
fn items(text: &str) -> Option<Vec<String>> {
    let indent = text.lines().find(|l| !l.trim().is_empty())?.find("- ")?;
    let mut out: Vec<String> = Vec::new();
    for line in text.split_inclusive('\n') {
        let starts_item = line.len() > indent
            && line[..indent].trim().is_empty()
            && line[indent..].starts_with("- ");
        match out.last_mut() {
            Some(last) if !starts_item => last.push_str(line),
            _ => out.push(line.to_string()),
        }
    }
    (!out.is_empty() && out[0].trim_start().starts_with("- ")).then_some(out)
}

/// Changes the structure of a corpus value: items duplicated, deleted or
/// reordered, a second document, flow style, field names respelled, the
/// value split over two keys, everything indented.
pub(super) fn by_structure(rng: &mut Rng, corpus: &[Sample]) -> Case {
    let (key, text) = rng.pick(corpus).clone();
    let Some(mut list) = items(&text) else {
        return Case::one("mutate-structure", &key, respell(rng, &text));
    };
    let n = list.len();
    let text = match rng.below(8) {
        0 => {
            let i = rng.below(n);
            list.insert(rng.below(n + 1), list[i].clone());
            list.concat()
        }
        1 => {
            list.remove(rng.below(n));
            list.concat()
        }
        2 => {
            list.swap(rng.below(n), rng.below(n));
            list.concat()
        }
        3 => format!("{}---\n{}", list.concat(), list[rng.below(n)]),
        4 => {
            let i = rng.below(n);
            list[i] = to_flow(&list[i]).unwrap_or_else(|| list[i].clone());
            list.concat()
        }
        5 => respell(rng, &list.concat()),
        6 => return split(rng, &key, &list),
        _ => text.lines().map(|l| format!("  {l}\n")).collect(),
    };
    Case::one("mutate-structure", &key, text)
}

/// The item in flow style (`- {k: v, groups: [a, b]}`), if it is simple.
fn to_flow(item: &str) -> Option<String> {
    let mut fields: Vec<(String, String, Vec<String>)> = Vec::new();
    for (n, line) in item.lines().enumerate() {
        let mut t = line.trim();
        if n == 0 {
            t = t.strip_prefix("- ")?.trim();
        }
        if let Some(g) = t.strip_prefix("- ") {
            let last = fields.last_mut().filter(|f| f.1.is_empty())?;
            last.2.push(g.trim().to_string());
        } else if let Some((k, v)) = t
            .split_once(": ")
            .or_else(|| t.strip_suffix(':').map(|k| (k, "")))
        {
            fields.push((k.to_string(), v.trim().to_string(), Vec::new()));
        } else if !t.is_empty() {
            return None;
        }
    }
    let parts: Vec<String> = fields
        .into_iter()
        .map(|(k, v, list)| match v.is_empty() {
            true => format!("{k}: [{}]", list.join(", ")),
            false => format!("{k}: {v}"),
        })
        .collect();
    Some(format!("- {{{}}}\n", parts.join(", ")))
}

/// Field names respelled with case changes and Unicode folding.
fn respell(rng: &mut Rng, text: &str) -> String {
    let mut out = text.to_string();
    for name in ["rolearn", "userarn", "username", "groups"] {
        if rng.chance(60) {
            let variant = spelling(rng, name);
            out = out.replacen(name, &variant, 1 + rng.below(3));
        }
    }
    out
}

/// The items split over the key and another one.
fn split(rng: &mut Rng, key: &str, list: &[String]) -> Case {
    let cut = rng.below(list.len() + 1);
    let other = *rng.pick(&["mapRoles", "mapUsers", "mapAccounts"]);
    let (a, b) = (list[..cut].concat(), list[cut..].concat());
    let data = if other == key {
        vec![(key.to_string(), format!("{a}---\n{b}"))]
    } else {
        vec![(key.to_string(), a), (other.to_string(), b)]
    };
    Case {
        class: "mutate-structure".into(),
        data,
    }
}
