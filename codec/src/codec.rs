//! The [`Codec`] trait for statically typed KV handles, and its marker types
//! (`Database<Long, Str>` reads "a database from longs to strings").
//!
//! Each marker's bytes are exactly the untagged typed encoding of its
//! [`ValueType`] (see [`crate::encode_typed`]), except [`AnyValue`], which is
//! the tagged encoding. So a database declared with a type at run time and one
//! opened with the matching marker read each other's keys.
//!
//! | marker        | encodes       | decodes to       | declared type |
//! |---------------|---------------|------------------|---------------|
//! | [`Bool`]      | `bool`        | `bool`           | `boolean`     |
//! | [`Long`]      | `i64`         | `i64`            | `long`        |
//! | [`Double`]    | `f64`         | `f64`            | `double`      |
//! | [`Float`]     | `f32`         | `f32`            | `float`       |
//! | [`BigInteger`]| `BigInt`      | `BigInt`         | `bigint`      |
//! | [`Decimal`]   | [`BigDec`]    | [`BigDec`]       | `bigdec`      |
//! | [`Instant`]   | `i64` (ms)    | `i64`            | `instant`     |
//! | [`Str`]       | `str`         | `&str` (no copy) | `string`      |
//! | [`Keyword`]   | [`Name`]      | [`Name`]         | `keyword`     |
//! | [`Symbol`]    | [`Name`]      | [`Name`]         | `symbol`      |
//! | [`Uuid`]      | `[u8; 16]`    | `[u8; 16]`       | `uuid`        |
//! | [`Bytes`]     | `[u8]`        | `&[u8]` (no copy)| `bytes`       |
//! | [`Tuple`]     | `[Value]`     | `Vec<Value>`     | `tuple`       |
//! | [`Data`]      | `[u8]`        | `&[u8]` (no copy)| `data` (unordered) |
//! | [`AnyValue`]  | [`Value`]     | [`Value`]        | none: tagged  |

use num_bigint::BigInt;

use crate::bigdec::{decode_bigdec, encode_bigdec, BigDec};
use crate::bigint::{decode_bigint, encode_bigint};
use crate::error::CodecError;
use crate::float;
use crate::reader::Reader;
use crate::tagged::{decode_value, encode_value};
use crate::tuple;
use crate::typed::{fixed, i64_from_key, i64_key, read_name, write_name, Form};
use crate::value::{Name, Value, ValueType};

/// How the keys or values of a typed KV database are turned into bytes and
/// back.
///
/// `encode` appends to `out` (nothing is appended when it fails); `decode`
/// reads exactly the given bytes and may borrow from them.
pub trait Codec {
    /// What [`Codec::encode`] takes; may be unsized (`str`, `[u8]`).
    type Item: ?Sized;
    /// What [`Codec::decode`] returns; may borrow from the bytes.
    type Decoded<'a>;
    /// Whether the byte order of encodings is the order of the items, so range
    /// scans over them mean something.
    const ORDERED: bool;

    /// The declared type whose untagged encoding this is (`None` for
    /// [`AnyValue`], which is tagged).
    fn value_type() -> Option<ValueType>;

    /// Appends the encoding of `item` to `out`.
    fn encode(item: &Self::Item, out: &mut Vec<u8>) -> Result<(), CodecError>;

    /// Decodes `bytes`, all of which must be used.
    fn decode(bytes: &[u8]) -> Result<Self::Decoded<'_>, CodecError>;

    /// The encoding of `item` in a new vector.
    fn to_vec(item: &Self::Item) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::new();
        Self::encode(item, &mut out)?;
        Ok(out)
    }
}

/// Runs `f` and removes what it appended to `out` if it failed.
fn atomically(
    out: &mut Vec<u8>,
    f: impl FnOnce(&mut Vec<u8>) -> Result<(), CodecError>,
) -> Result<(), CodecError> {
    let start = out.len();
    let r = f(out);
    if r.is_err() {
        out.truncate(start);
    }
    r
}

/// Decodes a fixed-width body that must fill `bytes`.
fn whole<const N: usize>(bytes: &[u8], what: &'static str) -> Result<[u8; N], CodecError> {
    fixed::<N>(&mut Reader::new(bytes), what, Form::Final)
}

/// `boolean`: one byte, 0x00 false, 0x01 true.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Bool;

