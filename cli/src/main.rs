//! `levin`: the command-line tool for Levin databases: demo, query, transact, pull, repl,
//! stat, check, copy, re-index, drop, dump, load, and `serve` with `admin` for server mode (the data
//! commands take a `levin://` URI where they take a directory).
//! Results go to stdout; failures print one line on stderr and exit non-zero. `Cli` and
//! `run` are `pub(crate)` so the `cli_args` fuzz target (which includes this file) can
//! drive them.

#![forbid(unsafe_code)]

mod demo;
mod dump;
mod error;
mod output;
mod progress;
mod remote;
mod repl;

/// glibc's malloc hands freed memory back to the kernel and faults it in again on the next
/// query (a third of a 2,500-row query's time, measured with `perf`); mimalloc keeps it.
/// Not under the fuzzer, which brings its own.
#[cfg(not(fuzzing))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use levin_engine::{Env, EnvOptions, Read, DATA_FILE};

use error::{At, CliError, Context, Result, ResultExt, Undone};

#[derive(Parser)]
#[command(
    name = "levin",
    version,
    about = "Levin database tool",
    propagate_version = true
)]
pub(crate) struct Cli {
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
        /// Run the query N more times (at most 1,000,000) and print timings on standard
        /// error.
        #[arg(long, value_name = "N")]
        repeat: Option<u64>,
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
        /// A schema map (EDN file) to apply first, in the same transaction: if the
        /// transaction fails, the schema is not changed either.
        #[arg(long)]
        schema: Option<PathBuf>,
        /// Print the full report (every tempid) instead of a one-line summary.
        #[arg(long)]
        report: bool,
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
    /// Rebuild a Datalog database's indexes from its datoms (Datalevin's `re-index`), in
    /// one transaction, optionally merging a new schema first: changes that existing data
    /// forbids to a plain schema update are allowed when the data fits the new schema.
    #[command(name = "re-index")]
    ReIndex {
        /// The database directory, or levin://USER:PASSWORD@HOST:PORT/DB.
        dir: PathBuf,
        /// A schema map (EDN file, or `-` for standard input) to merge in.
        #[arg(long)]
        schema: Option<PathBuf>,
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
    /// Clear key-value databases, or delete them with --delete. The Datalog store's own
    /// databases (`datalog/...`) are refused unless --force-datalog is given.
    Drop {
        /// The database directory.
        dir: PathBuf,
        /// Names of the databases.
        #[arg(required = true)]
        dbis: Vec<String>,
        /// Delete the databases instead of clearing them.
        #[arg(long)]
        delete: bool,
        /// Allow clearing or deleting `datalog/...` databases, which breaks the Datalog
        /// store (its entity ids restart at 1 and overwrite existing entities).
        #[arg(long)]
        force_datalog: bool,
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
        /// The most memory one query's intermediate results may take, in MiB (estimated);
        /// a query needing more fails as too-large.
        #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
        query_max_memory_mb: u64,
        /// Abort an explicit transaction idle this long between requests, in seconds (it
        /// holds its database's writer).
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
        txn_idle_timeout_s: u64,
        /// Abort an explicit transaction open this long, at its next request, in seconds.
        #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
        txn_total_timeout_s: u64,
        /// How long a write waits for a database's writer held by another session's
        /// explicit transaction, in milliseconds, before failing as writer-busy.
        #[arg(long, default_value_t = 10_000)]
        writer_timeout_ms: u64,
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
    /// Load a dump written by `levin dump` (or Datalevin's `dtlv dump -g`, or a Datalevin
    /// key-value dump, whose bytes are stored as they are) into a database (created if
    /// missing), in one transaction: all of it or nothing.
    Load {
        /// The database directory.
        dir: PathBuf,
        /// Input file (default: standard input).
        #[arg(short = 'i', long)]
        input: Option<PathBuf>,
        /// Load into a database that already holds data: entities get new ids (references
        /// between them follow), key-value entries are added or replaced.
        #[arg(long)]
        merge: bool,
        /// Load the dump's one key-value database under this name (for a Datalevin KV
        /// dump of one database, as `dtlv load NAME` does).
        #[arg(long, value_name = "NAME")]
        dbi: Option<String>,
    },
}

/// The most runs `query --repeat` does.
const MAX_REPEAT: u64 = 1_000_000;

/// Fails unless `dir` holds a data file with something in it (a 0-byte file is not taken
/// for a new database). With `may_create`, a missing data file is fine.
fn check_data_file(dir: &Path, may_create: bool) -> Result<()> {
    let file = dir.join(DATA_FILE);
    match std::fs::metadata(&file) {
        Ok(m) if m.len() == 0 => Err(CliError::EmptyDataFile { file }),
        Ok(_) => Ok(()),
        Err(_) if may_create => Ok(()),
        Err(_) => Err(CliError::NoDatabase {
            dir: dir.to_path_buf(),
        }),
    }
}

/// Opens an existing environment for writing.
fn open_existing(dir: &Path) -> Result<Env> {
    check_data_file(dir, false)?;
    Ok(Env::open_with(dir, EnvOptions::new())?)
}

/// Opens an existing environment for reading only: no write, no wait for a writer. When
/// the lock file cannot be written (a read-only directory or mount), it opens without one.
fn open_read(dir: &Path) -> Result<Env> {
    check_data_file(dir, false)?;
    let opts = EnvOptions::new().read_only(true);
    match Env::open_with(dir, opts.clone()) {
        Ok(env) => Ok(env),
        Err(with_lock) if !lock_file_writable(dir) => Env::open_with(dir, opts.exclusive(true))
            .map_err(|source| CliError::OpenRead {
                with_lock: Box::new(with_lock),
                source: Box::new(source),
            }),
        Err(e) => Err(e.into()),
    }
}

fn lock_file_writable(dir: &Path) -> bool {
    let lock = dir.join("lock.levin");
    if lock.exists() {
        std::fs::OpenOptions::new().write(true).open(&lock).is_ok()
    } else {
        std::fs::metadata(dir).is_ok_and(|m| !m.permissions().readonly())
    }
}

/// The Datalog layer's problems (none for a key-value-only environment).
fn check_datalog(dir: &Path, env: &Env) -> Result<Vec<String>> {
    levin_datalog::check::check(env).context(Context::at(At::Dir(dir.to_path_buf())))
}

/// The Datalog database of an existing environment, for reading only.
fn open_conn_read(dir: &Path) -> Result<levin_datalog::Conn> {
    let _env = open_read(dir)?;
    Ok(levin_datalog::Conn::open_read_only(dir)?)
}

/// The query's inputs: the database for `$` (when `:in` names it; a query without `:in`
/// takes just `$`), and the INPUT texts, in order, for the other `:in` entries.
fn query_inputs<'a>(
    query: &levin_query::Query,
    texts: &[String],
    db: &'a levin_datalog::Db<'a>,
) -> Result<Vec<levin_query::Input<'a>>> {
    let db_at = query.default_source_position();
    let wanted = query.input_count() - usize::from(db_at.is_some());
    if texts.len() != wanted {
        return Err(CliError::Usage(format!(
            "the query's :in takes {wanted} input(s){}; {} given",
            if db_at.is_some() { " after $" } else { "" },
            texts.len()
        )));
    }
    let mut values = texts
        .iter()
        .enumerate()
        .map(|(i, text)| read_edn(&format!("input {}", i + 1), text))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .map(levin_query::Input::Value)
        .collect::<Vec<_>>();
    if let Some(at) = db_at {
        values.insert(at, levin_query::Input::Db(db));
    }
    Ok(values)
}

