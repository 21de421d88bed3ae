//! The preview of `--cleanup-aws-auth` in a plan: the aws-auth it leaves,
//! as a unified diff per data key (as `apply` shows it), with a note where
//! a key is written anew instead of edited in place. Text, Markdown (a
//! fenced diff in `<details>`) and the JSON plan's `awsAuthCleanup` field.

use std::fmt::Write as _;

use serde::Serialize;

use super::diff;
use crate::model::cleanup::{AwsAuthCleanup, Edit, KeyEdit};
use crate::model::cluster::ConfigMapData;
use crate::model::untrusted::terminal;

/// The lines of the text plan's preview, safe for a terminal.
pub(crate) fn text_lines(c: &AwsAuthCleanup) -> Vec<String> {
    if !c.changes() {
        return vec![
            "  aws-auth: --cleanup-aws-auth has nothing to remove (no mapping gets an access entry)"
                .into(),
        ];
    }
    let mut lines: Vec<String> = diff::aws_auth_removal(&c.before, &c.after)
        .lines()
        .map(str::to_string)
        .collect();
    // The diff ends with a blank line: the notes go above it.
    let blank = lines.last().is_some_and(String::is_empty);
    if blank {
        lines.pop();
    }
    lines.extend(
        c.keys
            .iter()
            .filter_map(note)
            .map(|n| format!("      note: {n}")),
    );
    lines.push(String::new());
    lines
}

/// What a reader should know about how a key was edited, if anything.
fn note(k: &KeyEdit) -> Option<String> {
    match &k.edit {
        Edit::Minimal => None,
        Edit::Removed => Some(format!(
            "{} is removed: every mapping in it gets an access entry",
            k.key
        )),
        Edit::Rewritten { reason } => Some(format!(
            "{} is written anew from the mappings it keeps, since {reason}: its comments, quoting and the items the authenticator ignores are not kept",
            k.key
        )),
    }
}

/// The Markdown plan's preview: a fenced diff inside `<details>`, and the
/// notes. Every line of the diff is escaped as for a terminal, and the
/// fence is longer than any run of backticks in it.
pub(crate) fn markdown(c: &AwsAuthCleanup) -> String {
    let mut o = String::from("#### aws-auth after `--cleanup-aws-auth`\n\n");
    if !c.changes() {
        o.push_str("Nothing to remove: no mapping gets an access entry.\n\n");
        return o;
    }
    let mut body = String::new();
    for k in &c.keys {
        let (a, b) = (value(&c.before, &k.key), value(&c.after, &k.key));
        for line in diff::unified(&k.key, a, b).lines() {
            body.push_str(&terminal(line));
            body.push('\n');
        }
    }
    let longest = body.split(|ch| ch != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = write!(
        o,
        "<details><summary>The migrated mappings are removed from aws-auth ({} data key{} change)</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n\n",
        c.keys.len(),
        if c.keys.len() == 1 { "" } else { "s" }
    );
    for n in c.keys.iter().filter_map(note) {
        let _ = writeln!(o, "- {}\n", terminal(&n));
    }
    o
}

fn value<'a>(data: &'a ConfigMapData, key: &str) -> &'a str {
    data.get(key).map_or("", String::as_str)
}

/// The JSON plan's `awsAuthCleanup`: the data after the cleanup, and per
/// changed key how it was edited, with its unified diff.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Json<'a> {
    data: &'a ConfigMapData,
    keys: Vec<JsonKey<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonKey<'a> {
    #[serde(flatten)]
    edit: &'a KeyEdit,
    diff: String,
}

pub(crate) fn json(c: &AwsAuthCleanup) -> Json<'_> {
    Json {
        data: &c.after,
        keys: c
            .keys
            .iter()
            .map(|k| JsonKey {
                edit: k,
                diff: diff::unified(&k.key, value(&c.before, &k.key), value(&c.after, &k.key)),
            })
            .collect(),
    }
}
