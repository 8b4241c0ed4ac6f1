//! Errors from reading EDN text, carrying the 1-based line and column where reading failed.

use std::fmt;

/// A place in EDN source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Byte offset from the start of the text (0-based).
    pub offset: usize,
    /// Line number, starting at 1.
    pub line: usize,
    /// Column number in characters, starting at 1 (a tab counts as one column).
    pub column: usize,
}

impl Position {
    /// The start of a text: offset 0, line 1, column 1.
    pub const START: Position = Position {
        offset: 0,
        line: 1,
        column: 1,
    };
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// The broad class of an [`EdnError`], for callers that want to react to it programmatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EdnErrorKind {
    /// The text ended where a form, a closing delimiter or the rest of a literal was expected.
    UnexpectedEnd,
    /// A character or closing delimiter that cannot appear where it was found.
    UnexpectedChar,
    /// A malformed number.
    InvalidNumber,
    /// A malformed symbol, keyword, string escape, character or tag.
    InvalidToken,
    /// A malformed `#inst` or `#uuid` literal.
    InvalidLiteral,
    /// A map literal with a repeated key, a set literal with a repeated element, or a map with a
    /// key but no value.
    InvalidCollection,
    /// Collections or tags nested deeper than the reader's limit.
    TooDeep,
    /// Valid Clojure syntax that EDN (or this reader) does not support: ratios, regexes, ...
    Unsupported,
    /// [`read`](crate::read) found more than one form.
    TrailingInput,
}

/// An error from reading EDN: what went wrong and where.
///
/// Displays as `line L, column C: message`, e.g.
/// `line 3, column 7: expected ']' to close the vector opened at line 1, column 1, found end of input`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("{position}: {message}")]
pub struct EdnError {
    kind: EdnErrorKind,
    position: Position,
    message: String,
}

impl EdnError {
    pub(crate) fn new(kind: EdnErrorKind, position: Position, message: impl Into<String>) -> Self {
        EdnError {
            kind,
            position,
            message: message.into(),
        }
    }

    /// The class of error.
    pub fn kind(&self) -> EdnErrorKind {
        self.kind
    }

    /// Where in the text the error was found.
    pub fn position(&self) -> Position {
        self.position
    }

    /// The 1-based line of the error.
    pub fn line(&self) -> usize {
        self.position.line
    }

    /// The 1-based column (in characters) of the error.
    pub fn column(&self) -> usize {
        self.position.column
    }

    /// The message without the position prefix, e.g. `unknown character name \foo`.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Why a name (a symbol's or keyword's, or one of their parts) or an `#inst` text does not
/// read: the reader's message, which the caller places in an [`EdnError`] with its kind and
/// position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed(String);

impl From<String> for Malformed {
    fn from(message: String) -> Self {
        Malformed(message)
    }
}

impl From<&str> for Malformed {
    fn from(message: &str) -> Self {
        Malformed(message.to_owned())
    }
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
