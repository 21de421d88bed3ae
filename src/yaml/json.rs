//! JSON files (`kubectl get -o json`), read as JSON: k8s.io's `ToJSON`
//! passes text starting with `{` to Go's JSON decoder untouched, and JSON
//! strings are not YAML 1.1 (kubectl writes NEL, DEL and C1 characters raw
//! inside them; a YAML reader would fold or refuse them). The values come
//! from serde_json; the positions from reading the same text as YAML, when
//! that works, else line 1.

use super::resolve::Resolved;
use super::{Node, Scalar, Style, Value, YamlError};

/// True when the text is JSON by k8s.io's test: its first non-space
/// character is `{`.
pub(super) fn is_json(text: &str) -> bool {
    text.trim_start().starts_with('{')
}

/// Parses JSON text into a [`Node`] tree.
///
/// # Errors
/// A [`YamlError::Syntax`] where serde_json stops.
pub(super) fn parse(text: &str) -> Result<Node, YamlError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        let message = match message.rfind(" at line ") {
            Some(i) => message[..i].to_string(),
            None => message,
        };
        YamlError::Syntax {
            line: e.line().max(1),
            col: e.column().max(1),
            message,
        }
    })?;
    let mut node = convert(&value);
    if let Ok(docs) = super::build::Builder::new(text).run(true) {
        if let Some(doc) = docs.first() {
            place(&mut node, doc);
        }
    }
    Ok(node)
}

fn convert(value: &serde_json::Value) -> Node {
    let scalar = |text: String, resolved: Resolved| {
        Value::Scalar(Scalar {
            text,
            style: if resolved == Resolved::Str {
                Style::DoubleQuoted
            } else {
                Style::Plain
            },
            resolved,
        })
    };
    let value = match value {
        serde_json::Value::Null => scalar("null".into(), Resolved::Null),
        serde_json::Value::Bool(b) => scalar(b.to_string(), Resolved::Bool(*b)),
        serde_json::Value::Number(n) => {
            let resolved = if let Some(i) = n.as_i64() {
                Resolved::Int(i)
            } else if let Some(u) = n.as_u64() {
                Resolved::Uint(u)
            } else {
                n.as_f64().map_or(Resolved::Str, Resolved::Float)
            };
            scalar(n.to_string(), resolved)
        }
        serde_json::Value::String(s) => scalar(s.clone(), Resolved::Str),
        serde_json::Value::Array(items) => Value::Seq(items.iter().map(convert).collect()),
        serde_json::Value::Object(entries) => Value::Map(
            entries
                .iter()
                .map(|(k, v)| (convert(&serde_json::Value::String(k.clone())), convert(v)))
                .collect(),
        ),
    };
    Node {
        value,
        line: 1,
        col: 1,
    }
}

/// Copies positions from the same document read as YAML, as far as the
/// two have the same shape.
fn place(node: &mut Node, from: &Node) {
    node.line = from.line;
    node.col = from.col;
    match (&mut node.value, &from.value) {
        (Value::Seq(items), Value::Seq(others)) => {
            for (item, other) in items.iter_mut().zip(others) {
                place(item, other);
            }
        }
        (Value::Map(entries), Value::Map(others)) => {
            // The last of repeated keys, as JSON keeps it.
            let by_key: std::collections::HashMap<&str, &(Node, Node)> =
                others.iter().map(|e| (e.0.key_text(), e)).collect();
            for (k, v) in entries.iter_mut() {
                if let Some((ok, ov)) = by_key.get(k.key_text()) {
                    place(k, ok);
                    place(v, ov);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// kubectl writes a NEL raw inside a JSON string: it stays a NEL (a YAML
    /// reader would fold it into a space), and keeps its line.
    #[test]
    fn json_strings_are_read_as_json_with_yaml_positions() {
        let text = "{\n  \"kind\": \"ConfigMap\",\n  \"data\": {\n    \"mapRoles\": \"- a # x\u{85}  b\"\n  }\n}\n";
        let doc = parse(text).unwrap();
        let v = doc.get("data").unwrap().get("mapRoles").unwrap();
        assert_eq!(v.as_str(), Some("- a # x\u{85}  b"));
        assert_eq!(v.line, 4);
    }

    #[test]
    fn a_del_in_a_json_string_is_data_not_an_error() {
        let doc = parse("{\"data\": {\"mapUsers\": \"x\u{7f}\"}}").unwrap();
        let v = doc.get("data").unwrap().get("mapUsers").unwrap();
        assert_eq!(v.as_str(), Some("x\u{7f}"));
    }
}
