//! Scalar resolution as go-yaml v2 does it (its `resolve.go` and the scalar
//! half of `decode.go`): what type a scalar gets from its tag, its style and
//! its text, following YAML 1.1 and Go's `strconv` rules.
//!
//! The rules, checked against go-yaml v2 itself (tools/authenticator-oracle):
//! - quoted and block scalars without a tag are strings;
//! - plain scalars: `~`, `null`, `` (empty) are null; `y`/`yes`/`on`/`true`
//!   (three case forms each) are true, their opposites false; `.nan` and
//!   `.inf` forms are floats; `<<` is the merge key;
//! - text starting with a digit or sign is tried as an integer (underscores
//!   removed, Go's base prefixes `0x`, `0o`, `0b` and a leading `0` for
//!   octal), then as an unsigned integer, then as a float of the form
//!   `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` that Go can hold
//!   (`1e400` stays a string); text starting with `.` is tried as a float;
//! - `!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!timestamp` force or
//!   check the type (`!!int abc` is an error); `!!binary` is base64-decoded;
//!   any other tag leaves the text a string.

use base64::Engine;

/// The YAML 1.1 type of a scalar, as go-yaml v2 resolves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScalarType {
    Null,
    Bool,
    Int,
    Float,
    Str,
}

/// A scalar's value as go-yaml v2 decodes it into an `interface{}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resolved {
    Null,
    Bool(bool),
    /// An integer that fits Go's `int` (64 bits).
    Int(i64),
    /// An integer only `uint64` holds (a map key of this type breaks JSON).
    Uint(u64),
    Float(f64),
    /// A string; its text is the scalar's `text`.
    Str,
    /// The merge key `<<`.
    Merge,
}

impl Resolved {
    pub(crate) fn scalar_type(&self) -> ScalarType {
        match self {
            Resolved::Null => ScalarType::Null,
            Resolved::Bool(_) => ScalarType::Bool,
            Resolved::Int(_) | Resolved::Uint(_) => ScalarType::Int,
            Resolved::Float(_) => ScalarType::Float,
            Resolved::Str | Resolved::Merge => ScalarType::Str,
        }
    }
}

const TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// The standard tags go-yaml v2 resolves; others leave the text a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    None,
    Str,
    Bool,
    Int,
    Float,
    Null,
    Timestamp,
    Binary,
    Merge,
    Other,
}

fn tag_of(tag: Option<&str>) -> Tag {
    let Some(tag) = tag else { return Tag::None };
    match tag.strip_prefix(TAG_PREFIX) {
        Some("str") => Tag::Str,
        Some("bool") => Tag::Bool,
        Some("int") => Tag::Int,
        Some("float") => Tag::Float,
        Some("null") => Tag::Null,
        Some("timestamp") => Tag::Timestamp,
        Some("binary") => Tag::Binary,
        Some("merge") => Tag::Merge,
        _ => Tag::Other,
    }
}

/// True when a mapping key is the merge key: `<<` written plain and
/// untagged, or tagged `!!merge`.
pub(crate) fn is_merge_key(tag: Option<&str>, implicit: bool, text: &str) -> bool {
    text == "<<" && (implicit || tag_of(tag) == Tag::Merge)
}

/// Resolves a scalar. `implicit` is the parser's "plain and untagged (or
/// tagged `!`)". Returns the value and, for `!!binary`, the decoded text.
///
/// # Errors
/// go-yaml's message when a tag does not fit the text, or `!!binary` is not
/// base64.
pub(crate) fn resolve(
    tag: Option<&str>,
    implicit: bool,
    text: &str,
) -> Result<(Resolved, Option<String>), String> {
    let tag = tag_of(tag);
    if tag == Tag::None && !implicit {
        return Ok((Resolved::Str, None));
    }
    match tag {
        Tag::Binary => {
            // Go's decoder skips line breaks inside base64.
            let compact: String = text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map_err(|_| "!!binary value contains invalid base64 data".to_string())?;
            Ok((Resolved::Str, Some(go_string(&bytes))))
        }
        Tag::Str | Tag::Other | Tag::Merge => Ok((Resolved::Str, None)),
        Tag::None => Ok((untagged(text, true), None)),
        Tag::Bool | Tag::Int | Tag::Float | Tag::Null | Tag::Timestamp => {
            checked(tag, text).map(|r| (r, None))
        }
    }
}

