//! The dynamic [`Value`] enum, its [`ValueType`], and the total order both encodings preserve.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use num_bigint::BigInt;

use crate::bigdec::BigDec;
use crate::{float, tag};

/// A value of any storable type.
///
/// `Ord` is the order of the tagged encoding: values of different types order
/// by their type tag (the order of the variants below), values of one type by
/// their natural order. `Eq` and `Hash` agree with `Ord`: `Double(-0.0) ==
/// Double(0.0)`, and bigdecs compare by numeric value (`1.0 == 1.00`).
///
/// Doubles and floats use the IEEE total order (after -0.0 is made 0.0) so a
/// `Value` holding NaN still has a place in the order; such a value cannot be
/// encoded, though.
#[derive(Debug, Clone)]
pub enum Value {
    /// `boolean`: false before true.
    Boolean(bool),
    /// `long`: a signed 64-bit integer.
    Long(i64),
    /// `double`: a 64-bit float, NaN not storable, -0.0 stored as 0.0.
    Double(f64),
    /// `float`: a 32-bit float, NaN not storable, -0.0 stored as 0.0.
    Float(f32),
    /// `bigint`: an arbitrary precision integer.
    BigInt(BigInt),
    /// `bigdec`: an arbitrary precision decimal.
    BigDec(BigDec),
    /// `instant`: milliseconds since 1970-01-01T00:00:00Z, negative before it.
    Instant(i64),
    /// `string`: orders like `str` (UTF-8 byte order).
    String(String),
    /// `keyword`: orders by (namespace, name), no namespace first.
    Keyword {
        /// The namespace, if any.
        ns: Option<String>,
        /// The name.
        name: String,
    },
    /// `symbol`: orders by (namespace, name), no namespace first.
    Symbol {
        /// The namespace, if any.
        ns: Option<String>,
        /// The name.
        name: String,
    },
    /// `uuid`: 16 bytes, ordered as bytes.
    Uuid([u8; 16]),
    /// `bytes`: ordered as bytes.
    Bytes(Vec<u8>),
    /// `tuple`: element-wise order, a shorter prefix first.
    Tuple(Vec<Value>),
    /// `data`: opaque bytes; kept in byte order but no meaning is promised.
    Data(Vec<u8>),
}

/// The type of a value, or the declared type of a key or value column.
///
/// The first fourteen variants are the types of [`Value`]'s variants. The two
/// last ones exist only as declared types for the untagged typed encoding:
/// a tuple whose element types are fixed, so its elements need no tags.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueType {
    /// `boolean`.
    Boolean,
    /// `long`.
    Long,
    /// `double`.
    Double,
    /// `float`.
    Float,
    /// `bigint`.
    BigInt,
    /// `bigdec`.
    BigDec,
    /// `instant`.
    Instant,
    /// `string`.
    String,
    /// `keyword`.
    Keyword,
    /// `symbol`.
    Symbol,
    /// `uuid`.
    Uuid,
    /// `bytes`.
    Bytes,
    /// `tuple` whose elements may be of any type; each element carries its tag.
    Tuple,
    /// `data`.
    Data,
    /// Homogeneous tuple `[t ...]`: any number of elements, all of this type.
    HomTuple(Box<ValueType>),
    /// Heterogeneous tuple `[t1 t2 ...]`: element `i` has type `i`. A value
    /// may be shorter than the declared list (a prefix, for range scans), not
    /// longer.
    HetTuple(Vec<ValueType>),
}

impl ValueType {
    /// The type tag of values of this type (tuples of every kind share one).
    pub fn tag(&self) -> u8 {
        match self {
            ValueType::Boolean => tag::BOOLEAN,
            ValueType::Long => tag::LONG,
            ValueType::Double => tag::DOUBLE,
            ValueType::Float => tag::FLOAT,
            ValueType::BigInt => tag::BIGINT,
            ValueType::BigDec => tag::BIGDEC,
            ValueType::Instant => tag::INSTANT,
            ValueType::String => tag::STRING,
            ValueType::Keyword => tag::KEYWORD,
            ValueType::Symbol => tag::SYMBOL,
            ValueType::Uuid => tag::UUID,
            ValueType::Bytes => tag::BYTES,
            ValueType::Tuple | ValueType::HomTuple(_) | ValueType::HetTuple(_) => tag::TUPLE,
            ValueType::Data => tag::DATA,
        }
    }

