//! A fast hasher for page-number keys: the dirty-page maps are looked up several times per
//! tree level on every write, where SipHash's DoS resistance buys nothing (page numbers come
//! from the allocator, not from users).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Multiplicative hashing of one u64 (Fibonacci hashing), good enough for page numbers.
#[derive(Default, Clone, Copy)]
pub struct PgnoHasher(u64);

impl Hasher for PgnoHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 ^= self.0 >> 29;
    }
}

/// A map keyed by page number.
pub type PgnoMap<V> = HashMap<u64, V, BuildHasherDefault<PgnoHasher>>;
/// A set of page numbers.
pub type PgnoSet = HashSet<u64, BuildHasherDefault<PgnoHasher>>;
