//! How query predicates order and equate values, as Clojure does in Datalevin: numbers by
//! value across long, bigint, double and bigdec; values of different classes by the name
//! of their Java class.

use std::cmp::Ordering;

use levin_edn::{BigDec, BigInt, Edn};

use crate::strings::class_name;

/// `<`, `>`, `<=`, `>=`, `==` and the `min`/`max` aggregates: numbers compare by value
/// (a double with anything as doubles, else a bigdec with anything as decimals, else as
/// integers); `nil` comes first; two values of one kind by their own order; values of
/// different kinds by the name of the Java class Datalevin holds them in (so a keyword,
/// `clojure.lang.Keyword`, comes before a long, `java.lang.Long`).
pub fn compare(a: &Edn, b: &Edn) -> Ordering {
    if let Some(o) = compare_numbers(a, b) {
        return o;
    }
    match (a, b) {
        (Edn::Nil, Edn::Nil) => Ordering::Equal,
        (Edn::Nil, _) => Ordering::Less,
        (_, Edn::Nil) => Ordering::Greater,
        _ if same_kind(a, b) => a.cmp(b),
        _ => class_name(a).cmp(&class_name(b)),
    }
}

/// Clojure's `compare`: `None` for two values it cannot order (different kinds, other than
/// two numbers or `nil` with anything); else the number Java's `compareTo` gives, which for
/// strings, characters, keywords and symbols is the difference of the first characters
/// (UTF-16 units) that differ, or of the lengths, and for the rest -1, 0 or 1.
pub fn compare_as_clojure(a: &Edn, b: &Edn) -> Option<i64> {
    let comparable = matches!(a, Edn::Nil)
        || matches!(b, Edn::Nil)
        || same_kind(a, b)
        || (is_number(a) && is_number(b));
    if !comparable {
        return None;
    }
    Some(match (a, b) {
        (Edn::String(x), Edn::String(y)) => java_string_compare(x, y),
        (Edn::Char(x), Edn::Char(y)) => i64::from(u32::from(*x)) - i64::from(u32::from(*y)),
        (Edn::Keyword(x), Edn::Keyword(y)) => {
            java_name_compare((x.namespace(), x.name()), (y.namespace(), y.name()))
        }
        (Edn::Symbol(x), Edn::Symbol(y)) => {
            java_name_compare((x.namespace(), x.name()), (y.namespace(), y.name()))
        }
        _ => compare(a, b) as i64,
    })
}

/// Java's `String.compareTo`.
fn java_string_compare(a: &str, b: &str) -> i64 {
    let (mut x, mut y) = (a.encode_utf16(), b.encode_utf16());
    loop {
        match (x.next(), y.next()) {
            (Some(p), Some(q)) if p != q => return i64::from(p) - i64::from(q),
            (Some(_), Some(_)) => {}
            (None, None) => return 0,
            // The difference of the lengths, in UTF-16 units.
            (Some(_), None) => return 1 + x.count() as i64,
            (None, Some(_)) => return -1 - y.count() as i64,
        }
    }
}

/// Clojure's `Symbol.compareTo` (keywords compare their symbols): no namespace first, then
/// by namespace, then by name.
fn java_name_compare(a: (Option<&str>, &str), b: (Option<&str>, &str)) -> i64 {
    match (a.0, b.0) {
        (None, Some(_)) => -1,
        (Some(_), None) => 1,
        (Some(x), Some(y)) if x != y => java_string_compare(x, y),
        _ => java_string_compare(a.1, b.1),
    }
}

/// `=`: numbers are equal when they are of one category (integers: long and bigint;
/// doubles; decimals) and equal in value (`(= 1 1N)`, `(= 1.0M 1.00M)`, but not
/// `(= 1 1.0)`); other values when they are the same value.
pub fn equal(a: &Edn, b: &Edn) -> bool {
    match (category(a), category(b)) {
        (Some(x), Some(y)) => x == y && compare_numbers(a, b) == Some(Ordering::Equal),
        _ => a == b,
    }
}

/// The numeric category `=` requires two numbers to share.
fn category(e: &Edn) -> Option<u8> {
    match e {
        Edn::Long(_) | Edn::BigInt(_) => Some(0),
        Edn::Double(_) => Some(1),
        Edn::BigDec(_) => Some(2),
        _ => None,
    }
}

pub(crate) fn is_number(e: &Edn) -> bool {
    category(e).is_some()
}

