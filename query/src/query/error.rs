//! Query errors: what went wrong, the offending form and, when the query came from text,
//! where that form starts.

use std::fmt;

use crate::edn::Position;

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
    /// [`Registry::max_rows`]: super::functions::Registry::max_rows
    TooLarge,
    /// A feature the engine does not support yet.
    NotSupported,
    /// An error from the store.
    Db,
}

/// A query error.
#[derive(Debug, Clone)]
pub struct QueryError {
    /// The class.
    pub kind: ErrorKind,
    /// What is wrong.
    pub message: String,
    /// The offending form, as EDN.
    pub form: Option<String>,
    /// Where the form starts in the query text (when the query came from text).
    pub position: Option<Position>,
}

impl QueryError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> QueryError {
        QueryError {
            kind,
            message: message.into(),
            form: None,
            position: None,
        }
    }

    /// An error about `form`.
    pub fn at(kind: ErrorKind, message: impl Into<String>, form: impl fmt::Display) -> QueryError {
        QueryError {
            kind,
            message: message.into(),
            form: Some(form.to_string()),
            position: None,
        }
    }

    /// "not supported yet: what".
    pub fn unsupported(what: impl fmt::Display) -> QueryError {
        QueryError::new(
            ErrorKind::NotSupported,
            format!("not supported yet: {what}"),
        )
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

impl std::error::Error for QueryError {}

impl From<crate::Error> for QueryError {
    fn from(e: crate::Error) -> Self {
        QueryError::new(ErrorKind::Db, e.to_string())
    }
}

impl From<crate::edn::EdnError> for QueryError {
    fn from(e: crate::edn::EdnError) -> Self {
        QueryError::new(ErrorKind::Edn, e.to_string())
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