/// A value under an explicit standard tag, which must fit it.
fn checked(tag: Tag, text: &str) -> Result<Resolved, String> {
    let got = if tag == Tag::Timestamp && is_timestamp(text) {
        return Ok(Resolved::Str);
    } else {
        untagged(text, false)
    };
    let fits = match (tag, &got) {
        (Tag::Bool, Resolved::Bool(_))
        | (Tag::Int, Resolved::Int(_) | Resolved::Uint(_))
        | (Tag::Float, Resolved::Float(_))
        | (Tag::Null, Resolved::Null) => true,
        (Tag::Float, Resolved::Int(i)) => return Ok(Resolved::Float(*i as f64)),
        _ => false,
    };
    if fits {
        return Ok(got);
    }
    Err(format!(
        "cannot decode {} `{text}` as a {}",
        short_name(&got),
        match tag {
            Tag::Bool => "!!bool",
            Tag::Int => "!!int",
            Tag::Float => "!!float",
            Tag::Null => "!!null",
            _ => "!!timestamp",
        }
    ))
}

fn short_name(r: &Resolved) -> &'static str {
    match r {
        Resolved::Null => "!!null",
        Resolved::Bool(_) => "!!bool",
        Resolved::Int(_) | Resolved::Uint(_) => "!!int",
        Resolved::Float(_) => "!!float",
        Resolved::Str | Resolved::Merge => "!!str",
    }
}

/// go-yaml's resolution of untagged plain text. `timestamps` is false under
/// an explicit tag (go-yaml tries timestamps only for untagged text).
fn untagged(text: &str, timestamps: bool) -> Resolved {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Resolved::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Resolved::Bool(false)
        }
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        "<<" => return Resolved::Merge,
        _ => {}
    }
    match text.as_bytes()[0] {
        b'.' => go_parse_float(text).map_or(Resolved::Str, Resolved::Float),
        b'0'..=b'9' | b'+' | b'-' => {
            if timestamps && is_timestamp(text) {
                return Resolved::Str;
            }
            number(&text.replace('_', "")).unwrap_or(Resolved::Str)
        }
        _ => Resolved::Str,
    }
}

/// An integer, unsigned integer or float, as go-yaml tries them.
fn number(plain: &str) -> Option<Resolved> {
    if let Some(i) = go_parse_int(plain) {
        return Some(Resolved::Int(i));
    }
    if let Some(u) = go_parse_uint(plain) {
        return Some(Resolved::Uint(u));
    }
    if is_yaml_float(plain) {
        if let Some(f) = go_parse_float(plain) {
            return Some(Resolved::Float(f));
        }
    }
    None
}

/// Go's `strconv.ParseInt(s, 0, 64)` on text without underscores.
fn go_parse_int(s: &str) -> Option<i64> {
    let (negative, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = go_parse_uint(digits)?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go's `strconv.ParseUint(s, 0, 64)` on text without underscores.
fn go_parse_uint(s: &str) -> Option<u64> {
    let lower = s.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, &s[2..]),
        Some("0o") => (8, &s[2..]),
        Some("0b") => (2, &s[2..]),
        _ if s.len() > 1 && s.starts_with('0') => (8, &s[1..]),
        _ => (10, s),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_float(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        None => digits(mantissa),
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal text: `None` when it is not
/// a number or is out of range. Underscores must sit between digits.
fn go_parse_float(s: &str) -> Option<f64> {
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    let lower = unsigned.to_ascii_lowercase();
    if lower.starts_with("0x") || lower.starts_with("inf") || lower.starts_with("nan") {
        // Not reachable from go-yaml's callers with a different answer:
        // hex floats and words never pass its float checks.
        return None;
    }
    if s.contains('_') && !underscores_ok(s) {
        return None;
    }
    let cleaned = s.replace('_', "");
    let valid = cleaned
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !valid {
        return None;
    }
    cleaned.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Go's rule for underscores in number literals: only between digits (or
/// after a base prefix).
fn underscores_ok(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let mut saw = b'^';
    for b in s.bytes() {
        if b.is_ascii_digit() {
            saw = b'0';
        } else if b == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else if saw == b'_' {
            return false;
        } else {
            saw = b'!';
        }
    }
    saw != b'_'
}

/// go-yaml's timestamp forms (Go layouts `2006-1-2T15:4:5.999999999Z07:00`,
/// the same with `t`, `2006-1-2 15:4:5.999999999` and `2006-1-2`).
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let (date, time) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], Some((&s[i..i + 1], &s[i + 1..]))),
        None => (s, None),
    };
    if !is_date(date) {
        return false;
    }
    match time {
        None => true,
        Some((" ", rest)) => is_clock(rest),
        Some((_, rest)) => match rest.find(['Z', '+', '-']) {
            Some(i) => is_clock(&rest[..i]) && is_zone(&rest[i..]),
            None => false,
        },
    }
}

