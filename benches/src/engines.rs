//! One narrow interface over the three engines compared: Levin, LMDB (through `heed`,
//! which builds LMDB from its C source) and redb.
//!
//! Every operation goes through a `dyn` call, for every engine alike; the cost (a few
//! nanoseconds) is small beside a B-tree lookup and the same for all three. Errors panic:
//! this is a benchmark, and a failed operation makes its numbers meaningless anyway.

use std::ops::Bound;
use std::path::{Path, PathBuf};

/// Which database (table) of an engine instance a transaction works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// A plain key -> value database.
    Main,
    /// A sorted-duplicates database: Levin list db, LMDB `DUPSORT`, redb `MultimapTable`.
    List,
}

/// Writes inside one write transaction.
pub trait Writer {
    /// Puts key = value (replacing).
    fn put(&mut self, key: &[u8], value: &[u8]);
    /// Puts a key known to sort after every key present (Levin `append`, LMDB
    /// `MDB_APPEND`; redb has no such flag and inserts normally).
    fn append(&mut self, key: &[u8], value: &[u8]);
    /// Deletes a key; true if it was there.
    fn delete(&mut self, key: &[u8]) -> bool;
    /// Adds a value to a key's list.
    fn put_list(&mut self, key: &[u8], value: &[u8]);
    /// Removes one value from a key's list; true if it was there.
    fn delete_list(&mut self, key: &[u8], value: &[u8]) -> bool;
}

/// Reads inside one read transaction. Results are reduced to a [`digest`] so no engine
/// pays for a copy.
pub trait Reader {
    /// [`digest`] of the value of `key`, if present.
    fn get(&self, key: &[u8]) -> Option<usize>;
    /// Seeks the first key >= `key` and reads up to `n` entries; returns the total bytes of
    /// keys and values read.
    fn range(&self, key: &[u8], n: usize) -> usize;
    /// Iterates the values of `key` in a list table; returns (count, total value bytes).
    fn list(&self, key: &[u8]) -> (usize, usize);
}

/// An open engine instance in one directory.
pub trait Engine: Sync {
    /// The engine's name.
    fn name(&self) -> &'static str;
    /// Runs `f` in one write transaction on `table` and commits it.
    fn write(&self, table: Table, f: &mut dyn FnMut(&mut dyn Writer));
    /// Runs `f` in one read transaction on `table`.
    fn read(&self, table: Table, f: &mut dyn FnMut(&dyn Reader));
    /// Size of the data file in bytes.
    fn file_size(&self) -> u64;
    /// Compacts into (or, for redb, in place of) the database, using `scratch` for a copy;
    /// returns the compacted file size.
    fn compact(&mut self, scratch: &Path) -> u64;
}

/// Names of the engines, in report order.
pub const ENGINES: [&str; 3] = ["levin", "lmdb", "redb"];

/// Opens engine `name` in directory `dir` (created if needed).
pub fn open(name: &str, dir: &Path, durable: bool) -> Box<dyn Engine> {
    std::fs::create_dir_all(dir).expect("create engine dir");
    match name {
        "levin" => Box::new(LevinEngine::open(dir, durable)),
        "lmdb" => Box::new(LmdbEngine::open(dir, durable)),
        "redb" => Box::new(RedbEngine::open(dir, durable)),
        other => panic!("unknown engine {other:?} (expected one of {ENGINES:?})"),
    }
}

/// What a read hands back to the workload: the value's length plus one byte from every
/// 512, so that large values are really brought into memory on every engine (Levin and
/// LMDB return pointers into the map and would otherwise never touch an overflow page).
pub fn digest(v: &[u8]) -> usize {
    v.len() + v.iter().step_by(512).map(|&b| b as usize).sum::<usize>()
}