fn same_kind(a: &Edn, b: &Edn) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// Two numbers by value; `None` unless both are numbers.
fn compare_numbers(a: &Edn, b: &Edn) -> Option<Ordering> {
    if !(is_number(a) && is_number(b)) {
        return None;
    }
    Some(match (a, b) {
        (Edn::Long(x), Edn::Long(y)) => x.cmp(y),
        (Edn::Double(_), _) | (_, Edn::Double(_)) => as_f64(a).total_cmp(&as_f64(b)),
        (Edn::BigDec(_), _) | (_, Edn::BigDec(_)) => as_decimal(a).cmp(&as_decimal(b)),
        _ => as_integer(a).cmp(&as_integer(b)),
    })
}

pub(crate) fn as_integer(e: &Edn) -> BigInt {
    match e {
        Edn::Long(x) => BigInt::from(*x),
        Edn::BigInt(x) => (**x).clone(),
        _ => BigInt::from(0),
    }
}

pub(crate) fn as_decimal(e: &Edn) -> BigDec {
    match e {
        Edn::BigDec(d) => (**d).clone(),
        _ => BigDec::new(as_integer(e), 0),
    }
}

pub(crate) fn as_f64(e: &Edn) -> f64 {
    match e {
        Edn::Double(d) => *d,
        Edn::Long(x) => *x as f64,
        // Through the decimal text: exact to the nearest double, as Java's doubleValue.
        Edn::BigInt(x) => x.to_string().parse().unwrap_or(f64::NAN),
        Edn::BigDec(d) => {
            let text = format!("{}E{}", d.unscaled, -i64::from(d.scale));
            text.parse().unwrap_or(f64::NAN)
        }
        _ => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use levin_edn::read;

    fn e(s: &str) -> Edn {
        read(s).unwrap()
    }

    #[test]
    fn numbers_compare_by_value_across_kinds() {
        for (a, b, o) in [
            ("1", "1.5", Ordering::Less),
            ("2", "1.50M", Ordering::Greater),
            ("1N", "2.50M", Ordering::Less),
            ("20000000000000000000000N", "3", Ordering::Greater),
            ("-1.0M", "-1", Ordering::Equal),
            ("2.5", "2.50M", Ordering::Equal),
            ("1N", "1", Ordering::Equal),
        ] {
            assert_eq!(compare(&e(a), &e(b)), o, "{a} {b}");
            assert_eq!(compare(&e(b), &e(a)), o.reverse(), "{b} {a}");
        }
    }

    #[test]
    fn other_kinds_order_by_class_name() {
        // clojure.lang.Keyword < clojure.lang.Symbol < java.lang.Boolean < java.lang.Long
        // < java.lang.String < java.util.Date
        let order = [
            ":a",
            "x",
            "true",
            "1",
            "\"s\"",
            "#inst \"2020-01-01T00:00:00Z\"",
        ];
        for (i, a) in order.iter().enumerate() {
            for b in &order[i + 1..] {
                assert_eq!(compare(&e(a), &e(b)), Ordering::Less, "{a} {b}");
            }
            assert_eq!(compare(&Edn::Nil, &e(a)), Ordering::Less);
        }
    }

    #[test]
    fn equality_keeps_the_numeric_categories_apart() {
        assert!(equal(&e("1"), &e("1N")));
        assert!(equal(&e("1.0M"), &e("1.00M")));
        assert!(!equal(&e("1"), &e("1.0")));
        assert!(!equal(&e("1"), &e("1M")));
        assert!(equal(&e("[1 :a]"), &e("[1 :a]")));
        assert!(!equal(&e(":a"), &e("\"a\"")));
    }

    #[test]
    fn clojure_compare_refuses_different_kinds_and_gives_java_differences() {
        assert_eq!(compare_as_clojure(&e("1"), &e("\"a\"")), None);
        assert_eq!(compare_as_clojure(&e(":a"), &e("x")), None);
        assert_eq!(compare_as_clojure(&e("1"), &e("2.5M")), Some(-1));
        assert_eq!(compare_as_clojure(&Edn::Nil, &e(":a")), Some(-1));
        assert_eq!(compare_as_clojure(&e("\"1\""), &e("\"b\"")), Some(-49));
        assert_eq!(compare_as_clojure(&e("\"ab\""), &e("\"a\"")), Some(1));
        assert_eq!(compare_as_clojure(&e("\"a\""), &e("\"abcd\"")), Some(-3));
        assert_eq!(compare_as_clojure(&e(":b"), &e(":a/b")), Some(-1));
        assert_eq!(compare_as_clojure(&e(":x/b"), &e(":x/d")), Some(-2));
    }
}
