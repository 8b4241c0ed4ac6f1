//! Unit tests for the EDN reader: every literal kind and every error message with its position.

use super::*;
use crate::{to_pretty_string, EdnErrorKind};

fn r(text: &str) -> Edn {
    match read(text) {
        Ok(v) => v,
        Err(e) => panic!("reading {text:?} failed: {e}"),
    }
}

/// Asserts that reading fails with exactly this `line L, column C: message` text.
fn fails(text: &str, expected: &str) -> EdnError {
    match read(text) {
        Ok(v) => panic!("reading {text:?} should fail but gave {v}"),
        Err(e) => {
            assert_eq!(e.to_string(), expected, "reading {text:?}");
            e
        }
    }
}

fn big(s: &str) -> Edn {
    Edn::big_int(s.parse().unwrap())
}

fn dec(unscaled: i64, scale: i32) -> Edn {
    Edn::big_dec(BigDec::new(unscaled, scale))
}

fn kw(ns: &str, name: &str) -> Edn {
    Edn::kw(ns, name)
}

#[test]
fn reads_nil_and_booleans() {
    assert_eq!(r("nil"), Edn::Nil);
    assert_eq!(r("true"), Edn::Bool(true));
    assert_eq!(r("false"), Edn::Bool(false));
    assert_eq!(r("nil?"), Edn::sym("nil?"));
    assert_eq!(r("truex"), Edn::sym("truex"));
}

#[test]
fn reads_integers() {
    assert_eq!(r("0"), Edn::Long(0));
    assert_eq!(r("-0"), Edn::Long(0));
    assert_eq!(r("42"), Edn::Long(42));
    assert_eq!(r("-5"), Edn::Long(-5));
    assert_eq!(r("+5"), Edn::Long(5));
    assert_eq!(r("9223372036854775807"), Edn::Long(i64::MAX));
    assert_eq!(r("-9223372036854775808"), Edn::Long(i64::MIN));
    assert_eq!(r("9223372036854775808"), big("9223372036854775808"));
    assert_eq!(r("-9223372036854775809"), big("-9223372036854775809"));
    assert_eq!(r("3N"), big("3"));
    assert_eq!(r("-3N"), big("-3"));
    assert_eq!(r("0N"), big("0"));
    assert_eq!(r("0x1F"), Edn::Long(31));
    assert_eq!(r("-0x1f"), Edn::Long(-31));
    assert_eq!(r("+0X10"), Edn::Long(16));
    assert_eq!(r("0x1FN"), big("31"));
    assert_eq!(r("0xFFFFFFFFFFFFFFFFFF"), big("4722366482869645213695"));
}

#[test]
fn reads_doubles() {
    assert_eq!(r("1.5"), Edn::Double(1.5));
    assert_eq!(r("-2.25"), Edn::Double(-2.25));
    assert_eq!(r("1e10"), Edn::Double(1e10));
    assert_eq!(r("1.5E-3"), Edn::Double(1.5e-3));
    assert_eq!(r("+1.0e+2"), Edn::Double(100.0));
    assert_eq!(r("1."), Edn::Double(1.0));
    assert_eq!(r("01.5"), Edn::Double(1.5));
    assert_eq!(r("-0.0"), Edn::Double(-0.0));
    assert_eq!(r("1e400"), Edn::Double(f64::INFINITY));
    assert_eq!(r("##Inf"), Edn::Double(f64::INFINITY));
    assert_eq!(r("##-Inf"), Edn::Double(f64::NEG_INFINITY));
    assert!(matches!(r("##NaN"), Edn::Double(d) if d.is_nan()));
    assert_eq!(r("[##Inf ##NaN]").as_vec().unwrap().len(), 2);
}