/// What `transact` prints: a one-line summary, or with `full` every tempid too.
fn tx_summary(report: &levin_datalog::TxReport, full: bool, format: Format) -> String {
    let added = report.tx_data.iter().filter(|d| d.added).count();
    let retracted = report.tx_data.len() - added;
    let (tx, max_eid, ntemp) = (report.tx, report.max_eid, report.tempids.len());
    let tempids = levin_edn::Edn::Map(
        report
            .tempids
            .iter()
            .map(|(t, e)| (t.clone(), levin_edn::Edn::Long(*e as i64)))
            .collect(),
    );
    match (format, full) {
        (Format::Edn, false) => format!(
            "{{:tx {tx} :datoms-added {added} :datoms-retracted {retracted} :tempids {ntemp} \
             :max-eid {max_eid}}}"
        ),
        (Format::Edn, true) => format!(
            "{{:tx {tx} :datoms-added {added} :datoms-retracted {retracted} :max-eid \
             {max_eid} :tempids {tempids}}}"
        ),
        (Format::Json, false) => format!(
            "{{\"tx\":{tx},\"datoms_added\":{added},\"datoms_retracted\":{retracted},\
             \"tempids\":{ntemp},\"max_eid\":{max_eid}}}"
        ),
        (Format::Json, true) => format!(
            "{{\"tx\":{tx},\"datoms_added\":{added},\"datoms_retracted\":{retracted},\
             \"max_eid\":{max_eid},\"tempids\":{}}}",
            output::render(&tempids, Format::Json)
        ),
    }
}

