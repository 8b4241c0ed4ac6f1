//! The error type returned by every encoding and decoding function of this crate.

/// Why a value could not be encoded, or bytes could not be decoded.
///
/// Byte offsets in decoding errors count from the start of the slice handed to
/// the decoding function.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// A double or float was NaN, which has no place in a total order.
    #[error("NaN cannot be stored: {0}s must be ordered")]
    NaN(&'static str),

    /// The value's type is not the declared type.
    #[error("wrong type: declared type is {expected}, value is {found}")]
    WrongType {
        /// The declared type, e.g. `long` or `[long string]`.
        expected: String,
        /// The value's type with its article, e.g. `a string`.
        found: String,
    },

    /// A fixed-width body had the wrong number of bytes.
    #[error("expected {expected} bytes for {what}, found {found}")]
    WrongLength {
        /// What was being decoded, with its article, e.g. `a long`.
        what: &'static str,
        /// The width of that type's encoding.
        expected: usize,
        /// How many bytes there were.
        found: usize,
    },

    /// A tagged encoding started with a byte that is no type's tag.
    #[error("unknown type tag {tag:#04x} at byte {offset}")]
    UnknownTag {
        /// The offending byte.
        tag: u8,
        /// Where it was.
        offset: usize,
    },

    /// The input ended in the middle of a value.
    #[error("unexpected end of input at byte {offset}: {what} is incomplete")]
    UnexpectedEnd {
        /// What was being decoded, with its article.
        what: &'static str,
        /// The length of the input.
        offset: usize,
    },

    /// A string, keyword or symbol was not valid UTF-8.
    #[error("invalid UTF-8 in {what} at byte {offset}")]
    InvalidUtf8 {
        /// What was being decoded, with its article.
        what: &'static str,
        /// Where the invalid sequence starts.
        offset: usize,
    },

    /// An escaped (self-delimiting) byte string had a 0x00 followed by something
    /// other than 0xFF (an escaped zero byte) or 0x00 (the terminator).
    #[error(
        "bad escape in {what} at byte {offset}: 0x00 must be followed by 0xff or 0x00, found {found:#04x}"
    )]
    BadEscape {
        /// What was being decoded, with its article.
        what: &'static str,
        /// Where the 0x00 was.
        offset: usize,
        /// The byte after it.
        found: u8,
    },

    /// A complete value was decoded but bytes were left over.
    #[error("{count} trailing bytes after {what}, from byte {offset}")]
    TrailingBytes {
        /// What was decoded, with its article.
        what: &'static str,
        /// Where the extra bytes start.
        offset: usize,
        /// How many there are.
        count: usize,
    },

    /// Bytes that no value encodes to (for example a boolean byte 0x07, or a
    /// bigint with a leading zero byte).
    #[error("invalid encoding of {what} at byte {offset}: {reason}")]
    Invalid {
        /// What was being decoded, with its article.
        what: &'static str,
        /// Where the problem was found.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },

    /// A tuple had more elements than its declared heterogeneous type.
    #[error("tuple has {found} elements but its declared type {expected} has only {max}")]
    TupleTooLong {
        /// The declared tuple type.
        expected: String,
        /// The declared number of elements.
        max: usize,
        /// The number of elements of the value.
        found: usize,
    },

    /// Tuples nested deeper than [`crate::MAX_DEPTH`] levels (refused so that
    /// decoding cannot exhaust the stack).
    #[error("tuples nested more than {max} levels deep cannot be stored")]
    TooDeep {
        /// The limit.
        max: usize,
    },

    /// A bigdec whose scale, once trailing zeros are removed, does not fit in
    /// an `i32` (only possible for values near 10^(2^31)).
    #[error("bigdec out of range: its scale without trailing zeros does not fit in i32")]
    BigDecOutOfRange,
}
