//! Tuple bodies: dynamic tuples (each element tagged), homogeneous and
//! heterogeneous tuples of declared element types (elements untagged).
//!
//! Elements are written in their nested (self-delimiting) form, one after the
//! other. In a dynamic tuple each element starts with its type tag (never
//! 0x00 or 0x01); in a typed tuple each element starts with the marker 0x01.
//! A nested tuple ends with 0x00, which is smaller than any tag or marker, so a
//! tuple that is a proper prefix of another sorts first. A tuple in final form
//! (last in the key) has no end marker: its encoding is then a byte prefix of
//! the encoding of any longer tuple that starts with the same elements, and
//! it still sorts first.

use crate::error::CodecError;
use crate::reader::Reader;
use crate::tagged;
use crate::typed::{decode_body, encode_body, Form};
use crate::value::{Value, ValueType};

/// Ends a nested tuple.
pub(crate) const END: u8 = 0x00;
/// Starts each element of a typed (homogeneous or heterogeneous) tuple.
pub(crate) const ELEMENT: u8 = 0x01;

const WHAT: &str = "a tuple";

fn check_depth(depth: usize) -> Result<(), CodecError> {
    if depth > crate::MAX_DEPTH {
        Err(CodecError::TooDeep {
            max: crate::MAX_DEPTH,
        })
    } else {
        Ok(())
    }
}

fn end(form: Form, out: &mut Vec<u8>) {
    if form == Form::Nested {
        out.push(END);
    }
}

/// Appends a dynamic tuple body; `depth` counts this tuple.
pub(crate) fn encode_dynamic(
    items: &[Value],
    form: Form,
    depth: usize,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    check_depth(depth)?;
    for v in items {
        tagged::encode_nested(v, depth, out)?;
    }
    end(form, out);
    Ok(())
}

/// Appends a homogeneous tuple body.
pub(crate) fn encode_hom(
    items: &[Value],
    elem: &ValueType,
    form: Form,
    depth: usize,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    check_depth(depth)?;
    for v in items {
        out.push(ELEMENT);
        encode_body(v, elem, Form::Nested, depth, out)?;
    }
    end(form, out);
    Ok(())
}

/// Appends a heterogeneous tuple body; `items` may be shorter than `elems`.
pub(crate) fn encode_het(
    items: &[Value],
    elems: &[ValueType],
    ty: &ValueType,
    form: Form,
    depth: usize,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    check_depth(depth)?;
    if items.len() > elems.len() {
        return Err(CodecError::TupleTooLong {
            expected: ty.to_string(),
            max: elems.len(),
            found: items.len(),
        });
    }
    for (v, t) in items.iter().zip(elems) {
        out.push(ELEMENT);
        encode_body(v, t, Form::Nested, depth, out)?;
    }
    end(form, out);
    Ok(())
}

/// Whether the tuple being read has ended (and consumes its end marker).
fn at_end(r: &mut Reader<'_>, form: Form) -> Result<bool, CodecError> {
    match (form, r.peek()) {
        (Form::Final, None) => Ok(true),
        (Form::Nested, Some(END)) => {
            r.byte(WHAT)?;
            Ok(true)
        }
        (Form::Nested, None) => Err(CodecError::UnexpectedEnd {
            what: WHAT,
            offset: r.pos(),
        }),
        _ => Ok(false),
    }
}

/// Reads a dynamic tuple body.
pub(crate) fn decode_dynamic(r: &mut Reader<'_>, form: Form) -> Result<Value, CodecError> {
    r.enter()?;
    let mut items = Vec::new();
    while !at_end(r, form)? {
        items.push(tagged::decode_tagged(r, Form::Nested)?);
    }
    r.leave();
    Ok(Value::Tuple(items))
}

/// Reads the element marker of a typed tuple.
fn element_marker(r: &mut Reader<'_>) -> Result<(), CodecError> {
    let at = r.pos();
    if r.byte(WHAT)? != ELEMENT {
        return Err(CodecError::Invalid {
            what: WHAT,
            offset: at,
            reason: "expected element marker 0x01 or tuple end 0x00",
        });
    }
    Ok(())
}

/// Reads a homogeneous tuple body.
pub(crate) fn decode_hom(
    r: &mut Reader<'_>,
    elem: &ValueType,
    form: Form,
) -> Result<Value, CodecError> {
    r.enter()?;
    let mut items = Vec::new();
    while !at_end(r, form)? {
        element_marker(r)?;
        items.push(decode_body(r, elem, Form::Nested)?);
    }
    r.leave();
    Ok(Value::Tuple(items))
}

