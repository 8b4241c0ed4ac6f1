//! The pager: opens or creates the data file, maps it read-only, hands out page slices,
//! writes pages and meta pages through [`FileIo`], and grows the file in chunks.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{PagerError, Pgno, Result};
use crate::format::*;
use crate::hook::{HookedIo, IoHook};
use crate::io::{FileIo, StdFileIo};
use crate::map::Map;
use crate::meta::{validate, Meta, MetaProblem, TreeInfo, WrittenPages};
use crate::recovery::{PassReason, PassedOver};

/// Default virtual address space reserved for a database: 1 TiB, far past what an ordinary
/// database reaches; it costs address space only, not memory.
pub const DEFAULT_MAX_MAP_SIZE: u64 = 1 << 40;

/// How to open or create a data file.
#[derive(Clone)]
pub struct PagerOptions {
    /// Page size for a new file; an existing file keeps its own.
    pub page_size: usize,
    /// Virtual address space to reserve; the file can never grow past it.
    pub max_map_size: u64,
    /// Open without write access; every write fails with [`PagerError::ReadOnly`].
    pub read_only: bool,
    /// Sees and may fail every write, sync and resize (tests inject faults here).
    pub io_hook: Option<Arc<dyn IoHook>>,
    /// Lock the data file for this process alone (`flock(LOCK_EX)`), for single-process
    /// mode without a lock file; otherwise it is locked shared (`flock(LOCK_SH)`). Either
    /// open fails at once while the other kind is held, so an exclusive user and shared
    /// users never map the file at the same time.
    pub exclusive: bool,
}

impl std::fmt::Debug for PagerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PagerOptions")
            .field("page_size", &self.page_size)
            .field("max_map_size", &self.max_map_size)
            .field("read_only", &self.read_only)
            .field("io_hook", &self.io_hook)
            .field("exclusive", &self.exclusive)
            .finish()
    }
}

impl Default for PagerOptions {
    fn default() -> Self {
        PagerOptions {
            page_size: DEFAULT_PAGE_SIZE,
            max_map_size: DEFAULT_MAX_MAP_SIZE,
            read_only: false,
            io_hook: None,
            exclusive: false,
        }
    }
}

/// Checks a page size: a power of two from [`MIN_PAGE_SIZE`] to [`MAX_PAGE_SIZE`].
pub fn check_page_size(size: usize) -> Result<()> {
    if size.is_power_of_two() && (MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&size) {
        Ok(())
    } else {
        Err(PagerError::InvalidPageSize(size))
    }
}

/// Numbers the pagers of this process, so that a [`PageWriter`] names its own.
static NEXT_PAGER_ID: AtomicU64 = AtomicU64::new(0);

/// The right to change the bytes of one pager's file: every write of a data or meta page
/// takes it. [`Pager::open`] issues exactly one per pager and no other code can make one,
/// so whoever holds it (the transaction layer, which keeps it private) is the only code in
/// the process that can rewrite pages of that map; which pages it may write is its
/// invariant (docs/unsafe.md, "Pages under a borrow are never rewritten").
///
/// ```compile_fail
/// // Outside this crate a writer cannot be made, only received from `Pager::open`.
/// let forged = levin_pager::PageWriter { pager: 0 };
/// ```
#[derive(Debug)]
pub struct PageWriter {
    pager: u64,
}

/// The data file, its map and its I/O.
#[derive(Debug)]
pub struct Pager {
    /// Matches the [`PageWriter`] issued with this pager.
    id: u64,
    path: PathBuf,
    io: Box<dyn FileIo>,
    map: Map,
    page_size: usize,
    /// Length of the file in bytes as last seen by this process; the file never shrinks.
    file_bytes: AtomicU64,
    read_only: bool,
    /// Set after a failed write or sync: the on-disk state is unknown, so no more writes.
    poisoned: AtomicBool,
    /// A meta page recovery passed over at open that may hold a newer commit.
    passed_over: Option<PassedOver>,
}

