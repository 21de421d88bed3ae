//! The one module that parses YAML (and JSON, which YAML contains), and
//! writes the little YAML the tool writes back (aws-auth's lists).
//!
//! It reads YAML as go-yaml v2 does, because aws-iam-authenticator decodes
//! aws-auth with it (docs/DOMAIN.md section 1): the events come from
//! libyaml-safer, a Rust port of libyaml, of which go-yaml v2 is a Go port;
//! on top, [`build`] decodes them as go-yaml does into a [`Node`] tree
//! (anchors, aliases, merge keys) and [`resolve`] types the scalars by its
//! YAML 1.1 rules (`yes` is true, `017` is 15, `!!binary` is decoded).
//! tools/authenticator-oracle and the reader's parity test check this
//! against go-yaml v2 itself.
//!
//! Everything else in the crate sees the [`Node`] tree, which remembers the
//! line and column of every value, so findings can point at the line to fix.
//! Swapping the YAML crate means changing this folder only. Hostile input
//! fails with an error instead of exhausting memory or the stack: nesting
//! depth and alias expansion (in nodes and in bytes) are capped.

mod build;
mod json;
mod resolve;
mod rewrite;
mod spans;

use resolve::Resolved;
pub(crate) use resolve::ScalarType;
pub(crate) use spans::{item_spans, NotEditable};

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
    /// Entries in document order, merge keys applied; duplicates are kept
    /// (the last one wins, as in go-yaml and encoding/json).
    Map(Vec<(Node, Node)>),
}

/// A scalar: its text and how it was written and typed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scalar {
    /// What a Go string gets from it: the text as written, or the decoded
    /// bytes of a `!!binary` value.
    pub(crate) text: String,
    pub(crate) style: Style,
    resolved: Resolved,
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

/// Why a text is not usable YAML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlError {
    /// The text is not well-formed YAML, or go-yaml v2 would not decode it.
    #[error("line {line}, column {col}: {message}")]
    Syntax {
        line: usize,
        col: usize,
        message: String,
    },
    /// Aliases expand to more than allowed (an "alias bomb").
    #[error(
        "line {line}: aliases expand to more than {nodes} nodes or {bytes} bytes (an alias bomb?)"
    )]
    AliasBomb {
        line: usize,
        nodes: usize,
        bytes: usize,
    },
    /// A character go-yaml v2's reader refuses (a C0 or C1 control other
    /// than tab, LF, CR and NEL, DEL, U+FFFE, U+FFFF).
    #[error("line {line}, column {col}: control characters are not allowed")]
    ControlCharacter { line: usize, col: usize },
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
            YamlError::ControlCharacter { .. } => "control characters are not allowed".into(),
            YamlError::AliasBomb { nodes, bytes, .. } => {
                format!(
                    "aliases expand to more than {nodes} nodes or {bytes} bytes (an alias bomb?)"
                )
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
            YamlError::Syntax { col, .. } | YamlError::ControlCharacter { col, .. } => Some(*col),
            _ => None,
        }
    }

    /// The line the error is on.
    pub fn line(&self) -> usize {
        match self {
            YamlError::Syntax { line, .. }
            | YamlError::ControlCharacter { line, .. }
            | YamlError::AliasBomb { line, .. }
            | YamlError::TooDeep { line, .. }
            | YamlError::RecursiveAlias { line } => *line,
        }
    }
}

