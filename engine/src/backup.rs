//! Hot backup: copies a consistent snapshot to a new directory while writers keep going,
//! either page for page or compacted (pages refilled, free space dropped). The copy is
//! built under a temporary name and renamed into place, so a failed copy leaves nothing
//! that looks like a database.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use levin_btree::PageSource;

use crate::env::{Durability, Env, EnvOptions, DATA_FILE};
use crate::error::{Error, Result};
use crate::txn::Read;

/// Dirty bytes a compacting copy holds before writing pages out.
const COPY_SPILL: usize = 4 << 20;

fn io(op: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { op, source }
}

impl Env {
    /// Copies the latest commit to `dest` (a directory that must not already hold a
    /// database). With `compact`, databases are rewritten in key order so pages are full
    /// and free pages are dropped; otherwise pages are copied as they are.
    pub fn copy_to(&self, dest: impl AsRef<Path>, compact: bool) -> Result<()> {
        let dest = dest.as_ref();
        if dest.join(DATA_FILE).exists() {
            return Err(Error::Invalid(format!(
                "{} already holds a database; copy into a new directory",
                dest.display()
            )));
        }
        fs::create_dir_all(dest).map_err(io(format!("creating {}", dest.display())))?;
        let tmp = dest.join(format!(".levin-copy-{}", std::process::id()));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(io(format!("removing stale {}", tmp.display())))?;
        }
        fs::create_dir_all(&tmp).map_err(io(format!("creating {}", tmp.display())))?;
        let result = if compact {
            self.copy_compact(&tmp)
        } else {
            self.copy_pages(&tmp)
        };
        if let Err(e) = result {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        fs::rename(tmp.join(DATA_FILE), dest.join(DATA_FILE))
            .map_err(io(format!("moving the copy into {}", dest.display())))?;
        let _ = fs::remove_dir_all(&tmp);
        if let Ok(d) = File::open(dest) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    fn copy_pages(&self, tmp: &Path) -> Result<()> {
        let r = self.core().begin_read()?;
        let meta = *r.meta();
        let ps = r.page_size();
        let path = tmp.join(DATA_FILE);
        let mut f = File::create(&path).map_err(io(format!("creating {}", path.display())))?;
        let mut page = vec![0u8; ps];
        meta.encode(&mut page, None);
        // Both meta slots hold the snapshot's meta: either one opens the copy.
        f.write_all(&page).map_err(io("writing the copy".into()))?;
        f.write_all(&page).map_err(io("writing the copy".into()))?;
        // The snapshot `r` pins the pages its meta reaches, so they hold the snapshot's
        // bytes throughout; the free pages among them may be reused by a concurrent writer
        // meanwhile, so the copy reads with `pread` rather than borrowing the map (a slice of
        // bytes that change under it would be undefined behaviour). Whatever a free page
        // holds, it is free in the copy too.
        let chunk = (4u64 << 20) / ps as u64;
        let mut buf = Vec::new();
        let mut p = levin_pager::format::FIRST_DATA_PAGE;
        while p < meta.npages {
            let n = chunk.min(meta.npages - p);
            buf.resize(n as usize * ps, 0);
            r.env().pager().read_pages(p, &mut buf)?;
            f.write_all(&buf).map_err(io("writing the copy".into()))?;
            p += n;
        }
        f.sync_all().map_err(io("syncing the copy".into()))?;
        Ok(())
    }

    fn copy_compact(&self, tmp: &Path) -> Result<()> {
        let src = self.read()?;
        let dst = Env::open_with(
            tmp,
            EnvOptions::new()
                .page_size(self.page_size())
                // The builder never revisits a closed page: spilling often keeps the dirty
                // set small (memory reused while still in cache) and writes the file in
                // long sequential runs as the copy goes.
                .spill_threshold(self.core().options().spill_threshold.min(COPY_SPILL))
                // The data is synced at the commit and the meta by `dst.sync()` below;
                // a synced commit also has each spilled megabyte handed to the device as
                // it is written, so the final sync has little left to wait for.
                .durability(Durability::NoMetaSync),
        )?;
        let mut w = dst.write()?;
        for name in src.db_names()? {
            let db = src.open_db(&name)?;
            let info = src.tree_info(&db)?;
            let out = if db.is_list() {
                w.create_list_db(&name)?
            } else {
                w.create_db(&name)?
            };
            // Bottom-up: leaves filled in key order, branches built above them; linear in
            // the size of the tree, with no descent or split per entry.
            w.build_db(&out, |wt| {
                Ok(levin_btree::build::copy_tree(src.source(), &info, wt)?)
            })?;
        }
        w.commit()?;
        dst.sync()?;
        Ok(())
    }
}
