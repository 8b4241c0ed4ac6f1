//! Errors of the Datalog layer: schema, transactions, reads and pull, wrapping the KV
//! engine's and the codec's errors.

use levin_edn::EdnError;

/// Result of the Datalog layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the Datalog layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the KV engine (I/O, corruption, size limits).
    #[error(transparent)]
    Engine(#[from] levin_engine::Error),
    /// Text that is not valid EDN.
    #[error(transparent)]
    Edn(#[from] EdnError),
    /// A stored value could not be decoded (a corrupt or foreign database).
    #[error("corrupt datom encoding: {0}")]
    Corrupt(String),
    /// A schema map that is not valid.
    #[error("invalid schema for {attr}: {reason}")]
    Schema {
        /// The attribute.
        attr: String,
        /// What is wrong.
        reason: String,
    },
    /// A schema property Levin does not support yet (full-text, vector or idoc search).
    #[error("invalid schema for {attr}: {what} is not supported yet")]
    Unsupported {
        /// The attribute.
        attr: String,
        /// The feature, with the property that asks for it.
        what: String,
    },
    /// A schema change that existing data forbids.
    #[error("cannot change the schema of {attr}: {reason}")]
    SchemaChange {
        /// The attribute.
        attr: String,
        /// Why the data forbids it.
        reason: String,
    },
    /// A malformed or invalid transaction form; `form` is the offending form or datom.
    #[error("transaction failed on {form}: {reason}")]
    Tx {
        /// The offending form or datom, as EDN.
        form: String,
        /// What is wrong.
        reason: String,
    },
    /// A datom would break `:db/unique`.
    #[error("unique constraint violated on {datom}: {attr} {value} already belongs to entity {existing}")]
    Unique {
        /// The datom being asserted, as EDN.
        datom: String,
        /// The attribute.
        attr: String,
        /// The value, as EDN.
        value: String,
        /// The entity that already has it.
        existing: u64,
    },
    /// `:db/cas` found another value.
    #[error(":db/cas failed on {form}: the current value is {current}")]
    Cas {
        /// The cas form.
        form: String,
        /// The current value(s), as EDN.
        current: String,
    },
    /// A lookup ref that names no entity.
    #[error("nothing found for lookup ref {0}")]
    LookupRef(String),
    /// An explicit transaction that can only be aborted: one of its calls failed, or it
    /// has already ended.
    #[error("the transaction cannot continue: {0}")]
    TxFailed(String),
    /// A read-only open of an environment that holds no Datalog database.
    #[error("{path} holds no Datalog database (only key-value databases, or none)")]
    NoDatalog {
        /// The environment directory.
        path: String,
    },
    /// A read or pull ran past its deadline.
    #[error("timed out: {0}")]
    Timeout(String),
    /// A value that does not fit its attribute's (or key-value column's) declared type.
    #[error("{0}")]
    InvalidValue(String),
    /// A transaction function that is not registered on the connection.
    #[error("unknown transaction function {name}: register it with Conn::register_tx_fn")]
    UnknownTxFn {
        /// The function's name.
        name: String,
    },
    /// A transaction function that failed, returned something that is not transaction
    /// data, or called functions too deeply.
    #[error("transaction function {name} failed: {reason}")]
    TxFn {
        /// The function's name.
        name: String,
        /// What went wrong.
        reason: String,
        /// The error the function returned, if it failed (none when what it returned was
        /// not transaction data, or the calls went too deep).
        #[source]
        source: Option<crate::TxFnError>,
    },
    /// An attribute not in the schema, on a connection with a closed schema.
    #[error("attribute {attr} is not in the schema, and the schema is closed (closed_schema)")]
    ClosedSchema {
        /// The attribute.
        attr: String,
    },
    /// A bad argument to a read, pull or entity call.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// A bad database option (see [`crate::StoreOptions`]).
    #[error("invalid option {key}: {reason}")]
    Option {
        /// The option's key as given (`:closed-schema?`), or `opts` for the whole map.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    /// True for corruption found in the store (by the engine or in the Datalog layout).
    pub fn is_corruption(&self) -> bool {
        match self {
            Error::Engine(e) => e.is_corruption(),
            Error::Corrupt(_) => true,
            Error::TxFn {
                source: Some(s), ..
            } => {
                s.downcast_ref::<Error>().is_some_and(Error::is_corruption)
                    || s.downcast_ref::<levin_engine::Error>()
                        .is_some_and(levin_engine::Error::is_corruption)
            }
            _ => false,
        }
    }

    /// True when a bounded wait for the writer ([`crate::Conn::set_writer_timeout`]) ran
    /// out; nothing was changed and the caller may try again.
    pub fn is_writer_busy(&self) -> bool {
        matches!(self, Error::Engine(e) if e.is_writer_busy())
    }

    pub(crate) fn tx(form: impl std::fmt::Display, reason: impl Into<String>) -> Error {
        Error::Tx {
            form: form.to_string(),
            reason: reason.into(),
        }
    }
}
