//! Random well-formed queries from a small grammar (patterns, predicates and functions on
//! extreme numbers, `not`/`or`, rules, aggregates, pull in `:find`) run against a small
//! cyclic database: each gives an answer or an error, never a panic. Work is bounded by
//! `:timeout` and a small row limit.

#![no_main]

use std::sync::OnceLock;

use arbitrary::Unstructured;
use levin_datalog::Conn;
use libfuzzer_sys::fuzz_target;

struct Fixture {
    _dir: tempfile::TempDir,
    conn: Conn,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let conn = Conn::open(
            dir.path(),
            "{:name {:db/unique :db.unique/identity} :friend {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many} :n {:db/valueType :db.type/long}}",
        )
        .unwrap();
        let mut tx = String::from("[");
        for i in 1..=12i64 {
            let n = match i % 4 {
                0 => i64::MIN,
                1 => i64::MAX,
                2 => -1,
                _ => i,
            };
            tx.push_str(&format!(
                "{{:db/id {i} :name \"p{i}\" :n {n} :friend [{} {}]}}",
                i % 12 + 1,
                (i + 4) % 12 + 1
            ));
        }
        tx.push(']');
        conn.transact_str(&tx).unwrap();
        Fixture { _dir: dir, conn }
    })
}

const VARS: [&str; 4] = ["?a", "?b", "?c", "?d"];
const ATTRS: [&str; 3] = [":name", ":friend", ":n"];
const NUMS: [&str; 7] = [
    "0",
    "-1",
    "1",
    "9223372036854775807",
    "-9223372036854775808",
    "2.5",
    "\"x\"",
];
const FNS: [&str; 16] = [
    "+", "-", "*", "/", "quot", "rem", "mod", "abs", "inc", "dec", "max", "min", "str", "compare",
    "subs", "count",
];
const PREDS: [&str; 6] = ["<", ">", "=", "not=", "even?", "pos?"];
const AGGS: [&str; 8] = [
    "count",
    "sum",
    "avg",
    "median",
    "variance",
    "min",
    "max",
    "count-distinct",
];

fn pick<'a>(u: &mut Unstructured, xs: &[&'a str]) -> arbitrary::Result<&'a str> {
    Ok(xs[u.choose_index(xs.len())?])
}

fn term(u: &mut Unstructured) -> arbitrary::Result<String> {
    Ok(if u.ratio(2, 3)? {
        pick(u, &VARS)?.to_string()
    } else {
        pick(u, &NUMS)?.to_string()
    })
}

fn clause(u: &mut Unstructured, depth: u32) -> arbitrary::Result<String> {
    let kind = u.choose_index(if depth > 2 { 3 } else { 6 })?;
    Ok(match kind {
        0 => format!(
            "[{} {} {}]",
            pick(u, &VARS)?,
            pick(u, &ATTRS)?,
            if u.arbitrary()? { term(u)? } else { "_".into() }
        ),
        1 => {
            let n = u.int_in_range(1..=3)?;
            let args: Vec<String> = (0..n).map(|_| term(u)).collect::<Result<_, _>>()?;
            format!(
                "[({} {}) {}]",
                pick(u, &FNS)?,
                args.join(" "),
                pick(u, &VARS)?
            )
        }
        2 => format!("[({} {} {})]", pick(u, &PREDS)?, term(u)?, term(u)?),
        3 => format!("(not {})", clause(u, depth + 1)?),
        4 => format!("(or {} {})", clause(u, depth + 1)?, clause(u, depth + 1)?),
        _ => format!("(reach {} {})", pick(u, &VARS)?, pick(u, &VARS)?),
    })
}

fn query(u: &mut Unstructured) -> arbitrary::Result<String> {
    let n = u.int_in_range(1..=4)?;
    let clauses: Vec<String> = (0..n).map(|_| clause(u, 0)).collect::<Result<_, _>>()?;
    let find = match u.choose_index(4)? {
        0 => pick(u, &VARS)?.to_string(),
        1 => format!("({} {})", pick(u, &AGGS)?, pick(u, &VARS)?),
        2 => format!(
            "(pull {} [:name {{:friend {}}}])",
            pick(u, &VARS)?,
            if u.arbitrary()? { "..." } else { "3" }
        ),
        _ => format!("{} {}", pick(u, &VARS)?, pick(u, &VARS)?),
    };
    Ok(format!(
        "[:find {find} :in $ % :timeout 200 :max-rows 20000 :where {}]",
        clauses.join(" ")
    ))
}

const RULES: &str =
    "[[(reach ?x ?y) [?x :friend ?y]] [(reach ?x ?y) [?x :friend ?z] (reach ?z ?y)]]";

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(text) = query(&mut u) else { return };
    let db = fixture().conn.db().unwrap();
    let rules = levin_edn::read(RULES).unwrap();
    // An answer or an error; a panic fails the target.
    let _ = levin_query::q(
        text.as_str(),
        &[
            levin_query::Input::Db(&db),
            levin_query::Input::Value(rules),
        ],
    );
});
