//! One client connection: the handshake (`:hello`, then `:authenticate`; nothing else is
//! decoded before), then requests answered in order, each authorised by
//! [`Session::permission_for`] and [`authz::authorize`] before it runs. The session owns
//! what the client holds: its open databases, its explicit transaction (aborted if the
//! connection drops or idles) and its database snapshots.

use std::collections::HashMap;
use std::io::{self, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use levin_datalog::{Db, Transaction};
use levin_edn::{transit, Edn};
use levin_engine::RwTxn;

use crate::authz::{self, Action, Object, Permission};
use crate::dbs::Store;
use crate::error::ServerError;
use crate::frame::{read_frame, write_frame, FrameError};
use crate::message::{self, Request};
use crate::stream::StreamError;
use crate::system::DbType;
use crate::{ClientInfo, Shared, PROTOCOL_VERSION};

/// Collections with more items than this are streamed in batches of this many.
pub const STREAM_BATCH: usize = 1000;

/// Bytes of a session's read buffer: small requests arrive in one read.
const READ_BUFFER: usize = 16 * 1024;

/// The most snapshots one session may hold.
const MAX_SNAPSHOTS: usize = 16;

/// A request's answer: one value, or a collection streamed in batches.
pub(crate) enum Reply {
    /// One value, streamed when it is a large collection.
    Value(Edn),
    /// A read that is streamed from its snapshot as it is read ([`crate::stream`]), after
    /// the request passed every check.
    Stream,
    /// A file streamed as a vector of byte chunks of `chunk` bytes, `batch` chunks per
    /// frame, whatever its length, with `meta` (a map) in its `:copy-out-response`; the
    /// client rebuilds `meta` with the chunks under `:items`. `:copy` sends the data file
    /// of its copy this way, read as it is sent: a database larger than the server's
    /// memory must not be read into it whole. The directory `remove` is deleted after.
    File {
        meta: Edn,
        path: std::path::PathBuf,
        size: u64,
        chunk: usize,
        batch: usize,
        remove: std::path::PathBuf,
    },
}

/// An explicit transaction held by the session.
pub(crate) enum OpenTxn {
    Datalog { db: String, txn: Transaction },
    Kv { db: String, txn: RwTxn },
}

impl OpenTxn {
    pub fn db(&self) -> &str {
        match self {
            OpenTxn::Datalog { db, .. } | OpenTxn::Kv { db, .. } => db,
        }
    }
}

/// A stream that is plain TCP or TLS.
trait Io: Read + Write {}
impl<T: Read + Write> Io for T {}

/// The connection's stream, with an optional deadline for every read: until the client
/// has authenticated, each read waits only for what is left of the time allowed for the
/// whole handshake, so a peer trickling a byte now and then cannot keep an unauthenticated
/// connection (and its slot among `max_connections`) open for long.
struct Deadlined<'a> {
    io: &'a mut dyn Io,
    /// The socket under `io` (under TLS too), whose read timeout enforces the deadline.
    tcp: &'a TcpStream,
    deadline: Option<Instant>,
}

impl Read for Deadlined<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(d) = self.deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the handshake took too long",
                ));
            }
            self.tcp.set_read_timeout(Some(left))?;
        }
        self.io.read(buf)
    }
}

impl Write for Deadlined<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.io.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.io.flush()
    }
}

#[derive(PartialEq, Eq)]
enum Stage {
    Hello,
    Authenticate,
    Ready,
}

/// The state of one connection.
pub(crate) struct Session<'s> {
    pub shared: &'s Shared,
    pub client_id: u64,
    pub peer: SocketAddr,
    pub user: Option<String>,
    /// Counts this connection among its address's unauthenticated ones until login.
    pending: Option<Pending>,
    /// The user's entity id in the system database at login: a user of the same name
    /// created after this one was dropped is someone else.
    user_id: Option<u64>,
    perms: Vec<Permission>,
    perm_generation: u64,
    /// The databases this session opened, by name, with the epoch of each handle (see
    /// [`crate::dbs::Databases::is_current`]).
    pub open: HashMap<String, (Store, u64)>,
    pub txn: Option<(OpenTxn, Instant)>,
    /// The explicit transaction the server aborted and the session has not yet ended
    /// (see [`Session::refuse_after_abort`]).
    pub txn_aborted: Option<AbortedTxn>,
    pub snapshots: HashMap<i64, (String, Db<'static>)>,
    next_snapshot: i64,
    kicked: Arc<AtomicBool>,
}

