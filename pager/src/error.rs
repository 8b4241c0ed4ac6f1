//! Errors raised by the pager: I/O failures, corruption, and files that are not Levin's.

use std::io;
use std::path::PathBuf;

/// A page number: the index of a page in the data file (byte offset = pgno * page size).
pub type Pgno = u64;

/// Everything that can go wrong below the B+tree.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PagerError {
    /// The operating system reported an I/O failure.
    #[error("I/O error while {op} {path}: {source}")]
    Io {
        /// What the pager was doing ("writing page 17 of", "syncing", ...).
        op: String,
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file holds bytes that a valid Levin file cannot hold.
    #[error("corruption in page {page}: {what}")]
    Corrupted {
        /// The page where the problem was found.
        page: Pgno,
        /// What is wrong with it.
        what: String,
    },
    /// The file exists but does not start with Levin's magic bytes.
    #[error("{path} is not a Levin data file (bad magic bytes in both meta pages)")]
    NotLevinFile {
        /// The file that was opened.
        path: PathBuf,
    },
    /// The file was written by a format version this build cannot read.
    #[error("{path} has format version {found}, but this build of Levin reads versions {oldest} to {expected}")]
    FormatVersion {
        /// The file that was opened.
        path: PathBuf,
        /// Version found in the file.
        found: u32,
        /// The newest version this build reads (and the one it writes).
        expected: u32,
        /// The oldest version this build reads.
        oldest: u32,
    },
    /// A page size outside the supported range, or not a power of two.
    #[error("invalid page size {0}: must be a power of two from 512 to 32768 bytes")]
    InvalidPageSize(usize),
    /// The database would grow past the virtual address range reserved for it.
    #[error("the database needs {needed} bytes but the map reserves only {reserved}; reopen with a larger max_map_size")]
    MapExhausted {
        /// Bytes needed.
        needed: u64,
        /// Bytes reserved.
        reserved: u64,
    },
    /// An earlier write or sync failed, so the state on disk is unknown; reopen the
    /// environment to recover the last good commit.
    #[error("the environment is poisoned by an earlier I/O failure; reopen it to recover the last commit")]
    Poisoned,
    /// The lock file cannot be used.
    #[error("lock file {path} cannot be used: {why}")]
    BadLockFile {
        /// The lock file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// A write was attempted on an environment opened read-only.
    #[error("the environment is open read-only")]
    ReadOnly,
    /// A [`PageWriter`](crate::PageWriter) was presented to a pager other than the one that
    /// issued it.
    #[error("the page writer belongs to another open data file")]
    ForeignWriter,
}

impl PagerError {
    pub(crate) fn io(op: impl Into<String>, path: &std::path::Path, source: io::Error) -> Self {
        PagerError::Io {
            op: op.into(),
            path: path.to_path_buf(),
            source,
        }
    }

    /// A corruption error for `page`.
    pub fn corrupted(page: Pgno, what: impl Into<String>) -> Self {
        PagerError::Corrupted {
            page,
            what: what.into(),
        }
    }

    /// True for corruption (as opposed to I/O or usage errors).
    pub fn is_corruption(&self) -> bool {
        matches!(
            self,
            PagerError::Corrupted { .. } | PagerError::NotLevinFile { .. }
        )
    }
}

/// Result alias for the pager.
pub type Result<T, E = PagerError> = std::result::Result<T, E>;
