//! EDN values: the data notation that Levin's queries, transactions and schemas are written in.
//!
//! [`Edn`] is one EDN value. [`read`] parses exactly one value from text, [`read_all`] parses
//! every value, and [`Reader`] streams values with their positions. `Display` prints canonical
//! EDN that reads back to an equal value, and [`to_pretty_string`] prints across lines.
//!
//! ```
//! use levin_edn::{read, Edn};
//!
//! let q = read("[:find ?e :where [?e :name \"Ivan\"]]").unwrap();
//! let clauses = q.as_vec().unwrap();
//! assert_eq!(clauses[0], Edn::kw("", "find"));
//! assert!(clauses[1].is_var());
//! assert_eq!(q.to_string(), "[:find ?e :where [?e :name \"Ivan\"]]");
//! ```
//!
//! [`transit`] reads and writes the same values as transit+json.

#![forbid(unsafe_code)]

mod error;
mod inst;
mod keyword;
mod printer;
mod qualified;
mod reader;
mod text;
pub mod transit;
mod uuid;

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

pub use levin_codec::BigDec;
pub use num_bigint::BigInt;

pub use error::{EdnError, EdnErrorKind, Position};
pub use inst::java_date_string;
pub use keyword::{Keyword, Symbol};
pub use printer::to_pretty_string;
pub use reader::{read, read_all, Reader, DEFAULT_MAX_DEPTH};
pub use text::Text;
pub use transit::TransitError;
pub use uuid::format_uuid;

/// One EDN value.
///
/// Equality, ordering and hashing are consistent with each other and total, so `Edn` can be a key
/// of `BTreeMap`/`HashMap` and an element of `BTreeSet`/`HashSet`:
///
/// * values of different variants are ordered by variant, in declaration order (so `1` and `1N`
///   and `1.0` are three different values, and a list never equals a vector);
/// * doubles are ordered by IEEE total order, except that every NaN equals every other NaN
///   (and sorts above `##Inf`); `-0.0` and `0.0` are different values;
/// * maps and sets compare as their sorted entries, so their equality ignores order.
///
/// [`Edn::Map`] and [`Edn::Set`] keep their elements in insertion order. The reader rejects
/// duplicate keys and elements; a value built by hand with duplicates is allowed but prints as
/// text that does not read back.
#[derive(Debug, Clone)]
pub enum Edn {
    /// `nil`.
    Nil,
    /// `true` or `false`.
    Bool(bool),
    /// An integer that fits in 64 bits, e.g. `42`, `-5`, `0x1F`.
    Long(i64),
    /// An integer written with an `N` suffix (`3N`) or too large for an `i64`. Boxed, like the
    /// other rare large variants, so that every `Edn` stays 32 bytes.
    BigInt(Box<BigInt>),
    /// A floating point number, e.g. `1.5`, `1e10`, `##Inf`, `##-Inf`, `##NaN`.
    Double(f64),
    /// An arbitrary-precision decimal written with an `M` suffix, e.g. `1.50M`.
    BigDec(Box<BigDec>),
    /// A string; its text is shared between clones (see [`Text`]).
    String(Text),
    /// A character, e.g. `\a`, `\newline`, `\u00e9`.
    Char(char),
    /// A keyword, e.g. `:a`, `:db/id`.
    Keyword(Keyword),
    /// A symbol, e.g. `?x`, `_`, `clojure.string/blank?`.
    Symbol(Symbol),
    /// `(a b c)`.
    List(Vec<Edn>),
    /// `[a b c]`.
    Vector(Vec<Edn>),
    /// `{k v, k v}`, in insertion order.
    Map(Vec<(Edn, Edn)>),
    /// `#{a b c}`, in insertion order.
    Set(Vec<Edn>),
    /// `#inst "1985-04-12T23:20:50.520Z"`: milliseconds since 1970-01-01T00:00:00Z.
    Inst(i64),
    /// `#uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"`: the 16 bytes in text order.
    Uuid([u8; 16]),
    /// Any other tagged value, `#tag value`: the tag and the value.
    Tagged(Box<(Symbol, Edn)>),
}