/// An explicit transaction the server aborted (idle, open too long, its database closed)
/// before the client ended it.
pub(crate) struct AbortedTxn {
    /// Its database.
    pub db: String,
    /// What happened, for the client: "the server aborted the transaction on ...: why".
    pub why: String,
}

/// Refuses a connection before serving it (too many connections).
pub(crate) fn refuse(mut stream: TcpStream, _shared: &Shared, why: &str) {
    let e = ServerError::Busy(why.to_string());
    let _ = write_frame(
        &mut stream,
        transit::write(&message::error(0, &e)).as_bytes(),
    );
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// A connection counted among its address's connections that have not authenticated
/// ([`Config::max_pending_per_address`](crate::Config::max_pending_per_address)); dropping
/// it (at login, or when the connection ends first) uncounts it.
pub(crate) struct Pending {
    shared: Arc<Shared>,
    ip: std::net::IpAddr,
}

impl Pending {
    /// Counts `stream`'s peer, or `None` when its address already has the most pending
    /// connections allowed (or the peer's address cannot be read).
    pub(crate) fn enter(shared: &Arc<Shared>, stream: &TcpStream) -> Option<Pending> {
        let ip = stream.peer_addr().ok()?.ip();
        let mut pending = shared.pending.lock().unwrap_or_else(|e| e.into_inner());
        let n = pending.entry(ip).or_insert(0);
        if *n >= shared.config.max_pending_per_address {
            return None;
        }
        *n += 1;
        Some(Pending {
            shared: shared.clone(),
            ip,
        })
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let mut pending = self
            .shared
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = pending.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                pending.remove(&self.ip);
            }
        }
    }
}

/// Serves one connection to its end; `pending` counts it until it authenticates.
pub(crate) fn run(stream: TcpStream, shared: &Shared, pending: Pending) {
    let Ok(peer) = stream.peer_addr() else {
        return;
    };
    let _ = stream.set_nodelay(true);
    // A client that stops reading must not hold its session's thread forever.
    let write_timeout = shared.config.write_timeout.max(Duration::from_millis(1));
    let _ = stream.set_write_timeout(Some(write_timeout));
    let Ok(registered) = stream.try_clone() else {
        return;
    };
    let client_id = shared.next_client.fetch_add(1, Ordering::SeqCst);
    let kicked = Arc::new(AtomicBool::new(false));
    shared
        .clients
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            client_id,
            ClientInfo {
                peer,
                user: None,
                stream: registered,
                databases: vec![],
                kicked: kicked.clone(),
            },
        );
    let timeouts = match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    };
    let mut session = Session {
        shared,
        client_id,
        peer,
        user: None,
        user_id: None,
        perms: vec![],
        perm_generation: 0,
        open: HashMap::new(),
        txn: None,
        txn_aborted: None,
        snapshots: HashMap::new(),
        next_snapshot: 1,
        kicked,
        pending: Some(pending),
    };
    match &shared.tls {
        Some(cfg) => {
            if let Ok(conn) = rustls::ServerConnection::new(cfg.clone()) {
                let mut tls = rustls::StreamOwned::new(conn, stream);
                session.serve(&mut tls, &timeouts);
            }
        }
        None => {
            let mut plain = stream;
            session.serve(&mut plain, &timeouts);
        }
    }
    session.end();
    shared
        .clients
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&client_id);
}

fn is_timeout(e: &FrameError) -> bool {
    matches!(e, FrameError::Io(io) if matches!(io.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut))
}

