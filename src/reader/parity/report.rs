//! What a parity run found: every diverging case written as JSON under the
//! target directory, counts per class and per aspect, and the summary the
//! test fails with (the first cases in full, control characters escaped).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use super::generate::Case;
use super::oracle::Reading;

/// How many diverging cases the summary shows in full.
const SHOWN: usize = 5;

/// One case where the tool and the authenticator disagree.
pub(super) struct Divergence<'a> {
    pub index: u64,
    pub case: &'a Case,
    pub authenticator: &'a Reading,
    pub tool: &'a Reading,
    pub tool_findings: Vec<String>,
    pub differences: Vec<String>,
}

/// The running tally of a parity run.
pub(super) struct Tally {
    seed: u64,
    dir: PathBuf,
    /// How to run the same cases again.
    again: String,
    cases: u64,
    pub nondeterministic: u64,
    /// Cases where Go panicked inside a decode (the key counts as failed).
    pub oracle_panics: u64,
    per_class: BTreeMap<String, (u64, u64)>,
    per_aspect: BTreeMap<String, u64>,
    diverged: u64,
    shown: Vec<String>,
    pub oracle_time: Duration,
    pub tool_time: Duration,
}

impl Tally {
    /// A tally writing its cases into `dir` (emptied first).
    pub(super) fn new(seed: u64, dir: PathBuf, again: String) -> Tally {
        let _ = std::fs::remove_dir_all(&dir);
        Tally {
            seed,
            dir,
            again,
            cases: 0,
            nondeterministic: 0,
            oracle_panics: 0,
            per_class: BTreeMap::new(),
            per_aspect: BTreeMap::new(),
            diverged: 0,
            shown: Vec::new(),
            oracle_time: Duration::ZERO,
            tool_time: Duration::ZERO,
        }
    }

    /// Counts a case of `class`.
    pub(super) fn count(&mut self, class: &str) {
        self.cases += 1;
        self.per_class.entry(class.to_string()).or_default().0 += 1;
    }

    /// Records a divergence: its file, its counts, and its text if among the first.
    pub(super) fn diverged(&mut self, d: &Divergence) {
        self.diverged += 1;
        self.per_class.entry(d.case.class.clone()).or_default().1 += 1;
        let mut aspects: Vec<&str> = d
            .differences
            .iter()
            .map(|l| l.split(':').next().unwrap_or(l))
            .collect();
        aspects.dedup();
        for a in aspects {
            *self.per_aspect.entry(a.to_string()).or_default() += 1;
        }
        self.write(d);
        if self.shown.len() < SHOWN {
            self.shown.push(full(d));
        }
    }

    fn write(&self, d: &Divergence) {
        let data: serde_json::Map<String, serde_json::Value> = d
            .case
            .data
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let doc = json!({
            "seed": self.seed,
            "index": d.index,
            "class": d.case.class,
            "input": {"data": data},
            "authenticator": d.authenticator,
            "tool": d.tool,
            "tool_findings": d.tool_findings,
            "differences": d.differences,
        });
        let _ = std::fs::create_dir_all(&self.dir);
        let path = self
            .dir
            .join(format!("{:07}-{}.json", d.index, d.case.class));
        let text = serde_json::to_string_pretty(&doc).expect("a divergence prints as JSON");
        std::fs::write(&path, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// One line on the run's size and speed.
    pub(super) fn timings(&self) -> String {
        format!(
            "{} cases (seed {:#x}): oracle {:.2?}, tool {:.2?}; {} nondeterministic in Go skipped; {} with a Go panic",
            self.cases,
            self.seed,
            self.oracle_time,
            self.tool_time,
            self.nondeterministic,
            self.oracle_panics
        )
    }

    /// The failure message, if any case diverged.
    pub(super) fn summary(&self) -> Option<String> {
        if self.diverged == 0 {
            return None;
        }
        let mut s = format!(
            "the reader disagrees with aws-iam-authenticator on {} of {} cases\n{}\nevery diverging case is in {}\n(run them again with {}, or replay them with MIGRATE_AUTH_PARITY_REPLAY=<that directory> and --ignored)\n\nby class (diverging / generated):\n",
            self.diverged,
            self.cases,
            self.timings(),
            self.dir.display(),
            self.again
        );
        for (class, (all, bad)) in &self.per_class {
            let _ = writeln!(s, "  {class:<28} {bad:>6} / {all}");
        }
        s.push_str("\nby aspect (cases):\n");
        for (aspect, n) in &self.per_aspect {
            let _ = writeln!(s, "  {aspect:<28} {n:>6}");
        }
        let _ = write!(
            s,
            "\nthe first {}:\n{}",
            self.shown.len(),
            self.shown.join("\n")
        );
        Some(s)
    }
}

/// A divergence in full, readable in a terminal.
fn full(d: &Divergence) -> String {
    let mut s = format!("--- case {} ({})\ninput:\n", d.index, d.case.class);
    for (key, value) in &d.case.data {
        let _ = writeln!(s, "  {key}:");
        for line in value.split('\n') {
            let _ = writeln!(s, "    | {}", readable(line));
        }
    }
    let print = |r: &Reading| readable(&serde_json::to_string(r).expect("a reading prints"));
    let _ = writeln!(s, "authenticator: {}", print(d.authenticator));
    let _ = writeln!(s, "tool:          {}", print(d.tool));
    s.push_str("differences:\n");
    for line in &d.differences {
        let _ = writeln!(s, "  - {}", readable(line));
    }
    s
}

/// `text` with control, format and look-alike characters written as `\u{..}`.
pub(super) fn readable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let odd = c.is_control()
            || matches!(
                c,
                '\u{a0}' | '\u{ad}' | '\u{17f}' | '\u{212a}' | '\u{3000}' | '\u{feff}'
            )
            || ('\u{2000}'..='\u{206f}').contains(&c)
            || ('\u{fff0}'..='\u{ffff}').contains(&c);
        if c == '\t' {
            out.push_str("\\t");
        } else if odd {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}