/// Reads a heterogeneous tuple body (possibly a prefix of the declared types).
pub(crate) fn decode_het(
    r: &mut Reader<'_>,
    elems: &[ValueType],
    form: Form,
) -> Result<Value, CodecError> {
    r.enter()?;
    let mut items = Vec::new();
    while !at_end(r, form)? {
        let at = r.pos();
        element_marker(r)?;
        let Some(t) = elems.get(items.len()) else {
            return Err(CodecError::Invalid {
                what: WHAT,
                offset: at,
                reason: "more elements than the declared tuple type has",
            });
        };
        items.push(decode_body(r, t, Form::Nested)?);
    }
    r.leave();
    Ok(Value::Tuple(items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{decode_typed, decode_value, encode_typed, encode_value, tag};

    fn enc_t(v: &Value, ty: &ValueType) -> Vec<u8> {
        let mut out = Vec::new();
        encode_typed(v, ty, &mut out).unwrap();
        out
    }

    #[test]
    fn layouts() {
        let t = Value::Tuple(vec![Value::from("a"), Value::Long(1)]);
        let mut out = Vec::new();
        encode_value(&t, &mut out).unwrap();
        let mut want = vec![tag::TUPLE, tag::STRING, b'a', 0, 0, tag::LONG];
        want.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(out, want);

        let hom = ValueType::HomTuple(Box::new(ValueType::String));
        let v = Value::Tuple(vec![Value::from("a"), Value::from("")]);
        assert_eq!(enc_t(&v, &hom), [1, b'a', 0, 0, 1, 0, 0]);

        // Nested tuple: ends with 0x00.
        let outer = ValueType::HomTuple(Box::new(hom.clone()));
        let v = Value::Tuple(vec![Value::Tuple(vec![Value::from("a")])]);
        assert_eq!(enc_t(&v, &outer), [1, 1, b'a', 0, 0, 0]);
    }

    #[test]
    fn prefix_is_byte_prefix() {
        let het = ValueType::HetTuple(vec![ValueType::Long, ValueType::String, ValueType::Long]);
        let short = Value::Tuple(vec![Value::Long(5)]);
        let long = Value::Tuple(vec![Value::Long(5), Value::from("x"), Value::Long(2)]);
        let (s, l) = (enc_t(&short, &het), enc_t(&long, &het));
        assert!(l.starts_with(&s));
        assert_eq!(decode_typed(&s, &het).unwrap(), short);
        assert_eq!(decode_typed(&l, &het).unwrap(), long);
    }

    #[test]
    fn too_long_het() {
        let het = ValueType::HetTuple(vec![ValueType::Long]);
        let v = Value::Tuple(vec![Value::Long(5), Value::Long(6)]);
        let e = encode_typed(&v, &het, &mut Vec::new()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "tuple has 2 elements but its declared type [long] has only 1"
        );
        let two = ValueType::HetTuple(vec![ValueType::Long, ValueType::Long]);
        let bytes = enc_t(&v, &two);
        let e = decode_typed(&bytes, &het).unwrap_err();
        assert!(e.to_string().contains("more elements"), "{e}");
    }

    #[test]
    fn bad_marker_and_unterminated() {
        let hom = ValueType::HomTuple(Box::new(ValueType::Boolean));
        let e = decode_typed(&[1, 1, 7, 1], &hom).unwrap_err();
        assert!(e.to_string().contains("element marker"), "{e}");
        let outer = ValueType::HomTuple(Box::new(hom));
        let e = decode_typed(&[1, 1, 1], &outer).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unexpected end of input at byte 3: a tuple is incomplete"
        );
        let e = decode_value(&[tag::TUPLE, tag::TUPLE, tag::LONG]).unwrap_err();
        assert_eq!(e.to_string(), "expected 8 bytes for a long, found 0");
    }

    #[test]
    fn depth_limit() {
        let mut v = Value::Tuple(vec![]);
        for _ in 0..crate::MAX_DEPTH - 1 {
            v = Value::Tuple(vec![v]);
        }
        let mut out = Vec::new();
        encode_value(&v, &mut out).unwrap();
        assert_eq!(decode_value(&out).unwrap(), v);
        let deeper = Value::Tuple(vec![v]);
        let e = encode_value(&deeper, &mut Vec::new()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "tuples nested more than {} levels deep cannot be stored",
                crate::MAX_DEPTH
            )
        );
        // A hostile input of many tuple tags must fail cleanly, not overflow the stack.
        let hostile = vec![tag::TUPLE; 100_000];
        assert!(matches!(
            decode_value(&hostile),
            Err(CodecError::TooDeep { .. })
        ));
    }
}
