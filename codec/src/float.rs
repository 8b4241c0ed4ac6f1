//! Order-preserving encodings of `double` (f64) and `float` (f32), and their total order.
//!
//! A non-negative float gets its sign bit set; a negative one has every bit
//! inverted. Read big-endian, the result orders like the numbers. NaN is
//! rejected and -0.0 is stored as 0.0.

use std::cmp::Ordering;

use crate::error::CodecError;

/// `x` with -0.0 made 0.0.
pub(crate) fn canonical_f64(x: f64) -> f64 {
    if x == 0.0 {
        0.0
    } else {
        x
    }
}

/// `x` with -0.0 made 0.0.
pub(crate) fn canonical_f32(x: f32) -> f32 {
    if x == 0.0 {
        0.0
    } else {
        x
    }
}

/// The order of doubles in [`crate::Value`]: IEEE total order after -0.0 is made 0.0.
pub(crate) fn cmp_f64(a: f64, b: f64) -> Ordering {
    canonical_f64(a).total_cmp(&canonical_f64(b))
}

/// The order of floats in [`crate::Value`]: IEEE total order after -0.0 is made 0.0.
pub(crate) fn cmp_f32(a: f32, b: f32) -> Ordering {
    canonical_f32(a).total_cmp(&canonical_f32(b))
}

const SIGN64: u64 = 1 << 63;
const SIGN32: u32 = 1 << 31;

/// Appends the 8-byte encoding of `x`.
pub(crate) fn encode_f64(x: f64, out: &mut Vec<u8>) -> Result<(), CodecError> {
    if x.is_nan() {
        return Err(CodecError::NaN("double"));
    }
    let bits = canonical_f64(x).to_bits();
    let key = if bits & SIGN64 != 0 {
        !bits
    } else {
        bits | SIGN64
    };
    out.extend_from_slice(&key.to_be_bytes());
    Ok(())
}

/// Decodes the 8-byte encoding of a double; `offset` is only for errors.
pub(crate) fn decode_f64(bytes: [u8; 8], offset: usize) -> Result<f64, CodecError> {
    let key = u64::from_be_bytes(bytes);
    let bits = if key & SIGN64 != 0 {
        key & !SIGN64
    } else {
        !key
    };
    let x = f64::from_bits(bits);
    check_decoded(x.is_nan(), bits == SIGN64, "a double", offset)?;
    Ok(x)
}

/// Appends the 4-byte encoding of `x`.
pub(crate) fn encode_f32(x: f32, out: &mut Vec<u8>) -> Result<(), CodecError> {
    if x.is_nan() {
        return Err(CodecError::NaN("float"));
    }
    let bits = canonical_f32(x).to_bits();
    let key = if bits & SIGN32 != 0 {
        !bits
    } else {
        bits | SIGN32
    };
    out.extend_from_slice(&key.to_be_bytes());
    Ok(())
}

/// Decodes the 4-byte encoding of a float; `offset` is only for errors.
pub(crate) fn decode_f32(bytes: [u8; 4], offset: usize) -> Result<f32, CodecError> {
    let key = u32::from_be_bytes(bytes);
    let bits = if key & SIGN32 != 0 {
        key & !SIGN32
    } else {
        !key
    };
    let x = f32::from_bits(bits);
    check_decoded(x.is_nan(), bits == SIGN32, "a float", offset)?;
    Ok(x)
}

fn check_decoded(
    nan: bool,
    neg_zero: bool,
    what: &'static str,
    offset: usize,
) -> Result<(), CodecError> {
    if nan {
        return Err(CodecError::Invalid {
            what,
            offset,
            reason: "the bytes encode NaN, which is never stored",
        });
    }
    if neg_zero {
        return Err(CodecError::Invalid {
            what,
            offset,
            reason: "the bytes encode -0.0, which is always stored as 0.0",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc64(x: f64) -> Vec<u8> {
        let mut v = Vec::new();
        encode_f64(x, &mut v).unwrap();
        v
    }

    #[test]
    fn specials_in_order() {
        let xs = [
            f64::NEG_INFINITY,
            f64::MIN,
            -1.0,
            -f64::MIN_POSITIVE,
            -4.9e-324,
            0.0,
            4.9e-324,
            f64::MIN_POSITIVE,
            1.0,
            f64::MAX,
            f64::INFINITY,
        ];
        for w in xs.windows(2) {
            assert!(enc64(w[0]) < enc64(w[1]), "{} < {}", w[0], w[1]);
        }
        assert_eq!(enc64(-0.0), enc64(0.0));
    }

    #[test]
    fn nan_rejected() {
        let mut v = Vec::new();
        let e = encode_f64(f64::NAN, &mut v).unwrap_err();
        assert_eq!(
            e.to_string(),
            "NaN cannot be stored: doubles must be ordered"
        );
        let e = encode_f32(-f32::NAN, &mut v).unwrap_err();
        assert_eq!(
            e.to_string(),
            "NaN cannot be stored: floats must be ordered"
        );
        assert!(v.is_empty());
    }

    #[test]
    fn decoding_nan_or_negative_zero_rejected() {
        // NaN 0x7ff8.. is positive, so its key has the sign bit set.
        let key = (f64::NAN.to_bits() | SIGN64).to_be_bytes();
        assert!(matches!(
            decode_f64(key, 3),
            Err(CodecError::Invalid { offset: 3, .. })
        ));
        let key = (!(-0.0f32).to_bits()).to_be_bytes();
        let e = decode_f32(key, 0).unwrap_err();
        assert!(e.to_string().contains("-0.0"), "{e}");
    }
}
