//! `levin`: the command-line tool for Levin databases: demo, query, transact, pull, repl,
//! stat, check, copy, drop, dump, load, and `serve` with `admin` for server mode (the data
//! commands take a `levin://` URI where they take a directory).
//! Results go to stdout; failures print one line on stderr and exit non-zero.

#![forbid(unsafe_code)]

mod demo;
mod dump;
mod out;
mod output;
mod progress;
mod remote;
mod repl;

use levin_query::DbQuery;
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
    Check {
        /// The database directory.
        dir: PathBuf,
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
    /// Serve the databases under ROOT over TCP (docs/PROTOCOL.md). Prints one line
    /// `listening on HOST:PORT` when ready; stops cleanly on SIGINT or SIGTERM.
    Serve {
        /// The directory holding the databases (ROOT/NAME) and the users.
        #[arg(long)]
        root: PathBuf,
        /// Where to listen (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:8898")]
        listen: String,
        /// TLS certificate chain (PEM).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// TLS private key (PEM).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Allow a non-loopback address without TLS (passwords and data unencrypted).
        #[arg(long)]
        allow_plaintext: bool,
        /// The admin user's password at first start (else LEVIN_ADMIN_PASSWORD, else a
        /// random one printed once on standard error).
        #[arg(long)]
        admin_password_file: Option<PathBuf>,
        /// Where `backup` writes (backups are refused without it).
        #[arg(long)]
        backup_dir: Option<PathBuf>,
        /// The largest request frame accepted, in bytes.
        #[arg(long, default_value_t = 64 << 20)]
        max_frame: usize,
        /// The most connections served at once.
        #[arg(long, default_value_t = 256)]
        max_connections: usize,
        /// The longest a query may run, in milliseconds.
        #[arg(long, default_value_t = 60_000)]
        query_timeout_ms: u64,
        /// Close connections idle this long, in seconds.
        #[arg(long, default_value_t = 3600)]
        idle_timeout_s: u64,
    },
    /// Run an administrative operation on a server: `levin admin URI OP ARG...`, arguments
    /// in EDN, e.g. `levin admin levin://admin@localhost:8898 grant-permission :reader
    /// :view :database '"sales"'`.
    #[command(allow_negative_numbers = true)]
    Admin {
        /// The server: levin://USER[:PASSWORD]@HOST:PORT (password also from LEVIN_PASSWORD).
        uri: String,
        /// The operation: create-user, grant-permission, list-databases, ...
        op: String,
        /// Its arguments, each as EDN.
        args: Vec<String>,
    },
    /// Run as a Babashka pod (docs/POD.md): Datalevin's `pod.huahaiy.datalevin` over
    /// bencode on stdin/stdout (or a socket with BABASHKA_POD_TRANSPORT=socket).
    Pod,
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

fn read_edn(what: &str, text: &str) -> Result<levin_edn::Edn, String> {
    levin_edn::read(text).map_err(|e| format!("{what}: {e}"))
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
            if let Some(uri) = remote::uri_of(&dir) {
                let query = read_edn("query", &query)?;
                let inputs = inputs
                    .iter()
                    .enumerate()
                    .map(|(i, text)| read_edn(&format!("input {}", i + 1), text))
                    .collect::<Result<Vec<_>, _>>()?;
                return remote::query(uri, &query, &inputs, explain, format);
            }
            open_existing(&dir)?;
            let query = read_edn("query", &query)?;
            let inputs: Vec<levin_query::Input> = inputs
                .iter()
                .enumerate()
                .map(|(i, text)| {
                    read_edn(&format!("input {}", i + 1), text).map(levin_query::Input::Value)
                })
                .collect::<Result<_, _>>()?;
            let conn = levin_datalog::Conn::open(&dir, ()).map_err(|e| e.to_string())?;
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
            let report = match remote::uri_of(&dir) {
                Some(uri) => remote::transact(uri, schema.as_ref(), &tx_edn)?,
                None => {
                    let conn =
                        levin_datalog::Conn::open(&dir, schema).map_err(|e| e.to_string())?;
                    conn.transact(&tx_edn).map_err(|e| e.to_string())?
                }
            };
            let added = report.tx_data.iter().filter(|d| d.added).count();
            let retracted = report.tx_data.len() - added;
            let tempids = levin_edn::Edn::Map(
                report
                    .tempids
                    .iter()
                    .map(|(t, e)| (t.clone(), levin_edn::Edn::Long(*e as i64)))
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
            let pattern = read_edn("pattern", &pattern)?;
            let eid = read_edn("entity id", &eid)?;
            if let Some(uri) = remote::uri_of(&dir) {
                return remote::pull(uri, &pattern, &eid, format);
            }
            open_existing(&dir)?;
            let conn = levin_datalog::Conn::open(&dir, ()).map_err(|e| e.to_string())?;
            let db = conn.db().map_err(|e| e.to_string())?;
            let v = db.pull(&pattern, &eid).map_err(|e| e.to_string())?;
            println!("{}", output::render(&v, format));
            Ok(())
        }
        Command::Stat { dir, format } => {
            if let Some(uri) = remote::uri_of(&dir) {
                return remote::stat(uri, format);
            }
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
            match format {
                Format::Edn => println!(
                    "{{:page-size {} :txn-id {} :pages {} :free-pages {} :file-size {}\n :readers [{}]\n :databases [{}]}}",
                    s.page_size,
                    s.txn_id,
                    s.pages,
                    s.free_pages,
                    s.file_size,
                    readers.join(" "),
                    dbs.join("\n             ")
                ),
                Format::Json => println!(
                    "{{\"page_size\":{},\"txn_id\":{},\"pages\":{},\"free_pages\":{},\"file_size\":{},\"readers\":[{}],\"databases\":[{}]}}",
                    s.page_size,
                    s.txn_id,
                    s.pages,
                    s.free_pages,
                    s.file_size,
                    readers.join(","),
                    dbs.join(",")
                ),
            }
            Ok(())
        }
        Command::Check { dir } => {
            let env = open_existing(&dir)?;
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
        Command::Serve {
            root,
            listen,
            tls_cert,
            tls_key,
            allow_plaintext,
            admin_password_file,
            backup_dir,
            max_frame,
            max_connections,
            query_timeout_ms,
            idle_timeout_s,
        } => remote::serve(remote::ServeArgs {
            root,
            listen,
            tls_cert,
            tls_key,
            allow_plaintext,
            admin_password_file,
            backup_dir,
            max_frame,
            max_connections,
            query_timeout_ms,
            idle_timeout_s,
        }),
        Command::Admin { uri, op, args } => remote::admin(&uri, &op, &args),
        Command::Pod => match levin_pod::run() {
            code if code == ExitCode::SUCCESS => Ok(()),
            _ => Err("the pod stopped on an error".into()),
        },
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
    // A Babashka pod client starts us with BABASHKA_POD=true, whatever the arguments.
    if levin_pod::is_pod_mode() {
        return levin_pod::run();
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("levin: {msg}");
            ExitCode::FAILURE
        }
    }
}
