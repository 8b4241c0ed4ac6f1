#![doc = include_str!("../README.md")]
//!
//! # Crate map
//!
//! This facade re-exports the embedded API: [`Env`] and friends from `levin-engine`, and
//! the typed encodings of `levin-codec` as [`codec`]. See docs/ARCHITECTURE.md.

#![forbid(unsafe_code)]

pub use levin_codec as codec;
pub use levin_engine::*;

/// The KV API guide (docs/KV.md), compiled as a doctest so its example stays true.
#[doc = include_str!("../docs/KV.md")]
pub mod kv_guide {}