/// True for the characters go-yaml v2's reader accepts (others make it
/// refuse the whole text: "control characters are not allowed").
pub(crate) fn readable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
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

    /// The value of a scalar that YAML types as a boolean (`true`, `no`, ...).
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self.scalar()?.resolved {
            Resolved::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The value of a scalar that YAML types as an integer.
    pub(crate) fn as_int(&self) -> Option<i64> {
        match self.scalar()?.resolved {
            Resolved::Int(i) => Some(i),
            _ => None,
        }
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
    /// The YAML 1.1 type go-yaml v2 gives it.
    pub(crate) fn scalar_type(&self) -> ScalarType {
        self.resolved.scalar_type()
    }
}

/// Parses every document of a YAML stream.
///
/// # Errors
/// A [`YamlError`] for malformed text, alias bombs and excessive nesting.
pub(crate) fn parse_documents(text: &str) -> Result<Vec<Node>, YamlError> {
    with_go_escapes(text, |t| build::Builder::new(t).run(false))
}

/// True when k8s.io's `ToJSON` takes the text as JSON: its first
/// non-space character is `{`.
pub(crate) fn is_json(text: &str) -> bool {
    json::is_json(text)
}

/// Parses a file: JSON (text starting with `{`) as JSON, as k8s.io's
/// `ToJSON` and kubectl do, anything else as a YAML stream.
///
/// # Errors
/// A [`YamlError`] for malformed text, alias bombs and excessive nesting.
pub(crate) fn parse_file(text: &str) -> Result<Vec<Node>, YamlError> {
    if json::is_json(text) {
        return Ok(vec![json::parse(text)?]);
    }
    parse_documents(text)
}

/// Parses the first document only, reading no further than its end, as
/// go-yaml v2's `Unmarshal` does. An empty stream is `None`.
///
/// # Errors
/// As [`parse_documents`], for the text up to the first document's end.
pub(crate) fn parse_first(text: &str) -> Result<Option<Node>, YamlError> {
    let docs = within_read_window(text, |t| {
        with_go_escapes(t, |u| build::Builder::new(u).run(true))
    })?;
    Ok(docs.into_iter().next())
}

/// A first document, and the decode-stage error go-yaml v2 stopped at, if
/// any, with the index of the top-level list item it was in.
pub(crate) type FirstDocument = (Option<Node>, Option<(YamlError, Option<usize>)>);

/// As [`parse_first`], but a value error go-yaml v2 meets while decoding
/// (a tag that does not fit, bad base64, a merge of a non-mapping) is
/// returned beside the document instead of failing it, with the index of
/// the top-level list item it was in: go-yaml has decoded the items before
/// it (what `mapAccounts` keeps when it fails).
///
/// # Errors
/// As [`parse_first`], for errors of the text itself.
pub(crate) fn parse_first_lenient(text: &str) -> Result<FirstDocument, YamlError> {
    let (docs, failed) = within_read_window(text, |t| {
        with_go_escapes(t, |u| build::Builder::new(u).run_lenient())
    })?;
    Ok((docs.into_iter().next(), failed.map(|d| (d.error, d.item))))
}

/// How many `\'` escapes one text may have (each costs a parse).
const MAX_QUOTE_ESCAPES: usize = 256;

/// go-yaml v2 knows the escape `\'` in a double-quoted scalar (an
/// apostrophe); libyaml 0.2 does not. When `parse` stops at one, it is
/// written as `\x27` and the text parsed again (columns after it on that
/// line move by two), up to [`MAX_QUOTE_ESCAPES`] times; past that the
/// text is refused (a deliberate limit: each costs a parse).
fn with_go_escapes<T>(
    text: &str,
    parse: impl Fn(&str) -> Result<T, YamlError>,
) -> Result<T, YamlError> {
    let mut text = std::borrow::Cow::Borrowed(text);
    for _ in 0..MAX_QUOTE_ESCAPES {
        let result = parse(&text);
        let Err(YamlError::Syntax { line, col, message }) = &result else {
            return result;
        };
        if !message.starts_with("found unknown escape character") {
            return result;
        }
        let Some(at) = byte_offset(&text, *line, *col) else {
            return result;
        };
        if !text[at..].starts_with("\\'") {
            return result;
        }
        text.to_mut().replace_range(at..at + 2, "\\x27");
    }
    parse(&text)
}

/// The byte offset of a 1-based line and column as libyaml counts them:
/// after a leading BOM, with CR LF, CR, LF, NEL, LS and PS as line breaks.
fn byte_offset(text: &str, line: usize, col: usize) -> Option<usize> {
    let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let (mut at_line, mut at_col) = (1, 1);
    let mut chars = text[start..].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if (at_line, at_col) == (line, col) {
            return Some(start + i);
        }
        match c {
            '\r' => {
                chars.next_if(|&(_, n)| n == '\n');
                (at_line, at_col) = (at_line + 1, 1);
            }
            '\n' | '\u{85}' | '\u{2028}' | '\u{2029}' => (at_line, at_col) = (at_line + 1, 1),
            _ => at_col += 1,
        }
    }
    None
}

