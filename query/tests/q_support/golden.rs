//! The oracle: Datalevin's answers to every case of `tests/data/*.edn`, read from
//! `tests/golden/<file>.edn` (written by `scripts/regen-datalevin-golden`; no JVM here),
//! and how a Levin answer is compared with them.
//!
//! An answer is `{:result v}` or `{:error "message"}`, stored with the case's query (or
//! step) and keyed by group name and position. Agreement means:
//! - both refused (the messages may differ), or
//! - both answered the same value after normalising: every double is rounded to 12
//!   significant digits (so `0.1 + 0.2` equals `0.3`), lists and vectors at the top of a
//!   result are the same sequence, and an unordered answer (a relation, a collection find
//!   without `:order-by`, a `:with` bag) compares as a multiset.
//!
//! Entity ids compare exactly: Datalevin and Levin both give the next new entity
//! `max-eid + 1`, tempids numbered in order of first appearance (probed), so the same
//! transactions give the same ids.
//!
//! A case marked `:datalevin-differs "reason"` (a step: its index in the group's
//! `:datalevin-differs {index "reason"}`) must disagree: when Datalevin comes to agree,
//! the mark is stale and the test fails. `:known-gap "reason"` is the same for a Levin
//! bug not fixed yet.
#![allow(dead_code)]

use std::collections::HashMap;

use levin_edn::{read, Edn};

/// Datalevin's answer to one case.
#[derive(Debug, Clone)]
pub enum Answer {
    /// It answered this value.
    Value(Edn),
    /// It refused, with this message (for reference only).
    Error(String),
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Value(v) => write!(f, "{v}"),
            Answer::Error(m) => write!(f, "error: {m}"),
        }
    }
}

/// One golden file: answers by group name, in case order, each with the case it
/// answered.
pub struct Golden {
    file: String,
    groups: HashMap<String, Result<Vec<(Edn, Answer)>, String>>,
}

const REGEN: &str = "run scripts/regen-datalevin-golden to ask Datalevin";

fn kw<'a>(m: &'a Edn, k: &str) -> Option<&'a Edn> {
    m.get_kw("", k)
}

/// A group's name as the golden file keys it: the string itself, or any other EDN printed.
pub fn plain(name: &Edn) -> String {
    name.as_str()
        .map_or_else(|| name.to_string(), str::to_string)
}

impl Golden {
    /// Reads `tests/golden/{file}`; panics (failing the test) when it is missing.
    pub fn load(file: &str) -> Golden {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
        Golden::load_from(&dir, file)
    }

    /// Reads `{dir}/{file}`; panics (failing the test) when it is missing.
    pub fn load_from(dir: &std::path::Path, file: &str) -> Golden {
        let path = dir.join(file).display().to_string();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("no golden answers at {path} ({e}): {REGEN}"));
        let groups = read(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut map = HashMap::new();
        for g in groups.as_seq().unwrap_or(&[]) {
            let name = kw(g, "name").map(plain).unwrap_or_default();
            let entry = match kw(g, "error") {
                Some(e) => Err(e.as_str().unwrap_or_default().to_string()),
                None => Ok(kw(g, "answers")
                    .and_then(Edn::as_seq)
                    .unwrap_or(&[])
                    .iter()
                    .map(|a| {
                        let key = kw(a, "q").or(kw(a, "step")).cloned().unwrap_or(Edn::Nil);
                        let ans = match kw(a, "error") {
                            Some(e) => Answer::Error(e.as_str().unwrap_or_default().into()),
                            None => Answer::Value(kw(a, "result").cloned().unwrap_or(Edn::Nil)),
                        };
                        (key, ans)
                    })
                    .collect()),
            };
            map.insert(name, entry);
        }
        Golden {
            file: file.to_string(),
            groups: map,
        }
    }

    /// Datalevin's answer to case `i` of group `name`, whose query (or step) is `key`.
    /// A missing or stale answer is an error saying to regenerate.
    pub fn answer(&self, name: &str, i: usize, key: &Edn) -> Result<&Answer, String> {
        let group = match self.groups.get(name) {
            None => return Err(format!("{}: no golden group {name}: {REGEN}", self.file)),
            Some(Err(e)) => {
                return Err(format!(
                    "Datalevin could not set up group {name} ({e}); fix the group"
                ))
            }
            Some(Ok(g)) => g,
        };
        match group.get(i) {
            None => Err(format!("no golden answer for case {i}: {REGEN}")),
            Some((k, _)) if k != key => Err(format!(
                "the golden answer for case {i} is for {k}, not this case: {REGEN}"
            )),
            Some((_, a)) => Ok(a),
        }
    }
}

