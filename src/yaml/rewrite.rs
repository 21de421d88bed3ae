//! The text libyaml-safer is given, rewritten where libyaml 0.2 (which it
//! ports) scans differently from go-yaml v2 (a port of an older libyaml):
//!
//! - a final line break is added when the text has none (libyaml-safer 0.3
//!   panics on a block scalar that ends the text without one; `Builder`
//!   takes it back from that scalar);
//! - a BOM that starts a later line is content for go-yaml v2 (its check
//!   looks at the start of its buffer, not at the current position) but
//!   skipped by libyaml-safer;
//! - `[`, `]` and `,` may be part of a tag for go-yaml v2, not for libyaml 0.2;
//! - inside a plain scalar in a flow collection, go-yaml v2 keeps a `:`
//!   followed by `,`, `[`, `]`, `{` or `}`, where libyaml 0.2 reports an
//!   error.
//!
//! Each such character is swapped for one the text does not hold (a
//! private-use character, an ordinary one to the scanner; inside a tag, an
//! unused tag character such as `~`) and swapped back in every scalar. A
//! one-byte character swapped for a three-byte one moves byte offsets;
//! [`Rewrite::original`] maps them back.

/// A text rewritten for libyaml-safer.
pub(super) struct Rewrite {
    pub(super) input: String,
    /// (stand-in, original) pairs.
    swaps: Vec<(char, char)>,
    /// Offsets in `input` of the swapped one-byte characters (each now 3 bytes).
    widened: Vec<usize>,
}

const LINE_BREAKS: [char; 5] = ['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'];

/// True when the text's last line has no line break.
pub(super) fn ends_open(text: &str) -> bool {
    !text.is_empty() && !text.ends_with(LINE_BREAKS)
}

impl Rewrite {
    pub(super) fn new(text: &str) -> Rewrite {
        let mut chars: Vec<char> = text.chars().collect();
        if ends_open(text) {
            chars.push('\n');
        }
        // A stand-in must not be in the text, nor made by an escape in it.
        let escaped = escaped_chars(text);
        let free = |c: &char| !text.contains(*c) && !escaped.contains(c);
        let mut unused = ('\u{e000}'..='\u{f8ff}').filter(free);
        // Inside a tag a stand-in must itself be a tag character.
        let mut unused_in_tags = "~;$()+=@*'".chars().filter(free);
        let mut swaps = Vec::new();
        let mut plan: Vec<(usize, char)> = Vec::new();
        for (original, positions, in_tag) in [
            ('\u{feff}', line_start_boms(&chars), false),
            ('[', tag_chars(&chars, '['), true),
            (']', tag_chars(&chars, ']'), true),
            (',', tag_chars(&chars, ','), true),
        ] {
            if positions.is_empty() {
                continue;
            }
            let stand_in = if in_tag {
                unused_in_tags.next()
            } else {
                unused.next()
            };
            let Some(stand_in) = stand_in else { continue };
            swaps.push((stand_in, original));
            plan.extend(positions.into_iter().map(|i| (i, stand_in)));
        }
        for (i, c) in &plan {
            chars[*i] = *c;
        }
        let colons = flow_colons(&chars);
        if let (false, Some(stand_in)) = (colons.is_empty(), unused.next()) {
            swaps.push((stand_in, ':'));
            for i in colons {
                chars[i] = stand_in;
                plan.push((i, stand_in));
            }
        }
        Rewrite::assemble(&chars, swaps, &plan)
    }

    fn assemble(chars: &[char], swaps: Vec<(char, char)>, plan: &[(usize, char)]) -> Rewrite {
        let mut swapped: Vec<usize> = plan.iter().map(|(i, _)| *i).collect();
        swapped.sort_unstable();
        let mut input = String::with_capacity(chars.len() + 2 * swapped.len());
        let mut widened = Vec::new();
        let mut next = swapped.iter().peekable();
        for (i, c) in chars.iter().enumerate() {
            if next.peek() == Some(&&i) {
                next.next();
                let original = swaps.iter().find(|(s, _)| s == c).map_or(*c, |(_, o)| *o);
                if original.is_ascii() && !c.is_ascii() {
                    widened.push(input.len());
                }
            }
            input.push(*c);
        }
        Rewrite {
            input,
            swaps,
            widened,
        }
    }

    /// The byte offset in the original text of `offset` in `input`.
    pub(super) fn original(&self, offset: usize) -> usize {
        offset - 2 * self.widened.partition_point(|&w| w < offset)
    }

    /// A scalar's value with the swapped characters put back.
    pub(super) fn restore(&self, value: String) -> String {
        if !self.swaps.iter().any(|(s, _)| value.contains(*s)) {
            return value;
        }
        value
            .chars()
            .map(|c| {
                self.swaps
                    .iter()
                    .find(|(s, _)| *s == c)
                    .map_or(c, |(_, o)| *o)
            })
            .collect()
    }
}

