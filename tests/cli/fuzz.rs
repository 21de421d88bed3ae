//! A mutation fuzzer for the reader and the rest of the offline pipeline.
//!
//! Seeds: `testdata/fuzz/` and every case's aws-auth. Each mutant goes through
//! reader -> mapper -> planner -> every renderer in-process; the test asserts no
//! panic and that a refused input's error names the file. Deterministic (a fixed
//! seed), so a failure reproduces; set `FUZZ_ITERATIONS` to run longer.

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use migrate_auth::Options;
use migrate_auth::{render, Format, Style};

use crate::testdata;

/// splitmix64: small, fast, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: &[&[u8]] = &[
    b":",
    b"- ",
    b" ",
    b"\n",
    b"\"",
    b"'",
    b"{",
    b"}",
    b"[",
    b"]",
    b"*",
    b"&a ",
    b"*a",
    b"|",
    b">",
    b"\t",
    b"#",
    b"\xff",
    b"\xc3",
    b"!!binary ",
    b"~",
    b"{{SessionName}}",
    b"system:masters",
    b"arn:aws:iam::111122223333:role/",
    b"  ",
    b"\r\n",
    b"? ",
    b"<<: ",
    b"%YAML 1.1\n",
    b"---\n",
    b"...\n",
    b"\\u0000",
    b"0x",
    b"yes",
];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let len = out.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(len + 1);
                let chunk = INTERESTING[rng.below(INTERESTING.len())];
                out.splice(i..i, chunk.iter().copied());
            }
            2 if len > 0 => {
                let i = rng.below(len);
                let j = (i + rng.below(64)).min(len);
                out.drain(i..j);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let j = (i + rng.below(128)).min(len);
                let copy = out[i..j].to_vec();
                let at = rng.below(len + 1);
                out.splice(at..at, copy);
            }
            4 => {
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() {
                    let i = rng.below(other.len());
                    let j = (i + rng.below(256)).min(other.len());
                    let at = rng.below(len + 1);
                    out.splice(at..at, other[i..j].iter().copied());
                }
            }
            5 if len > 0 => out.truncate(rng.below(len)),
            _ => {
                let i = rng.below(len + 1);
                let b = rng.below(256) as u8;
                out.insert(i, b);
            }
        }
    }
    out
}

/// The whole offline pipeline on `bytes`; returns the error text if refused.
fn pipeline(bytes: &[u8]) -> Option<String> {
    let options = Options {
        expand_sso: true,
        policies_from_rbac: false,
    };
    let plan = match migrate_auth::plan_aws_auth_only("fuzz.yaml", bytes, options) {
        Ok(p) => p,
        Err(e) => return Some(e.to_string()),
    };
    for format in [Format::Text, Format::Json, Format::Markdown] {
        for grouped in [true, false] {
            let style = Style {
                color: true,
                grouped,
            };
            assert!(!render(&plan, format, style).is_empty());
        }
    }
    None
}

fn seeds() -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = fs::read_dir(testdata().join("fuzz"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "json"))
        .collect();
    for case in fs::read_dir(testdata().join("cases")).unwrap() {
        let dir = case.unwrap().path();
        for name in ["aws-auth.yaml", "aws-auth.json"] {
            if dir.join(name).exists() {
                paths.push(dir.join(name));
            }
        }
    }
    paths.sort();
    paths.iter().map(|p| fs::read(p).unwrap()).collect()
}

#[test]
fn the_reader_never_panics_on_mutated_aws_auth() {
    let seeds = seeds();
    assert!(seeds.len() >= 30, "{} seeds", seeds.len());
    let iterations: usize = std::env::var("FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    let mut rng = Rng(0x5EED_A5A5_2026_1124);
    let (mut refused, mut planned) = (0, 0);
    for n in 0..iterations {
        let base = &seeds[n % seeds.len()];
        let input = mutate(&mut rng, &seeds, base);
        match catch_unwind(AssertUnwindSafe(|| pipeline(&input))) {
            Ok(Some(err)) => {
                assert!(
                    err.starts_with("fuzz.yaml"),
                    "error does not name the file: {err}"
                );
                refused += 1;
            }
            Ok(None) => planned += 1,
            Err(_) => {
                let path =
                    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-crash-{n}.yaml"));
                fs::write(&path, &input).unwrap();
                panic!(
                    "the pipeline panicked on mutant {n}; input saved to {}",
                    path.display()
                );
            }
        }
    }
    // Both outcomes must be exercised, or the mutations are too weak or too strong.
    assert!(
        refused > iterations / 20,
        "only {refused} refused of {iterations}"
    );
    assert!(
        planned > iterations / 20,
        "only {planned} planned of {iterations}"
    );
}

#[test]
fn every_seed_plans_or_fails_cleanly() {
    for (i, seed) in seeds().iter().enumerate() {
        if let Some(err) = pipeline(seed) {
            assert!(err.starts_with("fuzz.yaml:"), "seed {i}: {err}");
        }
    }
}