impl Pager {
    /// Opens the data file at `path`, creating it (with two initial meta pages) if it does
    /// not exist or is empty. Returns the pager, the one [`PageWriter`] for it, and the
    /// newest valid meta.
    pub fn open(path: &Path, opts: &PagerOptions) -> Result<(Pager, PageWriter, Meta)> {
        check_page_size(opts.page_size)?;
        let file = OpenOptions::new()
            .read(true)
            .write(!opts.read_only)
            .create(!opts.read_only)
            .truncate(false)
            .open(path)
            .map_err(|e| PagerError::io("opening", path, e))?;
        lock_data_file(&file, path, opts.exclusive)?;
        let file = Arc::new(file);
        let mut io: Box<dyn FileIo> = match dsync_handle(path, opts.read_only) {
            Some(d) => Box::new(StdFileIo::with_dsync(file.clone(), d)),
            None => Box::new(StdFileIo::new(file.clone())),
        };
        if let Some(hook) = &opts.io_hook {
            hook.opened(&read_whole_file(io.as_ref(), path)?);
            io = Box::new(HookedIo {
                inner: io,
                hook: hook.clone(),
            });
        }
        let len = io
            .len()
            .map_err(|e| PagerError::io("reading the length of", path, e))?;
        let (page_size, meta, passed_over) = if len == 0 {
            if opts.read_only {
                return Err(PagerError::NotLevinFile {
                    path: path.to_path_buf(),
                });
            }
            let meta = Meta {
                page_size: opts.page_size as u32,
                txn_id: 0,
                npages: FIRST_DATA_PAGE,
                catalog: TreeInfo::empty(0),
                free: TreeInfo::empty(0),
            };
            let mut page = vec![0u8; opts.page_size];
            meta.encode(&mut page, None);
            for slot in 0..2u64 {
                io.write_at(&page, slot * opts.page_size as u64)
                    .map_err(|e| PagerError::io("writing the initial meta pages of", path, e))?;
            }
            io.sync_data()
                .map_err(|e| PagerError::io("syncing the new file", path, e))?;
            (opts.page_size, meta, None)
        } else {
            Self::find_newest_meta(io.as_ref(), path, len)?
        };
        let map_len = usize::try_from(opts.max_map_size)
            .unwrap_or(usize::MAX)
            .max(page_size * 2);
        let map = Map::new(&file, map_len)?;
        let file_bytes = io
            .len()
            .map_err(|e| PagerError::io("reading the length of", path, e))?;
        let id = NEXT_PAGER_ID.fetch_add(1, Ordering::Relaxed);
        let pager = Pager {
            id,
            path: path.to_path_buf(),
            io,
            map,
            page_size,
            file_bytes: AtomicU64::new(file_bytes),
            read_only: opts.read_only,
            poisoned: AtomicBool::new(false),
            passed_over,
        };
        if meta.npages.saturating_mul(page_size as u64) > file_bytes {
            return Err(PagerError::corrupted(
                meta.slot(),
                format!(
                    "meta says {} pages are in use but the file holds only {} bytes",
                    meta.npages, file_bytes
                ),
            ));
        }
        Ok((pager, PageWriter { pager: id }, meta))
    }

