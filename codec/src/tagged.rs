//! The tagged encoding: one type-tag byte, then the type's body. Used for
//! values of mixed or unknown type (Datalog attribute values).

use crate::error::CodecError;
use crate::reader::Reader;
use crate::typed::{decode_body, encode_body, Form};
use crate::value::{Value, ValueType};

/// Appends the tagged encoding of `value`: its tag byte, then its body.
///
/// Byte order of the output is [`Value`]'s `Ord`: values of different types
/// order by tag, values of one type by value. On error nothing is appended.
///
/// ```
/// use levin_codec::{encode_value, decode_value, Value};
/// let mut a = Vec::new();
/// let mut b = Vec::new();
/// encode_value(&Value::from("apple"), &mut a).unwrap();
/// encode_value(&Value::from("banana"), &mut b).unwrap();
/// assert!(a < b);
/// assert_eq!(decode_value(&a).unwrap(), Value::from("apple"));
/// ```
pub fn encode_value(value: &Value, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let start = out.len();
    out.push(value.tag());
    let r = encode_body(value, &value.value_type(), Form::Final, 0, out);
    if r.is_err() {
        out.truncate(start);
    }
    r
}

/// Decodes a tagged encoding; all of `bytes` must be used.
pub fn decode_value(bytes: &[u8]) -> Result<Value, CodecError> {
    let mut r = Reader::new(bytes);
    let v = decode_tagged(&mut r, Form::Final)?;
    r.finish(v.value_type().with_article())?;
    Ok(v)
}

/// The tagged encoding of the long `n` (what [`encode_value`] writes for [`Value::Long`]),
/// built without a [`Value`] or a vector.
pub fn encode_tagged_long(n: i64) -> [u8; 9] {
    let mut out = [crate::tag::LONG; 9];
    out[1..].copy_from_slice(&crate::typed::i64_key(n));
    out
}

/// The long that `bytes` encode when they are exactly a tagged long (what
/// [`decode_value`] gives as [`Value::Long`], read without building a [`Value`]); `None`
/// for anything else.
pub fn decode_tagged_long(bytes: &[u8]) -> Option<i64> {
    match bytes {
        [crate::tag::LONG, body @ ..] => Some(crate::typed::i64_from_key(body.try_into().ok()?)),
        _ => None,
    }
}

/// The text that `bytes` encode when they are exactly a tagged string (what
/// [`decode_value`] gives as [`Value::String`], borrowed instead of copied); `None` for
/// anything else, invalid UTF-8 included (which `decode_value` refuses).
pub fn decode_tagged_str(bytes: &[u8]) -> Option<&str> {
    match bytes {
        [crate::tag::STRING, body @ ..] => std::str::from_utf8(body).ok(),
        _ => None,
    }
}

/// Appends a tag and a nested body (a dynamic tuple's element); `depth`
/// counts the tuples around it.
pub(crate) fn encode_nested(
    value: &Value,
    depth: usize,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    out.push(value.tag());
    encode_body(value, &value.value_type(), Form::Nested, depth, out)
}

/// Reads a tag and a body in `form`.
pub(crate) fn decode_tagged(r: &mut Reader<'_>, form: Form) -> Result<Value, CodecError> {
    let at = r.pos();
    let tag = r.byte("a tagged value")?;
    let ty = ValueType::from_tag(tag).ok_or(CodecError::UnknownTag { tag, offset: at })?;
    decode_body(r, &ty, form)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_long_matches_decode_value() {
        for n in [i64::MIN, -1_000_000, -1, 0, 1, 50_000, i64::MAX] {
            let mut enc = vec![];
            encode_value(&Value::Long(n), &mut enc).expect("encode");
            assert_eq!(encode_tagged_long(n).as_slice(), enc.as_slice());
            assert_eq!(decode_tagged_long(&enc), Some(n));
            assert_eq!(decode_value(&enc).expect("decode"), Value::Long(n));
        }
        for v in [
            Value::Instant(5),
            Value::Double(1.5),
            Value::String("abcdefgh".into()),
        ] {
            let mut enc = vec![];
            encode_value(&v, &mut enc).expect("encode");
            assert_eq!(decode_tagged_long(&enc), None, "{v:?}");
        }
        let mut enc = vec![];
        encode_value(&Value::Long(7), &mut enc).expect("encode");
        assert_eq!(decode_tagged_long(&enc[..8]), None, "short");
        enc.push(0);
        assert_eq!(decode_tagged_long(&enc), None, "long");
    }

    #[test]
    fn tagged_str_matches_decode_value() {
        for text in ["", "Ivan", "a\0b", "\u{e9}t\u{e9}"] {
            let mut enc = vec![];
            encode_value(&Value::String(text.into()), &mut enc).expect("encode");
            assert_eq!(decode_tagged_str(&enc), Some(text));
            assert_eq!(
                decode_value(&enc).expect("decode"),
                Value::String(text.into())
            );
        }
        let mut enc = vec![];
        encode_value(
            &Value::Keyword {
                ns: None,
                name: "a".into(),
            },
            &mut enc,
        )
        .expect("encode");
        assert_eq!(decode_tagged_str(&enc), None, "a keyword");
        assert_eq!(decode_tagged_str(&encode_tagged_long(3)), None, "a long");
        assert_eq!(decode_tagged_str(&[tag::STRING, 0xFF]), None, "not UTF-8");
        assert!(decode_value(&[tag::STRING, 0xFF]).is_err());
    }
    use crate::tag;

    #[test]
    fn unknown_tag() {
        let e = decode_value(&[0x13, 0]).unwrap_err();
        assert_eq!(e.to_string(), "unknown type tag 0x13 at byte 0");
        let e = decode_value(&[tag::TUPLE, tag::BOOLEAN, 1, 0xEE]).unwrap_err();
        assert_eq!(
            e,
            CodecError::UnknownTag {
                tag: 0xEE,
                offset: 3
            }
        );
    }

    #[test]
    fn empty_input() {
        let e = decode_value(&[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unexpected end of input at byte 0: a tagged value is incomplete"
        );
    }

    #[test]
    fn trailing_bytes() {
        let e = decode_value(&[tag::BIGINT, 0x01, 0x00, 0x00]).unwrap_err();
        assert_eq!(
            e,
            CodecError::TrailingBytes {
                what: "a bigint",
                offset: 2,
                count: 2
            }
        );
        let e = decode_value(&[tag::LONG, 1, 2, 3, 4, 5]).unwrap_err();
        assert_eq!(e.to_string(), "expected 8 bytes for a long, found 5");
    }

    #[test]
    fn nothing_appended_on_error() {
        let mut out = vec![7];
        let v = Value::Tuple(vec![Value::Long(1), Value::Double(f64::NAN)]);
        let e = encode_value(&v, &mut out).unwrap_err();
        assert_eq!(
            e.to_string(),
            "NaN cannot be stored: doubles must be ordered"
        );
        assert_eq!(out, [7]);
    }
}