/// Address space reserved by Levin and LMDB: 64 GiB, or `LEVIN_BENCH_MAP_GIB` GiB (small
/// values let the benchmark run under valgrind, which refuses huge mappings).
pub fn map_size() -> u64 {
    let gib = std::env::var("LEVIN_BENCH_MAP_GIB")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(64);
    gib << 30
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// Levin

use levin_engine::{Db, Durability, Env, EnvOptions, PutFlags, Range, Read};

/// Levin through its KV API.
pub struct LevinEngine {
    env: Env,
    main: Db,
    list: Db,
}

impl LevinEngine {
    /// Opens (creating) an environment in `dir`, reserving [`map_size`] of address space.
    pub fn open(dir: &Path, durable: bool) -> Self {
        let d = if durable {
            Durability::Durable
        } else {
            Durability::NoSync
        };
        let mut opts = EnvOptions::new().durability(d).max_map_size(map_size());
        // For experiments only: Levin's spill threshold in MiB (default: Levin's own).
        if let Some(mib) = std::env::var("LEVIN_BENCH_SPILL_MIB")
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        {
            opts = opts.spill_threshold(mib << 20);
        }
        let env = Env::open_with(dir, opts).expect("levin open");
        let mut w = env.write().expect("levin write");
        let main = w.create_db("main").expect("levin create_db");
        let list = w.create_list_db("list").expect("levin create_list_db");
        w.commit().expect("levin commit");
        LevinEngine { env, main, list }
    }

    fn db(&self, t: Table) -> &Db {
        match t {
            Table::Main => &self.main,
            Table::List => &self.list,
        }
    }
}

struct LevinW<'a> {
    txn: &'a mut levin_engine::RwTxn,
    db: &'a Db,
}

impl Writer for LevinW<'_> {
    fn put(&mut self, key: &[u8], value: &[u8]) {
        self.txn.put(self.db, key, value).expect("levin put");
    }
    fn append(&mut self, key: &[u8], value: &[u8]) {
        let flags = PutFlags {
            append: true,
            ..Default::default()
        };
        self.txn
            .put_with(self.db, key, value, flags)
            .expect("levin append");
    }
    fn delete(&mut self, key: &[u8]) -> bool {
        self.txn.delete(self.db, key).expect("levin delete")
    }
    fn put_list(&mut self, key: &[u8], value: &[u8]) {
        self.txn
            .put_list(self.db, key, value)
            .expect("levin put_list");
    }
    fn delete_list(&mut self, key: &[u8], value: &[u8]) -> bool {
        self.txn
            .delete_list(self.db, key, value)
            .expect("levin delete_list")
    }
}

struct LevinR<'a> {
    txn: &'a levin_engine::RoTxn,
    db: &'a Db,
}

impl Reader for LevinR<'_> {
    fn get(&self, key: &[u8]) -> Option<usize> {
        self.txn.get(self.db, key).expect("levin get").map(digest)
    }
    fn range(&self, key: &[u8], n: usize) -> usize {
        let mut total = 0;
        for item in self
            .txn
            .range(self.db, Range::at_least(key))
            .expect("levin range")
            .take(n)
        {
            let (k, v) = item.expect("levin range item");
            total += k.len() + digest(v);
        }
        total
    }
    fn list(&self, key: &[u8]) -> (usize, usize) {
        let mut out = (0, 0);
        for item in self.txn.list(self.db, key).expect("levin list") {
            let (_, v) = item.expect("levin list item");
            out.0 += 1;
            out.1 += v.len();
        }
        out
    }
}

impl Engine for LevinEngine {
    fn name(&self) -> &'static str {
        "levin"
    }
    fn write(&self, table: Table, f: &mut dyn FnMut(&mut dyn Writer)) {
        let mut txn = self.env.write().expect("levin write");
        f(&mut LevinW {
            txn: &mut txn,
            db: self.db(table),
        });
        txn.commit().expect("levin commit");
    }
    fn read(&self, table: Table, f: &mut dyn FnMut(&dyn Reader)) {
        let txn = self.env.read().expect("levin read");
        f(&LevinR {
            txn: &txn,
            db: self.db(table),
        });
    }
    fn file_size(&self) -> u64 {
        self.env.stat().expect("levin stat").file_size
    }
    fn compact(&mut self, scratch: &Path) -> u64 {
        let dest = scratch.join("levin-compacted");
        self.env.copy_to(&dest, true).expect("levin copy_to");
        file_len(&dest.join(levin_engine::DATA_FILE))
    }
}

