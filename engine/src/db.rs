//! Database handles: a named tree in the catalog, plain (one value per key) or list
//! (a sorted set of values per key).

use std::sync::Arc;

/// Which kind of database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DbKind {
    /// One value per key.
    Plain,
    /// A sorted set of distinct values per key (LMDB's DUPSORT).
    List,
}

impl DbKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            DbKind::Plain => "plain",
            DbKind::List => "list",
        }
    }
    pub(crate) fn flags(self) -> u32 {
        match self {
            DbKind::Plain => 0,
            DbKind::List => levin_pager::format::TREE_FLAG_LIST,
        }
    }
}

/// A handle to a named database. Cheap to clone; valid in any transaction of its
/// environment (an operation on a database that no longer exists is an error).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Db {
    pub(crate) name: Arc<str>,
    pub(crate) kind: DbKind,
}

impl Db {
    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Plain or list.
    pub fn kind(&self) -> DbKind {
        self.kind
    }
    /// True for a list database.
    pub fn is_list(&self) -> bool {
        self.kind == DbKind::List
    }
}
