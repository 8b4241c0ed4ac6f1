//! Arbitrary precision decimals ([`BigDec`]), their numeric order, and their
//! order-preserving, self-delimiting encoding.
//!
//! A non-zero decimal is written as `±0.d1 d2 ... dn × 10^E` with `d1 != 0`
//! and `dn != 0` (trailing zeros removed, so numerically equal values share one
//! form). Layout: a sign byte (0x00 negative, 0x01 zero, 0x02 positive); zero
//! ends there. Then `E` as 8 bytes big-endian with the sign bit flipped, then
//! the digits two per byte (`1 + 10·a + b`, a last odd digit padded with 0),
//! then a 0x00 terminator. For a negative number every byte after the sign
//! byte is inverted.
//!
//! Why it orders: for positive numbers a larger `E` means a larger number
//! (the mantissa is in [0.1, 1)); with equal `E` the digit strings compare
//! like the mantissas, and the terminator 0x00 is smaller than any digit byte,
//! so a digit string that is a prefix of another (a smaller mantissa, since
//! the other has a non-zero digit later) sorts first. These encodings are
//! prefix-free, so inverting them reverses their order, as negation does.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use num_bigint::{BigInt, Sign};

use crate::bigint::{invert, NEGATIVE, POSITIVE, ZERO};
use crate::error::CodecError;
use crate::reader::Reader;

const WHAT: &str = "a bigdec";

/// An arbitrary precision decimal: `unscaled × 10^-scale`.
///
/// Equality, order and hash are numeric: `BigDec::new(10.into(), 1)` (1.0)
/// equals `BigDec::new(1.into(), 0)` (1), and both encode to the same bytes.
#[derive(Clone)]
pub struct BigDec {
    /// The digits as an integer.
    pub unscaled: BigInt,
    /// How many digits of `unscaled` are after the decimal point (negative
    /// scales multiply by a power of ten).
    pub scale: i32,
}

/// The canonical parts of a decimal: sign, exponent `E` and digits `d1..dn`
/// (each 0..=9, first and last non-zero; empty for zero).
struct Parts {
    sign: Sign,
    exponent: i64,
    digits: Vec<u8>,
}

impl BigDec {
    /// `unscaled × 10^-scale`.
    pub fn new(unscaled: impl Into<BigInt>, scale: i32) -> Self {
        BigDec {
            unscaled: unscaled.into(),
            scale,
        }
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.unscaled.sign() == Sign::NoSign
    }

    /// The same number without trailing zeros in `unscaled` (zero becomes
    /// `0 × 10^0`); this is what decoding returns. Fails only when the scale
    /// would leave the range of `i32`.
    pub fn normalized(&self) -> Result<BigDec, CodecError> {
        let p = self.parts();
        p.to_bigdec().ok_or(CodecError::BigDecOutOfRange)
    }

    fn parts(&self) -> Parts {
        if self.is_zero() {
            return Parts {
                sign: Sign::NoSign,
                exponent: 0,
                digits: Vec::new(),
            };
        }
        let mut digits = self.unscaled.magnitude().to_radix_be(10);
        let exponent = digits.len() as i64 - i64::from(self.scale);
        while digits.last() == Some(&0) {
            digits.pop();
        }
        Parts {
            sign: self.unscaled.sign(),
            exponent,
            digits,
        }
    }
}

impl Parts {
    /// The decimal these parts describe, if its scale fits in i32.
    fn to_bigdec(&self) -> Option<BigDec> {
        if self.sign == Sign::NoSign {
            return Some(BigDec::new(0, 0));
        }
        let scale = (self.digits.len() as i64)
            .checked_sub(self.exponent)
            .and_then(|s| i32::try_from(s).ok())?;
        let unscaled = BigInt::from_radix_be(self.sign, &self.digits, 10)?;
        Some(BigDec { unscaled, scale })
    }
}

fn sign_rank(s: Sign) -> u8 {
    match s {
        Sign::Minus => 0,
        Sign::NoSign => 1,
        Sign::Plus => 2,
    }
}

impl Ord for BigDec {
    fn cmp(&self, other: &Self) -> Ordering {
        if self.scale == other.scale {
            return self.unscaled.cmp(&other.unscaled);
        }
        let (a, b) = (self.parts(), other.parts());
        let by_sign = sign_rank(a.sign).cmp(&sign_rank(b.sign));
        if by_sign != Ordering::Equal || a.sign == Sign::NoSign {
            return by_sign;
        }
        let magnitude = (a.exponent, &a.digits).cmp(&(b.exponent, &b.digits));
        if a.sign == Sign::Minus {
            magnitude.reverse()
        } else {
            magnitude
        }
    }
}

