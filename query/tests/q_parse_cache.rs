//! The cache of parsed queries cannot change an answer: texts that differ only at the end
//! get their own parse, inputs and rules take effect per call, a text that fails to parse
//! fails every time, the cache keeps answering right past its capacity and from several
//! threads at once.

use levin_edn::{read, Edn};
use levin_query::{q, ErrorKind, Input};

fn run(query: &str, inputs: &[&str]) -> Result<Edn, ErrorKind> {
    let inputs: Vec<Input> = inputs
        .iter()
        .map(|s| Input::Value(read(s).unwrap()))
        .collect();
    q(query, &inputs).map(|r| r.to_edn()).map_err(|e| e.kind)
}

#[test]
fn texts_differing_at_the_end_and_inputs_per_call() {
    let plus = |n: i64| format!("[:find ?x . :in ?a :where [(+ ?a {n}) ?x]]");
    for round in 0..3 {
        for n in 1..5 {
            for a in [10, 20] {
                assert_eq!(
                    run(&plus(n), &[&a.to_string()]),
                    Ok(Edn::Long(a + n)),
                    "round {round}"
                );
            }
        }
    }
    // Rules are an input: a cached query text runs with the rules of each call.
    let query = "[:find ?y . :in % ?x :where (r ?x ?y)]";
    let double = "[[(r ?x ?y) [(* ?x 2) ?y]]]";
    let triple = "[[(r ?x ?y) [(* ?x 3) ?y]]]";
    for _ in 0..2 {
        assert_eq!(run(query, &[double, "5"]), Ok(Edn::Long(10)));
        assert_eq!(run(query, &[triple, "5"]), Ok(Edn::Long(15)));
    }
}

#[test]
fn a_bad_text_fails_every_time() {
    for _ in 0..3 {
        assert!(run("[:find ?x :where [?x :a]", &[]).is_err());
        assert!(run("[:find ?x :in ?a :where]", &["1"]).is_err());
    }
}

#[test]
fn past_capacity_and_across_threads() {
    let text = |n: usize| format!("[:find ?x . :in ?a :where [(- ?a {n}) ?x]]");
    for n in 0..700 {
        assert_eq!(run(&text(n), &["1000"]), Ok(Edn::Long(1000 - n as i64)));
    }
    let handles: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                for n in 0..300 {
                    let a = (t * 1000 + 500).to_string();
                    let want = Edn::Long(t as i64 * 1000 + 500 - (n % 50) as i64);
                    assert_eq!(run(&text(n % 50), &[&a]), Ok(want));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}
