//! Typed, order-preserving encodings of Levin's values, for keys and values of
//! the storage engine: the byte order of encodings is the order of the values.
//!
//! Two encodings:
//! - the **tagged** encoding ([`encode_value`], [`decode_value`]): a type-tag
//!   byte then the body, for values of mixed or unknown type; values of
//!   different types order by tag ([`tag`]);
//! - the **untagged typed** encoding for a declared type ([`encode_typed`],
//!   [`decode_typed`]), for KV databases whose key or value type is declared.
//!
//! The [`Codec`] trait and its marker types ([`Long`], [`Str`], [`Bytes`], ...)
//! give the typed encodings to statically typed handles such as
//! `Database<Long, Str>`; strings and bytes decode without copying.
//!
//! The byte layouts are in `docs/ENCODING.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bigdec;
mod bigint;
mod codec;
mod error;
mod float;
mod reader;
pub mod tag;
mod tagged;
mod tuple;
mod typed;
mod value;

pub use bigdec::BigDec;
pub use codec::{
    AnyValue, BigInteger, Bool, Bytes, Codec, Data, Decimal, Double, Float, Instant, Keyword, Long,
    Str, Symbol, Tuple, Uuid,
};
pub use error::CodecError;
pub use num_bigint::BigInt;
pub use tagged::{
    decode_tagged_long, decode_tagged_str, decode_value, encode_tagged_long, encode_value,
};
pub use typed::{decode_typed, encode_typed, MAX_DEPTH};
pub use value::{Name, Value, ValueType};
