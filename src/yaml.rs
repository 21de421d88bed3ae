//! The one module that parses YAML (and JSON, which YAML contains), and
//! writes the little YAML the tool writes back (aws-auth's lists).
//!
//! Everything else in the crate sees a [`Node`] tree that remembers the line and
//! column of every value, so findings can point at the line to fix. Swapping the
//! YAML crate means changing this file only.
//!
//! The tree is built from the parser's events with hard limits, so hostile input
//! fails with an error instead of exhausting memory or the stack: alias expansion
//! is capped (alias bombs), and so is nesting depth.
//!
//! Plain scalars are typed the way go-yaml v2 (YAML 1.1) types them, because that is
//! what aws-iam-authenticator uses: `yes`/`on` are booleans, `0755` is an integer.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

/// How many nodes alias expansion may add in one parse.
const MAX_ALIAS_NODES: usize = 100_000;
/// How deep collections may nest.
const MAX_DEPTH: usize = 128;

/// A parsed value with its position (1-based line and column).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) value: Value,
    pub(crate) line: usize,
    pub(crate) col: usize,
}

/// The shape of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Scalar(Scalar),
    Seq(Vec<Node>),
    /// Entries in document order; duplicates are kept (callers decide who wins).
    Map(Vec<(Node, Node)>),
}

/// A scalar as written, with its quoting style.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scalar {
    pub(crate) text: String,
    pub(crate) style: Style,
}

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// A `|` block: its content lines map one to one onto lines of the file.
    /// Its node's position is that of its first non-empty content line.
    Literal,
    Folded,
}

/// The YAML 1.1 type of a scalar, as go-yaml v2 resolves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScalarType {
    Null,
    Bool,
    Int,
    Float,
    Str,
}

/// Why a text is not usable YAML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlError {
    /// The text is not well-formed YAML.
    #[error("line {line}, column {col}: {message}")]
    Syntax {
        line: usize,
        col: usize,
        message: String,
    },
    /// Aliases expand to more nodes than allowed (an "alias bomb").
    #[error("line {line}: aliases expand to more than {limit} nodes (an alias bomb?)")]
    AliasBomb { line: usize, limit: usize },
    /// Collections nest deeper than allowed.
    #[error("line {line}: nesting is deeper than {limit} levels")]
    TooDeep { line: usize, limit: usize },
    /// An alias names an anchor that is not complete (it refers to itself).
    #[error("line {line}: alias refers to a value that encloses it")]
    RecursiveAlias { line: usize },
}

impl YamlError {
    /// What is wrong, without the position.
    pub fn what(&self) -> String {
        match self {
            YamlError::Syntax { message, .. } => message.clone(),
            YamlError::AliasBomb { limit, .. } => {
                format!("aliases expand to more than {limit} nodes (an alias bomb?)")
            }
            YamlError::TooDeep { limit, .. } => format!("nesting is deeper than {limit} levels"),
            YamlError::RecursiveAlias { .. } => {
                "an alias refers to a value that encloses it".into()
            }
        }
    }

    /// The column the error is at, when known.
    pub fn col(&self) -> Option<usize> {
        match self {
            YamlError::Syntax { col, .. } => Some(*col),
            _ => None,
        }
    }

    /// The line the error is on.
    pub fn line(&self) -> usize {
        match self {
            YamlError::Syntax { line, .. }
            | YamlError::AliasBomb { line, .. }
            | YamlError::TooDeep { line, .. }
            | YamlError::RecursiveAlias { line } => *line,
        }
    }
}

impl Node {
    /// The scalar's text, if this is a scalar.
    pub(crate) fn scalar(&self) -> Option<&Scalar> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a scalar that YAML types as a string (quoted, block, or plain
    /// text that is not a null, bool or number).
    pub(crate) fn as_str(&self) -> Option<&str> {
        self.scalar()
            .filter(|s| s.scalar_type() == ScalarType::Str)
            .map(|s| s.text.as_str())
    }

    /// True for a null scalar (`~`, `null`, or nothing at all).
    pub(crate) fn is_null(&self) -> bool {
        self.scalar()
            .is_some_and(|s| s.scalar_type() == ScalarType::Null)
    }

    /// The entries of a mapping.
    pub(crate) fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The items of a sequence.
    pub(crate) fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The value of `key` in a mapping; with duplicate keys the last one wins,
    /// as in go-yaml and encoding/json.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .rev()
            .find(|(k, _)| k.key_text() == key)
            .map(|(_, v)| v)
    }

    /// A mapping key as text: go-yaml turns non-string keys into their text.
    pub(crate) fn key_text(&self) -> &str {
        match &self.value {
            Value::Scalar(s) => &s.text,
            _ => "",
        }
    }

