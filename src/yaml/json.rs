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
    // Positions only: characters a YAML reader refuses become `x`.
    let readable: String = text
        .chars()
        .map(|c| if super::readable(c) { c } else { 'x' })
        .collect();
    if let Ok(docs) = super::build::Builder::new(&readable).run(true) {
        if let Some(doc) = docs.first() {
            place(&mut node, doc);
            renumber(&mut node, &file_lines(text));
        }
    }
    Ok(node)
}

/// For each line as YAML counts them (CR LF, CR, LF, NEL, LS and PS end a
/// line), the line of the file as an editor counts them (LF).
fn file_lines(text: &str) -> Vec<usize> {
    let mut out = vec![1];
    let mut file_line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => file_line += 1,
            '\r' if chars.next_if_eq(&'\n').is_some() => file_line += 1,
            '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => {}
            _ => continue,
        }
        out.push(file_line);
    }
    out
}

fn renumber(node: &mut Node, lines: &[usize]) {
    node.line = lines.get(node.line - 1).copied().unwrap_or(node.line);
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| renumber(n, lines)),
        Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            renumber(k, lines);
            renumber(v, lines);
        }),
        Value::Scalar(_) => {}
    }
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
            // Earlier copies of a repeated key stay visible (before the
            // last), so a repeated data key is refused as in YAML files.
            let earlier: Vec<(Node, Node)> = others
                .iter()
                .filter(|e| !std::ptr::eq(*e, by_key[e.0.key_text()]))
                .cloned()
                .collect();
            entries.splice(0..0, earlier);
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
    fn a_del_in_a_json_string_is_data_and_keeps_positions() {
        let doc = parse("{\n\"data\": {\n\"mapUsers\": \"x\u{7f}\"}}").unwrap();
        let v = doc.get("data").unwrap().get("mapUsers").unwrap();
        assert_eq!(v.as_str(), Some("x\u{7f}"));
        assert_eq!(v.line, 3);
    }

    #[test]
    fn a_raw_nel_does_not_move_later_lines() {
        let doc = parse("{\"a\": \"x\u{85}y\",\n\"b\": 1}").unwrap();
        assert_eq!(doc.get("b").unwrap().line, 2);
    }

    #[test]
    fn a_repeated_key_stays_visible_before_the_last() {
        let doc = parse("{\"a\": 1,\n\"a\": 2}").unwrap();
        let keys: Vec<usize> = doc.as_map().unwrap().iter().map(|(k, _)| k.line).collect();
        assert_eq!(keys, [1, 2]);
        assert_eq!(doc.get("a").unwrap().scalar().unwrap().text, "2");
    }
}
