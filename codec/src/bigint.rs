//! Order-preserving, self-delimiting encoding of arbitrary precision integers (`bigint`).
//!
//! Layout: a sign byte (0x00 negative, 0x01 zero, 0x02 positive). Zero ends
//! there. Otherwise follows the magnitude's byte count `L` as an
//! order-preserving length (see [`write_len`]) and the magnitude, big-endian,
//! without leading zero bytes. For a negative number every byte after the sign
//! byte is inverted.
//!
//! Why it orders: a longer magnitude is a larger one, and the length comes
//! first; equal lengths compare byte-wise like the magnitudes. The encodings of
//! positive numbers form a prefix-free set, so inverting all their bytes
//! exactly reverses their order, which is the order of negative numbers.

use num_bigint::{BigInt, BigUint, Sign};

use crate::error::CodecError;
use crate::reader::Reader;

const WHAT: &str = "a bigint";

/// Sign byte of negative numbers.
pub(crate) const NEGATIVE: u8 = 0x00;
/// Sign byte of zero.
pub(crate) const ZERO: u8 = 0x01;
/// Sign byte of positive numbers.
pub(crate) const POSITIVE: u8 = 0x02;

/// Largest length written in one byte; longer lengths use 0xF8..=0xFF,
/// meaning 1..=8 big-endian length bytes follow.
const SHORT_MAX: u64 = 0xF7;

/// Appends the order-preserving encoding of a length `len >= 1`: one byte
/// `len` when `len <= 0xF7`, else `0xF7 + k` then `len` in `k` big-endian
/// bytes (k minimal). A larger `len` gets a larger first byte or, with the
/// same first byte, the same number of bytes that compare like the numbers.
pub(crate) fn write_len(len: u64, out: &mut Vec<u8>) {
    if len <= SHORT_MAX {
        out.push(len as u8);
    } else {
        let be = len.to_be_bytes();
        let skip = be.iter().take_while(|&&b| b == 0).count();
        out.push(0xF7 + (8 - skip) as u8);
        out.extend_from_slice(&be[skip..]);
    }
}

/// Reads a length written by [`write_len`], every byte XORed with `mask`.
pub(crate) fn read_len(
    r: &mut Reader<'_>,
    mask: u8,
    what: &'static str,
) -> Result<u64, CodecError> {
    let at = r.pos();
    let first = r.byte(what)? ^ mask;
    if u64::from(first) <= SHORT_MAX {
        return Ok(u64::from(first));
    }
    let k = usize::from(first - 0xF7);
    let bytes = r.take(k, what)?;
    let mut len = 0u64;
    for &b in bytes {
        len = (len << 8) | u64::from(b ^ mask);
    }
    if bytes[0] ^ mask == 0 || len <= SHORT_MAX {
        return Err(CodecError::Invalid {
            what,
            offset: at,
            reason: "length is not in its shortest form",
        });
    }
    Ok(len)
}

/// Appends the encoding of `n`.
pub(crate) fn encode_bigint(n: &BigInt, out: &mut Vec<u8>) {
    match n.sign() {
        Sign::NoSign => out.push(ZERO),
        Sign::Plus => {
            out.push(POSITIVE);
            write_magnitude(n.magnitude(), out);
        }
        Sign::Minus => {
            out.push(NEGATIVE);
            let start = out.len();
            write_magnitude(n.magnitude(), out);
            invert(&mut out[start..]);
        }
    }
}

fn write_magnitude(m: &BigUint, out: &mut Vec<u8>) {
    let bytes = m.to_bytes_be();
    write_len(bytes.len() as u64, out);
    out.extend_from_slice(&bytes);
}

pub(crate) fn invert(bytes: &mut [u8]) {
    for b in bytes {
        *b = !*b;
    }
}

/// Reads one bigint.
pub(crate) fn decode_bigint(r: &mut Reader<'_>) -> Result<BigInt, CodecError> {
    let at = r.pos();
    let (sign, mask) = match r.byte(WHAT)? {
        ZERO => return Ok(BigInt::ZERO),
        POSITIVE => (Sign::Plus, 0x00),
        NEGATIVE => (Sign::Minus, 0xFF),
        _ => {
            return Err(CodecError::Invalid {
                what: WHAT,
                offset: at,
                reason: "sign byte must be 0x00, 0x01 or 0x02",
            })
        }
    };
    let len_at = r.pos();
    let len = read_len(r, mask, WHAT)?;
    if len == 0 {
        return Err(CodecError::Invalid {
            what: WHAT,
            offset: len_at,
            reason: "a non-zero number has a zero-length magnitude",
        });
    }
    if len > r.remaining() as u64 {
        return Err(CodecError::UnexpectedEnd {
            what: WHAT,
            offset: r.pos() + r.remaining(),
        });
    }
    let mag_at = r.pos();
    let mut mag = r.take(len as usize, WHAT)?.to_vec();
    if mask != 0 {
        invert(&mut mag);
    }
    if mag[0] == 0 {
        return Err(CodecError::Invalid {
            what: WHAT,
            offset: mag_at,
            reason: "magnitude has a leading zero byte",
        });
    }
    Ok(BigInt::from_bytes_be(sign, &mag))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(n: &BigInt) -> Vec<u8> {
        let mut v = Vec::new();
        encode_bigint(n, &mut v);
        v
    }

    #[test]
    fn layouts() {
        assert_eq!(enc(&BigInt::ZERO), [0x01]);
        assert_eq!(enc(&BigInt::from(1)), [0x02, 0x01, 0x01]);
        assert_eq!(enc(&BigInt::from(256)), [0x02, 0x02, 0x01, 0x00]);
        assert_eq!(enc(&BigInt::from(-1)), [0x00, 0xFE, 0xFE]);
        let big = BigInt::from(1) << (8 * 300);
        let e = enc(&big);
        assert_eq!(&e[..4], [0x02, 0xF9, 0x01, 0x2D]); // 301 bytes
    }

    #[test]
    fn lengths_order() {
        let lens = [1u64, 2, 0xF7, 0xF8, 0xFF, 0x100, 0xFFFF, 0x1_0000, u64::MAX];
        let encs: Vec<Vec<u8>> = lens
            .iter()
            .map(|&l| {
                let mut v = Vec::new();
                write_len(l, &mut v);
                v
            })
            .collect();
        for (l, e) in lens.iter().zip(&encs) {
            let mut r = Reader::new(e);
            assert_eq!(read_len(&mut r, 0, WHAT).unwrap(), *l);
            assert!(r.is_empty());
        }
        assert!(encs.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn invalid_encodings() {
        let cases: [&[u8]; 5] = [
            &[0x03],                   // bad sign byte
            &[0x02, 0x00],             // zero length
            &[0x02, 0x01, 0x00],       // leading zero byte
            &[0x02, 0xF8, 0x05, 0x01], // non-shortest length
            &[0x02, 0xF8, 0x00],       // non-shortest length
        ];
        for c in cases {
            let e = decode_bigint(&mut Reader::new(c)).unwrap_err();
            assert!(matches!(e, CodecError::Invalid { .. }), "{c:?}: {e}");
        }
        let e = decode_bigint(&mut Reader::new(&[0x02, 0x05, 0x01])).unwrap_err();
        assert!(matches!(e, CodecError::UnexpectedEnd { .. }), "{e}");
    }
}
