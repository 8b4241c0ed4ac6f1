//! `levin serve`: Levin's databases shared over TCP. One process owns the databases under
//! a root directory (each an ordinary Levin directory `ROOT/NAME`, so a database moves
//! between embedded and served use with no migration) and many clients, in any language,
//! share them through the protocol of docs/PROTOCOL.md: transit+json frames, a handshake,
//! password authentication, and every operation authorised by one check against the
//! user's roles and permissions.
//!
//! One thread serves each connection; requests on a connection run in order.
//!
//! ```no_run
//! let config = levin_server::Config::new("/var/lib/levin");
//! let mut server = levin_server::Server::start(config).unwrap();
//! println!("listening on {}", server.local_addr());
//! server.wait();
//! server.shutdown();
//! ```
#![forbid(unsafe_code)]

mod admin_ops;
mod auth;
mod authz;
mod datalog_ops;
mod dbs;
mod error;
mod frame;
mod kv_ops;
mod message;
mod session;
mod stream;
mod system;
mod tls;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub use auth::HashCost;
pub use authz::{Action, Object, Permission};
pub use error::ServerError;
pub use frame::{read_frame, write_frame, FrameError, FORMAT_TRANSIT_JSON, HEADER_LEN};
pub use message::Request;
pub use system::{validate_name, DbType, ADMIN};
pub use tls::ring_provider as tls_provider;

/// The version of the protocol this server speaks (`:hello` carries it both ways).
pub const PROTOCOL_VERSION: i64 = 1;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The directory holding the databases (`ROOT/NAME`) and the system database.
    pub root: PathBuf,
    /// Where to listen; loopback by default.
    pub listen: SocketAddr,
    /// TLS certificate chain and private key (PEM files).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Allow listening on a non-loopback address without TLS.
    pub allow_plaintext: bool,
    /// The admin user's password when the system database is created.
    pub admin_password: Option<String>,
    /// The largest frame accepted, in bytes.
    pub max_frame: usize,
    /// The largest frame accepted before authentication.
    pub max_handshake_frame: usize,
    /// The longest a query may run.
    pub query_timeout: Duration,
    /// The most memory, in bytes, one query's intermediate results may take (estimated
    /// from their rows; `Registry::max_memory`): a query that needs more fails as
    /// too-large. A query's `:max-rows` cannot raise it.
    pub query_max_memory: usize,
    /// How long a request waits for a database's writer (held by another session's
    /// transaction) before failing with `:levin.error/writer-busy`.
    pub writer_timeout: Duration,
    /// The most connections served at once; more are refused.
    pub max_connections: usize,
    /// The most connections from one address that have not authenticated yet; more from
    /// it are refused, so that one peer cannot hold every slot of `max_connections` (or
    /// every login hash) with handshakes it never finishes.
    pub max_pending_per_address: usize,
    /// Connections silent this long are closed.
    pub idle_timeout: Duration,
    /// A connection that has not authenticated within this long of its start is closed
    /// (at most `idle_timeout`), however it spends the time (silent, trickling bytes, or
    /// retrying passwords).
    pub handshake_timeout: Duration,
    /// A reply the client does not take for this long (it stopped reading) closes the
    /// connection.
    pub write_timeout: Duration,
    /// An explicit transaction idle this long is aborted.
    pub txn_idle_timeout: Duration,
    /// An explicit transaction open this long is aborted at its next request.
    pub txn_total_timeout: Duration,
    /// Password hashing cost (tests use [`HashCost::TESTING`]).
    pub hash_cost: HashCost,
    /// The directory `:backup` writes into; backups are refused without one.
    pub backup_dir: Option<PathBuf>,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
}

