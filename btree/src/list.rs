//! List (sorted-duplicate) values: the inline packed form kept in a leaf entry, and the
//! tree descriptor used once a key's values outgrow it.

use levin_pager::{Pgno, TreeInfo};

use crate::error::{BtreeError, Result};

/// The values of one key stored inline: a sorted sequence of (u16 length, bytes).
#[derive(Debug, Clone, Default)]
pub struct InlineList<'a> {
    /// The values, in ascending byte order, without duplicates.
    pub items: Vec<&'a [u8]>,
}

/// Splits the first item (a little-endian `u16` length, then that many bytes) off the
/// packed list `b`, checking that both lie inside it.
#[inline]
pub(crate) fn split_item<'a>(pgno: Pgno, b: &mut &'a [u8]) -> Result<&'a [u8]> {
    let Some((len, rest)) = b.split_first_chunk::<2>() else {
        return Err(BtreeError::corrupted(
            pgno,
            "inline list ends inside a length field",
        ));
    };
    let len = u16::from_le_bytes(*len) as usize;
    let Some((item, rest)) = rest.split_at_checked(len) else {
        return Err(BtreeError::corrupted(
            pgno,
            "inline list value runs past its entry",
        ));
    };
    *b = rest;
    Ok(item)
}

impl<'a> InlineList<'a> {
    /// Parses a packed list found in page `pgno`, checking order and bounds.
    pub fn parse(pgno: Pgno, b: &'a [u8]) -> Result<InlineList<'a>> {
        let mut items = Vec::new();
        Self::parse_into(pgno, b, &mut items)?;
        Ok(InlineList { items })
    }

    /// Parses into `items` (which must be empty), reusing its allocation.
    pub fn parse_into(pgno: Pgno, mut b: &'a [u8], items: &mut Vec<&'a [u8]>) -> Result<()> {
        while !b.is_empty() {
            let item = split_item(pgno, &mut b)?;
            if let Some(prev) = items.last() {
                if crate::node::key_cmp(prev, item).is_ge() {
                    return Err(BtreeError::corrupted(
                        pgno,
                        "inline list values out of order",
                    ));
                }
            }
            items.push(item);
        }
        if items.is_empty() {
            return Err(BtreeError::corrupted(pgno, "empty inline list"));
        }
        Ok(())
    }

    /// Number of values of a packed list, walking its lengths only (bounds checked as by
    /// [`parse_into`](Self::parse_into), order not): counting and ranking read this for
    /// every entry they pass, so nothing is allocated.
    pub fn count(pgno: Pgno, mut b: &[u8]) -> Result<u64> {
        let mut n = 0u64;
        while !b.is_empty() {
            split_item(pgno, &mut b)?;
            n += 1;
        }
        if n == 0 {
            return Err(BtreeError::corrupted(pgno, "empty inline list"));
        }
        Ok(n)
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True if there are no values.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Packs the values.
    pub fn encode(&self) -> Vec<u8> {
        encode_items(&self.items)
    }
}

/// Packs sorted values into the inline list form.
pub fn encode_items(items: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.iter().map(|i| i.len() + 2).sum());
    for i in items {
        out.extend_from_slice(&(i.len() as u16).to_le_bytes());
        out.extend_from_slice(i);
    }
    out
}

/// Size of the packed form of `items`.
pub fn encoded_len(items: &[&[u8]]) -> usize {
    items.iter().map(|i| i.len() + 2).sum()
}

/// Decodes the tree descriptor of a nested list tree found in page `pgno`.
pub fn tree_info(pgno: Pgno, val: &[u8]) -> Result<TreeInfo> {
    if val.len() != levin_pager::format::TREE_INFO_SIZE {
        return Err(BtreeError::corrupted(
            pgno,
            format!("nested tree descriptor of {} bytes", val.len()),
        ));
    }
    TreeInfo::decode(val).ok_or_else(|| BtreeError::corrupted(pgno, "short nested tree descriptor"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_lists_round_trip() {
        let items: Vec<&[u8]> = vec![b"a", b"bb", b"c"];
        let enc = encode_items(&items);
        assert_eq!(enc.len(), encoded_len(&items));
        assert_eq!(InlineList::parse(1, &enc).unwrap().items, items);
        assert_eq!(InlineList::count(1, &enc).unwrap(), 3);
    }

    #[test]
    fn damaged_inline_lists_are_errors() {
        // Out of order.
        let enc = encode_items(&[b"b", b"a"]);
        assert!(InlineList::parse(1, &enc).is_err());
        // Duplicate.
        let enc = encode_items(&[b"a", b"a"]);
        assert!(InlineList::parse(1, &enc).is_err());
        // Length running past the end, and a dangling length byte.
        assert!(InlineList::parse(1, &[5, 0, b'a']).is_err());
        assert!(InlineList::parse(1, &[1]).is_err());
        assert!(InlineList::count(1, &[5, 0, b'a']).is_err());
        assert!(InlineList::count(1, &[1, 0, b'a', 1]).is_err());
        // Empty.
        assert!(InlineList::parse(1, &[]).is_err());
        assert!(InlineList::count(1, &[]).is_err());
        // A nested-tree descriptor of the wrong size.
        assert!(tree_info(1, &[0u8; 47]).is_err());
    }
}