/// How an answer's top level compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Exactly (scalars, tuples, pulls, maps).
    Exact,
    /// A sequence whose order matters (`:order-by`): list or vector alike.
    Sequence,
    /// A collection whose order does not matter.
    Multiset,
}

/// Rounds every double to 12 significant digits, recursively.
pub fn normalise(v: &Edn) -> Edn {
    match v {
        Edn::Double(d) if d.is_finite() && *d != 0.0 => {
            Edn::Double(format!("{d:.11e}").parse().unwrap_or(*d))
        }
        Edn::Vector(xs) => Edn::Vector(xs.iter().map(normalise).collect()),
        Edn::List(xs) => Edn::List(xs.iter().map(normalise).collect()),
        Edn::Set(xs) => Edn::Set(xs.iter().map(normalise).collect()),
        Edn::Map(kv) => Edn::Map(
            kv.iter()
                .map(|(k, v)| (normalise(k), normalise(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn top(v: Edn, order: Order) -> Edn {
    match (v, order) {
        (Edn::List(xs) | Edn::Vector(xs), Order::Sequence) => Edn::Vector(xs),
        (Edn::List(mut xs) | Edn::Vector(mut xs) | Edn::Set(mut xs), Order::Multiset) => {
            xs.sort();
            Edn::Vector(xs)
        }
        (v, _) => v,
    }
}

/// Whether Levin's answer agrees with Datalevin's; the error describes how they differ.
pub fn agree(levin: &Result<Edn, String>, golden: &Answer, order: Order) -> Result<(), String> {
    match (levin, golden) {
        (Err(_), Answer::Error(_)) => Ok(()),
        (Ok(l), Answer::Value(g)) => {
            if top(normalise(l), order) == top(normalise(g), order) {
                Ok(())
            } else {
                Err(format!("Levin:     {l}\n  Datalevin: {g}"))
            }
        }
        (Ok(l), Answer::Error(m)) => Err(format!("Levin:     {l}\n  Datalevin: refuses ({m})")),
        (Err(e), Answer::Value(g)) => Err(format!("Levin:     refuses ({e})\n  Datalevin: {g}")),
    }
}

/// Checks a case against the oracle, honouring its marks: `differs` and `gap` (reasons
/// from `:datalevin-differs` / `:known-gap`) require disagreement. Returns a failure
/// message, if any.
pub fn check(
    golden: Result<&Answer, String>,
    levin: &Result<Edn, String>,
    order: Order,
    differs: Option<&Edn>,
    gap: Option<&Edn>,
) -> Option<String> {
    let golden = match golden {
        Ok(g) => g,
        Err(e) => return Some(e),
    };
    let verdict = agree(levin, golden, order);
    match (verdict, differs.or(gap)) {
        (Ok(()), None) => None,
        (Err(d), None) => Some(format!("differs from Datalevin:\n  {d}")),
        (Ok(()), Some(reason)) => Some(format!(
            "marked as differing from Datalevin ({reason}) but agrees with it now ({golden}): \
             remove the mark"
        )),
        (Err(_), Some(_)) => None,
    }
}

/// The full mode of the random differential tests: runs every `{prefix}*.edn` file of
/// `$LEVIN_RANDOM_DIR/data` (fresh cases `scripts/differential-random` wrote, with
/// Datalevin's answers in `$LEVIN_RANDOM_DIR/golden`) through `run(data, golden, file)`,
/// prints each disagreement and a summary, and fails if there was any.
pub fn run_random_dir(
    prefix: &str,
    what: &str,
    run: impl Fn(&std::path::Path, &std::path::Path, &str) -> (usize, Vec<String>),
) {
    let dir = std::env::var("LEVIN_RANDOM_DIR")
        .expect("LEVIN_RANDOM_DIR names the directory scripts/differential-random fills");
    let dir = std::path::Path::new(&dir);
    let (data, golden) = (dir.join("data"), dir.join("golden"));
    let mut files: Vec<String> = std::fs::read_dir(&data)
        .unwrap_or_else(|e| panic!("{}: {e}", data.display()))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(prefix) && n.ends_with(".edn"))
        .collect();
    files.sort();
    let (mut cases, mut failures) = (0, vec![]);
    for f in &files {
        let (n, fs) = run(&data, &golden, f);
        cases += n;
        failures.extend(fs.into_iter().map(|m| format!("{f}: {m}")));
    }
    for m in &failures {
        println!("MISMATCH {m}\n");
    }
    println!(
        "{} files, {cases} {what}, {} mismatches",
        files.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{} mismatches", failures.len());
}
