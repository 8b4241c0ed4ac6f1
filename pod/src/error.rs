//! [`PodError`]: everything an invoke can fail with, each with the `:type` its reply's
//! `ex-data` carries (`levin/...`) and the extra entries that go with it.

use levin_edn::{Edn, TransitError};

use crate::bencode::BencodeError;

/// Everything an invoke (or a message) can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PodError {
    /// A Datalevin var Levin cannot serve.
    #[error("levin: {var} is not supported ({reason})")]
    Unsupported {
        /// The var's name, without the namespace.
        var: String,
        /// What Levin lacks for it.
        reason: &'static str,
    },
    /// A var the namespace does not have.
    #[error("Var not found: {0}")]
    UnknownVar(String),
    /// An op of the pod protocol this pod does not know.
    #[error("unknown op: {0}")]
    UnknownOp(String),
    /// A message that is not valid bencode, or lacks what its op needs.
    #[error("malformed message: {0}")]
    BadMessage(String),
    /// Bencode that does not read.
    #[error("malformed bencode: {0}")]
    Bencode(#[from] BencodeError),
    /// Arguments that are not valid transit+json.
    #[error("malformed transit in the arguments: {0}")]
    Transit(#[from] TransitError),
    /// A call with the wrong number of arguments.
    #[error("wrong number of args ({got}) passed to {var}: it takes {takes}")]
    Arity {
        /// The var.
        var: String,
        /// How many it got.
        got: usize,
        /// How many it takes, in words.
        takes: String,
    },
    /// An argument of the wrong shape or type.
    #[error("{0}")]
    BadArgument(String),
    /// A handle that is not (or no longer) open in this pod.
    #[error("no open {kind} {id} in this pod (closed, or never opened)")]
    NoHandle {
        /// conn, db or kv-db.
        kind: &'static str,
        /// The handle as EDN.
        id: String,
    },
    /// A write that would wait forever on this pod's own explicit write transaction.
    #[error("{0}")]
    WriterBusy(String),
    /// An explicit transaction in the wrong state.
    #[error("{0}")]
    TxState(String),
    /// A query failed.
    #[error("{0}")]
    Query(levin_query::QueryError),
    /// The Datalog store failed (schema, transaction, corruption, I/O).
    #[error("{0}")]
    Store(levin_datalog::Error),
    /// The key-value engine failed.
    #[error("{0}")]
    Engine(#[from] levin_engine::Error),
    /// EDN text (a query or schema given as a string) that does not read.
    #[error("{0}")]
    Edn(#[from] levin_edn::EdnError),
    /// A file-system operation failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<levin_query::Error> for PodError {
    fn from(e: levin_query::Error) -> Self {
        match e {
            levin_query::Error::Query(q) => PodError::Query(q),
            levin_query::Error::Store(s) => PodError::from(s),
            #[allow(unreachable_patterns)]
            other => PodError::BadArgument(other.to_string()),
        }
    }
}

impl From<levin_query::QueryError> for PodError {
    fn from(e: levin_query::QueryError) -> Self {
        PodError::Query(e)
    }
}

impl From<levin_datalog::Error> for PodError {
    fn from(e: levin_datalog::Error) -> Self {
        match e {
            levin_datalog::Error::Engine(e) => PodError::Engine(e),
            other => PodError::Store(other),
        }
    }
}

fn store_type(e: &levin_datalog::Error) -> &'static str {
    use levin_datalog::Error as E;
    if e.is_corruption() {
        return "levin/corruption";
    }
    if e.is_writer_busy() {
        return "levin/writer-busy";
    }
    match e {
        E::Edn(_) => "levin/parse",
        E::Schema { .. } | E::SchemaChange { .. } => "levin/schema",
        E::Tx { .. } | E::TxFailed(_) => "levin/transaction",
        E::Unique { .. } => "levin/unique",
        E::Cas { .. } => "levin/cas",
        E::LookupRef(_) => "levin/lookup-ref",
        E::Invalid(_) | E::Option { .. } => "levin/bad-argument",
        _ => "levin/store",
    }
}

impl PodError {
    /// The `:type` of the reply's `ex-data`.
    pub fn type_name(&self) -> &'static str {
        match self {
            PodError::Unsupported { .. } => "levin/unsupported",
            PodError::UnknownVar(_) => "levin/unknown-var",
            PodError::UnknownOp(_) => "levin/unknown-op",
            PodError::BadMessage(_) | PodError::Bencode(_) => "levin/bad-message",
            PodError::Transit(_) => "levin/bad-transit",
            PodError::Arity { .. } => "levin/arity",
            PodError::BadArgument(_) => "levin/bad-argument",
            PodError::NoHandle { .. } => "levin/no-such-handle",
            PodError::WriterBusy(_) => "levin/writer-busy",
            PodError::TxState(_) => "levin/transaction-state",
            PodError::Query(q) => match q.kind {
                levin_query::ErrorKind::Edn | levin_query::ErrorKind::Parse => "levin/parse",
                levin_query::ErrorKind::Timeout => "levin/timeout",
                levin_query::ErrorKind::Db => q.store_error().map_or("levin/query", store_type),
                _ => "levin/query",
            },
            PodError::Store(e) => store_type(e),
            PodError::Engine(e) if e.is_corruption() => "levin/corruption",
            PodError::Engine(e) if e.is_writer_busy() => "levin/writer-busy",
            PodError::Engine(_) => "levin/storage",
            PodError::Edn(_) => "levin/parse",
            PodError::Io(_) => "levin/io",
        }
    }

    /// The reply's `ex-data`: `{:type "levin/..." ...}` with what else helps (the var, the
    /// query error's kind and form).
    pub fn ex_data(&self) -> Edn {
        let k = |n: &str| Edn::kw("", n);
        let mut m = vec![(k("type"), Edn::string(self.type_name()))];
        match self {
            PodError::Unsupported { var, .. } | PodError::UnknownVar(var) => {
                m.push((k("var"), Edn::string(var.as_str())));
            }
            PodError::Arity { var, got, .. } => {
                m.push((k("var"), Edn::string(var.as_str())));
                m.push((k("arity"), Edn::Long(*got as i64)));
            }
            PodError::UnknownOp(op) => m.push((k("op"), Edn::string(op.as_str()))),
            PodError::Query(q) => {
                m.push((k("kind"), Edn::string(format!("{:?}", q.kind))));
                if let Some(f) = &q.form {
                    m.push((k("form"), Edn::string(f.as_str())));
                }
            }
            _ => {}
        }
        Edn::Map(m)
    }
}