impl Codec for Bool {
    type Item = bool;
    type Decoded<'a> = bool;
    const ORDERED: bool = true;
    fn value_type() -> Option<ValueType> {
        Some(ValueType::Boolean)
    }
    fn encode(item: &bool, out: &mut Vec<u8>) -> Result<(), CodecError> {
        out.push(u8::from(*item));
        Ok(())
    }
    fn decode(bytes: &[u8]) -> Result<bool, CodecError> {
        match whole::<1>(bytes, "a boolean")? {
            [0] => Ok(false),
            [1] => Ok(true),
            _ => Err(CodecError::Invalid {
                what: "a boolean",
                offset: 0,
                reason: "a boolean is 0x00 (false) or 0x01 (true)",
            }),
        }
    }
}

/// `long`: `i64`, 8 bytes big-endian with the sign bit flipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Long;

impl Codec for Long {
    type Item = i64;
    type Decoded<'a> = i64;
    const ORDERED: bool = true;
    fn value_type() -> Option<ValueType> {
        Some(ValueType::Long)
    }
    fn encode(item: &i64, out: &mut Vec<u8>) -> Result<(), CodecError> {
        out.extend_from_slice(&i64_key(*item));
        Ok(())
    }
    fn decode(bytes: &[u8]) -> Result<i64, CodecError> {
        Ok(i64_from_key(whole(bytes, "a long")?))
    }
}

/// `instant`: milliseconds since the Unix epoch as `i64`, encoded like a long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Instant;

impl Codec for Instant {
    type Item = i64;
    type Decoded<'a> = i64;
    const ORDERED: bool = true;
    fn value_type() -> Option<ValueType> {
        Some(ValueType::Instant)
    }
    fn encode(item: &i64, out: &mut Vec<u8>) -> Result<(), CodecError> {
        out.extend_from_slice(&i64_key(*item));
        Ok(())
    }
    fn decode(bytes: &[u8]) -> Result<i64, CodecError> {
        Ok(i64_from_key(whole(bytes, "an instant")?))
    }
}

/// `double`: `f64`, 8 bytes; NaN is refused, -0.0 stored as 0.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Double;

impl Codec for Double {
    type Item = f64;
    type Decoded<'a> = f64;
    const ORDERED: bool = true;
    fn value_type() -> Option<ValueType> {
        Some(ValueType::Double)
    }
    fn encode(item: &f64, out: &mut Vec<u8>) -> Result<(), CodecError> {
        float::encode_f64(*item, out)
    }
    fn decode(bytes: &[u8]) -> Result<f64, CodecError> {
        float::decode_f64(whole(bytes, "a double")?, 0)
    }
}

/// `float`: `f32`, 4 bytes; NaN is refused, -0.0 stored as 0.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Float;

impl Codec for Float {
    type Item = f32;
    type Decoded<'a> = f32;
    const ORDERED: bool = true;
    fn value_type() -> Option<ValueType> {
        Some(ValueType::Float)
    }
    fn encode(item: &f32, out: &mut Vec<u8>) -> Result<(), CodecError> {
        float::encode_f32(*item, out)
    }
    fn decode(bytes: &[u8]) -> Result<f32, CodecError> {
        float::decode_f32(whole(bytes, "a float")?, 0)
    }
}

/// `bigint`: an arbitrary precision [`BigInt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BigInteger;

impl Codec for BigInteger {
    type Item = BigInt;
    type Decoded<'a> = BigInt;
    const ORDERED: bool = true;
    fn value_type() -> Option<ValueType> {
        Some(ValueType::BigInt)
    }
    fn encode(item: &BigInt, out: &mut Vec<u8>) -> Result<(), CodecError> {
        encode_bigint(item, out);
        Ok(())
    }
    fn decode(bytes: &[u8]) -> Result<BigInt, CodecError> {
        let mut r = Reader::new(bytes);
        let n = decode_bigint(&mut r)?;
        r.finish("a bigint")?;
        Ok(n)
    }
}

/// `bigdec`: an arbitrary precision [`BigDec`]; decodes without trailing zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Decimal;

impl Codec for Decimal {
    type Item = BigDec;
    type Decoded<'a> = BigDec;
    const ORDERED: bool = true;
    fn value_type() -> Option<ValueType> {
        Some(ValueType::BigDec)
    }
    fn encode(item: &BigDec, out: &mut Vec<u8>) -> Result<(), CodecError> {
        encode_bigdec(item, out)
    }
    fn decode(bytes: &[u8]) -> Result<BigDec, CodecError> {
        let mut r = Reader::new(bytes);
        let d = decode_bigdec(&mut r)?;
        r.finish("a bigdec")?;
        Ok(d)
    }
}

/// `string`: raw UTF-8, ordered like `str`; decodes to `&str` without copying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Str;

