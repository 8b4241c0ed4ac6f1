//! The server's errors, each with a stable code (a keyword in `:levin.error/...`) that
//! clients match on, and the data the embedded error carries (line and column of a parse
//! error, the form a query error is about).

use levin_edn::{Edn, EdnError, Keyword, TransitError};
use levin_query::{ErrorKind, QueryError};

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A frame or message that does not follow the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// A payload that is not valid transit+json.
    #[error("malformed transit: {0}")]
    Transit(TransitError),
    /// An operation the server does not know.
    #[error("unknown operation :{0}")]
    UnknownOp(String),
    /// An argument of the wrong shape or type.
    #[error("{0}")]
    BadArgument(String),
    /// Wrong user name or password (which one is not said).
    #[error("authentication failed: wrong user name or password")]
    AuthFailed,
    /// The user lacks the permission an operation needs.
    #[error("permission denied: {op} needs {needed}")]
    PermissionDenied {
        /// The operation.
        op: String,
        /// The permission it needs, as `action object [target]`.
        needed: String,
    },
    /// A database, user, role, transaction or snapshot that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Creating something that exists already.
    #[error("{0}")]
    Exists(String),
    /// Something that cannot change while in use (a database others have open).
    #[error("{0}")]
    InUse(String),
    /// An operation Levin does not offer (yet).
    #[error("not supported: {0}")]
    Unsupported(String),
    /// EDN text (a query, transaction or schema given as a string) that does not read.
    #[error("{0}")]
    Edn(#[from] EdnError),
    /// The query failed.
    #[error("{0}")]
    Query(QueryError),
    /// The Datalog store failed (schema, transaction, corruption, I/O).
    #[error("{0}")]
    Store(levin_datalog::Error),
    /// The key-value engine failed.
    #[error("{0}")]
    Engine(#[from] levin_engine::Error),
    /// An explicit transaction in the wrong state (none open, one already open, ...).
    #[error("{0}")]
    TxState(String),
    /// The server is at a limit (connections, snapshots).
    #[error("{0}")]
    Busy(String),
}

impl From<levin_query::Error> for ServerError {
    fn from(e: levin_query::Error) -> Self {
        match e {
            levin_query::Error::Query(q) => ServerError::Query(q),
            levin_query::Error::Store(s) => ServerError::Store(s),
            other => ServerError::Protocol(other.to_string()),
        }
    }
}

impl From<QueryError> for ServerError {
    fn from(e: QueryError) -> Self {
        ServerError::Query(e)
    }
}

impl From<levin_datalog::Error> for ServerError {
    fn from(e: levin_datalog::Error) -> Self {
        ServerError::Store(e)
    }
}

fn code(name: &str) -> Keyword {
    Keyword::new(Some("levin.error"), name)
}

fn store_code(e: &levin_datalog::Error) -> Keyword {
    use levin_datalog::Error as E;
    if e.is_corruption() {
        return code("corruption");
    }
    if e.is_writer_busy() {
        return code("writer-busy");
    }
    code(match e {
        E::Edn(_) => "parse",
        E::Schema { .. } | E::SchemaChange { .. } => "schema",
        E::Tx { .. } | E::TxFailed(_) => "transaction",
        E::Unique { .. } => "unique",
        E::Cas { .. } => "cas",
        E::LookupRef(_) => "lookup-ref",
        E::Invalid(_) | E::InvalidValue(_) | E::Option { .. } => "bad-argument",
        E::Engine(_) => "storage",
        _ => "store",
    })
}

impl ServerError {
    /// The stable code clients match on.
    pub fn code(&self) -> Keyword {
        match self {
            ServerError::Protocol(_) => code("protocol"),
            ServerError::Transit(_) => code("protocol"),
            ServerError::UnknownOp(_) => code("unknown-op"),
            ServerError::BadArgument(_) => code("bad-argument"),
            ServerError::AuthFailed => code("auth-failed"),
            ServerError::PermissionDenied { .. } => code("permission-denied"),
            ServerError::NotFound(_) => code("not-found"),
            ServerError::Exists(_) => code("exists"),
            ServerError::InUse(_) => code("in-use"),
            ServerError::Unsupported(_) => code("unsupported"),
            ServerError::Edn(_) => code("parse"),
            ServerError::Query(q) => code(match q.kind {
                ErrorKind::Edn | ErrorKind::Parse => "parse",
                ErrorKind::Timeout => "timeout",
                ErrorKind::TooLarge => "too-large",
                ErrorKind::Db => return q.store_error().map_or(code("store"), store_code),
                _ => "query",
            }),
            ServerError::Store(e) => store_code(e),
            ServerError::Engine(e) if e.is_corruption() => code("corruption"),
            ServerError::Engine(e) if e.is_writer_busy() => code("writer-busy"),
            ServerError::Engine(_) => code("storage"),
            ServerError::TxState(_) => code("transaction-state"),
            ServerError::Busy(_) => code("busy"),
        }
    }

    /// Extra `:err-data` entries: where a parse error is, what form a query error is
    /// about.
    pub fn data(&self) -> Vec<(Edn, Edn)> {
        let k = |n: &str| Edn::kw("", n);
        let at = |line: usize, column: usize| {
            vec![
                (k("line"), Edn::Long(line as i64)),
                (k("column"), Edn::Long(column as i64)),
            ]
        };
        match self {
            ServerError::Edn(e) => at(e.line(), e.column()),
            ServerError::Store(levin_datalog::Error::Edn(e)) => at(e.line(), e.column()),
            ServerError::Query(q) => {
                let mut d = vec![(k("kind"), Edn::string(format!("{:?}", q.kind)))];
                if let Some(p) = &q.position {
                    d.extend(at(p.line, p.column));
                }
                if let Some(f) = &q.form {
                    d.push((k("form"), Edn::string(f.clone())));
                }
                d
            }
            _ => vec![],
        }
    }

    /// Whether the connection must close after this error is sent (the peer cannot be
    /// trusted to be in step any more).
    pub fn closes_connection(&self) -> bool {
        matches!(self, ServerError::Protocol(_) | ServerError::Transit(_))
    }
}