// ---------------------------------------------------------------------------------------
// LMDB through heed

use heed::types::Bytes;
use heed::{CommitOrAbort, CompactionOption, DatabaseFlags, EnvFlags, EnvOpenOptions, WithoutTls};

type HeedDb = heed::Database<'static, Bytes, Bytes>;

/// LMDB through `heed`, read transactions without thread-local storage (so they are
/// `Send`, like Levin's).
pub struct LmdbEngine {
    env: &'static heed::Env<WithoutTls>,
    main: HeedDb,
    list: HeedDb,
    dir: PathBuf,
    durable: bool,
}

impl LmdbEngine {
    /// Opens (creating) an environment in `dir` with a [`map_size`] map (address space
    /// only; the file grows as data is written). With `durable` false, `MDB_NOSYNC`.
    #[expect(
        unsafe_code,
        reason = "heed declares opening an environment and setting MDB_NOSYNC unsafe; \
                  the peer cannot be opened otherwise (docs/unsafe.md)"
    )]
    pub fn open(dir: &Path, durable: bool) -> Self {
        let mut opts = EnvOpenOptions::new().read_txn_without_tls();
        opts.map_size(map_size() as usize)
            .max_dbs(4)
            .max_readers(126);
        if !durable {
            // SAFETY: MDB_NOSYNC only drops the fsync at commit; a crash may lose recent
            // commits (that is the point of a no-sync run) but the benchmark never relies
            // on the file after a crash.
            unsafe {
                opts.flags(EnvFlags::NO_SYNC);
            }
        }
        // SAFETY: heed requires that the environment is not opened twice in this process
        // and that no other process modifies the file while it is mapped; each benchmark
        // instance uses its own fresh directory, opened exactly once by this worker
        // process.
        let env = unsafe { opts.open(dir) }.expect("lmdb open");
        // Leaked so that `Database` handles (which borrow the environment) are 'static;
        // the worker process opens a handful of environments and then exits.
        let env: &'static heed::Env<WithoutTls> = Box::leak(Box::new(env));
        let wtxn = env.write_txn().expect("lmdb write_txn");
        let (main, list) = env
            .create_databases_and_commit(wtxn, |dbo, wtxn| -> Result<_, heed::Error> {
                let main: HeedDb = dbo.create_database(wtxn, Some("main"))?;
                let list: HeedDb = dbo
                    .database_options()
                    .types::<Bytes, Bytes>()
                    .name("list")
                    .flags(DatabaseFlags::DUP_SORT)
                    .create(wtxn)?;
                Ok(CommitOrAbort::<_, ()>::Commit((main, list)))
            })
            .expect("lmdb create dbs")
            .unwrap_commit();
        LmdbEngine {
            env,
            main,
            list,
            dir: dir.to_path_buf(),
            durable,
        }
    }

    fn db(&self, t: Table) -> HeedDb {
        match t {
            Table::Main => self.main,
            Table::List => self.list,
        }
    }
}

struct LmdbW<'a> {
    txn: &'a mut heed::RwTxn<'static>,
    db: HeedDb,
}

impl Writer for LmdbW<'_> {
    fn put(&mut self, key: &[u8], value: &[u8]) {
        self.db.put(self.txn, key, value).expect("lmdb put");
    }
    fn append(&mut self, key: &[u8], value: &[u8]) {
        self.db
            .put_with_flags(self.txn, heed::PutFlags::APPEND, key, value)
            .expect("lmdb append");
    }
    fn delete(&mut self, key: &[u8]) -> bool {
        self.db.delete(self.txn, key).expect("lmdb delete")
    }
    fn put_list(&mut self, key: &[u8], value: &[u8]) {
        self.db.put(self.txn, key, value).expect("lmdb put dup");
    }
    fn delete_list(&mut self, key: &[u8], value: &[u8]) -> bool {
        self.db
            .delete_one_duplicate(self.txn, key, value)
            .expect("lmdb delete dup")
    }
}

