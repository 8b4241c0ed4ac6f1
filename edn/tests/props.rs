//! Property tests for EDN: printing then reading gives back the same value, ordering is a
//! consistent total order, and the reader never panics, whatever the input.

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};

use levin_edn::{read, to_pretty_string, BigDec, BigInt, Edn, Keyword, Reader, Symbol};
use proptest::prelude::*;

fn ns() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9.\\-]{0,6}"
}

/// Names that the reader accepts as symbol names (without namespace).
fn symbol_name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-zA-Z*!_?$%&=<>][a-zA-Z0-9*!_?$%&=<>.+\\-':#]{0,8}",
        1 => "[+\\-.][a-z*!?][a-z0-9]{0,4}",
        1 => "[λéж][a-zé0-9]{0,3}",
        1 => prop::sample::select(vec!["+", "-", "/", "...", "?x", "_", "$", "%", "nil?"])
            .prop_map(str::to_owned),
    ]
    .prop_filter("reserved words", |n| {
        !matches!(n.as_str(), "nil" | "true" | "false")
    })
}

fn symbol() -> impl Strategy<Value = Symbol> {
    (prop::option::of(ns()), symbol_name()).prop_map(|(ns, name)| Symbol::new(ns.as_deref(), &name))
}

fn keyword() -> impl Strategy<Value = Keyword> {
    let name = prop_oneof![4 => symbol_name(), 1 => "[0-9][a-z0-9]{0,4}"];
    (prop::option::of(ns()), name)
        .prop_map(|(namespace, name)| Keyword::new(namespace.as_deref(), &name))
}

fn tag() -> impl Strategy<Value = Symbol> {
    (prop::option::of(ns()), "[a-zA-Z][a-zA-Z0-9\\-.]{0,6}")
        .prop_filter("built-in tags", |(ns, name)| {
            ns.is_some() || !matches!(name.as_str(), "inst" | "uuid")
        })
        .prop_map(|(namespace, name)| Symbol::new(namespace.as_deref(), &name))
}

fn leaf() -> impl Strategy<Value = Edn> {
    prop_oneof![
        Just(Edn::Nil),
        any::<bool>().prop_map(Edn::Bool),
        any::<i64>().prop_map(Edn::Long),
        any::<i128>().prop_map(|n| Edn::big_int(BigInt::from(n))),
        any::<f64>().prop_map(Edn::Double),
        (any::<i128>(), any::<i32>()).prop_map(|(u, s)| Edn::big_dec(BigDec::new(u, s))),
        (any::<i64>(), -30i32..30).prop_map(|(u, s)| Edn::big_dec(BigDec::new(u, s))),
        any::<String>().prop_map(Edn::string),
        any::<char>().prop_map(Edn::Char),
        keyword().prop_map(Edn::Keyword),
        symbol().prop_map(Edn::Symbol),
        any::<i64>().prop_map(Edn::Inst),
        any::<[u8; 16]>().prop_map(Edn::Uuid),
    ]
}

fn dedup<T, K: Ord + Clone>(items: Vec<T>, key: impl Fn(&T) -> &K) -> Vec<T> {
    let mut seen = BTreeSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(key(item).clone()))
        .collect()
}

