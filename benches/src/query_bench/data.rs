//! The data of DataScript's benchmark suite (`bench/datascript/bench/bench.cljc`), generated
//! deterministically from a seed and written as EDN text that both engines read.
//!
//! - [`people`]: `random-man` records: `:name` (8 first names), `:last-name` (6),
//!   `:full-name`, `:alias` (0-9 picks, repeats allowed, from 11 pen names; cardinality
//!   many), `:sex` (`:male`/`:female`), `:age` (0-99), `:salary` (0-99,999), shuffled like
//!   DataScript's `*people20k`. Entity ids are explicit integers (`:db/id 1..n` before the
//!   shuffle) rather than DataScript's string tempids, so both engines assign the same ids
//!   and their results can be compared as sets.
//! - [`wide_graph`] and [`long_graph`]: the `:follows` graphs of the rules benchmarks.
//! - [`orders`]: an order-shaped data set (customers, products in a category tree, orders
//!   whose lines are nested component maps), with its own schema [`ORDERS_SCHEMA`].

use std::fmt::Write as _;

use levin_benches::Rng;

/// The schema of DataScript's benchmark (as of tonsky/datascript 100ab86).
pub const SCHEMA: &str = "{:id {:db/unique :db.unique/identity}
 :follows {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
 :alias {:db/cardinality :db.cardinality/many}}";

const NAMES: [&str; 8] = [
    "Ivan", "Petr", "Sergei", "Oleg", "Yuri", "Dmitry", "Fedor", "Denis",
];
const LAST_NAMES: [&str; 6] = [
    "Ivanov",
    "Petrov",
    "Sidorov",
    "Kovalev",
    "Kuznetsov",
    "Voronoi",
];
const ALIASES: [&str; 11] = [
    "A. C. Q. W.",
    "A. J. Finn",
    "A.A. Fair",
    "Aapeli",
    "Aaron Wolfe",
    "Abigail Van Buren",
    "Jeanne Phillips",
    "Abram Tertz",
    "Abu Nuwas",
    "Acton Bell",
    "Adunis",
];

/// Seed of the people data.
pub const PEOPLE_SEED: u64 = 0x00DA_7A5C_21F7;

/// The attributes of one `random-man` (everything but `:db/id`), as EDN map entries.
fn random_man(rng: &mut Rng, out: &mut String) {
    let name = NAMES[rng.below(NAMES.len())];
    let last = LAST_NAMES[rng.below(LAST_NAMES.len())];
    let n_alias = rng.below(10);
    let aliases: Vec<String> = (0..n_alias)
        .map(|_| format!("\"{}\"", ALIASES[rng.below(ALIASES.len())]))
        .collect();
    let sex = if rng.below(2) == 0 {
        ":male"
    } else {
        ":female"
    };
    let age = rng.below(100);
    let salary = rng.below(100_000);
    let _ = write!(
        out,
        " :name \"{name}\" :last-name \"{last}\" :full-name \"{name} {last}\" :alias [{}] \
         :sex {sex} :age {age} :salary {salary}",
        aliases.join(" ")
    );
}

/// `n` people as an EDN vector of entity maps, one per line, in shuffled order.
pub fn people(n: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut rows: Vec<String> = (1..=n)
        .map(|id| {
            let mut s = format!("{{:db/id {id}");
            random_man(&mut rng, &mut s);
            s.push('}');
            s
        })
        .collect();
    rng.shuffle(&mut rows);
    format!("[{}]\n", rows.join("\n "))
}

/// DataScript's `wide-db depth width`: a tree from node 1 in which node `id` follows its
/// children `id*width + i`; every node is a `random-man` with `:id id`.
pub fn wide_graph(depth: usize, width: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut rows = Vec::new();
    fn node(id: usize, depth: usize, width: usize, rng: &mut Rng, rows: &mut Vec<String>) {
        let mut s = format!("{{:db/id {id} :id {id}");
        random_man(rng, &mut s);
        if depth > 0 {
            let children: Vec<usize> = (0..width).map(|i| id * width + i).collect();
            let list: Vec<String> = children.iter().map(|c| c.to_string()).collect();
            let _ = write!(s, " :follows [{}]}}", list.join(" "));
            rows.push(s);
            for c in children {
                node(c, depth - 1, width, rng, rows);
            }
        } else {
            s.push('}');
            rows.push(s);
        }
    }
    node(1, depth, width, &mut rng, &mut rows);
    format!("[{}]\n", rows.join("\n "))
}

