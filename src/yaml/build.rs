//! Builds [`Node`] trees from the parser's events the way go-yaml v2 decodes
//! into Go values: anchors take effect where they are written, aliases copy
//! their anchor's value, merge keys (`<<`) are applied, scalars are resolved,
//! and a collection as a mapping key is an error.
//!
//! Hard limits keep hostile input bounded: nesting depth, and what alias
//! expansion may add, in nodes and in bytes of text (a 900 KB scalar copied a
//! thousand times is refused, not allocated). go-yaml's own "excessive
//! aliasing" rule is applied as well, so what it refuses is refused here.

use std::collections::HashMap;

use libyaml_safer::{Event, EventData, MappingStyle, Mark, Parser, ScalarStyle, SequenceStyle};

use super::resolve::{self, Resolved};
use super::rewrite::{ends_open, Rewrite};
use super::{Node, Scalar, Style, Value, YamlError};

/// How many nodes and bytes of text the copies anchors keep may add up to
/// (nested anchors copy the same nodes once per level).
pub(super) const MAX_ANCHOR_NODES: usize = 1_000_000;
pub(super) const MAX_ANCHOR_BYTES: usize = 16 * 1024 * 1024;
/// How many nodes alias expansion may add in one parse.
pub(super) const MAX_ALIAS_NODES: usize = 100_000;
/// How many bytes of text alias expansion may add in one parse.
pub(super) const MAX_ALIAS_BYTES: usize = 4 * 1024 * 1024;
/// How deep collections may nest.
pub(super) const MAX_DEPTH: usize = 128;

/// How much a finished node weighs: go-yaml's decode steps, and bytes of text.
#[derive(Debug, Clone, Copy, Default)]
struct Weight {
    steps: usize,
    bytes: usize,
}

impl Weight {
    fn add(&mut self, other: Weight) {
        self.steps += other.steps;
        self.bytes += other.bytes;
    }
}

enum Frame {
    Seq {
        anchor: Option<String>,
        start: (usize, usize),
        items: Vec<Node>,
        weight: Weight,
    },
    Map {
        anchor: Option<String>,
        start: (usize, usize),
        entries: Vec<(Node, Node)>,
        key: Option<(Node, bool)>,
        weight: Weight,
    },
}

/// An anchor: being built (an alias to it is recursive), or its value.
enum Anchor {
    Open(usize),
    Done(Node, Weight),
}

pub(super) struct Builder<'t> {
    text: &'t str,
    stack: Vec<Frame>,
    anchors: HashMap<String, Anchor>,
    /// Nodes and bytes alias expansion added.
    alias_nodes: usize,
    alias_bytes: usize,
    /// Nodes and bytes the anchors' copies hold.
    anchor_nodes: usize,
    anchor_bytes: usize,
    /// go-yaml's counters: decode steps, and those inside aliases.
    steps: usize,
    alias_steps: usize,
    docs: Vec<Node>,
    /// Go on after go-yaml's decode-stage errors, keeping the first one.
    lenient: bool,
    decode_error: Option<DecodeError>,
    /// The line where the last event ended (where a parser panic happened).
    last_line: usize,
    /// Byte offsets of the text's lines, computed when first needed.
    line_starts: Vec<usize>,
    /// Parsing the first document only, and whether it started without `---`.
    first_only: bool,
    implicit_document: bool,
    /// The document go-yaml v2 would stop at (see `empty_flow_key`).
    stopped: Option<Node>,
    /// Flow (`[...]`, `{...}`) or block, for each open collection.
    flow_stack: Vec<bool>,
    /// Where the first document ended (the byte offset of what ended it).
    pub(super) first_end: Option<usize>,
}

/// go-yaml's first decode-stage error, and the index of the top-level list
/// item it was decoding (go-yaml has filled the items before it).
pub(super) struct DecodeError {
    pub(super) error: YamlError,
    pub(super) item: Option<usize>,
}

