//! Model test for joins on one entity ("stars") and the projections after them: random
//! star and chain queries over cardinality-one, cardinality-many and unique attributes,
//! with variables left out of `:find` and with aggregates, must give what a naive
//! nested-loop evaluator gives (a function binding a scalar follows now and then). It covers the merge scan of lone patterns, the projection
//! fused into merge scans, and the deduplication skipped when the dropped columns are
//! fixed by kept ones (through a cardinality-one or a unique attribute), each under every
//! way of reading entities.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use levin_datalog::Conn;
use levin_edn::{read, Edn};
use proptest::prelude::*;

#[path = "q_support/reads.rs"]
mod reads;

const SCHEMA: &str = "{:m {:db/cardinality :db.cardinality/many}
                       :b {:db/valueType :db.type/ref}
                       :u {:db/unique :db.unique/value}}";
/// `:a`, `:b` cardinality one (`:b` a reference: its values are entity ids, so a value
/// bound earlier can be fixed by the entity); `:m` many; `:u` unique (each entity's own
/// value).
const ATTRS: [&str; 4] = [":a", ":b", ":m", ":u"];
const VARS: [&str; 4] = ["?e", "?x", "?y", "?z"];

type Env = BTreeMap<&'static str, i64>;

/// A pattern `[?var :attr ?var]`: entity variable, attribute, value variable.
#[derive(Debug, Clone)]
struct Pat(usize, usize, usize);

#[derive(Debug, Clone)]
struct Case {
    pats: Vec<Pat>,
    /// Bit i set: variable i is left out of `:find`.
    hide: u8,
    /// 0: a relation; 1: count; 2: count-distinct; 3: sum with `:with` of the hidden
    /// variables.
    agg: u8,
    /// Whether `[(* ?v 2) ?w]` follows, `?v` the first pattern's value variable.
    times: bool,
}

fn datoms(data: &[(i64, usize, i64)]) -> Vec<(i64, usize, i64)> {
    // What the store keeps: the last value of a cardinality-one attribute, a set for `:m`;
    // `:u` values are 100 + the entity, so they are unique by construction.
    let mut one: BTreeMap<(i64, usize), i64> = BTreeMap::new();
    let mut many: BTreeSet<(i64, usize, i64)> = BTreeSet::new();
    for &(e, a, v) in data {
        match a {
            2 => {
                many.insert((e, a, v));
            }
            3 => {
                one.insert((e, a), 100 + e);
            }
            _ => {
                one.insert((e, a), v);
            }
        }
    }
    one.into_iter()
        .map(|((e, a), v)| (e, a, v))
        .chain(many)
        .collect()
}

