//! The lock file beside the data file: a shared-memory reader table that every process
//! maps, the last committed transaction id, and three advisory POSIX record locks on single
//! bytes (initialisation, liveness of users, the single writer), all released by the kernel
//! if a holder dies.
//!
//! POSIX record locks belong to a process, not a file descriptor: they never conflict within
//! one process (the environment registry and the in-process writer mutex serialise threads)
//! and are all dropped when the process closes any descriptor of the file, so this module
//! keeps the only descriptor of the lock file and closes it last.

use std::fs::{File, OpenOptions};
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64};

use crate::error::{PagerError, Result};

/// Magic at the start of a lock file ("LEVINLCK" as a little-endian u64).
pub const LOCK_MAGIC: u64 = u64::from_le_bytes(*b"LEVINLCK");
/// Version of the lock file layout (2: slots name their owner by a record-locked byte,
/// not by process id).
pub const LOCK_VERSION: u32 = 2;
/// Bytes of the lock file header.
pub const LOCK_HEADER_SIZE: usize = 64;
/// Bytes of one reader slot (a cache line, so slots never share one).
pub const READER_SLOT_SIZE: usize = 64;
/// A slot's transaction id when it holds no snapshot.
pub const NO_SNAPSHOT: u64 = u64::MAX;

/// The lock file header as it sits in shared memory.
#[repr(C)]
#[derive(Debug)]
pub struct LockHeader {
    /// [`LOCK_MAGIC`].
    pub magic: AtomicU64,
    /// [`LOCK_VERSION`].
    pub version: AtomicU32,
    /// Number of reader slots that follow the header.
    pub slots: AtomicU32,
    /// Id of the last committed transaction, published by the writer after its commit.
    pub committed: AtomicU64,
    reserved: [AtomicU64; 5],
}

/// One reader slot as it sits in shared memory. A slot is free when `owner` is 0.
#[repr(C, align(64))]
#[derive(Debug)]
pub struct ReaderSlot {
    /// The snapshot (transaction id) the reader reads, or [`NO_SNAPSHOT`].
    pub txn: AtomicU64,
    /// The owning process's token (see [`LockFile::owner`]); 0 when the slot is free,
    /// `u32::MAX` while a reclaimer frees it. The owner is alive while it holds the record
    /// lock on byte `LOCK_BYTE_OWNERS + owner - 1`.
    pub owner: AtomicU32,
    /// The owner's process id, as the owner sees it (in its own PID namespace): for
    /// display only, never for liveness.
    pub pid: AtomicU32,
    /// When the snapshot was taken, in milliseconds since the Unix epoch.
    pub started_ms: AtomicU64,
    reserved: [AtomicU64; 5],
}

impl ReaderSlot {
    /// A free slot (for reader tables kept in process memory).
    pub fn new() -> Self {
        ReaderSlot {
            txn: AtomicU64::new(NO_SNAPSHOT),
            owner: AtomicU32::new(0),
            pid: AtomicU32::new(0),
            started_ms: AtomicU64::new(0),
            reserved: Default::default(),
        }
    }
}

impl Default for ReaderSlot {
    fn default() -> Self {
        Self::new()
    }
}

const _: () = assert!(std::mem::size_of::<LockHeader>() == LOCK_HEADER_SIZE);
const _: () = assert!(std::mem::size_of::<ReaderSlot>() == READER_SLOT_SIZE);

/// Byte locked exclusively while a process sets up or resets the lock file and creates the
/// data file.
pub const LOCK_BYTE_INIT: u64 = 0;
/// Byte every attached process holds a shared lock on; an exclusive attempt tells a process
/// whether it is the only user.
pub const LOCK_BYTE_USERS: u64 = 1;
/// Byte the writer of any process holds exclusively.
pub const LOCK_BYTE_WRITER: u64 = 2;
/// The first owner byte: an attached process holds byte `LOCK_BYTE_OWNERS + k` exclusively
/// for as long as it is attached, and names itself `k + 1` in the reader slots it owns. The
/// kernel drops the lock when the process dies, in whatever PID namespace it lives, so a
/// slot whose owner byte is not locked by another process belongs to a dead process. (The
/// bytes lie far past the end of the file; record locks need no bytes there.)
pub const LOCK_BYTE_OWNERS: u64 = 1 << 32;

