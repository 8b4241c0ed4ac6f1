//! The fault-injection and recording seam: an [`IoHook`] sees every write, sync and resize
//! the pager makes and decides its fate, but never supplies bytes of its own.
//!
//! The hook can only choose among outcomes the real device could produce (the operation
//! happens, fails, lands in part, or a sync is lost); the bytes written are always the
//! pager's own, at the pager's own offsets. That is what makes the seam safe to expose: a
//! hook cannot change a page under a reader's borrow of the map, nor make the file shorter
//! than the map (docs/unsafe.md, "What other code can do").

use std::io;
use std::sync::Arc;

use crate::io::FileIo;

/// One I/O operation of the pager, shown to an [`IoHook`] before it happens.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum IoOp<'a> {
    /// Writing `data` at byte `offset` of the data file. `durable` writes (the meta page of a
    /// two-sync commit) must be on the device when they return.
    Write {
        /// Byte offset in the data file.
        offset: u64,
        /// The bytes the pager writes.
        data: &'a [u8],
        /// The write must be durable when it returns.
        durable: bool,
    },
    /// Making every completed write durable.
    Sync,
    /// A hint to start writing `len` bytes at `offset` to the device now.
    Writeback {
        /// Byte offset in the data file.
        offset: u64,
        /// Length in bytes.
        len: u64,
    },
    /// Growing the file to this many bytes.
    SetLen(u64),
}

/// What the pager does with an operation, as an [`IoHook`] decided.
#[derive(Debug)]
#[non_exhaustive]
pub enum IoVerdict {
    /// Perform the operation.
    Proceed,
    /// Do not perform it; the operation fails with this error.
    Fail(io::Error),
    /// For a write: the first `landed` bytes (at most the whole write) reach the file, then
    /// the write fails with `error`, as a device that tears a write would. For any other
    /// operation it is [`IoVerdict::Fail`] with `error`.
    Torn {
        /// Bytes of the write that reach the file.
        landed: usize,
        /// The error the write then reports.
        error: io::Error,
    },
    /// For a sync or a write-back hint: report success without passing it on, as a device
    /// that loses what it was not made to keep. A write or a resize cannot be skipped (a
    /// skipped resize would leave the map past the end of the file): for them the verdict
    /// fails the operation with an error saying so.
    Skip,
}

/// Sees, and may fail, every write, sync and resize of the data file (tests inject faults
/// and record what reached the disk through it; `levin-testkit` has one).
pub trait IoHook: Send + Sync + std::fmt::Debug {
    /// Called once when the pager opens the file, with the file's contents at that moment.
    fn opened(&self, contents: &[u8]) {
        let _ = contents;
    }
    /// Decides the fate of `op`, which has not happened yet.
    fn decide(&self, op: IoOp<'_>) -> IoVerdict;
}

/// The production I/O with a hook in front of each operation that changes the file.
#[derive(Debug)]
pub(crate) struct HookedIo {
    pub(crate) inner: Box<dyn FileIo>,
    pub(crate) hook: Arc<dyn IoHook>,
}

fn unskippable(what: &str) -> io::Error {
    io::Error::other(format!(
        "an IoHook tried to skip a {what}, which cannot be skipped; failing it instead"
    ))
}

impl HookedIo {
    fn write(&self, buf: &[u8], offset: u64, durable: bool) -> io::Result<()> {
        let op = IoOp::Write {
            offset,
            data: buf,
            durable,
        };
        match self.hook.decide(op) {
            IoVerdict::Proceed if durable => self.inner.write_durable_at(buf, offset),
            IoVerdict::Proceed => self.inner.write_at(buf, offset),
            IoVerdict::Fail(e) => Err(e),
            IoVerdict::Torn { landed, error } => {
                let landed = landed.min(buf.len());
                if landed > 0 {
                    self.inner.write_at(&buf[..landed], offset)?;
                }
                Err(error)
            }
            IoVerdict::Skip => Err(unskippable("write")),
        }
    }

    /// Runs `f` unless the hook fails or skips the operation (`skip` is what a skip returns).
    fn gate(
        &self,
        op: IoOp<'_>,
        skip: io::Result<()>,
        f: impl FnOnce() -> io::Result<()>,
    ) -> io::Result<()> {
        match self.hook.decide(op) {
            IoVerdict::Proceed => f(),
            IoVerdict::Fail(e) | IoVerdict::Torn { error: e, .. } => Err(e),
            IoVerdict::Skip => skip,
        }
    }
}

impl FileIo for HookedIo {
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.write(buf, offset, false)
    }
    fn write_durable_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.write(buf, offset, true)
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.inner.read_at(buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.gate(IoOp::Sync, Ok(()), || self.inner.sync_data())
    }
    fn start_writeback(&self, offset: u64, len: u64) -> io::Result<()> {
        self.gate(IoOp::Writeback { offset, len }, Ok(()), || {
            self.inner.start_writeback(offset, len)
        })
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.gate(IoOp::SetLen(len), Err(unskippable("resize")), || {
            self.inner.set_len(len)
        })
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::StdFileIo;
    use std::sync::Mutex;

    /// Answers each operation with the next verdict of a script (then `Proceed`).
    #[derive(Debug, Default)]
    struct Scripted(Mutex<Vec<IoVerdict>>);

    impl IoHook for Scripted {
        fn decide(&self, _op: IoOp<'_>) -> IoVerdict {
            let mut v = self.0.lock().unwrap();
            if v.is_empty() {
                IoVerdict::Proceed
            } else {
                v.remove(0)
            }
        }
    }

    fn hooked(script: Vec<IoVerdict>) -> (tempfile::TempDir, HookedIo) {
        let dir = tempfile::tempdir().unwrap();
        let file = std::fs::File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.path().join("f"))
            .unwrap();
        let io = HookedIo {
            inner: Box::new(StdFileIo::new(Arc::new(file))),
            hook: Arc::new(Scripted(Mutex::new(script))),
        };
        (dir, io)
    }

    fn contents(io: &HookedIo) -> Vec<u8> {
        let mut buf = vec![0u8; io.len().unwrap() as usize];
        io.read_at(&mut buf, 0).unwrap();
        buf
    }

    #[test]
    fn a_hook_decides_but_never_supplies_bytes() {
        let (_d, io) = hooked(vec![
            IoVerdict::Proceed,
            IoVerdict::Torn {
                landed: 100,
                error: io::Error::other("torn"),
            },
            IoVerdict::Fail(io::Error::other("failed")),
            IoVerdict::Skip,
        ]);
        io.write_at(b"abcd", 0).unwrap();
        // A landed prefix longer than the write is the whole write, and still an error.
        assert!(io.write_at(b"ef", 4).is_err());
        assert!(io.write_at(b"gh", 6).is_err());
        // A write cannot be skipped: it fails, and nothing lands.
        let e = io.write_at(b"ij", 6).unwrap_err();
        assert!(e.to_string().contains("cannot be skipped"), "{e}");
        assert_eq!(contents(&io), b"abcdef");
    }

    #[test]
    fn a_resize_cannot_be_skipped_but_a_sync_can() {
        let (_d, io) = hooked(vec![IoVerdict::Skip, IoVerdict::Skip]);
        io.sync_data().unwrap();
        assert!(io.set_len(4096).is_err());
        assert_eq!(io.len().unwrap(), 0);
        io.set_len(4096).unwrap();
        assert_eq!(io.len().unwrap(), 4096);
    }
}