/// 1-based (line, column) of a mark.
fn pos(m: Mark) -> (usize, usize) {
    (m.line as usize + 1, m.column as usize + 1)
}

impl<'t> Builder<'t> {
    pub(super) fn new(text: &'t str) -> Builder<'t> {
        Builder {
            text,
            stack: Vec::new(),
            anchors: HashMap::new(),
            alias_nodes: 0,
            alias_bytes: 0,
            anchor_nodes: 0,
            anchor_bytes: 0,
            steps: 0,
            alias_steps: 0,
            docs: Vec::new(),
            lenient: false,
            decode_error: None,
            first_end: None,
            flow_stack: Vec::new(),
            last_line: 1,
            line_starts: Vec::new(),
            first_only: false,
            implicit_document: true,
            stopped: None,
        }
    }

    /// Parses the stream: every document, or only the first (as go-yaml's
    /// `Unmarshal` does, which reads no further than that document's end).
    pub(super) fn run(mut self, first_only: bool) -> Result<Vec<Node>, YamlError> {
        self.parse(first_only)?;
        Ok(self.docs)
    }

    /// The first document, going on past go-yaml's decode-stage errors
    /// and returning the first one with it.
    pub(super) fn run_lenient(mut self) -> Result<(Vec<Node>, Option<DecodeError>), YamlError> {
        self.lenient = true;
        self.parse(true)?;
        Ok((self.docs, self.decode_error))
    }

    /// Where the first document of the text ends, if it parses.
    pub(super) fn first_document_end(mut self) -> Option<usize> {
        self.parse(true).ok()?;
        self.first_end
    }

    fn parse(&mut self, first_only: bool) -> Result<(), YamlError> {
        let rewrite = Rewrite::new(self.text);
        let mut input = rewrite.input.as_bytes();
        let mut parser = Parser::new();
        parser.set_input_string(&mut input);
        self.first_only = first_only;
        loop {
            let event = guarded(|| parser.parse())
                .ok_or_else(|| self.gave_up())?
                .map_err(|e| self.syntax(&e))?;
            let at = rewrite.original(event.start_mark.index as usize);
            self.last_line = pos(event.end_mark).0;
            let flow = match self.event(event, &rewrite) {
                Ok(flow) => flow,
                Err(e) => match self.stopped.take() {
                    Some(doc) => {
                        self.docs.push(doc);
                        self.first_end = Some(at);
                        return Ok(());
                    }
                    None => return Err(e),
                },
            };
            match flow {
                Flow::Go => {}
                Flow::DocumentEnd if first_only => {
                    self.first_end = Some(at);
                    break;
                }
                Flow::DocumentEnd => self.anchors.clear(),
                Flow::StreamEnd => break,
            }
        }
        Ok(())
    }

    fn event(&mut self, event: Event, rewrite: &Rewrite) -> Result<Flow, YamlError> {
        let at = pos(event.start_mark);
        let end = rewrite.original(event.end_mark.index as usize);
        match event.data {
            EventData::StreamEnd => return Ok(Flow::StreamEnd),
            EventData::DocumentEnd { .. } => return Ok(Flow::DocumentEnd),
            EventData::DocumentStart {
                implicit,
                version_directive,
                ..
            } => {
                // go-yaml v2 reads YAML 1.1 only.
                if version_directive.is_some_and(|v| (v.major, v.minor) != (1, 1)) {
                    return Err(YamlError::Syntax {
                        line: at.0,
                        col: at.1,
                        message: "found incompatible YAML document".into(),
                    });
                }
                self.implicit_document = implicit;
                self.count(1, false, at.0)?;
            }
            EventData::StreamStart { .. } => {}
            EventData::Scalar {
                anchor,
                tag,
                value,
                plain_implicit,
                style,
                ..
            } => {
                let start = rewrite.original(event.start_mark.index as usize);
                let scalar = ScalarEvent {
                    anchor,
                    tag,
                    value,
                    implicit: plain_implicit,
                    style,
                    at,
                    span: (start, end),
                };
                self.scalar_event(scalar, rewrite)?;
            }
            EventData::SequenceStart { anchor, style, .. } => {
                // go-yaml counts a collection before its children.
                self.count(1, false, at.0)?;
                self.flow_stack.push(style == SequenceStyle::Flow);
                self.open_anchor(anchor.as_deref());
                self.push(Frame::Seq {
                    anchor,
                    start: at,
                    items: Vec::new(),
                    weight: Weight::default(),
                })?;
            }
            EventData::MappingStart { anchor, style, .. } => {
                self.count(1, false, at.0)?;
                self.flow_stack.push(style == MappingStyle::Flow);
                self.open_anchor(anchor.as_deref());
                self.push(Frame::Map {
                    anchor,
                    start: at,
                    entries: Vec::new(),
                    key: None,
                    weight: Weight::default(),
                })?;
            }
            EventData::SequenceEnd | EventData::MappingEnd => {
                let flow = self.flow_stack.pop().ok_or_else(|| unbalanced(at))?;
                self.end_collection(flow)?;
            }
            EventData::Alias { anchor } => self.alias(&anchor, at.0)?,
        }
        Ok(Flow::Go)
    }

    /// A scalar event: checked for what go-yaml v2 scans differently,
    /// resolved, anchored and placed.
    fn scalar_event(&mut self, e: ScalarEvent, rewrite: &Rewrite) -> Result<(), YamlError> {
        let (line, col) = e.at;
        let refuse = |message: &str| YamlError::Syntax {
            line,
            col,
            message: message.to_string(),
        };
        if e.style == ScalarStyle::DoubleQuoted && escapes_slash(self.raw(e.span.0, e.span.1)) {
            return Err(refuse(
                "found unknown escape character `\\/`, while parsing a quoted scalar",
            ));
        }
        let in_flow = self.flow_stack.contains(&true);
        if e.style == ScalarStyle::Plain
            && in_flow
            && e.value.char_indices().any(|(i, c)| i > 0 && c == '?')
        {
            // go-yaml v2 ends a plain scalar at `?` in flow context (libyaml
            // 0.2 does not); what follows is a key where none may be.
            return Err(refuse("did not find expected ',' or the collection's end (a `?` inside a plain scalar in flow context)"));
        }
        let value = rewrite.restore(self.unpad(e.value, e.style, e.at, e.span.1));
        let node = self.scalar(value, e.tag.as_deref(), e.implicit, e.style, e.at)?;
        let weight = Weight {
            steps: 1,
            bytes: scalar_bytes(&node),
        };
        if let Some(a) = e.anchor {
            self.charge_anchor(weight, line)?;
            self.anchors.insert(a, Anchor::Done(node.clone(), weight));
        }
        self.place(node, weight)
    }

    /// A scalar node, resolved. A `|` block is placed at its first
    /// non-empty content line and column, so its lines map onto the file's.
    fn scalar(
        &mut self,
        value: String,
        tag: Option<&str>,
        implicit: bool,
        style: ScalarStyle,
        at: (usize, usize),
    ) -> Result<Node, YamlError> {
        let style = match style {
            ScalarStyle::SingleQuoted => Style::SingleQuoted,
            ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
            ScalarStyle::Literal => Style::Literal,
            ScalarStyle::Folded => Style::Folded,
            _ => Style::Plain,
        };
        let merge = resolve::is_merge_key(tag, implicit, &value);
        let (resolved, decoded) = if merge {
            (Resolved::Merge, None)
        } else {
            match resolve::resolve(tag, implicit, &value) {
                Ok(r) => r,
                Err(message) => {
                    self.decode_failed(YamlError::Syntax {
                        line: at.0,
                        col: at.1,
                        message,
                    })?;
                    (Resolved::Null, None)
                }
            }
        };
        let (line, col) = if style == Style::Literal {
            self.block_start(at)
        } else {
            at
        };
        Ok(Node {
            value: Value::Scalar(Scalar {
                text: decoded.unwrap_or(value),
                style,
                resolved,
            }),
            line,
            col,
        })
    }

    /// The text between two byte offsets, as far as the text goes.
    fn raw(&self, start: usize, end: usize) -> &str {
        let end = end.min(self.text.len());
        self.text.get(start.min(end)..end).unwrap_or_default()
    }

    /// The value C libyaml gives a block scalar that runs to the end of a
    /// text with no final line break: without the break `run` added, when
    /// the last line is part of the block's content.
    fn unpad(
        &mut self,
        mut value: String,
        style: ScalarStyle,
        header: (usize, usize),
        end: usize,
    ) -> String {
        let block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
        if !block || !ends_open(self.text) || end < self.text.len() {
            return value;
        }
        let last = self.text.rsplit(['\n', '\r']).next().unwrap_or_default();
        let spaces = last.len() - last.trim_start_matches(' ').len();
        let indent = self.block_start(header).1 - 1;
        // Only then did the block read that line, where the break was missing.
        if spaces >= indent && last.len() > indent && value.ends_with('\n') {
            value.pop();
        }
        value
    }

    fn open_anchor(&mut self, anchor: Option<&str>) {
        if let Some(a) = anchor {
            self.anchors
                .insert(a.to_string(), Anchor::Open(self.stack.len()));
        }
    }

    fn push(&mut self, frame: Frame) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            let line = match &frame {
                Frame::Seq { start, .. } | Frame::Map { start, .. } => start.0,
            };
            return Err(YamlError::TooDeep {
                line,
                limit: MAX_DEPTH,
            });
        }
        self.stack.push(frame);
        Ok(())
    }

    /// Closes the innermost collection and places it.
    fn end_collection(&mut self, flow: bool) -> Result<(), YamlError> {
        let depth = self.stack.len().saturating_sub(1);
        let (node, anchor, mut weight) = match self.stack.pop() {
            Some(Frame::Seq {
                anchor,
                start,
                items,
                weight,
            }) => (node_at(Value::Seq(items), start), anchor, weight),
            Some(Frame::Map {
                anchor,
                start,
                entries,
                weight,
                ..
            }) => (node_at(Value::Map(entries), start), anchor, weight),
            None => return Err(unbalanced((1, 1))),
        };
        weight.steps += 1;
        if let Some(a) = anchor {
            // Only if no inner node took the name meanwhile.
            if matches!(self.anchors.get(&a), Some(Anchor::Open(d)) if *d == depth) {
                self.charge_anchor(weight, node.line)?;
                self.anchors.insert(a, Anchor::Done(node.clone(), weight));
            }
        }
        if flow && is_empty(&node) && self.awaiting_block_key() && !self.explicit_key(&node) {
            return self.empty_flow_key(node);
        }
        self.place_counted(node, weight)
    }

    /// True when the innermost collection is a block mapping waiting for a key.
    fn awaiting_block_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
            && self.flow_stack.last() == Some(&false)
    }

    /// True when `?` marks the key at `node` as explicit.
    fn explicit_key(&mut self, node: &Node) -> bool {
        let before: String = self.line(node.line).chars().take(node.col - 1).collect();
        before.trim_end().ends_with('?')
    }

    /// Line `n` (1-based) of the text, without its line break; "" past the end.
    fn line(&mut self, n: usize) -> &str {
        if self.line_starts.is_empty() {
            self.line_starts = std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect();
        }
        let Some(&start) = n.checked_sub(1).and_then(|i| self.line_starts.get(i)) else {
            return "";
        };
        let rest = &self.text[start..];
        rest.split('\n')
            .next()
            .map_or(rest, |l| l.trim_end_matches('\r'))
    }

    /// The first non-empty content line of a block scalar whose indicator
    /// (`|` or `>`) is at `header` (line, column), and the column its content
    /// starts at: with an explicit indentation indicator (`|2`), the enclosing
    /// collection's indentation plus it, as libyaml counts; else the first
    /// content line's indentation.
    fn block_start(&mut self, header: (usize, usize)) -> (usize, usize) {
        let head = self.line(header.0).to_string();
        let explicit = head
            .chars()
            .skip(header.1)
            .take_while(|c| matches!(c, '1'..='9' | '+' | '-'))
            .find_map(|c| c.to_digit(10));
        let enclosing = match self.stack.last() {
            Some(Frame::Seq { start, .. } | Frame::Map { start, .. }) => start.1 - 1,
            None => 0,
        };
        let lines = self.line_starts.len();
        for n in header.0 + 1..=lines {
            let content = self.line(n);
            if !content.trim_start_matches(' ').is_empty() {
                let indent = content.len() - content.trim_start_matches(' ').len();
                let col = explicit.map_or(indent, |d| enclosing + d as usize);
                return (n, col + 1);
            }
        }
        (header.0 + 1, 1)
    }

    /// go-yaml v2 forgets that an empty flow collection (`[]`, `{}`) may
    /// start an implicit key (it drops the key's index when the collection
    /// closes). At the start of an implicit first document the collection
    /// is then the whole document and what follows is never read; anywhere
    /// else in block context the `:` is out of place.
    fn empty_flow_key(&mut self, node: Node) -> Result<(), YamlError> {
        let first_key =
            matches!(self.stack.as_slice(), [Frame::Map { entries, .. }] if entries.is_empty());
        let error = YamlError::Syntax {
            line: node.line,
            col: node.col,
            message: "mapping values are not allowed in this context".into(),
        };
        if self.first_only && self.implicit_document && first_key {
            self.stopped = Some(node);
        }
        Err(error)
    }

    /// Places a copy of the anchored node, within the limits.
    fn alias(&mut self, name: &str, line: usize) -> Result<(), YamlError> {
        let (node, weight) = match self.anchors.get(name) {
            Some(Anchor::Done(node, weight)) => (node.clone(), *weight),
            Some(Anchor::Open(_)) => {
                self.decode_failed(YamlError::RecursiveAlias { line })?;
                return self.place_counted(
                    node_at(Value::Seq(Vec::new()), (line, 1)),
                    Weight::default(),
                );
            }
            None => {
                return Err(YamlError::Syntax {
                    line,
                    col: 1,
                    message: format!("unknown anchor '{name}' referenced"),
                })
            }
        };
        self.charge(weight, line)?;
        // go-yaml counts the alias itself, then what it stands for.
        self.count(1, false, line)?;
        self.count(weight.steps, true, line)?;
        let placed = Weight {
            steps: weight.steps + 1,
            bytes: weight.bytes,
        };
        self.place_counted(node, placed)
    }

    /// Charges the copy an anchor keeps of its value: nested anchors copy
    /// the same text once per level, so they have a budget of their own.
    fn charge_anchor(&mut self, weight: Weight, line: usize) -> Result<(), YamlError> {
        self.anchor_nodes += weight.steps;
        self.anchor_bytes += weight.bytes;
        if self.anchor_nodes > MAX_ANCHOR_NODES || self.anchor_bytes > MAX_ANCHOR_BYTES {
            return Err(YamlError::AliasBomb {
                line,
                nodes: MAX_ANCHOR_NODES,
                bytes: MAX_ANCHOR_BYTES,
            });
        }
        Ok(())
    }

    /// Charges the copy an alias places to the alias limits.
    fn charge(&mut self, weight: Weight, line: usize) -> Result<(), YamlError> {
        self.alias_nodes += weight.steps;
        self.alias_bytes += weight.bytes;
        if self.alias_nodes > MAX_ALIAS_NODES || self.alias_bytes > MAX_ALIAS_BYTES {
            return Err(YamlError::AliasBomb {
                line,
                nodes: MAX_ALIAS_NODES,
                bytes: MAX_ALIAS_BYTES,
            });
        }
        Ok(())
    }

    /// Counts go-yaml decode steps and applies its "excessive aliasing" rule.
    fn count(&mut self, steps: usize, in_alias: bool, line: usize) -> Result<(), YamlError> {
        self.steps += steps;
        if in_alias {
            self.alias_steps += steps;
        }
        let (a, d) = (self.alias_steps, self.steps);
        if a > 100 && d > 1000 && (a as f64) / (d as f64) > allowed_alias_ratio(d) {
            return self.decode_failed(YamlError::Syntax {
                line,
                col: 1,
                message: "document contains excessive aliasing".into(),
            });
        }
        Ok(())
    }

    /// Places a complete node into its parent (or as a document).
    fn place(&mut self, node: Node, weight: Weight) -> Result<(), YamlError> {
        // go-yaml never decodes a merge key itself (a `<<` value it does).
        let as_key = matches!(self.stack.last(), Some(Frame::Map { key: None, .. }));
        let merge = node.scalar().is_some_and(|s| s.resolved == Resolved::Merge);
        if !(as_key && merge) {
            self.count(1, false, node.line)?;
        }
        self.place_counted(node, weight)
    }

    /// An error go-yaml raises while decoding (after the whole document
    /// parsed): fatal, or, when lenient, noted (the first one) and passed over.
    fn decode_failed(&mut self, error: YamlError) -> Result<(), YamlError> {
        if !self.lenient {
            return Err(error);
        }
        // In lenient mode (`mapAccounts`, a list of strings), go-yaml never
        // decodes inside an item that is a collection: it refuses the item.
        if self.stack.len() >= 2 {
            return Ok(());
        }
        if self.decode_error.is_none() {
            let item = match self.stack.first() {
                Some(Frame::Seq { items, .. }) => Some(items.len()),
                _ => None,
            };
            self.decode_error = Some(DecodeError { error, item });
        }
        Ok(())
    }

    fn place_counted(&mut self, node: Node, weight: Weight) -> Result<(), YamlError> {
        let outcome = self.attach(node, weight);
        match outcome {
            Err(e) => self.decode_failed(e),
            Ok(()) => Ok(()),
        }
    }

    /// Puts a node into the innermost collection: a mapping key is checked,
    /// and a merge applied.
    fn attach(&mut self, node: Node, weight: Weight) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq {
                items, weight: w, ..
            }) => {
                w.add(weight);
                items.push(node);
            }
            Some(Frame::Map {
                entries,
                key,
                weight: w,
                ..
            }) => match key.take() {
                None => {
                    let merge = node.scalar().is_some_and(|s| s.resolved == Resolved::Merge);
                    if !merge {
                        w.add(weight);
                        check_key(&node)?;
                    }
                    *key = Some((node, merge));
                }
                Some((k, true)) => {
                    w.add(weight);
                    merge_into(entries, &k, node)?;
                }
                Some((k, false)) => {
                    w.add(weight);
                    entries.push((k, node));
                }
            },
        }
        Ok(())
    }

    /// The error for a panic inside libyaml-safer (caught, see `guarded`).
    fn gave_up(&self) -> YamlError {
        YamlError::Syntax {
            line: self.last_line,
            col: 1,
            message:
                "the YAML parser gave up after this line (an input libyaml-safer cannot handle)"
                    .into(),
        }
    }

    /// A parser error, with the position of the problem.
    fn syntax(&self, e: &libyaml_safer::Error) -> YamlError {
        if e.kind() == libyaml_safer::ErrorKind::Reader {
            let (line, col) = self.position_of_reader_error();
            return YamlError::ControlCharacter { line, col };
        }
        let (line, col) = e.problem_mark().map_or((1, 1), pos);
        let message = match e.context() {
            Some(context) => format!("{}, {context}", e.problem()),
            None => e.problem().to_string(),
        };
        YamlError::Syntax { line, col, message }
    }

    /// The reader reports no mark: find the first character go-yaml refuses.
    fn position_of_reader_error(&self) -> (usize, usize) {
        let bad = self
            .text
            .char_indices()
            .find(|&(_, c)| !super::readable(c))
            .map_or(self.text.len(), |(i, _)| i);
        let before = &self.text[..bad];
        let line = 1 + before.matches('\n').count();
        let col = 1 + before.rsplit('\n').next().map_or(0, |l| l.chars().count());
        (line, col)
    }
}

