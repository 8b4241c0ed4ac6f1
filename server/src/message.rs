//! The envelope of requests and replies: `{:type :op :id n :args [...]}` in, and
//! `{:type :command-complete :id n :result x}` or `{:type :error-response :id n :message s
//! :err-data {:code kw ...}}` out, plus the batches of a streamed result.

use levin_edn::{Edn, Keyword};

use crate::error::ServerError;

/// A decoded request.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request id, echoed in every reply to it.
    pub id: i64,
    /// The operation: the name of the `:type` keyword.
    pub op: String,
    /// The positional arguments.
    pub args: Vec<Edn>,
    /// The whole request map, for named options (`:snapshot`, ...).
    pub map: Edn,
}

fn k(name: &str) -> Edn {
    Edn::kw("", name)
}

impl Request {
    /// Reads a request map.
    pub fn from_edn(e: Edn) -> Result<Request, ServerError> {
        if e.as_map().is_none() {
            return Err(ServerError::Protocol(format!(
                "a request is a map with :type, :id and :args, got {}",
                e.type_name()
            )));
        }
        let op = match e.get(&k("type")) {
            Some(Edn::Keyword(kw)) if kw.namespace().is_none() => kw.name().to_string(),
            other => {
                return Err(ServerError::Protocol(format!(
                    "a request's :type is a keyword such as :q, got {}",
                    other.map_or("nothing".to_string(), |o| o.to_string())
                )))
            }
        };
        let id = match e.get(&k("id")) {
            Some(Edn::Long(n)) => *n,
            other => {
                return Err(ServerError::Protocol(format!(
                    "a request's :id is an integer, got {}",
                    other.map_or("nothing".to_string(), |o| o.to_string())
                )))
            }
        };
        let args = match e.get(&k("args")) {
            None | Some(Edn::Nil) => vec![],
            Some(Edn::Vector(v)) | Some(Edn::List(v)) => v.clone(),
            Some(other) => {
                return Err(ServerError::Protocol(format!(
                    "a request's :args is a vector, got {}",
                    other.type_name()
                )))
            }
        };
        Ok(Request {
            id,
            op,
            args,
            map: e,
        })
    }

    /// A named option of the request.
    pub fn opt(&self, name: &str) -> Option<&Edn> {
        self.map.get(&k(name)).filter(|v| !v.is_nil())
    }

    /// The argument at `i`, or an error naming what the operation expected there.
    pub fn arg(&self, i: usize, what: &str) -> Result<&Edn, ServerError> {
        self.args.get(i).ok_or_else(|| {
            ServerError::BadArgument(format!(
                ":{} needs {what} as argument {} (got {} arguments)",
                self.op,
                i + 1,
                self.args.len()
            ))
        })
    }

    /// An optional argument (absent or `nil` gives `None`).
    pub fn opt_arg(&self, i: usize) -> Option<&Edn> {
        self.args.get(i).filter(|v| !v.is_nil())
    }

    /// A string argument.
    pub fn str_arg(&self, i: usize, what: &str) -> Result<&str, ServerError> {
        let v = self.arg(i, what)?;
        v.as_str().ok_or_else(|| {
            ServerError::BadArgument(format!(
                ":{} needs {what} (a string) as argument {}, got {v}",
                self.op,
                i + 1
            ))
        })
    }

    /// A keyword argument.
    pub fn kw_arg(&self, i: usize, what: &str) -> Result<&Keyword, ServerError> {
        let v = self.arg(i, what)?;
        v.as_keyword().ok_or_else(|| {
            ServerError::BadArgument(format!(
                ":{} needs {what} (a keyword) as argument {}, got {v}",
                self.op,
                i + 1
            ))
        })
    }

    /// A non-negative integer argument, if given.
    pub fn count_arg(&self, i: usize, what: &str) -> Result<Option<u64>, ServerError> {
        match self.opt_arg(i) {
            None => Ok(None),
            Some(Edn::Long(n)) if *n >= 0 => Ok(Some(*n as u64)),
            Some(v) => Err(ServerError::BadArgument(format!(
                ":{} needs {what} (a non-negative integer) as argument {}, got {v}",
                self.op,
                i + 1
            ))),
        }
    }

    /// A vector (or list) argument.
    pub fn seq_arg(&self, i: usize, what: &str) -> Result<&[Edn], ServerError> {
        let v = self.arg(i, what)?;
        v.as_seq().ok_or_else(|| {
            ServerError::BadArgument(format!(
                ":{} needs {what} (a vector) as argument {}, got {v}",
                self.op,
                i + 1
            ))
        })
    }
}

/// A successful reply.
pub fn ok(id: i64, result: Edn) -> Edn {
    Edn::Map(vec![
        (k("type"), k("command-complete")),
        (k("id"), Edn::Long(id)),
        (k("result"), result),
    ])
}

/// An error reply.
pub fn error(id: i64, e: &ServerError) -> Edn {
    let mut data = vec![(k("code"), Edn::Keyword(e.code()))];
    data.extend(e.data());
    Edn::Map(vec![
        (k("type"), k("error-response")),
        (k("id"), Edn::Long(id)),
        (k("message"), Edn::string(e.to_string())),
        (k("err-data"), Edn::Map(data)),
    ])
}

/// The first frame of a streamed result.
pub fn copy_out(id: i64, count: usize) -> Edn {
    Edn::Map(vec![
        (k("type"), k("copy-out-response")),
        (k("id"), Edn::Long(id)),
        (k("count"), Edn::Long(count as i64)),
    ])
}

/// One batch of a streamed result.
pub fn copy_batch(id: i64, items: Vec<Edn>) -> Edn {
    Edn::Map(vec![
        (k("type"), k("copy-batch")),
        (k("id"), Edn::Long(id)),
        (k("items"), Edn::Vector(items)),
    ])
}

/// The last frame of a streamed result.
pub fn copy_done(id: i64) -> Edn {
    Edn::Map(vec![(k("type"), k("copy-done")), (k("id"), Edn::Long(id))])
}