impl<'s> Session<'s> {
    fn serve(&mut self, raw: &mut dyn Io, tcp: &TcpStream) {
        let mut stage = Stage::Hello;
        // The handshake (`:hello` and a successful `:authenticate`, failed attempts
        // included) must be over by this deadline, counted from the connection's start.
        let handshake = self
            .shared
            .config
            .handshake_timeout
            .min(self.shared.config.idle_timeout)
            .max(Duration::from_millis(1));
        let deadlined = Deadlined {
            io: raw,
            tcp,
            deadline: Some(Instant::now() + handshake),
        };
        // Reads go through a buffer, so that a small request's header and payload take one
        // system call; replies are written straight to the stream.
        let mut input = BufReader::with_capacity(READ_BUFFER, deadlined);
        let mut timeout_set = None;
        loop {
            let config = &self.shared.config;
            if stage == Stage::Ready && input.get_ref().deadline.is_some() {
                // Authenticated: from now on the timeouts below govern, set per frame.
                input.get_mut().deadline = None;
                timeout_set = None;
            }
            if stage == Stage::Ready {
                let wait = match &self.txn {
                    Some(_) => config.idle_timeout.min(config.txn_idle_timeout),
                    None => config.idle_timeout,
                };
                let wait = wait.max(Duration::from_millis(1));
                if timeout_set != Some(wait) {
                    let _ = tcp.set_read_timeout(Some(wait));
                    timeout_set = Some(wait);
                }
            }
            let max = if stage == Stage::Ready {
                config.max_frame
            } else {
                config.max_handshake_frame
            };
            let read = read_frame(&mut input, max);
            let io: &mut dyn Io = &mut *input.get_mut().io;
            let payload = match read {
                Ok(Some(p)) => p,
                Ok(None) => return,
                Err(e) if is_timeout(&e) && self.txn.is_some() => {
                    self.abort_txn(format!(
                        "it was idle for {} ms",
                        config.txn_idle_timeout.as_millis()
                    ));
                    continue;
                }
                Err(e) if is_timeout(&e) => return,
                Err(e) => {
                    let err = ServerError::Protocol(e.to_string());
                    let _ = self.send(io, &message::error(0, &err));
                    return;
                }
            };
            if self.kicked.load(Ordering::SeqCst) {
                return;
            }
            let req = match transit::read_slice(&payload)
                .map_err(ServerError::Transit)
                .and_then(Request::from_edn)
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = self.send(io, &message::error(0, &e));
                    return;
                }
            };
            let keep_going = match stage {
                Stage::Hello => self.hello(io, &req).map(|()| stage = Stage::Authenticate),
                Stage::Authenticate => match self.authenticate(&req) {
                    Ok(()) => {
                        stage = Stage::Ready;
                        self.pending = None;
                        let reply = message::ok(
                            req.id,
                            Edn::Map(vec![(
                                Edn::kw("", "user"),
                                Edn::string(self.user.clone().unwrap_or_default()),
                            )]),
                        );
                        self.send(io, &reply).map_err(|_| ())
                    }
                    Err(e) => {
                        let _ = self.send(io, &message::error(req.id, &e));
                        // A wrong password may be retried; anything else ends here.
                        if matches!(e, ServerError::AuthFailed) {
                            Ok(())
                        } else {
                            Err(())
                        }
                    }
                },
                Stage::Ready => self.request(io, &req),
            };
            if keep_going.is_err() {
                return;
            }
        }
    }

    fn send(&self, io: &mut dyn Io, reply: &Edn) -> io::Result<()> {
        write_frame(&mut &mut *io, transit::write(reply).as_bytes())
    }

    fn hello(&mut self, io: &mut dyn Io, req: &Request) -> Result<(), ()> {
        let mut refuse = |e: ServerError| {
            let _ = self.send(io, &message::error(req.id, &e));
            Err(())
        };
        if req.op != "hello" {
            return refuse(ServerError::Protocol(format!(
                "a connection starts with :hello, got :{}",
                req.op
            )));
        }
        match req.opt("protocol") {
            Some(Edn::Long(PROTOCOL_VERSION)) => {}
            other => {
                return refuse(ServerError::Protocol(format!(
                "this server speaks protocol version {PROTOCOL_VERSION}, the client asked for {}",
                other.map_or("none".into(), Edn::to_string)
            )))
            }
        }
        let reply = Edn::Map(vec![
            (Edn::kw("", "type"), Edn::kw("", "hello-ok")),
            (Edn::kw("", "id"), Edn::Long(req.id)),
            (Edn::kw("", "protocol"), Edn::Long(PROTOCOL_VERSION)),
            (
                Edn::kw("", "server"),
                Edn::string(format!("levin {}", env!("CARGO_PKG_VERSION"))),
            ),
        ]);
        self.send(io, &reply).map_err(|_| ())
    }

    fn authenticate(&mut self, req: &Request) -> Result<(), ServerError> {
        if req.op != "authenticate" {
            return Err(ServerError::Protocol(format!(
                "authenticate first (:authenticate with :username and :password), got :{}",
                req.op
            )));
        }
        let field = |n: &str| req.opt(n).and_then(Edn::as_str).map(str::to_string);
        let (Some(user), Some(password)) = (field("username"), field("password")) else {
            return Err(ServerError::Protocol(
                ":authenticate needs :username and :password strings".into(),
            ));
        };
        let stored = self.shared.system.password_hash(&user)?;
        // Hash even for an unknown user, so timing does not tell which users exist.
        let ok = match stored {
            Some(h) => self.shared.hashes.verify(&password, &h),
            None => {
                let _ = self.shared.hashes.hash(&password);
                false
            }
        };
        if !ok {
            std::thread::sleep(self.shared.throttle.failed(self.peer.ip()));
            return Err(ServerError::AuthFailed);
        }
        self.shared.throttle.succeeded(self.peer.ip());
        self.user_id = self.shared.system.user_id(&user)?;
        self.perms = self.shared.system.permissions_of(&user)?;
        self.perm_generation = self.shared.system.generation();
        if let Some(c) = self
            .shared
            .clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&self.client_id)
        {
            c.user = Some(user.clone());
        }
        self.user = Some(user);
        Ok(())
    }

    /// Answers one request; `Err(())` when the connection must close.
    fn request(&mut self, io: &mut dyn Io, req: &Request) -> Result<(), ()> {
        match self.answer(req) {
            Ok(Reply::Value(v)) => self.send_result(io, req.id, v).map_err(|_| ()),
            Ok(Reply::Stream) => {
                let mut send = |m: &Edn| self.send(io, m);
                match crate::stream::answer(self, req, &mut send) {
                    Ok(()) => Ok(()),
                    Err(StreamError::Cut) => Err(()),
                    Err(StreamError::Failed(e)) => self.fail(io, req.id, e),
                }
            }
            Ok(Reply::File {
                meta,
                path,
                size,
                chunk,
                batch,
                remove,
            }) => {
                let sent = self.send_file(io, req.id, meta, &path, size, chunk, batch);
                let _ = std::fs::remove_dir_all(&remove);
                sent.map_err(|_| ())
            }
            Err(e) => self.fail(io, req.id, e),
        }
    }

    /// Sends the error reply to request `id`; `Err(())` when the connection must close.
    fn fail(&self, io: &mut dyn Io, id: i64, e: ServerError) -> Result<(), ()> {
        self.send(io, &message::error(id, &e)).map_err(|_| ())?;
        if e.closes_connection() {
            Err(())
        } else {
            Ok(())
        }
    }

    /// Sends a result, streaming a large collection in batches.
    fn send_result(&self, io: &mut dyn Io, id: i64, v: Edn) -> io::Result<()> {
        let (kind, items) = match v {
            Edn::Vector(items) if items.len() > STREAM_BATCH => ("vector", items),
            Edn::Set(items) if items.len() > STREAM_BATCH => ("set", items),
            Edn::List(items) if items.len() > STREAM_BATCH => ("list", items),
            v => return self.send(io, &message::ok(id, v)),
        };
        self.send_stream(io, id, kind, None, items, STREAM_BATCH)
    }

    /// Sends the file at `path` (`size` bytes) as a stream of byte chunks; see
    /// [`Reply::File`]. Once `:copy-out-response` is out, an error reading the file can
    /// only end the connection (the client then sees the stream cut short).
    #[expect(clippy::too_many_arguments, reason = "the fields of Reply::File")]
    fn send_file(
        &self,
        io: &mut dyn Io,
        id: i64,
        meta: Edn,
        path: &std::path::Path,
        size: u64,
        chunk: usize,
        batch: usize,
    ) -> io::Result<()> {
        let chunk = chunk.max(1);
        let count = usize::try_from(size.div_ceil(chunk as u64)).unwrap_or(usize::MAX);
        let mut head = message::copy_out(id, count);
        if let Edn::Map(m) = &mut head {
            m.push((Edn::kw("", "kind"), Edn::kw("", "vector")));
            m.push((Edn::kw("", "meta"), meta));
        }
        self.send(io, &head)?;
        let mut file = std::fs::File::open(path)?;
        let mut left = size;
        let mut buf = vec![0u8; chunk];
        while left > 0 {
            let mut items = Vec::with_capacity(batch.max(1));
            while left > 0 && items.len() < batch.max(1) {
                let n = usize::try_from(left.min(chunk as u64)).unwrap_or(chunk);
                file.read_exact(&mut buf[..n])?;
                items.push(levin_datalog::convert::bytes_edn(&buf[..n]));
                left -= n as u64;
            }
            self.send(io, &message::copy_batch(id, items))?;
        }
        self.send(io, &message::copy_done(id))
    }

    /// Sends `items` as `:copy-out-response` (with `meta`, if any), batches of `batch`
    /// items, and `:copy-done`.
    fn send_stream(
        &self,
        io: &mut dyn Io,
        id: i64,
        kind: &str,
        meta: Option<Edn>,
        items: Vec<Edn>,
        batch: usize,
    ) -> io::Result<()> {
        let mut head = message::copy_out(id, items.len());
        if let Edn::Map(m) = &mut head {
            m.push((Edn::kw("", "kind"), Edn::kw("", kind)));
            if let Some(meta) = meta {
                m.push((Edn::kw("", "meta"), meta));
            }
        }
        self.send(io, &head)?;
        let mut items = items.into_iter();
        // Sent batches are dropped after the last frame: freeing their values takes about
        // as long as writing them, and the client decodes meanwhile.
        let mut sent = Vec::new();
        loop {
            let batch: Vec<Edn> = items.by_ref().take(batch.max(1)).collect();
            if batch.is_empty() {
                break;
            }
            let m = message::copy_batch(id, batch);
            self.send(io, &m)?;
            sent.push(m);
        }
        self.send(io, &message::copy_done(id))?;
        drop(sent);
        Ok(())
    }

    fn answer(&mut self, req: &Request) -> Result<Reply, ServerError> {
        self.refresh_permissions()?;
        self.drop_closed();
        if let Some((_, started)) = &self.txn {
            if started.elapsed() > self.shared.config.txn_total_timeout {
                self.abort_txn(format!(
                    "it was open longer than {} ms",
                    self.shared.config.txn_total_timeout.as_millis()
                ));
            }
        }
        let needed = self.permission_for(req)?;
        if let Some(p) = &needed {
            authz::authorize(&req.op, &self.perms, p)?;
        }
        self.refuse_after_abort(req)?;
        if req.op == "copy" {
            return crate::admin_ops::copy(self, req);
        }
        if crate::stream::is_streamed(&req.op) {
            return Ok(Reply::Stream);
        }
        if let Some(r) = crate::datalog_ops::handle(self, req) {
            return r.map(Reply::Value);
        }
        if let Some(r) = crate::kv_ops::handle(self, req) {
            return r.map(Reply::Value);
        }
        if let Some(r) = crate::admin_ops::handle(self, req) {
            return r.map(Reply::Value);
        }
        Err(ServerError::UnknownOp(req.op.clone()))
    }

    /// Refuses a request on the database of an explicit transaction the server aborted,
    /// until the client ends that transaction (`:close-transact`, `:abort-transact`, which
    /// report the abort), starts another, or closes the database. The client still believes
    /// it is inside the transaction: run on their own, its writes would commit one by one
    /// and its reads would miss the writes it made before the abort.
    fn refuse_after_abort(&mut self, req: &Request) -> Result<(), ServerError> {
        let Some(aborted) = &self.txn_aborted else {
            return Ok(());
        };
        if req.opt_arg(0).and_then(Edn::as_str) != Some(aborted.db.as_str()) {
            return Ok(());
        }
        match req.op.as_str() {
            "open-transact" | "close-transact" | "abort-transact" | "open-transact-kv"
            | "close-transact-kv" | "abort-transact-kv" => Ok(()),
            "close" | "close-kv" | "close-database" | "drop-database" => {
                self.txn_aborted = None;
                Ok(())
            }
            _ => Err(ServerError::TxState(format!(
                "{}; its writes were discarded, and requests on {:?} are refused until the \
                 transaction is ended with :close-transact or :abort-transact",
                aborted.why, aborted.db
            ))),
        }
    }

    /// Drops the handles a `:close-database` (by any session) made stale, with this
    /// session's snapshots of those databases and its explicit transaction on one: a
    /// closed database is closed for every session, and no request runs on a stale handle.
    fn drop_closed(&mut self) {
        let stale: Vec<String> = self
            .open
            .iter()
            .filter(|(name, (_, epoch))| !self.shared.dbs.is_current(name, *epoch))
            .map(|(name, _)| name.clone())
            .collect();
        for name in stale {
            if self.txn.as_ref().is_some_and(|(t, _)| t.db() == name) {
                self.abort_txn("its database was closed by :close-database".into());
            }
            let _ = self.close_db(&name);
        }
    }

    /// Re-reads the user's permissions when any changed since they were read, and ends a
    /// session whose user was dropped (even if a user of the same name was made since).
    fn refresh_permissions(&mut self) -> Result<(), ServerError> {
        let g = self.shared.system.generation();
        if g != self.perm_generation {
            let user = self.user.clone().unwrap_or_default();
            let id = self.shared.system.user_id(&user)?;
            if id.is_none() || id != self.user_id {
                self.perms.clear();
                return Err(ServerError::AuthFailed);
            }
            self.perms = self.shared.system.permissions_of(&user)?;
            self.perm_generation = g;
        }
        Ok(())
    }

    /// The permission `req` needs: the one table of the server's authorization (docs/
    /// PROTOCOL.md has it as a table). `None` for operations on what the session itself
    /// holds (closing its own databases, releasing its snapshots, ending its transaction,
    /// which needed a permission to get).
    pub(crate) fn permission_for(&self, req: &Request) -> Result<Option<Permission>, ServerError> {
        use Action::*;
        use Object::*;
        let db = |i: usize| -> Result<String, ServerError> {
            Ok(req.str_arg(i, "the database name")?.to_string())
        };
        let on_db = |act: Action| -> Result<Option<Permission>, ServerError> {
            Ok(Some(Permission::on(act, Database, db(0)?)))
        };
        let role = |i: usize| -> Result<String, ServerError> {
            Ok(crate::system::role_target(req.kw_arg(i, "the role key")?))
        };
        let user = |i: usize| -> Result<String, ServerError> {
            Ok(req.str_arg(i, "the user name")?.to_string())
        };
        Ok(match req.op.as_str() {
            // Opening an existing registered database needs view on it; creating one (or
            // adopting a directory copied under the root) needs create on databases.
            // Opening with a schema or options (`:open db schema opts`) may change the
            // database: that needs alter on it.
            "open" | "open-kv" => {
                let name = db(0)?;
                let changes =
                    req.op == "open" && (req.opt_arg(1).is_some() || req.opt_arg(2).is_some());
                if self.shared.system.database_type(&name)?.is_none() {
                    Some(Permission::all(Create, Database))
                } else if changes {
                    Some(Permission::on(Alter, Database, name))
                } else {
                    Some(Permission::on(View, Database, name))
                }
            }
            "close" | "close-kv" | "release-snapshot" | "close-transact" | "abort-transact"
            | "close-transact-kv" | "abort-transact-kv" => None,
            "create-database" => Some(Permission::all(Create, Database)),
            "drop-database" | "close-database" | "backup" => on_db(Create)?,
            "copy" => on_db(Alter)?,
            "list-databases" => Some(Permission::all(View, Database)),
            "list-databases-in-use" | "show-clients" => Some(Permission::all(View, Server)),
            // The system database holds every user's password hash: reading it whole is
            // for those who control the server (with view on server it would hand the
            // hashes to offline guessing, the admin's included).
            "query-system" | "disconnect-client" => Some(Permission::all(Control, Server)),
            "transact" | "update-schema" | "clear" | "re-index" | "open-transact"
            | "open-transact-kv" | "transact-kv" | "open-dbi" | "open-list-dbi" | "clear-dbi"
            | "drop-dbi" | "sync" => on_db(Alter)?,
            "q" | "explain" | "pull" | "pull-many" | "entity" | "entid" | "datoms"
            | "seek-datoms" | "rseek-datoms" | "index-range" | "count-datoms" | "schema"
            | "max-eid" | "db-snapshot" | "list-dbis" | "stat" | "entries" | "get-value"
            | "get-first" | "get-first-n" | "get-range" | "key-range" | "range-count"
            | "key-range-count" | "get-rank" | "get-by-rank" | "sample-kv" | "get-list"
            | "list-count" | "in-list?" | "list-range" | "list-range-count" => on_db(View)?,
            "create-user" => Some(Permission::all(Create, User)),
            "drop-user" => Some(Permission::on(Create, User, user(0)?)),
            "reset-password" => Some(Permission::on(Alter, User, user(0)?)),
            "list-users" => Some(Permission::all(View, User)),
            "list-user-roles" | "list-user-permissions" => {
                Some(Permission::on(View, User, user(0)?))
            }
            "create-role" => Some(Permission::all(Create, Role)),
            "drop-role" => Some(Permission::on(Create, Role, role(0)?)),
            "list-roles" => Some(Permission::all(View, Role)),
            "list-role-permissions" => Some(Permission::on(View, Role, role(0)?)),
            // Handing out a role or a permission needs control of the role: nobody can
            // give themselves what they lack.
            "assign-role" | "withdraw-role" | "grant-permission" | "revoke-permission" => {
                Some(Permission::on(Control, Role, role(0)?))
            }
            other => return Err(ServerError::UnknownOp(other.to_string())),
        })
    }

    /// The permissions the session's user holds (as of the request being answered).
    pub(crate) fn perms(&self) -> &[Permission] {
        &self.perms
    }

    /// The session's handle on database `name`, which it must have opened.
    pub(crate) fn store(&self, name: &str) -> Result<&Store, ServerError> {
        self.open.get(name).map(|(s, _)| s).ok_or_else(|| {
            ServerError::NotFound(format!(
                "database {name:?} is not open in this session; :open (or :open-kv) it first"
            ))
        })
    }

    /// Opens a database for this session (registering it if new).
    pub(crate) fn open_db(&mut self, name: &str, ty: DbType) -> Result<Store, ServerError> {
        crate::system::validate_name("database", name)?;
        if let Some((s, _)) = self.open.get(name) {
            return Ok(s.clone());
        }
        let registered = self.shared.system.database_type(name)?;
        if let Some(t) = registered {
            if t != ty {
                return Err(ServerError::BadArgument(format!(
                    "database {name:?} is a {} database",
                    crate::dbs::type_name(t)
                )));
            }
        }
        let (store, epoch) = self.shared.dbs.acquire(name, ty)?;
        if let Store::Datalog(c) = &store {
            c.set_writer_timeout(Some(self.shared.config.writer_timeout));
        }
        if registered.is_none() {
            let creator = self.user.clone().unwrap_or_default();
            if let Err(e) = self.shared.system.register_database(name, ty, &creator) {
                self.shared.dbs.release(name);
                return Err(e);
            }
        }
        self.open.insert(name.to_string(), (store.clone(), epoch));
        self.note_databases();
        Ok(store)
    }

    /// Closes a database for this session.
    pub(crate) fn close_db(&mut self, name: &str) -> Result<(), ServerError> {
        if self.txn.as_ref().is_some_and(|(t, _)| t.db() == name) {
            self.abort_txn("its database was closed".into());
        }
        self.snapshots.retain(|_, (db, _)| db != name);
        if self.open.remove(name).is_none() {
            return Err(ServerError::NotFound(format!(
                "database {name:?} is not open in this session"
            )));
        }
        self.shared.dbs.release(name);
        self.note_databases();
        Ok(())
    }

    fn note_databases(&self) {
        let mut names: Vec<String> = self.open.keys().cloned().collect();
        names.sort();
        if let Some(c) = self
            .shared
            .clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&self.client_id)
        {
            c.databases = names;
        }
    }

    /// Keeps a snapshot of `db` for later requests; returns its id.
    pub(crate) fn add_snapshot(&mut self, name: &str, db: Db<'static>) -> Result<i64, ServerError> {
        if self.snapshots.len() >= MAX_SNAPSHOTS {
            return Err(ServerError::Busy(format!(
                "a session holds at most {MAX_SNAPSHOTS} snapshots; release one first"
            )));
        }
        let id = self.next_snapshot;
        self.next_snapshot += 1;
        self.snapshots.insert(id, (name.to_string(), db));
        Ok(id)
    }

    /// Aborts the explicit transaction, remembering why for the client.
    pub(crate) fn abort_txn(&mut self, why: String) {
        if let Some((t, _)) = self.txn.take() {
            let db = t.db().to_string();
            match t {
                OpenTxn::Datalog { txn, .. } => txn.abort(),
                OpenTxn::Kv { txn, .. } => txn.abort(),
            }
            self.txn_aborted = Some(AbortedTxn {
                why: format!("the server aborted the transaction on {db:?}: {why}"),
                db,
            });
        }
    }

    /// Releases everything the session holds.
    fn end(&mut self) {
        self.abort_txn("the connection ended".into());
        self.snapshots.clear();
        for name in std::mem::take(&mut self.open).into_keys() {
            self.shared.dbs.release(&name);
        }
    }
}
