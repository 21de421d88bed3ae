//! Finds the aws-auth ConfigMap in a file and returns its data values with
//! their positions.
//!
//! Accepts what users have: one ConfigMap as `kubectl get cm aws-auth -n
//! kube-system -o yaml` or `-o json` prints it (metadata, annotations and
//! managedFields are ignored), a `kind: List` holding it, or a stream of documents.

use super::{ReadError, MAX_CONFIGMAP_BYTES};
use crate::yaml::{self, Node, Style};

/// One `data` entry of the ConfigMap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DataValue {
    pub(crate) key: String,
    pub(crate) text: String,
    /// The line of the key in the file.
    pub(crate) key_line: usize,
    /// For a `|` block, the file line of the text's first line: the block's lines
    /// map one to one onto the file's. `None` for other styles (JSON, quoted).
    pub(crate) first_line: Option<usize>,
    /// For a `|` block, how far its lines are indented in the file.
    pub(crate) indent: usize,
}

impl DataValue {
    /// A value read on its own (from the API server), numbered as if written
    /// as a `|` block after its key at `key_line`.
    pub(crate) fn alone(key: &str, text: &str, key_line: usize) -> DataValue {
        DataValue {
            key: key.to_string(),
            text: text.to_string(),
            key_line,
            first_line: Some(key_line + 1),
            indent: 0,
        }
    }

    /// The file position ("line" or "line:column") of a position in the value's text.
    pub(crate) fn file_position(&self, inner_line: usize, inner_col: Option<usize>) -> String {
        match (self.first_line, inner_col) {
            (Some(_), Some(col)) => format!("{}:{}", self.file_line(inner_line), col + self.indent),
            (Some(_), None) => self.file_line(inner_line).to_string(),
            (None, Some(col)) => format!(
                "{} (line {inner_line}, column {col} of the value)",
                self.key_line
            ),
            (None, None) => format!("{} (line {inner_line} of the value)", self.key_line),
        }
    }

    /// The file line of line `inner` (1-based) of the value's text.
    pub(crate) fn file_line(&self, inner: usize) -> usize {
        match self.first_line {
            Some(first) => first + inner.saturating_sub(1),
            None => self.key_line,
        }
    }
}

/// Finds the one aws-auth ConfigMap in `text` and returns its data values.
///
/// # Errors
/// [`ReadError`] when the text is not YAML, holds no aws-auth ConfigMap, or
/// holds one whose `data` is malformed.
pub(crate) fn locate(file: &str, text: &str) -> Result<Vec<DataValue>, ReadError> {
    let docs = yaml::parse_file(text).map_err(|error| ReadError::Yaml {
        file: file.into(),
        line: error.line(),
        error,
    })?;
    let cm = the_configmap(file, &docs)?;
    check_namespace(file, cm)?;
    let Some(data) = cm.get("data").filter(|d| !d.is_null()) else {
        return Ok(Vec::new());
    };
    let Some(entries) = data.as_map() else {
        return Err(not_aws_auth(
            file,
            data.line,
            format!(
                "`data` must be a mapping of keys to strings, found {}",
                data.kind_name()
            ),
        ));
    };
    let mut values: Vec<DataValue> = Vec::with_capacity(entries.len());
    let mut lines: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (k, v) in entries {
        let value = data_value(file, k, v)?;
        if let Some(first) = lines.insert(value.key.clone(), value.key_line) {
            return Err(not_aws_auth(
                file,
                value.key_line,
                format!(
                    "data.{} is written twice (lines {first} and {}); the API server holds each key once, so keep the one you mean and delete the other",
                    value.key, value.key_line
                ),
            ));
        }
        values.push(value);
    }
    Ok(values)
}

/// The error for a file that does not hold the one aws-auth ConfigMap as expected.
fn not_aws_auth(file: &str, line: usize, message: String) -> ReadError {
    ReadError::NotAwsAuth {
        file: file.into(),
        line,
        message,
    }
}

/// The one aws-auth ConfigMap among `docs`, or why there is none.
fn the_configmap<'a>(file: &str, docs: &'a [Node]) -> Result<&'a Node, ReadError> {
    let mut candidates: Vec<&Node> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for doc in docs.iter().filter(|d| !d.is_null()) {
        collect(doc, &mut candidates, &mut seen);
    }
    match candidates.as_slice() {
        [one] => Ok(*one),
        [] => {
            let line = docs.first().map_or(1, |d| d.line);
            let found = if seen.is_empty() {
                "nothing with a `kind`".to_string()
            } else {
                seen.join(", ")
            };
            Err(not_aws_auth(
                file,
                line,
                format!("expected the ConfigMap kube-system/aws-auth (kind: ConfigMap, metadata.name: aws-auth), found {found}"),
            ))
        }
        [_, second, ..] => Err(not_aws_auth(
            file,
            second.line,
            "found more than one aws-auth ConfigMap; give one at a time".into(),
        )),
    }
}

