//! Transaction functions registered on a connection from Rust: `[:db.fn/call :my/fn args...]`
//! and the shorter `[:my/fn args...]` call a function with the database as of the start of
//! the call and the arguments, and its result (transaction data) replaces the form.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use levin_edn::{Edn, Keyword};

use crate::db::Db;
use crate::error::{Error, Result};

/// A transaction function: given the database as of the start of the `transact` call that
/// names it (earlier calls of an explicit transaction included) and the form's arguments,
/// it returns transaction data (a vector of forms, which may call functions again) or an
/// error. It runs while the writer is held, so it should be quick, and it must not
/// transact on the connection itself (that would wait for the writer it holds; with
/// [`Conn::set_writer_timeout`](crate::Conn::set_writer_timeout) it fails instead).
pub type TxFn = dyn Fn(&Db<'_>, &[Edn]) -> std::result::Result<Edn, TxFnError> + Send + Sync;

/// The error a [`TxFn`] fails with: any error, so that `?` passes the store's own errors
/// (then kept as the failure's source: a corruption found by the function is still
/// [`Error::is_corruption`]); a message converts with `.into()` (`Err("refused".into())`).
pub type TxFnError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The registered functions, by name.
pub(crate) type TxFns = HashMap<Keyword, Arc<TxFn>>;

/// How deeply functions may return calls of functions.
const MAX_DEPTH: usize = 32;

/// The operations the transaction parser knows; any other leading keyword names a
/// function.
fn is_builtin(op: &Keyword) -> bool {
    matches!(
        (op.namespace().unwrap_or(""), op.name()),
        ("db", "add")
            | ("db", "retract")
            | ("db", "retractEntity")
            | ("db", "retractAttribute")
            | ("db", "cas")
            | ("db.fn", "retractEntity")
            | ("db.fn", "retractAttribute")
            | ("db.fn", "cas")
    )
}

/// The function a form calls and its arguments, if it is a call.
fn call_of(form: &Edn) -> Option<(&Edn, &[Edn])> {
    let items = form.as_seq()?;
    let op = items.first()?.as_keyword()?;
    if op.is("db.fn", "call") {
        Some((
            items.get(1).unwrap_or(&Edn::Nil),
            items.get(2..).unwrap_or(&[]),
        ))
    } else if is_builtin(op) {
        None
    } else {
        Some((&items[0], &items[1..]))
    }
}

/// `tx` with every function call replaced by what the function returns; borrowed when it
/// calls none. A leading keyword that is neither an operation nor a registered function is
/// left for the parser to refuse, except after `:db.fn/call`.
pub(crate) fn expand<'t>(tx: &'t Edn, db: &Db<'_>, fns: &TxFns) -> Result<Cow<'t, Edn>> {
    let Some(forms) = tx.as_seq() else {
        return Ok(Cow::Borrowed(tx));
    };
    let calls = |f: &Edn| match call_of(f) {
        Some((Edn::Keyword(k), _)) => {
            fns.contains_key(k) || f.as_seq().is_some_and(|s| s[0].is_kw("db.fn", "call"))
        }
        Some(_) => true,
        None => false,
    };
    if !forms.iter().any(calls) {
        return Ok(Cow::Borrowed(tx));
    }
    let mut out = Vec::with_capacity(forms.len());
    for f in forms {
        splice(f, db, fns, 0, &mut out)?;
    }
    Ok(Cow::Owned(Edn::Vector(out)))
}

fn splice(form: &Edn, db: &Db<'_>, fns: &TxFns, depth: usize, out: &mut Vec<Edn>) -> Result<()> {
    let Some((name, args)) = call_of(form) else {
        out.push(form.clone());
        return Ok(());
    };
    let explicit = form.as_seq().is_some_and(|s| s[0].is_kw("db.fn", "call"));
    let Some(k) = name.as_keyword() else {
        return Err(Error::tx(
            form,
            format!(":db.fn/call takes the name (a keyword) of a registered function, got {name}"),
        ));
    };
    let Some(f) = fns.get(k) else {
        if explicit {
            return Err(Error::UnknownTxFn {
                name: k.to_string(),
            });
        }
        // Not a function: the parser reports the unknown operation.
        out.push(form.clone());
        return Ok(());
    };
    if depth >= MAX_DEPTH {
        return Err(Error::TxFn {
            name: k.to_string(),
            reason: format!("functions called functions more than {MAX_DEPTH} levels deep"),
            source: None,
        });
    }
    let result = f(db, args).map_err(|source| Error::TxFn {
        name: k.to_string(),
        reason: source.to_string(),
        source: Some(source),
    })?;
    let Some(forms) = result.as_seq() else {
        return Err(Error::TxFn {
            name: k.to_string(),
            reason: format!(
                "it must return transaction data (a vector of forms), got {} {result}",
                result.type_name()
            ),
            source: None,
        });
    };
    for f in forms {
        splice(f, db, fns, depth + 1, out)?;
    }
    Ok(())
}