    /// Reads both meta pages with `pread` and returns the page size and the newest one that
    /// is valid and whose commit landed (see [`written_pages_missing`]), with the other
    /// meta page if it may hold a newer commit that was passed over ([`PassedOver`]).
    fn find_newest_meta(
        io: &dyn FileIo,
        path: &Path,
        len: u64,
    ) -> Result<(usize, Meta, Option<PassedOver>)> {
        let read = |off: u64, size: usize| -> Result<Option<Vec<u8>>> {
            if off >= len {
                return Ok(None);
            }
            // A meta page may be the file's last page, so read what there is of it.
            let size = size.min((len - off) as usize);
            let mut buf = vec![0u8; size];
            io.read_at(&mut buf, off)
                .map_err(|e| PagerError::io("reading a meta page of", path, e))?;
            Ok(Some(buf))
        };
        // (slot, page size, meta, record) of each valid meta page.
        let mut found: Vec<(Pgno, usize, Meta, Option<WrittenPages>)> = Vec::new();
        let mut problems = Vec::new();
        // The invalid meta page of each slot, with the transaction id its bytes claim.
        let mut invalid: [Option<(MetaProblem, Option<u64>)>; 2] = [None, None];
        // Slot 0 sits at offset 0 whatever the page size; its record ends within the page,
        // which decoding checks against the page size once the CRC holds.
        match read(0, MAX_PAGE_SIZE)? {
            Some(b) => match Meta::decode(&b) {
                Ok((m, w)) => found.push((0, m.page_size as usize, m, w)),
                Err(p) => {
                    invalid[0] = Some((p.clone(), claimed_txn_id(&b)));
                    problems.push(p);
                }
            },
            None => problems.push(MetaProblem::BadMagic),
        }
        // Slot 1 sits one page in; the page size comes from slot 0 when that is valid,
        // otherwise we try every supported size.
        let candidates: Vec<usize> = match found.first() {
            Some((_, ps, _, _)) => vec![*ps],
            None => {
                let mut v = Vec::new();
                let mut s = MIN_PAGE_SIZE;
                while s <= MAX_PAGE_SIZE {
                    v.push(s);
                    s *= 2;
                }
                v
            }
        };
        let slot0_valid = !found.is_empty();
        for ps in candidates {
            if let Some(b) = read(ps as u64, ps)? {
                match Meta::decode(&b) {
                    Ok((m, w)) if m.page_size as usize == ps => {
                        found.push((1, ps, m, w));
                        break;
                    }
                    Ok(_) => {}
                    Err(p) => {
                        // Only meaningful when slot 0 told us where slot 1 is.
                        if slot0_valid {
                            invalid[1] = Some((p.clone(), claimed_txn_id(&b)));
                        }
                        problems.push(p);
                    }
                }
            }
        }
        // Newest first; a meta whose commit did not land is passed over for the older one.
        found.sort_by_key(|(_, _, m, _)| std::cmp::Reverse(m.txn_id));
        let mut not_landed = Vec::new();
        let mut passed: Option<PassedOver> = None;
        for (slot, ps, meta, written) in found {
            check_page_size(ps).map_err(|_| {
                PagerError::corrupted(slot, format!("meta page records page size {ps}"))
            })?;
            validate(&meta, ps)?;
            if let Some(w) = &written {
                let missing = written_pages_missing(io, &meta, w, len)
                    .map_err(|e| PagerError::io("reading the last commit's pages of", path, e))?;
                if let Some(why) = missing {
                    not_landed.push(format!("commit {} (meta page {slot}): {why}", meta.txn_id));
                    passed = Some(PassedOver {
                        txn_id: meta.txn_id,
                        meta_page: slot,
                        reason: PassReason::NotLanded(format!("its commit {why}")),
                        opened_at: 0,
                    });
                    continue;
                }
            }
            let other = 1 - slot;
            let passed = passed.or_else(|| {
                let (problem, claimed) = invalid[other as usize].clone()?;
                damaged_meta_passed_over(&meta, other, problem, claimed)
            });
            let passed = passed.map(|p| PassedOver {
                opened_at: meta.txn_id,
                ..p
            });
            return Ok((ps, meta, passed));
        }
        if let Some(MetaProblem::Version(v)) = problems
            .iter()
            .find(|p| matches!(p, MetaProblem::Version(_)))
        {
            return Err(PagerError::FormatVersion {
                path: path.to_path_buf(),
                found: *v,
                expected: FORMAT_VERSION,
                oldest: OLDEST_READABLE_VERSION,
            });
        }
        if !not_landed.is_empty() {
            return Err(PagerError::corrupted(
                0,
                format!(
                    "no meta page describes a commit that is whole on disk ({}); the file is \
                     damaged or was cut short",
                    not_landed.join("; ")
                ),
            ));
        }
        if problems.contains(&MetaProblem::Checksum) {
            return Err(PagerError::corrupted(
                0,
                "both meta pages fail their checksum; the file is damaged",
            ));
        }
        Err(PagerError::NotLevinFile {
            path: path.to_path_buf(),
        })
    }

    /// What recovery passed over at open, if anything (see [`PassedOver`]).
    pub fn passed_over(&self) -> Option<&PassedOver> {
        self.passed_over.as_ref()
    }

    /// Overwrites meta page `slot` with `meta`, durably, after syncing the file: the way to
    /// discard a meta page recovery passed over, once the caller has decided to accept the
    /// rollback. Both meta pages then hold `meta`, as in a fresh copy; the next commit
    /// (`meta.txn_id + 1`) overwrites this slot again, and `meta` stays in its own.
    pub fn overwrite_meta_slot(&self, writer: &PageWriter, slot: Pgno, meta: &Meta) -> Result<()> {
        self.check_writer(writer)?;
        if slot > 1 || slot == meta.slot() {
            return Err(PagerError::corrupted(
                slot,
                "only the other meta page may be overwritten with a copy of a meta",
            ));
        }
        self.sync()?;
        let mut page = vec![0u8; self.page_size];
        meta.encode(&mut page, None);
        if let Err(e) = self
            .io
            .write_durable_at(&page, slot * self.page_size as u64)
        {
            return self.poison(format!("writing and syncing meta page {slot} of"), e);
        }
        Ok(())
    }

