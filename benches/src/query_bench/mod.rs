//! The query benchmark against Datalevin and DataScript (`query-compare`): the data sets,
//! the benchmark list (same query text for every engine), the timing loop, result
//! canonicalisation, the Levin side ([`levin`]) and the peers ([`datalevin`],
//! [`datascript`], sharing [`peer`]).

pub mod data;
pub mod datalevin;
pub mod datascript;
pub mod levin;
pub mod peer;

use std::fmt::Write as _;

/// How long and how often each benchmark runs.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Warm-up time before the samples (at least one run).
    pub warmup_ms: f64,
    /// Number of samples; the figure reported is their median.
    pub samples: usize,
    /// Each sample runs the operation repeatedly for at least this long (at least once) and
    /// records the mean time per run.
    pub sample_ms: f64,
    /// Samples of the load benchmark (one run each, each on a fresh database).
    pub load_samples: usize,
    /// Whether the load benchmark runs once untimed first.
    pub load_warmup: bool,
}

impl Timing {
    /// The full run.
    pub fn full() -> Timing {
        Timing {
            warmup_ms: 500.0,
            samples: 5,
            sample_ms: 300.0,
            load_samples: 5,
            load_warmup: true,
        }
    }

    /// `--quick`: the whole run in under a minute.
    pub fn quick() -> Timing {
        Timing {
            warmup_ms: 60.0,
            samples: 3,
            sample_ms: 40.0,
            load_samples: 1,
            load_warmup: false,
        }
    }
}

/// What a benchmark does.
#[derive(Clone, Debug)]
pub enum Kind {
    /// Runs `query` with extra inputs `args` (EDN text, after the database).
    Query { query: String, args: Vec<String> },
    /// Loads the data set into an empty database in one transaction.
    Load,
}

/// One benchmark row.
#[derive(Clone, Debug)]
pub struct Bench {
    /// Row name.
    pub name: String,
    /// The data set (`people`, `wide-3x3`, `long-10x3`, ...), the stem of its EDN file.
    pub dataset: String,
    /// What it does.
    pub kind: Kind,
    /// Where it comes from, for the table.
    pub origin: &'static str,
}

const RULES: &str = "[[(follows ?x ?y) [?x :follows ?y]] \
                     [(follows ?x ?y) [?x :follows ?t] (follows ?t ?y)]]";

/// Categories under a category, at any depth.
const UNDER: &str = "[[(under ?r ?c) [?c :category/parent ?r]] \
                     [(under ?r ?c) [?m :category/parent ?r] (under ?m ?c)]]";

fn query(name: &str, origin: &'static str, q: &str, args: &[&str]) -> Bench {
    on("people", name, origin, q, args)
}

fn on(dataset: &str, name: &str, origin: &'static str, q: &str, args: &[&str]) -> Bench {
    Bench {
        name: name.into(),
        dataset: dataset.into(),
        kind: Kind::Query {
            query: q.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
        },
        origin,
    }
}

/// A data set: name and EDN text.
pub struct Dataset {
    /// Name (the file stem).
    pub name: String,
    /// The transaction data (an EDN vector of entity maps).
    pub edn: String,
    /// Number of people or graph nodes, for the report.
    pub size: String,
    /// Its schema (EDN text).
    pub schema: &'static str,
}

/// The graphs of the rules benchmarks: (name, wide?, depth, width); `quick` keeps the
/// smaller ones.
pub fn graphs(quick: bool) -> Vec<(String, bool, usize, usize)> {
    let all = [
        (true, 3, 3),
        (true, 5, 3),
        (true, 7, 3),
        (true, 4, 6),
        (false, 10, 3),
        (false, 30, 3),
        (false, 30, 5),
    ];
    all.iter()
        .filter(|(wide, d, w)| {
            !quick || (*wide && *d <= 5 && *w <= 3) || (!*wide && *d == 30 && *w == 5)
        })
        .map(|&(wide, d, w)| {
            let name = format!("{}-{d}x{w}", if wide { "wide" } else { "long" });
            (name, wide, d, w)
        })
        .collect()
}

/// Orders in the orders data set.
pub fn n_orders(quick: bool) -> usize {
    if quick {
        5_000
    } else {
        20_000
    }
}

