//! Engine behaviour beyond results: plans independent of clause order, range pushdown,
//! explain, timeouts, deep recursion, registries and the API entry points.

use levin_datalog::Conn;
use levin_edn::{read, Edn};
use levin_query as query;
use levin_query::DbQuery;
use levin_query::{ErrorKind, Input, Registry};

fn people(n: i64) -> (tempfile::TempDir, Conn) {
    let dir = tempfile::tempdir().unwrap();
    let conn = Conn::open(
        dir.path(),
        "{:salary {:db/valueType :db.type/long} :name {:db/valueType :db.type/string}
          :age {:db/valueType :db.type/long}}",
    )
    .unwrap();
    let names = ["Ivan", "Petr", "Oleg", "Anna"];
    let tx: Vec<String> = (1..=n)
        .map(|i| {
            format!(
                "{{:db/id {i} :name \"{}\" :age {} :salary {}}}",
                names[(i % 4) as usize],
                i % 100,
                (i * 7919) % 100000
            )
        })
        .collect();
    conn.transact(&read(&format!("[{}]", tx.join(" "))).unwrap())
        .unwrap();
    (dir, conn)
}

#[test]
fn plan_does_not_depend_on_clause_order() {
    let (_d, conn) = people(400);
    let db = conn.db().unwrap();
    let a = db
        .explain("[:find ?e ?a :where [?e :age ?a] [?e :name \"Ivan\"]]", &[])
        .unwrap();
    let b = db
        .explain("[:find ?e ?a :where [?e :name \"Ivan\"] [?e :age ?a]]", &[])
        .unwrap();
    assert_eq!(a.steps[0].clause, "[?e :name \"Ivan\"]");
    assert_eq!(b.steps[0].clause, "[?e :name \"Ivan\"]");
    assert_eq!(a.steps[0].estimated as usize, 100, "exact count from AVE");
    assert_eq!(a.steps[0].actual, 100);
    let ra = db
        .q("[:find ?e ?a :where [?e :age ?a] [?e :name \"Ivan\"]]", &[])
        .unwrap();
    let rb = db
        .q("[:find ?e ?a :where [?e :name \"Ivan\"] [?e :age ?a]]", &[])
        .unwrap();
    assert_eq!(ra, rb);
    assert_eq!(ra.len(), 100);
    assert!(!a.to_string().is_empty());
    assert!(a.to_edn().get_kw("", "steps").is_some());
}

#[test]
fn scalar_inputs_are_counted_exactly() {
    // A value from `:in` is known before the query runs, so its AVE list is counted exactly
    // (not the attribute's average per value): a name nobody has comes first and ends the
    // query, whichever order the clauses are written in and whether the order comes from
    // dynamic programming (3+ patterns) or the greedy choice (2).
    let (_d, conn) = people(400);
    let db = conn.db().unwrap();
    let queries = [
        "[:find ?e ?a :in $ ?n :where [?e :age ?a] [?e :name ?n]]",
        "[:find ?e ?a ?s :in $ ?n :where [?e :age ?a] [?e :salary ?s] [?e :name ?n]]",
    ];
    for q in queries {
        for (name, rows) in [("Nobody", 0), ("Ivan", 100)] {
            let input = [Input::Value(Edn::String(name.into()))];
            let ex = db.explain(q, &input).unwrap();
            assert_eq!(ex.steps[0].clause, "[?e :name ?n]", "{q}: {ex}");
            assert_eq!(ex.steps[0].estimated as usize, rows, "{q}: {ex}");
            assert!(ex.steps[0].strategy.contains("exact count"), "{ex}");
            assert_eq!(db.q(q, &input).unwrap().len(), rows);
        }
    }
}

#[test]
fn comparisons_become_index_ranges() {
    let (_d, conn) = people(400);
    let db = conn.db().unwrap();
    let q = "[:find ?e ?s :where [?e :salary ?s] [(> ?s 50000)]]";
    let ex = db.explain(q, &[]).unwrap();
    assert!(ex.steps[0].strategy.contains("range"), "{ex}");
    let expected = (1..=400i64).filter(|i| (i * 7919) % 100000 > 50000).count();
    assert_eq!(db.q(q, &[]).unwrap().len(), expected);
    // A bound :in scalar is inlined the same way.
    let q2 = "[:find ?e ?s :in $ ?min :where [?e :salary ?s] [(< ?min ?s)] [(<= ?s 90000)]]";
    let ex = db.explain(q2, &[Input::Value(Edn::Long(50000))]).unwrap();
    assert!(ex.steps[0].strategy.contains("range [50000 90000]"), "{ex}");
    let expected = (1..=400i64)
        .map(|i| (i * 7919) % 100000)
        .filter(|s| *s > 50000 && *s <= 90000)
        .count();
    assert_eq!(
        db.q(q2, &[Input::Value(Edn::Long(50000))]).unwrap().len(),
        expected
    );
}

