//! The `levin` command line never panics: arguments built from a small grammar around
//! fuzzed text (queries, inputs, pull patterns, entity ids, `--repeat` counts, transaction
//! and dump files) are parsed by the CLI's own clap definition and run against a small
//! database (read commands) or a fresh directory (write commands). Every run ends in an
//! answer or an error. Paths never leave the fuzzer's temporary directories, and commands
//! that read standard input or run long (`repl`, `demo`) are not generated.

#![no_main]

#[allow(dead_code)]
#[path = "../../cli/src/main.rs"]
mod cli_main;

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use clap::Parser;
use libfuzzer_sys::fuzz_target;

struct Fixture {
    dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let conn = levin_datalog::Conn::open(
            dir.path().join("db"),
            "{:name {:db/unique :db.unique/identity} :friend {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many} :a+b {:db/valueType :db.type/tuple :db/tupleAttrs [:name :n]}}",
        )
        .unwrap();
        conn.transact_str(r#"[{:db/id 1 :name "a" :n 9223372036854775807 :friend [2]} {:db/id 2 :name "b" :n -9223372036854775808 :friend [1]}]"#)
            .unwrap();
        Fixture { dir }
    })
}

fn text(u: &mut Unstructured, choices: &[&str]) -> arbitrary::Result<String> {
    Ok(if u.ratio(1, 3)? {
        String::arbitrary(u)?
    } else {
        choices[u.choose_index(choices.len())?].to_string()
    })
}

const QUERIES: [&str; 5] = [
    "[:find ?n :where [_ :name ?n]]",
    "[:find ?y . :in ?x :where [(inc ?x) ?y]]",
    "[:find (pull ?e [:name {:friend ...}]) :where [?e :name]]",
    "[:find ?x :in $ ?a ?b :where [(quot ?a ?b) ?x]]",
    "[:find (median ?n) . :where [_ :n ?n]]",
];
const INPUTS: [&str; 4] = ["1", "-9223372036854775808", "-1", "[1 2]"];
const TXS: [&str; 3] = [
    "[[:db/add 9223372036854775807 :n 1]]",
    "[{:name \"c\"}]",
    "[[:db/retractEntity 1]]",
];
const DUMPS: [&str; 3] = [
    "{:levin/dump 2}\n{}\n[1 :x 1]\n{:levin/end {:datoms 1 :entries 0}}\n",
    "{:levin/dump 1}\n{}\n{:levin/section :kv}\n[:db \"x\" :plain]\n[\"6é\" \"00\"]\n",
    "{:levin/dump 7}\n{}\n",
];

fn args(u: &mut Unstructured, scratch: &std::path::Path) -> arbitrary::Result<Vec<String>> {
    let db = fixture().dir.path().join("db").display().to_string();
    let fresh = scratch.join("w").display().to_string();
    let mut a = vec!["levin".to_string()];
    match u.choose_index(9)? {
        0 => {
            a.extend(["query".into(), db, text(u, &QUERIES)?]);
            for _ in 0..u.int_in_range(0..=3)? {
                a.push(text(u, &INPUTS)?);
            }
            if u.arbitrary()? {
                a.push("--repeat".into());
                a.push(text(
                    u,
                    &["0", "3", "100000000000", "18446744073709551615", "-1"],
                )?);
            }
            if u.arbitrary()? {
                a.push("--explain".into());
            }
        }
        1 => a.extend([
            "pull".into(),
            db,
            text(u, &["[*]", "[:name {:friend ...}]", "[:a+b]"])?,
            text(u, &["1", "[:name \"a\"]", "9223372036854775807", ":name"])?,
        ]),
        2 => a.extend(["stat".into(), db]),
        3 => a.extend(["check".into(), db]),
        4 => a.extend(["dump".into(), db]),
        5 => {
            let tx = scratch.join("tx.edn");
            std::fs::write(&tx, text(u, &TXS)?).unwrap();
            a.extend(["transact".into(), fresh, tx.display().to_string()]);
            if u.arbitrary()? {
                let s = scratch.join("schema.edn");
                std::fs::write(&s, text(u, &["{:n {:db/valueType :db.type/long}}"])?).unwrap();
                a.extend(["--schema".into(), s.display().to_string()]);
            }
            if u.arbitrary()? {
                a.push("--report".into());
            }
        }
        6 => {
            let f = scratch.join("dump.edn");
            std::fs::write(&f, text(u, &DUMPS)?).unwrap();
            a.extend(["load".into(), fresh, "-i".into(), f.display().to_string()]);
            if u.arbitrary()? {
                a.push("--merge".into());
            }
        }
        7 => a.extend(["drop".into(), fresh, text(u, &["datalog/meta", "users"])?]),
        _ => a.push(String::arbitrary(u)?),
    }
    if u.arbitrary()? {
        a.push("--format".into());
        a.push(text(u, &["edn", "json"])?);
    }
    Ok(a)
}

fuzz_target!(|data: &[u8]| {
    let scratch = tempfile::tempdir().unwrap();
    let mut u = Unstructured::new(data);
    let Ok(argv) = args(&mut u, scratch.path()) else {
        return;
    };
    // Strings with NUL cannot be arguments of a real process; clap takes them anyway.
    let Ok(cli) = cli_main::Cli::try_parse_from(&argv) else {
        return;
    };
    // An answer or an error; a panic fails the target.
    let _ = cli_main::run(cli);
});