/// Runs `f`, turning a panic into `None`, quietly: libyaml-safer 0.3 panics
/// on some malformed input (a tag followed by `,` in flow context) where C
/// libyaml and go-yaml report an error.
pub(super) fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    use std::cell::Cell;
    use std::sync::Once;
    thread_local! {
        static QUIET: Cell<bool> = const { Cell::new(false) };
    }
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok();
    QUIET.with(|q| q.set(false));
    result
}

/// The parser ended a collection it never began (its events are balanced,
/// so this is a broken invariant, reported rather than ignored).
fn unbalanced(at: (usize, usize)) -> YamlError {
    YamlError::Syntax {
        line: at.0,
        col: at.1,
        message: "a collection ends that never began (a YAML parser error)".into(),
    }
}

/// A scalar event's parts, with its position and source span (byte offsets).
struct ScalarEvent {
    anchor: Option<String>,
    tag: Option<String>,
    value: String,
    implicit: bool,
    style: ScalarStyle,
    at: (usize, usize),
    span: (usize, usize),
}

enum Flow {
    Go,
    DocumentEnd,
    StreamEnd,
}

fn node_at(value: Value, start: (usize, usize)) -> Node {
    Node {
        value,
        line: start.0,
        col: start.1,
    }
}

fn scalar_bytes(node: &Node) -> usize {
    node.scalar().map_or(0, |s| s.text.len())
}