/// The data sets: 20,000 people (fewer with `people` set), the graphs and the orders.
pub fn datasets(people: usize, quick: bool) -> Vec<Dataset> {
    let n = n_orders(quick);
    let mut v = vec![
        Dataset {
            name: "people".into(),
            edn: data::people(people, data::PEOPLE_SEED),
            size: format!("{people} people"),
            schema: data::SCHEMA,
        },
        Dataset {
            name: "orders".into(),
            edn: data::orders(n, data::ORDERS_SEED),
            size: format!("{n} orders"),
            schema: data::ORDERS_SCHEMA,
        },
    ];
    for (i, (name, wide, d, w)) in graphs(quick).into_iter().enumerate() {
        let (edn, size) = if wide {
            (
                data::wide_graph(d, w, data::PEOPLE_SEED + 1 + i as u64),
                format!("{} nodes", data::wide_nodes(d, w)),
            )
        } else {
            (data::long_graph(d, w), format!("{} nodes", w * (d + 1)))
        };
        v.push(Dataset {
            name,
            edn,
            size,
            schema: data::SCHEMA,
        });
    }
    v
}

/// The benchmarks, in table order.
pub fn benches(quick: bool) -> Vec<Bench> {
    let ds = "DataScript";
    let dl = "Datalevin";
    let lv = "Levin";
    let mut v = vec![
        query("q1", ds, "[:find ?e :where [?e :name \"Ivan\"]]", &[]),
        query(
            "q2",
            ds,
            "[:find ?e ?a :where [?e :name \"Ivan\"] [?e :age ?a]]",
            &[],
        ),
        query(
            "q2-switch",
            dl,
            "[:find ?e ?a :where [?e :age ?a] [?e :name \"Ivan\"]]",
            &[],
        ),
        query(
            "q3",
            ds,
            "[:find ?e ?a :where [?e :name \"Ivan\"] [?e :age ?a] [?e :sex :male]]",
            &[],
        ),
        query(
            "q4",
            ds,
            "[:find ?e ?l ?a :where [?e :name \"Ivan\"] [?e :last-name ?l] [?e :age ?a] [?e :sex :male]]",
            &[],
        ),
        query(
            "q5-shortcircuit",
            ds,
            "[:find ?e ?n ?l ?a ?s ?al :in $ ?n ?a :where [?e :name ?n] [?e :age ?a] [?e :last-name ?l] [?e :sex ?s] [?e :alias ?al]]",
            &["\"Anastasia\"", "35"],
        ),
        query(
            "q5-value-join",
            dl,
            "[:find ?e1 ?l ?a :where [?e :name \"Ivan\"] [?e :age ?a] [?e1 :age ?a] [?e1 :last-name ?l]]",
            &[],
        ),
        query(
            "qpred1",
            ds,
            "[:find ?e ?s :where [?e :salary ?s] [(> ?s 50000)]]",
            &[],
        ),
        query(
            "qpred2",
            ds,
            "[:find ?e ?s :in $ ?min_s :where [?e :salary ?s] [(> ?s ?min_s)]]",
            &["50000"],
        ),
        query(
            "q-aggregate",
            lv,
            "[:find ?n (count ?e) (sum ?s) (max ?a) :where [?e :name ?n] [?e :salary ?s] [?e :age ?a]]",
            &[],
        ),
    ];
    if quick {
        // DataScript takes seconds per run.
        v.retain(|b| b.name != "q5-value-join");
    }
    v.extend([
        query(
            "q-count-distinct",
            lv,
            "[:find ?n (count-distinct ?al) :where [?e :name ?n] [?e :alias ?al] [?e :sex :male]]",
            &[],
        ),
        query(
            "qpred-range",
            lv,
            "[:find ?e ?a :where [?e :age ?a] [(>= ?a 20)] [(< ?a 30)]]",
            &[],
        ),
    ]);
    for (name, wide, _, _) in graphs(quick) {
        v.push(on(
            &name,
            &format!("rules-{name}"),
            ds,
            "[:find ?e ?e2 :in $ % :where (follows ?e ?e2)]",
            &[RULES],
        ));
        // From the root of the tree, or from the start of the first chain (both entity 1).
        let from = if wide { "root" } else { "start" };
        v.push(on(
            &name,
            &format!("rules-{name}-{from}"),
            lv,
            "[:find ?e2 :in $ % ?e :where (follows ?e ?e2)]",
            &[RULES, "1"],
        ));
    }
    let o = "orders";
    v.extend([
        on(
            o,
            "o-not-ref",
            lv,
            "[:find ?p :where [?p :product/name _] (not [?l :line/product ?p])]",
            &[],
        ),
        on(
            o,
            "o-or-tags",
            lv,
            "[:find ?p :where (or [?p :product/tags :sale] [?p :product/tags :clearance])]",
            &[],
        ),
        on(
            o,
            "o-revenue",
            lv,
            "[:find ?cn (sum ?amt) :with ?l :where [?o :order/status :shipped] [?o :order/customer ?c] \
             [?c :customer/name ?cn] [?o :order/lines ?l] [?l :line/product ?p] [?l :line/qty ?q] \
             [?p :product/price ?pr] [(* ?q ?pr) ?amt]]",
            &[],
        ),
        on(
            o,
            "o-group2",
            lv,
            "[:find ?tier ?status (count ?o) :where [?o :order/customer ?c] [?c :customer/tier ?tier] [?o :order/status ?status]]",
            &[],
        ),
        on(
            o,
            "o-product-sums",
            lv,
            "[:find ?p (sum ?q) :with ?l :where [?l :line/product ?p] [?l :line/qty ?q]]",
            &[],
        ),
        on(
            o,
            "o-pull-nested",
            lv,
            "[:find (pull ?o [:order/status {:order/lines [:line/qty {:line/product [:product/name]}]}]) \
             :where [?o :order/customer ?c] [?c :customer/tier :gold] [?o :order/status :new]]",
            &[],
        ),
        on(
            o,
            "o-rules-category",
            lv,
            "[:find ?p :in $ % ?root :where (under ?root ?c) [?p :product/category ?c]]",
            &[UNDER, "2"],
        ),
    ]);
    v.push(Bench {
        name: "load-20k (one tx)".into(),
        dataset: "people".into(),
        kind: Kind::Load,
        origin: ds,
    });
    v.push(Bench {
        name: format!("load-orders-{}k (one tx)", n_orders(quick) / 1000),
        dataset: "orders".into(),
        kind: Kind::Load,
        origin: lv,
    });
    v
}