#[test]
fn timeout_stops_with_a_clear_error() {
    let (_d, conn) = people(300);
    let db = conn.db().unwrap();
    // Every variable is in :find, so no plan can avoid building the 300^4 = 8.1e9 rows
    // of the cross product: the query cannot finish within a millisecond on any machine,
    // however fast, and the deadline is checked every 256 rows, so it stops early on a
    // slow one too.
    let err = db
        .q_with(
            "[:find ?a ?b ?c ?d :timeout 1 :where [?a :age] [?b :age] [?c :age] [?d :age]]",
            &[],
            &Registry::new().max_rows(usize::MAX).max_memory(usize::MAX),
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout);
    assert!(err.to_string().contains("timed out after 1 ms"), "{err}");
}

#[test]
fn aggregate_over_a_cross_product_counts_distinct_find_values() {
    let (_d, conn) = people(300);
    let db = conn.db().unwrap();
    // :find projects to ?a before counting (set semantics), so the answer is the number of
    // entities with an age, however the cross product is evaluated.
    let r = db
        .q(
            "[:find (count ?a) . :where [?a :age] [?b :age] [?c :age] [?d :age]]",
            &[],
        )
        .unwrap();
    assert_eq!(r.to_edn(), Edn::Long(300));
}

/// The plan of each query, as (clause, strategy, estimate, actual rows) per step: everything
/// in `explain` but the timings.
fn plan_of(
    db: &levin_datalog::Db,
    q: &str,
    inputs: &[Input<'_>],
) -> Vec<(String, String, u64, usize)> {
    db.explain(q, inputs)
        .unwrap()
        .steps
        .iter()
        .map(|s| {
            (
                s.clause.clone(),
                s.strategy.clone(),
                s.estimated.to_bits(),
                s.actual,
            )
        })
        .collect()
}

#[test]
fn the_same_query_on_the_same_data_gets_the_same_plan() {
    let queries = [
        "[:find ?e ?a :where [?e :age ?a] [?e :name \"Ivan\"]]",
        "[:find ?e1 ?n :where [?e :name \"Ivan\"] [?e :age ?a] [?e1 :age ?a] [?e1 :name ?n]]",
        "[:find ?e ?s :where [?e :salary ?s] [(> ?s 50000)] [?e :name ?n]]",
        "[:find (count ?a) :where [?a :age] [?b :age] [?a :name ?n] [?b :name ?n]]",
        "[:find ?n (max ?s) :where [?e :name ?n] [?e :salary ?s] (not [?e :age 3])]",
        "[:find ?e :in $ % :where (older ?e 10)]",
    ];
    let rules = read("[[(older ?e ?min) [?e :age ?a] [(> ?a ?min)]]]").unwrap();
    let plans = |db: &levin_datalog::Db| -> Vec<Vec<(String, String, u64, usize)>> {
        queries
            .iter()
            .map(|q| {
                let inputs = if q.contains(" % ") {
                    vec![Input::Value(rules.clone())]
                } else {
                    vec![]
                };
                plan_of(db, q, &inputs)
            })
            .collect()
    };
    // Two databases built the same way, each asked three times.
    let (_d1, one) = people(500);
    let (_d2, two) = people(500);
    let first = plans(&one.db().unwrap());
    for conn in [&one, &two, &one] {
        let db = conn.db().unwrap();
        assert_eq!(plans(&db), first);
    }
    assert!(first.iter().all(|p| !p.is_empty()), "{first:?}");
}

#[test]
fn deep_recursion_and_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let conn = Conn::open(dir.path(), "{:next {:db/valueType :db.type/ref}}").unwrap();
    let n = 300;
    let tx: Vec<String> = (1..n)
        .map(|i| format!("[:db/add {i} :next {}]", i + 1))
        .collect();
    conn.transact(&read(&format!("[{} [:db/add {n} :next 1]]", tx.join(" "))).unwrap())
        .unwrap();
    let db = conn.db().unwrap();
    let rules = read("[[(reach ?a ?b) [?a :next ?b]] [(reach ?a ?b) (reach ?a ?c) [?c :next ?b]]]")
        .unwrap();
    let r = db
        .q(
            "[:find (count ?b) . :in $ % :where (reach 1 ?b)]",
            &[Input::Value(rules)],
        )
        .unwrap();
    assert_eq!(r.to_edn(), Edn::Long(n));
}