/// True when a double-quoted scalar's source uses the `\/` escape, which
/// go-yaml v2 does not know (libyaml 0.2 added it).
fn escapes_slash(raw: &str) -> bool {
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.next() == Some('/') {
            return true;
        }
    }
    false
}

fn is_empty(node: &Node) -> bool {
    match &node.value {
        Value::Seq(items) => items.is_empty(),
        Value::Map(entries) => entries.is_empty(),
        Value::Scalar(_) => false,
    }
}

/// go-yaml refuses a collection as a mapping key.
fn check_key(key: &Node) -> Result<(), YamlError> {
    if key.scalar().is_none() {
        return Err(YamlError::Syntax {
            line: key.line,
            col: key.col,
            message: format!("invalid map key: {}", key.kind_name()),
        });
    }
    Ok(())
}

/// Applies `<<: value` at this point of a mapping, as go-yaml v2 does: the
/// merged keys are set now (later keys override them, and they override
/// earlier ones); in a list of mappings, earlier ones take precedence.
fn merge_into(entries: &mut Vec<(Node, Node)>, key: &Node, value: Node) -> Result<(), YamlError> {
    let want_map = || YamlError::Syntax {
        line: key.line,
        col: key.col,
        message: "map merge requires map or sequence of maps as the value".into(),
    };
    match value.value {
        Value::Map(merged) => entries.extend(merged),
        Value::Seq(items) => {
            if items.iter().any(|i| i.as_map().is_none()) {
                return Err(want_map());
            }
            for item in items.into_iter().rev() {
                if let Value::Map(merged) = item.value {
                    entries.extend(merged);
                }
            }
        }
        Value::Scalar(_) => return Err(want_map()),
    }
    Ok(())
}

/// go-yaml's allowed share of decode steps that come from aliases.
fn allowed_alias_ratio(steps: usize) -> f64 {
    const LOW: usize = 400_000;
    const HIGH: usize = 4_000_000;
    if steps <= LOW {
        0.99
    } else if steps >= HIGH {
        0.10
    } else {
        0.99 - 0.89 * ((steps - LOW) as f64 / (HIGH - LOW) as f64)
    }
}