    /// A short name of this value's type, for error messages.
    pub(crate) fn kind_name(&self) -> &'static str {
        match &self.value {
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
            Value::Scalar(s) => match s.scalar_type() {
                ScalarType::Null => "null",
                ScalarType::Bool => "a boolean",
                ScalarType::Int => "an integer",
                ScalarType::Float => "a number",
                ScalarType::Str => "a string",
            },
        }
    }
}

impl Scalar {
    /// Types the scalar as go-yaml v2 does: quoted and block scalars are strings,
    /// plain ones are resolved by the YAML 1.1 rules.
    pub(crate) fn scalar_type(&self) -> ScalarType {
        if self.style != Style::Plain {
            return ScalarType::Str;
        }
        resolve_plain(&self.text)
    }
}

fn resolve_plain(text: &str) -> ScalarType {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return ScalarType::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "n" | "N" | "no" | "No" | "NO" | "true" | "True"
        | "TRUE" | "false" | "False" | "FALSE" | "on" | "On" | "ON" | "off" | "Off" | "OFF" => {
            return ScalarType::Bool
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => return ScalarType::Float,
        _ => {}
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let digits = |s: &str, radix: u32| {
        !s.is_empty()
            && s.chars().any(|c| c != '_')
            && s.chars().all(|c| c == '_' || c.is_digit(radix))
    };
    if let Some(rest) = unsigned.strip_prefix("0x") {
        if digits(rest, 16) {
            return ScalarType::Int;
        }
    } else if let Some(rest) = unsigned.strip_prefix("0b") {
        if digits(rest, 2) {
            return ScalarType::Int;
        }
    } else if digits(unsigned, 10) {
        return ScalarType::Int;
    }
    if is_float(unsigned) {
        return ScalarType::Float;
    }
    ScalarType::Str
}

/// `[0-9_]*\.?[0-9_]*([eE][-+]?[0-9]+)?` with at least one digit before the exponent.
fn is_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut dots = 0;
    let mut digits = 0;
    for c in mantissa.chars() {
        match c {
            '.' => dots += 1,
            '0'..='9' => digits += 1,
            '_' => {}
            _ => return false,
        }
    }
    if dots > 1 || digits == 0 || (dots == 0 && exponent.is_none()) {
        return false;
    }
    match exponent {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
        }
    }
}

/// Parses every document of a YAML stream.
///
/// # Errors
/// A [`YamlError`] for malformed text, alias bombs and excessive nesting.
pub(crate) fn parse_documents(text: &str) -> Result<Vec<Node>, YamlError> {
    Builder::default().run(text)
}

/// Parses a stream that must hold at most one document; an empty stream is `None`.
#[cfg(test)]
///
/// # Errors
/// As [`parse_documents`], and a syntax error for a second document.
pub(crate) fn parse_one(text: &str) -> Result<Option<Node>, YamlError> {
    let mut docs = parse_documents(text)?;
    if docs.len() > 1 {
        let second = &docs[1];
        return Err(YamlError::Syntax {
            line: second.line,
            col: second.col,
            message: "expected one YAML document, found a second one".into(),
        });
    }
    Ok(docs.pop())
}

enum Frame {
    Seq {
        anchor: usize,
        start: (usize, usize),
        items: Vec<Node>,
    },
    Map {
        anchor: usize,
        start: (usize, usize),
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    alias_nodes: usize,
    docs: Vec<Node>,
}

/// A scalar node at `pos`.
fn scalar(text: String, style: TScalarStyle, pos: (usize, usize)) -> Node {
    let style = match style {
        TScalarStyle::Plain => Style::Plain,
        TScalarStyle::SingleQuoted => Style::SingleQuoted,
        TScalarStyle::DoubleQuoted => Style::DoubleQuoted,
        TScalarStyle::Literal => Style::Literal,
        TScalarStyle::Folded => Style::Folded,
    };
    Node {
        value: Value::Scalar(Scalar { text, style }),
        line: pos.0,
        col: pos.1,
    }
}

impl Builder {
    fn run(mut self, text: &str) -> Result<Vec<Node>, YamlError> {
        let mut parser = Parser::new_from_str(text);
        loop {
            let (event, mark) = parser.next_token().map_err(|e| YamlError::Syntax {
                line: e.marker().line(),
                col: e.marker().col() + 1,
                message: e.info().to_string(),
            })?;
            let pos = (mark.line(), mark.col() + 1);
            match event {
                Event::StreamEnd => break,
                Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => {
                }
                Event::Scalar(text, style, anchor, _tag) => {
                    self.finish(scalar(text, style, pos), anchor, 1);
                }
                Event::SequenceStart(anchor, _) => {
                    self.push(
                        Frame::Seq {
                            anchor,
                            start: pos,
                            items: Vec::new(),
                        },
                        pos.0,
                    )?;
                }
                Event::MappingStart(anchor, _) => {
                    self.push(
                        Frame::Map {
                            anchor,
                            start: pos,
                            entries: Vec::new(),
                            key: None,
                        },
                        pos.0,
                    )?;
                }
                Event::SequenceEnd | Event::MappingEnd => self.end_collection(),
                Event::Alias(id) => self.alias(id, pos.0)?,
            }
        }
        Ok(self.docs)
    }