struct LmdbR<'a> {
    txn: &'a heed::RoTxn<'static, WithoutTls>,
    db: HeedDb,
}

impl Reader for LmdbR<'_> {
    fn get(&self, key: &[u8]) -> Option<usize> {
        self.db.get(self.txn, key).expect("lmdb get").map(digest)
    }
    fn range(&self, key: &[u8], n: usize) -> usize {
        let bounds: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Included(key), Bound::Unbounded);
        let mut total = 0;
        for item in self
            .db
            .range(self.txn, &bounds)
            .expect("lmdb range")
            .take(n)
        {
            let (k, v) = item.expect("lmdb range item");
            total += k.len() + digest(v);
        }
        total
    }
    fn list(&self, key: &[u8]) -> (usize, usize) {
        let mut out = (0, 0);
        if let Some(iter) = self.db.get_duplicates(self.txn, key).expect("lmdb dups") {
            for item in iter {
                let (_, v) = item.expect("lmdb dup item");
                out.0 += 1;
                out.1 += v.len();
            }
        }
        out
    }
}

impl Engine for LmdbEngine {
    fn name(&self) -> &'static str {
        "lmdb"
    }
    fn write(&self, table: Table, f: &mut dyn FnMut(&mut dyn Writer)) {
        let mut txn = self.env.write_txn().expect("lmdb write_txn");
        f(&mut LmdbW {
            txn: &mut txn,
            db: self.db(table),
        });
        txn.commit().expect("lmdb commit");
    }
    fn read(&self, table: Table, f: &mut dyn FnMut(&dyn Reader)) {
        let txn = self.env.read_txn().expect("lmdb read_txn");
        f(&LmdbR {
            txn: &txn,
            db: self.db(table),
        });
    }
    fn file_size(&self) -> u64 {
        file_len(&self.dir.join("data.mdb"))
    }
    fn compact(&mut self, scratch: &Path) -> u64 {
        let dest = scratch.join("lmdb-compacted");
        std::fs::create_dir_all(&dest).expect("mkdir");
        let path = dest.join("data.mdb");
        self.env
            .copy_to_path(&path, CompactionOption::Enabled)
            .expect("lmdb copy");
        // `mdb_env_copy2` does not sync the copy; Levin's `copy_to` does, and redb's
        // compaction commits durably. In a durable run the copy is synced here too, so all
        // three report the time to a copy that survives a power loss.
        if self.durable {
            std::fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .expect("lmdb copy sync");
        }
        file_len(&path)
    }
}

// ---------------------------------------------------------------------------------------
// redb

use redb::{MultimapTableDefinition, ReadableDatabase, TableDefinition};

const REDB_MAIN: TableDefinition<&[u8], &[u8]> = TableDefinition::new("main");
const REDB_LIST: MultimapTableDefinition<&[u8], &[u8]> = MultimapTableDefinition::new("list");

/// redb with its default cache size (1 GiB).
pub struct RedbEngine {
    db: redb::Database,
    path: PathBuf,
    durability: redb::Durability,
}

impl RedbEngine {
    /// Creates a database file `data.redb` in `dir`. With `durable` false, commits use
    /// `Durability::None`.
    pub fn open(dir: &Path, durable: bool) -> Self {
        let path = dir.join("data.redb");
        let db = redb::Database::create(&path).expect("redb create");
        let durability = if durable {
            redb::Durability::Immediate
        } else {
            redb::Durability::None
        };
        let e = RedbEngine {
            db,
            path,
            durability,
        };
        let txn = e.db.begin_write().expect("redb begin_write");
        txn.open_table(REDB_MAIN).expect("redb open_table");
        txn.open_multimap_table(REDB_LIST)
            .expect("redb open_multimap_table");
        txn.commit().expect("redb commit");
        e
    }
}

