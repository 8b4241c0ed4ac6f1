//! Cache prefetch hints for page bytes that are about to be read.
//!
//! Reason: a tree descent reaches a leaf that is usually not in the CPU cache, and its binary
//! search then waits for one cache miss after another (header, slots, one key per probe),
//! each depending on the previous one. Asking for all the page's cache lines as soon as the
//! page is known lets those misses overlap.

/// Hints the CPU to load every 64-byte line of `bytes` into its caches. It changes no
/// value and cannot fault; on targets without a prefetch instruction it does nothing.
#[inline]
pub fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let mut off = 0;
        while off < bytes.len() {
            let p = bytes[off..].as_ptr().cast::<i8>();
            // SAFETY: `_mm_prefetch` is `unsafe` only because it needs the `sse` target
            // feature, which every x86_64 target has enabled (it is part of the x86_64
            // baseline). A prefetch is a hint: it never faults and has no effect on the
            // program's memory; `p` points into `bytes` in any case.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p) };
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}
