//! `#uuid` literals: the canonical 8-4-4-4-12 hexadecimal text to and from 16 bytes.

/// Parses `f81d4fae-7dec-11d0-a765-00a0c91e6bf6` (either case).
pub(crate) fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let mut out = [0u8; 16];
    let mut nibbles = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if b != b'-' {
                return None;
            }
            continue;
        }
        let v = (b as char).to_digit(16)? as u8;
        // High nibble first: even-numbered digits shift left by 4.
        out[nibbles / 2] |= v << (4 * (1 - (nibbles & 1)));
        nibbles += 1;
    }
    Some(out)
}

/// Formats 16 bytes as lowercase 8-4-4-4-12 text (a uuid's text without `#uuid`).
pub fn format_uuid(bytes: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    //! Unit tests for UUID text.

    use super::*;

    #[test]
    fn round_trip() {
        let text = "f81d4fae-7dec-11d0-a765-00a0c91e6bf6";
        let b = parse_uuid(text).unwrap();
        assert_eq!(b[0], 0xf8);
        assert_eq!(b[15], 0xf6);
        assert_eq!(format_uuid(&b), text);
        assert_eq!(parse_uuid("F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6"), Some(b));
        assert_eq!(parse_uuid("f81d4fae-7dec-11d0-a765-00a0c91e6bf"), None);
        assert_eq!(parse_uuid("f81d4fae-7dec-11d0-a765_00a0c91e6bf6"), None);
        assert_eq!(parse_uuid("g81d4fae-7dec-11d0-a765-00a0c91e6bf6"), None);
        assert_eq!(parse_uuid("f81d4fae-7dec-11d0-a765-00a0c91e6bé"), None);
    }
}
