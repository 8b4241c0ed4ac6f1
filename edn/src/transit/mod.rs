//! transit+json: `Edn` values to and from transit's JSON encoding, with its cache.
//!
//! [`write()`] gives the non-verbose JSON form (maps as `["^ ", k, v, ...]`, the write cache on,
//! as transit-clj writes); [`read`] accepts that and the verbose form (maps as JSON objects),
//! resolving `^N` cache codes. The mapping is in `docs/TRANSIT.md`:
//!
//! ```
//! use levin_edn::{read as read_edn, transit};
//!
//! let q = read_edn("[:find ?e :where [?e :name \"Ivan\"] [?e :age ?a]]").unwrap();
//! let text = transit::write(&q);
//! assert_eq!(
//!     text,
//!     r#"["~:find","~$?e","~:where",["^1","~:name","Ivan"],["^1","~:age","~$?a"]]"#
//! );
//! assert_eq!(transit::read(&text).unwrap(), q);
//! ```

mod base64;
mod error;
mod read;
mod scalar;
mod write;

#[cfg(test)]
mod tests;

pub use error::{TransitError, TransitErrorKind};

use crate::Edn;

/// Cache codes are `^` and one or two base-44 digits written from `'0'` (48) up; the cache
/// holds 44 × 44 entries and starts again from 0 when full (transit-java, -clj, -js,
/// -python and the exemplars `map_1936_nested`; the spec's prose still says 94).
const CACHE_DIGITS: usize = 44;
const CACHE_DIGIT_BASE: u8 = b'0';
const CACHE_SIZE: usize = CACHE_DIGITS * CACHE_DIGITS;

/// Whether a string is entered in the cache: at least 4 UTF-16 code units (as in Java and
/// JavaScript) and a map key, a keyword, a symbol or a tag.
fn cacheable(s: &str, as_map_key: bool) -> bool {
    let kind = as_map_key || s.starts_with("~:") || s.starts_with("~$") || s.starts_with("~#");
    // A UTF-8 sequence of n bytes is at most 2 UTF-16 units when n = 4, else 1: 4 units
    // need at least 4 bytes, and 12 bytes always make 4 units.
    kind && match s.len() {
        0..=3 => false,
        12.. => true,
        _ => s.chars().map(char::len_utf16).sum::<usize>() >= 4,
    }
}

/// Writes `v` as transit+json (non-verbose JSON mode, with the write cache for map keys,
/// keywords, symbols and tags as transit-clj does; a top-level scalar is wrapped as
/// `["~#'", v]`).
pub fn write(v: &Edn) -> String {
    write::write(v)
}

/// Reads one transit+json value (both non-verbose and verbose JSON mode, with the read
/// cache `^N`), nesting at most [`DEFAULT_MAX_DEPTH`](crate::DEFAULT_MAX_DEPTH).
///
/// Rejects duplicate map keys and set elements as the EDN reader does. Never panics; the
/// memory used is bounded by a constant times the input length.
pub fn read(text: &str) -> Result<Edn, TransitError> {
    read::read(text)
}

/// [`read`] on bytes, which must be UTF-8.
pub fn read_slice(bytes: &[u8]) -> Result<Edn, TransitError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => read(text),
        Err(e) => Err(TransitError::new(
            TransitErrorKind::InvalidUtf8,
            e.valid_up_to(),
            "$".to_owned(),
        )),
    }
}
