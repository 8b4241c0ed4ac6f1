//! levin-btree: the copy-on-write, counted B+tree over pages.
//!
//! Branch entries carry the number of entries beneath them, so range counts, ranks and
//! access by rank are O(log n). A tree is plain (one value per key) or a list tree (a
//! sorted set of values per key, inline when small and a nested tree when large).
//!
//! **Architecture invariant:** this crate knows pages and bytes, never Datalog, types or
//! transactions; it reads pages through [`PageSource`] and writes them only through
//! [`PageStore`], which the transaction layer implements.

#![forbid(unsafe_code)]

pub mod append;
pub mod build;
pub mod check;
pub mod copy;
pub mod cursor;
pub mod error;
pub mod layout;
pub mod list;
pub mod node;
pub mod read;
pub mod rebalance;
pub mod store;
pub mod tree;

pub use cursor::Cursor;
pub use error::{BtreeError, Result};
pub use layout::Limits;
pub use store::{PageSource, PageStore};
pub use tree::PutStatus;
