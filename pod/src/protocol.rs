//! The pod protocol: `describe` (format, namespace, vars, ops), `invoke` (a var's value,
//! or `ex-message`/`ex-data` with status `["done" "error"]`), `shutdown`; every reply
//! carries the request's id, whatever went wrong.

use std::collections::BTreeMap;
use std::time::Duration;

use levin_edn::{transit, Edn};

use crate::bencode::{ReadFailure, Value};
use crate::error::PodError;
use crate::state::State;
use crate::vars::{self, Support, CODE_VARS, NAMESPACE, VARS};

/// What handling a message leads to.
#[derive(Debug)]
pub enum Outcome {
    /// Send this reply.
    Reply(Value),
    /// Close everything and exit (no reply).
    Shutdown,
}

/// The `describe` reply (without the id): the same bytes every time.
pub fn describe() -> Value {
    let mut vars: Vec<Value> = VARS
        .iter()
        .map(|v| Value::dict([("name", Value::str(v.name))]))
        .collect();
    vars.extend(
        CODE_VARS.iter().map(|(name, code)| {
            Value::dict([("name", Value::str(name)), ("code", Value::str(code))])
        }),
    );
    Value::dict([
        ("format", Value::str("transit+json")),
        (
            "namespaces",
            Value::List(vec![Value::dict([
                ("name", Value::str(NAMESPACE)),
                ("vars", Value::List(vars)),
            ])]),
        ),
        ("ops", Value::dict([("shutdown", Value::dict([]))])),
    ])
}

fn with_id(mut reply: Value, id: &[u8]) -> Value {
    if let Value::Dict(d) = &mut reply {
        d.insert(b"id".to_vec(), Value::Bytes(id.to_vec()));
    }
    reply
}

/// The error reply to request `id`.
pub fn error_reply(id: &[u8], e: &PodError) -> Value {
    with_id(
        Value::dict([
            ("ex-message", Value::str(e.to_string())),
            ("ex-data", Value::str(transit::write(&e.ex_data()))),
            (
                "status",
                Value::List(vec![Value::str("done"), Value::str("error")]),
            ),
        ]),
        id,
    )
}

fn value_reply(id: &[u8], v: &Edn) -> Value {
    with_id(
        Value::dict([
            ("value", Value::str(transit::write(v))),
            ("status", Value::List(vec![Value::str("done")])),
        ]),
        id,
    )
}

/// The id replies use when a message has none.
pub const UNKNOWN_ID: &[u8] = b"unknown";

/// A pod: the open databases and the message handler.
pub struct Pod {
    state: State,
}

impl Pod {
    /// A pod with nothing open; writes wait at most `writer_timeout` for a writer held by
    /// another process.
    pub fn new(writer_timeout: Duration) -> Pod {
        Pod {
            state: State::new(writer_timeout),
        }
    }

    /// Handles one message.
    pub fn handle(&mut self, msg: &BTreeMap<Vec<u8>, Value>) -> Outcome {
        let id = match msg.get(b"id".as_slice()) {
            Some(Value::Bytes(b)) => b.clone(),
            Some(Value::Int(n)) => n.to_string().into_bytes(),
            _ => UNKNOWN_ID.to_vec(),
        };
        let op = msg.get(b"op".as_slice()).and_then(Value::as_str);
        match op {
            Some("describe") => Outcome::Reply(with_id(describe(), &id)),
            Some("invoke") => Outcome::Reply(match self.invoke(msg) {
                Ok(v) => value_reply(&id, &v),
                Err(e) => {
                    if !matches!(e, PodError::Unsupported { .. }) {
                        eprintln!("levin pod: {e}");
                    }
                    error_reply(&id, &e)
                }
            }),
            Some("shutdown") => Outcome::Shutdown,
            Some(other) => Outcome::Reply(error_reply(&id, &PodError::UnknownOp(other.into()))),
            None => Outcome::Reply(error_reply(
                &id,
                &PodError::BadMessage("the message has no \"op\" string".into()),
            )),
        }
    }

    /// The reply to a message that did not read.
    pub fn malformed(&self, f: &ReadFailure) -> Value {
        error_reply(
            f.id.as_deref().unwrap_or(UNKNOWN_ID),
            &PodError::Bencode(f.error.clone()),
        )
    }

    /// Closes every database (aborting explicit transactions).
    pub fn close_all(&mut self) {
        self.state.close_all();
    }

    fn invoke(&mut self, msg: &BTreeMap<Vec<u8>, Value>) -> Result<Edn, PodError> {
        let var = msg
            .get(b"var".as_slice())
            .and_then(Value::as_str)
            .ok_or_else(|| PodError::BadMessage("invoke needs a \"var\" string".into()))?;
        let name = var
            .strip_prefix(NAMESPACE)
            .and_then(|n| n.strip_prefix('/'))
            .ok_or_else(|| PodError::UnknownVar(var.to_string()))?;
        let spec = vars::find(name).ok_or_else(|| PodError::UnknownVar(var.to_string()))?;
        if let Support::No(reason) = spec.support {
            return Err(PodError::Unsupported {
                var: name.to_string(),
                reason,
            });
        }
        let args = match msg.get(b"args".as_slice()) {
            None => Edn::Vector(vec![]),
            Some(Value::Bytes(b)) => transit::read_slice(b)?,
            Some(_) => {
                return Err(PodError::BadMessage(
                    "invoke's \"args\" is a transit+json string".into(),
                ))
            }
        };
        let args = match args {
            Edn::Vector(a) | Edn::List(a) => a,
            other => {
                return Err(PodError::BadMessage(format!(
                    "invoke's \"args\" is a transit+json vector, got {other}"
                )))
            }
        };
        if args.len() < spec.min || args.len() > spec.max {
            return Err(PodError::Arity {
                var: name.to_string(),
                got: args.len(),
                takes: if spec.max == usize::MAX {
                    format!("{} or more", spec.min)
                } else if spec.min == spec.max {
                    format!("{}", spec.min)
                } else {
                    format!("{} to {}", spec.min, spec.max)
                },
            });
        }
        crate::datalog::call(&mut self.state, name, &args)
            .or_else(|| crate::kv::call(&mut self.state, name, &args))
            .unwrap_or_else(|| Err(PodError::UnknownVar(var.to_string())))
    }
}
