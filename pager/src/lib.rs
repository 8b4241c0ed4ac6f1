//! levin-pager: the data file, its read-only memory map, page I/O and the meta pages.
//!
//! This is the only crate in Levin allowed `unsafe`, and all of it lives in `map.rs` (the data
//! file's read-only map), [`lockfile`] (the shared reader table), [`prefetch`] (cache
//! hints), `io.rs` (a writeback hint) and [`hugebuf`] (huge-page memory for dirty pages).
//! docs/unsafe.md argues why each block is sound.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod error;
pub mod format;
mod hook;
pub mod hugebuf;
mod io;
pub mod lockfile;
mod map;
pub mod meta;
mod pager;
pub mod prefetch;
pub mod recovery;

pub use error::{PagerError, Pgno, Result};
pub use hook::{IoHook, IoOp, IoVerdict};
pub use lockfile::{LockFile, LockHeader, ReaderSlot, NO_SNAPSHOT};
pub use meta::{Meta, MetaProblem, TreeInfo, WrittenPages, WrittenPagesBuilder};
pub use pager::{check_page_size, PageWriter, Pager, PagerOptions, DEFAULT_MAX_MAP_SIZE};
pub use recovery::{PassReason, PassedOver};