    /// The page size of this file.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// The data file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True if opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The file length in bytes, as last seen.
    pub fn file_bytes(&self) -> u64 {
        self.file_bytes.load(Ordering::Acquire)
    }

    /// Borrows page `pgno` from the map. The slice is sound only as long as nobody writes
    /// the page meanwhile: see the contract of [`Pager::write_pages`].
    pub fn page(&self, pgno: Pgno) -> Result<&[u8]> {
        if let Some(p) = self.page_if_mapped(pgno) {
            return Ok(p);
        }
        self.pages(pgno, 1)
    }

    /// Borrows page `pgno` from the map if it lies below the file length last seen: the
    /// common case of every page read, with no error built on the way (about a hundred
    /// instructions less per page than [`Pager::pages`]). None sends the caller to
    /// `pages`, which looks at the file length again and reports what is wrong.
    #[inline]
    pub fn page_if_mapped(&self, pgno: Pgno) -> Option<&[u8]> {
        let ps = self.page_size;
        let start = usize::try_from(pgno).ok()?.checked_mul(ps)?;
        let end = start.checked_add(ps)?;
        if end as u64 > self.file_bytes.load(Ordering::Acquire) {
            return None;
        }
        self.map.slice(start, ps)
    }

    /// Copies pages `pgno..` into `buf` (a whole number of pages) with `pread`, not through
    /// the map: for readers of pages that a concurrent writer may be rewriting (free pages
    /// of a snapshot, which the hot backup copies too). Bytes so read may be torn or new;
    /// no borrow of the map is involved, so that is no memory-safety matter.
    pub fn read_pages(&self, pgno: Pgno, buf: &mut [u8]) -> Result<()> {
        let ps = self.page_size as u64;
        let offset = pgno
            .checked_mul(ps)
            .filter(|_| (buf.len() as u64).is_multiple_of(ps))
            .ok_or_else(|| PagerError::corrupted(pgno, "page run outside the file"))?;
        self.io
            .read_at(buf, offset)
            .map_err(|e| PagerError::io(format!("reading page {pgno} of"), &self.path, e))
    }

    /// Borrows `count` consecutive pages starting at `pgno` from the map.
    pub fn pages(&self, pgno: Pgno, count: u64) -> Result<&[u8]> {
        let ps = self.page_size as u64;
        let bad =
            || PagerError::corrupted(pgno, format!("page run of {count} lies outside the file"));
        let start = pgno.checked_mul(ps).ok_or_else(bad)?;
        let len = count.checked_mul(ps).ok_or_else(bad)?;
        let end = start.checked_add(len).ok_or_else(bad)?;
        if end > self.file_bytes.load(Ordering::Acquire) {
            // Another process may have grown the file since we last looked.
            let now = self
                .io
                .len()
                .map_err(|e| PagerError::io("reading the length of", &self.path, e))?;
            self.file_bytes.fetch_max(now, Ordering::AcqRel);
            if end > now {
                return Err(bad());
            }
        }
        let start = usize::try_from(start).map_err(|_| bad())?;
        let len = usize::try_from(len).map_err(|_| bad())?;
        self.map.slice(start, len).ok_or(PagerError::MapExhausted {
            needed: end,
            reserved: self.map.len() as u64,
        })
    }

    fn check_writer(&self, writer: &PageWriter) -> Result<()> {
        if writer.pager != self.id {
            return Err(PagerError::ForeignWriter);
        }
        self.check_writable()
    }

    fn check_writable(&self) -> Result<()> {
        if self.read_only {
            return Err(PagerError::ReadOnly);
        }
        if self.poisoned.load(Ordering::Acquire) {
            return Err(PagerError::Poisoned);
        }
        Ok(())
    }

    fn poison<T>(&self, op: String, e: std::io::Error) -> Result<T> {
        self.poisoned.store(true, Ordering::Release);
        Err(PagerError::Io {
            op,
            path: self.path.clone(),
            source: e,
        })
    }

