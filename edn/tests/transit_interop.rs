//! Differential test against transit-python2 (the reference python-pods uses), through
//! scripts/transit-interop: Python writes -> Levin reads and writes -> Python reads and
//! compares -> Python writes again -> Levin reads and compares; and Levin writes -> Python
//! reads and writes -> Levin reads and compares. Skipped, saying why, when the script cannot
//! make its Python virtual environment (no python3, no venv module or no network).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use levin_edn::{read as edn, transit, Edn};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/transit-interop")
}

/// Runs the script with `args`; `None` (after printing why) when it skipped.
fn run(args: &[&str], stdin: Option<&str>) -> Option<String> {
    let mut child = Command::new(script())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run scripts/transit-interop");
    {
        use std::io::Write;
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input
                .write_all(text.as_bytes())
                .expect("write to the script");
        }
    }
    let out = child.wait_with_output().expect("wait for the script");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    match out.status.code() {
        Some(0) => Some(stdout),
        Some(77) => {
            // Straight to the process's stderr, which the test harness does not capture, so
            // the skip shows in every run.
            use std::io::Write;
            let reason = stdout.trim().trim_start_matches("SKIPPED: ");
            let _ = writeln!(std::io::stderr(), "transit interop test SKIPPED: {reason}");
            None
        }
        _ => panic!(
            "scripts/transit-interop {args:?} failed: {}\n{stdout}",
            out.status
        ),
    }
}

/// Python reads lists as tuples and writes them back as arrays, and has one integer type
/// (it writes 7N back as 7): compare lists as vectors and big integers that fit as longs.
fn lists_as_vectors(v: &Edn) -> Edn {
    let all = |items: &[Edn]| items.iter().map(lists_as_vectors).collect::<Vec<_>>();
    match v {
        Edn::List(items) | Edn::Vector(items) => Edn::Vector(all(items)),
        Edn::Set(items) => Edn::Set(all(items)),
        Edn::Map(entries) => Edn::Map(
            entries
                .iter()
                .map(|(k, v)| (lists_as_vectors(k), lists_as_vectors(v)))
                .collect(),
        ),
        Edn::Tagged(t) => Edn::tagged(t.0.clone(), lists_as_vectors(&t.1)),
        Edn::BigInt(n) => i64::try_from(&**n).map_or_else(|_| v.clone(), Edn::Long),
        other => other.clone(),
    }
}

#[test]
fn python_and_levin_read_each_others_transit() {
    if run(&["setup"], None).is_none() {
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("transit-interop");
    std::fs::create_dir_all(&dir).expect("work directory");
    let (py, rs, py2) = (
        dir.join("py.jsonl"),
        dir.join("rs.jsonl"),
        dir.join("py2.jsonl"),
    );
    let arg = |p: &Path| p.to_str().expect("UTF-8 path").to_owned();

    // Python -> Levin -> Python.
    run(&["py", "gen", &arg(&py)], None).expect("gen");
    let py_lines = std::fs::read_to_string(&py).expect("read py.jsonl");
    let values: Vec<Edn> = py_lines
        .lines()
        .enumerate()
        .map(|(i, line)| {
            transit::read(line).unwrap_or_else(|e| panic!("line {}: {e}\n{line}", i + 1))
        })
        .collect();
    assert!(values.len() > 400);
    let rs_text: String = values.iter().map(|v| transit::write(v) + "\n").collect();
    std::fs::write(&rs, rs_text).expect("write rs.jsonl");
    run(&["py", "check", &arg(&py), &arg(&rs), &arg(&py2)], None).expect("check");
    // Python's re-encoding of Levin's output reads back to the same values.
    let py2_lines = std::fs::read_to_string(&py2).expect("read py2.jsonl");
    for (i, (line, v)) in py2_lines.lines().zip(&values).enumerate() {
        let back = transit::read(line).unwrap_or_else(|e| panic!("py2 line {}: {e}", i + 1));
        assert_eq!(
            lists_as_vectors(&back),
            lists_as_vectors(v),
            "py2 line {}",
            i + 1
        );
    }

    // Levin -> Python -> Levin, with the values Python has no type for (chars, bytes, lists).
    let sources = [
        "[\\a \\😀 #bytes \"00ff\" (1 2) #uri \"u:x\" 1.50M 7N ##NaN -0.0 #inst \"2020-02-29T12:00:00.001Z\"]",
        "{:a 1 [1 2] :composite #{1 2} :set}",
        "#datalevin/Datom [1 :name \"x\" 536870913]",
        "[\"~a\" \"^b\" \"`c\" \"^ \" \"long key\" {\"long key\" 1} {\"long key\" 2}]",
        "#uuid \"f81d4fae-7dec-11d0-a765-00a0c91e6bf6\"",
        "[9007199254740992 -9223372036854775808 9223372036854775808N]",
        "[:find ?n :in $ ?alias :where [?e :aka ?alias] [?e :nation ?n]]",
    ];
    let mut values: Vec<Edn> = sources.iter().map(|s| edn(s).expect(s)).collect();
    // A document with 1500 distinct cached keywords, each used twice.
    let ks: Vec<Edn> = (0..1500).map(|i| Edn::kw("ns", &format!("k{i}"))).collect();
    values.push(Edn::Vector(ks.iter().chain(&ks).cloned().collect()));
    let input: String = values.iter().map(|v| transit::write(v) + "\n").collect();
    let echoed = run(&["py", "echo"], Some(&input)).expect("echo");
    let lines: Vec<&str> = echoed.lines().collect();
    assert_eq!(lines.len(), values.len());
    for (line, v) in lines.iter().zip(&values) {
        let back = transit::read(line).unwrap_or_else(|e| panic!("{e}\n{line}"));
        assert_eq!(lists_as_vectors(&back), lists_as_vectors(v), "{line}");
    }
}
