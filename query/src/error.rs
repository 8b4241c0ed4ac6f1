//! Query errors: what went wrong, the offending form and, when the query came from text,
//! where that form starts.

use std::fmt;
use std::sync::Arc;

use levin_edn::Position;

/// The class of a [`QueryError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The query text is not valid EDN.
    Edn,
    /// A malformed query, find spec, binding or clause.
    Parse,
    /// A call of a function, predicate or aggregate that is neither built in nor registered.
    UnknownFunction,
    /// A variable used where it must already be bound (predicate, function, `not`, ...).
    Unbound,
    /// A rule called with the wrong number of arguments, or an unknown rule.
    Rule,
    /// `or` branches that use different variables.
    OrVars,
    /// Inputs that do not match `:in`.
    Input,
    /// A function failed at run time (wrong argument types, ...).
    Eval,
    /// The query ran longer than its `:timeout`.
    Timeout,
    /// An intermediate result grew past the row limit ([`Registry::max_rows`]).
    ///
    /// [`Registry::max_rows`]: crate::functions::Registry::max_rows
    TooLarge,
    /// A feature the engine does not support yet.
    NotSupported,
    /// An error from the store.
    Db,
}

/// A query error.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct QueryError {
    /// The class.
    pub kind: ErrorKind,
    /// What is wrong.
    pub message: String,
    /// The offending form, as EDN.
    pub form: Option<String>,
    /// Where the form starts in the query text (when the query came from text).
    pub position: Option<Position>,
    /// For [`ErrorKind::Db`]: the store's error, kept whole so that corruption and I/O
    /// failures stay distinguishable ([`QueryError::store_error`]).
    store: Option<Arc<levin_datalog::Error>>,
}

impl QueryError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> QueryError {
        QueryError {
            kind,
            message: message.into(),
            form: None,
            position: None,
            store: None,
        }
    }

    /// An error about `form`.
    pub fn at(kind: ErrorKind, message: impl Into<String>, form: impl fmt::Display) -> QueryError {
        QueryError {
            kind,
            message: message.into(),
            form: Some(form.to_string()),
            position: None,
            store: None,
        }
    }

    /// "not supported yet: what".
    pub fn unsupported(what: impl fmt::Display) -> QueryError {
        QueryError::new(
            ErrorKind::NotSupported,
            format!("not supported yet: {what}"),
        )
    }

    /// The store's error behind an [`ErrorKind::Db`] error.
    pub fn store_error(&self) -> Option<&levin_datalog::Error> {
        self.store.as_deref()
    }

    /// True when the store found corruption.
    pub fn is_corruption(&self) -> bool {
        self.store
            .as_deref()
            .is_some_and(levin_datalog::Error::is_corruption)
    }

    /// Fills in `position` by finding the form in the query text `src`.
    pub fn locate(mut self, src: &str) -> QueryError {
        if self.position.is_none() {
            if let Some(f) = &self.form {
                self.position = find_form(src, f);
            }
        }
        self
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.position {
            write!(f, "{p}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(form) = &self.form {
            write!(f, " in {form}")?;
        }
        Ok(())
    }
}

impl std::error::Error for QueryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.store
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<levin_datalog::Error> for QueryError {
    fn from(e: levin_datalog::Error) -> Self {
        let kind = match e {
            levin_datalog::Error::Timeout(_) => ErrorKind::Timeout,
            _ => ErrorKind::Db,
        };
        QueryError {
            store: None,
            ..QueryError::new(kind, e.to_string())
        }
        .with_store(e)
    }
}

impl QueryError {
    fn with_store(mut self, e: levin_datalog::Error) -> QueryError {
        self.store = Some(Arc::new(e));
        self
    }
}

impl From<levin_edn::EdnError> for QueryError {
    fn from(e: levin_edn::EdnError) -> Self {
        QueryError::new(ErrorKind::Edn, e.to_string())
    }
}

/// Any error of the Datalog API as the query crate offers it (the [`crate::Connection`]
/// traits): a query's own error, or the store's, kept whole so that corruption, I/O and a
/// busy writer stay distinguishable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The query failed (parse, evaluation, timeout, size limit, ...).
    #[error(transparent)]
    Query(#[from] QueryError),
    /// The store failed (schema, transaction, engine, corruption, I/O).
    #[error(transparent)]
    Store(#[from] levin_datalog::Error),
}

impl Error {
    /// True when the store found corruption.
    pub fn is_corruption(&self) -> bool {
        match self {
            Error::Query(q) => q.is_corruption(),
            Error::Store(s) => s.is_corruption(),
        }
    }

    /// True when a bounded wait for the writer ran out (nothing changed; try again).
    pub fn is_writer_busy(&self) -> bool {
        match self {
            Error::Query(q) => q
                .store_error()
                .is_some_and(levin_datalog::Error::is_writer_busy),
            Error::Store(s) => s.is_writer_busy(),
        }
    }
}

/// Result of the query engine.
pub type QResult<T> = std::result::Result<T, QueryError>;

/// Finds `form` (printed canonically) in `src`, ignoring differences in whitespace and
/// commas; falls back to the form's first token.
fn find_form(src: &str, form: &str) -> Option<Position> {
    // Squeeze runs of whitespace and commas to one space, remembering original offsets.
    let mut squeezed = String::new();
    let mut offs = Vec::new();
    let mut in_ws = false;
    for (i, c) in src.char_indices() {
        if c.is_whitespace() || c == ',' {
            if !in_ws {
                squeezed.push(' ');
                offs.push(i);
            }
            in_ws = true;
        } else {
            in_ws = false;
            for _ in 0..c.len_utf8() {
                offs.push(i);
            }
            squeezed.push(c);
        }
    }
    let norm: String = {
        let mut s = String::new();
        let mut ws = false;
        for c in form.chars() {
            if c.is_whitespace() || c == ',' {
                if !ws {
                    s.push(' ');
                }
                ws = true;
            } else {
                ws = false;
                s.push(c);
            }
        }
        s
    };
    let at = squeezed.find(&norm).or_else(|| {
        let head: String = norm.chars().take_while(|c| !c.is_whitespace()).collect();
        let head = head.trim_end_matches([')', ']', '}']);
        if head.len() > 1 {
            squeezed.find(head)
        } else {
            None
        }
    })?;
    let off = *offs.get(at)?;
    let before = &src[..off];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some(Position {
        offset: off,
        line,
        column,
    })
}
