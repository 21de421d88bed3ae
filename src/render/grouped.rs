//! Repeated findings, grouped for the human plans (text and Markdown): when
//! more than [`GROUP_ABOVE`] findings are alike, they are listed as one
//! [`Group`] at the place of the first, with their count, what they say, a
//! few principals and the flag that lists them one by one. Alike means:
//!
//! - infos: the same code (the group shows their messages, counted, or the
//!   first as an example when no two say the same);
//! - warnings: the same code and the same message, so that no warning's own
//!   words are hidden (offline `path-unverified` says the same, with the
//!   command that settles it, for every role of an account);
//! - errors: never; each one needs its own decision at its own line.
//!
//! Grouping is a view: the plan keeps every finding, and the JSON plan, the
//! summary and `--fail-on` see them all.

use std::collections::{HashMap, HashSet};

use crate::model::finding::{Code, Finding, Severity};

/// Findings of one code are grouped when there are more than this many.
pub(crate) const GROUP_ABOVE: usize = 3;

/// How many principals a group names as examples.
pub(crate) const EXAMPLES: usize = 3;

/// How many distinct messages a group shows.
pub(crate) const MESSAGES: usize = 3;

/// The flag that lists grouped findings one by one.
pub(crate) const UNGROUPED_FLAG: &str = "--findings-ungrouped";

/// A finding as the human plans list it: alone, or in a group.
pub(crate) enum Listed<'a> {
    One(&'a Finding),
    Group(Group<'a>),
}

/// More than [`GROUP_ABOVE`] findings of one code and severity.
pub(crate) struct Group<'a> {
    pub(crate) severity: Severity,
    pub(crate) code: Code,
    pub(crate) members: Vec<&'a Finding>,
}

/// What makes findings alike: the severity and code, and for a warning its
/// message; `None` for an error, which is never grouped.
fn alike(f: &Finding) -> Option<(Severity, Code, Option<&str>)> {
    match f.severity {
        Severity::Error => None,
        Severity::Warning => Some((f.severity, f.code, Some(&f.message))),
        Severity::Info => Some((f.severity, f.code, None)),
    }
}

/// `findings` in their order, more than [`GROUP_ABOVE`] alike ones as one
/// group where the first of them stands; or each on its own when `grouped`
/// is false.
pub(crate) fn listed(findings: &[Finding], grouped: bool) -> Vec<Listed<'_>> {
    if !grouped {
        return findings.iter().map(Listed::One).collect();
    }
    let mut groups: HashMap<_, Vec<&Finding>> = HashMap::new();
    for f in findings {
        if let Some(key) = alike(f) {
            groups.entry(key).or_default().push(f);
        }
    }
    groups.retain(|_, members| members.len() > GROUP_ABOVE);
    let grouped_keys: HashSet<_> = groups.keys().copied().collect();
    let mut out: Vec<Listed<'_>> = Vec::new();
    for f in findings {
        match alike(f) {
            // The first of a group brings the group; the others are in it.
            Some(key) if grouped_keys.contains(&key) => {
                if let Some(members) = groups.remove(&key) {
                    out.push(Listed::Group(Group {
                        severity: f.severity,
                        code: f.code,
                        members,
                    }));
                }
            }
            _ => out.push(Listed::One(f)),
        }
    }
    out
}

impl Group<'_> {
    /// "7 roles' IAM paths could not be checked; listed one by one with
    /// --findings-ungrouped" (our words only: nothing from input).
    pub(crate) fn headline(&self) -> String {
        let n = self.members.len();
        let what = match self.code {
            Code::Unmanaged => format!("{n} existing entries are not in aws-auth"),
            Code::PathUnverified => format!("{n} roles' IAM paths could not be checked"),
            Code::PathRestored => format!("{n} roles' IAM paths were restored from IAM"),
            Code::DefaultUsername => format!("{n} mappings have no username"),
            Code::GroupNotBound => format!("{n} groups are named by no RBAC binding"),
            Code::ReservedGroupDropped => format!("{n} reserved groups are dropped"),
            Code::DuplicateShadowed => format!("{n} mappings are shadowed by a later duplicate"),
            Code::DeadMapping => format!("{n} mappings never match today"),
            code => format!("{n} {code} findings"),
        };
        format!("{what}; listed one by one with {UNGROUPED_FLAG}")
    }

    /// The first [`EXAMPLES`] distinct principals the group names, and how
    /// many more it names.
    pub(crate) fn examples(&self) -> (Vec<&str>, usize) {
        let mut all: Vec<&str> = Vec::new();
        for p in self
            .members
            .iter()
            .filter_map(|f| f.principal_arn.as_deref())
        {
            if !all.contains(&p) {
                all.push(p);
            }
        }
        let more = all.len().saturating_sub(EXAMPLES);
        all.truncate(EXAMPLES);
        (all, more)
    }

    /// What the group's messages say: one message said by all; the first
    /// [`MESSAGES`] with how many findings say each; or, when no two say the
    /// same, the first as an example.
    pub(crate) fn messages(&self) -> Messages<'_> {
        let mut all: Vec<(&str, usize)> = Vec::new();
        for f in &self.members {
            match all.iter_mut().find(|(m, _)| *m == f.message) {
                Some((_, n)) => *n += 1,
                None => all.push((&f.message, 1)),
            }
        }
        match all.len() {
            1 => Messages::Same(all[0].0),
            n if n == self.members.len() => Messages::AllDiffer(all[0].0),
            n => {
                all.truncate(MESSAGES);
                Messages::Counted(all, n.saturating_sub(MESSAGES))
            }
        }
    }
}

