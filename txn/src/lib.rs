//! levin-txn: transactions over the pager and the B+tree: MVCC snapshots for readers, the
//! single writer with copy-on-write pages, free-page reuse, named trees and the commit
//! protocol.
//!
//! **Architecture invariant:** a page reachable from a snapshot that a live reader holds,
//! or from either meta page, is never written. The reader table and the free list's reuse
//! rule (see [`mod@write`]) enforce it; the pager's zero-copy reads rely on it.

#![forbid(unsafe_code)]

pub mod arena;
pub mod catalog;
pub mod check;
mod dirty;
pub mod env;
pub mod error;
pub mod freelist;
mod pgno_hash;
pub mod protocol;
pub mod read;
pub mod readers;
pub mod write;

pub use env::{CoreOptions, Durability, EnvCore, LOCK_FILE};
pub use error::{Result, TxnError};
pub use read::ReadTxn;
pub use readers::ReaderInfo;
pub use write::WriteTxn;
