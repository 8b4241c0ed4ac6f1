//! Keyword values decoded from the indexes, shared: each thread keeps the keywords it
//! decoded recently, keyed by their stored bytes, so that reading `:order/status :new`
//! twenty thousand times allocates it once and every copy shares one text.

use levin_edn::Keyword;
use rustc_hash::FxHashMap;
use std::cell::RefCell;

/// Entries kept per thread before the cache starts over; keyword values are usually a
/// small set (enumerations), and this bounds the memory a pathological store can pin.
const MAX_ENTRIES: usize = 4096;

/// Stored parts longer than this are not cached (they are rare and would make the
/// cache's memory bound loose).
const MAX_PART_LEN: usize = 128;

thread_local! {
    static RECENT: RefCell<FxHashMap<Box<[u8]>, Keyword>> = RefCell::new(FxHashMap::default());
}

/// The keyword stored as `part` (a tagged keyword value), decoding it with `decode` only
/// when this thread has not seen those bytes recently. `decode` must be the decoder of
/// `part`: equal bytes decode to equal keywords, which is what makes sharing correct.
pub(crate) fn shared<E>(
    part: &[u8],
    decode: impl FnOnce() -> Result<Keyword, E>,
) -> Result<Keyword, E> {
    if part.len() > MAX_PART_LEN {
        return decode();
    }
    if let Some(k) = RECENT.with(|r| r.borrow().get(part).cloned()) {
        return Ok(k);
    }
    let k = decode()?;
    RECENT.with(|r| {
        let mut r = r.borrow_mut();
        if r.len() >= MAX_ENTRIES {
            r.clear();
        }
        r.insert(part.into(), k.clone());
    });
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_bytes_share_one_keyword_and_errors_are_not_cached() {
        let a = shared(b"\x41k1", || Ok::<_, ()>(Keyword::new(Some("a"), "b"))).unwrap();
        let b = shared(b"\x41k1", || -> Result<Keyword, ()> {
            panic!("decoded twice")
        })
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(shared(b"\x41k2", || Err::<Keyword, _>("bad")), Err("bad"));
        let c = shared(b"\x41k2", || Ok::<_, ()>(Keyword::new(None, "c"))).unwrap();
        assert_eq!(c, Keyword::new(None, "c"));
    }

    #[test]
    fn the_cache_stays_bounded() {
        for i in 0..(MAX_ENTRIES + 10) {
            let part = format!("\x41{i}");
            shared(part.as_bytes(), || {
                Ok::<_, ()>(Keyword::new(None, &i.to_string()))
            })
            .unwrap();
        }
        assert!(RECENT.with(|r| r.borrow().len()) <= MAX_ENTRIES);
    }
}
