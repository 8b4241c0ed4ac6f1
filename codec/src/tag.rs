//! Type-tag bytes of the tagged encoding; their numeric order is the cross-type order of values.
//!
//! The table in `docs/ENCODING.md` lists the same bytes; a unit test keeps the two in step.

/// Tag of `boolean`.
pub const BOOLEAN: u8 = 0x10;
/// Tag of `long` (i64).
pub const LONG: u8 = 0x20;
/// Tag of `double` (f64).
pub const DOUBLE: u8 = 0x21;
/// Tag of `float` (f32).
pub const FLOAT: u8 = 0x22;
/// Tag of `bigint` (arbitrary precision integer).
pub const BIGINT: u8 = 0x23;
/// Tag of `bigdec` (arbitrary precision decimal).
pub const BIGDEC: u8 = 0x24;
/// Tag of `instant` (milliseconds since the Unix epoch).
pub const INSTANT: u8 = 0x30;
/// Tag of `string`.
pub const STRING: u8 = 0x40;
/// Tag of `keyword`.
pub const KEYWORD: u8 = 0x41;
/// Tag of `symbol`.
pub const SYMBOL: u8 = 0x42;
/// Tag of `uuid`.
pub const UUID: u8 = 0x50;
/// Tag of `bytes`.
pub const BYTES: u8 = 0x60;
/// Tag of `tuple` (elements tagged, any types).
pub const TUPLE: u8 = 0x70;
/// Tag of `data` (opaque bytes, no order promise).
pub const DATA: u8 = 0x7F;

/// Every tag with the name of its type, in tag order.
pub const ALL: [(u8, &str); 14] = [
    (BOOLEAN, "boolean"),
    (LONG, "long"),
    (DOUBLE, "double"),
    (FLOAT, "float"),
    (BIGINT, "bigint"),
    (BIGDEC, "bigdec"),
    (INSTANT, "instant"),
    (STRING, "string"),
    (KEYWORD, "keyword"),
    (SYMBOL, "symbol"),
    (UUID, "uuid"),
    (BYTES, "bytes"),
    (TUPLE, "tuple"),
    (DATA, "data"),
];

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = include_str!("../../docs/ENCODING.md");

    /// Rows of the tag table: lines like `| 0x20 | long | ... |`.
    fn doc_tags() -> Vec<(u8, String)> {
        DOC.lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
                if cells.len() < 2 {
                    return None;
                }
                let tag = cells[0].trim().trim_matches('`');
                let hex = tag.strip_prefix("0x")?;
                let tag = u8::from_str_radix(hex, 16).ok()?;
                let name = cells[1].trim().trim_matches('`').to_string();
                Some((tag, name))
            })
            .collect()
    }

    #[test]
    fn tags_match_docs_table() {
        let doc = doc_tags();
        let code: Vec<(u8, String)> = ALL.iter().map(|&(t, n)| (t, n.to_string())).collect();
        assert_eq!(
            doc, code,
            "tag table in docs/ENCODING.md differs from tag.rs"
        );
    }

    #[test]
    fn tags_are_strictly_increasing_and_nonzero() {
        assert!(ALL.windows(2).all(|w| w[0].0 < w[1].0));
        // 0x00 ends a nested dynamic tuple, 0x01 marks an untagged tuple element.
        assert!(ALL.iter().all(|&(t, _)| t > 0x01));
    }
}
