//! Levin's Datalog store on its key-value engine: schema, datoms and their EAV/AVE index
//! layout, transactions (tempids, lookup refs, upserts, components, tuples, `:db/cas`),
//! explicit multi-call transactions, database values with index access, pull and entities.
//! Queries are the `levin-query` crate's; values are `levin-edn`'s [`Edn`](levin_edn::Edn).
//!
//! ```
//! use levin_datalog::Conn;
//! use levin_edn::read;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let conn = Conn::open(dir.path(), "{:person/name {:db/unique :db.unique/identity}
//!                                      :person/friend {:db/valueType :db.type/ref
//!                                                      :db/cardinality :db.cardinality/many}}").unwrap();
//! let report = conn.transact(&read(r#"[{:db/id "a" :person/name "Ivan" :person/friend "b"}
//!                                      {:db/id "b" :person/name "Petr"}]"#).unwrap()).unwrap();
//! let ivan = report.tempid(&"a".into()).unwrap();
//! let db = conn.db().unwrap();
//! let pulled = db.pull(&read("[:person/name {:person/friend [:person/name]}]").unwrap(),
//!                      &(ivan as i64).into()).unwrap();
//! assert_eq!(pulled, read(r#"{:person/name "Ivan" :person/friend [{:person/name "Petr"}]}"#).unwrap());
//!
//! // An explicit transaction reads its own writes before it commits (or aborts).
//! let mut t = conn.begin().unwrap();
//! t.transact(&read(r#"[{:person/name "Oleg"}]"#).unwrap()).unwrap();
//! assert!(t.db().unwrap().entid(&read(r#"[:person/name "Oleg"]"#).unwrap()).unwrap().is_some());
//! t.abort();
//! assert!(conn.db().unwrap().entid(&read(r#"[:person/name "Oleg"]"#).unwrap()).unwrap().is_none());
//! ```
#![forbid(unsafe_code)]

pub mod check;
mod conn;
pub mod convert;
mod datom_scan;
mod db;
mod entity;
mod error;
mod keywords;
pub mod kv_typed;
mod layout;
mod options;
mod pull;
pub mod scan;
mod schema;
mod schema_store;
mod squuid;
mod tx;
mod txfn;

pub use conn::{attr, AsSchema, Conn, Listener, Transaction};
pub use datom_scan::DatomScan;
pub use db::{Datom, Datoms, Db, Index, Snapshot};
pub use entity::{keyword, Entity};
pub use error::{Error, Result};
pub use options::StoreOptions;
pub use pull::{pull, pull_many, pull_many_with, pull_with, PullFns, PullPattern, XformFn};
pub use schema::{reverse_name, reverse_of, Attr, AttrType, Cardinality, Schema, Unique};
pub use schema_store::SchemaUpdate;
pub use squuid::{squuid, squuid_time_millis};
pub use tx::TxReport;
pub use txfn::{TxFn, TxFnError};
