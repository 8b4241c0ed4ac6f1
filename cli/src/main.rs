//! `levin`: the command-line tool for Levin databases: demo, query, transact, pull, repl,
//! stat, check, copy, drop, dump, load.
//! Results go to stdout; failures print one line on stderr and exit non-zero.

#![forbid(unsafe_code)]

mod demo;
mod dump;
mod output;
mod progress;
mod repl;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use levin_engine::{Env, EnvOptions, Read, DATA_FILE};

#[derive(Parser)]
#[command(
    name = "levin",
    version,
    about = "Levin database tool",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

use output::Format;

#[derive(Subcommand)]
enum Command {
    /// Build a sample database (in DIR, or a fresh temporary directory), run a handful of
    /// queries and a pull, and print what it did with timings.
    Demo {
        /// Where to build it (default: a new temporary directory, removed afterwards).
        dir: Option<PathBuf>,
    },
    /// Run a Datalog query. Each INPUT is one EDN value bound, in order, to the `:in`
    /// entries after `$` (rules as an EDN vector for `%`).
    #[command(allow_negative_numbers = true)]
    Query {
        /// The database directory.
        dir: PathBuf,
        /// The query, as EDN text.
        query: String,
        /// Inputs for `:in`, as EDN text.
        inputs: Vec<String>,
        /// Run the query N more times and print timings on standard error.
        #[arg(long, value_name = "N")]
        repeat: Option<usize>,
        /// Print the plan (estimated and actual rows, time per step) instead of the result.
        #[arg(long)]
        explain: bool,
        /// Output format.
        #[arg(long, value_enum, default_value = "edn")]
        format: Format,
    },
    /// An interactive prompt for queries, transactions and pulls.
    Repl {
        /// The database directory (created if missing).
        dir: PathBuf,
    },
    /// Apply a transaction (and optionally a schema) to a Datalog database, creating it if
    /// needed. TX is an EDN file, or `-` for standard input.
    Transact {
        /// The database directory.
        dir: PathBuf,
        /// The transaction: an EDN file, or `-` for standard input.
        tx: String,
        /// A schema map (EDN file) to apply first.
        #[arg(long)]
        schema: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "edn")]
        format: Format,
    },
    /// Pull an entity: PATTERN is EDN text, EID an entity id or a lookup ref in EDN.
    #[command(allow_negative_numbers = true)]
    Pull {
        /// The database directory.
        dir: PathBuf,
        /// The pull pattern, e.g. '[*]'.
        pattern: String,
        /// The entity: an id, a lookup ref like '[:person/name "Ivan"]', or an ident.
        eid: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "edn")]
        format: Format,
    },
    /// Environment and per-database statistics, and live readers.
    Stat {
        /// The database directory.
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "edn")]
        format: Format,
    },
    /// Verify checksums, key order, counts and page accounting; exit 1 if anything is wrong.
    /// A commit that recovery passed over at open (damaged, or interrupted before it was
    /// acknowledged) is reported; writes are refused until its rollback is accepted.
    Check {
        /// The database directory.
        dir: PathBuf,
        /// Accept the rollback past a passed-over commit: discard its meta page for good so
        /// the database takes writes again at the commit it opened at.
        #[arg(long)]
        accept_rollback: bool,
    },
    /// Hot backup into a new directory while the database is in use.
    Copy {
        /// The database directory.
        dir: PathBuf,
        /// The new directory.
        dest: PathBuf,
        /// Rewrite the databases so pages are full and free pages are dropped.
        #[arg(long)]
        compact: bool,
    },
    /// Clear key-value databases, or delete them with --delete.
    Drop {
        /// The database directory.
        dir: PathBuf,
        /// Names of the databases.
        #[arg(required = true)]
        dbis: Vec<String>,
        /// Delete the databases instead of clearing them.
        #[arg(long)]
        delete: bool,
    },
    /// Write a portable text dump: the Datalog schema and datoms, then key-value databases.
    Dump {
        /// The database directory.
        dir: PathBuf,
        /// Output file (default: standard output).
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
    },
    /// Load a dump written by `levin dump` (or Datalevin's `dtlv dump -g`) into a
    /// database (created if missing).
    Load {
        /// The database directory.
        dir: PathBuf,
        /// Input file (default: standard input).
        #[arg(short = 'i', long)]
        input: Option<PathBuf>,
    },
}

fn open_existing(dir: &Path) -> Result<Env, String> {
    if !dir.join(DATA_FILE).exists() {
        return Err(format!("{} holds no Levin database", dir.display()));
    }
    Env::open_with(dir, EnvOptions::new()).map_err(|e| e.to_string())
}

fn read_edn(what: &str, text: &str) -> Result<levin_query::edn::Edn, String> {
    levin_query::edn::read(text).map_err(|e| format!("{what}: {e}"))
}

