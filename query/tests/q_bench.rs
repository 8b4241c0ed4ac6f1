//! The DataScript benchmark queries on 20k generated people (ignored by default; run with
//! `cargo test --release -p levin-query --test q_bench -- --ignored --nocapture`).

use std::time::Instant;

use levin_query::edn::{read, Edn};
use levin_query::query::Input;
use levin_query::Conn;

#[test]
#[ignore = "a timing run, not a test: run with --ignored --nocapture; benches query-compare is the maintained benchmark"]
fn datascript_bench_queries() {
    let dir = tempfile::tempdir().unwrap();
    let conn = Conn::open(
        dir.path(),
        "{:name {:db/valueType :db.type/string} :last-name {:db/valueType :db.type/string}
          :sex {:db/valueType :db.type/keyword} :age {:db/valueType :db.type/long}
          :salary {:db/valueType :db.type/long}
          :follows {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}}",
    )
    .unwrap();
    let names = [
        "Ivan", "Petr", "Sergei", "Oleg", "Yuri", "Dmitry", "Fedor", "Denis",
    ];
    let lasts = [
        "Ivanov",
        "Petrov",
        "Sidorov",
        "Kovalev",
        "Kuznetsov",
        "Voronoi",
    ];
    let mut s: u64 = 42;
    let mut rnd = |n: u64| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) % n
    };
    let people: Vec<String> = (1..=20000)
        .map(|i| {
            format!(
                "{{:db/id {i} :name \"{}\" :last-name \"{}\" :sex {} :age {} :salary {}}}",
                names[rnd(8) as usize],
                lasts[rnd(6) as usize],
                if rnd(2) == 0 { ":male" } else { ":female" },
                rnd(100),
                rnd(100000)
            )
        })
        .collect();
    conn.transact(&read(&format!("[{}]", people.join(" "))).unwrap())
        .unwrap();
    let chain: Vec<String> = (20001..20300)
        .map(|i| format!("[:db/add {i} :follows {}]", i + 1))
        .collect();
    conn.transact(&read(&format!("[{}]", chain.join(" "))).unwrap())
        .unwrap();
    let db = conn.db().unwrap();
    let queries: Vec<(&str, &str, Vec<Input>)> = vec![
        ("q1", "[:find ?e :where [?e :name \"Ivan\"]]", vec![]),
        ("q2", "[:find ?e ?a :where [?e :name \"Ivan\"] [?e :age ?a]]", vec![]),
        ("q2-switch", "[:find ?e ?a :where [?e :age ?a] [?e :name \"Ivan\"]]", vec![]),
        ("q3", "[:find ?e ?a :where [?e :name \"Ivan\"] [?e :age ?a] [?e :sex :male]]", vec![]),
        ("q4", "[:find ?e ?l ?a :where [?e :name \"Ivan\"] [?e :last-name ?l] [?e :age ?a] [?e :sex :male]]", vec![]),
        ("qpred1", "[:find ?e ?s :where [?e :salary ?s] [(> ?s 50000)]]", vec![]),
        ("qpred2", "[:find ?e ?s :in $ ?min_s :where [?e :salary ?s] [(> ?s ?min_s)]]", vec![Input::Value(Edn::Long(50000))]),
        ("q5", "[:find ?e1 ?l ?a :where [?e :name \"Ivan\"] [?e :age ?a] [?e1 :age ?a] [?e1 :last-name ?l]]", vec![]),
        (
            "rules-long",
            "[:find ?e ?e2 :in $ % :where (follows ?e ?e2)]",
            vec![Input::Value(read("[[(follows ?x ?y) [?x :follows ?y]] [(follows ?x ?y) [?x :follows ?t] (follows ?t ?y)]]").unwrap())],
        ),
    ];
    for (name, q, inputs) in &queries {
        let t = Instant::now();
        let mut n = 0;
        let runs = 5;
        for _ in 0..runs {
            n = db.q(*q, inputs).unwrap().len();
        }
        println!(
            "{name:>10}: {:>9.3} ms/op, {n} rows",
            t.elapsed().as_secs_f64() * 1000.0 / runs as f64
        );
    }
    for i in [1, 3, 7] {
        println!("{}", db.explain(queries[i].1, &[]).unwrap());
    }
}
