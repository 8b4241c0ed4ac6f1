//! Parsed queries kept by their text (what Datalevin and DataScript do too), so a query run
//! again skips reading and parsing it. Bounded and shared by all threads; a parse is a
//! pure function of the text, and inputs and rules still take effect per call, so a hit
//! cannot change an answer. Texts that fail to parse are not kept.

use std::sync::{Mutex, OnceLock};

use rustc_hash::FxHashMap as HashMap;

use crate::ast::Query;
use crate::error::QResult;
use crate::parse;

/// Queries kept at most; the whole cache is dropped when it is full (a simple bound that
/// needs no bookkeeping per hit).
const CAPACITY: usize = 256;

/// Longer texts are parsed each time (a cache of large texts would hold their memory).
const MAX_TEXT: usize = 8 * 1024;

fn cache() -> &'static Mutex<HashMap<Box<str>, Query>> {
    static CACHE: OnceLock<Mutex<HashMap<Box<str>, Query>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// The parsed query of `text`, from the cache or parsed (and kept).
pub(crate) fn parsed(text: &str) -> QResult<Query> {
    let keep = text.len() <= MAX_TEXT;
    if keep {
        let c = cache().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(q) = c.get(text) {
            return Ok(q.clone());
        }
    }
    let form = levin_edn::read(text)?;
    let q = parse::parse_query(&form).map_err(|e| e.locate(text))?;
    if keep {
        let mut c = cache().lock().unwrap_or_else(|e| e.into_inner());
        if c.len() >= CAPACITY {
            c.clear();
        }
        c.insert(text.into(), q.clone());
    }
    Ok(q)
}
