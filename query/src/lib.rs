//! Levin's query layer: EDN reading and printing, and the Datalog store (schema,
//! transactions, indexes, pull and entities) on Levin's KV engine.
//!
//! ```
//! use levin_query::{Conn, edn::read};
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
//! ```
#![forbid(unsafe_code)]

pub mod conn;
pub mod convert;
pub mod db;
pub mod edn;
pub mod entity;
pub mod error;
pub(crate) mod index_scan;
pub mod layout;
pub mod pull;
pub mod query;
pub mod schema;
pub mod tx;

pub use conn::{AsSchema, Conn};
pub use db::{Datom, Db, Index};
pub use entity::Entity;
pub use error::{Error, Result};
pub use query::{q, Input, QueryResult};
pub use schema::{Attr, AttrType, Cardinality, Schema, Unique};
pub use tx::TxReport;