/// go-yaml v2 decodes its input 512 bytes at a time and stops after the
/// first document, so it never sees a control character in a later chunk.
/// When `parse` fails on one, this finds out whether go-yaml would have read
/// it and, if not, parses the text before it instead.
fn within_read_window<T>(
    text: &str,
    parse: impl Fn(&str) -> Result<T, YamlError>,
) -> Result<T, YamlError> {
    const CHUNK: usize = 512;
    let first = parse(text);
    let Err(error) = &first else { return first };
    let Some((bad, c)) = text.char_indices().find(|&(_, c)| !readable(c)) else {
        return first;
    };
    if matches!(error, YamlError::ControlCharacter { .. }) {
        let prefix = &text[..bad];
        if let Some(end) = build::Builder::new(prefix).first_document_end() {
            // The scanner looked four characters past what ended the document.
            let read_up_to = ((end + 4) / CHUNK + 1) * CHUNK;
            // A character is decoded once all its bytes are in.
            if bad + c.len_utf8() > read_up_to {
                return parse(prefix);
            }
        }
    }
    first
}

/// Checks that `node` can become JSON as sigs.k8s.io/yaml's `YAMLToJSON`
/// converts it: mapping keys must be strings, numbers or booleans (not null,
/// not an integer only `uint64` holds), and no value may be NaN or infinite.
///
/// # Errors
/// A [`YamlError::Syntax`] at the offending node.
pub(crate) fn check_json(node: &Node) -> Result<(), YamlError> {
    let bad = |n: &Node, message: &str| YamlError::Syntax {
        line: n.line,
        col: n.col,
        message: message.to_string(),
    };
    match &node.value {
        Value::Scalar(s) => match s.resolved {
            Resolved::Float(f) if !f.is_finite() => {
                Err(bad(node, "json: unsupported value: NaN or infinity"))
            }
            _ => Ok(()),
        },
        Value::Seq(items) => items.iter().try_for_each(check_json),
        Value::Map(entries) => {
            // Go's map keeps the last value of each key: only those become JSON.
            let mut last: std::collections::HashMap<String, &Node> =
                std::collections::HashMap::new();
            for (k, v) in entries {
                match k.scalar().map(|s| (&s.resolved, s)) {
                    Some((Resolved::Null | Resolved::Uint(_), _)) | None => {
                        return Err(bad(k, "unsupported map key for JSON"));
                    }
                    Some((r, s)) => {
                        last.insert(go_key(r, &s.text), v);
                    }
                }
            }
            last.values().try_for_each(|v| check_json(v))
        }
    }
}

/// The identity of a mapping key in a Go `map[interface{}]interface{}`:
/// its type and value (`yes` and `true` are one key, `1` and `"1"` two).
fn go_key(r: &Resolved, text: &str) -> String {
    match r {
        Resolved::Null => "null".into(),
        Resolved::Bool(b) => format!("bool:{b}"),
        Resolved::Int(i) => format!("int:{i}"),
        Resolved::Uint(u) => format!("uint:{u}"),
        Resolved::Float(f) => format!("float:{}", f.to_bits()),
        Resolved::Str | Resolved::Merge => format!("str:{text}"),
    }
}

