//! Untagged encodings for a declared type ([`encode_typed`], [`decode_typed`]),
//! and the type bodies that the tagged encoding puts after its tag.
//!
//! Every type has two forms. The *final* form is used when the value is the
//! last thing in the key: strings, bytes and data are written raw (so they
//! decode without copying) and a tuple has no end marker (so a shorter tuple's
//! encoding is a byte prefix of a longer one's). The *nested* form, used for
//! tuple elements, is self-delimiting: byte strings are escaped and
//! terminated, tuples end with 0x00. Fixed-width types, bigints and bigdecs
//! are the same in both forms.

use std::borrow::Cow;

use crate::bigdec::{decode_bigdec, encode_bigdec};
use crate::bigint::{decode_bigint, encode_bigint};
use crate::error::CodecError;
use crate::float;
use crate::reader::{write_escaped, Reader};
use crate::tuple;
use crate::value::{Value, ValueType};

/// Deepest nesting of tuples inside tuples that is encoded or decoded.
pub const MAX_DEPTH: usize = 64;

/// Whether a body is the last thing in the key or inside a tuple.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Form {
    /// Last in the key: no delimiter needed.
    Final,
    /// Inside a tuple: must be self-delimiting.
    Nested,
}

/// Keyword/symbol flag byte: no namespace.
const NO_NS: u8 = 0x01;
/// Keyword/symbol flag byte: a namespace follows.
const HAS_NS: u8 = 0x02;

const SIGN64: u64 = 1 << 63;

/// Appends the untagged encoding of `value`, which must be of type `ty`.
///
/// Byte order of the output is the order of values of that type. On error
/// nothing is appended.
///
/// ```
/// use levin_codec::{encode_typed, decode_typed, Value, ValueType};
/// let mut key = Vec::new();
/// encode_typed(&Value::Long(-3), &ValueType::Long, &mut key).unwrap();
/// assert_eq!(key, [0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFD]);
/// assert_eq!(decode_typed(&key, &ValueType::Long).unwrap(), Value::Long(-3));
/// let err = encode_typed(&Value::from("x"), &ValueType::Long, &mut key).unwrap_err();
/// assert_eq!(err.to_string(), "wrong type: declared type is long, value is a string");
/// ```
pub fn encode_typed(value: &Value, ty: &ValueType, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let start = out.len();
    let r = encode_body(value, ty, Form::Final, 0, out);
    if r.is_err() {
        out.truncate(start);
    }
    r
}

/// Decodes the untagged encoding of a value of type `ty`; all of `bytes` must
/// be used.
pub fn decode_typed(bytes: &[u8], ty: &ValueType) -> Result<Value, CodecError> {
    let mut r = Reader::new(bytes);
    let v = decode_body(&mut r, ty, Form::Final)?;
    r.finish(ty.with_article())?;
    Ok(v)
}

/// The 8-byte encoding of a long or instant: big-endian with the sign bit flipped.
pub(crate) fn i64_key(n: i64) -> [u8; 8] {
    ((n as u64) ^ SIGN64).to_be_bytes()
}

/// Inverse of [`i64_key`].
pub(crate) fn i64_from_key(key: [u8; 8]) -> i64 {
    (u64::from_be_bytes(key) ^ SIGN64) as i64
}

/// Appends a byte string: raw in final form, escaped and terminated in nested form.
pub(crate) fn write_bytes(bytes: &[u8], form: Form, out: &mut Vec<u8>) {
    match form {
        Form::Final => out.extend_from_slice(bytes),
        Form::Nested => write_escaped(bytes, out),
    }
}

/// Appends a keyword or symbol body: a flag byte, the escaped namespace if
/// any, then the name.
pub(crate) fn write_name(ns: Option<&str>, name: &str, form: Form, out: &mut Vec<u8>) {
    match ns {
        None => out.push(NO_NS),
        Some(ns) => {
            out.push(HAS_NS);
            write_escaped(ns.as_bytes(), out);
        }
    }
    write_bytes(name.as_bytes(), form, out);
}

fn wrong_type(value: &Value, ty: &ValueType) -> CodecError {
    CodecError::WrongType {
        expected: ty.to_string(),
        found: value.value_type().with_article().to_string(),
    }
}