fn read_source(what: &str, src: &str) -> Result<String, String> {
    if src == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut s)
            .map_err(|e| format!("cannot read {what} from standard input: {e}"))?;
        Ok(s)
    } else {
        std::fs::read_to_string(src).map_err(|e| format!("cannot read {what} {src}: {e}"))
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Demo { dir } => match dir {
            Some(dir) => demo::run(&dir),
            None => {
                let tmp = tempfile::tempdir()
                    .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
                demo::run(tmp.path())
            }
        },
        Command::Repl { dir } => repl::run(&dir),
        Command::Query {
            dir,
            query,
            inputs,
            repeat,
            explain,
            format,
        } => {
            open_existing(&dir)?;
            let query = read_edn("query", &query)?;
            let inputs: Vec<levin_query::query::Input> = inputs
                .iter()
                .enumerate()
                .map(|(i, text)| {
                    read_edn(&format!("input {}", i + 1), text)
                        .map(levin_query::query::Input::Value)
                })
                .collect::<Result<_, _>>()?;
            let conn = levin_query::Conn::open(&dir, ()).map_err(|e| e.to_string())?;
            let db = conn.db().map_err(|e| e.to_string())?;
            if explain {
                let plan = db.explain(&query, &inputs).map_err(|e| e.to_string())?;
                print!("{plan}");
                return Ok(());
            }
            let result = db.q(&query, &inputs).map_err(|e| e.to_string())?;
            println!("{}", output::render(&result.to_edn(), format));
            if let Some(n) = repeat {
                let mut times = Vec::with_capacity(n);
                for _ in 0..n {
                    let t = std::time::Instant::now();
                    db.q(&query, &inputs).map_err(|e| e.to_string())?;
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                if !times.is_empty() {
                    times.sort_by(f64::total_cmp);
                    eprintln!(
                        "timing: runs={n} min_ms={:.3} median_ms={:.3} max_ms={:.3}",
                        times[0],
                        times[times.len() / 2],
                        times[times.len() - 1]
                    );
                }
            }
            Ok(())
        }
        Command::Transact {
            dir,
            tx,
            schema,
            format,
        } => {
            let schema = match schema {
                Some(p) => Some(read_edn(
                    &format!("schema {}", p.display()),
                    &read_source("schema", &p.to_string_lossy())?,
                )?),
                None => None,
            };
            let tx_text = read_source("transaction", &tx)?;
            let tx_edn = read_edn(&format!("transaction {tx}"), &tx_text)?;
            let conn = levin_query::Conn::open(&dir, schema).map_err(|e| e.to_string())?;
            let report = conn.transact(&tx_edn).map_err(|e| e.to_string())?;
            let added = report.tx_data.iter().filter(|d| d.added).count();
            let retracted = report.tx_data.len() - added;
            let tempids = levin_query::edn::Edn::Map(
                report
                    .tempids
                    .iter()
                    .map(|(t, e)| (t.clone(), levin_query::edn::Edn::Long(*e as i64)))
                    .collect(),
            );
            match format {
                Format::Edn => println!(
                    "{{:datoms-added {added} :datoms-retracted {retracted} :tempids {tempids}}}"
                ),
                Format::Json => println!(
                    "{{\"datoms_added\":{added},\"datoms_retracted\":{retracted},\"tempids\":{}}}",
                    output::render(&tempids, Format::Json)
                ),
            }
            Ok(())
        }
        Command::Pull {
            dir,
            pattern,
            eid,
            format,
        } => {
            open_existing(&dir)?;
            let pattern = read_edn("pattern", &pattern)?;
            let eid = read_edn("entity id", &eid)?;
            let conn = levin_query::Conn::open(&dir, ()).map_err(|e| e.to_string())?;
            let db = conn.db().map_err(|e| e.to_string())?;
            let v = db.pull(&pattern, &eid).map_err(|e| e.to_string())?;
            println!("{}", output::render(&v, format));
            Ok(())
        }
        Command::Stat { dir, format } => {
            let env = open_existing(&dir)?;
            let s = env.stat().map_err(|e| e.to_string())?;
            let dbs: Vec<String> = s
                .databases
                .iter()
                .map(|d| match format {
                    Format::Edn => format!(
                        "{{:name {:?} :kind :{} :entries {} :depth {} :branch-pages {} :leaf-pages {} :overflow-pages {}}}",
                        d.name,
                        if d.list { "list" } else { "plain" },
                        d.entries,
                        d.depth,
                        d.branch_pages,
                        d.leaf_pages,
                        d.overflow_pages
                    ),
                    Format::Json => format!(
                        "{{\"name\":{:?},\"kind\":\"{}\",\"entries\":{},\"depth\":{},\"branch_pages\":{},\"leaf_pages\":{},\"overflow_pages\":{}}}",
                        d.name,
                        if d.list { "list" } else { "plain" },
                        d.entries,
                        d.depth,
                        d.branch_pages,
                        d.leaf_pages,
                        d.overflow_pages
                    ),
                })
                .collect();
            let readers: Vec<String> = s
                .readers
                .iter()
                .map(|r| match format {
                    Format::Edn => {
                        format!("{{:pid {} :txn {} :age-ms {}}}", r.pid, r.txn, r.age_ms)
                    }
                    Format::Json => format!(
                        "{{\"pid\":{},\"txn\":{},\"age_ms\":{}}}",
                        r.pid, r.txn, r.age_ms
                    ),
                })
                .collect();
            let passed = match (&s.passed_over, format) {
                (None, Format::Edn) => "nil".to_string(),
                (None, Format::Json) => "null".to_string(),
                (Some(p), Format::Edn) => format!(
                    "{{:txn-id {} :meta-page {} :opened-at {} :reason {:?} :accepted {}}}",
                    p.txn_id,
                    p.meta_page,
                    p.opened_at,
                    p.reason.to_string(),
                    s.rollback_accepted
                ),
                (Some(p), Format::Json) => format!(
                    "{{\"txn_id\":{},\"meta_page\":{},\"opened_at\":{},\"reason\":{:?},\"accepted\":{}}}",
                    p.txn_id,
                    p.meta_page,
                    p.opened_at,
                    p.reason.to_string(),
                    s.rollback_accepted
                ),
            };
            match format {
                Format::Edn => println!(
                    "{{:page-size {} :txn-id {} :pages {} :free-pages {} :file-size {}\n :passed-over {}\n :readers [{}]\n :databases [{}]}}",
                    s.page_size,
                    s.txn_id,
                    s.pages,
                    s.free_pages,
                    s.file_size,
                    passed,
                    readers.join(" "),
                    dbs.join("\n             ")
                ),
                Format::Json => println!(
                    "{{\"page_size\":{},\"txn_id\":{},\"pages\":{},\"free_pages\":{},\"file_size\":{},\"passed_over\":{},\"readers\":[{}],\"databases\":[{}]}}",
                    s.page_size,
                    s.txn_id,
                    s.pages,
                    s.free_pages,
                    s.file_size,
                    passed,
                    readers.join(","),
                    dbs.join(",")
                ),
            }
            Ok(())
        }
        Command::Check {
            dir,
            accept_rollback,
        } => {
            let env = open_existing(&dir)?;
            if accept_rollback {
                match env.accept_rollback().map_err(|e| e.to_string())? {
                    Some(p) => println!(
                        "accepted the rollback: transaction {} (meta page {}) is discarded; the database stays at transaction {}",
                        p.txn_id, p.meta_page, p.opened_at
                    ),
                    None => println!("nothing was passed over; no rollback to accept"),
                }
            }
            let spinner = progress::spinner("checking every page");
            let report = env.check().map_err(|e| e.to_string());
            spinner.finish_and_clear();
            let report = report?;
            for p in &report.problems {
                println!("{p}");
            }
            if report.is_ok() {
                println!(
                    "ok: {} databases, {} pages reachable, {} free, {} in the file",
                    report.databases, report.reachable_pages, report.free_pages, report.total_pages
                );
                Ok(())
            } else {
                Err(format!("{} problem(s) found", report.problems.len()))
            }
        }
        Command::Copy { dir, dest, compact } => {
            let env = open_existing(&dir)?;
            let spinner = progress::spinner(if compact {
                "copying and compacting"
            } else {
                "copying"
            });
            let copied = env.copy_to(&dest, compact).map_err(|e| e.to_string());
            spinner.finish_and_clear();
            copied?;
            println!(
                "copied {} to {}{}",
                dir.display(),
                dest.display(),
                if compact { " (compacted)" } else { "" }
            );
            Ok(())
        }
        Command::Drop { dir, dbis, delete } => {
            let env = open_existing(&dir)?;
            let mut w = env.write().map_err(|e| e.to_string())?;
            for name in &dbis {
                let db = w.open_db(name).map_err(|e| e.to_string())?;
                if delete {
                    w.drop_db(&db).map_err(|e| e.to_string())?;
                } else {
                    w.clear_db(&db).map_err(|e| e.to_string())?;
                }
            }
            w.commit().map_err(|e| e.to_string())?;
            println!(
                "{} {}",
                if delete { "deleted" } else { "cleared" },
                dbis.join(", ")
            );
            Ok(())
        }
        Command::Dump { dir, output } => {
            let env = open_existing(&dir)?;
            match output {
                Some(path) => {
                    let f = std::fs::File::create(&path)
                        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
                    dump::dump(&dir, &env, std::io::BufWriter::new(f))
                }
                None => dump::dump(
                    &dir,
                    &env,
                    std::io::BufWriter::new(std::io::stdout().lock()),
                ),
            }
        }
        Command::Load { dir, input } => {
            let (datoms, entries) = match input {
                Some(path) => {
                    let f = std::fs::File::open(&path)
                        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
                    dump::load(&dir, std::io::BufReader::new(f))?
                }
                None => dump::load(&dir, std::io::stdin().lock())?,
            };
            println!(
                "loaded {datoms} datoms and {entries} key-value entries into {}",
                dir.display()
            );
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("levin: {msg}");
            ExitCode::FAILURE
        }
    }
}