impl Edn {
    /// A keyword; an empty `namespace` gives a keyword without namespace.
    ///
    /// `Edn::kw("db", "id")` is `:db/id`, `Edn::kw("", "find")` is `:find`.
    pub fn kw(namespace: &str, name: &str) -> Edn {
        let ns = (!namespace.is_empty()).then_some(namespace);
        Edn::Keyword(Keyword::new(ns, name))
    }

    /// A symbol without namespace, e.g. `Edn::sym("?x")`. The name is taken as is (no `/` split).
    pub fn sym(name: &str) -> Edn {
        Edn::Symbol(Symbol::new(None, name))
    }

    /// A symbol with a namespace, e.g. `Edn::sym_ns("clojure.string", "blank?")`.
    pub fn sym_ns(namespace: &str, name: &str) -> Edn {
        Edn::Symbol(Symbol::new(Some(namespace), name))
    }

    /// An arbitrary-size integer (`3N`).
    pub fn big_int(n: BigInt) -> Edn {
        Edn::BigInt(Box::new(n))
    }

    /// An arbitrary-precision decimal (`1.50M`).
    pub fn big_dec(d: BigDec) -> Edn {
        Edn::BigDec(Box::new(d))
    }

    /// A tagged value `#tag value`.
    pub fn tagged(tag: Symbol, value: Edn) -> Edn {
        Edn::Tagged(Box::new((tag, value)))
    }

    /// The tag and the value, if this is a [`Edn::Tagged`].
    pub fn as_tagged(&self) -> Option<(&Symbol, &Edn)> {
        match self {
            Edn::Tagged(t) => Some((&t.0, &t.1)),
            _ => None,
        }
    }

    /// A string value.
    pub fn string(s: impl Into<Text>) -> Edn {
        Edn::String(s.into())
    }