/// How many owner bytes an opener tries before giving up.
const MAX_OWNERS: u32 = 1 << 20;

#[derive(Clone, Copy, PartialEq, Eq)]
enum LockKind {
    Shared,
    Exclusive,
    Unlock,
}

/// Sets a POSIX record lock on one byte of `f`; with `wait`, blocks until granted.
/// Returns Ok(false) if `wait` is false and another process holds a conflicting lock.
fn lock_byte(f: &File, byte: u64, kind: LockKind, wait: bool) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: `flock` is a plain C struct; all-zero is a valid value for every field.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = match kind {
        LockKind::Shared => libc::F_RDLCK,
        LockKind::Exclusive => libc::F_WRLCK,
        LockKind::Unlock => libc::F_UNLCK,
    } as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = byte as libc::off_t;
    fl.l_len = 1;
    let cmd = if wait { libc::F_SETLKW } else { libc::F_SETLK };
    loop {
        // SAFETY: `fd` is an open descriptor owned by `f` for the duration of the call and
        // `fl` is a valid, initialised flock struct that fcntl only reads.
        let r = unsafe { libc::fcntl(f.as_raw_fd(), cmd, &fl as *const libc::flock) };
        if r == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) | Some(libc::EACCES) if !wait => return Ok(false),
            _ => return Err(e),
        }
    }
}

/// True if a process other than this one holds a record lock on `byte` of `f` (a
/// conflicting lock: this process's own locks never conflict with it).
fn locked_by_another(f: &File, byte: u64) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: `flock` is a plain C struct; all-zero is a valid value for every field.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = byte as libc::off_t;
    fl.l_len = 1;
    // SAFETY: `fd` is an open descriptor owned by `f` for the duration of the call, and
    // `fl` is a valid, initialised flock struct that F_GETLK reads and overwrites in place.
    let r = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETLK, &mut fl as *mut libc::flock) };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(fl.l_type != libc::F_UNLCK as libc::c_short)
}

/// An open, mapped lock file. While it lives, the process holds a shared lock on
/// [`LOCK_BYTE_USERS`].
#[derive(Debug)]
pub struct LockFile {
    path: PathBuf,
    file: File,
    ptr: NonNull<u8>,
    len: usize,
    nslots: usize,
    initialising: std::sync::atomic::AtomicBool,
    /// This process's owner token: it holds byte `LOCK_BYTE_OWNERS + owner - 1`.
    owner: u32,
}

// SAFETY: the mapping is shared memory accessed only through atomics (`LockHeader` and
// `ReaderSlot` contain nothing else), so sharing `&LockFile` across threads is sound.
unsafe impl Send for LockFile {}
// SAFETY: as for `Send`.
unsafe impl Sync for LockFile {}

fn io_err(op: &str, path: &Path, e: impl Into<std::io::Error>) -> PagerError {
    PagerError::io(op.to_string(), path, e.into())
}