impl Codec for Str {
    type Item = str;
    type Decoded<'a> = &'a str;
    const ORDERED: bool = true;
    fn value_type() -> Option<ValueType> {
        Some(ValueType::String)
    }
    fn encode(item: &str, out: &mut Vec<u8>) -> Result<(), CodecError> {
        out.extend_from_slice(item.as_bytes());
        Ok(())
    }
    fn decode(bytes: &[u8]) -> Result<&str, CodecError> {
        Reader::new(bytes).rest_str("a string")
    }
}

/// `keyword`: a [`Name`], ordered by (namespace, name), no namespace first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Keyword;

impl Codec for Keyword {
    type Item = Name;
    type Decoded<'a> = Name;
    const ORDERED: bool = true;
    fn value_type() -> Option<ValueType> {
        Some(ValueType::Keyword)
    }
    fn encode(item: &Name, out: &mut Vec<u8>) -> Result<(), CodecError> {
        write_name(item.ns.as_deref(), &item.name, Form::Final, out);
        Ok(())
    }
    fn decode(bytes: &[u8]) -> Result<Name, CodecError> {
        let (ns, name) = read_name(&mut Reader::new(bytes), Form::Final, "a keyword")?;
        Ok(Name { ns, name })
    }
}

/// `symbol`: a [`Name`], ordered by (namespace, name), no namespace first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Symbol;

impl Codec for Symbol {
    type Item = Name;
    type Decoded<'a> = Name;
    const ORDERED: bool = true;
    fn value_type() -> Option<ValueType> {
        Some(ValueType::Symbol)
    }
    fn encode(item: &Name, out: &mut Vec<u8>) -> Result<(), CodecError> {
        write_name(item.ns.as_deref(), &item.name, Form::Final, out);
        Ok(())
    }
    fn decode(bytes: &[u8]) -> Result<Name, CodecError> {
        let (ns, name) = read_name(&mut Reader::new(bytes), Form::Final, "a symbol")?;
        Ok(Name { ns, name })
    }
}

/// `uuid`: 16 bytes as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Uuid;

impl Codec for Uuid {
    type Item = [u8; 16];
    type Decoded<'a> = [u8; 16];
    const ORDERED: bool = true;
    fn value_type() -> Option<ValueType> {
        Some(ValueType::Uuid)
    }
    fn encode(item: &[u8; 16], out: &mut Vec<u8>) -> Result<(), CodecError> {
        out.extend_from_slice(item);
        Ok(())
    }
    fn decode(bytes: &[u8]) -> Result<[u8; 16], CodecError> {
        whole(bytes, "a uuid")
    }
}

/// `bytes`: raw bytes in byte order; decodes to `&[u8]` without copying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Bytes;

impl Codec for Bytes {
    type Item = [u8];
    type Decoded<'a> = &'a [u8];
    const ORDERED: bool = true;
    fn value_type() -> Option<ValueType> {
        Some(ValueType::Bytes)
    }
    fn encode(item: &[u8], out: &mut Vec<u8>) -> Result<(), CodecError> {
        out.extend_from_slice(item);
        Ok(())
    }
    fn decode(bytes: &[u8]) -> Result<&[u8], CodecError> {
        Ok(bytes)
    }
}

/// `data`: opaque bytes (e.g. a serialised blob) with no order promise;
/// decodes to `&[u8]` without copying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Data;

impl Codec for Data {
    type Item = [u8];
    type Decoded<'a> = &'a [u8];
    const ORDERED: bool = false;
    fn value_type() -> Option<ValueType> {
        Some(ValueType::Data)
    }
    fn encode(item: &[u8], out: &mut Vec<u8>) -> Result<(), CodecError> {
        out.extend_from_slice(item);
        Ok(())
    }
    fn decode(bytes: &[u8]) -> Result<&[u8], CodecError> {
        Ok(bytes)
    }
}

/// `tuple`: a tuple of any values, each element tagged; element-wise order,
/// a shorter prefix first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Tuple;

impl Codec for Tuple {
    type Item = [Value];
    type Decoded<'a> = Vec<Value>;
    const ORDERED: bool = true;
    fn value_type() -> Option<ValueType> {
        Some(ValueType::Tuple)
    }
    fn encode(item: &[Value], out: &mut Vec<u8>) -> Result<(), CodecError> {
        atomically(out, |out| tuple::encode_dynamic(item, Form::Final, 1, out))
    }
    fn decode(bytes: &[u8]) -> Result<Vec<Value>, CodecError> {
        match tuple::decode_dynamic(&mut Reader::new(bytes), Form::Final)? {
            Value::Tuple(items) => Ok(items),
            _ => unreachable!("decode_dynamic returns a tuple"),
        }
    }
}