impl Config {
    /// The defaults, serving `root` on 127.0.0.1:8898.
    pub fn new(root: impl AsRef<Path>) -> Config {
        Config {
            root: root.as_ref().to_path_buf(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8898)),
            tls: None,
            allow_plaintext: false,
            admin_password: None,
            max_frame: 64 << 20,
            max_handshake_frame: 4096,
            query_timeout: Duration::from_secs(60),
            query_max_memory: levin_query::DEFAULT_MAX_MEMORY,
            writer_timeout: Duration::from_secs(10),
            max_connections: 256,
            max_pending_per_address: 32,
            idle_timeout: Duration::from_secs(3600),
            handshake_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(60),
            txn_idle_timeout: Duration::from_secs(60),
            txn_total_timeout: Duration::from_secs(600),
            hash_cost: HashCost::DEFAULT,
            backup_dir: None,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// A connected client, as `:show-clients` lists it.
pub(crate) struct ClientInfo {
    pub peer: SocketAddr,
    pub user: Option<String>,
    pub stream: TcpStream,
    pub databases: Vec<String>,
    /// Set by `:disconnect-client`: the session ends at its next request.
    pub kicked: Arc<AtomicBool>,
}

/// What every session shares.
pub(crate) struct Shared {
    pub config: Config,
    pub system: system::System,
    pub dbs: dbs::Databases,
    pub hashes: auth::HashPool,
    pub throttle: auth::Throttle,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub clients: Mutex<std::collections::BTreeMap<u64, ClientInfo>>,
    pub next_client: AtomicU64,
    pub connections: AtomicUsize,
    /// Connections not yet authenticated, by peer address (see [`session::Pending`]).
    pub pending: Mutex<std::collections::HashMap<std::net::IpAddr, usize>>,
    pub shutting_down: AtomicBool,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is refused.
    #[error("{0}")]
    Config(String),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The root or the system database could not be opened.
    #[error("cannot open the server's root {root}: {source}")]
    Root {
        /// The root.
        root: PathBuf,
        /// Why.
        source: Box<ServerError>,
    },
    /// The TLS certificate or key could not be loaded.
    #[error("TLS: {0}")]
    Tls(String),
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
    generated_password: Option<String>,
}

impl Server {
    /// Binds, opens the root and starts accepting connections in a background thread.
    pub fn start(config: Config) -> Result<Server, StartError> {
        if !config.listen.ip().is_loopback() && config.tls.is_none() && !config.allow_plaintext {
            return Err(StartError::Config(format!(
                "refusing to listen on {} without TLS: give --tls-cert and --tls-key, or \
                 --allow-plaintext to send passwords and data unencrypted",
                config.listen
            )));
        }
        let tls = match &config.tls {
            Some((cert, key)) => Some(tls::server_config(cert, key)?),
            None => None,
        };
        std::fs::create_dir_all(&config.root).map_err(|e| StartError::Root {
            root: config.root.clone(),
            source: Box::new(ServerError::Engine(levin_engine::Error::Io {
                op: "creating the root directory".into(),
                source: e,
            })),
        })?;
        let hashes = auth::HashPool::new(2, config.hash_cost);
        let (system, generated_password) =
            system::System::open(&config.root, config.admin_password.as_deref(), &hashes).map_err(
                |source| StartError::Root {
                    root: config.root.clone(),
                    source: Box::new(source),
                },
            )?;
        let listener = TcpListener::bind(config.listen).map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
        let shared = Arc::new(Shared {
            dbs: dbs::Databases::new(&config.root),
            config,
            system,
            hashes,
            throttle: auth::Throttle::default(),
            tls,
            clients: Mutex::new(Default::default()),
            next_client: AtomicU64::new(1),
            connections: AtomicUsize::new(0),
            pending: Mutex::new(std::collections::HashMap::new()),
            shutting_down: AtomicBool::new(false),
        });
        let accept_shared = shared.clone();
        let accept = std::thread::Builder::new()
            .name("levin-accept".into())
            .spawn(move || accept_loop(listener, accept_shared))
            .map_err(|e| StartError::Config(format!("cannot start a thread: {e}")))?;
        Ok(Server {
            addr,
            shared,
            accept: Some(accept),
            generated_password,
        })
    }

    /// The address the server listens on (with the port it picked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The admin password generated at first start (when none was given), to show once.
    pub fn generated_admin_password(&self) -> Option<&str> {
        self.generated_password.as_deref()
    }

    /// Stops accepting, lets requests in flight finish (up to the grace period), ends
    /// every session (aborting open explicit transactions), and closes every database.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let shared = &self.shared;
        if shared.shutting_down.swap(true, Ordering::SeqCst) {
            return;
        }
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
        // Sessions finish the request they are in, then read end-of-stream.
        for c in shared
            .clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            let _ = c.stream.shutdown(std::net::Shutdown::Read);
        }
        let deadline = std::time::Instant::now() + shared.config.shutdown_grace;
        while shared.connections.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        for c in shared
            .clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            let _ = c.stream.shutdown(std::net::Shutdown::Both);
        }
        shared.dbs.close_all();
    }

    /// Blocks until the server stops accepting (after [`Server::shutdown`] from another
    /// thread, or a fatal accept error).
    pub fn wait(&mut self) {
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }

    /// A handle that can stop the server from another thread (a signal handler's).
    pub fn stopper(&self) -> Stopper {
        Stopper {
            addr: self.addr,
            shared: self.shared.clone(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Stops a server from another thread: it stops accepting, and [`Server::shutdown`]
/// (or dropping the server) finishes the rest.
#[derive(Clone)]
pub struct Stopper {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Stopper {
    /// Asks the accept loop to stop.
    pub fn stop_accepting(&self) {
        self.shared.shutting_down.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.shutting_down.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else {
            continue;
        };
        let n = shared.connections.fetch_add(1, Ordering::SeqCst);
        if n >= shared.config.max_connections {
            shared.connections.fetch_sub(1, Ordering::SeqCst);
            session::refuse(stream, &shared, "the server has too many connections");
            continue;
        }
        let Some(pending) = session::Pending::enter(&shared, &stream) else {
            shared.connections.fetch_sub(1, Ordering::SeqCst);
            session::refuse(
                stream,
                &shared,
                "too many connections from this address are still logging in",
            );
            continue;
        };
        let s = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("levin-session".into())
            .spawn(move || {
                session::run(stream, &s, pending);
                s.connections.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            shared.connections.fetch_sub(1, Ordering::SeqCst);
        }
    }
}
