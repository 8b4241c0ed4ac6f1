//! Property tests: for every type, in both encodings, byte order of encodings
//! equals value order and decoding inverts encoding.

use std::cmp::Ordering;

use levin_codec::{
    decode_typed, decode_value, encode_typed, encode_value, AnyValue, BigDec, BigInt, Bytes, Codec,
    Decimal, Double, Float, Keyword, Long, Name, Str, Value, ValueType,
};
use num_bigint::Sign;
use proptest::collection::vec;
use proptest::prelude::*;

fn tagged(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode_value(v, &mut out).unwrap();
    out
}

fn typed(v: &Value, ty: &ValueType) -> Vec<u8> {
    let mut out = Vec::new();
    encode_typed(v, ty, &mut out).unwrap();
    out
}

/// Bytes that stress escaping: many zeros, 0x01 and 0xFF.
fn arb_bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![Just(0u8), Just(1u8), Just(0xFFu8), Just(b'a'), any::<u8>()],
        0..6,
    )
}

/// Strings from a small alphabet (so prefixes and ties are common, with NUL
/// and multi-byte characters), or arbitrary ones.
fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => vec(
            prop_oneof![
                Just('\0'),
                Just('\u{1}'),
                Just('a'),
                Just('b'),
                Just('é'),
                Just('\u{FFFF}'),
                Just('\u{10FFFF}')
            ],
            0..5
        )
        .prop_map(|cs| cs.into_iter().collect()),
        1 => any::<String>(),
    ]
}

fn arb_ns() -> impl Strategy<Value = Option<String>> {
    prop_oneof![Just(None), arb_string().prop_map(Some)]
}

fn arb_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("no NaN", |x| !x.is_nan()),
        (-3i32..3).prop_map(f64::from),
        prop::sample::select(vec![
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            5e-324,
            -5e-324
        ]),
    ]
}

fn arb_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        any::<f32>().prop_filter("no NaN", |x| !x.is_nan()),
        (-3i16..3).prop_map(f32::from),
        prop::sample::select(vec![
            0.0f32,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MIN_POSITIVE,
            f32::MAX,
            f32::MIN
        ]),
    ]
}

/// Bigints from tiny to far beyond i128 (up to 48 magnitude bytes).
fn arb_bigint() -> impl Strategy<Value = BigInt> {
    prop_oneof![
        (-300i64..300).prop_map(BigInt::from),
        any::<i64>().prop_map(BigInt::from),
        (any::<bool>(), vec(any::<u8>(), 0..48)).prop_map(|(neg, mag)| {
            BigInt::from_bytes_be(if neg { Sign::Minus } else { Sign::Plus }, &mag)
        }),
    ]
}

/// Bigdecs with scales that make numerically equal values likely.
fn arb_bigdec() -> impl Strategy<Value = BigDec> {
    prop_oneof![
        (-1000i64..1000, -4i32..6).prop_map(|(u, s)| BigDec::new(u, s)),
        (arb_bigint(), -40i32..40).prop_map(|(u, s)| BigDec::new(u, s)),
        (arb_bigint(), any::<i32>()).prop_map(|(u, s)| BigDec::new(u, s)),
    ]
}

fn arb_instant() -> impl Strategy<Value = i64> {
    prop_oneof![
        -100_000_000_000_000i64..100_000_000_000_000, // ±3000 years around 1970
        -3i64..3,
        any::<i64>(),
    ]
}

fn arb_long() -> impl Strategy<Value = i64> {
    prop_oneof![any::<i64>(), -3i64..3, Just(i64::MIN), Just(i64::MAX)]
}

fn arb_uuid() -> impl Strategy<Value = [u8; 16]> {
    prop_oneof![any::<[u8; 16]>(), (0u8..3).prop_map(|b| [b; 16])]
}

