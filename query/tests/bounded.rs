//! Bounded work and no panics (issue #22 items 7-9): recursive pull over cycles expands each
//! entity once, a pull in `:find` honours `:timeout`, joins stop at the row ceiling (per
//! registry or per query with `:max-rows`), and integer overflow is an error, never a panic.

use levin_datalog::Conn;
use levin_edn::{read, Edn};
use levin_query::DbQuery;
use levin_query::{ErrorKind, Input, Registry};
use std::time::{Duration, Instant};

/// `n` people, each with `k` friends among the others (a dense cyclic graph).
fn friends(n: i64, k: i64) -> (tempfile::TempDir, Conn) {
    let dir = tempfile::tempdir().unwrap();
    let conn = Conn::open(
        dir.path(),
        "{:p/name {:db/unique :db.unique/identity}
          :p/friend {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}}",
    )
    .unwrap();
    let tx: Vec<String> = (1..=n)
        .map(|i| {
            let fs: Vec<String> = (1..=k).map(|j| ((i + j - 1) % n + 1).to_string()).collect();
            format!(
                "{{:db/id {i} :p/name \"p{i}\" :p/friend [{}]}}",
                fs.join(" ")
            )
        })
        .collect();
    conn.transact(&read(&format!("[{}]", tx.join(" "))).unwrap())
        .unwrap();
    (dir, conn)
}

fn count_maps(v: &Edn) -> usize {
    match v {
        Edn::Map(kvs) => 1 + kvs.iter().map(|(_, x)| count_maps(x)).sum::<usize>(),
        Edn::Vector(xs) | Edn::List(xs) | Edn::Set(xs) => xs.iter().map(count_maps).sum(),
        _ => 0,
    }
}

#[test]
fn recursive_pull_over_cycles_expands_each_entity_once() {
    // The issue's reproduction: 18 people with 3 friends each took 840 MB.
    let (_d, conn) = friends(18, 3);
    let db = conn.db().unwrap();
    let t = Instant::now();
    let v = db
        .pull(&read("[:p/name {:p/friend ...}]").unwrap(), &Edn::Long(1))
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(5));
    // Every entity is expanded once (the root once more when a cycle reaches it), and
    // every other mention is {:db/id n}: the root, then 3 friend references for each of
    // 19 expansions.
    let n = count_maps(&v);
    assert!(n <= 19 * 3 + 1, "{n} maps");
    let names = v.to_string().matches(":p/name").count();
    assert!(names <= 19, "{names} expanded entities");
    assert!(v.to_string().contains(":db/id"));
    // Depth-limited recursion is bounded the same way.
    let v = db
        .pull(&read("[:p/name {:p/friend 50}]").unwrap(), &Edn::Long(1))
        .unwrap();
    assert!(v.to_string().matches(":p/name").count() <= 19);
}

#[test]
fn recursive_pull_over_a_three_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let conn = Conn::open(
        dir.path(),
        "{:p/friend {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}}",
    )
    .unwrap();
    conn.transact(
        &read(
            r#"[{:db/id 1 :p/name "a" :p/friend [2 3]} {:db/id 2 :p/name "b" :p/friend [3 1]}
                {:db/id 3 :p/name "c" :p/friend [1]}]"#,
        )
        .unwrap(),
    )
    .unwrap();
    let v = conn
        .db()
        .unwrap()
        .pull(&read("[:p/name {:p/friend ...}]").unwrap(), &Edn::Long(1))
        .unwrap();
    assert_eq!(
        v,
        read(
            r#"{:p/name "a" :p/friend [{:p/name "b" :p/friend [{:p/name "a" :p/friend [{:db/id 2} {:p/name "c" :p/friend [{:db/id 1}]}]} {:db/id 3}]} {:db/id 3}]}"#
        )
        .unwrap()
    );
}

