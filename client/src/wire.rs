//! One connection to a server: TCP or TLS, the handshake, and request/reply exchange
//! (reassembling streamed results).

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use levin_edn::{transit, Edn, Keyword};
use levin_server::{read_frame, write_frame, PROTOCOL_VERSION};

use crate::error::ClientError;
use crate::uri::Target;

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// The largest reply frame the client accepts.
const MAX_REPLY_FRAME: usize = 1 << 30;

/// Bytes of the read buffer.
const READ_BUFFER: usize = 16 * 1024;

/// The most items a streamed result's announced count reserves room for up front.
const MAX_RESERVED_ITEMS: usize = 1 << 20;

/// An authenticated connection.
pub(crate) struct Wire {
    /// The connection, its reads buffered so that a small reply's header and payload
    /// take one system call; requests are written to the stream itself.
    stream: BufReader<Box<dyn Stream>>,
    /// The plain TCP socket (a handle on the same socket), to wait for a reply by polling;
    /// `None` over TLS.
    tcp: Option<TcpStream>,
    /// How long the last request took to answer.
    last_round_trip: Duration,
    next_id: i64,
}

/// How long the client polls for a reply before it sleeps in a blocking read: a thread
/// that sleeps and is woken costs tens of microseconds on an idle virtual machine (its
/// CPU halts), more than a short reply takes. It polls only while replies come this fast,
/// so slow requests and busy machines (many clients) do not burn CPU time on it.
const POLL_FOR_REPLY: Duration = Duration::from_micros(150);

fn k(n: &str) -> Edn {
    Edn::kw("", n)
}

fn field<'a>(m: &'a Edn, name: &str) -> Option<&'a Edn> {
    m.get(&k(name))
}

impl Wire {
    /// Connects, says hello and authenticates.
    pub fn open(t: &Target) -> Result<Wire, ClientError> {
        let tcp = TcpStream::connect((t.host.as_str(), t.port)).map_err(|e| ClientError::Io {
            op: format!("connecting to {}:{}", t.host, t.port),
            source: e,
        })?;
        let _ = tcp.set_nodelay(true);
        if let Some(timeout) = t.timeout {
            let _ = tcp.set_read_timeout(Some(timeout));
        }
        let polled = if t.tls { None } else { tcp.try_clone().ok() };
        let stream: Box<dyn Stream> = if t.tls {
            Box::new(tls_stream(t, tcp)?)
        } else {
            Box::new(tcp)
        };
        let mut w = Wire {
            stream: BufReader::with_capacity(READ_BUFFER, stream),
            tcp: polled,
            last_round_trip: Duration::MAX,
            next_id: 0,
        };
        let hello = Edn::Map(vec![
            (k("type"), k("hello")),
            (k("id"), Edn::Long(0)),
            (k("protocol"), Edn::Long(PROTOCOL_VERSION)),
            (
                k("client"),
                Edn::string(format!("levin-client {}", env!("CARGO_PKG_VERSION"))),
            ),
        ]);
        w.send(&hello)?;
        let reply = w.receive()?;
        check_reply(&reply)?;
        let auth = Edn::Map(vec![
            (k("type"), k("authenticate")),
            (k("id"), Edn::Long(0)),
            (k("username"), Edn::string(t.user.clone())),
            (k("password"), Edn::string(t.password.clone())),
        ]);
        w.send(&auth)?;
        let reply = w.receive()?;
        check_reply(&reply)?;
        Ok(w)
    }

    fn send(&mut self, m: &Edn) -> Result<(), ClientError> {
        write_frame(self.stream.get_mut(), transit::write(m).as_bytes()).map_err(|e| {
            ClientError::Io {
                op: "sending a request".into(),
                source: e,
            }
        })
    }

    /// Polls the socket until a reply's first bytes are in the read buffer or
    /// [`POLL_FOR_REPLY`] has passed since `sent`; the blocking read that follows does the
    /// rest (and reports any error).
    fn poll_for_reply(&mut self, sent: Instant) {
        let Some(tcp) = &self.tcp else {
            return;
        };
        if !self.stream.buffer().is_empty() || tcp.set_nonblocking(true).is_err() {
            return;
        }
        loop {
            match self.stream.fill_buf() {
                Err(e) if e.kind() == ErrorKind::WouldBlock && sent.elapsed() < POLL_FOR_REPLY => {
                    std::hint::spin_loop();
                }
                _ => break,
            }
        }
        // Should this fail, reads would see `WouldBlock`: the connection is then unusable
        // and says so at the next read.
        let _ = tcp.set_nonblocking(false);
    }

    fn receive(&mut self) -> Result<Edn, ClientError> {
        match read_frame(&mut self.stream, MAX_REPLY_FRAME) {
            Ok(Some(p)) => transit::read_slice(&p)
                .map_err(|e| ClientError::Protocol(format!("a reply is not valid transit: {e}"))),
            Ok(None) => Err(ClientError::Closed),
            Err(levin_server::FrameError::Io(e)) => Err(ClientError::Io {
                op: "reading a reply".into(),
                source: e,
            }),
            Err(e) => Err(ClientError::Protocol(e.to_string())),
        }
    }

