//! levin-engine: the embedded key-value API over Levin's storage engine.
//!
//! An [`Env`] is a directory holding one memory-mapped data file. Inside it live named
//! databases ([`Db`]), plain or list (sorted values per key). Reads happen in [`RoTxn`]
//! snapshots that never block and are never blocked; writes happen in the single [`RwTxn`].
//! Keys and values are bytes here; `levin_codec` supplies order-preserving encodings.

#![forbid(unsafe_code)]

pub mod backup;
pub mod batch;
pub mod db;
pub mod env;
pub mod error;
pub mod iter;
pub mod range;
pub mod stat;
pub mod txn;
pub mod typed;

pub use batch::KvOp;
pub use db::{Db, DbKind};
pub use env::{Durability, Env, EnvOptions, DATA_FILE};
pub use error::{Error, Result};
pub use iter::{Iter, Keys};
pub use levin_codec as codec;
pub use levin_pager::{PassReason, PassedOver};
pub use levin_txn::check::CheckReport;
pub use levin_txn::ReaderInfo;
pub use range::Range;
pub use stat::{DbStat, Stat};
pub use txn::{PairVisitor, PutFlags, Read, RoTxn, RwTxn};
pub use typed::{Table, TypedIter};
