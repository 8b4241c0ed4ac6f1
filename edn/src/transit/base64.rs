//! Standard base64 (RFC 4648, `+/` alphabet, `=` padding) for transit's `~b` bytes.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes `bytes` with padding.
pub(super) fn encode(bytes: &[u8], out: &mut String) {
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
}

fn sextet(c: u8) -> Option<u32> {
    Some(u32::from(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    }))
}

/// Decodes padded or unpadded base64; the error says what is wrong.
pub(super) fn decode(text: &str) -> Result<Vec<u8>, &'static str> {
    let body = text.trim_end_matches('=');
    let pad = text.len() - body.len();
    if pad > 2 || (pad > 0 && text.len() & 3 != 0) {
        return Err("misplaced '=' padding");
    }
    if body.len() % 4 == 1 {
        return Err("truncated: a single character left over");
    }
    let mut out = Vec::with_capacity(body.len() / 4 * 3 + 2);
    for chunk in body.as_bytes().chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            let v = sextet(c).ok_or("a character outside the base64 alphabet")?;
            n |= v << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    //! Unit tests for base64 against RFC 4648's test vectors.

    use super::*;

    #[test]
    fn rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            let mut s = String::new();
            encode(plain.as_bytes(), &mut s);
            assert_eq!(s, encoded);
            assert_eq!(decode(encoded).as_deref(), Ok(plain.as_bytes()));
            assert_eq!(
                decode(encoded.trim_end_matches('=')).as_deref(),
                Ok(plain.as_bytes())
            );
        }
        let all: Vec<u8> = (0..=255).collect();
        let mut s = String::new();
        encode(&all, &mut s);
        assert_eq!(decode(&s), Ok(all));
        assert!(decode("Zg=").is_err());
        assert!(decode("Z===").is_err());
        assert!(decode("Zm9v!").is_err());
        assert!(decode("Zm9vY").is_err());
        assert!(decode("=Zm9").is_err());
    }
}