/// Parses a stream that must hold at most one document; an empty stream is `None`.
///
/// # Errors
/// As [`parse_documents`], and a syntax error for a second document.
#[cfg(test)]
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
    fn scalars_are_typed_like_go_yaml_v2() {
        for (text, ty) in [
            ("yes", ScalarType::Bool),
            ("Off", ScalarType::Bool),
            ("~", ScalarType::Null),
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
            ("\"yes\"", ScalarType::Str),
            ("!!str 12", ScalarType::Str),
            ("!!int \"12\"", ScalarType::Int),
        ] {
            let node = one(text);
            assert_eq!(node.scalar().unwrap().scalar_type(), ty, "{text:?}");
        }
    }

    #[test]
    fn merge_keys_apply_in_order_and_binary_is_decoded() {
        let doc = one(concat!(
            "base: &b {user: a, groups: [x]}\n",
            "m:\n  user: first\n  <<: *b\n  groups: [z]\n",
            "bin: !!binary aGVsbG8=\n",
        ));
        let m = doc.get("m").unwrap();
        assert_eq!(m.get("user").unwrap().as_str(), Some("a"));
        assert_eq!(
            m.get("groups").unwrap().as_seq().unwrap()[0].as_str(),
            Some("z")
        );
        assert_eq!(doc.get("bin").unwrap().as_str(), Some("hello"));
        assert!(parse_one("m:\n  <<: 1\n").is_err());
    }

    #[test]
    fn control_characters_and_yaml_1_1_breaks_are_go_yaml_v2s() {
        assert!(parse_one("a: x\u{0}y\n").is_err());
        assert!(parse_one("a: x\u{1b}y\n").is_err());
        let doc = one("a: 1 # note\u{2028}b: 2\n");
        assert_eq!(doc.get("b").unwrap().scalar().unwrap().text, "2");
    }

    #[test]
    fn only_the_first_document_counts_for_the_authenticator() {
        let first = parse_first("- a\n--- [unclosed\n").unwrap().unwrap();
        assert_eq!(first.as_seq().unwrap().len(), 1);
        assert!(parse_documents("- a\n--- [unclosed\n").is_err());
    }

    /// What go-yaml v2 gave for each text (block scalars at an end of text
    /// with no line break, where libyaml-safer needs help).
    #[test]
    fn block_scalars_at_an_open_end_read_as_go_yaml_v2() {
        for (text, want) in [
            ("a: |\n  abc", "abc"),
            ("a: |\n  abc\n  ", "abc\n"),
            ("a: |\n  abc\n   ", "abc\n "),
            ("a: |+\n  abc", "abc"),
            ("a: >\n  abc\n  def", "abc def"),
            ("a: |-\n  abc", "abc"),
        ] {
            assert_eq!(one(text).get("a").unwrap().as_str(), Some(want), "{text:?}");
        }
    }

    /// go-yaml v2 reads `\'` in double quotes as an apostrophe.
    #[test]
    fn an_escaped_apostrophe_in_double_quotes_is_go_yamls() {
        let doc = one("a: \"o\\'brien\"\nb: [\"x\\'y\", z]\n");
        assert_eq!(doc.get("a").unwrap().as_str(), Some("o'brien"));
        assert_eq!(
            doc.get("b").unwrap().as_seq().unwrap()[0].as_str(),
            Some("x'y")
        );
        assert!(parse_one("a: \"o\\qbrien\"\n").is_err());
    }

    #[test]
    fn json_refuses_nan_and_null_keys() {
        assert!(check_json(&one("[.nan]")).is_err());
        assert!(check_json(&one("{~: a}")).is_err());
        assert!(check_json(&one("{.nan: a}")).is_ok());
    }

    #[test]
    fn a_large_scalar_copied_by_aliases_is_refused_by_bytes() {
        let big = "x".repeat(900 * 1024);
        let text = format!("a: &a {big}\nb: [*a, *a, *a, *a, *a]\n");
        let err = parse_one(&text).unwrap_err();
        assert!(matches!(err, YamlError::AliasBomb { .. }), "{err:?}");
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
        // go-yaml's own "excessive aliasing" rule refuses it first.
        let err = parse_one(&text).unwrap_err();
        assert!(err.what().contains("excessive aliasing"), "{err:?}");
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
        assert!(matches!(err, YamlError::TooDeep { .. }), "{err:?}");
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
