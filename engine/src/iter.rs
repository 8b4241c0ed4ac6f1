//! Lazy iterators over a range of a database, forward or backward, with optional value
//! ranges for list databases. Items borrow the transaction (zero-copy).

use std::ops::Bound;

use levin_btree::{Cursor, PageSource};

use crate::error::Result;
use crate::range::Range;

/// Iterates (key, value) pairs of a range. In a list database every (key, value) pair is
/// an item. Implements [`Iterator`]; items are `Result`s because a damaged page is reported
/// where it is met.
pub struct Iter<'t> {
    cursor: Cursor<'t, dyn PageSource + 't>,
    range: Range,
    values: Option<Range>,
    keys_only: bool,
    started: bool,
    done: bool,
    /// The last key found inside the key range, compared by address: the values of one
    /// list key share its key bytes in the page, so they need no new range check.
    checked: Option<&'t [u8]>,
}

impl<'t> Iter<'t> {
    pub(crate) fn new(cursor: Cursor<'t, dyn PageSource + 't>, range: Range) -> Self {
        Iter {
            cursor,
            range,
            values: None,
            keys_only: false,
            started: false,
            done: false,
            checked: None,
        }
    }

    /// Restricts a list database's values to `values` (its direction is ignored).
    pub(crate) fn with_values(mut self, values: Range) -> Self {
        self.values = Some(values);
        self
    }

    /// Yields each key once (the first value in iteration order of a list key).
    pub(crate) fn keys_only(mut self) -> Self {
        self.keys_only = true;
        self
    }

    fn position(&mut self) -> Result<bool> {
        let c = &mut self.cursor;
        if !self.range.reverse {
            match &self.range.lo {
                Bound::Unbounded => c.first(),
                Bound::Included(k) => c.seek(k),
                Bound::Excluded(k) => {
                    let mut ok = c.seek(k)?;
                    if ok && c.key()? == k.as_slice() {
                        ok = c.next_key()?;
                    }
                    Ok(ok)
                }
            }
            .map_err(Into::into)
        } else {
            let ok = match &self.range.hi {
                Bound::Unbounded => c.last()?,
                Bound::Included(k) => {
                    if !c.seek(k)? {
                        c.last()?
                    } else if c.key()? == k.as_slice() {
                        c.last_value()?;
                        true
                    } else {
                        c.prev()?
                    }
                }
                Bound::Excluded(k) => {
                    if !c.seek(k)? {
                        c.last()?
                    } else {
                        c.prev()?
                    }
                }
            };
            Ok(ok)
        }
    }

    fn step(&mut self) -> Result<bool> {
        let c = &mut self.cursor;
        let ok = match (self.range.reverse, self.keys_only) {
            (false, false) => c.next()?,
            (false, true) => c.next_key()?,
            (true, false) => c.prev()?,
            (true, true) => c.prev_key()?,
        };
        Ok(ok)
    }

    fn next_item(&mut self) -> Result<Option<(&'t [u8], &'t [u8])>> {
        if self.done {
            return Ok(None);
        }
        let ok = if self.started {
            self.step()?
        } else {
            self.started = true;
            self.position()?
        };
        let mut current = if ok { self.cursor.current()? } else { None };
        loop {
            let Some((k, v)) = current else {
                self.done = true;
                return Ok(None);
            };
            if !self.checked.is_some_and(|c| std::ptr::eq(c, k)) {
                let inside = if self.range.reverse {
                    self.range.above_lo(k)
                } else {
                    self.range.below_hi(k)
                };
                if !inside {
                    self.done = true;
                    return Ok(None);
                }
                self.checked = Some(k);
            }
            let Some(vr) = &self.values else {
                return Ok(Some((k, v)));
            };
            if vr.contains(v) {
                return Ok(Some((k, v)));
            }
            // Outside the value range: move within this key, or on to the next key. Every
            // branch moves the cursor strictly forward in iteration order in a valid tree;
            // in a damaged one (keys or values out of order) a seek can land back where the
            // loop has been, so the move is checked, or the loop could go round forever.
            let ok = match (self.range.reverse, vr.above_lo(v)) {
                (false, false) => match &vr.lo {
                    Bound::Excluded(l) if v == l.as_slice() => self.cursor.next()?,
                    Bound::Included(l) | Bound::Excluded(l) => {
                        let l = l.clone();
                        self.cursor.seek_pair(k, &l)?
                    }
                    Bound::Unbounded => self.cursor.next()?,
                },
                (false, true) => self.cursor.next_key()?,
                (true, true) => self.cursor.prev()?,
                (true, false) => self.cursor.prev_key()?,
            };
            current = if ok { self.cursor.current()? } else { None };
            if let Some(next) = current {
                let onward = if self.range.reverse {
                    next < (k, v)
                } else {
                    next > (k, v)
                };
                if !onward {
                    return Err(self.cursor.out_of_order("keys or list values").into());
                }
            }
        }
    }
}

impl<'t> Iterator for Iter<'t> {
    type Item = Result<(&'t [u8], &'t [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_item().transpose()
    }
}

/// Iterates the distinct keys of a range (see [`crate::Read::keys`]).
pub struct Keys<'t>(pub(crate) Iter<'t>);

impl<'t> Iterator for Keys<'t> {
    type Item = Result<&'t [u8]>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|r| r.map(|(k, _)| k))
    }
}