/// The characters `\xXX`, `\uXXXX` and `\UXXXXXXXX` escapes in the text
/// stand for (wherever they are: a stand-in must not be one of them).
fn escaped_chars(text: &str) -> std::collections::HashSet<char> {
    let mut out = std::collections::HashSet::new();
    for (i, _) in text.match_indices('\\') {
        let rest = &text[i + 1..];
        let width = match rest.chars().next() {
            Some('x') => 2,
            Some('u') => 4,
            Some('U') => 8,
            _ => continue,
        };
        let hex: String = rest.chars().skip(1).take(width).collect();
        if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
            out.insert(c);
        }
    }
    out
}

/// BOMs at the start of a line other than the first.
fn line_start_boms(chars: &[char]) -> Vec<usize> {
    (1..chars.len())
        .filter(|&i| chars[i] == '\u{feff}' && LINE_BREAKS.contains(&chars[i - 1]))
        .collect()
}

/// go-yaml v2's tag characters: a `!` that starts a token, then letters,
/// digits, `-`, `_` and `;/?:@&=+$,.!~*'()[]%`.
fn is_tag_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_;/?:@&=+$,.!~*'()[]%".contains(c)
}

/// The positions of `which` inside tags.
fn tag_chars(chars: &[char], which: char) -> Vec<usize> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '!' && starts_node(chars, i) {
            let mut j = i + 1;
            while j < chars.len() && is_tag_char(chars[j]) {
                if chars[j] == which {
                    out.push(j);
                }
                j += 1;
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// True when position `i` can start a node: at a line start, or after
/// `[`, `{`, `,`, or after `-`, `:`, `?` and a space, or after an anchor.
fn starts_node(chars: &[char], i: usize) -> bool {
    let mut j = i;
    while j > 0 && matches!(chars[j - 1], ' ' | '\t') {
        j -= 1;
    }
    if j == 0 || LINE_BREAKS.contains(&chars[j - 1]) || "[]{},".contains(chars[j - 1]) {
        return true;
    }
    let spaced = j < i;
    if !spaced {
        return false;
    }
    if j >= 3
        && chars[j - 3..j] == ['-', '-', '-']
        && (j == 3 || LINE_BREAKS.contains(&chars[j - 4]))
    {
        return true;
    }
    if "-:?".contains(chars[j - 1]) {
        return j < 2
            || chars[j - 2].is_whitespace()
            || "[{,".contains(chars[j - 2])
            || chars[j - 1] == ':';
    }
    let word_start = chars[..j]
        .iter()
        .rposition(|c| c.is_whitespace() || "[{,".contains(*c))
        .map_or(0, |p| p + 1);
    chars[word_start] == '&'
}

/// `:` inside a plain scalar, followed by a flow indicator: after a
/// character that can continue a plain scalar, in a word that is not an
/// alias, anchor or tag.
fn flow_colons(chars: &[char]) -> Vec<usize> {
    let continues = |c: char| !c.is_whitespace() && !"[]{},\"'".contains(c);
    (1..chars.len().saturating_sub(1))
        .filter(|&i| chars[i] == ':' && "[]{},".contains(chars[i + 1]) && continues(chars[i - 1]))
        .filter(|&i| {
            let word_start = chars[..i]
                .iter()
                .rposition(|c| c.is_whitespace() || "[]{},".contains(*c))
                .map_or(0, |p| p + 1);
            !matches!(chars[word_start], '*' | '&' | '!')
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swaps_are_undone_and_offsets_map_back() {
        let r = Rewrite::new("a: [x:, !t[a]g y]\n\u{feff}b");
        assert!(!r.input.contains("x:,"));
        assert_eq!(r.restore(r.input.clone()), "a: [x:, !t[a]g y]\n\u{feff}b\n");
        let at = r.input.find('y').unwrap();
        assert_eq!(r.original(at), "a: [x:, !t[a]g y]".find('y').unwrap());
    }

    #[test]
    fn a_stand_in_is_never_a_character_an_escape_makes() {
        let r = Rewrite::new("a: \"adm\\ue000in\"\nb: [x:, y]\n");
        assert!(!r.input.contains('\u{e000}'), "{:?}", r.input);
        assert_eq!(r.restore("adm\u{e000}in".into()), "adm\u{e000}in");
    }

    #[test]
    fn a_text_with_nothing_to_swap_is_only_closed() {
        let r = Rewrite::new("- a: b");
        assert_eq!(r.input, "- a: b\n");
        assert_eq!(r.original(4), 4);
    }
}