/// Appends the body of `value` as type `ty` in `form`; `depth` counts the
/// tuples around it.
pub(crate) fn encode_body(
    value: &Value,
    ty: &ValueType,
    form: Form,
    depth: usize,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    match (ty, value) {
        (ValueType::Boolean, Value::Boolean(b)) => out.push(u8::from(*b)),
        (ValueType::Long, Value::Long(n)) | (ValueType::Instant, Value::Instant(n)) => {
            out.extend_from_slice(&i64_key(*n))
        }
        (ValueType::Double, Value::Double(x)) => float::encode_f64(*x, out)?,
        (ValueType::Float, Value::Float(x)) => float::encode_f32(*x, out)?,
        (ValueType::BigInt, Value::BigInt(n)) => encode_bigint(n, out),
        (ValueType::BigDec, Value::BigDec(d)) => encode_bigdec(d, out)?,
        (ValueType::String, Value::String(s)) => write_bytes(s.as_bytes(), form, out),
        (ValueType::Keyword, Value::Keyword { ns, name })
        | (ValueType::Symbol, Value::Symbol { ns, name }) => {
            write_name(ns.as_deref(), name, form, out)
        }
        (ValueType::Uuid, Value::Uuid(u)) => out.extend_from_slice(u),
        (ValueType::Bytes, Value::Bytes(b)) | (ValueType::Data, Value::Data(b)) => {
            write_bytes(b, form, out)
        }
        (ValueType::Tuple, Value::Tuple(items)) => {
            tuple::encode_dynamic(items, form, depth + 1, out)?
        }
        (ValueType::HomTuple(elem), Value::Tuple(items)) => {
            tuple::encode_hom(items, elem, form, depth + 1, out)?
        }
        (ValueType::HetTuple(elems), Value::Tuple(items)) => {
            tuple::encode_het(items, elems, ty, form, depth + 1, out)?
        }
        _ => return Err(wrong_type(value, ty)),
    }
    Ok(())
}

/// Reads `N` bytes of a fixed-width type: exactly `N` must remain in final form.
pub(crate) fn fixed<const N: usize>(
    r: &mut Reader<'_>,
    what: &'static str,
    form: Form,
) -> Result<[u8; N], CodecError> {
    let found = r.remaining();
    if found < N || (form == Form::Final && found != N) {
        return Err(CodecError::WrongLength {
            what,
            expected: N,
            found,
        });
    }
    r.array::<N>(what)
}

/// Reads a byte string in `form`; borrows unless it had escaped zeros.
pub(crate) fn read_bytes<'a>(
    r: &mut Reader<'a>,
    form: Form,
    what: &'static str,
) -> Result<Cow<'a, [u8]>, CodecError> {
    match form {
        Form::Final => Ok(Cow::Borrowed(r.rest())),
        Form::Nested => r.escaped(what),
    }
}

/// Reads a UTF-8 string in `form`.
pub(crate) fn read_string(
    r: &mut Reader<'_>,
    form: Form,
    what: &'static str,
) -> Result<String, CodecError> {
    match form {
        Form::Final => r.rest_str(what).map(str::to_owned),
        Form::Nested => r.escaped_str(what),
    }
}

/// Reads a keyword or symbol body: (namespace, name).
pub(crate) fn read_name(
    r: &mut Reader<'_>,
    form: Form,
    what: &'static str,
) -> Result<(Option<String>, String), CodecError> {
    let at = r.pos();
    let ns = match r.byte(what)? {
        NO_NS => None,
        HAS_NS => Some(r.escaped_str(what)?),
        _ => {
            return Err(CodecError::Invalid {
                what,
                offset: at,
                reason: "namespace flag must be 0x01 (none) or 0x02 (present)",
            })
        }
    };
    Ok((ns, read_string(r, form, what)?))
}