/// A value of a scalar (non-tuple) type.
fn scalar_of(ty: &ValueType) -> BoxedStrategy<Value> {
    match ty {
        ValueType::Boolean => any::<bool>().prop_map(Value::Boolean).boxed(),
        ValueType::Long => arb_long().prop_map(Value::Long).boxed(),
        ValueType::Double => arb_f64().prop_map(Value::Double).boxed(),
        ValueType::Float => arb_f32().prop_map(Value::Float).boxed(),
        ValueType::BigInt => arb_bigint().prop_map(Value::BigInt).boxed(),
        ValueType::BigDec => arb_bigdec().prop_map(Value::BigDec).boxed(),
        ValueType::Instant => arb_instant().prop_map(Value::Instant).boxed(),
        ValueType::String => arb_string().prop_map(Value::String).boxed(),
        ValueType::Keyword => (arb_ns(), arb_string())
            .prop_map(|(ns, name)| Value::Keyword { ns, name })
            .boxed(),
        ValueType::Symbol => (arb_ns(), arb_string())
            .prop_map(|(ns, name)| Value::Symbol { ns, name })
            .boxed(),
        ValueType::Uuid => arb_uuid().prop_map(Value::Uuid).boxed(),
        ValueType::Bytes => arb_bytes().prop_map(Value::Bytes).boxed(),
        ValueType::Data => arb_bytes().prop_map(Value::Data).boxed(),
        ValueType::Tuple | ValueType::HomTuple(_) | ValueType::HetTuple(_) => {
            unreachable!("not a scalar type")
        }
    }
}

const SCALARS: [ValueType; 13] = [
    ValueType::Boolean,
    ValueType::Long,
    ValueType::Double,
    ValueType::Float,
    ValueType::BigInt,
    ValueType::BigDec,
    ValueType::Instant,
    ValueType::String,
    ValueType::Keyword,
    ValueType::Symbol,
    ValueType::Uuid,
    ValueType::Bytes,
    ValueType::Data,
];

fn arb_scalar_type() -> impl Strategy<Value = ValueType> {
    prop::sample::select(SCALARS.to_vec())
}

/// Any value, tuples (of mixed types) included.
fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = arb_scalar_type().prop_flat_map(|t| scalar_of(&t));
    leaf.prop_recursive(3, 24, 4, |inner| vec(inner, 0..4).prop_map(Value::Tuple))
}

/// Any declared type, typed tuples included.
fn arb_type() -> impl Strategy<Value = ValueType> {
    let leaf = prop_oneof![6 => arb_scalar_type(), 1 => Just(ValueType::Tuple)];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| ValueType::HomTuple(Box::new(t))),
            vec(inner, 1..4).prop_map(ValueType::HetTuple),
        ]
    })
}

/// A value of the declared type `ty`.
fn value_of(ty: &ValueType) -> BoxedStrategy<Value> {
    match ty {
        ValueType::Tuple => vec(arb_value(), 0..4).prop_map(Value::Tuple).boxed(),
        ValueType::HomTuple(t) => vec(value_of(t), 0..4).prop_map(Value::Tuple).boxed(),
        ValueType::HetTuple(ts) => {
            let elems: Vec<BoxedStrategy<Value>> = ts.iter().map(value_of).collect();
            (elems, 0..=ts.len())
                .prop_map(|(mut vs, n)| {
                    vs.truncate(n);
                    Value::Tuple(vs)
                })
                .boxed()
        }
        t => scalar_of(t),
    }
}

/// A declared type and two values of it.
fn arb_typed_pair() -> impl Strategy<Value = (ValueType, Value, Value)> {
    arb_type().prop_flat_map(|t| {
        let s = value_of(&t);
        (Just(t), s.clone(), s)
    })
}

/// Two values of one scalar type.
fn arb_scalar_pair() -> impl Strategy<Value = (Value, Value)> {
    arb_scalar_type().prop_flat_map(|t| {
        let s = scalar_of(&t);
        (s.clone(), s)
    })
}

/// Checks order and round trip in the tagged encoding.
fn check_tagged(a: &Value, b: &Value) -> Result<(), TestCaseError> {
    let (ea, eb) = (tagged(a), tagged(b));
    prop_assert_eq!(a.cmp(b), ea.cmp(&eb), "{:?} vs {:?}", a, b);
    prop_assert_eq!(&decode_value(&ea).unwrap(), a);
    prop_assert_eq!(&decode_value(&eb).unwrap(), b);
    prop_assert_eq!(AnyValue::decode(&ea).unwrap(), a.clone());
    Ok(())
}

