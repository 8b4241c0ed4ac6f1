#![doc = include_str!("../README.md")]
//!
//! # Crate map
//!
//! This facade re-exports the embedded API: [`Env`] and friends from `levin-engine`, and
//! the typed encodings of `levin-codec` as [`codec`]. See docs/ARCHITECTURE.md.

#![forbid(unsafe_code)]

pub use levin_codec as codec;
pub use levin_engine::*;
