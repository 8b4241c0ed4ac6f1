//! `TransitError`: what was wrong with transit+json input, at which byte and JSON path.

/// What was wrong with a transit+json text. Each variant names the problem; the enclosing
/// [`TransitError`] says where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransitErrorKind {
    /// [`read_slice`](super::read_slice) was given bytes that are not UTF-8.
    #[error("the input is not valid UTF-8")]
    InvalidUtf8,
    /// The text ended early.
    #[error("unexpected end of input, expected {expected}")]
    UnexpectedEnd {
        /// What the reader was looking for.
        expected: &'static str,
    },
    /// A character that JSON does not allow where it was found.
    #[error("unexpected character {found:?}, expected {expected}")]
    UnexpectedChar {
        /// The character found.
        found: char,
        /// What the reader was looking for.
        expected: &'static str,
    },
    /// A malformed JSON number.
    #[error("invalid JSON number {0:?}")]
    InvalidNumber(String),
    /// A malformed JSON string: a bad escape, a lone surrogate or a raw control character.
    #[error("invalid JSON string: {0}")]
    InvalidString(&'static str),
    /// More than whitespace after the value.
    #[error("unexpected text after the value")]
    TrailingInput,
    /// A `~x` string whose text does not parse as that kind of value (`~i12x`, `~zfoo`, ...).
    #[error("invalid {what} {text:?}: {reason}")]
    InvalidScalar {
        /// The kind of value, e.g. `"integer (~i)"`.
        what: &'static str,
        /// The offending transit string (abbreviated).
        text: String,
        /// Why it does not parse.
        reason: String,
    },
    /// A string starting with `^` that is not a cache code (`^`, `^abc`, `^~`).
    #[error("invalid cache code {code:?} (expected ^ and one or two characters from '0' to '[')")]
    InvalidCacheCode {
        /// The string.
        code: String,
    },
    /// A cache code for an entry the cache does not hold (yet).
    #[error("cache code {code:?} refers to entry {index}, but the cache holds {len} entries")]
    UnknownCacheCode {
        /// The string.
        code: String,
        /// The entry it names.
        index: usize,
        /// How many entries the cache holds.
        len: usize,
    },
    /// A `~#tag` string (or a cache code for one) where a value was expected: a tag must be
    /// the first element of a two-element array or the only key of an object.
    #[error("tag {tag:?} where a value was expected")]
    MisplacedTag {
        /// The tag.
        tag: String,
    },
    /// The map marker `"^ "` elsewhere than as the first element of an array.
    #[error("the map marker \"^ \" is only valid as the first element of an array")]
    MisplacedMapMarker,
    /// A tagged value whose representation does not fit its tag, or a tag array with other
    /// than two elements.
    #[error("tagged value ~#{tag}: {reason}")]
    InvalidTaggedValue {
        /// The tag.
        tag: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A map (`"^ "` array or `cmap`) with a key and no value.
    #[error("map has a key with no value")]
    MissingMapValue,
    /// A map with two equal keys.
    #[error("map has duplicate key {0}")]
    DuplicateKey(String),
    /// A set with two equal elements.
    #[error("set has duplicate element {0}")]
    DuplicateElement(String),
    /// Arrays and objects nested deeper than the limit.
    #[error("nesting deeper than {max} levels")]
    TooDeep {
        /// The limit, [`DEFAULT_MAX_DEPTH`](crate::DEFAULT_MAX_DEPTH).
        max: usize,
    },
    /// Cache codes that would copy more text than the limit (a memory bound: at most 64 times
    /// the input length, plus 1 MiB).
    #[error("cache codes expand to more than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
}

/// An error from reading transit+json: what was wrong ([`kind`](Self::kind)), at which byte
/// offset of the input, and where in the JSON structure (a path such as `$[6][2]` or
/// `$["~:a"]`: `$` is the top value, `[i]` the i-th element of an array, `["k"]` the member
/// with key `k` of an object).
///
/// Displays as `transit+json: <what> at byte <offset> (<path>)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("transit+json: {kind} at byte {offset} ({path})")]
pub struct TransitError {
    kind: TransitErrorKind,
    offset: usize,
    path: String,
}

impl TransitError {
    pub(super) fn new(kind: TransitErrorKind, offset: usize, path: String) -> Self {
        TransitError { kind, offset, path }
    }

    /// What was wrong.
    pub fn kind(&self) -> &TransitErrorKind {
        &self.kind
    }

    /// The byte offset in the input where the problem was found.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The JSON path of the value that was being read, e.g. `$[2]["~:a"]`.
    pub fn path(&self) -> &str {
        &self.path
    }
}