/// DataScript's `long-db depth width`: `width` chains of `depth + 1` nodes named "Ivan",
/// each following the next (ids start at 1).
pub fn long_graph(depth: usize, width: usize) -> String {
    let mut rows = Vec::new();
    for x in 0..width {
        for y in 0..depth {
            let from = x * (depth + 1) + y + 1;
            let to = from + 1;
            rows.push(format!(
                "{{:db/id {from} :name \"Ivan\" :follows {to}}} {{:db/id {to} :name \"Ivan\"}}"
            ));
        }
    }
    format!("[{}]\n", rows.join("\n "))
}

/// Number of nodes of `wide_graph(depth, width)`.
pub fn wide_nodes(depth: usize, width: usize) -> usize {
    (0..=depth).map(|d| width.pow(d as u32)).sum()
}

/// The schema of [`orders`].
pub const ORDERS_SCHEMA: &str = "{:customer/email {:db/unique :db.unique/identity}
 :category/parent {:db/valueType :db.type/ref}
 :product/category {:db/valueType :db.type/ref}
 :product/tags {:db/cardinality :db.cardinality/many}
 :order/customer {:db/valueType :db.type/ref}
 :order/lines {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many :db/isComponent true}
 :line/product {:db/valueType :db.type/ref}}";

const TIERS: [&str; 3] = [":bronze", ":silver", ":gold"];
const STATUSES: [&str; 4] = [":new", ":paid", ":shipped", ":cancelled"];
const TAGS: [&str; 6] = [":sale", ":new", ":eco", ":bulk", ":gift", ":clearance"];

/// Seed of the orders data.
pub const ORDERS_SEED: u64 = 0x0_0DE5_5EED;

/// An order-shaped data set of `n` orders (and `n / 10` customers and products, a category
/// tree of 3 levels of fan-out 4 under one root), one transaction of entity maps. Ids are
/// explicit for customers, categories, products and orders; order lines (1-4 per order) are
/// nested component maps without ids.
pub fn orders(n: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut rows = Vec::new();
    // Categories 1..=85: 1 is the root, node k has children 4k-2..=4k+1.
    let n_cat = 1 + 4 + 16 + 64;
    for c in 1..=n_cat {
        let parent = if c == 1 {
            String::new()
        } else {
            format!(" :category/parent {}", (c + 2) / 4)
        };
        rows.push(format!("{{:db/id {c} :category/name \"cat-{c}\"{parent}}}"));
    }
    let n_prod = (n / 10).max(10);
    let prod0 = 1000;
    for i in 0..n_prod {
        let id = prod0 + i;
        let cat = 22 + rng.below(64);
        let n_tags = rng.below(3);
        let tags: Vec<&str> = (0..n_tags).map(|_| TAGS[rng.below(TAGS.len())]).collect();
        rows.push(format!(
            "{{:db/id {id} :product/name \"product-{i}\" :product/category {cat} :product/price {} :product/tags [{}]}}",
            1 + rng.below(500),
            tags.join(" ")
        ));
    }
    let n_cust = (n / 10).max(10);
    let cust0 = prod0 + n_prod + 1000;
    for i in 0..n_cust {
        let id = cust0 + i;
        rows.push(format!(
            "{{:db/id {id} :customer/name \"{} {}\" :customer/email \"c{i}@example.com\" :customer/tier {}}}",
            NAMES[rng.below(NAMES.len())],
            LAST_NAMES[rng.below(LAST_NAMES.len())],
            TIERS[rng.below(TIERS.len())]
        ));
    }
    let order0 = cust0 + n_cust + 1000;
    for i in 0..n {
        let id = order0 + i;
        let n_lines = 1 + rng.below(4);
        let lines: Vec<String> = (0..n_lines)
            .map(|_| {
                // Products in the first half of the list only: the rest are never ordered.
                format!(
                    "{{:line/product {} :line/qty {}}}",
                    prod0 + rng.below(n_prod / 2),
                    1 + rng.below(9)
                )
            })
            .collect();
        rows.push(format!(
            "{{:db/id {id} :order/customer {} :order/status {} :order/lines [{}]}}",
            cust0 + rng.below(n_cust),
            STATUSES[rng.below(STATUSES.len())],
            lines.join(" ")
        ));
    }
    format!("[{}]\n", rows.join("\n "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_shaped() {
        assert_eq!(people(50, 1), people(50, 1));
        assert_ne!(people(50, 1), people(50, 2));
        assert_eq!(people(50, 1).lines().count(), 50);
        assert_eq!(wide_graph(3, 3, 1).lines().count(), wide_nodes(3, 3));
        assert_eq!(wide_nodes(3, 3), 40);
        assert_eq!(long_graph(10, 3).lines().count(), 30);
        assert_eq!(orders(100, 1), orders(100, 1));
        assert_eq!(orders(100, 1).lines().count(), 85 + 10 + 10 + 100);
    }
}