/// Refuses a ConfigMap outside kube-system, which the authenticator never reads.
fn check_namespace(file: &str, cm: &Node) -> Result<(), ReadError> {
    if let Some(ns) = cm.get("metadata").and_then(|m| m.get("namespace")) {
        if ns.as_str() != Some("kube-system") {
            return Err(not_aws_auth(
                file,
                ns.line,
                format!(
                    "aws-auth is in namespace `{}`; the authenticator reads only kube-system/aws-auth",
                    ns.scalar().map_or("?", |s| s.text.as_str())
                ),
            ));
        }
    }
    Ok(())
}

/// One `data` entry (key `k`, value `v`) with its text and position.
fn data_value(file: &str, k: &Node, v: &Node) -> Result<DataValue, ReadError> {
    let key = k.key_text().to_string();
    let text = if v.is_null() {
        String::new()
    } else if let Some(s) = v.as_str() {
        s.to_string()
    } else {
        return Err(not_aws_auth(
            file,
            v.line,
            format!(
                "data.{key} must be a string (a YAML document in a `|` block), found {}",
                v.kind_name()
            ),
        ));
    };
    if text.len() > MAX_CONFIGMAP_BYTES {
        return Err(ReadError::ValueTooLarge {
            file: file.into(),
            key,
            line: k.line,
            size: text.len(),
            limit: MAX_CONFIGMAP_BYTES,
        });
    }
    // The parser places a block at its first non-empty line; leading empty
    // lines are part of the text.
    let first_line = v.scalar().filter(|s| s.style == Style::Literal).map(|_| {
        v.line
            .saturating_sub(text.len() - text.trim_start_matches('\n').len())
    });
    Ok(DataValue {
        key,
        text,
        key_line: k.line,
        first_line,
        indent: v.col.saturating_sub(1),
    })
}

/// Adds the aws-auth ConfigMaps in `doc` (itself, or the items of a List) to
/// `out`, and what else was seen to `seen`.
fn collect<'a>(doc: &'a Node, out: &mut Vec<&'a Node>, seen: &mut Vec<String>) {
    let kind = doc.get("kind").and_then(Node::as_str).unwrap_or_default();
    if kind == "List" || kind.ends_with("List") {
        for item in doc.get("items").and_then(Node::as_seq).unwrap_or_default() {
            collect(item, out, seen);
        }
        return;
    }
    let name = doc
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Node::as_str)
        .unwrap_or_default();
    if kind == "ConfigMap" && name == "aws-auth" {
        out.push(doc);
    } else if !kind.is_empty() {
        seen.push(format!("{kind} `{name}` (line {})", doc.line));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<(String, usize, usize)> {
        locate("f", text)
            .unwrap()
            .into_iter()
            .map(|v| (v.key.clone(), v.key_line, v.file_line(1)))
            .collect()
    }

    #[test]
    fn finds_a_bare_configmap_and_maps_block_lines() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n    - rolearn: a\n";
        assert_eq!(keys(text), vec![("mapRoles".to_string(), 7, 8)]);
    }

    #[test]
    fn finds_it_inside_a_list() {
        let text = "kind: List\nitems:\n- kind: ConfigMap\n  metadata: {name: other}\n- kind: ConfigMap\n  metadata: {name: aws-auth}\n  data: {mapUsers: \"\"}\n";
        assert_eq!(keys(text), vec![("mapUsers".to_string(), 7, 7)]);
    }

    #[test]
    fn refuses_other_kinds_naming_what_it_found() {
        let err = locate("cm.yaml", "kind: Secret\nmetadata: {name: aws-auth}\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("cm.yaml:1:"), "{msg}");
        assert!(msg.contains("Secret `aws-auth`"), "{msg}");
    }

    #[test]
    fn refuses_non_string_values_with_their_line() {
        let text =
            "kind: ConfigMap\nmetadata: {name: aws-auth}\ndata:\n  mapRoles:\n    - rolearn: x\n";
        let msg = locate("f", text).unwrap_err().to_string();
        assert!(msg.starts_with("f:5:"), "{msg}");
        assert!(msg.contains("data.mapRoles must be a string"), "{msg}");
    }

    /// The API server never holds a key twice; a hand-edited file that does
    /// is refused rather than guessed (sigs.k8s.io/yaml would keep the last).
    #[test]
    fn refuses_a_repeated_data_key_naming_both_lines() {
        let text = "kind: ConfigMap\nmetadata: {name: aws-auth}\ndata:\n  mapRoles: |\n    - rolearn: a\n  mapUsers: \"\"\n  mapRoles: |\n    - rolearn: b\n";
        let msg = locate("cm.yaml", text).unwrap_err().to_string();
        assert!(msg.starts_with("cm.yaml:7:"), "{msg}");
        assert!(
            msg.contains("data.mapRoles is written twice (lines 4 and 7)"),
            "{msg}"
        );
    }

    #[test]
    fn refuses_another_namespace() {
        let text = "kind: ConfigMap\nmetadata: {name: aws-auth, namespace: default}\n";
        assert!(locate("f", text)
            .unwrap_err()
            .to_string()
            .contains("kube-system"));
    }
}
