//! `levin demo`: builds a sample Datalog database (people, their friends and the cities they
//! live in), then runs a handful of queries and a pull, printing each with its timing.

use levin_query::DbQuery;

/// `println!` that returns the write error (a closed standard output ends the demo).
macro_rules! outln {
    ($($t:tt)*) => {
        super::output::println(format_args!($($t)*))?
    };
}
use std::path::Path;
use std::time::Instant;

use levin_datalog::Conn;
use levin_edn as edn;
use levin_edn::Edn;

use super::error::{At, CliError, Context, Result, ResultExt};

const SCHEMA: &str = r#"{:person/name    {:db/valueType :db.type/string :db/unique :db.unique/identity}
 :person/age     {:db/valueType :db.type/long}
 :person/city    {:db/valueType :db.type/ref}
 :person/friend  {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
 :city/name      {:db/valueType :db.type/string :db/unique :db.unique/identity}
 :city/country   {:db/valueType :db.type/string}
 :dept/name      {:db/valueType :db.type/string :db/unique :db.unique/identity}
 :dept/parent    {:db/valueType :db.type/ref}}"#;

const FIRST: [&str; 8] = [
    "Ivan", "Petr", "Sergei", "Oleg", "Yuri", "Dmitry", "Fedor", "Denis",
];
const LAST: [&str; 6] = [
    "Ivanov",
    "Petrov",
    "Sidorov",
    "Kovalev",
    "Kuznetsov",
    "Voronoi",
];
const CITIES: [(&str, &str); 5] = [
    ("Moscow", "Russia"),
    ("Paris", "France"),
    ("Berlin", "Germany"),
    ("Oslo", "Norway"),
    ("Lyon", "France"),
];

/// The sample data as one transaction: cities, then `people` people with ages, a city and
/// up to three friends each (a seeded generator, so every run builds the same database).
pub fn sample_tx(people: usize) -> Edn {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut text = String::from("[");
    for (name, country) in CITIES {
        text.push_str(&format!(
            "{{:db/id \"city-{name}\" :city/name \"{name}\" :city/country \"{country}\"}}\n"
        ));
    }
    // A small organisation tree for the recursive rule: department i reports to (i-1)/2.
    for i in 0..31 {
        let parent = if i == 0 {
            String::new()
        } else {
            format!(" :dept/parent \"d{}\"", (i - 1) / 2)
        };
        text.push_str(&format!(
            "{{:db/id \"d{i}\" :dept/name \"dept-{i}\"{parent}}}\n"
        ));
    }
    for i in 0..people {
        let friends: Vec<String> = (0..rand(4))
            .map(|_| format!("\"p{}\"", rand(people)))
            .filter(|f| *f != format!("\"p{i}\""))
            .collect();
        text.push_str(&format!(
            "{{:db/id \"p{i}\" :person/name \"{} {} {i}\" :person/age {} :person/city \"city-{}\"{}}}\n",
            FIRST[rand(FIRST.len())],
            LAST[rand(LAST.len())],
            rand(90) + 10,
            CITIES[rand(CITIES.len())].0,
            if friends.is_empty() { String::new() } else { format!(" :person/friend [{}]", friends.join(" ")) }
        ));
    }
    text.push(']');
    edn::read(&text).expect("the sample transaction is valid EDN")
}

const QUERIES: [(&str, &str); 5] = [
    ("people older than 80 in France", r#"[:find (count ?p) . :where [?p :person/age ?a] [(> ?a 80)] [?p :person/city ?c] [?c :city/country "France"]]"#),
    ("average age per city (:with ?p keeps equal ages apart)", "[:find ?city (avg ?a) :with ?p :where [?p :person/city ?c] [?c :city/name ?city] [?p :person/age ?a]]"),
    ("friends of friends of person 0", r#"[:find (count ?ff) . :where [?p :person/name ?n] [(clojure.string/ends-with? ?n " 0")] [?p :person/friend ?f] [?f :person/friend ?ff]]"#),
    ("five oldest, by name", "[:find ?n ?a :where [?p :person/name ?n] [?p :person/age ?a] :order-by [?a :desc ?n :asc] :limit 5]"),
    ("departments above dept-30 (recursive rule)", r#"[:find [?name ...] :in $ % :where [?d :dept/name "dept-30"] (above ?d ?a) [?a :dept/name ?name]]"#),
];

const RULES: &str =
    "[[(above ?d ?a) [?d :dept/parent ?a]] [(above ?d ?a) [?d :dept/parent ?p] (above ?p ?a)]]";

fn ms(t: Instant) -> String {
    format!("{:.2} ms", t.elapsed().as_secs_f64() * 1000.0)
}

/// Runs the demo in `dir`.
pub fn run(dir: &Path) -> Result<()> {
    let people = 10_000;
    if let Some(held) = super::dump::existing_data(dir)? {
        return Err(CliError::Refused(format!(
            "{} already holds data ({held}); the demo builds its database in an empty \
             directory (or, with no DIR, in a temporary one)",
            dir.display()
        )));
    }
    outln!("Levin demo: a Datalog database in {}", dir.display());
    let t = Instant::now();
    let conn = Conn::open(dir, SCHEMA)?;
    outln!("  opened with a schema of 6 attributes ({})", ms(t));
    let tx = sample_tx(people);
    let t = Instant::now();
    let report = conn.transact(&tx)?;
    outln!(
        "  transacted {people} people, 5 cities and 31 departments: {} datoms in one transaction ({})",
        report.tx_data.len(),
        ms(t)
    );
    let db = conn.db()?;
    let rules = edn::read(RULES).expect("valid rules");
    for (what, q) in QUERIES {
        let t = Instant::now();
        let inputs = if q.contains(":in $ %") {
            vec![levin_query::Input::Value(rules.clone())]
        } else {
            Vec::new()
        };
        let r = db.q(q, &inputs).context(Context::at(At::Query(what)))?;
        outln!("\n  {what}\n    {q}\n    => {} ({})", r.to_edn(), ms(t));
    }
    let t = Instant::now();
    let pattern = edn::read(
        "[:person/name :person/age {:person/city [:city/name]} {:person/friend [:person/name]}]",
    )
    .expect("valid pattern");
    let id = report
        .tempid(&Edn::String("p0".into()))
        .ok_or(CliError::Internal("the sample has person p0"))?;
    let pulled = db.pull(&pattern, &Edn::Long(id as i64))?;
    outln!(
        "\n  pull of person 0 with their city and friends\n    => {pulled} ({})",
        ms(t)
    );
    let stat = conn.env().stat()?;
    outln!(
        "\n  file size {} KiB, {} pages of {} bytes",
        stat.file_size / 1024,
        stat.pages,
        stat.page_size
    );
    Ok(())
}
