//! levin-pager: the data file, its read-only memory map, page I/O and the meta pages.
//!
//! This is the only crate in Levin allowed `unsafe`, and all of it lives in [`map`]:
//! creating, reading and destroying the memory map. docs/unsafe.md argues why each
//! block is sound.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod error;
pub mod format;
pub mod io;
pub mod map;
pub mod meta;
mod pager;

pub use error::{PagerError, Pgno, Result};
pub use io::{FileIo, IoWrapper, StdFileIo};
pub use meta::{Meta, MetaProblem, TreeInfo};
pub use pager::{check_page_size, Pager, PagerOptions, DEFAULT_MAX_MAP_SIZE};
