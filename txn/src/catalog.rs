//! The catalog: a plain tree from database name to its 48-byte tree descriptor.

use levin_btree::{read, BtreeError, Cursor, Limits, PageSource};
use levin_pager::format::TREE_INFO_SIZE;
use levin_pager::TreeInfo;

use crate::error::{Result, TxnError};

/// Checks a database name: 1 to `max_key` bytes of UTF-8.
pub fn check_name(name: &str, limits: &Limits) -> Result<()> {
    let why = if name.is_empty() {
        "names must not be empty".to_string()
    } else if name.len() > limits.max_key {
        format!(
            "names are at most {} bytes with this page size",
            limits.max_key
        )
    } else {
        return Ok(());
    };
    Err(TxnError::InvalidName {
        name: name.to_string(),
        why,
    })
}

/// The descriptor of `name` in the catalog `cat`.
pub fn lookup<S: PageSource + ?Sized>(
    src: &S,
    cat: &TreeInfo,
    name: &str,
) -> Result<Option<TreeInfo>> {
    if name.is_empty() || name.len() > Limits::new(src.page_size()).max_key {
        return Ok(None);
    }
    match read::get(src, cat, name.as_bytes())? {
        None => Ok(None),
        Some(v) => decode(cat.root, v).map(Some),
    }
}

fn decode(page: u64, v: &[u8]) -> Result<TreeInfo> {
    if v.len() != TREE_INFO_SIZE {
        return Err(
            BtreeError::corrupted(page, format!("catalog entry of {} bytes", v.len())).into(),
        );
    }
    Ok(TreeInfo::decode(v).expect("length checked"))
}

/// All names in the catalog, in order.
pub fn names<S: PageSource + ?Sized>(src: &S, cat: &TreeInfo) -> Result<Vec<String>> {
    Ok(entries(src, cat)?.into_iter().map(|(n, _)| n).collect())
}

/// All (name, descriptor) pairs in the catalog, in order.
pub fn entries<S: PageSource + ?Sized>(src: &S, cat: &TreeInfo) -> Result<Vec<(String, TreeInfo)>> {
    let mut out = Vec::new();
    let mut c = Cursor::new(src, cat);
    let mut ok = c.first()?;
    while ok {
        let (k, v) = c.current()?.expect("positioned");
        let name = String::from_utf8(k.to_vec())
            .map_err(|_| BtreeError::corrupted(cat.root, "catalog name is not UTF-8"))?;
        out.push((name, decode(cat.root, v)?));
        ok = c.next()?;
    }
    Ok(out)
}
