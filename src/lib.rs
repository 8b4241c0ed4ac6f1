#![doc = include_str!("../README.md")]
//!
//! # Crate map
//!
//! This facade re-exports the embedded API: the key-value engine ([`Env`], [`Db`], [`RoTxn`],
//! [`RwTxn`], ...) from `levin-engine`, the typed encodings of `levin-codec` as [`codec`],
//! and the Datalog layer (`Conn`, queries, pull, EDN) of `levin-query` as [`datalog`].
//! See docs/ARCHITECTURE.md.

#![forbid(unsafe_code)]

pub use levin_codec as codec;
pub use levin_engine::*;
pub use levin_query as datalog;

/// The KV API guide (docs/KV.md), compiled as a doctest so its example stays true.
#[doc = include_str!("../docs/KV.md")]
pub mod kv_guide {}