    /// Closes the innermost sequence or mapping and places it.
    fn end_collection(&mut self) {
        let (node, anchor) = match self.stack.pop() {
            Some(Frame::Seq {
                anchor,
                start,
                items,
            }) => (
                Node {
                    value: Value::Seq(items),
                    line: start.0,
                    col: start.1,
                },
                anchor,
            ),
            Some(Frame::Map {
                anchor,
                start,
                entries,
                ..
            }) => (
                Node {
                    value: Value::Map(entries),
                    line: start.0,
                    col: start.1,
                },
                anchor,
            ),
            None => return,
        };
        // Sizes matter only for anchored nodes (alias expansion).
        let size = if anchor == 0 { 0 } else { count_nodes(&node) };
        self.finish(node, anchor, size);
    }

    /// Places a copy of the anchored node `id`, within the alias limit.
    fn alias(&mut self, id: usize, line: usize) -> Result<(), YamlError> {
        let Some((node, size)) = self.anchors.get(&id) else {
            return Err(YamlError::RecursiveAlias { line });
        };
        self.alias_nodes += size;
        if self.alias_nodes > MAX_ALIAS_NODES {
            return Err(YamlError::AliasBomb {
                line,
                limit: MAX_ALIAS_NODES,
            });
        }
        let node = node.clone();
        self.finish(node, 0, 0);
        Ok(())
    }

    fn push(&mut self, frame: Frame, line: usize) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(YamlError::TooDeep {
                line,
                limit: MAX_DEPTH,
            });
        }
        self.stack.push(frame);
        Ok(())
    }

    /// Places a complete node into its parent (or as a document).
    fn finish(&mut self, node: Node, anchor: usize, size: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
}