/// Reads the body of a value of type `ty` in `form`.
pub(crate) fn decode_body(
    r: &mut Reader<'_>,
    ty: &ValueType,
    form: Form,
) -> Result<Value, CodecError> {
    let what = ty.with_article();
    Ok(match ty {
        ValueType::Boolean => {
            let at = r.pos();
            match fixed::<1>(r, what, form)?[0] {
                0 => Value::Boolean(false),
                1 => Value::Boolean(true),
                _ => {
                    return Err(CodecError::Invalid {
                        what,
                        offset: at,
                        reason: "a boolean is 0x00 (false) or 0x01 (true)",
                    })
                }
            }
        }
        ValueType::Long => Value::Long(i64_from_key(fixed(r, what, form)?)),
        ValueType::Instant => Value::Instant(i64_from_key(fixed(r, what, form)?)),
        ValueType::Double => {
            let at = r.pos();
            Value::Double(float::decode_f64(fixed(r, what, form)?, at)?)
        }
        ValueType::Float => {
            let at = r.pos();
            Value::Float(float::decode_f32(fixed(r, what, form)?, at)?)
        }
        ValueType::BigInt => Value::BigInt(decode_bigint(r)?),
        ValueType::BigDec => Value::BigDec(decode_bigdec(r)?),
        ValueType::String => Value::String(read_string(r, form, what)?),
        ValueType::Keyword => {
            let (ns, name) = read_name(r, form, what)?;
            Value::Keyword { ns, name }
        }
        ValueType::Symbol => {
            let (ns, name) = read_name(r, form, what)?;
            Value::Symbol { ns, name }
        }
        ValueType::Uuid => Value::Uuid(fixed(r, what, form)?),
        ValueType::Bytes => Value::Bytes(read_bytes(r, form, what)?.into_owned()),
        ValueType::Data => Value::Data(read_bytes(r, form, what)?.into_owned()),
        ValueType::Tuple => tuple::decode_dynamic(r, form)?,
        ValueType::HomTuple(elem) => tuple::decode_hom(r, elem, form)?,
        ValueType::HetTuple(elems) => tuple::decode_het(r, elems, form)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: &Value, ty: &ValueType) -> Vec<u8> {
        let mut out = Vec::new();
        encode_typed(v, ty, &mut out).unwrap();
        out
    }

    #[test]
    fn layouts() {
        assert_eq!(enc(&Value::Boolean(true), &ValueType::Boolean), [1]);
        assert_eq!(
            enc(&Value::Long(0), &ValueType::Long),
            [0x80, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            enc(&Value::Instant(-1), &ValueType::Instant),
            [0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        assert_eq!(enc(&Value::from("a\0b"), &ValueType::String), b"a\0b");
        assert_eq!(
            enc(&Value::keyword(Some("db"), "id"), &ValueType::Keyword),
            [0x02, b'd', b'b', 0, 0, b'i', b'd']
        );
        assert_eq!(
            enc(&Value::symbol(None, "x"), &ValueType::Symbol),
            [0x01, b'x']
        );
    }

    #[test]
    fn wrong_type_errors() {
        let mut out = vec![9];
        let e = encode_typed(&Value::from("s"), &ValueType::Long, &mut out).unwrap_err();
        assert_eq!(
            e.to_string(),
            "wrong type: declared type is long, value is a string"
        );
        assert_eq!(out, [9], "nothing appended on error");
        let e = encode_typed(&Value::Long(1), &ValueType::Instant, &mut out).unwrap_err();
        assert_eq!(
            e.to_string(),
            "wrong type: declared type is instant, value is a long"
        );
        let het = ValueType::HetTuple(vec![ValueType::Long, ValueType::String]);
        let v = Value::Tuple(vec![Value::Long(1), Value::Long(2)]);
        let e = encode_typed(&v, &het, &mut out).unwrap_err();
        assert_eq!(
            e.to_string(),
            "wrong type: declared type is string, value is a long"
        );
        let e = encode_typed(&Value::Bytes(vec![]), &het, &mut out).unwrap_err();
        assert_eq!(
            e.to_string(),
            "wrong type: declared type is [long string], value is bytes"
        );
        assert_eq!(out, [9]);
    }

    #[test]
    fn wrong_length_errors() {
        let e = decode_typed(&[1, 2, 3, 4, 5], &ValueType::Long).unwrap_err();
        assert_eq!(e.to_string(), "expected 8 bytes for a long, found 5");
        let e = decode_typed(&[0; 9], &ValueType::Instant).unwrap_err();
        assert_eq!(e.to_string(), "expected 8 bytes for an instant, found 9");
        let e = decode_typed(&[0; 3], &ValueType::Float).unwrap_err();
        assert_eq!(e.to_string(), "expected 4 bytes for a float, found 3");
        let e = decode_typed(&[], &ValueType::Boolean).unwrap_err();
        assert_eq!(e.to_string(), "expected 1 bytes for a boolean, found 0");
        let e = decode_typed(&[0; 15], &ValueType::Uuid).unwrap_err();
        assert_eq!(e.to_string(), "expected 16 bytes for a uuid, found 15");
    }

    #[test]
    fn invalid_bytes_errors() {
        let e = decode_typed(&[2], &ValueType::Boolean).unwrap_err();
        assert!(matches!(e, CodecError::Invalid { offset: 0, .. }), "{e}");
        let e = decode_typed(&[b'a', 0xFF], &ValueType::String).unwrap_err();
        assert_eq!(e.to_string(), "invalid UTF-8 in a string at byte 1");
        let e = decode_typed(&[0x03, b'x'], &ValueType::Keyword).unwrap_err();
        assert!(e.to_string().contains("namespace flag"), "{e}");
        let e = decode_typed(&[0x02, b'x'], &ValueType::Symbol).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unexpected end of input at byte 2: a symbol is incomplete"
        );
        // A bigint followed by junk.
        let e = decode_typed(&[0x01, 0x07], &ValueType::BigInt).unwrap_err();
        assert_eq!(
            e.to_string(),
            "1 trailing bytes after a bigint, from byte 1"
        );
    }

    #[test]
    fn nan_rejected_typed() {
        let e = encode_typed(
            &Value::Double(f64::NAN),
            &ValueType::Double,
            &mut Vec::new(),
        );
        assert_eq!(e, Err(CodecError::NaN("double")));
        let e = encode_typed(&Value::Float(f32::NAN), &ValueType::Float, &mut Vec::new());
        assert_eq!(e, Err(CodecError::NaN("float")));
    }
}