#[test]
fn pull_in_find_honours_the_timeout() {
    let (_d, conn) = friends(400, 3);
    let db = conn.db().unwrap();
    let t = Instant::now();
    let err = db
        .q(
            "[:find (pull ?e [:p/name {:p/friend ...}]) :timeout 1 :where [?e :p/name]]",
            &[],
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
    assert!(t.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_five_way_cross_product_stops_at_the_default_ceiling() {
    let (_d, conn) = friends(40, 1);
    let db = conn.db().unwrap();
    // 40^5 = 102 million rows, over the default 20 million: TooLarge, quickly.
    let t = Instant::now();
    let err = db
        .q(
            "[:find ?a ?b ?c ?d ?e :where [?a :p/name] [?b :p/name] [?c :p/name] [?d :p/name] [?e :p/name]]",
            &[],
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooLarge, "{err}");
    assert!(t.elapsed() < Duration::from_secs(60), "{:?}", t.elapsed());
}

#[test]
fn max_rows_per_query() {
    let (_d, conn) = friends(40, 1);
    let db = conn.db().unwrap();
    let q = "[:find ?a ?b :max-rows 100 :where [?a :p/name] [?b :p/name]]";
    let err = db.q(q, &[]).unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooLarge, "{err}");
    assert!(err.message.contains("over the limit of 100"), "{err}");
    // The query's own limit overrides the registry's both ways.
    let q = "[:find ?a ?b :max-rows 10000 :where [?a :p/name] [?b :p/name]]";
    assert_eq!(
        db.q_with(q, &[], &Registry::new().max_rows(10))
            .unwrap()
            .len(),
        1600
    );
    let q = "{:find [?a ?b] :max-rows 5 :where [[?a :p/name] [?b :p/name]]}";
    assert_eq!(db.q(q, &[]).unwrap_err().kind, ErrorKind::TooLarge);
    assert!(db
        .q("[:find ?a :max-rows -1 :where [?a :p/name]]", &[])
        .is_err());
}

#[test]
fn a_huge_timeout_does_not_panic() {
    let (_d, conn) = friends(3, 1);
    let db = conn.db().unwrap();
    let q = format!("[:find ?a :timeout {} :where [?a :p/name]]", i64::MAX);
    assert_eq!(db.q(q.as_str(), &[]).unwrap().len(), 3);
}

fn one(q: &str, inputs: &[Edn]) -> Result<Edn, levin_query::QueryError> {
    let inputs: Vec<Input> = inputs.iter().cloned().map(Input::Value).collect();
    levin_query::q(q, &inputs).map(|r| r.to_edn())
}

#[test]
fn integer_overflow_is_an_error_not_a_panic() {
    let min = Edn::Long(i64::MIN);
    let m1 = Edn::Long(-1);
    let overflow = |q: &str, inputs: &[Edn]| {
        let err = one(q, inputs).unwrap_err();
        assert!(err.message.contains("integer overflow"), "{q}: {err}");
    };
    overflow(
        "[:find ?x . :in ?a ?b :where [(quot ?a ?b) ?x]]",
        &[min.clone(), m1.clone()],
    );
    overflow(
        "[:find ?x . :in ?a :where [(abs ?a) ?x]]",
        std::slice::from_ref(&min),
    );
    overflow(
        "[:find ?x . :in ?a :where [(- ?a) ?x]]",
        std::slice::from_ref(&min),
    );
    overflow(
        "[:find ?x . :in ?a :where [(dec ?a) ?x]]",
        std::slice::from_ref(&min),
    );
    overflow(
        "[:find ?x . :in ?a ?b :where [(* ?a ?b) ?x]]",
        &[min.clone(), m1.clone()],
    );
    // As Datalevin answers: the quotient as a big integer; rem and mod are 0.
    assert_eq!(
        one(
            "[:find ?x . :in ?a ?b :where [(/ ?a ?b) ?x]]",
            &[min.clone(), m1.clone()]
        )
        .unwrap(),
        read("9223372036854775808N").unwrap()
    );
    for f in ["rem", "mod"] {
        let q = format!("[:find ?x . :in ?a ?b :where [({f} ?a ?b) ?x]]");
        assert_eq!(
            one(&q, &[min.clone(), m1.clone()]).unwrap(),
            Edn::Long(0),
            "{f}"
        );
    }
}

#[test]
fn median_of_two_large_longs() {
    let q = "[:find (median ?x) . :in [?x ...]]";
    let v = |xs: &[i64]| Edn::Vector(xs.iter().map(|x| Edn::Long(*x)).collect());
    assert_eq!(
        one(q, &[v(&[i64::MAX, i64::MAX - 2])]).unwrap(),
        Edn::Long(i64::MAX - 1)
    );
    assert_eq!(
        one(q, &[v(&[i64::MIN, i64::MIN])]).unwrap(),
        Edn::Long(i64::MIN)
    );
    assert_eq!(
        one(q, &[v(&[i64::MAX, i64::MAX - 1])]).unwrap(),
        Edn::Double((i64::MAX as f64 + (i64::MAX - 1) as f64) / 2.0)
    );
}