#[test]
fn reads_bigdecs() {
    assert_eq!(r("1.5M"), dec(15, 1));
    assert_eq!(r("1.50M"), dec(150, 2));
    assert_eq!(r("1M"), dec(1, 0));
    assert_eq!(r("-0.015M"), dec(-15, 3));
    assert_eq!(r("1.5e3M"), dec(15, -2));
    assert_eq!(r("1e-2M"), dec(1, 2));
    assert_eq!(r("+2.M"), dec(2, 0));
    assert_eq!(
        r("123456789012345678901234567890.5M"),
        Edn::big_dec(BigDec {
            unscaled: "1234567890123456789012345678905".parse().unwrap(),
            scale: 1
        })
    );
}

#[test]
fn reads_strings() {
    assert_eq!(r(r#""""#), Edn::string(""));
    assert_eq!(r(r#""hello, world""#), Edn::string("hello, world"));
    assert_eq!(
        r(r#""q\" b\\ n\n t\t r\r b\b f\f""#),
        Edn::string("q\" b\\ n\n t\t r\r b\u{8} f\u{c}")
    );
    assert_eq!(r(r#""\u00e9\u00E9""#), Edn::string("éé"));
    assert_eq!(r(r#""\uD834\uDD1E""#), Edn::string("𝄞"));
    assert_eq!(
        r("\"é𝄞 ; not a comment\nline 2\""),
        Edn::string("é𝄞 ; not a comment\nline 2")
    );
}

#[test]
fn reads_chars() {
    assert_eq!(r("\\a"), Edn::Char('a'));
    assert_eq!(r("\\newline"), Edn::Char('\n'));
    assert_eq!(r("\\space"), Edn::Char(' '));
    assert_eq!(r("\\tab"), Edn::Char('\t'));
    assert_eq!(r("\\return"), Edn::Char('\r'));
    assert_eq!(r("\\formfeed"), Edn::Char('\u{c}'));
    assert_eq!(r("\\backspace"), Edn::Char('\u{8}'));
    assert_eq!(r("\\u00e9"), Edn::Char('é'));
    assert_eq!(r("\\u0041"), Edn::Char('A'));
    assert_eq!(r("\\o101"), Edn::Char('A'));
    assert_eq!(r("\\u"), Edn::Char('u'));
    assert_eq!(r("\\é"), Edn::Char('é'));
    assert_eq!(r("\\𝄞"), Edn::Char('𝄞'));
    assert_eq!(r("\\\\"), Edn::Char('\\'));
    assert_eq!(r("\\\""), Edn::Char('"'));
    assert_eq!(r("\\("), Edn::Char('('));
    assert_eq!(r("\\,"), Edn::Char(','));
    assert_eq!(
        r("[\\a\\b \\c,\\d]"),
        Edn::Vector(vec![
            Edn::Char('a'),
            Edn::Char('b'),
            Edn::Char('c'),
            Edn::Char('d')
        ])
    );
}

#[test]
fn reads_keywords() {
    assert_eq!(r(":a"), kw("", "a"));
    assert_eq!(r(":ns/a"), kw("ns", "a"));
    assert_eq!(r(":db/id"), kw("db", "id"));
    assert_eq!(r(":ns/_rev"), kw("ns", "_rev"));
    assert_eq!(r(":db.type/ref"), kw("db.type", "ref"));
    assert_eq!(r(":db.unique/identity"), kw("db.unique", "identity"));
    assert_eq!(r(":*"), kw("", "*"));
    assert_eq!(r(":1"), kw("", "1"));
    assert_eq!(r(":a.b-c/d-e?"), kw("a.b-c", "d-e?"));
    assert_eq!(r(":a:b"), kw("", "a:b"));
}

#[test]
fn reads_symbols() {
    for name in [
        "?x", "_", "...", "+", "-", "/", "$", "$2", "%", "*", ".method", "!=", "<=", "a'",
    ] {
        assert_eq!(r(name), Edn::sym(name), "{name}");
    }
    assert_eq!(
        r("clojure.string/blank?"),
        Edn::sym_ns("clojure.string", "blank?")
    );
    assert_eq!(r("clojure.core//"), Edn::sym_ns("clojure.core", "/"));
    assert_eq!(r("get-else"), Edn::sym("get-else"));
    assert_eq!(r("a#b"), Edn::sym("a#b"));
    assert_eq!(r("λ"), Edn::sym("λ"));
    assert_eq!(r("-a"), Edn::sym("-a"));
    assert_eq!(r("+.x"), Edn::sym("+.x"));
}

#[test]
fn reads_collections() {
    assert_eq!(r("()"), Edn::List(vec![]));
    assert_eq!(r("[]"), Edn::Vector(vec![]));
    assert_eq!(r("{}"), Edn::Map(vec![]));
    assert_eq!(r("#{}"), Edn::Set(vec![]));
    assert_eq!(r("(1 2)"), Edn::List(vec![Edn::Long(1), Edn::Long(2)]));
    assert_eq!(
        r("[1 [2 (3)]]"),
        Edn::Vector(vec![
            Edn::Long(1),
            Edn::Vector(vec![Edn::Long(2), Edn::List(vec![Edn::Long(3)])])
        ])
    );
    let m = r("{:b 1, :a 2, [1] {:x #{1 2}}}");
    let entries = m.as_map().unwrap();
    assert_eq!(entries[0].0, kw("", "b"), "insertion order is kept");
    assert_eq!(entries[1].0, kw("", "a"));
    assert_eq!(
        m.get(&r("[1]")).unwrap().get(&kw("", "x")),
        Some(&Edn::Set(vec![Edn::Long(2), Edn::Long(1)]))
    );
    assert_eq!(
        r("#{1 2 3}").as_set().unwrap(),
        &[Edn::Long(1), Edn::Long(2), Edn::Long(3)]
    );
    // Equal-looking but different values are distinct keys.
    assert_eq!(
        r("{1 a 1N b 1.0 c 1M d \"1\" e \\1 f}")
            .as_map()
            .unwrap()
            .len(),
        6
    );
    assert_eq!(r("#{[1] (1) {1 1}}").as_set().unwrap().len(), 3);
}

#[test]
fn skips_whitespace_commas_comments_and_discards() {
    assert_eq!(r(",,, 1 ,,,"), Edn::Long(1));
    assert_eq!(r("; comment\n1 ; trailing comment"), Edn::Long(1));
    assert_eq!(
        r("[1 ; inner ]\n 2]"),
        Edn::Vector(vec![Edn::Long(1), Edn::Long(2)])
    );
    assert_eq!(r("#_ 1 2"), Edn::Long(2));
    assert_eq!(r("#_#_ 1 2 3"), Edn::Long(3));
    assert_eq!(
        r("[1 #_ #_ 2 3 4]"),
        Edn::Vector(vec![Edn::Long(1), Edn::Long(4)])
    );
    assert_eq!(
        r("[1 #_[2 [3]] 4]"),
        Edn::Vector(vec![Edn::Long(1), Edn::Long(4)])
    );
    assert_eq!(r("{:a 1 #_ :b}"), r("{:a 1}"));
    assert_eq!(r("1 #_ 2"), Edn::Long(1));
    // As in Clojure, a discarded form is still read, so its errors still count.
    fails(
        "[#_ #inst \"bad\" 1]",
        "line 1, column 11: invalid #inst \"bad\": expected a 4-digit year",
    );
    assert_eq!(r("\t\r\n\u{a0}1"), Edn::Long(1));
}

#[test]
fn reads_namespaced_maps() {
    assert_eq!(
        r("#:person{:name \"Ivan\" :db/id 1 :_/plain 2 sym 3 \"s\" 4}"),
        r("{:person/name \"Ivan\" :db/id 1 :plain 2 person/sym 3 \"s\" 4}")
    );
    assert_eq!(r("#:a {:b 1}"), r("{:a/b 1}"));
    assert_eq!(r("#:a.b{}"), r("{}"));
}

#[test]
fn reads_inst_and_uuid() {
    assert_eq!(
        r("#inst \"1985-04-12T23:20:50.52Z\""),
        Edn::Inst(482_196_050_520)
    );
    assert_eq!(
        r("#inst \"1985-04-13T01:20:50.52+02:00\""),
        Edn::Inst(482_196_050_520)
    );
    assert_eq!(r("#inst \"1969-12-31T23:59:59.999-00:00\""), Edn::Inst(-1));
    assert_eq!(r("#inst \"1970-01-02\""), Edn::Inst(86_400_000));
    assert_eq!(
        r("#uuid \"f81d4fae-7dec-11d0-a765-00a0c91e6bf6\"").to_string(),
        "#uuid \"f81d4fae-7dec-11d0-a765-00a0c91e6bf6\""
    );
    assert_eq!(
        r("#inst \"1985-04-12T23:20:50.52Z\"").to_string(),
        "#inst \"1985-04-12T23:20:50.520Z\""
    );
}

#[test]
fn reads_other_tags() {
    assert_eq!(
        r("#my/point [1 2]"),
        Edn::tagged(
            Symbol::new(Some("my"), "point"),
            Edn::Vector(vec![Edn::Long(1), Edn::Long(2)])
        )
    );
    assert_eq!(
        r("#a #b 1"),
        Edn::tagged(
            Symbol::new(None, "a"),
            Edn::tagged(Symbol::new(None, "b"), Edn::Long(1))
        )
    );
    assert_eq!(r("#foo[1]"), r("#foo [1]"));
    assert_eq!(r("#my/inst \"x\"").type_name(), "tagged value");
}

#[test]
fn read_all_and_streaming_positions() {
    assert_eq!(read_all("").unwrap(), vec![]);
    assert_eq!(read_all("1 2 ;x\n [3]").unwrap().len(), 3);
    let mut reader = Reader::new("#_ 0 :a\n  (b\n c) #inst \"1970-01-01T00:00:00Z\" #_ 4");
    let got: Vec<(usize, usize, usize, Edn)> = reader
        .by_ref()
        .map(|item| {
            let (p, v) = item.unwrap();
            (p.line, p.column, p.offset, v)
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (1, 6, 5, kw("", "a")),
            (2, 3, 10, r("(b c)")),
            (3, 5, 17, Edn::Inst(0)),
        ]
    );
    assert_eq!(reader.position().line, 3);
    // After an error the reader stops.
    let mut reader = Reader::new("1 ) 2");
    assert_eq!(reader.next().unwrap().unwrap().1, Edn::Long(1));
    assert!(reader.next().unwrap().is_err());
    assert!(reader.next().is_none());
    assert!(read_all("1 ) 2").is_err());
}

#[test]
fn depth_limit() {
    let ok = format!(
        "{}{}",
        "[".repeat(DEFAULT_MAX_DEPTH),
        "]".repeat(DEFAULT_MAX_DEPTH)
    );
    let v = r(&ok);
    assert_eq!(read(&v.to_string()).unwrap(), v);
    let deep = "[".repeat(100_000);
    let e = fails(&deep, "line 1, column 513: nesting deeper than 512 levels");
    assert_eq!(e.kind(), EdnErrorKind::TooDeep);
    let closed = format!("{}{}", "(".repeat(100_000), ")".repeat(100_000));
    fails(
        &closed,
        "line 1, column 513: nesting deeper than 512 levels",
    );
    fails(
        &"#t ".repeat(100_000),
        "line 1, column 1537: nesting deeper than 512 levels",
    );
    fails(
        &"#{".repeat(100_000),
        "line 1, column 1025: nesting deeper than 512 levels",
    );
    let mut shallow = Reader::new("[[1]]").with_max_depth(1);
    assert_eq!(
        shallow.next().unwrap().unwrap_err().to_string(),
        "line 1, column 2: nesting deeper than 1 levels"
    );
}

#[test]
fn errors_for_unclosed_and_mismatched_delimiters() {
    let e = fails(
        "[1\n2\n3 4 [5]",
        "line 3, column 8: expected ']' to close the vector opened at line 1, column 1, found end of input",
    );
    assert_eq!((e.line(), e.column()), (3, 8));
    assert_eq!(e.kind(), EdnErrorKind::UnexpectedEnd);
    assert!(e.message().starts_with("expected ']'"));
    fails(
        "(a b",
        "line 1, column 5: expected ')' to close the list opened at line 1, column 1, found end of input",
    );
    fails(
        "{:a 1",
        "line 1, column 6: expected '}' to close the map opened at line 1, column 1, found end of input",
    );
    fails(
        " #{1",
        "line 1, column 5: expected '}' to close the set opened at line 1, column 2, found end of input",
    );
    fails(
        "#:ns{:a 1",
        "line 1, column 10: expected '}' to close the map #:ns opened at line 1, column 1, found end of input",
    );
    fails(
        "[1 2)",
        "line 1, column 5: expected ']' to close the vector opened at line 1, column 1, found ')'",
    );
    fails(
        "{:a (1]}",
        "line 1, column 7: expected ')' to close the list opened at line 1, column 5, found ']'",
    );
    fails(
        ")",
        "line 1, column 1: unmatched ')': no list, vector, map or set is open",
    );
    fails(
        "1 ]",
        "line 1, column 3: unmatched ']': no list, vector, map or set is open",
    );
    fails(
        "\"abc",
        "line 1, column 5: expected '\"' to close the string opened at line 1, column 1, found end of input",
    );
    fails(
        "[\"a\\",
        "line 1, column 5: expected '\"' to close the string opened at line 1, column 2, found end of input",
    );
}

#[test]
fn errors_for_bad_maps_and_sets() {
    let e = fails(
        "{:a 1\n:a 2}",
        "line 2, column 1: map literal has duplicate key :a",
    );
    assert_eq!(e.kind(), EdnErrorKind::InvalidCollection);
    fails(
        "{[1 2] 1 :b 2 [1 2] 3}",
        "line 1, column 15: map literal has duplicate key [1 2]",
    );
    fails(
        "{{:a 1 :b 2} 1 {:b 2 :a 1} 2}",
        "line 1, column 16: map literal has duplicate key {:b 2, :a 1}",
    );
    fails(
        "#{1 2 1}",
        "line 1, column 7: set literal has duplicate element 1",
    );
    fails(
        "#{#{1 2} #{2 1}}",
        "line 1, column 10: set literal has duplicate element #{2 1}",
    );
    fails(
        "#:a{:b 1 :a/b 2}",
        "line 1, column 10: map literal has duplicate key :a/b",
    );
    fails(
        "{:a 1 :b}",
        "line 1, column 7: map literal has a key with no value: :b (a map needs an even number of forms)",
    );
    fails(
        "#:ns 5",
        "line 1, column 6: expected '{' to start the namespaced map #:ns, found '5'",
    );
    fails(
        "#:{:a 1}",
        "line 1, column 1: invalid namespace \"\" in namespaced map #:",
    );
}

#[test]
fn errors_for_bad_numbers() {
    let e = fails(
        "1/2",
        "line 1, column 1: ratio literals like 1/2 are not supported",
    );
    assert_eq!(e.kind(), EdnErrorKind::Unsupported);
    fails(
        "[1 2r101]",
        "line 1, column 4: radix literals like 2r101 are not supported",
    );
    let e = fails(
        "017",
        "line 1, column 1: invalid number 017: integers cannot have leading zeros",
    );
    assert_eq!(e.kind(), EdnErrorKind::InvalidNumber);
    fails("1.5N", "line 1, column 1: invalid number 1.5N");
    fails("1e", "line 1, column 1: invalid number 1e");
    fails("1e+", "line 1, column 1: invalid number 1e+");
    fails("12abc", "line 1, column 1: invalid number 12abc");
    fails("1.2.3", "line 1, column 1: invalid number 1.2.3");
    fails("0x", "line 1, column 1: invalid number 0x");
    fails("0xG", "line 1, column 1: invalid number 0xG");
    fails("-1a", "line 1, column 1: invalid number -1a");
    fails("1MN", "line 1, column 1: invalid number 1MN");
    fails(
        "1e99999999999999999999M",
        "line 1, column 1: invalid number 1e99999999999999999999M: exponent out of range",
    );
    fails(
        "1e-2147483649M",
        "line 1, column 1: invalid number 1e-2147483649M: exponent out of range",
    );
}

#[test]
fn errors_for_bad_chars_and_strings() {
    let e = fails(
        "[:a \\foo]",
        "line 1, column 5: unknown character name \\foo",
    );
    assert_eq!(e.kind(), EdnErrorKind::InvalidToken);
    fails(
        "\\uD800",
        "line 1, column 1: \\uD800 is a UTF-16 surrogate, not a character",
    );
    fails(
        "\\uzzzz",
        "line 1, column 1: unknown character name \\uzzzz",
    );
    fails(
        "\\o400",
        "line 1, column 1: octal character \\o400 is out of range (at most \\o377)",
    );
    fails(
        "\\",
        "line 1, column 2: expected a character after '\\', found end of input",
    );
    fails(
        "\\ x",
        "line 1, column 1: expected a character after '\\', found whitespace ' ' (write \\space, \\newline, \\tab or \\return)",
    );
    fails(
        "\"a\\qb\"",
        "line 1, column 3: unsupported escape \\q in string",
    );
    fails(
        "\"a\\\n\"",
        "line 1, column 3: unsupported escape \\\\n in string",
    );
    fails(
        "\"\\u12\"",
        "line 1, column 2: expected 4 hexadecimal digits after \\u in string",
    );
    fails(
        "\"\\uD800\"",
        "line 1, column 2: unpaired surrogate \\uD800 in string",
    );
    fails(
        "\"\\uD800\\u0041\"",
        "line 1, column 2: unpaired surrogate \\uD800 in string",
    );
    fails(
        "\"\\uDC00\"",
        "line 1, column 2: unpaired surrogate \\uDC00 in string",
    );
}

#[test]
fn errors_for_bad_symbols_and_keywords() {
    fails(
        "a/b/c",
        "line 1, column 1: invalid symbol a/b/c: more than one '/'",
    );
    fails(
        "a/",
        "line 1, column 1: invalid symbol a/: nothing after '/'",
    );
    fails(
        "/a",
        "line 1, column 1: invalid symbol /a: nothing before '/'",
    );
    fails(
        ".5",
        "line 1, column 1: invalid symbol .5: '.' followed by a digit is a number, not a symbol",
    );
    let e = fails(
        "@x",
        "line 1, column 1: invalid symbol @x: character '@' is not allowed",
    );
    assert_eq!(e.kind(), EdnErrorKind::UnexpectedChar);
    fails(
        "'x",
        "line 1, column 1: invalid symbol 'x: cannot start with '\\''",
    );
    let e = fails(
        "::a",
        "line 1, column 1: auto-resolved keywords like ::a are not EDN",
    );
    assert_eq!(e.kind(), EdnErrorKind::Unsupported);
    fails(":", "line 1, column 1: invalid keyword :: empty name");
    fails(
        ":a/",
        "line 1, column 1: invalid keyword :a/: nothing after '/'",
    );
    fails(
        "x/1",
        "line 1, column 1: invalid symbol x/1: cannot start with a digit",
    );
}

#[test]
fn errors_for_dispatch_and_tags() {
    fails(
        "##Foo",
        "line 1, column 1: unknown symbolic value ##Foo (expected ##Inf, ##-Inf or ##NaN)",
    );
    let e = fails(
        "#\"re\"",
        "line 1, column 1: regular expressions #\"...\" are not EDN",
    );
    assert_eq!(e.kind(), EdnErrorKind::Unsupported);
    fails(
        "#(inc %)",
        "line 1, column 1: anonymous functions #(...) are not EDN",
    );
    fails(
        "#?(:clj 1)",
        "line 1, column 1: reader conditionals #? are not EDN",
    );
    fails(
        "#",
        "line 1, column 2: expected a dispatch character after '#', found end of input",
    );
    fails("#1", "line 1, column 2: unexpected character '1' after '#'");
    fails(
        "#foo",
        "line 1, column 5: expected a form after #foo at line 1, column 1, found end of input",
    );
    fails(
        "#_",
        "line 1, column 3: expected a form after #_ at line 1, column 1, found end of input",
    );
    fails(
        "[#_]",
        "line 1, column 4: expected a form after #_ at line 1, column 2, found ']'",
    );
    fails(
        "#foo/ 1",
        "line 1, column 1: invalid tag #foo/: nothing after '/'",
    );
    let e = fails(
        "[\n #inst \"1985-13-01\"]",
        "line 2, column 8: invalid #inst \"1985-13-01\": month 13 is out of range 01-12",
    );
    assert_eq!(e.kind(), EdnErrorKind::InvalidLiteral);
    fails(
        "#inst 5",
        "line 1, column 7: #inst expects a string, found integer",
    );
    fails(
        "#uuid \"f81d4fae\"",
        "line 1, column 7: invalid #uuid \"f81d4fae\": expected 8-4-4-4-12 hexadecimal digits",
    );
    fails(
        "#uuid [1]",
        "line 1, column 7: #uuid expects a string, found vector",
    );
}

#[test]
fn errors_for_empty_and_trailing_input() {
    let e = fails("", "line 1, column 1: expected a form, found end of input");
    assert_eq!(e.kind(), EdnErrorKind::UnexpectedEnd);
    fails(
        " ; only a comment\n",
        "line 2, column 1: expected a form, found end of input",
    );
    fails(
        "#_ 1",
        "line 1, column 5: expected a form, found end of input",
    );
    let e = fails(
        "1 2",
        "line 1, column 3: expected end of input after the form, found another form: 2",
    );
    assert_eq!(e.kind(), EdnErrorKind::TrailingInput);
    fails(
        "[1] \"a very long string that goes on and on and on and on\"",
        "line 1, column 5: expected end of input after the form, found another form: \"a very long string that goes on and on ...",
    );
}

/// `{{...{leaf 1}...} 1}`, `depth` maps deep, each map the key of the next.
fn nested_map_keys(depth: usize, leaf: &str) -> String {
    format!("{}{leaf}{}", "{".repeat(depth), " 1}".repeat(depth))
}

#[test]
fn values_at_the_depth_limit_compare_hash_print_and_drop() {
    use std::collections::hash_map::DefaultHasher;
    use std::hash::{Hash, Hasher};

    let depth = DEFAULT_MAX_DEPTH - 1;
    // The set's duplicate check compares the two keys all the way down.
    let text = format!(
        "#{{{} {}}}",
        nested_map_keys(depth, "1"),
        nested_map_keys(depth, "2")
    );
    let v = r(&text);
    let again = r(&v.to_string());
    assert_eq!(again, v);
    let hash = |e: &Edn| {
        let mut h = DefaultHasher::new();
        e.hash(&mut h);
        h.finish()
    };
    assert_eq!(hash(&again), hash(&v));
    let pretty = to_pretty_string(&v, 80);
    assert_eq!(r(&pretty), v);
    let dup = format!(
        "#{{{} {}}}",
        nested_map_keys(depth, "1"),
        nested_map_keys(depth, "1")
    );
    assert_eq!(
        read(&dup).unwrap_err().kind(),
        EdnErrorKind::InvalidCollection
    );
}
