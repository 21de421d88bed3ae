//! Where the items of a block sequence are in its text, so that an item can
//! be cut out and every other byte left as it was (the aws-auth cleanup's
//! minimal edit). Found from libyaml-safer's tokens (the `-` of each
//! top-level item, and where its last token ends) and checked against the
//! parsed list; anything this cannot place safely is a [`NotEditable`].
//!
//! What an item's span holds: the comment lines directly above its `-` line
//! (no blank line between; the comment is taken to be about the item), its
//! own lines, comment lines right after it that are indented deeper than
//! its `-` (inside the item), and the blank lines that follow. Everything
//! else stays: comments separated from an item by a blank line, comments
//! after the last item at the `-` column, text before the first item. So a
//! header comment stays when a blank line sets it apart from the first item;
//! written right above it, it is taken to be about that item.

use std::ops::Range;

/// Why a value's items cannot be cut out one by one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NotEditable {
    /// `[...]`: its items share lines.
    #[error("it is a flow sequence (`[...]`), whose items share lines")]
    FlowSequence,
    /// Not a list of `- ` items at all.
    #[error("it is not a block sequence of `- ` items")]
    NotBlockSequence,
    /// An alias refers to an anchor outside its own item.
    #[error("an alias on line {line} refers to an anchor outside its item")]
    SharedAnchor { line: usize },
    /// `---`, `...` or a directive past the start.
    #[error("it holds a directive, a document end or a second document")]
    Documents,
    /// An item's start shares its line with other text.
    #[error("line {line} holds more than the start of one item")]
    SharedLine { line: usize },
    /// A byte-order mark: the scanner's offsets do not count it.
    #[error("it holds a byte-order mark")]
    ByteOrderMark,
    /// A line break other than LF and CR LF (CR, NEL, LS, PS).
    #[error("it has line breaks other than LF and CR LF")]
    LineBreaks,
    /// The scanner refused the text, or found other items than the parser.
    #[error("its items cannot be placed ({0})")]
    Unplaced(String),
}

/// The byte range to cut from `text` to remove each top-level item of the
/// block sequence it holds (see the module's comment for what a range
/// holds). The ranges are in order and do not overlap.
///
/// # Errors
/// [`NotEditable`] when the items cannot be placed safely.
pub(crate) fn item_spans(text: &str) -> Result<Vec<Range<usize>>, NotEditable> {
    let lone_cr = text
        .char_indices()
        .any(|(i, c)| c == '\r' && !text[i + 1..].starts_with('\n'));
    if lone_cr || text.contains(['\u{85}', '\u{2028}', '\u{2029}']) {
        return Err(NotEditable::LineBreaks);
    }
    if text.contains('\u{feff}') {
        return Err(NotEditable::ByteOrderMark);
    }
    let items = scan(text)?;
    let parsed = super::parse_first(text)
        .map_err(|e| NotEditable::Unplaced(e.to_string()))?
        .and_then(|root| root.as_seq().map(<[super::Node]>::len));
    if parsed != Some(items.len()) {
        return Err(NotEditable::Unplaced(format!(
            "{} items scanned, {parsed:?} parsed",
            items.len()
        )));
    }
    let lines = Lines::new(text, &items)?;
    Ok(lines.spans())
}

/// A top-level item: the offset of its `-`, and where its last token ends.
#[derive(Debug, Clone, Copy)]
struct Item {
    dash: usize,
    end: usize,
    line: usize,
}

