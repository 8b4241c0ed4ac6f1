//! transit+json: exact output for small values, round trips of every variant, the cache and
//! its boundaries, escapes, map keys, verbose input, number limits, errors, and property tests.

use levin_edn::transit::{self, TransitErrorKind as K};
use levin_edn::{read as edn, BigDec, BigInt, Edn, Keyword, Symbol};
use proptest::prelude::*;

fn e(text: &str) -> Edn {
    edn(text).unwrap_or_else(|err| panic!("{text}: {err}"))
}

/// Writes `v`, reads it back, and checks the value and its printed form (which keeps map and
/// set order and BigDec scale) came back.
fn round_trip(v: &Edn) -> String {
    let text = transit::write(v);
    let back = transit::read(&text).unwrap_or_else(|err| panic!("{v} as {text}: {err}"));
    assert_eq!(&back, v, "{text}");
    assert_eq!(back.to_string(), v.to_string(), "{text}");
    text
}

fn kind(text: &str) -> K {
    transit::read(text)
        .map(|v| panic!("{text} read as {v}"))
        .unwrap_err()
        .kind()
        .clone()
}

#[test]
fn exact_output_for_small_values() {
    let cases = [
        ("[:find ?e]", r#"["~:find","~$?e"]"#),
        ("nil", r#"["~#'",null]"#),
        ("true", r#"["~#'",true]"#),
        ("42", r#"["~#'",42]"#),
        ("1.5", r#"["~#'",1.5]"#),
        ("\"hi\"", r#"["~#'","hi"]"#),
        (":db/id", r#"["~#'","~:db/id"]"#),
        ("[1 2.0 -3 \"~x\" \\c]", r#"[1,2.0,-3,"~~x","~cc"]"#),
        ("(1 2)", r#"["~#list",[1,2]]"#),
        ("#{:a}", r#"["~#set",["~:a"]]"#),
        ("{:a 1 \"b\" nil}", r#"["^ ","~:a",1,"b",null]"#),
        ("{[1] 2}", r#"["~#cmap",[[1],2]]"#),
        ("{}", r#"["^ "]"#),
        ("[]", "[]"),
        ("1.50M", r#"["~#'","~f1.50"]"#),
        ("7N", r#"["~#'","~n7"]"#),
        ("#inst \"1970-01-01T00:00:01.000Z\"", r#"["~#'","~m1000"]"#),
        (
            "#uuid \"f81d4fae-7dec-11d0-a765-00a0c91e6bf6\"",
            r#"["~#'","~uf81d4fae-7dec-11d0-a765-00a0c91e6bf6"]"#,
        ),
        ("#bytes \"68690a\"", r#"["~#'","~baGkK"]"#),
        ("#uri \"http://x\"", r#"["~#'","~rhttp://x"]"#),
        (
            "#datalevin/Datom [1 :name \"x\" 536870913]",
            r#"["~#datalevin/Datom",[1,"~:name","x",536870913]]"#,
        ),
        (
            "[##NaN ##Inf ##-Inf -0.0]",
            r#"["~zNaN","~zINF","~z-INF",-0.0]"#,
        ),
        ("[:a :a :abc :abc]", r#"["~:a","~:a","~:abc","^0"]"#),
        (
            "[{:name 1} {:name 2}]",
            r#"[["^ ","~:name",1],["^ ","^0",2]]"#,
        ),
        ("[#{1} #{2}]", r#"[["~#set",[1]],["^0",[2]]]"#),
    ];
    for (source, expected) in cases {
        let v = e(source);
        assert_eq!(transit::write(&v), expected, "{source}");
        assert_eq!(transit::read(expected).unwrap(), v, "{expected}");
    }
}

#[test]
fn python_pods_query_reads_with_its_cache_codes() {
    let wire = r#"["~:find","~$?n","~:in","~$$","~$?alias","~:where",["~$?e","~:aka","^3"],["^5","~:nation","^1"]]"#;
    let q = e("[:find ?n :in $ ?alias :where [?e :aka ?alias] [?e :nation ?n]]");
    assert_eq!(transit::read(wire).unwrap(), q);
    // Levin writes the same text: the caches agree.
    assert_eq!(transit::write(&q), wire);
    assert_eq!(transit::read_slice(wire.as_bytes()).unwrap(), q);
}

#[test]
fn every_variant_round_trips() {
    let values = vec![
        Edn::Nil,
        Edn::Bool(true),
        Edn::Bool(false),
        Edn::Long(0),
        Edn::Long(-1),
        Edn::big_int(BigInt::from(5)),
        Edn::big_int(BigInt::parse_bytes(b"-123456789012345678901234567890", 10).unwrap()),
        Edn::Double(0.1),
        Edn::Double(1e300),
        Edn::Double(-2.5e-308),
        Edn::Double(f64::MIN_POSITIVE / 4.0),
        Edn::big_dec(BigDec::new(150, 2)),
        Edn::big_dec(BigDec::new(-15, 3)),
        Edn::big_dec(BigDec::new(15, -2)),
        Edn::big_dec(BigDec::new(15, 20)),
        Edn::big_dec(BigDec::new(0, 3)),
        Edn::string(String::new()),
        Edn::String("plain".into()),
        Edn::Char('x'),
        Edn::Char('😀'),
        Edn::Char('\n'),
        Edn::Char('~'),
        Edn::kw("", "a"),
        Edn::kw("db", "id"),
        Edn::sym("?x"),
        Edn::sym("$"),
        Edn::sym("/"),
        Edn::sym_ns("clojure.core", "/"),
        Edn::Inst(0),
        Edn::Inst(-1),
        Edn::Inst(i64::MAX),
        Edn::Inst(i64::MIN),
        Edn::Uuid([0xab; 16]),
        e("#bytes \"\""),
        e("#bytes \"00ff10\""),
        e("#bytes \"ABCD\""), // uppercase hex is not what ~b reads back: a plain tagged value
        e("#bytes [1 2]"),
        e("#uri \"urn:x\""),
        e("#uri 5"),
        e("#my/tag {:a [1 #other 2]}"),
        e("#a.b/c nil"),
        e("(1 (2) [3])"),
        e("[]"),
        e("()"),
        e("#{}"),
        e("{}"),
        e("#{[1] #{2} {3 4} (5)}"),
        e("{:a {:b {:c [1 2 3]}}}"),
        e("{[1] :v, #{2} :w, {3 4} :x, (5) :y, #tg 1 :z}"),
    ];
    for v in &values {
        round_trip(v);
        // Nested in collections too, where scalars are not quoted.
        round_trip(&Edn::Vector(vec![v.clone(), v.clone()]));
        round_trip(&Edn::Map(vec![(Edn::kw("", "k"), v.clone())]));
    }
}

#[test]
fn keys_of_every_stringable_type_make_a_plain_map() {
    let m = e("{nil 0, true 1, false 2, 3 3, 9007199254740993 4, 5N 5, 1.5 6, ##NaN 7, ##-Inf 8,
                1.50M 9, \"s\" 10, \"~t\" 11, \"^x\" 12, \\c 13, :k 14, :ns/k 15, sym 16,
                #inst \"2020-01-01T00:00:00.000Z\" 17, #uuid \"00000000-0000-0000-0000-000000000001\" 18,
                #bytes \"01\" 19, #uri \"u:v\" 20, -0.0 21}");
    let text = round_trip(&m);
    assert!(text.starts_with(r#"["^ ","~_",0,"~?t",1,"~?f",2,"~i3",3,"~i9007199254740993",4,"~n5",5,"~d1.5",6,"~zNaN",7,"~z-INF",8,"~f1.50",9,"s",10,"~~t",11,"~^x",12,"~cc",13,"~:k",14,"~:ns/k",15,"~$sym",16,"~m1577836800000",17,"~u00000000-0000-0000-0000-000000000001",18,"~bAQ==",19,"~ru:v",20,"~d-0.0",21]"#), "{text}");
    // Long keys are cached as map keys, short ones are not.
    let v = e("[{\"abcd\" 1 \"abc\" 2} {\"abcd\" 3 \"abc\" 4}]");
    assert_eq!(
        round_trip(&v),
        r#"[["^ ","abcd",1,"abc",2],["^ ","^0",3,"abc",4]]"#
    );
}

#[test]
fn composite_keys_make_a_cmap() {
    let m = e("{[1 2] :a, {:x 1} :b, #{3} :c, (4) :d, #tg 5 :e, 6 :f}");
    let text = round_trip(&m);
    assert_eq!(
        text,
        r#"["~#cmap",[[1,2],"~:a",["^ ","~:x",1],"~:b",["~#set",[3]],"~:c",["~#list",[4]],"~:d",["~#tg",5],"~:e",6,"~:f"]]"#
    );
    // transit-python writes a cmap as a one-member object (and caches the tag as a map key).
    let py = r#"[{"~#cmap":[[1],2]},{"^0":[[3],4]}]"#;
    assert_eq!(transit::read(py).unwrap(), e("[{[1] 2} {[3] 4}]"));
}

#[test]
fn escapes() {
    for s in [
        "~",
        "~~",
        "^",
        "^ ",
        "^0",
        "`",
        "`x",
        "~:notkw",
        "~#notag",
        "a\"b\\c",
        "\n\t\r\u{8}\u{c}",
        "\u{1}\u{1f}\u{7f}",
        "é ж 😀",
        "\u{2028}",
        "",
        " ",
    ] {
        let v = Edn::string(s.to_owned());
        round_trip(&v);
        round_trip(&Edn::Map(vec![(v.clone(), v.clone())]));
        round_trip(&Edn::Set(vec![v.clone()]));
    }
    assert_eq!(transit::write(&Edn::string("^ ")), r#"["~#'","~^ "]"#);
    assert_eq!(
        transit::write(&Edn::string("a\"\\\n\u{1}")),
        r#"["~#'","a\"\\\n\u0001"]"#
    );
    // JSON escapes on input, surrogate pairs included.
    assert_eq!(
        transit::read(r#"["\u00e9\ud83d\ude00\/\b\f"]"#).unwrap(),
        Edn::Vector(vec![Edn::string("é😀/\u{8}\u{c}")])
    );
    // A lone "~" and a string starting with ` read as they are (as transit-java does).
    assert_eq!(transit::read(r#"["~","`a"]"#).unwrap(), e("[\"~\" \"`a\"]"));
}

#[test]
fn quoted_top_level_scalars() {
    for (source, expected) in [
        ("nil", r#"["~#'",null]"#),
        ("false", r#"["~#'",false]"#),
        ("-7", r#"["~#'",-7]"#),
        ("9007199254740992", r#"["~#'","~i9007199254740992"]"#),
        ("-0.0", r#"["~#'",-0.0]"#),
        ("##NaN", r#"["~#'","~zNaN"]"#),
        ("\"~x\"", r#"["~#'","~~x"]"#),
        ("\\a", r#"["~#'","~ca"]"#),
        ("?x", r#"["~#'","~$?x"]"#),
    ] {
        let v = e(source);
        assert_eq!(round_trip(&v), expected);
    }
    // Readers also accept the verbose quote and bare top-level scalars.
    assert_eq!(transit::read(r#"{"~#'":"~:a"}"#).unwrap(), Edn::kw("", "a"));
    assert_eq!(transit::read(" 5 ").unwrap(), Edn::Long(5));
    assert_eq!(transit::read(r#""~:a""#).unwrap(), Edn::kw("", "a"));
}

#[test]
fn verbose_input() {
    let text = r#"{"~:a":1,"~:b":{"~#set":[1,2]},"c":{"~#list":["~:x"]},"~i5":{"~#cmap":[[1],2]},
                  "when":"~t1985-04-12T23:20:50.52Z","~:tv":{"~#point":[1,2]},"~:e":{}}"#;
    assert_eq!(
        transit::read(text).unwrap(),
        e("{:a 1 :b #{1 2} \"c\" (:x) 5 {[1] 2} \"when\" #inst \"1985-04-12T23:20:50.520Z\" :tv #point [1 2] :e {}}")
    );
    // ["~#u", [hi, lo]] and the one-letter tags in array form.
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&(-6837666719051026176i64).to_be_bytes());
    bytes[15] = 1;
    assert_eq!(
        transit::read(r#"["~#u",[-6837666719051026176,1]]"#).unwrap(),
        Edn::Uuid(bytes)
    );
    assert_eq!(
        transit::read(r#"["~#u",["~i-6837666719051026176","~i1"]]"#).unwrap(),
        transit::read(r#"["~#u",[-6837666719051026176,1]]"#).unwrap()
    );
    assert_eq!(transit::read(r#"["~#m",1000]"#).unwrap(), Edn::Inst(1000));
    assert_eq!(transit::read(r#"["~#i","12"]"#).unwrap(), Edn::Long(12));
    assert_eq!(
        transit::read(r#"["~#u","f81d4fae-7dec-11d0-a765-00a0c91e6bf6"]"#).unwrap(),
        e("#uuid \"f81d4fae-7dec-11d0-a765-00a0c91e6bf6\"")
    );
    // Unknown one-letter string tags become tagged values, as the spec asks.
    assert_eq!(
        transit::read(r#""~Qabc""#).unwrap(),
        Edn::tagged(Symbol::new(None, "Q"), Edn::string("abc"))
    );
    // `~'` is the quote as a string tag: the identity (found by the fuzzer, which had it
    // read as a tagged value that wrote back as a quote).
    assert_eq!(transit::read(r#"["~'x"]"#).unwrap(), e("[\"x\"]"));
    // The ~b reader takes padded and unpadded base64.
    assert_eq!(transit::read(r#""~baGk""#).unwrap(), e("#bytes \"6869\""));
    assert_eq!(transit::read(r#""~bAQ""#).unwrap(), e("#bytes \"01\""));
    // A map in the ^ form may have non-string keys, and JSON numbers in any form.
    assert_eq!(
        transit::read(r#"["^ ",1,2,"~d2.5",3.0E2,"~f1.5E+3",1e-2]"#).unwrap(),
        e("{1 2 2.5 300.0 1.5E3M 0.01}")
    );
}

#[test]
fn integers_at_the_limits() {
    let two53: i64 = 1 << 53;
    for (n, expected) in [
        (two53 - 1, "9007199254740991".to_owned()),
        (-(two53 - 1), "-9007199254740991".to_owned()),
        (two53, "\"~i9007199254740992\"".to_owned()),
        (-two53, "\"~i-9007199254740992\"".to_owned()),
        (i64::MAX, format!("\"~i{}\"", i64::MAX)),
        (i64::MIN, format!("\"~i{}\"", i64::MIN)),
    ] {
        let v = Edn::Vector(vec![Edn::Long(n)]);
        assert_eq!(round_trip(&v), format!("[{expected}]"));
    }
    // Plain JSON numbers: i64 when they fit, big integers beyond.
    assert_eq!(
        transit::read("[9223372036854775807,-9223372036854775808,9223372036854775808]").unwrap(),
        e("[9223372036854775807 -9223372036854775808 9223372036854775808N]")
    );
    // ~i beyond i64 is a big integer; ~n is a big integer even when it fits (python sends
    // -2^63 as ~n), so that Edn::BigInt round-trips.
    assert_eq!(
        transit::read(r#"["~i9223372036854775808","~n-9223372036854775808","~n1"]"#).unwrap(),
        Edn::Vector(vec![
            Edn::big_int(BigInt::from(i64::MAX) + 1),
            Edn::big_int(BigInt::from(i64::MIN)),
            Edn::big_int(BigInt::from(1)),
        ])
    );
    round_trip(&Edn::big_int(BigInt::from(u128::MAX) * 7));
}

#[test]
fn doubles() {
    let v = Edn::Vector(vec![
        Edn::Double(-0.0),
        Edn::Double(0.0),
        Edn::Double(f64::NAN),
        Edn::Double(f64::MAX),
        Edn::Double(f64::MIN_POSITIVE),
        Edn::Double(5e-324),
    ]);
    let text = round_trip(&v);
    assert!(text.starts_with("[-0.0,0.0,\"~zNaN\""), "{text}");
    let back = transit::read(&text).unwrap();
    assert!(back.as_vec().unwrap()[0]
        .as_double()
        .unwrap()
        .is_sign_negative());
    // 1e400 overflows to infinity, as in JSON readers generally.
    assert_eq!(
        transit::read("[1e400, -0, 2E+1]").unwrap(),
        Edn::Vector(vec![
            Edn::Double(f64::INFINITY),
            Edn::Long(0),
            Edn::Double(20.0)
        ])
    );
}

/// `n` distinct keywords, each 4+ characters so that each takes a cache entry.
fn keywords(n: usize) -> Vec<Edn> {
    (0..n).map(|i| Edn::kw("", &format!("k{i:04}"))).collect()
}

#[test]
fn cache_boundaries_and_wrap() {
    for n in [43, 44, 45, 1935, 1936, 1937, 3000, 1936 * 2 + 5] {
        let ks = keywords(n);
        // Every keyword, then every keyword again (codes), then the first again.
        let mut items = ks.clone();
        items.extend(ks.iter().cloned());
        items.push(ks[0].clone());
        let v = Edn::Vector(items);
        let text = round_trip(&v);
        let codes = text.matches("\"^").count();
        if n <= 1936 {
            assert_eq!(codes, n + 1, "n = {n}: all repeats are codes");
        }
    }
    // The 44th entry has the last one-digit code, the 45th the first two-digit one, the 1936th
    // the last code; the 1937th entry clears the cache and takes code ^0.
    let ks = keywords(1937);
    let mut items = ks.clone();
    items.extend([ks[1936].clone(), ks[43].clone(), ks[43].clone()]);
    let text = transit::write(&Edn::Vector(items.clone()));
    assert!(
        text.ends_with(r#""~:k1936","^0","~:k0043","^1"]"#),
        "{}",
        &text[text.len() - 60..]
    );
    assert_eq!(transit::read(&text).unwrap(), Edn::Vector(items));
    // Without the wrap: entries 43, 44 and 1935 by their codes.
    let ks = keywords(1936);
    let mut items = ks.clone();
    items.extend([ks[43].clone(), ks[44].clone(), ks[1935].clone()]);
    let text = transit::write(&Edn::Vector(items.clone()));
    assert!(
        text.ends_with(r#""~:k1935","^[","^10","^[["]"#),
        "{}",
        &text[text.len() - 60..]
    );
    assert_eq!(transit::read(&text).unwrap(), Edn::Vector(items));
    // A reader given the code of an entry not yet written.
    let err = transit::read(r#"["~:abcd","^1"]"#).unwrap_err();
    assert_eq!(
        err.kind(),
        &K::UnknownCacheCode {
            code: "^1".into(),
            index: 1,
            len: 1
        }
    );
    assert_eq!((err.offset(), err.path()), (10, "$[1]"));
    // After the wrap, an old code names the new entry.
    let mut text = String::from("[");
    for i in 0..1936 {
        text.push_str(&format!("\"~:k{i:04}\","));
    }
    text.push_str(r#""~:new!","^0","^1"]"#);
    let err = transit::read(&text).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            K::UnknownCacheCode {
                index: 1,
                len: 1,
                ..
            }
        ),
        "{err}"
    );
    let text = text.replace(r#","^1"]"#, "]");
    let v = transit::read(&text).unwrap();
    assert_eq!(v.as_vec().unwrap()[1937], Edn::kw("", "new!"));
}

#[test]
fn sets_maps_and_tags_use_the_cache() {
    let v = e("[#{:a} #{:b} (1) (2) {[1] 2} {[3] 4} #my/tag 1 #my/tag 2]");
    assert_eq!(
        round_trip(&v),
        r#"[["~#set",["~:a"]],["^0",["~:b"]],["~#list",[1]],["^1",[2]],["~#cmap",[[1],2]],["^2",[[3],4]],["~#my/tag",1],["^3",2]]"#
    );
    // A cmap key that is a long string is an array element, not a map key: not cached.
    let v = e("[{[1] \"long-string\"} {\"long-string\" 1}]");
    assert_eq!(
        round_trip(&v),
        r#"[["~#cmap",[[1],"long-string"]],["^ ","long-string",1]]"#
    );
}

#[test]
fn errors_name_what_was_wrong_and_where() {
    let cases: Vec<(&str, K)> = vec![
        (
            "",
            K::UnexpectedEnd {
                expected: "a JSON value",
            },
        ),
        (
            "[1,",
            K::UnexpectedEnd {
                expected: "a JSON value",
            },
        ),
        (
            "[1 2]",
            K::UnexpectedChar {
                found: '2',
                expected: "',' or ']'",
            },
        ),
        ("[1] x", K::TrailingInput),
        ("[01]", K::InvalidNumber("01".into())),
        ("[1.]", K::InvalidNumber("1.".into())),
        ("[-]", K::InvalidNumber("-".into())),
        (
            "[tru]",
            K::UnexpectedChar {
                found: 't',
                expected: "a JSON value",
            },
        ),
        ("[\"a\\x\"]", K::InvalidString("invalid escape")),
        (
            "[\"\\ud800\"]",
            K::InvalidString("a high surrogate without a low one"),
        ),
        (
            "[\"\\udc00\"]",
            K::InvalidString("a low surrogate without a high one"),
        ),
        (
            "[\"a\nb\"]",
            K::InvalidString("unescaped control character"),
        ),
        (
            "[\"abc",
            K::UnexpectedEnd {
                expected: "'\"' to close the string",
            },
        ),
        ("[\"^\"]", K::InvalidCacheCode { code: "^".into() }),
        (
            "[\"^abc\"]",
            K::InvalidCacheCode {
                code: "^abc".into(),
            },
        ),
        ("[\"^~\"]", K::InvalidCacheCode { code: "^~".into() }),
        (
            "[\"^0\"]",
            K::UnknownCacheCode {
                code: "^0".into(),
                index: 0,
                len: 0,
            },
        ),
        ("[1,\"^ \"]", K::MisplacedMapMarker),
        ("[1,\"~#tag\"]", K::MisplacedTag { tag: "tag".into() }),
        (
            "[\"~#tag\",1,2]",
            K::InvalidTaggedValue {
                tag: "tag".into(),
                reason: "a tagged value is an array of exactly two elements",
            },
        ),
        (
            "[\"~#tag\"]",
            K::UnexpectedChar {
                found: ']',
                expected: "',' and the representation of the tagged value",
            },
        ),
        (
            "[\"~#set\",1]",
            K::InvalidTaggedValue {
                tag: "set".into(),
                reason: "expected an array",
            },
        ),
        (
            "[\"~#u\",[1]]",
            K::InvalidTaggedValue {
                tag: "u".into(),
                reason: "expected a UUID string or [hi, lo] as 64-bit integers",
            },
        ),
        (
            "{\"~#set\":[1],\"a\":1}",
            K::InvalidTaggedValue {
                tag: "set".into(),
                reason: "an object holding a tag has exactly one member",
            },
        ),
        (
            "{\"a\":1,\"~#set\":[1]}",
            K::MisplacedTag { tag: "set".into() },
        ),
        ("[\"^ \",\"~:a\"]", K::MissingMapValue),
        ("[\"~#cmap\",[1,2,3]]", K::MissingMapValue),
        ("[\"^ \",\"~:a\",1,\"~:a\",2]", K::DuplicateKey(":a".into())),
        ("{\"~i1\":1,\"~i01\":2}", K::DuplicateKey("1".into())),
        ("[\"~#cmap\",[[1],2,[1],3]]", K::DuplicateKey("[1]".into())),
        ("[\"~#set\",[1,2,1]]", K::DuplicateElement("1".into())),
        (
            "{\"a\" 1}",
            K::UnexpectedChar {
                found: '1',
                expected: "':' after the key",
            },
        ),
        (
            "{1:1}",
            K::UnexpectedChar {
                found: '1',
                expected: "a string key",
            },
        ),
    ];
    for (text, expected) in cases {
        let got = kind(text);
        assert_eq!(got, expected, "{text}");
    }
    // Scalar forms: each error names the kind of value.
    for (text, what) in [
        ("\"~i12x\"", "integer (~i)"),
        ("\"~n\"", "big integer (~n)"),
        ("\"~dx\"", "double (~d)"),
        ("\"~f1.2.3\"", "big decimal (~f)"),
        ("\"~zNAN\"", "special number (~z)"),
        ("\"~cab\"", "character (~c)"),
        ("\"~ux\"", "UUID (~u)"),
        ("\"~m1e3\"", "instant (~m)"),
        ("\"~t1985-13-01\"", "instant (~t)"),
        ("\"~b!!\"", "bytes (~b)"),
        ("\"~?x\"", "boolean (~?)"),
        ("\"~_x\"", "nil (~_)"),
        ("\"~#\"", "tag (~#)"),
    ] {
        match kind(text) {
            K::InvalidScalar { what: w, .. } => assert_eq!(w, what, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
    }
    // Offsets and paths.
    let err = transit::read(r#"[1,["^ ","~:a",[1,"^9"]]]"#).unwrap_err();
    assert_eq!((err.offset(), err.path()), (18, "$[1][2][1]"));
    assert_eq!(
        err.to_string(),
        "transit+json: cache code \"^9\" refers to entry 9, but the cache holds 0 entries at byte 18 ($[1][2][1])"
    );
    let err = transit::read(r#"{"~:a":{"~:b":[1,"~zX"]}}"#).unwrap_err();
    assert_eq!(err.path(), r#"$["~:a"]["~:b"][1]"#);
    let err = transit::read(r#"{"~:a":1,"~:a":2}"#).unwrap_err();
    assert_eq!((err.offset(), err.path()), (9, r#"$["~:a"]"#));
    let err = transit::read_slice(b"[\"a\xff\"]").unwrap_err();
    assert_eq!((err.kind(), err.offset()), (&K::InvalidUtf8, 3));
}

#[test]
fn keyword_and_symbol_names_split_at_the_first_slash() {
    assert_eq!(
        transit::read(r#""~:a/b/c""#).unwrap(),
        Edn::Keyword(Keyword::new(Some("a"), "b/c"))
    );
    assert_eq!(transit::read(r#""~$/""#).unwrap(), Edn::sym("/"));
    assert_eq!(transit::read(r#""~$a//""#).unwrap(), Edn::sym_ns("a", "/"));
    assert_eq!(transit::read(r#""~:""#).unwrap(), Edn::kw("", ""));
}

// ---------------------------------------------------------------------------------------
// Property tests (the generator follows edn/tests/props.rs).

fn ns() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9.\\-]{0,6}"
}

fn symbol_name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-zA-Z*!_?$%&=<>][a-zA-Z0-9*!_?$%&=<>.+\\-':#]{0,8}",
        1 => "[λéж😀][a-zé0-9]{0,3}",
        1 => prop::sample::select(vec!["+", "-", "/", "...", "?x", "_", "$", "%"])
            .prop_map(str::to_owned),
    ]
}

fn tag() -> impl Strategy<Value = Symbol> {
    (prop::option::of(ns()), "[a-zA-Z][a-zA-Z0-9\\-.]{0,6}")
        .prop_filter("transit's own tags", |(ns, name)| {
            ns.is_some() || !(name.len() == 1 || matches!(name.as_str(), "set" | "list" | "cmap"))
        })
        .prop_map(|(namespace, name)| Symbol::new(namespace.as_deref(), &name))
}

fn leaf() -> impl Strategy<Value = Edn> {
    prop_oneof![
        Just(Edn::Nil),
        any::<bool>().prop_map(Edn::Bool),
        any::<i64>().prop_map(Edn::Long),
        (-(1i64 << 54)..(1i64 << 54)).prop_map(Edn::Long),
        any::<i128>().prop_map(|n| Edn::big_int(BigInt::from(n))),
        any::<f64>().prop_map(Edn::Double),
        (any::<i128>(), any::<i32>()).prop_map(|(u, s)| Edn::big_dec(BigDec::new(u, s))),
        (any::<i64>(), -30i32..30).prop_map(|(u, s)| Edn::big_dec(BigDec::new(u, s))),
        any::<String>().prop_map(Edn::string),
        "[~^` ][a-z~^]{0,5}".prop_map(Edn::string),
        any::<char>().prop_map(Edn::Char),
        (prop::option::of(ns()), symbol_name())
            .prop_map(|(ns, name)| Edn::Keyword(Keyword::new(ns.as_deref(), &name))),
        (prop::option::of(ns()), symbol_name())
            .prop_map(|(ns, name)| Edn::Symbol(Symbol::new(ns.as_deref(), &name))),
        any::<i64>().prop_map(Edn::Inst),
        any::<[u8; 16]>().prop_map(Edn::Uuid),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(|b| {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            Edn::tagged(Symbol::new(None, "bytes"), Edn::string(hex))
        }),
        "[a-z]{1,4}:[a-z/]{0,6}"
            .prop_map(|u| Edn::tagged(Symbol::new(None, "uri"), Edn::string(u))),
    ]
}

fn dedup<T, Key: Ord + Clone>(items: Vec<T>, key: impl Fn(&T) -> &Key) -> Vec<T> {
    let mut seen = std::collections::BTreeSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(key(item).clone()))
        .collect()
}

fn value() -> impl Strategy<Value = Edn> {
    leaf().prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Edn::List),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Edn::Vector),
            prop::collection::vec((inner.clone(), inner.clone()), 0..6)
                .prop_map(|entries| Edn::Map(dedup(entries, |(k, _)| k))),
            prop::collection::vec(inner.clone(), 0..6)
                .prop_map(|items| Edn::Set(dedup(items, |e| e))),
            (tag(), inner).prop_map(|(t, v)| Edn::tagged(t, v)),
        ]
    })
}

/// Characters of transit+json, to get deeper into the reader than random text does.
const TRANSIT_ISH: &str = "[\\[\\]{}\",:^ ~#$?_a-fimnuzcbtr0-9.\\-+eE\\\\]{0,80}";

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn written_values_read_back(v in value()) {
        let text = transit::write(&v);
        let back = transit::read(&text);
        prop_assert_eq!(back.as_ref(), Ok(&v), "text: {}", text);
        prop_assert_eq!(back.map(|b| b.to_string()).ok(), Some(v.to_string()));
    }

    #[test]
    fn many_repeats_read_back(ks in prop::collection::vec("[a-z]{2,5}", 1..50), n in 1usize..3000) {
        // Long documents that go past the cache's wrap.
        let items: Vec<Edn> = (0..n).map(|i| {
            let k = &ks[i % ks.len()];
            Edn::Map(vec![(Edn::kw("", &format!("{k}{}", i % 2000)), Edn::sym(k))])
        }).collect();
        let v = Edn::Vector(items);
        prop_assert_eq!(transit::read(&transit::write(&v)), Ok(v));
    }

    #[test]
    fn json_numbers_read_as_their_value(
        neg in any::<bool>(),
        digits in "[0-9]{1,25}",
        after in prop::sample::select(vec!["", " ", "7", ".5", "e3"]),
    ) {
        // The model: JSON's grammar (no leading zeros); an integer is an i64 when it fits,
        // else a big integer; a fraction or an exponent makes a double.
        let sign = if neg { "-" } else { "" };
        let token = format!("{sign}{digits}{}", after.trim());
        let got = transit::read(&format!("[{token}]"));
        let int_part = format!("{digits}{}", if after == "7" { "7" } else { "" });
        if int_part.len() > 1 && int_part.starts_with('0') {
            prop_assert!(got.is_err(), "{} read as {:?}", token, got);
        } else if after == ".5" || after == "e3" {
            let expected = Edn::Double(token.parse::<f64>().unwrap());
            prop_assert_eq!(got, Ok(Edn::Vector(vec![expected])));
        } else {
            let expected = match token.parse::<i64>() {
                Ok(n) => Edn::Long(n),
                Err(_) => Edn::big_int(token.parse::<BigInt>().unwrap()),
            };
            prop_assert_eq!(got, Ok(Edn::Vector(vec![expected])));
        }
    }

    #[test]
    fn integers_write_as_their_decimal_text(n in any::<i64>()) {
        let text = transit::write(&Edn::Vector(vec![Edn::Long(n)]));
        if n.unsigned_abs() < 1 << 53 {
            prop_assert_eq!(&text, &format!("[{n}]"));
        } else {
            prop_assert_eq!(&text, &format!("[\"~i{n}\"]"));
        }
        prop_assert_eq!(transit::read(&text), Ok(Edn::Vector(vec![Edn::Long(n)])));
    }

    #[test]
    fn reader_never_panics(text in TRANSIT_ISH) {
        if let Ok(v) = transit::read(&text) {
            prop_assert_eq!(transit::read(&transit::write(&v)), Ok(v));
        }
    }

    #[test]
    fn reader_never_panics_on_any_text(text in any::<String>()) {
        if let Ok(v) = transit::read(&text) {
            prop_assert_eq!(transit::read(&transit::write(&v)), Ok(v));
        }
    }
}
