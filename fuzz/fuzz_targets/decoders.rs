//! Fuzz target: the small decoders that take bytes or text from outside. The value codec
//! (typed, under a fuzzer-chosen declared type including nested tuples, and tagged) must
//! decode or refuse, and whatever it decodes must encode again, to bytes that decode and
//! encode to the same bytes (compared as bytes, since NaN is not equal to itself). A
//! `levin://` URI must parse or give an error.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use levin_codec::{decode_typed, decode_value, encode_typed, encode_value, ValueType};
use libfuzzer_sys::fuzz_target;

/// A declared type, tuples nested at most `depth` deep.
fn value_type(u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<ValueType> {
    let scalar = [
        ValueType::Boolean,
        ValueType::Long,
        ValueType::Double,
        ValueType::Float,
        ValueType::BigInt,
        ValueType::BigDec,
        ValueType::Instant,
        ValueType::String,
        ValueType::Keyword,
        ValueType::Symbol,
        ValueType::Uuid,
        ValueType::Bytes,
        ValueType::Tuple,
        ValueType::Data,
    ];
    let pick = u.int_in_range(0..=scalar.len() + 1)?;
    Ok(match pick {
        n if n < scalar.len() => scalar[n].clone(),
        _ if depth == 0 => ValueType::Long,
        n if n == scalar.len() => ValueType::HomTuple(Box::new(value_type(u, depth - 1)?)),
        _ => {
            let len = u.int_in_range(0..=4)?;
            let mut elems = Vec::with_capacity(len);
            for _ in 0..len {
                elems.push(value_type(u, depth - 1)?);
            }
            ValueType::HetTuple(elems)
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(which) = u8::arbitrary(&mut u) else {
        return;
    };
    match which % 3 {
        0 => {
            let Ok(ty) = value_type(&mut u, 3) else {
                return;
            };
            let bytes = u.take_rest();
            if let Ok(v) = decode_typed(bytes, &ty) {
                let mut again = Vec::new();
                encode_typed(&v, &ty, &mut again).expect("a decoded value encodes again");
                let w = decode_typed(&again, &ty).expect("re-encoded bytes decode");
                let mut third = Vec::new();
                encode_typed(&w, &ty, &mut third).expect("it encodes a third time");
                assert_eq!(again, third, "encoding is not stable for {ty:?}");
            }
        }
        1 => {
            let bytes = u.take_rest();
            if let Ok(v) = decode_value(bytes) {
                let mut again = Vec::new();
                encode_value(&v, &mut again).expect("a decoded value encodes again");
                let w = decode_value(&again).expect("re-encoded bytes decode");
                let mut third = Vec::new();
                encode_value(&w, &mut third).expect("it encodes a third time");
                assert_eq!(again, third, "encoding is not stable");
            }
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(u.take_rest()) {
                let _ = levin_client::Target::parse(text);
                let _ = levin_client::is_uri(text);
            }
        }
    }
});
