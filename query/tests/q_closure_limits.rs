//! Closures answered by the walk over entity ids honour the row ceiling (`:max-rows`)
//! exactly: a limit one short of the answer count fails, the answer count itself passes,
//! for the whole closure and for a call from a bound node, in either direction.

use levin_datalog::Conn;
use levin_edn::read;
use levin_query::{DbQuery, ErrorKind, Input};

const FORWARD: &str = "[[(r ?a ?b) [?a :link ?b]] [(r ?a ?b) [?a :link ?t] (r ?t ?b)]]";
const BACKWARD: &str = "[[(r ?a ?b) [?b :link ?a]] [(r ?a ?b) [?t :link ?a] (r ?t ?b)]]";

/// A ring of `n` nodes (`i -> i + 1`) and a chain of `n` more nodes hanging off node 1.
fn graph(n: u64) -> (tempfile::TempDir, Conn) {
    let dir = tempfile::tempdir().unwrap();
    let conn = Conn::open(
        dir.path(),
        "{:link {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}}",
    )
    .unwrap();
    let mut tx = vec![];
    for i in 1..=n {
        tx.push(format!("[:db/add {i} :link {}]", i % n + 1));
    }
    tx.push(format!("[:db/add 1 :link {}]", n + 1));
    for i in n + 1..2 * n {
        tx.push(format!("[:db/add {i} :link {}]", i + 1));
    }
    conn.transact(&read(&format!("[{}]", tx.join(" "))).unwrap())
        .unwrap();
    (dir, conn)
}

fn count(conn: &Conn, q: &str, rules: &str) -> Result<usize, ErrorKind> {
    let inputs = [Input::Value(read(rules).unwrap())];
    conn.db()
        .unwrap()
        .q(q, &inputs)
        .map(|r| r.len())
        .map_err(|e| e.kind)
}

#[test]
fn id_walk_closures_stop_exactly_at_max_rows() {
    // Sizes on both sides of the walk's per-node reading budget.
    for n in [20u64, 700] {
        let (_d, conn) = graph(n);
        for (rules, name) in [(FORWARD, "forward"), (BACKWARD, "backward")] {
            let all = count(&conn, "[:find ?a ?b :in $ % :where (r ?a ?b)]", rules).unwrap();
            let from = count(&conn, "[:find ?b :in $ % :where (r 1 ?b)]", rules).unwrap();
            assert!(all > from && from > 1, "{name} {n}: {all} {from}");
            for (q, answers) in [
                ("[:find ?a ?b :max-rows M :in $ % :where (r ?a ?b)]", all),
                ("[:find ?b :max-rows M :in $ % :where (r 1 ?b)]", from),
            ] {
                let at = q.replace('M', &answers.to_string());
                let short = q.replace('M', &(answers - 1).to_string());
                assert_eq!(count(&conn, &at, rules), Ok(answers), "{name} {n}: {at}");
                assert_eq!(
                    count(&conn, &short, rules),
                    Err(ErrorKind::TooLarge),
                    "{name} {n}: {short}"
                );
            }
        }
    }
}