fn count_nodes(node: &Node) -> usize {
    1 + match &node.value {
        Value::Scalar(_) => 0,
        Value::Seq(items) => items.iter().map(count_nodes).sum(),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| count_nodes(k) + count_nodes(v))
            .sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_quoted_escapes_as_json_does() {
        let ascii: String = (0x20u32..0x7f).filter_map(char::from_u32).collect();
        for s in [
            ascii.as_str(),
            "",
            "plain",
            "a\"b\\c\n\t\r\u{1}",
            "é✓\u{a0}\u{10000}",
        ] {
            assert_eq!(double_quoted(s), serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    /// go-yaml v2 (the authenticator's reader) refuses a whole key holding a
    /// raw DEL, C1 control or BOM, and folds a raw NEL, LS or PS in a quoted
    /// scalar into a space: written values escape them, and read back the same.
    #[test]
    fn double_quoted_writes_only_what_go_yaml_reads_back_unchanged() {
        let tricky: String = (0u32..0xa0)
            .chain([0x2028, 0x2029, 0xfeff, 0xfffe, 0xffff])
            .filter_map(char::from_u32)
            .collect();
        let written = double_quoted(&tricky);
        let raw_bad = written.chars().find(|&c| {
            let n = u32::from(c);
            (n < 0x20 || (0x7f..0xa0).contains(&n))
                || matches!(n, 0x2028 | 0x2029 | 0xfeff | 0xfffe | 0xffff)
        });
        assert_eq!(raw_bad, None, "{written:?}");
        let back = one(&written);
        assert_eq!(back.as_str(), Some(tricky.as_str()));
    }

    fn one(text: &str) -> Node {
        parse_one(text).unwrap().unwrap()
    }

    #[test]
    fn positions_are_one_based_lines_and_columns() {
        let doc = one("a: 1\nb:\n  - x\n  - y\n");
        let b = doc.get("b").unwrap();
        assert_eq!((b.line, b.col), (3, 3));
        assert_eq!(b.as_seq().unwrap()[1].line, 4);
    }

    #[test]
    fn literal_block_scalar_is_placed_at_its_first_content_line() {
        let doc = one("data:\n  mapRoles: |\n\n    - rolearn: x\n");
        let v = doc.get("data").unwrap().get("mapRoles").unwrap();
        assert_eq!((v.line, v.col), (4, 5));
        assert_eq!(v.scalar().unwrap().style, Style::Literal);
        assert_eq!(v.as_str(), Some("\n- rolearn: x\n"));
    }

    #[test]
    fn plain_scalars_are_typed_like_go_yaml_v2() {
        for (text, ty) in [
            ("yes", ScalarType::Bool),
            ("Off", ScalarType::Bool),
            ("~", ScalarType::Null),
            ("", ScalarType::Null),
            ("123456789012", ScalarType::Int),
            ("0x1F", ScalarType::Int),
            ("-1_000", ScalarType::Int),
            ("1.5", ScalarType::Float),
            ("1e3", ScalarType::Float),
            (".inf", ScalarType::Float),
            ("arn:aws:iam::1:role/x", ScalarType::Str),
            ("1.2.3", ScalarType::Str),
            ("e3", ScalarType::Str),
            (".", ScalarType::Str),
        ] {
            let s = Scalar {
                text: text.into(),
                style: Style::Plain,
            };
            assert_eq!(s.scalar_type(), ty, "{text:?}");
        }
        let quoted = Scalar {
            text: "yes".into(),
            style: Style::DoubleQuoted,
        };
        assert_eq!(quoted.scalar_type(), ScalarType::Str);
    }

    #[test]
    fn json_is_parsed_with_positions() {
        let doc = one("{\n  \"kind\": \"ConfigMap\",\n  \"data\": {\"mapRoles\": \"- a\\n\"}\n}");
        assert_eq!(doc.get("kind").unwrap().as_str(), Some("ConfigMap"));
        let v = doc.get("data").unwrap().get("mapRoles").unwrap();
        assert_eq!(v.as_str(), Some("- a\n"));
        assert_eq!(v.line, 3);
    }

    #[test]
    fn duplicate_keys_last_wins() {
        assert_eq!(
            one("a: 1\na: two\n").get("a").unwrap().as_str(),
            Some("two")
        );
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse_one(&text).unwrap_err();
        assert!(matches!(err, YamlError::AliasBomb { .. }), "{err:?}");
    }

    #[test]
    fn small_aliases_expand() {
        let doc = one("a: &g [x, y]\nb: *g\n");
        assert_eq!(doc.get("b").unwrap().as_seq().unwrap().len(), 2);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let flow = "[".repeat(10_000);
        let err = parse_one(&flow).unwrap_err();
        assert!(matches!(err, YamlError::Syntax { .. }), "{err:?}");
        let block: String = (0..1000)
            .map(|i| format!("{}- \n", " ".repeat(i * 2)))
            .collect();
        let err = parse_one(&block).unwrap_err();
        assert!(matches!(err, YamlError::TooDeep { .. }), "{err:?}");
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = parse_one("a: [1, 2\nb: c\n").unwrap_err();
        assert!(matches!(err, YamlError::Syntax { .. }));
        assert!(err.line() >= 1);
    }
}

/// A value to write back into an aws-auth data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Emit {
    Str(String),
    List(Vec<String>),
    /// A nested mapping of strings, in order.
    Map(Vec<(String, String)>),
}

/// `s` as a double-quoted scalar, escaped the JSON way (which YAML reads
/// back as the same string): the quote and the backslash, the short escapes
/// for backspace, tab, newline, form feed and carriage return, and `\uXXXX`
/// for every other character go-yaml v2 would not read back unchanged: the
/// C0 and C1 controls and DEL (a raw one makes go-yaml refuse the whole
/// key), NEL, LS and PS (YAML 1.1 line breaks, folded into a space), the BOM
/// and the non-characters U+FFFE and U+FFFF.
pub(crate) fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// True for the characters [`double_quoted`] writes as `\uXXXX`.
fn needs_escape(c: char) -> bool {
    let n = u32::from(c);
    n < 0x20 || (0x7f..0xa0).contains(&n) || matches!(n, 0x2028 | 0x2029 | 0xfeff | 0xfffe | 0xffff)
}

/// Writes a block sequence of mappings (what `mapRoles` and `mapUsers` hold).
/// Every scalar is double-quoted the JSON way, which YAML reads back as the
/// same string, so no value can change type (`"true"`, `"0123"`) on the way.
pub fn emit_items(items: &[Vec<(String, Emit)>]) -> String {
    let q = double_quoted;
    let mut out = String::new();
    for fields in items {
        for (i, (key, value)) in fields.iter().enumerate() {
            out.push_str(if i == 0 { "- " } else { "  " });
            out.push_str(&q(key));
            match value {
                Emit::Str(s) => {
                    out.push_str(": ");
                    out.push_str(&q(s));
                    out.push('\n');
                }
                Emit::List(list) if list.is_empty() => out.push_str(": []\n"),
                Emit::List(list) => {
                    out.push_str(":\n");
                    for s in list {
                        out.push_str(&format!("  - {}\n", q(s)));
                    }
                }
                Emit::Map(pairs) => {
                    out.push_str(":\n");
                    for (k, v) in pairs {
                        out.push_str(&format!("    {}: {}\n", q(k), q(v)));
                    }
                }
            }
        }
    }
    out
}
