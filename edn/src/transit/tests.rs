//! Unit tests for the transit+json cache codes, the cacheable rule and the depth limit.

use super::write::cache_code;
use super::*;
use crate::DEFAULT_MAX_DEPTH;

#[test]
fn cache_codes_are_base_44_from_zero() {
    assert_eq!(cache_code(0), "^0");
    assert_eq!(cache_code(9), "^9");
    assert_eq!(cache_code(43), "^[");
    assert_eq!(cache_code(44), "^10");
    assert_eq!(cache_code(45), "^11");
    assert_eq!(cache_code(CACHE_SIZE - 1), "^[[");
}

#[test]
fn cacheable_counts_utf16_units() {
    assert!(cacheable("~:ab", false));
    assert!(!cacheable("~:a", false));
    assert!(!cacheable("abcd", false));
    assert!(cacheable("abcd", true));
    assert!(!cacheable("abc", true));
    assert!(cacheable("~#set", false));
    assert!(!cacheable("~#'", false));
    assert!(!cacheable("~ixxxx", false));
    // Two characters outside the BMP are four UTF-16 units (transit-java and -js cache them).
    assert!(cacheable("😀😀", true));
    // Three two-byte characters are three units, though six bytes.
    assert!(!cacheable("ééé", true));
}

#[test]
fn depth_limit_is_the_edn_readers() {
    let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert!(read(&nested(DEFAULT_MAX_DEPTH)).is_ok());
    let err = read(&nested(DEFAULT_MAX_DEPTH + 1)).unwrap_err();
    assert_eq!(
        err.kind(),
        &TransitErrorKind::TooDeep {
            max: DEFAULT_MAX_DEPTH
        }
    );
    assert_eq!(err.offset(), DEFAULT_MAX_DEPTH);
    // A set is one level though it takes two arrays.
    let sets = format!(
        "{}{}",
        "[\"~#set\",[".repeat(DEFAULT_MAX_DEPTH),
        "]]".repeat(DEFAULT_MAX_DEPTH)
    );
    assert!(read(&sets).is_ok());
    let objects = format!(
        "{}1{}",
        "{\"a\":".repeat(DEFAULT_MAX_DEPTH + 1),
        "}".repeat(DEFAULT_MAX_DEPTH + 1)
    );
    assert!(matches!(
        read(&objects).unwrap_err().kind(),
        TransitErrorKind::TooDeep { .. }
    ));
}

#[test]
fn cache_expansion_is_bounded() {
    // A long map key, then many codes for it: each copies the key.
    let key = "k".repeat(100_000);
    let mut text = format!("[[\"^ \",\"{key}\",1]");
    for _ in 0..2000 {
        text.push_str(",[\"^ \",\"^0\",1]");
    }
    text.push(']');
    let err = read(&text).unwrap_err();
    assert!(
        matches!(err.kind(), TransitErrorKind::TooLarge { .. }),
        "{err}"
    );
    // A modest repetition is fine.
    let mut ok = format!("[[\"^ \",\"{key}\",1]");
    for _ in 0..10 {
        ok.push_str(",[\"^ \",\"^0\",1]");
    }
    ok.push(']');
    assert!(read(&ok).is_ok());
}