    /// The type whose tag is `tag`, if any.
    pub fn from_tag(tag: u8) -> Option<ValueType> {
        Some(match tag {
            tag::BOOLEAN => ValueType::Boolean,
            tag::LONG => ValueType::Long,
            tag::DOUBLE => ValueType::Double,
            tag::FLOAT => ValueType::Float,
            tag::BIGINT => ValueType::BigInt,
            tag::BIGDEC => ValueType::BigDec,
            tag::INSTANT => ValueType::Instant,
            tag::STRING => ValueType::String,
            tag::KEYWORD => ValueType::Keyword,
            tag::SYMBOL => ValueType::Symbol,
            tag::UUID => ValueType::Uuid,
            tag::BYTES => ValueType::Bytes,
            tag::TUPLE => ValueType::Tuple,
            tag::DATA => ValueType::Data,
            _ => return None,
        })
    }

    /// The name of a scalar type (`long`, `string`, ...); `tuple` for tuples.
    pub fn name(&self) -> &'static str {
        match self {
            ValueType::Boolean => "boolean",
            ValueType::Long => "long",
            ValueType::Double => "double",
            ValueType::Float => "float",
            ValueType::BigInt => "bigint",
            ValueType::BigDec => "bigdec",
            ValueType::Instant => "instant",
            ValueType::String => "string",
            ValueType::Keyword => "keyword",
            ValueType::Symbol => "symbol",
            ValueType::Uuid => "uuid",
            ValueType::Bytes => "bytes",
            ValueType::Tuple | ValueType::HomTuple(_) | ValueType::HetTuple(_) => "tuple",
            ValueType::Data => "data",
        }
    }

    /// The name with an article, as it reads in an error message: `a long`.
    pub(crate) fn with_article(&self) -> &'static str {
        match self {
            ValueType::Boolean => "a boolean",
            ValueType::Long => "a long",
            ValueType::Double => "a double",
            ValueType::Float => "a float",
            ValueType::BigInt => "a bigint",
            ValueType::BigDec => "a bigdec",
            ValueType::Instant => "an instant",
            ValueType::String => "a string",
            ValueType::Keyword => "a keyword",
            ValueType::Symbol => "a symbol",
            ValueType::Uuid => "a uuid",
            ValueType::Bytes => "bytes",
            ValueType::Tuple | ValueType::HomTuple(_) | ValueType::HetTuple(_) => "a tuple",
            ValueType::Data => "data",
        }
    }
}

/// `long`, `tuple`, `[long ...]` (homogeneous), `[long string]` (heterogeneous).
impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueType::HomTuple(t) => write!(f, "[{t} ...]"),
            ValueType::HetTuple(ts) => {
                f.write_str("[")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str("]")
            }
            t => f.write_str(t.name()),
        }
    }
}

impl Value {
    /// The value's type (`ValueType::Tuple` for every tuple).
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Boolean(_) => ValueType::Boolean,
            Value::Long(_) => ValueType::Long,
            Value::Double(_) => ValueType::Double,
            Value::Float(_) => ValueType::Float,
            Value::BigInt(_) => ValueType::BigInt,
            Value::BigDec(_) => ValueType::BigDec,
            Value::Instant(_) => ValueType::Instant,
            Value::String(_) => ValueType::String,
            Value::Keyword { .. } => ValueType::Keyword,
            Value::Symbol { .. } => ValueType::Symbol,
            Value::Uuid(_) => ValueType::Uuid,
            Value::Bytes(_) => ValueType::Bytes,
            Value::Tuple(_) => ValueType::Tuple,
            Value::Data(_) => ValueType::Data,
        }
    }

    /// The value's type tag, the first byte of its tagged encoding.
    pub fn tag(&self) -> u8 {
        match self {
            Value::Boolean(_) => tag::BOOLEAN,
            Value::Long(_) => tag::LONG,
            Value::Double(_) => tag::DOUBLE,
            Value::Float(_) => tag::FLOAT,
            Value::BigInt(_) => tag::BIGINT,
            Value::BigDec(_) => tag::BIGDEC,
            Value::Instant(_) => tag::INSTANT,
            Value::String(_) => tag::STRING,
            Value::Keyword { .. } => tag::KEYWORD,
            Value::Symbol { .. } => tag::SYMBOL,
            Value::Uuid(_) => tag::UUID,
            Value::Bytes(_) => tag::BYTES,
            Value::Tuple(_) => tag::TUPLE,
            Value::Data(_) => tag::DATA,
        }
    }

    /// A keyword `:ns/name` (or `:name` when `ns` is `None`).
    pub fn keyword(ns: Option<&str>, name: &str) -> Value {
        Value::Keyword {
            ns: ns.map(str::to_owned),
            name: name.to_owned(),
        }
    }

    /// A symbol `ns/name` (or `name` when `ns` is `None`).
    pub fn symbol(ns: Option<&str>, name: &str) -> Value {
        Value::Symbol {
            ns: ns.map(str::to_owned),
            name: name.to_owned(),
        }
    }
}

