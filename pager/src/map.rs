//! The read-only memory map of the data file: reserved once at open, never moved or shrunk
//! while the environment lives, so every slice handed out stays at a valid address.

use std::fs::File;
use std::os::fd::AsFd;
use std::ptr::NonNull;

use crate::error::{PagerError, Result};

/// A `PROT_READ`, `MAP_SHARED` mapping of `len` bytes of a file, starting at offset 0.
///
/// The mapping may be longer than the file: the tail past the end of the file is reserved
/// address space that becomes readable as the file grows. Callers only ever read bytes
/// below the file's length (see [`Map::slice`]).
#[derive(Debug)]
pub struct Map {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is read-only shared memory owned by this value; reading it from
// several threads at once is sound because nothing in this process writes through it.
unsafe impl Send for Map {}
// SAFETY: as for `Send`: `&Map` only allows reads of read-only memory.
unsafe impl Sync for Map {}

impl Map {
    /// Maps `len` bytes of `file`, read-only and shared.
    pub fn new(file: &File, len: usize) -> Result<Map> {
        if len == 0 {
            return Err(PagerError::MapExhausted {
                needed: 1,
                reserved: 0,
            });
        }
        // SAFETY: we ask the kernel for a fresh mapping (null hint, no MAP_FIXED), so no
        // existing memory is replaced. The mapping is read-only; its lifetime is tied to
        // `Map`, which unmaps it exactly once in `Drop`.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                rustix::mm::ProtFlags::READ,
                rustix::mm::MapFlags::SHARED,
                file.as_fd(),
                0,
            )
        }
        .map_err(|e| PagerError::Io {
            op: format!("reserving a {len}-byte memory map of"),
            path: std::path::PathBuf::from("the data file"),
            source: e.into(),
        })?;
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or(PagerError::MapExhausted {
            needed: len as u64,
            reserved: 0,
        })?;
        Ok(Map { ptr, len })
    }

    /// The number of bytes reserved.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Borrows `len` bytes at `offset`.
    ///
    /// The caller must have checked that `offset + len` does not pass the end of the file
    /// (reading past it would raise SIGBUS); this function checks only the reservation.
    pub fn slice(&self, offset: usize, len: usize) -> Option<&[u8]> {
        let end = offset.checked_add(len)?;
        if end > self.len {
            return None;
        }
        // SAFETY: `offset..end` lies inside the reservation (checked above), which stays
        // mapped until `self` is dropped, and the returned slice borrows `self`. The memory
        // is readable because the caller checked it lies below the end of the file (the
        // pager's `file_bytes`; the file never shrinks while open). Its bytes do not change
        // while borrowed: the pager only writes pages that no live snapshot can reach
        // (docs/unsafe.md, "Pages under a borrow are never rewritten"); and every bit
        // pattern is a valid `u8`. If that invariant were broken, bytes would change under a
        // live `&[u8]`, which is undefined behaviour (a shared reference promises memory that
        // does not change), however harmless the bytes look: the invariant is what makes
        // this sound, not the byte type.
        Some(unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(offset), len) })
    }

    /// Tells the kernel that reads will be random, turning off read-ahead.
    pub fn advise_random(&self) {
        // SAFETY: the range is exactly our own live mapping; madvise changes only
        // paging hints, never the contents or protection of the memory.
        let _ = unsafe {
            rustix::mm::madvise(
                self.ptr.as_ptr().cast(),
                self.len,
                rustix::mm::Advice::Random,
            )
        };
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` describe the mapping created in `new`, unmapped only here.
        // No slice outlives `self`: every slice borrows the `Map`.
        let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}