    /// True once a write or sync has failed.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    /// Makes sure the file is at least `npages` long, growing it in chunks.
    pub fn ensure_pages(&self, npages: u64) -> Result<()> {
        self.check_writable()?;
        let ps = self.page_size as u64;
        let need = npages.saturating_mul(ps);
        let have = self.file_bytes.load(Ordering::Acquire);
        if need <= have {
            return Ok(());
        }
        if need > self.map.len() as u64 {
            return Err(PagerError::MapExhausted {
                needed: need,
                reserved: self.map.len() as u64,
            });
        }
        // Grow by an eighth of the file, at least 64 pages and at most 256 MiB at a time,
        // so appends do not resize the file on every commit.
        let step = (have / 8).clamp(64 * ps, 256 << 20);
        let target = need.max(have + step).min(self.map.len() as u64);
        let target = target.div_ceil(ps) * ps;
        if let Err(e) = self.io.set_len(target) {
            return self.poison(format!("growing to {target} bytes"), e);
        }
        self.file_bytes.fetch_max(target, Ordering::AcqRel);
        Ok(())
    }

    /// Writes whole pages starting at `pgno`; `data.len()` must be a multiple of the page size.
    ///
    /// # Contract (soundness)
    ///
    /// No slice of these pages may be borrowed from [`Pager::page`], [`Pager::pages`] or
    /// [`Pager::page_if_mapped`] (in any thread) while they are written: bytes changing
    /// under a live `&[u8]` are undefined behaviour. Only the holder of `writer` can call
    /// this (see [`PageWriter`]); the transaction layer keeps the contract by writing only
    /// pages no live snapshot can reach (docs/unsafe.md, "Pages under a borrow are never
    /// rewritten").
    pub fn write_pages(&self, writer: &PageWriter, pgno: Pgno, data: &[u8]) -> Result<()> {
        self.check_writer(writer)?;
        debug_assert!(data.len().is_multiple_of(self.page_size));
        debug_assert!(
            pgno >= FIRST_DATA_PAGE,
            "data writes never touch the meta pages"
        );
        let npages = (data.len() / self.page_size) as u64;
        self.ensure_pages(pgno + npages)?;
        if let Err(e) = self.io.write_at(data, pgno * self.page_size as u64) {
            return self.poison(format!("writing {npages} page(s) at page {pgno} of"), e);
        }
        Ok(())
    }

    /// Starts writing pages `pgno..pgno + npages` (already written with
    /// [`write_pages`](Self::write_pages)) to the device without waiting, so that the
    /// commit's sync overlaps with the work before it. A hint: a failure is ignored here,
    /// since the sync that makes the pages durable reports any real I/O error.
    pub fn start_writeback(&self, pgno: Pgno, npages: u64) {
        let ps = self.page_size as u64;
        let _ = self.io.start_writeback(pgno * ps, npages * ps);
    }

    /// Writes a meta page into its slot (`meta.txn_id % 2`), with the record of the pages
    /// its commit wrote since the last sync if there is one (a single-sync commit, which
    /// syncs after this write).
    pub fn write_meta(
        &self,
        writer: &PageWriter,
        meta: &Meta,
        written: Option<&WrittenPages>,
    ) -> Result<()> {
        self.check_writer(writer)?;
        self.put_meta(meta, written, false)
    }

    /// Writes a meta page into its slot and returns once that page is durable: one
    /// `O_DSYNC` write where the platform allows it. It does not make earlier writes
    /// durable; the commit syncs the data pages first.
    pub fn write_meta_durable(&self, writer: &PageWriter, meta: &Meta) -> Result<()> {
        self.check_writer(writer)?;
        self.put_meta(meta, None, true)
    }

    fn put_meta(&self, meta: &Meta, written: Option<&WrittenPages>, durable: bool) -> Result<()> {
        self.check_writable()?;
        let mut page = vec![0u8; self.page_size];
        meta.encode(&mut page, written);
        let slot = meta.slot();
        let offset = slot * self.page_size as u64;
        let written = if durable {
            self.io.write_durable_at(&page, offset)
        } else {
            self.io.write_at(&page, offset)
        };
        if let Err(e) = written {
            let what = if durable {
                "writing and syncing"
            } else {
                "writing"
            };
            return self.poison(format!("{what} meta page {slot} of"), e);
        }
        Ok(())
    }

