//! The client's errors: the server's (with its stable code and data), the connection's,
//! and bad URIs.

use levin_edn::{Edn, Keyword};

/// Everything a remote call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server refused or failed the request.
    #[error("{message} ({code})")]
    Server {
        /// The stable error code, e.g. `:levin.error/permission-denied`.
        code: Keyword,
        /// The server's message.
        message: String,
        /// The error's data (`:line`/`:column` of a parse error, ...).
        data: Box<Edn>,
    },
    /// The connection failed.
    #[error("I/O error while {op}: {source}")]
    Io {
        /// What was being done.
        op: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The server closed the connection.
    #[error("the server closed the connection")]
    Closed,
    /// The server said something this client does not understand.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// A connection URI that does not parse.
    #[error("invalid URI: {0}")]
    Uri(String),
    /// TLS could not be set up.
    #[error("TLS: {0}")]
    Tls(String),
}

impl ClientError {
    /// The server's error code (`permission-denied`, `parse`, ...), if the server sent
    /// the error.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Server { code, .. } => Some(code.name()),
            _ => None,
        }
    }
}