enum RedbW<'t> {
    Main(redb::Table<'t, &'static [u8], &'static [u8]>),
    List(redb::MultimapTable<'t, &'static [u8], &'static [u8]>),
}

impl Writer for RedbW<'_> {
    fn put(&mut self, key: &[u8], value: &[u8]) {
        match self {
            RedbW::Main(t) => {
                t.insert(key, value).expect("redb insert");
            }
            RedbW::List(_) => panic!("put on a list table"),
        }
    }
    fn append(&mut self, key: &[u8], value: &[u8]) {
        self.put(key, value)
    }
    fn delete(&mut self, key: &[u8]) -> bool {
        match self {
            RedbW::Main(t) => t.remove(key).expect("redb remove").is_some(),
            RedbW::List(_) => panic!("delete on a list table"),
        }
    }
    fn put_list(&mut self, key: &[u8], value: &[u8]) {
        match self {
            RedbW::List(t) => {
                t.insert(key, value).expect("redb multimap insert");
            }
            RedbW::Main(_) => panic!("put_list on a plain table"),
        }
    }
    fn delete_list(&mut self, key: &[u8], value: &[u8]) -> bool {
        match self {
            RedbW::List(t) => t.remove(key, value).expect("redb multimap remove"),
            RedbW::Main(_) => panic!("delete_list on a plain table"),
        }
    }
}

enum RedbR {
    Main(redb::ReadOnlyTable<&'static [u8], &'static [u8]>),
    List(redb::ReadOnlyMultimapTable<&'static [u8], &'static [u8]>),
}

impl Reader for RedbR {
    fn get(&self, key: &[u8]) -> Option<usize> {
        match self {
            RedbR::Main(t) => t.get(key).expect("redb get").map(|v| digest(v.value())),
            RedbR::List(_) => panic!("get on a list table"),
        }
    }
    fn range(&self, key: &[u8], n: usize) -> usize {
        let RedbR::Main(t) = self else {
            panic!("range on a list table")
        };
        let mut total = 0;
        for item in t.range::<&[u8]>(key..).expect("redb range").take(n) {
            let (k, v) = item.expect("redb range item");
            total += k.value().len() + digest(v.value());
        }
        total
    }
    fn list(&self, key: &[u8]) -> (usize, usize) {
        let RedbR::List(t) = self else {
            panic!("list on a plain table")
        };
        let mut out = (0, 0);
        for v in t.get(key).expect("redb multimap get") {
            let v = v.expect("redb multimap item");
            out.0 += 1;
            out.1 += v.value().len();
        }
        out
    }
}

impl Engine for RedbEngine {
    fn name(&self) -> &'static str {
        "redb"
    }
    fn write(&self, table: Table, f: &mut dyn FnMut(&mut dyn Writer)) {
        let mut txn = self.db.begin_write().expect("redb begin_write");
        txn.set_durability(self.durability)
            .expect("redb set_durability");
        {
            let mut w = match table {
                Table::Main => RedbW::Main(txn.open_table(REDB_MAIN).expect("redb open_table")),
                Table::List => RedbW::List(
                    txn.open_multimap_table(REDB_LIST)
                        .expect("redb open_multimap_table"),
                ),
            };
            f(&mut w);
        }
        txn.commit().expect("redb commit");
    }
    fn read(&self, table: Table, f: &mut dyn FnMut(&dyn Reader)) {
        let txn = self.db.begin_read().expect("redb begin_read");
        let r = match table {
            Table::Main => RedbR::Main(txn.open_table(REDB_MAIN).expect("redb open_table")),
            Table::List => RedbR::List(
                txn.open_multimap_table(REDB_LIST)
                    .expect("redb open_multimap_table"),
            ),
        };
        f(&r);
    }
    fn file_size(&self) -> u64 {
        file_len(&self.path)
    }
    fn compact(&mut self, _scratch: &Path) -> u64 {
        // redb compacts in place; repeat while it still finds something to move.
        for _ in 0..8 {
            if !self.db.compact().expect("redb compact") {
                break;
            }
        }
        file_len(&self.path)
    }
}