/// The top-level items of the block sequence `text` holds, from its tokens.
fn scan(text: &str) -> Result<Vec<Item>, NotEditable> {
    use libyaml_safer::{Scanner, TokenData};
    let rewrite = super::rewrite::Rewrite::new(text);
    let mut input = rewrite.input.as_bytes();
    let mut scanner = Scanner::new();
    scanner.set_input_string(&mut input);
    let mut depth = 0usize;
    let mut root_done = false;
    let mut items: Vec<Item> = Vec::new();
    let mut anchors: std::collections::HashMap<String, Option<usize>> = Default::default();
    loop {
        let gave_up = || NotEditable::Unplaced("the YAML scanner gave up".into());
        let token = match super::build::guarded(|| scanner.next()).ok_or_else(gave_up)? {
            None => break,
            Some(t) => t.map_err(|e| NotEditable::Unplaced(e.to_string()))?,
        };
        let end = rewrite.original(token.end_mark.index as usize);
        let line = token.start_mark.line as usize + 1;
        let current = items.len().checked_sub(1);
        let content = !matches!(
            token.data,
            TokenData::BlockEnd | TokenData::BlockSequenceStart | TokenData::BlockMappingStart
        );
        match token.data {
            TokenData::StreamStart { .. } | TokenData::StreamEnd => continue,
            TokenData::DocumentStart if depth == 0 && !root_done && items.is_empty() => continue,
            TokenData::VersionDirective { .. }
            | TokenData::TagDirective { .. }
            | TokenData::DocumentStart
            | TokenData::DocumentEnd => return Err(NotEditable::Documents),
            _ if root_done => return Err(NotEditable::Unplaced("text after the list".into())),
            TokenData::BlockSequenceStart if depth == 0 => depth = 1,
            TokenData::FlowSequenceStart if depth == 0 => return Err(NotEditable::FlowSequence),
            _ if depth == 0 => return Err(NotEditable::NotBlockSequence),
            TokenData::BlockEntry if depth == 1 => {
                let dash = rewrite.original(token.start_mark.index as usize);
                items.push(Item { dash, end, line });
                continue;
            }
            TokenData::BlockSequenceStart
            | TokenData::BlockMappingStart
            | TokenData::FlowSequenceStart
            | TokenData::FlowMappingStart => depth += 1,
            TokenData::BlockEnd | TokenData::FlowSequenceEnd | TokenData::FlowMappingEnd => {
                depth -= 1;
                root_done = depth == 0;
            }
            TokenData::Anchor { value } => {
                anchors.insert(value, current);
            }
            TokenData::Alias { value } if anchors.get(&value) != Some(&current) => {
                return Err(NotEditable::SharedAnchor { line });
            }
            _ => {}
        }
        if let (true, Some(item)) = (content, items.last_mut()) {
            item.end = item.end.max(end);
        }
    }
    Ok(items)
}

/// The text's lines, and the items placed on them.
struct Lines<'t> {
    text: &'t str,
    /// Byte offset of each line's start; the text's length last.
    starts: Vec<usize>,
    /// Per item: the line of its `-`, its column, and the line after its
    /// last token.
    items: Vec<(usize, usize, usize)>,
}

