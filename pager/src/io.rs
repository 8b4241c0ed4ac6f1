//! The file I/O under the pager: every write, sync and resize goes through [`FileIo`]
//! (the production [`StdFileIo`], or it behind an [`crate::IoHook`] in tests).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// The operations the pager performs on the data file, other than reading through the map.
///
/// Implementations must behave like a POSIX file: a `write_at` is visible to the memory map
/// (and to `read_at`) as soon as it returns, and is durable once a later `sync_data` returns.
pub(crate) trait FileIo: Send + Sync + std::fmt::Debug {
    /// Writes all of `buf` at `offset`, extending the file if needed.
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Reads exactly `buf.len()` bytes at `offset`.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Makes every completed write durable.
    fn sync_data(&self) -> io::Result<()>;
    /// Writes all of `buf` at `offset` and returns once those bytes are durable. Other
    /// writes are not necessarily made durable by it: sync them first. The default,
    /// [`write_at`](Self::write_at) then [`sync_data`](Self::sync_data), does more.
    fn write_durable_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.write_at(buf, offset)?;
        self.sync_data()
    }
    /// Asks the system to start writing `len` bytes at `offset` to the device now, without
    /// waiting, so that a later [`sync_data`](Self::sync_data) has less left to wait for.
    /// A hint: it promises nothing about durability, and the default does nothing.
    fn start_writeback(&self, offset: u64, len: u64) -> io::Result<()> {
        let _ = (offset, len);
        Ok(())
    }
    /// Sets the file length (the pager only ever grows the file).
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// The file length in bytes.
    fn len(&self) -> io::Result<u64>;
}

/// The production [`FileIo`]: positional reads and writes on a [`File`].
#[derive(Debug)]
pub(crate) struct StdFileIo {
    file: Arc<File>,
    /// The same file opened again with `O_DSYNC`, for durable writes, if it could be.
    dsync: Option<File>,
}

impl StdFileIo {
    /// Wraps an open file.
    pub(crate) fn new(file: Arc<File>) -> Self {
        StdFileIo { file, dsync: None }
    }

    /// Wraps an open file, with a second handle on it opened `O_DSYNC` for
    /// [`FileIo::write_durable_at`]: a durable write is then one system call that syncs
    /// only what it wrote (what LMDB does for its meta page), not a write and a sync of
    /// the whole file.
    pub(crate) fn with_dsync(file: Arc<File>, dsync: File) -> Self {
        StdFileIo {
            file,
            dsync: Some(dsync),
        }
    }
}

impl FileIo for StdFileIo {
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.file.write_all_at(buf, offset)
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }
    fn write_durable_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        match &self.dsync {
            Some(f) => f.write_all_at(buf, offset),
            None => {
                self.file.write_all_at(buf, offset)?;
                self.file.sync_data()
            }
        }
    }
    fn start_writeback(&self, offset: u64, len: u64) -> io::Result<()> {
        start_writeback(&self.file, offset, len)
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }
    fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }
}

/// `sync_file_range(SYNC_FILE_RANGE_WRITE)`: queues the dirty page-cache pages of the range
/// for writing and returns without waiting for them (Linux only; elsewhere nothing).
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return Ok(());
    };
    // SAFETY: `sync_file_range` takes a file descriptor and three integers; no memory is
    // passed. The descriptor is valid for the call because `file` is borrowed for it.
    let r = unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE)
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _offset: u64, _len: u64) -> io::Result<()> {
    Ok(())
}