fn read_edn(what: &str, text: &str) -> Result<levin_edn::Edn> {
    levin_edn::read(text).map_err(|source| CliError::Edn {
        what: what.to_string(),
        source,
    })
}

/// The schema in the EDN file `path` (`-` for standard input).
fn read_schema_file(path: &std::path::Path) -> Result<levin_edn::Edn> {
    read_edn(
        &format!("schema {}", path.display()),
        &read_source("schema", &path.to_string_lossy())?,
    )
}

fn read_source(what: &str, src: &str) -> Result<String> {
    if src == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut s)
            .map_err(|e| CliError::io(format!("read {what} from standard input"), None, e))?;
        Ok(s)
    } else {
        std::fs::read_to_string(src)
            .map_err(|e| CliError::io(format!("read {what}"), Some(PathBuf::from(src)), e))
    }
}

pub(crate) fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo { dir } => match dir {
            Some(dir) => demo::run(&dir),
            None => {
                let tmp = tempfile::tempdir()
                    .map_err(|e| CliError::io("create a temporary directory", None, e))?;
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
            let n = match repeat {
                Some(n) if n > MAX_REPEAT => {
                    return Err(CliError::Usage(format!(
                        "--repeat {n} is too many: at most {MAX_REPEAT} runs"
                    )))
                }
                n => n.map(|n| n as usize),
            };
            let conn = open_conn_read(&dir)?;
            let query = read_edn("query", &query)?;
            let parsed = levin_query::parse_query(&query)?;
            let db = conn.db()?;
            let inputs = query_inputs(&parsed, &inputs, &db)?;
            if explain {
                let plan = levin_query::explain(&parsed, &inputs, &Default::default())?;
                output::print(plan)?;
                return Ok(());
            }
            let result = levin_query::q(&parsed, &inputs)?;
            output::println(output::render(&result.to_edn(), format))?;
            if let Some(n) = n {
                let mut times = Vec::with_capacity(n);
                for _ in 0..n {
                    let t = std::time::Instant::now();
                    levin_query::q(&parsed, &inputs)?;
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                if !times.is_empty() {
                    times.sort_by(f64::total_cmp);
                    output::eprintln(format_args!(
                        "timing: runs={n} min_ms={:.3} median_ms={:.3} max_ms={:.3}",
                        times[0],
                        times[times.len() / 2],
                        times[times.len() - 1]
                    ));
                }
            }
            Ok(())
        }
        Command::Transact {
            dir,
            tx,
            schema,
            report: full,
            format,
        } => {
            let schema = schema.as_deref().map(read_schema_file).transpose()?;
            let tx_text = read_source("transaction", &tx)?;
            let tx_edn = read_edn(&format!("transaction {tx}"), &tx_text)?;
            if let Some(uri) = remote::uri_of(&dir) {
                let report = remote::transact(uri, schema.as_ref(), &tx_edn)?;
                return output::println(tx_summary(&report, full, format));
            }
            check_data_file(&dir, true)?;
            let conn = levin_datalog::Conn::open(&dir, ())?;
            // The schema change and the data commit together or not at all.
            let mut t = conn.begin()?;
            if let Some(schema) = &schema {
                t.update_schema(schema)
                    .context(Context::at_undone(At::Schema, Undone::Changed))?;
            }
            let report = t
                .transact(&tx_edn)
                .context(Context::undone(Undone::Changed))?;
            t.commit()?;
            output::println(tx_summary(&report, full, format))
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
            let conn = open_conn_read(&dir)?;
            let db = conn.db()?;
            let v = db.pull(&pattern, &eid)?;
            output::println(output::render(&v, format))
        }
        Command::Stat { dir, format } => {
            if let Some(uri) = remote::uri_of(&dir) {
                return remote::stat(uri, format);
            }
            let env = open_read(&dir)?;
            let s = env.stat()?;
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
            output::println(match format {
                Format::Edn => format!(
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
                Format::Json => format!(
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
            })
        }
        Command::Check {
            dir,
            accept_rollback,
        } => {
            let env = if accept_rollback {
                let env = open_existing(&dir)?;
                match env.accept_rollback()? {
                    Some(p) => output::println(format_args!(
                        "accepted the rollback: transaction {} (meta page {}) is discarded; the database stays at transaction {}",
                        p.txn_id, p.meta_page, p.opened_at
                    ))?,
                    None => output::println("nothing was passed over; no rollback to accept")?,
                }
                env
            } else {
                open_read(&dir)?
            };
            let spinner = progress::spinner("checking every page");
            let report = env.check();
            spinner.finish_and_clear();
            let report = report?;
            let datalog = check_datalog(&dir, &env)?;
            for p in report
                .problems
                .iter()
                .map(ToString::to_string)
                .chain(datalog.iter().cloned())
            {
                output::println(p)?;
            }
            if report.is_ok() && datalog.is_empty() {
                output::println(format_args!(
                    "ok: {} databases, {} pages reachable, {} free, {} in the file",
                    report.databases, report.reachable_pages, report.free_pages, report.total_pages
                ))
            } else {
                Err(CliError::CheckFailed {
                    problems: report.problems.len() + datalog.len(),
                })
            }
        }
        Command::ReIndex { dir, schema } => {
            let schema = schema.as_deref().map(read_schema_file).transpose()?;
            if let Some(uri) = remote::uri_of(&dir) {
                let (db, n) = remote::re_index(uri, schema.as_ref())?;
                return output::println(format_args!("re-indexed {n} datoms in {db}"));
            }
            check_data_file(&dir, false)?;
            let conn = levin_datalog::Conn::open(&dir, ())?;
            let spinner = progress::spinner("re-indexing");
            let done = conn.re_index(schema.as_ref());
            spinner.finish_and_clear();
            let n = done.context(Context::undone(Undone::Changed))?;
            output::println(format_args!("re-indexed {} datoms in {}", n, dir.display()))
        }
        Command::Copy { dir, dest, compact } => {
            let env = open_read(&dir)?;
            let spinner = progress::spinner(if compact {
                "copying and compacting"
            } else {
                "copying"
            });
            let copied = env.copy_to(&dest, compact);
            spinner.finish_and_clear();
            copied?;
            output::println(format_args!(
                "copied {} to {}{}",
                dir.display(),
                dest.display(),
                if compact { " (compacted)" } else { "" }
            ))
        }
        Command::Drop {
            dir,
            dbis,
            delete,
            force_datalog,
        } => {
            if let Some(name) = dbis.iter().find(|n| n.starts_with("datalog/")) {
                if !force_datalog {
                    return Err(CliError::Refused(format!(
                        "{name} belongs to the Datalog store: {} it would break it (entity ids \
                         restart at 1 and new entities overwrite existing ones). To remove \
                         every datom, transact retractions; to do it anyway, add --force-datalog",
                        if delete { "deleting" } else { "clearing" }
                    )));
                }
            }
            let env = open_existing(&dir)?;
            let mut w = env.write()?;
            for name in &dbis {
                let db = w.open_db(name)?;
                if delete {
                    w.drop_db(&db)?;
                } else {
                    w.clear_db(&db)?;
                }
            }
            w.commit()?;
            output::println(format_args!(
                "{} {}",
                if delete { "deleted" } else { "cleared" },
                dbis.join(", ")
            ))
        }
        Command::Dump { dir, output } => {
            if let Some(uri) = remote::uri_of(&dir) {
                let conn = levin_client::connect(uri)?;
                return match output {
                    Some(path) => {
                        let f = std::fs::File::create(&path)
                            .map_err(|e| CliError::io("create", Some(path.clone()), e))?;
                        dump::dump_connection(&conn, std::io::BufWriter::new(f))
                    }
                    None => dump::dump_connection(
                        &conn,
                        std::io::BufWriter::new(std::io::stdout().lock()),
                    ),
                };
            }
            let env = open_read(&dir)?;
            match output {
                Some(path) => {
                    let f = std::fs::File::create(&path)
                        .map_err(|e| CliError::io("create", Some(path.clone()), e))?;
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
            query_max_memory_mb,
            txn_idle_timeout_s,
            txn_total_timeout_s,
            writer_timeout_ms,
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
            query_max_memory_mb,
            txn_idle_timeout_s,
            txn_total_timeout_s,
            writer_timeout_ms,
        }),
        Command::Admin { uri, op, args } => remote::admin(&uri, &op, &args),
        Command::Pod => match levin_pod::run() {
            code if code == ExitCode::SUCCESS => Ok(()),
            _ => Err(CliError::PodFailed),
        },
        Command::Load {
            dir,
            input,
            merge,
            dbi,
        } => {
            if let Some(uri) = remote::uri_of(&dir) {
                if merge {
                    return Err(CliError::Usage(
                        "--merge is for directories; a server database must be empty to load into"
                            .into(),
                    ));
                }
                if dbi.is_some() {
                    return Err(CliError::Usage(
                        "--dbi is for directories; a server database has no key-value databases"
                            .into(),
                    ));
                }
                let conn = levin_client::connect(uri)?;
                let datoms = match input {
                    Some(path) => {
                        let f = std::fs::File::open(&path)
                            .map_err(|e| CliError::io("open", Some(path.clone()), e))?;
                        dump::load_connection(&conn, std::io::BufReader::new(f))?
                    }
                    None => dump::load_connection(&conn, std::io::stdin().lock())?,
                };
                return output::println(format_args!(
                    "loaded {datoms} datoms and 0 key-value entries into {}",
                    conn.name()
                ));
            }
            check_data_file(&dir, true)?;
            let (datoms, entries) = match input {
                Some(path) => {
                    let f = std::fs::File::open(&path)
                        .map_err(|e| CliError::io("open", Some(path.clone()), e))?;
                    dump::load(&dir, std::io::BufReader::new(f), merge, dbi.as_deref())?
                }
                None => dump::load(&dir, std::io::stdin().lock(), merge, dbi.as_deref())?,
            };
            output::println(format_args!(
                "loaded {datoms} datoms and {entries} key-value entries into {}",
                dir.display()
            ))
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
        Err(CliError::StdoutClosed) => ExitCode::SUCCESS,
        Err(e) => {
            output::eprintln(format_args!("levin: {e}"));
            ExitCode::FAILURE
        }
    }
}
