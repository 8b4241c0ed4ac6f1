//! Errors of the B+tree layer: bad input (sizes), corruption found in a page, and pager errors.

use levin_pager::{PagerError, Pgno};

/// Everything that can go wrong in a B+tree operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BtreeError {
    /// An error from the pager (I/O, a file that is not Levin's, ...).
    #[error(transparent)]
    Pager(#[from] PagerError),
    /// A page holds something a valid tree cannot hold.
    #[error("corruption in page {page}: {what}")]
    Corrupted {
        /// The page at fault.
        page: Pgno,
        /// What is wrong.
        what: String,
    },
    /// A key longer than the page size allows.
    #[error("key of {len} bytes is too long: the maximum with {page_size}-byte pages is {max}")]
    KeyTooLong {
        /// The key's length.
        len: usize,
        /// The longest key allowed.
        max: usize,
        /// The file's page size.
        page_size: usize,
    },
    /// A list value longer than the maximum (list values are keys of the nested tree).
    #[error(
        "list value of {len} bytes is too long: the maximum with {page_size}-byte pages is {max}"
    )]
    ListValueTooLong {
        /// The value's length.
        len: usize,
        /// The longest value allowed.
        max: usize,
        /// The file's page size.
        page_size: usize,
    },
    /// A value larger than the format can describe (values are limited to 2^48 bytes).
    #[error("value of {len} bytes is too large")]
    ValueTooLarge {
        /// The value's length.
        len: u64,
    },
}

impl BtreeError {
    /// A corruption error for `page`.
    pub fn corrupted(page: Pgno, what: impl Into<String>) -> Self {
        BtreeError::Corrupted {
            page,
            what: what.into(),
        }
    }

    /// True for corruption found here or below.
    pub fn is_corruption(&self) -> bool {
        match self {
            BtreeError::Corrupted { .. } => true,
            BtreeError::Pager(p) => p.is_corruption(),
            _ => false,
        }
    }
}

/// Result alias for the B+tree layer.
pub type Result<T, E = BtreeError> = std::result::Result<T, E>;