    /// Reads meta slot 0 or 1 through `pread` (never through the map, which the writer may
    /// be rewriting at this moment). A meta newer than `published` (the newest commit known
    /// to have completed) that carries a written-pages record is accepted only if its pages
    /// landed; metas up to `published` are known whole, since a commit is published only
    /// after its sync.
    pub fn read_meta(
        &self,
        slot: Pgno,
        published: u64,
    ) -> Result<std::result::Result<Meta, MetaProblem>> {
        let mut buf = vec![0u8; self.page_size];
        self.io
            .read_at(&mut buf, slot * self.page_size as u64)
            .map_err(|e| PagerError::io(format!("reading meta page {slot} of"), &self.path, e))?;
        let (meta, written) = match Meta::decode(&buf) {
            Ok(d) => d,
            Err(p) => return Ok(Err(p)),
        };
        if let Some(w) = written.filter(|_| meta.txn_id > published) {
            let len = self
                .io
                .len()
                .map_err(|e| PagerError::io("reading the length of", &self.path, e))?;
            let missing = written_pages_missing(self.io.as_ref(), &meta, &w, len)
                .map_err(|e| PagerError::io("reading the last commit's pages of", &self.path, e))?;
            if missing.is_some() {
                return Ok(Err(MetaProblem::NotLanded));
            }
        }
        Ok(Ok(meta))
    }

    /// Flushes every completed write to stable storage.
    pub fn sync(&self) -> Result<()> {
        self.check_writable()?;
        if let Err(e) = self.io.sync_data() {
            return self.poison("syncing".to_string(), e);
        }
        Ok(())
    }

    /// Hints that access will be random (no read-ahead).
    pub fn advise_random(&self) {
        self.map.advise_random();
    }
}

/// The transaction id the bytes of a damaged meta page claim, if it is long enough.
fn claimed_txn_id(page: &[u8]) -> Option<u64> {
    let b = page.get(META_TXN_ID_OFF..META_TXN_ID_OFF + 8)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

/// Whether the invalid meta page `slot`, beside the chosen `meta`, may hide a commit newer
/// than `meta`. The slot beside meta `T` normally holds `T - 1`; a page that still claims
/// `T - 1` is either that older meta, damaged (nothing newer is lost), or a commit `T + 1`
/// whose meta write tore before its id bytes landed (never acknowledged). Anything else
/// may be an acknowledged `T + 1` that was damaged later, and is reported.
fn damaged_meta_passed_over(
    meta: &Meta,
    slot: Pgno,
    problem: MetaProblem,
    claimed: Option<u64>,
) -> Option<PassedOver> {
    if claimed.is_some() && claimed == meta.txn_id.checked_sub(1) {
        return None;
    }
    let reason = match problem {
        MetaProblem::Checksum => PassReason::Checksum,
        MetaProblem::BadMagic => PassReason::BadMagic,
        MetaProblem::Version(v) => PassReason::Version(v),
        MetaProblem::NotLanded => return None,
    };
    Some(PassedOver {
        txn_id: claimed.unwrap_or(0),
        meta_page: slot,
        reason,
        opened_at: meta.txn_id,
    })
}

/// Why a single-sync commit did not land whole, or `None` if it did: the file must hold its
/// `npages` pages and every page its record lists the bytes the commit wrote (their digest
/// matches). A crash before the commit's sync returned may have kept the meta page and lost
/// some of them.
fn written_pages_missing(
    io: &dyn FileIo,
    meta: &Meta,
    written: &WrittenPages,
    file_len: u64,
) -> std::io::Result<Option<String>> {
    let ps = meta.page_size as u64;
    let need = meta.npages.saturating_mul(ps);
    if need > file_len {
        return Ok(Some(format!(
            "it needs {} pages ({need} bytes) but the file holds {file_len} bytes",
            meta.npages
        )));
    }
    if written.pages().saturating_mul(ps) > MAX_RECORD_BYTES as u64 {
        return Ok(Some("its record lists more pages than a record may".into()));
    }
    let mut hasher = xxhash_rust::xxh3::Xxh3Default::new();
    let mut buf = Vec::new();
    for &(first, count) in &written.runs {
        let end = first.saturating_add(u64::from(count));
        if count == 0 || first < FIRST_DATA_PAGE || end > meta.npages {
            return Ok(Some(format!(
                "its record lists pages {first}..{end}, outside the data pages 2..{}",
                meta.npages
            )));
        }
        buf.resize(count as usize * ps as usize, 0);
        io.read_at(&mut buf, first * ps)?;
        hasher.update(&buf);
    }
    if hasher.digest128() != written.digest {
        return Ok(Some(format!(
            "the {} pages it wrote do not hold what it wrote (their digest differs)",
            written.pages()
        )));
    }
    Ok(None)
}

/// Takes the data file's `flock`: exclusive for single-process mode, shared otherwise,
/// without waiting. The lock belongs to this open file description, so it lasts as long as
/// the pager's handle (closing other descriptors of the file does not drop it, unlike a
/// record lock), and it conflicts between processes in any PID namespace.
fn lock_data_file(file: &std::fs::File, path: &Path, exclusive: bool) -> Result<()> {
    use rustix::fs::FlockOperation;
    let op = if exclusive {
        FlockOperation::NonBlockingLockExclusive
    } else {
        FlockOperation::NonBlockingLockShared
    };
    match rustix::fs::flock(file, op) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(PagerError::BadLockFile {
            path: path.to_path_buf(),
            why: if exclusive {
                "another process has the environment open, so it cannot be opened in exclusive mode"
                    .into()
            } else {
                "another process has the environment open in exclusive mode".into()
            },
        }),
        Err(e) => Err(PagerError::io("locking", path, e.into())),
    }
}

