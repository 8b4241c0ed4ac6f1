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
pub use levin_edn as edn;
pub use levin_engine::*;

/// The Datalog API: connections, transactions, database values, pull and entities
/// (`levin-datalog`) and queries (`levin-query`).
pub mod datalog {
    pub use levin_datalog::*;
    pub use levin_query::{
        explain, q, q_with, AsQuery, DbQuery, ErrorKind, Explain, Input, QueryError, QueryResult,
        Registry,
    };
}

/// The KV API guide (docs/KV.md), compiled as a doctest so its example stays true.
#[doc = include_str!("../docs/KV.md")]
pub mod kv_guide {}