impl PartialOrd for BigDec {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for BigDec {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for BigDec {}

impl Hash for BigDec {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let p = self.parts();
        sign_rank(p.sign).hash(state);
        p.exponent.hash(state);
        p.digits.hash(state);
    }
}

/// `123.45`, `-0.001`, `12E+3` (a negative scale), as Java's BigDecimal would
/// print them without exponent for non-negative scales.
impl fmt::Display for BigDec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scale <= 0 {
            write!(f, "{}", self.unscaled)?;
            if self.scale < 0 {
                write!(f, "E+{}", -i64::from(self.scale))?;
            }
            return Ok(());
        }
        let digits = self.unscaled.magnitude().to_string();
        let scale = self.scale as usize;
        if self.unscaled.sign() == Sign::Minus {
            f.write_str("-")?;
        }
        if digits.len() > scale {
            let (int, frac) = digits.split_at(digits.len() - scale);
            write!(f, "{int}.{frac}")
        } else {
            write!(f, "0.{}{digits}", "0".repeat(scale - digits.len()))
        }
    }
}

impl fmt::Debug for BigDec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BigDec({self})")
    }
}

const EXP_SIGN: u64 = 1 << 63;

/// Appends the encoding of `d`.
pub(crate) fn encode_bigdec(d: &BigDec, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let p = d.parts();
    let sign_byte = match p.sign {
        Sign::NoSign => {
            out.push(ZERO);
            return Ok(());
        }
        Sign::Plus => POSITIVE,
        Sign::Minus => NEGATIVE,
    };
    if i32::try_from(p.digits.len() as i64 - p.exponent).is_err() {
        return Err(CodecError::BigDecOutOfRange);
    }
    out.push(sign_byte);
    let start = out.len();
    out.extend_from_slice(&((p.exponent as u64) ^ EXP_SIGN).to_be_bytes());
    for pair in p.digits.chunks(2) {
        let a = pair[0];
        let b = pair.get(1).copied().unwrap_or(0);
        out.push(1 + 10 * a + b);
    }
    out.push(0x00);
    if p.sign == Sign::Minus {
        invert(&mut out[start..]);
    }
    Ok(())
}

fn invalid(offset: usize, reason: &'static str) -> CodecError {
    CodecError::Invalid {
        what: WHAT,
        offset,
        reason,
    }
}

/// Reads one bigdec, in normalised form.
pub(crate) fn decode_bigdec(r: &mut Reader<'_>) -> Result<BigDec, CodecError> {
    let at = r.pos();
    let (sign, mask) = match r.byte(WHAT)? {
        ZERO => return Ok(BigDec::new(0, 0)),
        POSITIVE => (Sign::Plus, 0x00u8),
        NEGATIVE => (Sign::Minus, 0xFFu8),
        _ => return Err(invalid(at, "sign byte must be 0x00, 0x01 or 0x02")),
    };
    let exp_at = r.pos();
    let mut e = r.array::<8>(WHAT)?;
    invert_if(&mut e, mask);
    let exponent = (u64::from_be_bytes(e) ^ EXP_SIGN) as i64;
    let digits_at = r.pos();
    let mut digits = Vec::new();
    loop {
        let p_at = r.pos();
        let p = r.byte(WHAT)? ^ mask;
        if p == 0 {
            break;
        }
        if p > 100 {
            return Err(invalid(p_at, "digit pair byte above 100"));
        }
        digits.push((p - 1) / 10);
        digits.push((p - 1) % 10);
    }
    if digits.last() == Some(&0) {
        digits.pop();
    }
    match (digits.first(), digits.last()) {
        (None, _) => return Err(invalid(digits_at, "a non-zero number has no digits")),
        (Some(0), _) => return Err(invalid(digits_at, "first digit is zero")),
        (_, Some(0)) => return Err(invalid(digits_at, "trailing zero digit")),
        _ => {}
    }
    let parts = Parts {
        sign,
        exponent,
        digits,
    };
    parts
        .to_bigdec()
        .ok_or_else(|| invalid(exp_at, "exponent puts the scale outside i32"))
}