fn edn() -> impl Strategy<Value = Edn> {
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

fn hash_of(v: &Edn) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// Reads `text` every way there is; none may panic. Whatever reads must print and read back.
fn read_everything(text: &str) {
    if let Ok(v) = read(text) {
        assert_eq!(read(&v.to_string()).as_ref(), Ok(&v), "reprinting {text:?}");
    }
    for item in Reader::new(text) {
        match item {
            Ok((_, v)) => assert_eq!(read(&v.to_string()).as_ref(), Ok(&v), "reprinting {text:?}"),
            Err(e) => {
                assert!(e.line() >= 1 && e.column() >= 1);
                assert!(e.position().offset <= text.len());
            }
        }
    }
}

/// Characters that make up EDN syntax, to get deeper into the reader than random text does.
const EDN_ISH: &str = "[\\[\\](){}#_:\"\\\\ a-fnuxNMeE0-9.+\\-/;,\n^@'`~é]{0,64}";

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn printed_values_read_back(v in edn()) {
        let text = v.to_string();
        prop_assert_eq!(read(&text), Ok(v.clone()), "text: {}", text);
        let pretty = to_pretty_string(&v, 30);
        prop_assert_eq!(read(&pretty), Ok(v), "pretty text: {}", pretty);
    }

    #[test]
    fn order_equality_and_hash_agree(a in edn(), b in edn()) {
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        prop_assert_eq!(a == b, a.cmp(&b).is_eq());
        prop_assert_eq!(a.cmp(&a.clone()), std::cmp::Ordering::Equal);
        if a == b {
            prop_assert_eq!(hash_of(&a), hash_of(&b));
        }
        // Maps and sets equal their own reversal.
        let reversed = match &a {
            Edn::Map(m) => Edn::Map(m.iter().rev().cloned().collect()),
            Edn::Set(s) => Edn::Set(s.iter().rev().cloned().collect()),
            other => other.clone(),
        };
        prop_assert_eq!(&reversed, &a);
        prop_assert_eq!(hash_of(&reversed), hash_of(&a));
    }

    #[test]
    fn names_compare_as_their_namespace_and_name_pair(
        a in (prop::option::of("[ab/]{0,2}"), "[ab/]{0,2}"),
        b in (prop::option::of("[ab/]{0,2}"), "[ab/]{0,2}"),
    ) {
        // The model: the pair itself (no namespace first). A small alphabet with `/` makes
        // equal pairs and equal printed text with different parts both frequent.
        let pair = |p: &(Option<String>, String)| (p.0.clone(), p.1.clone());
        let want = pair(&a).cmp(&pair(&b));
        let sym = |p: &(Option<String>, String)| Symbol::new(p.0.as_deref(), &p.1);
        let kw = |p: &(Option<String>, String)| Keyword::new(p.0.as_deref(), &p.1);
        let (sa, sb, ka, kb) = (sym(&a), sym(&b), kw(&a), kw(&b));
        prop_assert_eq!(sa.cmp(&sb), want);
        prop_assert_eq!(ka.cmp(&kb), want);
        prop_assert_eq!(sa == sb, want.is_eq());
        prop_assert_eq!(ka == kb, want.is_eq());
        prop_assert_eq!((sa.namespace(), sa.name()), (a.0.as_deref(), a.1.as_str()));
        prop_assert_eq!((kb.namespace(), kb.name()), (b.0.as_deref(), b.1.as_str()));
        if want.is_eq() {
            prop_assert_eq!(hash_of(&Edn::Symbol(sa)), hash_of(&Edn::Symbol(sb)));
            prop_assert_eq!(hash_of(&Edn::Keyword(ka)), hash_of(&Edn::Keyword(kb)));
        }
    }

    #[test]
    fn order_is_transitive(mut values in prop::collection::vec(edn(), 3)) {
        values.sort();
        prop_assert!(values[0] <= values[1] && values[1] <= values[2] && values[0] <= values[2]);
    }

    #[test]
    fn reader_never_panics_on_arbitrary_text(text in any::<String>()) {
        read_everything(&text);
    }

    #[test]
    fn reader_never_panics_on_edn_like_text(text in EDN_ISH) {
        read_everything(&text);
    }

    #[test]
    fn reader_never_panics_on_mutated_edn(
        v in edn(),
        edits in prop::collection::vec((0u8..4, any::<prop::sample::Index>(), EDN_ISH), 1..4),
    ) {
        let mut chars: Vec<char> = v.to_string().chars().collect();
        for (kind, at, insert) in edits {
            let i = at.index(chars.len() + 1);
            match kind {
                0 if i < chars.len() => { chars.remove(i); }
                1 => { chars.splice(i..i, insert.chars().take(3)); }
                2 => chars.truncate(i),
                _ => {
                    let end = (i + 5).min(chars.len());
                    let copy: Vec<char> = chars[i.min(end)..end].to_vec();
                    chars.splice(i.min(end)..i.min(end), copy);
                }
            }
        }
        let text: String = chars.into_iter().collect();
        read_everything(&text);
    }
}
