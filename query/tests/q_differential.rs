//! Differential test: random queries (patterns, predicates, `not`, `or`) over small random
//! databases must give the same result from the engine as from a naive evaluator that
//! runs nested loops over every datom in the order the clauses are written.

use std::collections::{BTreeMap, HashSet};

use levin_datalog::{Conn, Index};
use levin_edn::{read, Edn};
use levin_query::Input;
use proptest::prelude::*;

#[path = "q_support/reads.rs"]
mod reads;

type Env = BTreeMap<String, Edn>;
type Datom3 = (Edn, Edn, Edn);

#[derive(Debug, Clone)]
enum T {
    Var(&'static str),
    Blank,
    Const(i64),
    Attr(&'static str),
}

#[derive(Debug, Clone)]
struct Pat(T, T, T);

#[derive(Debug, Clone)]
enum Cl {
    Pat(Pat),
    Pred(&'static str, T, T),
    Not(Vec<Pat>),
    Or(Vec<Pat>),
}

fn render_t(t: &T) -> String {
    match t {
        T::Var(v) => v.to_string(),
        T::Blank => "_".into(),
        T::Const(n) => n.to_string(),
        T::Attr(a) => a.to_string(),
    }
}

fn render_p(p: &Pat) -> String {
    format!("[{} {} {}]", render_t(&p.0), render_t(&p.1), render_t(&p.2))
}

fn render(find: &[&str], cls: &[Cl]) -> String {
    let body: Vec<String> = cls
        .iter()
        .map(|c| match c {
            Cl::Pat(p) => render_p(p),
            Cl::Pred(op, a, b) => format!("[({op} {} {})]", render_t(a), render_t(b)),
            Cl::Not(ps) => format!(
                "(not {})",
                ps.iter().map(render_p).collect::<Vec<_>>().join(" ")
            ),
            Cl::Or(ps) => format!(
                "(or {})",
                ps.iter().map(render_p).collect::<Vec<_>>().join(" ")
            ),
        })
        .collect();
    format!("[:find {} :where {}]", find.join(" "), body.join(" "))
}

/// The same query with each predicate's constant passed as a scalar `:in` value instead
/// (`?k0`, `?k1`, ...), and those values: it must give the same rows (such inputs are
/// written into the predicates as constants, so both forms run alike).
fn render_inputs(find: &[&str], cls: &[Cl]) -> Option<(String, Vec<Edn>)> {
    let mut values = vec![];
    let cls: Vec<Cl> = cls
        .iter()
        .map(|c| match c {
            Cl::Pred(op, a, T::Const(n)) => {
                values.push(Edn::Long(*n));
                let name: &'static str = ["?k0", "?k1", "?k2", "?k3"][values.len() - 1];
                Cl::Pred(op, a.clone(), T::Var(name))
            }
            other => other.clone(),
        })
        .collect();
    if values.is_empty() {
        return None;
    }
    let text = render(find, &cls);
    let ins: Vec<String> = (0..values.len()).map(|i| format!("?k{i}")).collect();
    let text = text.replacen(" :where", &format!(" :in $ {} :where", ins.join(" ")), 1);
    Some((text, values))
}

// ---- the naive evaluator ------------------------------------------------------------------

fn value(t: &T) -> Option<Edn> {
    match t {
        T::Const(n) => Some(Edn::Long(*n)),
        T::Attr(a) => Some(read(a).unwrap()),
        _ => None,
    }
}

fn unify(env: &Env, t: &T, v: &Edn) -> Option<Env> {
    match t {
        T::Blank => Some(env.clone()),
        T::Var(x) => match env.get(*x) {
            Some(b) if b != v => None,
            Some(_) => Some(env.clone()),
            None => {
                let mut e = env.clone();
                e.insert(x.to_string(), v.clone());
                Some(e)
            }
        },
        _ => (value(t).as_ref() == Some(v)).then(|| env.clone()),
    }
}

fn match_pat(db: &[Datom3], env: &Env, p: &Pat) -> Vec<Env> {
    let mut out = vec![];
    for (e, a, v) in db {
        let Some(x) = unify(env, &p.0, e) else {
            continue;
        };
        let Some(x) = unify(&x, &p.1, a) else {
            continue;
        };
        if let Some(x) = unify(&x, &p.2, v) {
            out.push(x);
        }
    }
    out
}

fn naive(db: &[Datom3], find: &[&str], cls: &[Cl]) -> HashSet<Vec<Edn>> {
    let mut envs = vec![Env::new()];
    // Patterns, then or, then filters, each in written order.
    for c in cls {
        if let Cl::Pat(p) = c {
            envs = envs.iter().flat_map(|e| match_pat(db, e, p)).collect();
        }
    }
    for c in cls {
        if let Cl::Or(ps) = c {
            envs = envs
                .iter()
                .flat_map(|e| {
                    ps.iter()
                        .flat_map(|p| match_pat(db, e, p))
                        .collect::<Vec<_>>()
                })
                .collect();
        }
    }
    for c in cls {
        match c {
            Cl::Pred(op, a, b) => envs.retain(|e| {
                let get = |t: &T| match t {
                    T::Var(x) => e[*x].clone(),
                    other => value(other).unwrap(),
                };
                let (x, y) = (get(a), get(b));
                match *op {
                    "<" => x < y,
                    ">" => x > y,
                    "=" => x == y,
                    _ => x != y,
                }
            }),
            Cl::Not(ps) => envs.retain(|e| {
                let mut inner = vec![e.clone()];
                for p in ps {
                    inner = inner.iter().flat_map(|x| match_pat(db, x, p)).collect();
                }
                inner.is_empty()
            }),
            _ => {}
        }
    }
    envs.iter()
        .map(|e| find.iter().map(|v| e[*v].clone()).collect())
        .collect()
}

// ---- generators ---------------------------------------------------------------------------

const ATTRS: [&str; 3] = [":p", ":q", ":r"];

fn db_strategy() -> impl Strategy<Value = Vec<(i64, usize, i64)>> {
    prop::collection::vec((1i64..=6, 0usize..3, 0i64..=6), 0..25)
}

fn pat_strategy(vars: &'static [&'static str]) -> impl Strategy<Value = Pat> {
    let e = prop_oneof![4 => prop::sample::select(vars).prop_map(T::Var), 1 => (1i64..=6).prop_map(T::Const)];
    let a = prop_oneof![6 => prop::sample::select(&ATTRS[..]).prop_map(T::Attr), 1 => Just(T::Var("?at"))];
    let v = prop_oneof![
        4 => prop::sample::select(vars).prop_map(T::Var),
        2 => (0i64..=6).prop_map(T::Const),
        1 => Just(T::Blank)
    ];
    (e, a, v).prop_map(|(e, a, v)| Pat(e, a, v))
}

fn vars_of(p: &Pat) -> Vec<&'static str> {
    [&p.0, &p.1, &p.2]
        .iter()
        .filter_map(|t| if let T::Var(v) = t { Some(*v) } else { None })
        .collect()
}

#[derive(Debug, Clone)]
struct Case {
    pats: Vec<Pat>,
    preds: Vec<(usize, usize, i64, usize)>,
    nots: Vec<Pat>,
    ors: Option<(Pat, Pat)>,
    shuffle: u64,
    /// Bit i set: the i-th bound variable is left out of `:find` (at least one stays), so
    /// that a pattern can bind variables nothing reads (evaluated as a semi-join).
    hide: u8,
}

fn case_strategy() -> impl Strategy<Value = Case> {
    const V: &[&str] = &["?e", "?f", "?x", "?y"];
    const L: &[&str] = &["?e", "?x", "?z"];
    (
        prop::collection::vec(pat_strategy(V), 1..4),
        prop::collection::vec((0usize..4, 0usize..4, 0i64..=6, 0usize..4), 0..3),
        prop::collection::vec(pat_strategy(L), 0..2),
        prop::option::of((pat_strategy(&["?e", "?x"]), pat_strategy(&["?e", "?x"]))),
        any::<u64>(),
        prop_oneof![1 => Just(0u8), 1 => any::<u8>()],
    )
        .prop_map(|(pats, preds, nots, ors, shuffle, hide)| Case {
            pats,
            preds,
            nots,
            ors,
            shuffle,
            hide,
        })
}

fn build(case: &Case) -> Option<(Vec<&'static str>, Vec<Cl>)> {
    let mut cls: Vec<Cl> = case.pats.iter().cloned().map(Cl::Pat).collect();
    let mut bound: Vec<&'static str> = vec![];
    for p in &case.pats {
        for v in vars_of(p) {
            if !bound.contains(&v) {
                bound.push(v);
            }
        }
    }
    if let Some((a, b)) = &case.ors {
        // Both branches must use the same variables.
        let (mut va, mut vb) = (vars_of(a), vars_of(b));
        va.sort();
        va.dedup();
        vb.sort();
        vb.dedup();
        if va == vb && !va.contains(&"?at") {
            for v in va {
                if !bound.contains(&v) {
                    bound.push(v);
                }
            }
            cls.push(Cl::Or(vec![a.clone(), b.clone()]));
        }
    }
    let value_vars: Vec<&'static str> = bound.iter().copied().filter(|v| *v != "?at").collect();
    if !value_vars.is_empty() {
        for &(i, op, c, j) in &case.preds {
            let a = T::Var(value_vars[i % value_vars.len()]);
            let b = if j % 2 == 0 {
                T::Const(c)
            } else {
                T::Var(value_vars[j % value_vars.len()])
            };
            cls.push(Cl::Pred(["<", ">", "=", "!="][op], a, b));
        }
    }
    for n in &case.nots {
        // ?z is local to the not; ?e/?x must be bound outside.
        if vars_of(n)
            .iter()
            .any(|v| *v != "?z" && *v != "?at" && !bound.contains(v))
            || vars_of(n).contains(&"?at")
        {
            continue;
        }
        cls.push(Cl::Not(vec![n.clone()]));
    }
    if bound.is_empty() {
        return None;
    }
    // Any clause order: the engine must not depend on it.
    let mut s = case.shuffle;
    for i in (1..cls.len()).rev() {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        cls.swap(i, (s >> 33) as usize % (i + 1));
    }
    let mut find: Vec<&'static str> = bound
        .iter()
        .enumerate()
        .filter(|(i, _)| case.hide >> (i % 8) & 1 == 0)
        .map(|(_, v)| *v)
        .collect();
    if find.is_empty() {
        find.push(bound[0]);
    }
    Some((find, cls))
}

/// The rows of `text` over `inputs` (the first the database), each once.
fn db_rows(text: &str, inputs: &[Input<'_>]) -> HashSet<Vec<Edn>> {
    let rows = match levin_query::q(text, inputs) {
        Ok(r) => r.rows,
        Err(e) => panic!("{text}: {e}"),
    };
    let n = rows.len();
    let set: HashSet<Vec<Edn>> = rows.into_iter().collect();
    assert_eq!(n, set.len(), "query {text} returned a row twice");
    set
}

static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static NONEMPTY: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    #[test]
    fn engine_agrees_with_naive_evaluator(data in db_strategy(), cases in prop::collection::vec(case_strategy(), 1..8)) {
        let dir = tempfile::tempdir().unwrap();
        let conn = Conn::open(dir.path(), "{:p {:db/cardinality :db.cardinality/many}}").unwrap();
        let tx: Vec<String> = data.iter().map(|(e, a, v)| format!("[:db/add {e} {} {v}]", ATTRS[*a])).collect();
        conn.transact(&read(&format!("[{}]", tx.join(" "))).unwrap()).unwrap();
        let db = conn.db().unwrap();
        let datoms: Vec<Datom3> = db
            .datoms(Index::Eav, &[])
            .unwrap()
            .map(|d| {
                let d = d.unwrap();
                (Edn::Long(d.e as i64), Edn::Keyword(d.a), d.v)
            })
            .collect();
        for case in &cases {
            let Some((find, cls)) = build(case) else { continue };
            let text = render(&find, &cls);
            let expected = naive(&datoms, &find, &cls);
            // Each way of reading an entity's values must give the same answer.
            reads::same_rows_every_read(&db, &text, &expected)?;
            if let Some((text, values)) = render_inputs(&find, &cls) {
                let mut inputs = vec![Input::Db(&db)];
                inputs.extend(values.into_iter().map(Input::Value));
                let rows = db_rows(&text, &inputs);
                prop_assert_eq!(&rows, &expected, "query {} with inputs", text);
            }
            if !expected.is_empty() {
                NONEMPTY.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

#[test]
fn differential_runs_enough_queries() {
    // Runs the property in this thread too, then checks it exercised real queries.
    engine_agrees_with_naive_evaluator();
    let (run, nonempty) = (
        RUN.load(std::sync::atomic::Ordering::Relaxed),
        NONEMPTY.load(std::sync::atomic::Ordering::Relaxed),
    );
    eprintln!("differential: {run} queries, {nonempty} with non-empty results");
    assert!(
        run >= 100 && nonempty >= 20,
        "{run} queries, {nonempty} non-empty"
    );
}
