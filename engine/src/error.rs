//! Errors of the KV API, wrapping the transaction layer's.

use levin_txn::TxnError;

/// Everything that can go wrong using the KV API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error from the transaction layer (or below: tree, pager, I/O, corruption).
    #[error(transparent)]
    Txn(#[from] TxnError),
    /// The database does not exist.
    #[error("no database named {0:?}; create it first")]
    NoSuchDatabase(String),
    /// A list operation on a plain database, or a plain one on a list database.
    #[error("database {name:?} is a {actual} database; {op} needs a {expected} database")]
    WrongDatabaseKind {
        /// Database name.
        name: String,
        /// What it is.
        actual: &'static str,
        /// What the operation needs.
        expected: &'static str,
        /// The operation.
        op: &'static str,
    },
    /// An append whose key does not sort after the last key.
    #[error("append to {db:?} out of order: the key does not sort after the database's last key")]
    AppendOutOfOrder {
        /// Database name.
        db: String,
    },
    /// Pairs given as sorted that are not in strictly ascending order.
    #[error("put_list_sorted into {db:?}: pair {index} does not sort after the pair before it")]
    NotSorted {
        /// Database name.
        db: String,
        /// The index of the first pair out of order.
        index: usize,
    },
    /// A value could not be encoded or decoded with the database's declared type.
    #[error("{context}: {source}")]
    Codec {
        /// Where: which database, key or value.
        context: String,
        /// The codec's error.
        #[source]
        source: levin_codec::CodecError,
    },
    /// An I/O error outside the data file (creating the directory, copying).
    #[error("I/O error while {op}: {source}")]
    Io {
        /// What was being done.
        op: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A bad argument.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// A visitor's callback (`Read::visit_range`, `Read::visit_lists`) returned this to end
    /// the visit early; the caller keeps its own reason.
    #[error("the visit was stopped by its callback")]
    Stopped,
}

impl From<levin_btree::BtreeError> for Error {
    fn from(e: levin_btree::BtreeError) -> Self {
        Error::Txn(TxnError::Btree(e))
    }
}

impl From<levin_pager::PagerError> for Error {
    fn from(e: levin_pager::PagerError) -> Self {
        Error::Txn(e.into())
    }
}

impl Error {
    /// True for corruption found at any layer.
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Txn(t) if t.is_corruption())
    }

    /// True when a bounded wait for the writer ([`crate::Env::write_timeout`]) ran out.
    pub fn is_writer_busy(&self) -> bool {
        matches!(self, Error::Txn(TxnError::WriterBusy { .. }))
    }
}

/// Result alias for the KV API.
pub type Result<T, E = Error> = std::result::Result<T, E>;