/// A keyword or symbol name with an optional namespace, as the
/// [`crate::Keyword`] and [`crate::Symbol`] codecs take and return it.
///
/// Orders by (namespace, name), no namespace first, like the encodings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name {
    /// The namespace, if any.
    pub ns: Option<String>,
    /// The name.
    pub name: String,
}

impl Name {
    /// `ns/name`, or just `name` when `ns` is `None`.
    pub fn new(ns: Option<&str>, name: &str) -> Self {
        Name {
            ns: ns.map(str::to_owned),
            name: name.to_owned(),
        }
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Self) -> Ordering {
        use Value::*;
        match (self, other) {
            (Boolean(a), Boolean(b)) => a.cmp(b),
            (Long(a), Long(b)) | (Instant(a), Instant(b)) => a.cmp(b),
            (Double(a), Double(b)) => float::cmp_f64(*a, *b),
            (Float(a), Float(b)) => float::cmp_f32(*a, *b),
            (BigInt(a), BigInt(b)) => a.cmp(b),
            (BigDec(a), BigDec(b)) => a.cmp(b),
            (String(a), String(b)) => a.cmp(b),
            (Keyword { ns: n1, name: a }, Keyword { ns: n2, name: b })
            | (Symbol { ns: n1, name: a }, Symbol { ns: n2, name: b }) => (n1, a).cmp(&(n2, b)),
            (Uuid(a), Uuid(b)) => a.cmp(b),
            (Bytes(a), Bytes(b)) | (Data(a), Data(b)) => a.cmp(b),
            (Tuple(a), Tuple(b)) => a.cmp(b),
            _ => self.tag().cmp(&other.tag()),
        }
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Value {}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.tag().hash(state);
        match self {
            Value::Boolean(b) => b.hash(state),
            Value::Long(n) | Value::Instant(n) => n.hash(state),
            Value::Double(d) => float::canonical_f64(*d).to_bits().hash(state),
            Value::Float(f) => float::canonical_f32(*f).to_bits().hash(state),
            Value::BigInt(n) => n.hash(state),
            Value::BigDec(d) => d.hash(state),
            Value::String(s) => s.hash(state),
            Value::Keyword { ns, name } | Value::Symbol { ns, name } => (ns, name).hash(state),
            Value::Uuid(u) => u.hash(state),
            Value::Bytes(b) | Value::Data(b) => b.hash(state),
            Value::Tuple(t) => t.hash(state),
        }
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Boolean(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Long(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Double(v)
    }
}

impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Value::Float(v)
    }
}

impl From<BigInt> for Value {
    fn from(v: BigInt) -> Self {
        Value::BigInt(v)
    }
}

impl From<BigDec> for Value {
    fn from(v: BigDec) -> Self {
        Value::BigDec(v)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}

impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::Tuple(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_type_order_is_tag_order() {
        let vals = [
            Value::Boolean(true),
            Value::Long(i64::MIN),
            Value::Double(-1.0),
            Value::Float(-1.0),
            Value::BigInt(BigInt::from(-5)),
            Value::BigDec(BigDec::new(BigInt::from(-5), 0)),
            Value::Instant(-1),
            Value::String(String::new()),
            Value::keyword(None, ""),
            Value::symbol(None, ""),
            Value::Uuid([0; 16]),
            Value::Bytes(vec![]),
            Value::Tuple(vec![]),
            Value::Data(vec![]),
        ];
        for w in vals.windows(2) {
            assert!(w[0] < w[1], "{:?} < {:?}", w[0], w[1]);
        }
        for v in &vals {
            assert_eq!(ValueType::from_tag(v.tag()), Some(v.value_type()));
            assert_eq!(v.value_type().tag(), v.tag());
        }
    }

    #[test]
    fn negative_zero_equals_zero() {
        assert_eq!(Value::Double(-0.0), Value::Double(0.0));
        assert_eq!(Value::Float(-0.0), Value::Float(0.0));
    }

    #[test]
    fn display_of_types() {
        assert_eq!(ValueType::Long.to_string(), "long");
        assert_eq!(
            ValueType::HomTuple(Box::new(ValueType::String)).to_string(),
            "[string ...]"
        );
        assert_eq!(
            ValueType::HetTuple(vec![ValueType::Long, ValueType::Keyword]).to_string(),
            "[long keyword]"
        );
    }
}