/// Any [`Value`] in the tagged encoding: values of different types order by
/// type tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AnyValue;

impl Codec for AnyValue {
    type Item = Value;
    type Decoded<'a> = Value;
    const ORDERED: bool = true;
    fn value_type() -> Option<ValueType> {
        None
    }
    fn encode(item: &Value, out: &mut Vec<u8>) -> Result<(), CodecError> {
        encode_value(item, out)
    }
    fn decode(bytes: &[u8]) -> Result<Value, CodecError> {
        decode_value(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{decode_typed, encode_typed};

    /// The marker's bytes equal the typed encoding of its declared type.
    fn same_as_typed<C: Codec + ?Sized>(item: &C::Item, value: Value) {
        let mine = C::to_vec(item).unwrap();
        let mut typed = Vec::new();
        encode_typed(&value, &C::value_type().unwrap(), &mut typed).unwrap();
        assert_eq!(mine, typed, "{value:?}");
        assert_eq!(
            decode_typed(&mine, &C::value_type().unwrap()).unwrap(),
            value
        );
    }

    #[test]
    fn markers_agree_with_typed_encoding() {
        same_as_typed::<Bool>(&true, Value::Boolean(true));
        same_as_typed::<Long>(&-7, Value::Long(-7));
        same_as_typed::<Instant>(&-7, Value::Instant(-7));
        same_as_typed::<Double>(&-0.5, Value::Double(-0.5));
        same_as_typed::<Float>(&2.5, Value::Float(2.5));
        same_as_typed::<BigInteger>(&BigInt::from(-300), Value::BigInt(BigInt::from(-300)));
        same_as_typed::<Decimal>(&BigDec::new(-314, 2), Value::BigDec(BigDec::new(-314, 2)));
        same_as_typed::<Str>("héllo\0", Value::from("héllo\0"));
        let n = Name::new(Some("a\0b"), "c");
        same_as_typed::<Keyword>(&n, Value::keyword(Some("a\0b"), "c"));
        same_as_typed::<Symbol>(&n, Value::symbol(Some("a\0b"), "c"));
        same_as_typed::<Uuid>(&[3; 16], Value::Uuid([3; 16]));
        same_as_typed::<Bytes>(&[0, 1, 0], Value::Bytes(vec![0, 1, 0]));
        same_as_typed::<Data>(&[0, 1, 0], Value::Data(vec![0, 1, 0]));
        let t = vec![Value::Long(1), Value::from("x")];
        same_as_typed::<Tuple>(&t, Value::Tuple(t.clone()));
    }

    #[test]
    fn zero_copy_decode() {
        let bytes = Str::to_vec("abc").unwrap();
        let s: &str = Str::decode(&bytes).unwrap();
        assert_eq!(s.as_ptr(), bytes.as_ptr());
        let b: &[u8] = Bytes::decode(&bytes).unwrap();
        assert_eq!(b.as_ptr(), bytes.as_ptr());
    }

    #[test]
    fn marker_errors() {
        assert_eq!(
            Long::decode(&[1, 2, 3, 4, 5]).unwrap_err().to_string(),
            "expected 8 bytes for a long, found 5"
        );
        assert_eq!(
            Str::decode(&[b'x', 0xC3]).unwrap_err().to_string(),
            "invalid UTF-8 in a string at byte 1"
        );
        assert!(matches!(
            Bool::decode(&[9]),
            Err(CodecError::Invalid { .. })
        ));
        let mut out = vec![1];
        assert_eq!(
            Double::encode(&f64::NAN, &mut out),
            Err(CodecError::NaN("double"))
        );
        let t = [Value::Long(1), Value::Float(f32::NAN)];
        assert_eq!(Tuple::encode(&t, &mut out), Err(CodecError::NaN("float")));
        assert_eq!(out, [1]);
        assert!(BigInteger::decode(&[0x01, 0x01]).is_err());
        assert!(Decimal::decode(&[0x01, 0x01]).is_err());
        assert!(Keyword::decode(&[0x05]).is_err());
        assert!(Uuid::decode(&[0; 17]).is_err());
        assert_eq!(
            AnyValue::decode(&[0x13]).unwrap_err().to_string(),
            "unknown type tag 0x13 at byte 0"
        );
        const { assert!(!Data::ORDERED && Bytes::ORDERED) };
    }
}
