//! Errors of the transaction layer, wrapping the tree's.

use levin_btree::BtreeError;
use levin_pager::{PagerError, PassedOver};

/// Everything that can go wrong beginning, using or committing a transaction.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TxnError {
    /// An error from the tree (or below it: pager, I/O).
    #[error(transparent)]
    Btree(#[from] BtreeError),
    /// A named database that does not exist.
    #[error("no database named {0:?}; create it first")]
    NoSuchDatabase(String),
    /// A database name that is empty or too long.
    #[error("invalid database name {name:?}: {why}")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        why: String,
    },
    /// Every reader slot is taken by a live transaction.
    #[error("all {0} reader slots are in use; finish some read transactions or raise max_readers")]
    ReadersFull(usize),
    /// Another write transaction (in this process or another) held the writer lock for the
    /// whole wait.
    #[error("another write transaction held the database for {waited_ms} ms; try again later")]
    WriterBusy {
        /// How long this transaction waited, in milliseconds.
        waited_ms: u64,
    },
    /// A write was attempted in a read-only environment.
    #[error("the environment is open read-only")]
    ReadOnly,
    /// Recovery passed over a meta page that may hold a newer, acknowledged commit, and a
    /// write would overwrite it: refused until the rollback is accepted.
    #[error("{0}. A write would erase that meta page, so writes are refused until the rollback is accepted (EnvOptions::accept_rollback, Env::accept_rollback, or `levin check --accept-rollback DIR`)")]
    PassedOver(PassedOver),
}

impl From<PagerError> for TxnError {
    fn from(e: PagerError) -> Self {
        TxnError::Btree(BtreeError::Pager(e))
    }
}

impl TxnError {
    /// True for corruption found at any layer.
    pub fn is_corruption(&self) -> bool {
        match self {
            TxnError::Btree(b) => b.is_corruption(),
            TxnError::PassedOver(_) => true,
            _ => false,
        }
    }
}

/// Result alias for the transaction layer.
pub type Result<T, E = TxnError> = std::result::Result<T, E>;