impl<'t> Lines<'t> {
    fn new(text: &'t str, items: &[Item]) -> Result<Lines<'t>, NotEditable> {
        let mut starts: Vec<usize> = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .filter(|&s| s < text.len())
            .collect();
        starts.push(text.len());
        let line_of = |offset: usize| starts.partition_point(|&s| s <= offset) - 1;
        let mut placed: Vec<(usize, usize, usize)> = Vec::new();
        for item in items {
            let line = line_of(item.dash);
            let before = &text[starts[line]..item.dash];
            let after_previous = placed.last().is_none_or(|p| p.2 <= line);
            if !before.trim_matches([' ', '\t']).is_empty() || !after_previous {
                return Err(NotEditable::SharedLine { line: item.line });
            }
            let last = line_of(item.end.saturating_sub(1).max(item.dash));
            placed.push((line, item.dash - starts[line], last + 1));
        }
        Ok(Lines {
            text,
            starts,
            items: placed,
        })
    }

    /// Line `n` without its line break.
    fn line(&self, n: usize) -> &str {
        self.text[self.starts[n]..self.starts[n + 1]].trim_end_matches(['\n', '\r'])
    }

    /// The column of the `#` of a comment-only line, if it is one.
    fn comment_at(&self, n: usize) -> Option<usize> {
        let line = self.line(n);
        let body = line.trim_start_matches([' ', '\t']);
        body.starts_with('#').then(|| line.len() - body.len())
    }

    fn blank(&self, n: usize) -> bool {
        self.line(n).trim_matches([' ', '\t']).is_empty()
    }

    /// Each item's span, in lines, turned into bytes.
    fn spans(&self) -> Vec<Range<usize>> {
        let count = self.starts.len() - 1;
        // First lines: the `-` line, or the comment lines right above it.
        let mut firsts = Vec::with_capacity(self.items.len());
        let mut floor = 0;
        for &(dash, col, after) in &self.items {
            let mut first = dash;
            while first > floor && self.comment_at(first - 1).is_some_and(|c| c <= col) {
                first -= 1;
            }
            firsts.push(first);
            floor = after;
        }
        let mut out = Vec::with_capacity(self.items.len());
        for (i, &(_, col, after)) in self.items.iter().enumerate() {
            let limit = firsts.get(i + 1).copied().unwrap_or(count);
            let mut end = after.min(limit);
            while end < limit && self.comment_at(end).is_some_and(|c| c > col) {
                end += 1;
            }
            while end < limit && self.blank(end) {
                end += 1;
            }
            out.push(self.starts[firsts[i]]..self.starts[end]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text left when the items at `gone` are cut out.
    fn without(text: &str, gone: &[usize]) -> String {
        let spans = item_spans(text).expect("editable");
        let mut out = String::new();
        let mut at = 0;
        for (i, s) in spans.iter().enumerate() {
            if gone.contains(&i) {
                out.push_str(&text[at..s.start]);
                at = s.end;
            }
        }
        out.push_str(&text[at..]);
        out
    }

    const ROLES: &str = "\
# header, apart from the items

- rolearn: arn:aws:iam::111122223333:role/a   # a's own comment
  username: a
  groups:
    - x
    # - y, commented out inside a
# about b
- 'rolearn': \"arn:aws:iam::111122223333:role/b\"
  groups: [y]

- rolearn: arn:aws:iam::111122223333:role/c
  groups:
  - z
# trailing, after the last item
";

    #[test]
    fn each_item_spans_its_lines_its_comment_above_and_the_blank_lines_after() {
        let spans = item_spans(ROLES).unwrap();
        let parts: Vec<&str> = spans.iter().map(|s| &ROLES[s.clone()]).collect();
        assert_eq!(
            parts,
            [
                "- rolearn: arn:aws:iam::111122223333:role/a   # a's own comment\n  username: a\n  groups:\n    - x\n    # - y, commented out inside a\n",
                "# about b\n- 'rolearn': \"arn:aws:iam::111122223333:role/b\"\n  groups: [y]\n\n",
                "- rolearn: arn:aws:iam::111122223333:role/c\n  groups:\n  - z\n",
            ]
        );
    }

    #[test]
    fn a_byte_order_mark_is_refused_not_miscounted() {
        // Tokens do not count a BOM: every cut would land 3 bytes early.
        for text in [
            "\u{feff}- rolearn: a\n- rolearn: b\n",
            "- rolearn: a\n\u{feff}- rolearn: b\n",
        ] {
            assert_eq!(
                item_spans(text),
                Err(NotEditable::ByteOrderMark),
                "{text:?}"
            );
        }
    }

    #[test]
    fn cutting_the_first_middle_or_last_item_leaves_every_other_byte() {
        assert_eq!(
            without(ROLES, &[0]),
            ROLES.replace(
                "- rolearn: arn:aws:iam::111122223333:role/a   # a's own comment\n  username: a\n  groups:\n    - x\n    # - y, commented out inside a\n",
                ""
            )
        );
        assert_eq!(
            without(ROLES, &[1]),
            ROLES.replace(
                "# about b\n- 'rolearn': \"arn:aws:iam::111122223333:role/b\"\n  groups: [y]\n\n",
                ""
            )
        );
        let last = without(ROLES, &[2]);
        assert!(
            last.ends_with("  groups: [y]\n\n# trailing, after the last item\n"),
            "{last}"
        );
        assert!(
            last.starts_with("# header, apart from the items\n\n- rolearn"),
            "{last}"
        );
    }

    #[test]
    fn crlf_line_endings_stay_crlf() {
        let text = ROLES.replace('\n', "\r\n");
        let left = without(&text, &[1]);
        assert!(!left.contains("role/b"), "{left}");
        assert!(!left.replace("\r\n", "").contains('\n'), "{left:?}");
        assert_eq!(left, without(ROLES, &[1]).replace('\n', "\r\n"));
    }

    #[test]
    fn what_cannot_be_placed_safely_is_refused() {
        for (text, want) in [
            ("[{rolearn: a}, {rolearn: b}]\n", NotEditable::FlowSequence),
            ("rolearn: a\n", NotEditable::NotBlockSequence),
            (
                "- &base {rolearn: a, groups: [x]}\n- <<: *base\n  rolearn: b\n",
                NotEditable::SharedAnchor { line: 2 },
            ),
            ("- rolearn: a\n---\n- rolearn: b\n", NotEditable::Documents),
            ("- rolearn: a\r- rolearn: b\r", NotEditable::LineBreaks),
            ("- rolearn: a\u{85}- rolearn: b\n", NotEditable::LineBreaks),
            ("!!seq\n- rolearn: a\n", NotEditable::NotBlockSequence),
        ] {
            assert_eq!(item_spans(text), Err(want), "{text:?}");
        }
        assert!(matches!(
            item_spans("- rolearn: [a\n"),
            Err(NotEditable::Unplaced(_))
        ));
    }

    #[test]
    fn an_anchor_used_within_its_own_item_is_fine() {
        let text = "- rolearn: &r arn:aws:iam::1:role/a\n  username: *r\n- rolearn: b\n";
        assert_eq!(without(text, &[0]), "- rolearn: b\n");
        let started = "---\n- rolearn: a\n- rolearn: b\n";
        assert_eq!(without(started, &[1]), "---\n- rolearn: a\n");
    }
}