/// The data file opened a second time for durable writes (`O_DSYNC`), or `None` when
/// read-only, on platforms without `O_DSYNC`, or if it cannot be opened (durable writes
/// then fall back to a write and an `fdatasync`).
fn dsync_handle(path: &Path, read_only: bool) -> Option<std::fs::File> {
    if read_only {
        return None;
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::unix::fs::OpenOptionsExt;
        OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_DSYNC)
            .open(path)
            .ok()
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = path;
        None
    }
}

/// The whole file through `pread`, for an [`IoHook`]'s view of the file at open.
fn read_whole_file(io: &dyn FileIo, path: &Path) -> Result<Vec<u8>> {
    let len = io
        .len()
        .map_err(|e| PagerError::io("reading the length of", path, e))?;
    let len = usize::try_from(len).map_err(|_| {
        PagerError::io(
            "reading (for the I/O hook)",
            path,
            std::io::Error::other("the file is larger than memory can address"),
        )
    })?;
    let mut buf = vec![0u8; len];
    if !buf.is_empty() {
        io.read_at(&mut buf, 0)
            .map_err(|e| PagerError::io("reading (for the I/O hook)", path, e))?;
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast page path agrees with `pages` inside the file and answers None (sending the
    /// caller to `pages`) past the file's end or for page numbers too large to address.
    #[test]
    fn page_if_mapped_agrees_with_pages() {
        let dir = tempfile::tempdir().unwrap();
        let opts = PagerOptions {
            max_map_size: 16 << 20,
            ..PagerOptions::default()
        };
        let (pager, writer, _) = Pager::open(&dir.path().join("data"), &opts).unwrap();
        let ps = pager.page_size();
        let mut data = vec![0u8; 3 * ps];
        for (i, b) in data.iter_mut().enumerate() {
            *b = (i / ps) as u8 + 1;
        }
        pager.write_pages(&writer, FIRST_DATA_PAGE, &data).unwrap();
        let end = FIRST_DATA_PAGE + 3;
        for p in FIRST_DATA_PAGE..end {
            let fast = pager.page_if_mapped(p).expect("a page inside the file");
            assert_eq!(fast, pager.pages(p, 1).unwrap());
            assert_eq!(fast[0], (p - FIRST_DATA_PAGE) as u8 + 1);
            assert_eq!(pager.page(p).unwrap(), fast);
        }
        // The file grows in chunks: its first page past the end is the first not mapped.
        let past = pager.file_bytes() / ps as u64;
        assert!(past >= end);
        assert!(pager.page_if_mapped(past - 1).is_some());
        assert!(pager.page_if_mapped(past).is_none());
        assert!(pager.page(past).is_err());
        assert!(pager.page_if_mapped(u64::MAX).is_none());
        assert!(pager.page_if_mapped(u64::MAX / 2).is_none());
    }

    /// A meta whose written-pages record does not match the file (its commit's pages did
    /// not all land) is passed over at open for the older meta, and refused by `read_meta`
    /// unless its commit is already known published; one that matches is taken.
    #[test]
    fn a_commit_whose_pages_did_not_land_is_passed_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data");
        let opts = PagerOptions {
            page_size: 512,
            max_map_size: 16 << 20,
            ..PagerOptions::default()
        };
        let (pager, writer, base) = Pager::open(&path, &opts).unwrap();
        let page = vec![7u8; 512];
        pager.write_pages(&writer, 2, &page).unwrap();
        pager.write_pages(&writer, 3, &page).unwrap();
        pager.ensure_pages(4).unwrap();
        let mut record = crate::meta::WrittenPagesBuilder::new(512);
        record.add(2, &page);
        record.add(3, &page);
        let written = record.finish().unwrap();
        let meta = Meta {
            txn_id: 1,
            npages: 4,
            ..base
        };
        pager.write_meta(&writer, &meta, Some(&written)).unwrap();
        pager.sync().unwrap();
        assert_eq!(pager.read_meta(1, 0).unwrap(), Ok(meta));
        drop(pager);
        assert_eq!(Pager::open(&path, &opts).unwrap().2, meta, "landed: taken");

        // Page 3 now holds other bytes, as if its write had been lost in a crash.
        let (pager, writer, _) = Pager::open(&path, &opts).unwrap();
        pager.write_pages(&writer, 3, &[8u8; 512]).unwrap();
        assert_eq!(pager.read_meta(1, 0).unwrap(), Err(MetaProblem::NotLanded));
        assert_eq!(
            pager.read_meta(1, 1).unwrap(),
            Ok(meta),
            "published: trusted"
        );
        drop(pager);
        let (pager, _, opened) = Pager::open(&path, &opts).unwrap();
        assert_eq!(opened, base, "not landed: the older meta");
        let passed = pager
            .passed_over()
            .expect("and the one passed over is kept");
        assert_eq!(
            (passed.txn_id, passed.meta_page, passed.opened_at),
            (1, 1, 0)
        );
        assert!(matches!(passed.reason, PassReason::NotLanded(_)));
        drop(pager);

        // With no older meta to fall back to, opening fails and says why.
        let (pager, writer, _) = Pager::open(&path, &opts).unwrap();
        for txn_id in [2, 3] {
            pager
                .write_meta(&writer, &Meta { txn_id, ..meta }, Some(&written))
                .unwrap();
        }
        drop(pager);
        let e = Pager::open(&path, &opts).unwrap_err();
        assert!(e.is_corruption(), "{e}");
        assert!(e.to_string().contains("digest differs"), "{e}");
    }

    /// Page and meta writes take the pager's own writer: another pager's is refused before
    /// any byte is written, even for the same file.
    #[test]
    fn writes_take_the_pagers_own_writer() {
        let dir = tempfile::tempdir().unwrap();
        let opts = PagerOptions {
            page_size: 512,
            max_map_size: 16 << 20,
            ..PagerOptions::default()
        };
        let (a, a_writer, meta) = Pager::open(&dir.path().join("a"), &opts).unwrap();
        let (b, b_writer, _) = Pager::open(&dir.path().join("b"), &opts).unwrap();
        let (a2, a2_writer, _) = Pager::open(&dir.path().join("a"), &opts).unwrap();
        let page = vec![7u8; 512];
        for (pager, foreign) in [(&a, &b_writer), (&a, &a2_writer), (&b, &a_writer)] {
            let refused = [
                pager.write_pages(foreign, FIRST_DATA_PAGE, &page),
                pager.write_meta(foreign, &meta, None),
                pager.write_meta_durable(foreign, &meta),
                pager.overwrite_meta_slot(foreign, 1 - meta.slot(), &meta),
            ];
            for r in refused {
                assert!(matches!(r, Err(PagerError::ForeignWriter)), "{r:?}");
            }
        }
        assert_eq!(a.file_bytes(), a2.file_bytes(), "nothing was written");
        a.write_pages(&a_writer, FIRST_DATA_PAGE, &page).unwrap();
        assert_eq!(a.page(FIRST_DATA_PAGE).unwrap(), &page[..]);
        assert_eq!(a2.page(FIRST_DATA_PAGE).unwrap(), &page[..], "one file");
    }
}