/// Runs `op` for the warm-up time, then `samples` samples; returns the mean time per run
/// of each sample, in ms. `op` returning an error stops the measurement.
pub fn measure<E>(t: &Timing, mut op: impl FnMut() -> Result<(), E>) -> Result<Vec<f64>, E> {
    let start = std::time::Instant::now();
    loop {
        op()?;
        if start.elapsed().as_secs_f64() * 1e3 >= t.warmup_ms {
            break;
        }
    }
    let mut out = Vec::with_capacity(t.samples);
    for _ in 0..t.samples {
        let s = std::time::Instant::now();
        let mut n = 0u64;
        loop {
            op()?;
            n += 1;
            let el = s.elapsed().as_secs_f64() * 1e3;
            if el >= t.sample_ms {
                out.push(el / n as f64);
                break;
            }
        }
    }
    Ok(out)
}

/// The median of `xs` (the upper one for an even count, like DataScript's `median`).
pub fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// `min-max` of samples, for the progress log.
pub fn spread(xs: &[f64]) -> String {
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(0.0, f64::max);
    format!("{lo:.3}-{hi:.3}")
}

/// One engine's outcome of one benchmark.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Median ms per run, when it ran.
    pub median_ms: Option<f64>,
    /// Samples (ms per run).
    pub samples: Vec<f64>,
    /// Result rows (or datoms, for the load).
    pub count: Option<u64>,
    /// The canonical rows, sorted (queries only).
    pub rows: Option<Vec<String>>,
    /// What went wrong.
    pub error: Option<String>,
}

/// Whether two outcomes agree: `Ok(what was compared)` or `Err(how they differ)`.
pub fn agree(a: &Outcome, b: &Outcome) -> Result<&'static str, String> {
    match (a.count, b.count) {
        (Some(x), Some(y)) if x != y => return Err(format!("count {x} vs {y}")),
        (Some(_), Some(_)) => {}
        _ => return Ok("-"),
    }
    match (&a.rows, &b.rows) {
        (Some(x), Some(y)) => {
            if x == y {
                Ok("same set")
            } else {
                let first = x
                    .iter()
                    .zip(y)
                    .find(|(p, q)| p != q)
                    .map(|(p, q)| format!("{p:?} vs {q:?}"))
                    .unwrap_or_default();
                Err(format!("same count, different rows: {first}"))
            }
        }
        _ => Ok("same count"),
    }
}

/// Formats milliseconds like DataScript's bench (`round`).
pub fn fmt_ms(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else if ms >= 1.0 {
        format!("{ms:.2}")
    } else if ms >= 0.01 {
        format!("{ms:.3}")
    } else {
        format!("{ms:.5}")
    }
}

/// Appends a markdown table row.
pub fn row(out: &mut String, cells: &[String]) {
    let _ = writeln!(out, "| {} |", cells.join(" | "));
}