/// Checks order and round trip in the typed encoding of `ty`.
fn check_typed(ty: &ValueType, a: &Value, b: &Value) -> Result<(), TestCaseError> {
    let (ea, eb) = (typed(a, ty), typed(b, ty));
    prop_assert_eq!(a.cmp(b), ea.cmp(&eb), "{} {:?} vs {:?}", ty, a, b);
    prop_assert_eq!(&decode_typed(&ea, ty).unwrap(), a);
    prop_assert_eq!(&decode_typed(&eb, ty).unwrap(), b);
    Ok(())
}

proptest! {
    #[test]
    fn tagged_same_type(pair in arb_scalar_pair()) {
        check_tagged(&pair.0, &pair.1)?;
    }

    #[test]
    fn tagged_any_values(a in arb_value(), b in arb_value()) {
        check_tagged(&a, &b)?;
    }

    #[test]
    fn tagged_tuples_of_mixed_types(a in vec(arb_value(), 0..5), b in vec(arb_value(), 0..5)) {
        check_tagged(&Value::Tuple(a), &Value::Tuple(b))?;
    }

    #[test]
    fn typed_every_type((ty, a, b) in arb_typed_pair()) {
        check_typed(&ty, &a, &b)?;
        check_tagged(&a, &b)?;
    }

    #[test]
    fn tuple_prefix_sorts_first_and_is_byte_prefix(
        (ty, a, b) in arb_type().prop_flat_map(|t| {
            let s = value_of(&t);
            (Just(t), s.clone(), s)
        })
    ) {
        // [a] is a prefix of [a b], as dynamic and as homogeneous tuples.
        let short = Value::Tuple(vec![a.clone()]);
        let long = Value::Tuple(vec![a, b]);
        prop_assert!(short < long);
        for t in [ValueType::Tuple, ValueType::HomTuple(Box::new(ty))] {
            let (es, el) = (typed(&short, &t), typed(&long, &t));
            prop_assert!(el.starts_with(&es));
            prop_assert!(es < el);
        }
        let (es, el) = (tagged(&short), tagged(&long));
        prop_assert!(el.starts_with(&es));
    }

    #[test]
    fn equal_bigdecs_encode_equally(u in arb_bigint(), s in -1000i32..1000, k in 0u32..30) {
        let a = BigDec::new(u.clone(), s);
        let b = BigDec::new(u * BigInt::from(10).pow(k), s + k as i32);
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(a.cmp(&b), Ordering::Equal);
        let (ea, eb) = (Decimal::to_vec(&a).unwrap(), Decimal::to_vec(&b).unwrap());
        prop_assert_eq!(&ea, &eb);
        prop_assert_eq!(tagged(&Value::BigDec(a.clone())), tagged(&Value::BigDec(b)));
        let back = Decimal::decode(&ea).unwrap();
        prop_assert_eq!(&back, &a);
        prop_assert_eq!(back, a.normalized().unwrap());
    }

    #[test]
    fn bigdec_order_matches_f64_roughly(a in -1_000_000i64..1_000_000, sa in -3i32..6,
                                        b in -1_000_000i64..1_000_000, sb in -3i32..6) {
        // Exact rational comparison: a·10^-sa vs b·10^-sb, cross-multiplied.
        let (da, db) = (BigDec::new(a, sa), BigDec::new(b, sb));
        let m = sa.max(sb);
        let ia = BigInt::from(a) * BigInt::from(10).pow((m - sa) as u32);
        let ib = BigInt::from(b) * BigInt::from(10).pow((m - sb) as u32);
        prop_assert_eq!(da.cmp(&db), ia.cmp(&ib));
        let (ea, eb) = (Decimal::to_vec(&da).unwrap(), Decimal::to_vec(&db).unwrap());
        prop_assert_eq!(ea.cmp(&eb), ia.cmp(&ib));
    }

    #[test]
    fn long_codec(a in arb_long(), b in arb_long()) {
        let (ea, eb) = (Long::to_vec(&a).unwrap(), Long::to_vec(&b).unwrap());
        prop_assert_eq!(a.cmp(&b), ea.cmp(&eb));
        prop_assert_eq!(Long::decode(&ea).unwrap(), a);
    }

    #[test]
    fn double_and_float_codecs(a in arb_f64(), b in arb_f64(), c in arb_f32(), d in arb_f32()) {
        let norm = |x: f64| if x == 0.0 { 0.0 } else { x };
        let (ea, eb) = (Double::to_vec(&a).unwrap(), Double::to_vec(&b).unwrap());
        prop_assert_eq!(norm(a).total_cmp(&norm(b)), ea.cmp(&eb));
        prop_assert_eq!(Double::decode(&ea).unwrap().to_bits(), norm(a).to_bits());
        let normf = |x: f32| if x == 0.0 { 0.0 } else { x };
        let (ec, ed) = (Float::to_vec(&c).unwrap(), Float::to_vec(&d).unwrap());
        prop_assert_eq!(normf(c).total_cmp(&normf(d)), ec.cmp(&ed));
        prop_assert_eq!(Float::decode(&ec).unwrap().to_bits(), normf(c).to_bits());
    }

    #[test]
    fn str_and_bytes_codecs(a in arb_string(), b in arb_string(), x in arb_bytes()) {
        let (ea, eb) = (Str::to_vec(&a).unwrap(), Str::to_vec(&b).unwrap());
        prop_assert_eq!(a.cmp(&b), ea.cmp(&eb));
        prop_assert_eq!(Str::decode(&ea).unwrap(), a.as_str());
        let ex = Bytes::to_vec(&x).unwrap();
        prop_assert_eq!(Bytes::decode(&ex).unwrap(), &x[..]);
    }

    #[test]
    fn keyword_codec(a in (arb_ns(), arb_string()), b in (arb_ns(), arb_string())) {
        let (a, b) = (Name { ns: a.0, name: a.1 }, Name { ns: b.0, name: b.1 });
        let (ea, eb) = (Keyword::to_vec(&a).unwrap(), Keyword::to_vec(&b).unwrap());
        prop_assert_eq!(a.cmp(&b), ea.cmp(&eb));
        prop_assert_eq!(Keyword::decode(&ea).unwrap(), a);
    }

    #[test]
    fn decoding_garbage_never_panics(bytes in vec(any::<u8>(), 0..24), ty in arb_type()) {
        // Whatever decodes must re-encode to the same bytes (one encoding per value).
        if let Ok(v) = decode_value(&bytes) {
            prop_assert_eq!(tagged(&v), bytes.clone());
        }
        if let Ok(v) = decode_typed(&bytes, &ty) {
            prop_assert_eq!(typed(&v, &ty), bytes);
        }
    }
}

#[test]
fn negative_instants_sort_before_1970() {
    let xs = [
        i64::MIN,
        -86_400_000 * 365 * 100,
        -1,
        0,
        1,
        1_700_000_000_000,
    ];
    for w in xs.windows(2) {
        let (a, b) = (Value::Instant(w[0]), Value::Instant(w[1]));
        assert!(tagged(&a) < tagged(&b));
        assert!(typed(&a, &ValueType::Instant) < typed(&b, &ValueType::Instant));
    }
}

#[test]
fn bigints_beyond_i128() {
    let big = BigInt::from(i128::MAX) * BigInt::from(i128::MAX);
    let xs = [
        -big.clone() * 2,
        -big.clone(),
        BigInt::from(i128::MIN),
        BigInt::from(0),
        BigInt::from(i128::MAX),
        big.clone(),
        big.clone() + 1,
        big << 4000,
    ];
    for w in xs.windows(2) {
        let (a, b) = (Value::BigInt(w[0].clone()), Value::BigInt(w[1].clone()));
        assert!(tagged(&a) < tagged(&b), "{a:?} < {b:?}");
        assert_eq!(decode_value(&tagged(&a)).unwrap(), a);
    }
}