/// What a group's messages say.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Messages<'a> {
    /// Every finding says this.
    Same(&'a str),
    /// Some say the same: the first few messages with their counts, and how
    /// many other messages there are.
    Counted(Vec<(&'a str, usize)>, usize),
    /// No two say the same: the first, as an example.
    AllDiffer(&'a str),
}

impl Messages<'_> {
    /// The lines to show, each through `escape`.
    pub(crate) fn lines(&self, escape: impl Fn(&str) -> String) -> Vec<String> {
        match self {
            Messages::Same(m) => vec![escape(m)],
            Messages::AllDiffer(m) => vec![format!("each says its own; the first: {}", escape(m))],
            Messages::Counted(list, more) => {
                let mut out: Vec<String> = list
                    .iter()
                    .map(|(m, n)| format!("({n}) {}", escape(m)))
                    .collect();
                if *more > 0 {
                    out.push(format!("... and {more} other messages"));
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(code: Code, principal: &str, message: &str) -> Finding {
        Finding::new(code, message).principal(principal)
    }

    #[test]
    fn more_than_three_alike_are_one_group_where_the_first_stood() {
        let mut f = vec![finding(Code::DeadMapping, "d", "dead")];
        for i in 0..4 {
            f.push(finding(Code::PathUnverified, &format!("r{i}"), "path"));
        }
        f.push(finding(Code::Unmanaged, "u", "left"));
        let listed = listed(&f, true);
        assert_eq!(listed.len(), 3);
        let Listed::Group(g) = &listed[1] else {
            panic!("the second is the group");
        };
        assert_eq!((g.code, g.members.len()), (Code::PathUnverified, 4));
        assert_eq!(g.examples(), (vec!["r0", "r1", "r2"], 1));
        assert_eq!(g.messages(), Messages::Same("path"));
        assert!(g.headline().starts_with("4 roles' IAM paths"));
        assert_eq!(super::listed(&f, false).len(), 6);
    }

    #[test]
    fn three_alike_differing_warnings_and_errors_stay_alone() {
        let three: Vec<Finding> = (0..3)
            .map(|i| finding(Code::DeadMapping, &format!("p{i}"), "m"))
            .collect();
        assert!(listed(&three, true)
            .iter()
            .all(|l| matches!(l, Listed::One(_))));
        let differ: Vec<Finding> = (0..5)
            .map(|i| finding(Code::DeadMapping, "p", &format!("m{i}")))
            .collect();
        assert_eq!(listed(&differ, true).len(), 5, "warnings that differ");
        let errors: Vec<Finding> = (0..5)
            .map(|i| finding(Code::PrincipalNotFound, &format!("p{i}"), "m"))
            .collect();
        assert_eq!(listed(&errors, true).len(), 5);
    }

    #[test]
    fn infos_messages_are_one_counted_or_an_example() {
        let group = |messages: &[&str]| -> Vec<String> {
            let f: Vec<Finding> = messages
                .iter()
                .map(|m| finding(Code::PathRestored, "p", m))
                .collect();
            let Listed::Group(g) = listed(&f, true).remove(0) else {
                panic!("infos of a code are grouped");
            };
            assert_eq!(g.examples(), (vec!["p"], 0));
            g.messages().lines(|m| m.to_uppercase())
        };
        assert_eq!(group(&["a", "a", "a", "a"]), ["A"]);
        assert_eq!(
            group(&["a", "b", "c", "d"]),
            ["each says its own; the first: A"]
        );
        assert_eq!(
            group(&["a", "b", "a", "c", "d", "e"]),
            ["(2) A", "(1) B", "(1) C", "... and 2 other messages"]
        );
    }
}