    /// Whether this is `nil`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Edn::Nil)
    }

    /// The boolean, if this is `true` or `false`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Edn::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The integer, if this is a [`Edn::Long`].
    pub fn as_long(&self) -> Option<i64> {
        match self {
            Edn::Long(n) => Some(*n),
            _ => None,
        }
    }

    /// The number, if this is a [`Edn::Double`].
    pub fn as_double(&self) -> Option<f64> {
        match self {
            Edn::Double(d) => Some(*d),
            _ => None,
        }
    }

    /// The text, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Edn::String(s) => Some(s),
            _ => None,
        }
    }

    /// The keyword, if this is one.
    pub fn as_keyword(&self) -> Option<&Keyword> {
        match self {
            Edn::Keyword(k) => Some(k),
            _ => None,
        }
    }

    /// Whether this is the keyword `:namespace/name` (pass `""` for no namespace).
    pub fn is_kw(&self, namespace: &str, name: &str) -> bool {
        self.as_keyword().is_some_and(|k| k.is(namespace, name))
    }

    /// The symbol, if this is one.
    pub fn as_symbol(&self) -> Option<&Symbol> {
        match self {
            Edn::Symbol(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is a Datalog variable: a symbol without namespace starting with `?`.
    pub fn is_var(&self) -> bool {
        self.as_symbol().is_some_and(Symbol::is_var)
    }

    /// The elements, if this is a vector (not a list).
    pub fn as_vec(&self) -> Option<&[Edn]> {
        match self {
            Edn::Vector(v) => Some(v),
            _ => None,
        }
    }

    /// The elements, if this is a list (not a vector).
    pub fn as_list(&self) -> Option<&[Edn]> {
        match self {
            Edn::List(v) => Some(v),
            _ => None,
        }
    }

    /// The elements, if this is a list or a vector.
    pub fn as_seq(&self) -> Option<&[Edn]> {
        match self {
            Edn::List(v) | Edn::Vector(v) => Some(v),
            _ => None,
        }
    }

    /// The entries in insertion order, if this is a map.
    pub fn as_map(&self) -> Option<&[(Edn, Edn)]> {
        match self {
            Edn::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The elements in insertion order, if this is a set.
    pub fn as_set(&self) -> Option<&[Edn]> {
        match self {
            Edn::Set(s) => Some(s),
            _ => None,
        }
    }

    /// The value under `key`, if this is a map holding it (a linear search).
    pub fn get(&self, key: &Edn) -> Option<&Edn> {
        self.as_map()?
            .iter()
            .find_map(|(k, v)| (k == key).then_some(v))
    }

    /// The value under the keyword `:namespace/name` (pass `""` for no namespace), if this is a
    /// map holding it.
    pub fn get_kw(&self, namespace: &str, name: &str) -> Option<&Edn> {
        self.as_map()?
            .iter()
            .find_map(|(k, v)| k.is_kw(namespace, name).then_some(v))
    }

    /// A short description of the kind of value, for error messages: `"vector"`, `"keyword"`...
    pub fn type_name(&self) -> &'static str {
        match self {
            Edn::Nil => "nil",
            Edn::Bool(_) => "boolean",
            Edn::Long(_) => "integer",
            Edn::BigInt(_) => "big integer",
            Edn::Double(_) => "double",
            Edn::BigDec(_) => "big decimal",
            Edn::String(_) => "string",
            Edn::Char(_) => "character",
            Edn::Keyword(_) => "keyword",
            Edn::Symbol(_) => "symbol",
            Edn::List(_) => "list",
            Edn::Vector(_) => "vector",
            Edn::Map(_) => "map",
            Edn::Set(_) => "set",
            Edn::Inst(_) => "#inst",
            Edn::Uuid(_) => "#uuid",
            Edn::Tagged(_) => "tagged value",
        }
    }

    /// The position of the variant in the cross-variant order.
    fn rank(&self) -> u8 {
        match self {
            Edn::Nil => 0,
            Edn::Bool(_) => 1,
            Edn::Long(_) => 2,
            Edn::BigInt(_) => 3,
            Edn::Double(_) => 4,
            Edn::BigDec(_) => 5,
            Edn::String(_) => 6,
            Edn::Char(_) => 7,
            Edn::Keyword(_) => 8,
            Edn::Symbol(_) => 9,
            Edn::List(_) => 10,
            Edn::Vector(_) => 11,
            Edn::Map(_) => 12,
            Edn::Set(_) => 13,
            Edn::Inst(_) => 14,
            Edn::Uuid(_) => 15,
            Edn::Tagged(_) => 16,
        }
    }
}

/// All NaNs become one NaN so that they compare and hash alike.
fn canonical_f64(d: f64) -> f64 {
    if d.is_nan() {
        f64::NAN
    } else {
        d
    }
}

fn sorted<T: Ord>(items: &[T]) -> Vec<&T> {
    let mut refs: Vec<&T> = items.iter().collect();
    refs.sort();
    refs
}

fn cmp_unordered<T: Ord>(a: &[T], b: &[T]) -> Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| sorted(a).cmp(&sorted(b)))
}

impl Ord for Edn {
    fn cmp(&self, other: &Self) -> Ordering {
        use Edn::*;
        match (self, other) {
            (Nil, Nil) => Ordering::Equal,
            (Bool(a), Bool(b)) => a.cmp(b),
            (Long(a), Long(b)) => a.cmp(b),
            (BigInt(a), BigInt(b)) => a.cmp(b),
            (Double(a), Double(b)) => canonical_f64(*a).total_cmp(&canonical_f64(*b)),
            (BigDec(a), BigDec(b)) => a.cmp(b),
            (String(a), String(b)) => a.cmp(b),
            (Char(a), Char(b)) => a.cmp(b),
            (Keyword(a), Keyword(b)) => a.cmp(b),
            (Symbol(a), Symbol(b)) => a.cmp(b),
            (List(a), List(b)) | (Vector(a), Vector(b)) => a.cmp(b),
            (Map(a), Map(b)) => cmp_unordered(a, b),
            (Set(a), Set(b)) => cmp_unordered(a, b),
            (Inst(a), Inst(b)) => a.cmp(b),
            (Uuid(a), Uuid(b)) => a.cmp(b),
            (Tagged(a), Tagged(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Edn {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Edn {
    fn eq(&self, other: &Self) -> bool {
        use Edn::*;
        match (self, other) {
            // The common kinds first, compared directly (the same answer as `cmp`).
            (Long(a), Long(b)) | (Inst(a), Inst(b)) => a == b,
            (String(a), String(b)) => a == b,
            (Keyword(a), Keyword(b)) => a == b,
            (Map(a), Map(b)) => a.len() == b.len() && cmp_unordered(a, b) == Ordering::Equal,
            (Set(a), Set(b)) => a.len() == b.len() && cmp_unordered(a, b) == Ordering::Equal,
            (List(a), List(b)) | (Vector(a), Vector(b)) => a == b,
            (Tagged(a), Tagged(b)) => a == b,
            _ => self.cmp(other) == Ordering::Equal,
        }
    }
}

impl Eq for Edn {}

impl Hash for Edn {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u8(self.rank());
        match self {
            Edn::Nil => {}
            Edn::Bool(b) => b.hash(state),
            Edn::Long(n) => n.hash(state),
            Edn::BigInt(n) => n.hash(state),
            Edn::Double(d) => canonical_f64(*d).to_bits().hash(state),
            Edn::BigDec(d) => d.hash(state),
            Edn::String(s) => s.hash(state),
            Edn::Char(c) => c.hash(state),
            Edn::Keyword(k) => k.hash(state),
            Edn::Symbol(s) => s.hash(state),
            Edn::List(items) | Edn::Vector(items) => items.hash(state),
            Edn::Map(entries) => sorted(entries).hash(state),
            Edn::Set(items) => sorted(items).hash(state),
            Edn::Inst(ms) => ms.hash(state),
            Edn::Uuid(bytes) => bytes.hash(state),
            Edn::Tagged(t) => {
                t.0.hash(state);
                t.1.hash(state);
            }
        }
    }
}

impl FromStr for Edn {
    type Err = EdnError;

    /// Same as [`read`]: exactly one form.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        read(s)
    }
}

impl From<bool> for Edn {
    fn from(b: bool) -> Self {
        Edn::Bool(b)
    }
}

impl From<i64> for Edn {
    fn from(n: i64) -> Self {
        Edn::Long(n)
    }
}

impl From<f64> for Edn {
    fn from(d: f64) -> Self {
        Edn::Double(d)
    }
}

impl From<&str> for Edn {
    fn from(s: &str) -> Self {
        Edn::String(s.into())
    }
}

impl From<String> for Edn {
    fn from(s: String) -> Self {
        Edn::String(s.into())
    }
}

impl From<Text> for Edn {
    fn from(s: Text) -> Self {
        Edn::String(s)
    }
}

impl From<Keyword> for Edn {
    fn from(k: Keyword) -> Self {
        Edn::Keyword(k)
    }
}

impl From<Symbol> for Edn {
    fn from(s: Symbol) -> Self {
        Edn::Symbol(s)
    }
}

impl From<Vec<Edn>> for Edn {
    /// A vector.
    fn from(items: Vec<Edn>) -> Self {
        Edn::Vector(items)
    }
}

impl From<BigInt> for Edn {
    fn from(n: BigInt) -> Self {
        Edn::big_int(n)
    }
}

impl From<BigDec> for Edn {
    fn from(d: BigDec) -> Self {
        Edn::big_dec(d)
    }
}

#[cfg(test)]
mod tests {
    //! Unit tests for `Edn` equality, ordering, hashing and accessors.

    use super::*;
    use std::collections::{BTreeSet, HashSet};

    #[test]
    fn maps_and_sets_compare_without_order() {
        let a = Edn::Map(vec![
            (Edn::kw("", "a"), Edn::Long(1)),
            (Edn::kw("", "b"), Edn::Long(2)),
        ]);
        let b = Edn::Map(vec![
            (Edn::kw("", "b"), Edn::Long(2)),
            (Edn::kw("", "a"), Edn::Long(1)),
        ]);
        assert_eq!(a, b);
        assert_eq!(a.cmp(&b), Ordering::Equal);
        let mut hs = HashSet::new();
        hs.insert(a.clone());
        assert!(hs.contains(&b));
        let s1 = Edn::Set(vec![Edn::Long(1), Edn::Long(2)]);
        let s2 = Edn::Set(vec![Edn::Long(2), Edn::Long(1)]);
        assert_eq!(s1, s2);
        assert_ne!(s1, Edn::Set(vec![Edn::Long(1)]));
    }

    #[test]
    fn cross_variant_order_and_doubles() {
        let values = vec![
            Edn::Double(f64::NAN),
            Edn::Long(1),
            Edn::Nil,
            Edn::Double(-0.0),
            Edn::Double(0.0),
            Edn::big_int(BigInt::from(1)),
            Edn::Double(f64::INFINITY),
            Edn::Double(-f64::NAN),
        ];
        let set: BTreeSet<Edn> = values.into_iter().collect();
        let v: Vec<Edn> = set.into_iter().collect();
        assert_eq!(v.len(), 7, "two NaNs are one value: {v:?}");
        assert_eq!(v[0], Edn::Nil);
        assert_eq!(v[1], Edn::Long(1));
        assert_eq!(v[2], Edn::big_int(BigInt::from(1)));
        assert_eq!(v[3], Edn::Double(-0.0));
        assert_eq!(v[4], Edn::Double(0.0));
        assert_eq!(v[5], Edn::Double(f64::INFINITY));
        assert!(matches!(v[6], Edn::Double(d) if d.is_nan()));
        assert_ne!(Edn::List(vec![]), Edn::Vector(vec![]));
    }

    #[test]
    fn bigdec_equality_is_numeric_as_in_clojure() {
        // Clojure: (= 1.5M 1.50M) is true and the two hash alike; printing keeps the scale.
        let d = |u: i64, s: i32| Edn::big_dec(BigDec::new(u, s));
        assert_eq!(d(15, 1), d(150, 2));
        let hash = |e: &Edn| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            e.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&d(15, 1)), hash(&d(150, 2)));
        assert_eq!(d(150, 2).to_string(), "1.50M");
        assert_eq!(d(2, 0).cmp(&d(15, 1)), Ordering::Greater);
        assert_eq!(d(-2, 0).cmp(&d(-15, 1)), Ordering::Less);
        assert_eq!(
            d(1, -2_000_000_000).cmp(&d(1, 2_000_000_000)),
            Ordering::Greater
        );
        assert_eq!(d(0, 5), d(0, -5));
        assert_eq!(d(-1, 0).cmp(&d(0, 0)), Ordering::Less);
        assert_eq!(d(999, 3).cmp(&d(1, 0)), Ordering::Less);
        assert!(read("#{1.5M 1.50M}").is_err(), "equal elements of a set");
    }

    #[test]
    fn an_edn_value_is_32_bytes() {
        // Rows and result trees are made of `Edn` cells: every copy moves this many bytes.
        assert_eq!(std::mem::size_of::<Edn>(), 32);
        assert_eq!(std::mem::size_of::<Keyword>(), 24);
        assert_eq!(std::mem::size_of::<Symbol>(), 24);
    }

    #[test]
    fn accessors() {
        let m = read("{:db/id 5 :name \"x\" ?v (1 2)}").unwrap();
        assert_eq!(m.get_kw("db", "id"), Some(&Edn::Long(5)));
        assert_eq!(m.get(&Edn::kw("", "name")).and_then(Edn::as_str), Some("x"));
        assert_eq!(
            m.get(&Edn::sym("?v")).and_then(Edn::as_seq).map(<[_]>::len),
            Some(2)
        );
        assert!(m.get(&Edn::sym("?v")).unwrap().as_vec().is_none());
        assert_eq!(m.as_map().unwrap().len(), 3);
        assert!(Edn::sym("?x").is_var());
        assert!(!Edn::sym_ns("a", "?x").is_var());
        assert!(!Edn::kw("", "?x").is_var());
        assert_eq!(
            Edn::sym_ns("clojure.string", "blank?").to_string(),
            "clojure.string/blank?"
        );
        assert_eq!(Edn::kw("db", "id").to_string(), ":db/id");
        assert!(Edn::sym("$").as_symbol().unwrap().is_src_var());
        assert!(Edn::sym("%").as_symbol().unwrap().is_rules_var());
        assert!(Edn::sym("_").as_symbol().unwrap().is_placeholder());
        assert_eq!("[1]".parse::<Edn>().unwrap(), Edn::from(vec![Edn::from(1)]));
        assert_eq!(Edn::Nil.type_name(), "nil");
    }
}
