//! Text from aws-auth, a file or an API is untrusted: before it reaches a
//! terminal, [`terminal`] escapes every character that could move the
//! cursor, erase, recolour or reorder what a human reads (controls, escape
//! sequences, bidirectional overrides, invisible format characters, line
//! separators), as `\u{..}`, the way Rust's `{:?}` shows them.

use std::borrow::Cow;

/// True for a character [`terminal`] escapes.
pub(crate) fn unsafe_for_terminal(c: char) -> bool {
    c.is_control()
        || matches!(
            u32::from(c),
            0x061c | 0x180e | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x2069 | 0xfeff
        )
}

/// `s` with every character that is unsafe on a terminal written as
/// `\u{XX}`; borrowed when there is none.
pub(crate) fn terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_for_terminal) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_for_terminal(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`terminal`] line by line: the line breaks of a message of ours stay.
pub(crate) fn terminal_lines(s: &str) -> String {
    s.split('\n').map(terminal).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_escapes_and_bidi_are_shown_not_obeyed() {
        assert!(matches!(terminal("plain text: ok"), Cow::Borrowed(_)));
        assert_eq!(terminal("x\u{1b}[3A\u{1b}[0J"), "x\\u{1b}[3A\\u{1b}[0J");
        assert_eq!(
            terminal("a\rb\nc\td\u{7f}"),
            "a\\u{d}b\\u{a}c\\u{9}d\\u{7f}"
        );
        assert_eq!(terminal("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(
            terminal("\u{9b}2J\u{2028}\u{2066}\u{200b}\u{feff}"),
            "\\u{9b}2J\\u{2028}\\u{2066}\\u{200b}\\u{feff}"
        );
        assert_eq!(terminal("é✓ 漢字"), "é✓ 漢字");
        assert_eq!(terminal_lines("one\u{1b}\ntwo"), "one\\u{1b}\ntwo");
    }
}
