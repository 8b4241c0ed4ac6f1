//! The Rust client of `levin serve`: the same `Connection` and `KvConnection` API as the
//! embedded library, over the server's protocol (docs/PROTOCOL.md), chosen by a URI.
//!
//! ```no_run
//! use levin_query::{Connection, DatalogRead};
//!
//! let conn = levin_client::connect("levin://ann:secret@127.0.0.1:8898/sales")?;
//! conn.transact(&levin_edn::read(r#"[{:name "Ivan"}]"#)?)?;
//! let names = conn.q(&levin_edn::read("[:find [?n ...] :where [_ :name ?n]]")?, &[])?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod error;
mod remote;
mod uri;
mod wire;

pub use error::ClientError;
pub use remote::{connect, connect_kv, Client, RemoteConn, RemoteKv, RemoteSnapshot, RemoteTxn};
pub use uri::{is_uri, Target, DEFAULT_PORT};