fn invert_if(bytes: &mut [u8], mask: u8) {
    if mask != 0 {
        invert(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(d: &BigDec) -> Vec<u8> {
        let mut v = Vec::new();
        encode_bigdec(d, &mut v).unwrap();
        v
    }

    fn dec(u: i64, s: i32) -> BigDec {
        BigDec::new(u, s)
    }

    #[test]
    fn layout() {
        assert_eq!(enc(&dec(0, 7)), [0x01]);
        // 12.5 = 0.125 × 10^2
        let mut want = vec![0x02];
        want.extend_from_slice(&(2u64 ^ EXP_SIGN).to_be_bytes());
        want.extend_from_slice(&[1 + 12, 1 + 50, 0x00]);
        assert_eq!(enc(&dec(125, 1)), want);
        let neg = enc(&dec(-125, 1));
        assert_eq!(neg[0], 0x00);
        assert!(neg[1..].iter().zip(&want[1..]).all(|(a, b)| *a == !*b));
    }

    #[test]
    fn an_exponent_at_the_ends_of_its_range_is_refused_not_a_panic() {
        for exponent in [i64::MIN, i64::MIN + 1, i64::MAX] {
            let mut bytes = vec![POSITIVE];
            bytes.extend_from_slice(&(exponent as u64 ^ EXP_SIGN).to_be_bytes());
            bytes.extend_from_slice(&[1 + 12, 0x00]);
            let err = decode_bigdec(&mut Reader::new(&bytes)).unwrap_err();
            assert!(err.to_string().contains("outside i32"), "{err}");
        }
    }

    #[test]
    fn equal_values_encode_equally() {
        assert_eq!(enc(&dec(1, 0)), enc(&dec(1000, 3)));
        assert_eq!(enc(&dec(-5, -2)), enc(&dec(-500, 0)));
        assert_eq!(dec(1, 0), dec(1000, 3));
        assert_eq!(dec(1000, 3).normalized().unwrap(), dec(1, 0));
        assert_eq!(dec(1000, 3).normalized().unwrap().scale, 0);
        assert_eq!(dec(0, -9).normalized().unwrap().scale, 0);
    }

    #[test]
    fn known_order() {
        let xs = [
            dec(-2, -3),
            dec(-11, 0),
            dec(-1, 0),
            dec(-12, 2),
            dec(-1, 1),
            dec(0, 0),
            dec(1, 300),
            dec(1, 1),
            dec(12, 2),
            dec(2, 1),
            dec(1, 0),
            dec(101, 2),
            dec(11, 0),
            dec(2, -3),
        ];
        for w in xs.windows(2) {
            assert!(w[0] < w[1], "{} < {}", w[0], w[1]);
            assert!(enc(&w[0]) < enc(&w[1]), "{} < {}", w[0], w[1]);
        }
    }

    #[test]
    fn out_of_range_scale() {
        let mut v = Vec::new();
        let e = encode_bigdec(&dec(100, i32::MIN), &mut v).unwrap_err();
        assert_eq!(e, CodecError::BigDecOutOfRange);
        assert!(v.is_empty());
        assert_eq!(
            e.to_string(),
            "bigdec out of range: its scale without trailing zeros does not fit in i32"
        );
        // The extreme scales themselves are fine.
        for d in [dec(7, i32::MIN), dec(7, i32::MAX), dec(-70, i32::MAX)] {
            let e = enc(&d);
            let back = decode_bigdec(&mut Reader::new(&e)).unwrap();
            assert_eq!(back, d);
        }
    }

    #[test]
    fn display() {
        assert_eq!(dec(12345, 2).to_string(), "123.45");
        assert_eq!(dec(-1, 3).to_string(), "-0.001");
        assert_eq!(dec(12, -3).to_string(), "12E+3");
        assert_eq!(dec(5, 0).to_string(), "5");
    }

    #[test]
    fn invalid_encodings() {
        let mut e = vec![0x02];
        e.extend_from_slice(&EXP_SIGN.to_be_bytes());
        for (tail, why) in [
            (&[0x00][..], "no digits"),
            (&[101, 0x00][..], "above 100"),
            (&[1 + 5, 0x00][..], "first digit"),
            (&[1 + 50, 1, 0x00][..], "trailing zero"),
        ] {
            let mut b = e.clone();
            b.extend_from_slice(tail);
            let err = decode_bigdec(&mut Reader::new(&b)).unwrap_err();
            assert!(err.to_string().contains(why), "{err}");
        }
        let err = decode_bigdec(&mut Reader::new(&[0x02, 1, 2])).unwrap_err();
        assert!(matches!(err, CodecError::UnexpectedEnd { .. }));
    }
}
