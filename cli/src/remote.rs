//! The CLI's server side: `levin serve`, `levin admin URI OP ARG...`, and the data
//! commands (`query`, `transact`, `pull`, `stat`, `re-index`) given a `levin://` URI where they take a
//! directory, printing what they print for a directory.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use levin_client::Client;
use levin_edn::Edn;
use levin_query::{Connection, DatalogRead};

use super::error::{CliError, Result};
use super::output::{self, Format};

/// The URI, when a command's directory argument is one.
pub fn uri_of(dir: &std::path::Path) -> Option<&str> {
    dir.to_str().filter(|s| levin_client::is_uri(s))
}

/// Options of `levin serve`.
pub struct ServeArgs {
    pub root: PathBuf,
    pub listen: String,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub allow_plaintext: bool,
    pub admin_password_file: Option<PathBuf>,
    pub backup_dir: Option<PathBuf>,
    pub max_frame: usize,
    pub max_connections: usize,
    pub query_timeout_ms: u64,
    pub idle_timeout_s: u64,
    pub query_max_memory_mb: u64,
    pub txn_idle_timeout_s: u64,
    pub txn_total_timeout_s: u64,
    pub writer_timeout_ms: u64,
}

/// `levin serve`: runs until SIGINT or SIGTERM, then shuts down cleanly.
pub fn serve(a: ServeArgs) -> Result<()> {
    let mut config = levin_server::Config::new(&a.root);
    config.listen = a.listen.parse().map_err(|_| {
        CliError::Usage(format!(
            "--listen {}: expected HOST:PORT, e.g. 127.0.0.1:8898",
            a.listen
        ))
    })?;
    config.tls = match (a.tls_cert, a.tls_key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => {
            return Err(CliError::Usage(
                "--tls-cert and --tls-key go together".into(),
            ))
        }
    };
    config.allow_plaintext = a.allow_plaintext;
    config.admin_password = match (a.admin_password_file, std::env::var("LEVIN_ADMIN_PASSWORD")) {
        (Some(f), _) => Some(
            std::fs::read_to_string(&f)
                .map_err(|e| CliError::io("read", Some(f.clone()), e))?
                .trim_end_matches(['\n', '\r'])
                .to_string(),
        ),
        (None, Ok(p)) => Some(p),
        (None, Err(_)) => None,
    };
    config.backup_dir = a.backup_dir;
    config.max_frame = a.max_frame;
    config.max_connections = a.max_connections;
    config.query_timeout = Duration::from_millis(a.query_timeout_ms);
    config.idle_timeout = Duration::from_secs(a.idle_timeout_s);
    config.query_max_memory = usize::try_from(a.query_max_memory_mb)
        .ok()
        .and_then(|mb| mb.checked_mul(1 << 20))
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--query-max-memory-mb {}: too large for this machine",
                a.query_max_memory_mb
            ))
        })?;
    config.txn_idle_timeout = Duration::from_secs(a.txn_idle_timeout_s);
    config.txn_total_timeout = Duration::from_secs(a.txn_total_timeout_s);
    config.writer_timeout = Duration::from_millis(a.writer_timeout_ms);
    let mut server = levin_server::Server::start(config)?;
    if let Some(pw) = server.generated_admin_password() {
        eprintln!(
            "levin: created the admin user with the password {pw} (shown once; change it with \
             levin admin URI reset-password '\"admin\"' '\"NEW\"')"
        );
    }
    let stopper = server.stopper();
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ])
    .map_err(|e| CliError::io("install signal handlers", None, e))?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            eprintln!("levin: stopping: finishing requests in flight");
            stopper.stop_accepting();
        }
    });
    super::output::println(format!("listening on {}", server.local_addr()))?;
    server.wait();
    server.shutdown();
    eprintln!("levin: stopped");
    Ok(())
}

fn edn_arg(what: String, text: &str) -> Result<Edn> {
    levin_edn::read(text).map_err(|source| CliError::Edn { what, source })
}

/// `levin admin URI OP ARG...`: arguments and result in EDN.
pub fn admin(uri: &str, op: &str, args: &[String]) -> Result<()> {
    let client = Client::connect(uri)?;
    let args = args
        .iter()
        .enumerate()
        .map(|(i, a)| edn_arg(format!("argument {}", i + 1), a))
        .collect::<Result<Vec<_>>>()?;
    let op = op.trim_start_matches(':');
    let result = client.admin(op, args)?;
    super::output::println(result)
}

fn connect(uri: &str) -> Result<levin_client::RemoteConn> {
    Ok(levin_client::connect(uri)?)
}

/// `levin query URI QUERY INPUT...`.
pub fn query(uri: &str, query: &Edn, inputs: &[Edn], explain: bool, format: Format) -> Result<()> {
    let conn = connect(uri)?;
    if explain {
        let plan = conn.explain(query, inputs)?;
        return super::output::println(plan);
    }
    let result = conn.q(query, inputs)?;
    super::output::println(output::render(&result, format))
}

/// `levin pull URI PATTERN EID`.
pub fn pull(uri: &str, pattern: &Edn, eid: &Edn, format: Format) -> Result<()> {
    let conn = connect(uri)?;
    let v = conn.pull(pattern, eid)?;
    super::output::println(output::render(&v, format))
}

/// `levin transact URI TX [--schema S]`: creates the database when it does not exist (for a
/// user allowed to); returns the report for the caller to print as for a directory.
pub fn transact(uri: &str, schema: Option<&Edn>, tx: &Edn) -> Result<levin_datalog::TxReport> {
    let conn = connect(uri)?;
    if let Some(s) = schema {
        conn.update_schema(s, &levin_datalog::SchemaUpdate::default())?;
    }
    Ok(conn.transact(tx)?)
}

/// `levin re-index URI [--schema S]`: the server rebuilds the database's indexes (all or
/// nothing); returns the database's name and how many datoms were asserted again.
pub fn re_index(uri: &str, schema: Option<&Edn>) -> Result<(String, u64)> {
    let conn = connect(uri)?;
    let n = conn.re_index(schema)?;
    Ok((conn.name().to_string(), n))
}

/// `levin stat URI`: the server's statistics of the database's environment.
pub fn stat(uri: &str, format: Format) -> Result<()> {
    let target = levin_client::Target::parse(uri)?;
    let db = target
        .db
        .clone()
        .ok_or_else(|| CliError::Usage(format!("{uri:?} names no database: add /DB")))?;
    let client = Arc::new(Client::connect_to(target)?);
    // Whichever kind it is, open it to read its statistics.
    if client
        .call("open", vec![Edn::String(db.clone().into())])
        .is_err()
    {
        client.call("open-kv", vec![Edn::String(db.clone().into())])?;
    }
    let s = client.call("stat", vec![Edn::String(db.into())])?;
    super::output::println(output::render(&s, format))
}