/// `YYYY-M-D` with a real day of a real month.
fn is_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    let num = |t: &str, max_len: usize| {
        (1..=max_len).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit())
    };
    if y.len() != 4 || !num(y, 4) || !num(m, 2) || !num(d, 2) {
        return false;
    }
    let (y, m, d): (u32, u32, u32) = (
        y.parse().unwrap_or(0),
        m.parse().unwrap_or(0),
        d.parse().unwrap_or(0),
    );
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// `H:M:S` with an optional fraction of up to nine digits.
fn is_clock(s: &str) -> bool {
    let (hms, frac) = match s.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (s, None),
    };
    let parts: Vec<&str> = hms.split(':').collect();
    let [h, m, sec] = parts.as_slice() else {
        return false;
    };
    let field = |t: &str, max: u32| {
        (1..=2).contains(&t.len())
            && t.bytes().all(|b| b.is_ascii_digit())
            && t.parse::<u32>().is_ok_and(|v| v <= max)
    };
    let frac_ok =
        frac.is_none_or(|f| (1..=9).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()));
    field(h, 23) && field(m, 59) && field(sec, 59) && frac_ok
}

/// `Z` or `±hh:mm`.
fn is_zone(s: &str) -> bool {
    if s == "Z" {
        return true;
    }
    let b = s.as_bytes();
    b.len() == 6
        && matches!(b[0], b'+' | b'-')
        && b[1..3].iter().all(u8::is_ascii_digit)
        && b[3] == b':'
        && b[4..6].iter().all(u8::is_ascii_digit)
}

/// Bytes as a Go string becomes JSON text (`encoding/json` replaces each
/// byte that does not start a valid UTF-8 sequence with U+FFFD).
pub(crate) fn go_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                out.push('\u{fffd}');
                rest = &bad[1..];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &str) -> Resolved {
        resolve(None, true, text).unwrap().0
    }

    /// Each answer below is what go-yaml v2 gave for the same text.
    #[test]
    fn plain_scalars_resolve_as_go_yaml_v2() {
        for (text, want) in [
            ("1_000", Resolved::Int(1000)),
            ("._5", Resolved::Str),
            (".5_5", Resolved::Float(0.55)),
            ("1_0.5", Resolved::Float(10.5)),
            ("08", Resolved::Float(8.0)),
            ("017", Resolved::Int(15)),
            ("0o17", Resolved::Int(15)),
            ("+12", Resolved::Int(12)),
            ("1e400", Resolved::Str),
            ("0x_1F", Resolved::Int(31)),
            ("-0b101", Resolved::Int(-5)),
            ("2001-12-14", Resolved::Str),
            ("12:30", Resolved::Str),
            ("1__0", Resolved::Int(10)),
            ("_1", Resolved::Str),
            ("+.5", Resolved::Float(0.5)),
            (".5.", Resolved::Str),
            ("0b_1", Resolved::Int(1)),
            ("1_", Resolved::Int(1)),
            ("yes", Resolved::Bool(true)),
            ("Off", Resolved::Bool(false)),
            ("yEs", Resolved::Str),
            ("~", Resolved::Null),
            ("", Resolved::Null),
            ("18446744073709551615", Resolved::Uint(u64::MAX)),
            ("123456789012", Resolved::Int(123_456_789_012)),
            ("arn:aws:iam::1:role/x", Resolved::Str),
        ] {
            assert_eq!(plain(text), want, "{text:?}");
        }
        assert!(matches!(plain(".nan"), Resolved::Float(f) if f.is_nan()));
    }

    #[test]
    fn tags_force_or_check_the_type() {
        let tagged =
            |tag: &str, text: &str| resolve(Some(&format!("{TAG_PREFIX}{tag}")), false, text);
        assert_eq!(tagged("int", "42").unwrap().0, Resolved::Int(42));
        assert_eq!(tagged("str", "123").unwrap().0, Resolved::Str);
        assert_eq!(tagged("float", "1").unwrap().0, Resolved::Float(1.0));
        assert!(tagged("int", "abc").is_err());
        assert_eq!(
            tagged("binary", "aGVsbG8=").unwrap(),
            (Resolved::Str, Some("hello".to_string()))
        );
        assert!(tagged("binary", "!!").is_err());
        assert_eq!(resolve(Some("!"), true, "123").unwrap().0, Resolved::Str);
        assert_eq!(resolve(None, false, "123").unwrap().0, Resolved::Str);
    }

    #[test]
    fn invalid_utf8_becomes_one_replacement_per_byte() {
        assert_eq!(go_string(b"a\xe2\x82b"), "a\u{fffd}\u{fffd}b");
        assert_eq!(go_string("é".as_bytes()), "é");
    }
}