    /// Sends `{:type op :id n :args args ...named}` and returns the result, reassembling a
    /// streamed one.
    pub fn call(
        &mut self,
        op: &str,
        args: Vec<Edn>,
        named: Vec<(Edn, Edn)>,
    ) -> Result<Edn, ClientError> {
        self.next_id += 1;
        let id = self.next_id;
        let mut m = vec![
            (k("type"), k(op)),
            (k("id"), Edn::Long(id)),
            (k("args"), Edn::Vector(args)),
        ];
        m.extend(named);
        let sent = Instant::now();
        self.send(&Edn::Map(m))?;
        if self.last_round_trip < POLL_FOR_REPLY {
            self.poll_for_reply(sent);
        }
        let reply = self.receive()?;
        self.last_round_trip = sent.elapsed();
        check_id(&reply, id)?;
        match field(&reply, "type")
            .and_then(Edn::as_keyword)
            .map(Keyword::name)
        {
            Some("command-complete") => Ok(take_field(reply, "result")),
            Some("copy-out-response") => self.collect(id, &reply),
            _ => Err(error_of(&reply)),
        }
    }

    fn collect(&mut self, id: i64, head: &Edn) -> Result<Edn, ClientError> {
        let kind = field(head, "kind")
            .and_then(Edn::as_keyword)
            .map(|k| k.name().to_string());
        // The announced count sizes the result once; it is capped so that a wrong count
        // cannot make the client reserve more than the batches can fill.
        let announced = match field(head, "count") {
            Some(Edn::Long(n)) => usize::try_from(*n).unwrap_or(0).min(MAX_RESERVED_ITEMS),
            _ => 0,
        };
        let mut items: Vec<Edn> = Vec::new();
        loop {
            let m = self.receive()?;
            check_id(&m, id)?;
            match field(&m, "type")
                .and_then(Edn::as_keyword)
                .map(Keyword::name)
            {
                // The batch's items move into the result: no value is copied.
                Some("copy-batch") => match take_field(m, "items") {
                    Edn::Vector(batch) | Edn::List(batch) if items.is_empty() => {
                        items = batch;
                        items.reserve(announced.saturating_sub(items.len()));
                    }
                    Edn::Vector(batch) | Edn::List(batch) => items.extend(batch),
                    _ => {}
                },
                Some("copy-done") => break,
                _ => return Err(error_of(&m)),
            }
        }
        if let Some(Edn::Map(meta)) = field(head, "meta") {
            let mut m = meta.clone();
            m.push((k("items"), Edn::Vector(items)));
            return Ok(Edn::Map(m));
        }
        Ok(match kind.as_deref() {
            Some("set") => Edn::Set(items),
            Some("list") => Edn::List(items),
            _ => Edn::Vector(items),
        })
    }
}

/// The value of a reply's field, moved out of the reply (`nil` when absent).
fn take_field(reply: Edn, name: &str) -> Edn {
    let key = k(name);
    match reply {
        Edn::Map(entries) => entries
            .into_iter()
            .find_map(|(k, v)| (k == key).then_some(v))
            .unwrap_or(Edn::Nil),
        _ => Edn::Nil,
    }
}

fn check_id(reply: &Edn, id: i64) -> Result<(), ClientError> {
    match field(reply, "id") {
        Some(Edn::Long(n)) if *n == id || *n == 0 => Ok(()),
        other => Err(ClientError::Protocol(format!(
            "a reply to request {id} carries id {}",
            other.map_or("none".into(), Edn::to_string)
        ))),
    }
}

fn check_reply(reply: &Edn) -> Result<(), ClientError> {
    match field(reply, "type")
        .and_then(Edn::as_keyword)
        .map(Keyword::name)
    {
        Some("error-response") => Err(error_of(reply)),
        Some(_) => Ok(()),
        None => Err(ClientError::Protocol(format!(
            "a reply without :type: {reply}"
        ))),
    }
}

/// The error an `:error-response` carries.
fn error_of(reply: &Edn) -> ClientError {
    let data = field(reply, "err-data").cloned().unwrap_or(Edn::Nil);
    let code = data
        .get(&k("code"))
        .and_then(Edn::as_keyword)
        .cloned()
        .unwrap_or_else(|| Keyword::new(Some("levin.error"), "unknown"));
    let message = field(reply, "message")
        .and_then(Edn::as_str)
        .unwrap_or("the server sent an error without a message")
        .to_string();
    ClientError::Server {
        code,
        message,
        data: Box::new(data),
    }
}

fn tls_stream(
    t: &Target,
    tcp: TcpStream,
) -> Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>, ClientError> {
    let mut roots = rustls::RootCertStore::empty();
    let Some(ca) = &t.ca else {
        return Err(ClientError::Tls(
            "TLS needs the server's CA certificate: add ?ca=/path/to/ca.pem to the URI".into(),
        ));
    };
    let pem = std::fs::read(ca).map_err(|e| ClientError::Io {
        op: format!("reading {}", ca.display()),
        source: e,
    })?;
    for cert in rustls_pemfile::certs(&mut &pem[..]) {
        let cert = cert.map_err(|e| ClientError::Tls(format!("{}: {e}", ca.display())))?;
        roots
            .add(cert)
            .map_err(|e| ClientError::Tls(format!("{}: {e}", ca.display())))?;
    }
    let provider = Arc::new(levin_server::tls_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(t.host.clone())
        .map_err(|e| ClientError::Tls(format!("{}: {e}", t.host)))?;
    let conn = rustls::ClientConnection::new(Arc::new(config), name)
        .map_err(|e| ClientError::Tls(e.to_string()))?;
    Ok(rustls::StreamOwned::new(conn, tcp))
}

/// How long a read waits by default before the client gives up on a server.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