impl LockFile {
    /// Opens or creates the lock file at `path` with room for `nslots` readers (an existing
    /// table keeps its own size). The first process to open it, or the first after every
    /// user died, resets it: any slots found then belong to dead processes.
    ///
    /// Returns holding the initialisation lock, so the caller can create or open the data
    /// file without racing another process's first open; call [`LockFile::end_init`] then.
    pub fn open(path: &Path, nslots: usize) -> Result<LockFile> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| io_err("opening the lock file", path, e))?;
        lock_byte(&file, LOCK_BYTE_INIT, LockKind::Exclusive, true)
            .map_err(|e| io_err("locking", path, e))?;
        let result = Self::attach(file, path, nslots);
        // On error the file (and with it every record lock) is closed.
        result
    }

    fn attach(file: File, path: &Path, nslots: usize) -> Result<LockFile> {
        let sole_user = lock_byte(&file, LOCK_BYTE_USERS, LockKind::Exclusive, false)
            .map_err(|e| io_err("locking", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| io_err("reading the length of", path, e))?
            .len() as usize;
        let nslots = if sole_user || len == 0 {
            // The only user may reset anything: a damaged or older lock file included.
            let n = Self::check_header(&file, path).map_or(nslots, |n| n.max(nslots));
            Self::initialise(&file, path, n)?;
            n
        } else {
            Self::check_header(&file, path)?
        };
        // Converting our lock on the users byte is atomic for record locks, and every other
        // opener waits on the init byte meanwhile.
        lock_byte(&file, LOCK_BYTE_USERS, LockKind::Shared, true)
            .map_err(|e| io_err("locking", path, e))?;
        let owner = Self::take_owner_byte(&file, path)?;
        let len = LOCK_HEADER_SIZE + nslots * READER_SLOT_SIZE;
        // SAFETY: a fresh mapping (no MAP_FIXED) of `len` bytes of a file that is at least
        // that long (initialise/check_header ensured it; no user ever shrinks it while
        // others are attached); unmapped only in Drop.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
                rustix::mm::MapFlags::SHARED,
                file.as_fd(),
                0,
            )
        }
        .map_err(|e| io_err("mapping", path, e))?;
        let ptr = NonNull::new(ptr.cast::<u8>())
            .ok_or_else(|| io_err("mapping", path, std::io::Error::other("null map")))?;
        Ok(LockFile {
            path: path.to_path_buf(),
            file,
            ptr,
            len,
            nslots,
            initialising: std::sync::atomic::AtomicBool::new(true),
            owner,
        })
    }

    /// Locks the first free owner byte for good (until the descriptor closes) and returns
    /// its token, `k + 1` for byte `LOCK_BYTE_OWNERS + k`.
    fn take_owner_byte(file: &File, path: &Path) -> Result<u32> {
        for k in 0..MAX_OWNERS {
            let byte = LOCK_BYTE_OWNERS + u64::from(k);
            if lock_byte(file, byte, LockKind::Exclusive, false)
                .map_err(|e| io_err("locking", path, e))?
            {
                return Ok(k + 1);
            }
        }
        Err(PagerError::BadLockFile {
            path: path.to_path_buf(),
            why: format!("all {MAX_OWNERS} owner bytes are locked by other processes"),
        })
    }

    /// This process's owner token, which it writes into the reader slots it claims.
    pub fn owner(&self) -> u32 {
        self.owner
    }

    /// True unless `owner` is a token no live process holds: the owner byte is locked by
    /// another process, or is this process's own. An error reading the lock counts as
    /// alive, which only keeps a snapshot's pages from reuse longer.
    pub fn owner_alive(&self, owner: u32) -> bool {
        if owner == self.owner {
            return true;
        }
        let Some(k) = owner.checked_sub(1) else {
            return false;
        };
        locked_by_another(&self.file, LOCK_BYTE_OWNERS + u64::from(k)).unwrap_or(true)
    }

    /// Releases the initialisation lock taken by [`LockFile::open`].
    pub fn end_init(&self) {
        if self
            .initialising
            .swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            let _ = lock_byte(&self.file, LOCK_BYTE_INIT, LockKind::Unlock, true);
        }
    }

    fn check_header(f: &File, path: &Path) -> Result<usize> {
        let mut h = [0u8; LOCK_HEADER_SIZE];
        f.read_exact_at(&mut h, 0)
            .map_err(|e| io_err("reading the header of", path, e))?;
        let magic = u64::from_le_bytes(h[0..8].try_into().expect("8 bytes"));
        let version = u32::from_le_bytes(h[8..12].try_into().expect("4 bytes"));
        let slots = u32::from_le_bytes(h[12..16].try_into().expect("4 bytes")) as usize;
        if magic != LOCK_MAGIC {
            return Err(PagerError::BadLockFile {
                path: path.to_path_buf(),
                why: "it does not start with Levin's lock-file magic".into(),
            });
        }
        if version != LOCK_VERSION {
            return Err(PagerError::BadLockFile {
                path: path.to_path_buf(),
                why: format!("it has lock format version {version}, this build uses {LOCK_VERSION}; close every process using the database so the lock file can be reset"),
            });
        }
        let len = f
            .metadata()
            .map_err(|e| io_err("reading the length of", path, e))?
            .len() as usize;
        if slots == 0 || len < LOCK_HEADER_SIZE + slots * READER_SLOT_SIZE {
            return Err(PagerError::BadLockFile {
                path: path.to_path_buf(),
                why: format!("its header claims {slots} slots but the file is {len} bytes"),
            });
        }
        Ok(slots)
    }

    fn initialise(f: &File, path: &Path, nslots: usize) -> Result<()> {
        let mut buf = vec![0u8; LOCK_HEADER_SIZE + nslots * READER_SLOT_SIZE];
        buf[0..8].copy_from_slice(&LOCK_MAGIC.to_le_bytes());
        buf[8..12].copy_from_slice(&LOCK_VERSION.to_le_bytes());
        buf[12..16].copy_from_slice(&(nslots as u32).to_le_bytes());
        buf[16..24].copy_from_slice(&NO_SNAPSHOT.to_le_bytes());
        for i in 0..nslots {
            let off = LOCK_HEADER_SIZE + i * READER_SLOT_SIZE;
            buf[off..off + 8].copy_from_slice(&NO_SNAPSHOT.to_le_bytes());
        }
        f.set_len(buf.len() as u64)
            .map_err(|e| io_err("sizing", path, e))?;
        f.write_all_at(&buf, 0)
            .map_err(|e| io_err("initialising", path, e))?;
        Ok(())
    }

    /// The header.
    pub fn header(&self) -> &LockHeader {
        // SAFETY: the mapping is at least LOCK_HEADER_SIZE bytes, page aligned (so aligned
        // for LockHeader), lives as long as `self`, and LockHeader is all atomics, valid for
        // any bit pattern and safe to share across threads and processes.
        unsafe { &*self.ptr.as_ptr().cast::<LockHeader>() }
    }

    /// The reader slots.
    pub fn slots(&self) -> &[ReaderSlot] {
        // SAFETY: the mapping holds `nslots` slots after the header (its length was checked
        // or set at open), the offset 64 keeps ReaderSlot's 64-byte alignment on a page-
        // aligned base, the memory lives as long as `self`, and ReaderSlot is all atomics.
        unsafe {
            std::slice::from_raw_parts(
                self.ptr.as_ptr().add(LOCK_HEADER_SIZE).cast::<ReaderSlot>(),
                self.nslots,
            )
        }
    }

    /// Takes the cross-process writer lock, waiting for another process's writer. Within
    /// one process the caller serialises writers (record locks never conflict there).
    pub fn lock_writer(&self) -> Result<()> {
        lock_byte(&self.file, LOCK_BYTE_WRITER, LockKind::Exclusive, true)
            .map(|_| ())
            .map_err(|e| io_err("taking the writer lock on", &self.path, e))
    }

    /// Takes the cross-process writer lock if no other process holds it; `Ok(false)` when
    /// one does.
    pub fn try_lock_writer(&self) -> Result<bool> {
        lock_byte(&self.file, LOCK_BYTE_WRITER, LockKind::Exclusive, false)
            .map_err(|e| io_err("taking the writer lock on", &self.path, e))
    }

    /// Releases the writer lock.
    pub fn unlock_writer(&self) -> Result<()> {
        lock_byte(&self.file, LOCK_BYTE_WRITER, LockKind::Unlock, true)
            .map(|_| ())
            .map_err(|e| io_err("releasing the writer lock on", &self.path, e))
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are the mapping made in `open`, unmapped only here; every
        // reference into it borrows `self`.
        let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}