#[test]
fn registries_and_entry_points() {
    let (_d, conn) = people(8);
    let db = conn.db().unwrap();
    let reg = Registry::new().function("twice", |a| Ok(Edn::Long(a[0].as_long().unwrap_or(0) * 2)));
    let q = "[:find ?y . :where [1 :age ?a] [(twice ?a) ?y]]";
    assert_eq!(db.q_with(q, &[], &reg).unwrap().to_edn(), Edn::Long(2));
    let err = db.q(q, &[]).unwrap_err();
    assert_eq!(err.kind, ErrorKind::UnknownFunction);
    // EDN and parsed forms.
    let form = read("[:find ?n . :in $ ?e :where [?e :name ?n]]").unwrap();
    let r = query::q(&form, &[Input::Db(&db), Input::Value(Edn::Long(2))]).unwrap();
    assert_eq!(r.to_edn(), Edn::string("Oleg"));
    let parsed = query::parse_query(&form).unwrap();
    let r = levin_query::q(&parsed, &[Input::Db(&db), Input::Value(Edn::Long(2))]).unwrap();
    assert_eq!(r.rows, vec![vec![Edn::string("Oleg")]]);
}

#[test]
fn intermediate_results_over_the_row_limit_fail_clearly() {
    let (_d, conn) = people(400);
    let db = conn.db().unwrap();
    let small = Registry::new().max_rows(10_000);
    // 400 x 400 = 160,000 rows: a cross product.
    let cross = "[:find ?a ?b :where [?a :age] [?b :age]]";
    let err = db.q_with(cross, &[], &small).unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooLarge, "{err}");
    assert!(err.message.contains("over the limit of 10000"), "{err}");
    // A join through a value: 100 ages, 4 people each, so 1,600 rows: under the limit.
    let join = "[:find ?a ?b :where [?a :age ?x] [?b :age ?x]]";
    assert_eq!(db.q_with(join, &[], &small).unwrap().len(), 1600);
    // A recursive rule whose relation outgrows the limit.
    let rules =
        read("[[(up ?a ?b) [(ground 0) ?a] [(inc ?a) ?b]] [(up ?a ?b) (up ?a ?c) [(inc ?c) ?b]]]")
            .unwrap();
    let err = db
        .q_with(
            "[:find (count ?b) . :in $ % :where (up 0 ?b)]",
            &[Input::Value(rules)],
            &Registry::new().max_rows(5_000),
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooLarge, "{err}");
    // The default limit allows the ordinary cross product.
    assert_eq!(db.q(cross, &[]).unwrap().len(), 160_000);
}

#[test]
fn dynamic_programming_order_ignores_written_order() {
    let (_d, conn) = people(400);
    let db = conn.db().unwrap();
    // A value join: the cheap start is the 100 Ivans, then their ages, then everyone with
    // those ages, then their names; written in four different orders.
    let orders = [
        "[?e :name \"Ivan\"] [?e :age ?a] [?e1 :age ?a] [?e1 :name ?n]",
        "[?e1 :name ?n] [?e1 :age ?a] [?e :age ?a] [?e :name \"Ivan\"]",
        "[?e :age ?a] [?e1 :name ?n] [?e :name \"Ivan\"] [?e1 :age ?a]",
        "[?e1 :age ?a] [?e :age ?a] [?e1 :name ?n] [?e :name \"Ivan\"]",
    ];
    let mut plans = vec![];
    let mut results = vec![];
    for w in orders {
        let q = format!("[:find ?e1 ?n :where {w}]");
        let ex = db.explain(q.as_str(), &[]).unwrap();
        assert_eq!(ex.steps[0].clause, "[?e :name \"Ivan\"]", "{q}\n{ex}");
        assert!(
            ex.steps[0].strategy.contains("dynamic programming"),
            "{q}\n{ex}"
        );
        let first_two: Vec<String> = ex.steps.iter().take(2).map(|s| s.clause.clone()).collect();
        plans.push(first_two);
        results.push(db.q(q.as_str(), &[]).unwrap());
    }
    assert!(plans.windows(2).all(|w| w[0] == w[1]), "{plans:?}");
    assert!(results.windows(2).all(|w| w[0] == w[1]));
    // Ages i % 100 of the Ivans (i % 4 == 0) are the multiples of 4: a quarter of everyone.
    assert_eq!(results[0].len(), 100);
}