fn naive(db: &[(i64, usize, i64)], case: &Case, find: &[&'static str]) -> HashSet<Vec<Edn>> {
    let mut envs = vec![Env::new()];
    for p in &case.pats {
        let mut next = vec![];
        for env in &envs {
            for &(e, a, v) in db {
                if a != p.1 {
                    continue;
                }
                let mut x = env.clone();
                let ok = [(VARS[p.0], e), (VARS[p.2], v)]
                    .into_iter()
                    .all(|(var, val)| *x.entry(var).or_insert(val) == val);
                if ok {
                    next.push(x);
                }
            }
        }
        envs = next;
    }
    if case.times {
        let v = VARS[case.pats[0].2];
        for env in &mut envs {
            let w = env[v] * 2;
            env.insert("?w", w);
        }
    }
    let bound: Vec<&'static str> = bound_vars(case);
    let hidden: Vec<&'static str> = bound
        .iter()
        .copied()
        .filter(|v| !find.contains(v))
        .collect();
    // Distinct bindings of the find (and :with) variables, as the query language has it.
    let mut with: Vec<&'static str> = find.to_vec();
    if case.agg == 3 {
        with.extend(&hidden);
    }
    let tuples: BTreeSet<Vec<i64>> = envs
        .iter()
        .map(|e| with.iter().map(|v| e[v]).collect())
        .collect();
    if case.agg == 0 {
        return tuples
            .into_iter()
            .map(|t| t.into_iter().map(Edn::Long).collect())
            .collect();
    }
    // Grouped by all find variables but the last, aggregated over the last.
    let k = find.len() - 1;
    let mut groups: BTreeMap<Vec<i64>, Vec<i64>> = BTreeMap::new();
    for t in &tuples {
        groups.entry(t[..k].to_vec()).or_default().push(t[k]);
    }
    groups
        .into_iter()
        .map(|(key, vals)| {
            let agg = match case.agg {
                1 => vals.len() as i64,
                2 => vals.iter().collect::<BTreeSet<_>>().len() as i64,
                _ => vals.iter().sum(),
            };
            key.into_iter().chain([agg]).map(Edn::Long).collect()
        })
        .collect()
}

fn bound_vars(case: &Case) -> Vec<&'static str> {
    let mut out = vec![];
    for p in &case.pats {
        for v in [VARS[p.0], VARS[p.2]] {
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    if case.times {
        out.push("?w");
    }
    out
}

/// The query text and its find variables (for an aggregate, the last is aggregated), or
/// `None` when the case has a pattern with the same variable twice or nothing to find.
fn render(case: &Case) -> Option<(String, Vec<&'static str>)> {
    if case.pats.iter().any(|p| p.0 == p.2) {
        return None;
    }
    let bound = bound_vars(case);
    let mut find: Vec<&'static str> = bound
        .iter()
        .enumerate()
        .filter(|(i, _)| case.hide >> i & 1 == 0)
        .map(|(_, v)| *v)
        .collect();
    if find.is_empty() {
        find.push(bound[0]);
    }
    let hidden: Vec<&'static str> = bound
        .iter()
        .copied()
        .filter(|v| !find.contains(v))
        .collect();
    let mut body: Vec<String> = case
        .pats
        .iter()
        .map(|p| format!("[{} {} {}]", VARS[p.0], ATTRS[p.1], VARS[p.2]))
        .collect();
    if case.times {
        body.push(format!("[(* {} 2) ?w]", VARS[case.pats[0].2]));
    }
    let last = find[find.len() - 1];
    let head = &find[..find.len() - 1];
    let spec = match case.agg {
        0 => find.join(" "),
        1 => format!("{} (count {last})", head.join(" ")),
        2 => format!("{} (count-distinct {last})", head.join(" ")),
        _ => format!("{} (sum {last})", head.join(" ")),
    };
    let with = if case.agg == 3 && !hidden.is_empty() {
        format!(" :with {}", hidden.join(" "))
    } else {
        String::new()
    };
    Some((
        format!("[:find {spec}{with} :where {}]", body.join(" ")),
        find,
    ))
}

fn case_strategy() -> impl Strategy<Value = Case> {
    // Stars on ?e mostly, with chains through values as entities.
    let pat = (
        prop_oneof![4 => Just(0usize), 1 => 1usize..4],
        0usize..4,
        1usize..4,
    )
        .prop_map(|(e, a, v)| Pat(e, a, v));
    (
        prop::collection::vec(pat, 1..5),
        any::<u8>(),
        0u8..4,
        any::<bool>(),
    )
        .prop_map(|(pats, hide, agg, times)| Case {
            pats,
            hide,
            agg,
            times,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    #[test]
    fn star_joins_agree_with_naive_evaluator(
        data in prop::collection::vec((1i64..=8, 0usize..4, 1i64..=8), 0..40),
        cases in prop::collection::vec(case_strategy(), 1..8),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let conn = Conn::open(dir.path(), SCHEMA).unwrap();
        let db_datoms = datoms(&data);
        let tx: Vec<String> = db_datoms
            .iter()
            .map(|(e, a, v)| format!("[:db/add {e} {} {v}]", ATTRS[*a]))
            .collect();
        conn.transact(&read(&format!("[{}]", tx.join(" "))).unwrap()).unwrap();
        let db = conn.db().unwrap();
        for case in &cases {
            let Some((text, find)) = render(case) else { continue };
            let expected = naive(&db_datoms, case, &find);
            reads::same_rows_every_read(&db, &text, &expected)?;
        }
    }
}

/// A reference value bound before its pattern is fixed by the entity only through a
/// cardinality-one attribute: through a cardinality-many one, dropping it must still
/// deduplicate (order 10 has two customers of the same tier).
#[test]
fn reference_bound_earlier_is_fixed_only_through_cardinality_one() {
    let dir = tempfile::tempdir().unwrap();
    let conn = Conn::open(
        dir.path(),
        "{:cust {:db/valueType :db.type/ref}
          :custs {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}}",
    )
    .unwrap();
    conn.transact(
        &read(
            "[{:db/id 1 :tier :gold} {:db/id 2 :tier :gold} {:db/id 3 :tier :silver}
              {:db/id 10 :custs [1 2] :cust 1 :status :open}
              {:db/id 11 :custs [3] :cust 3 :status :open}]",
        )
        .unwrap(),
    )
    .unwrap();
    let db = conn.db().unwrap();
    for (text, rows) in [
        (
            "[:find ?t ?o :where [?c :tier ?t] [?o :custs ?c] [?o :status ?s]]",
            "#{[:gold 10] [:silver 11]}",
        ),
        (
            "[:find ?t (count ?o) :where [?c :tier ?t] [?o :custs ?c] [?o :status ?s]]",
            "#{[:gold 1] [:silver 1]}",
        ),
        (
            "[:find ?t ?s (count ?o) :where [?c :tier ?t] [?o :cust ?c] [?o :status ?s]]",
            "#{[:gold :open 1] [:silver :open 1]}",
        ),
    ] {
        let expected: HashSet<Vec<Edn>> = match read(rows).unwrap() {
            Edn::Set(xs) => xs
                .into_iter()
                .map(|r| match r {
                    Edn::Vector(v) => v,
                    other => vec![other],
                })
                .collect(),
            other => panic!("{other}"),
        };
        reads::same_rows_every_read(&db, text, &expected).unwrap();
    }
}