#[test]
fn a_fan_out_waits_for_the_steps_the_order_puts_before_it() {
    // Orders with one customer and several lines each: the customer's name is read for
    // each order before the lines multiply the rows, as the join order says, instead of
    // the lines joining the customer's merge scan (and the name being read once per line).
    let dir = tempfile::tempdir().unwrap();
    let conn = Conn::open(
        dir.path(),
        "{:o/status {:db/valueType :db.type/keyword} :o/customer {:db/valueType :db.type/ref}
          :o/lines {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many
                    :db/isComponent true}
          :c/name {:db/valueType :db.type/string} :l/qty {:db/valueType :db.type/long}}",
    )
    .unwrap();
    let mut tx = String::from("[");
    for c in 1..=20 {
        tx.push_str(&format!("{{:db/id {c} :c/name \"c{}\"}}", c % 7));
    }
    for o in 100..300 {
        let lines: Vec<String> = (0..1 + o % 4)
            .map(|k| format!("{{:l/qty {}}}", 1 + (o + k) % 5))
            .collect();
        tx.push_str(&format!(
            "{{:db/id {o} :o/status {} :o/customer {} :o/lines [{}]}}",
            if o % 3 == 0 { ":shipped" } else { ":new" },
            1 + o % 20,
            lines.join(" ")
        ));
    }
    tx.push(']');
    conn.transact(&read(&tx).unwrap()).unwrap();
    let db = conn.db().unwrap();
    let q = "[:find ?n (sum ?q) :with ?l :where [?o :o/status :shipped] [?o :o/customer ?c]
              [?c :c/name ?n] [?o :o/lines ?l] [?l :l/qty ?q]]";
    let ex = db.explain(q, &[]).unwrap();
    let at = |clause: &str| {
        ex.steps
            .iter()
            .position(|s| s.clause == clause)
            .unwrap_or_else(|| panic!("no step {clause}\n{ex}"))
    };
    assert!(
        at("[?c :c/name ?n]") < at("[?o :o/lines ?l]"),
        "the lines wait for the name\n{ex}"
    );
    assert!(
        !ex.steps[at("[?o :o/customer ?c]")]
            .strategy
            .contains(":o/lines"),
        "{ex}"
    );
    // The same answer as the clauses in the order that keeps the lines in the scan.
    let rows = db.q(q, &[]).unwrap();
    let expected = db
        .q(
            "[:find ?n (sum ?q) :with ?l :where [?o :o/status :shipped] [?o :o/lines ?l]
              [?o :o/customer ?c] [?l :l/qty ?q] [?c :c/name ?n]]",
            &[],
        )
        .unwrap();
    assert_eq!(rows, expected);
    assert_eq!(rows.len(), 7);
}

#[test]
fn two_long_arithmetic_in_place_equals_the_general_call() {
    // `+`, `-` and `*` of two longs are computed in place; the same call with a third,
    // neutral argument takes the general path. Doubles, constants
    // and an output variable bound already must give the same rows both ways.
    let values = "[[1 2] [-5 3] [0 -1] [7 7] [3037000499 3037000499] [-3 2.5] [2.5 4]
                   [9 0] [100 -100]]";
    let rel = read(values).unwrap();
    for (op, neutral) in [("+", "0"), ("-", "0"), ("*", "1")] {
        for (args, out) in [("?a ?b", "?c"), ("?a 3", "?c"), ("?a ?b", "?b")] {
            let find = if out == "?b" { "?a ?b" } else { "?a ?b ?c" };
            let q = |extra: &str| {
                format!("[:find {find} :in [[?a ?b]] :where [({op} {args}{extra}) {out}]]")
            };
            let quick = query::q(q("").as_str(), &[Input::Value(rel.clone())]);
            let general = query::q(
                q(&format!(" {neutral}")).as_str(),
                &[Input::Value(rel.clone())],
            );
            match (quick, general) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{op} {args} -> {out}"),
                // An error (none of these values overflows) must come both ways alike.
                (Err(a), Err(b)) => assert_eq!(a.message, b.message, "{op} {args} -> {out}"),
                (a, b) => panic!("{op} {args} -> {out}: {a:?} / {b:?}"),
            }
        }
    }
    // An overflow still reaches the general call, which reports it.
    let err = query::q(
        "[:find ?c :in ?a ?b :where [(* ?a ?b) ?c]]",
        &[
            Input::Value(Edn::Long(i64::MAX)),
            Input::Value(Edn::Long(2)),
        ],
    )
    .unwrap_err();
    assert!(err.to_string().contains("integer overflow"), "{err}");
}
