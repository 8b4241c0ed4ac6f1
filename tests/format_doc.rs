//! docs/FORMAT.md against the code: the constants table, the size-limits table, and the
//! byte layouts of the meta page, the tree descriptor, leaf and branch entries, free-list
//! keys and the lock file (header, reader slots, record-lock bytes). A constant, limit or
//! layout that changes without the document fails here, and so does a new `pub const` in
//! the format files that the document lacks.

use std::collections::BTreeMap;

use levin_btree::layout::*;
use levin_btree::node::{branch_entry, leaf_entry};
use levin_btree::Limits;
use levin_pager::format::*;
use levin_pager::lockfile::{
    LockFile, LockHeader, ReaderSlot, LOCK_BYTE_INIT, LOCK_BYTE_OWNERS, LOCK_BYTE_USERS,
    LOCK_BYTE_WRITER, LOCK_HEADER_SIZE, LOCK_MAGIC, LOCK_VERSION, NO_SNAPSHOT, READER_SLOT_SIZE,
};
use levin_pager::{Meta, TreeInfo, WrittenPages};
use levin_txn::freelist::{pages_per_chunk, FreeKey, FREE_KEY_SIZE};

const DOC: &str = include_str!("../docs/FORMAT.md");
const FORMAT_RS: &str = include_str!("../pager/src/format.rs");
const LAYOUT_RS: &str = include_str!("../btree/src/layout.rs");
const FREELIST_RS: &str = include_str!("../txn/src/freelist.rs");
const LOCKFILE_RS: &str = include_str!("../pager/src/lockfile.rs");

/// The constants given as byte strings rather than numbers.
const BYTE_CONSTANTS: [&str; 2] = ["MAGIC", "LOCK_MAGIC"];

/// The lines of the section that starts with the heading `## {title}`.
fn section(title: &str) -> Vec<&'static str> {
    let heading = format!("## {title}");
    let mut lines = DOC.lines().skip_while(|l| l.trim() != heading);
    assert!(
        lines.next().is_some(),
        "docs/FORMAT.md has no section {heading:?}"
    );
    lines.take_while(|l| !l.starts_with("## ")).collect()
}

/// The body rows of every markdown table in section `title` (subsections included), in
/// order, as trimmed cells.
fn tables(title: &str) -> Vec<Vec<Vec<String>>> {
    let mut all: Vec<Vec<Vec<String>>> = Vec::new();
    let mut in_table = false;
    for l in section(title) {
        let l = l.trim();
        if !l.starts_with('|') {
            in_table = false;
            continue;
        }
        if !in_table {
            all.push(Vec::new());
            in_table = true;
        }
        let row = l[1..l.len() - 1]
            .split('|')
            .map(|c| c.trim().to_string())
            .collect();
        all.last_mut().expect("a table was started").push(row);
    }
    assert!(!all.is_empty(), "no table in section {title:?}");
    // Skip each table's header row and its `|---|` separator.
    all.into_iter()
        .map(|rows| {
            assert!(rows.len() > 2, "an empty table in section {title:?}");
            rows.into_iter().skip(2).collect()
        })
        .collect()
}

/// The body rows of the first markdown table in section `title`, as trimmed cells.
fn table(title: &str) -> Vec<Vec<String>> {
    tables(title).swap_remove(0)
}

fn num(cell: &str) -> u64 {
    cell.trim_matches('`')
        .parse()
        .unwrap_or_else(|_| panic!("{cell:?} is not a number"))
}

/// Names of the `pub const` items declared in a source file.
fn pub_consts(src: &str) -> Vec<String> {
    src.lines()
        .filter_map(|l| l.trim().strip_prefix("pub const "))
        .map(|rest| rest.split(':').next().unwrap().trim().to_string())
        .collect()
}

/// The value of every constant the document must list, as the code has it.
fn code_constants() -> BTreeMap<&'static str, u64> {
    let c: [(&str, u64); 51] = [
        ("FORMAT_VERSION", FORMAT_VERSION.into()),
        ("OLDEST_READABLE_VERSION", OLDEST_READABLE_VERSION.into()),
        ("MIN_PAGE_SIZE", MIN_PAGE_SIZE as u64),
        ("MAX_PAGE_SIZE", MAX_PAGE_SIZE as u64),
        ("DEFAULT_PAGE_SIZE", DEFAULT_PAGE_SIZE as u64),
        ("FIRST_DATA_PAGE", FIRST_DATA_PAGE),
        ("TREE_INFO_SIZE", TREE_INFO_SIZE as u64),
        ("TREE_FLAG_LIST", TREE_FLAG_LIST.into()),
        ("META_MAGIC_OFF", META_MAGIC_OFF as u64),
        ("META_VERSION_OFF", META_VERSION_OFF as u64),
        ("META_PAGE_SIZE_OFF", META_PAGE_SIZE_OFF as u64),
        ("META_TXN_ID_OFF", META_TXN_ID_OFF as u64),
        ("META_NPAGES_OFF", META_NPAGES_OFF as u64),
        ("META_CATALOG_OFF", META_CATALOG_OFF as u64),
        ("META_FREE_OFF", META_FREE_OFF as u64),
        ("META_CRC_OFF", META_CRC_OFF as u64),
        ("META_SIZE", META_SIZE as u64),
        ("META_RUN_COUNT_OFF", META_RUN_COUNT_OFF as u64),
        ("META_DIGEST_OFF", META_DIGEST_OFF as u64),
        ("META_RUNS_OFF", META_RUNS_OFF as u64),
        ("META_RUN_SIZE", META_RUN_SIZE as u64),
        ("MAX_RECORD_RUNS", MAX_RECORD_RUNS as u64),
        ("MAX_RECORD_BYTES", MAX_RECORD_BYTES as u64),
        ("PAGE_HEADER_SIZE", PAGE_HEADER_SIZE as u64),
        ("HDR_KIND_OFF", HDR_KIND_OFF as u64),
        ("HDR_FLAGS_OFF", HDR_FLAGS_OFF as u64),
        ("HDR_NKEYS_OFF", HDR_NKEYS_OFF as u64),
        ("HDR_UPPER_OFF", HDR_UPPER_OFF as u64),
        ("HDR_CHECKSUM_OFF", HDR_CHECKSUM_OFF as u64),
        ("HDR_PGNO_OFF", HDR_PGNO_OFF as u64),
        ("KIND_BRANCH", KIND_BRANCH.into()),
        ("KIND_LEAF", KIND_LEAF.into()),
        ("KIND_OVERFLOW", KIND_OVERFLOW.into()),
        ("LEAF_ENTRY_HEADER", LEAF_ENTRY_HEADER as u64),
        ("BRANCH_ENTRY_HEADER", BRANCH_ENTRY_HEADER as u64),
        ("SLOT_SIZE", SLOT_SIZE as u64),
        ("VAL_INLINE", VAL_INLINE.into()),
        ("VAL_OVERFLOW", VAL_OVERFLOW.into()),
        ("VAL_LIST", VAL_LIST.into()),
        ("VAL_TREE", VAL_TREE.into()),
        ("OVERFLOW_REF_SIZE", OVERFLOW_REF_SIZE as u64),
        ("MAX_KEY_SIZE", MAX_KEY_SIZE as u64),
        ("FREE_KEY_SIZE", FREE_KEY_SIZE as u64),
        ("LOCK_VERSION", LOCK_VERSION.into()),
        ("LOCK_HEADER_SIZE", LOCK_HEADER_SIZE as u64),
        ("READER_SLOT_SIZE", READER_SLOT_SIZE as u64),
        ("NO_SNAPSHOT", NO_SNAPSHOT),
        ("LOCK_BYTE_INIT", LOCK_BYTE_INIT),
        ("LOCK_BYTE_USERS", LOCK_BYTE_USERS),
        ("LOCK_BYTE_WRITER", LOCK_BYTE_WRITER),
        ("LOCK_BYTE_OWNERS", LOCK_BYTE_OWNERS),
    ];
    c.into_iter().collect()
}

/// Reads a backquoted byte string such as `` `LEVIN\0DB` `` (only `\0` is an escape).
fn doc_bytes(cell: &str) -> Vec<u8> {
    let s = cell
        .strip_prefix('`')
        .and_then(|s| s.strip_suffix('`'))
        .unwrap_or_else(|| panic!("{cell:?} is not a backquoted byte string"));
    s.replace("\\0", "\0").into_bytes()
}

#[test]
fn constants_table_matches_the_code() {
    let rows = table("Constants");
    let mut doc: BTreeMap<String, String> = BTreeMap::new();
    for r in &rows {
        assert_eq!(r.len(), 2, "constants row {r:?} must be | NAME | value |");
        assert!(
            doc.insert(r[0].clone(), r[1].clone()).is_none(),
            "{} is listed twice",
            r[0]
        );
    }

    // The magics are the non-numeric constants.
    let magic = doc.get("MAGIC").expect("MAGIC is missing from the table");
    assert_eq!(doc_bytes(magic), MAGIC, "MAGIC differs from the code");
    let lock_magic = doc
        .get("LOCK_MAGIC")
        .expect("LOCK_MAGIC is missing from the table");
    assert_eq!(
        doc_bytes(lock_magic),
        LOCK_MAGIC.to_le_bytes(),
        "LOCK_MAGIC differs from the code"
    );

    let code = code_constants();
    for (name, value) in &code {
        let cell = doc
            .get(*name)
            .unwrap_or_else(|| panic!("{name} is missing from the constants table"));
        assert_eq!(
            num(cell),
            *value,
            "{name}: docs/FORMAT.md says {cell}, the code says {value}"
        );
    }
    for name in doc.keys() {
        assert!(
            BYTE_CONSTANTS.contains(&name.as_str()) || code.contains_key(name.as_str()),
            "the constants table lists {name}, which this test does not know"
        );
    }
}

#[test]
fn every_format_constant_in_the_sources_is_documented() {
    let code = code_constants();
    let mut declared = pub_consts(FORMAT_RS);
    declared.extend(pub_consts(LAYOUT_RS));
    declared.extend(pub_consts(LOCKFILE_RS));
    declared.extend(
        pub_consts(FREELIST_RS)
            .into_iter()
            .filter(|n| n == "FREE_KEY_SIZE"),
    );
    assert!(declared.len() >= code.len());
    for name in declared {
        assert!(
            BYTE_CONSTANTS.contains(&name.as_str()) || code.contains_key(name.as_str()),
            "pub const {name} is new: document it in docs/FORMAT.md (Constants) \
             and add it to tests/format_doc.rs"
        );
    }
}

#[test]
fn size_limits_table_matches_the_code() {
    let rows = table("Size limits");
    let mut sizes = Vec::new();
    for r in &rows {
        let ps = num(&r[0]) as usize;
        let l = Limits::new(ps);
        let want = [
            l.max_entry,
            l.max_key,
            l.list_inline_max,
            pages_per_chunk(&l),
        ];
        let got: Vec<usize> = r[1..].iter().map(|c| num(c) as usize).collect();
        assert_eq!(
            got, want,
            "limits for {ps}-byte pages (max_entry, max_key, list_inline_max, pages per free record)"
        );
        sizes.push(ps);
    }
    let mut all = Vec::new();
    let mut ps = MIN_PAGE_SIZE;
    while ps <= MAX_PAGE_SIZE {
        all.push(ps);
        ps *= 2;
    }
    assert_eq!(sizes, all, "the limits table must list every page size");
}

/// Checks an (offset | size | field ...) table against encoded bytes: `field` gives the
/// expected bytes of each named field.
fn check_layout(title: &str, bytes: &[u8], field: impl Fn(&str) -> Option<Vec<u8>>) {
    check_rows(title, table(title), bytes, field);
}

/// [`check_layout`] for given table rows.
fn check_rows(
    title: &str,
    rows: Vec<Vec<String>>,
    bytes: &[u8],
    field: impl Fn(&str) -> Option<Vec<u8>>,
) {
    let mut seen = 0;
    for r in rows {
        let name = r[2].as_str();
        let Some(want) = field(name) else {
            assert!(
                matches!(name, "" | "key" | "value field" | "separator key" | "runs"),
                "{title}: the test does not know field {name:?}"
            );
            continue;
        };
        let (off, size) = (num(&r[0]) as usize, num(&r[1]) as usize);
        assert_eq!(size, want.len(), "{title}: size of {name}");
        assert_eq!(
            &bytes[off..off + size],
            &want[..],
            "{title}: bytes of {name}"
        );
        seen += 1;
    }
    assert!(seen > 0, "{title}: no field checked");
}

fn sample_tree(seed: u64) -> TreeInfo {
    TreeInfo {
        root: seed + 0x0102_0304_0506_0708,
        entries: seed + 0x1112_1314_1516_1718,
        depth: 0x2122_2324,
        flags: TREE_FLAG_LIST,
        branch_pages: seed + 0x3132_3334_3536_3738,
        leaf_pages: seed + 0x4142_4344_4546_4748,
        overflow_pages: seed + 0x5152_5354_5556_5758,
    }
}

fn tree_bytes(t: &TreeInfo) -> Vec<u8> {
    let mut b = vec![0u8; TREE_INFO_SIZE];
    t.encode(&mut b);
    b
}

#[test]
fn tree_descriptor_layout_matches_the_code() {
    let t = sample_tree(0);
    let b = tree_bytes(&t);
    check_layout("Tree descriptor (TreeInfo)", &b, |name| {
        Some(match name {
            "root" => t.root.to_le_bytes().to_vec(),
            "entries" => t.entries.to_le_bytes().to_vec(),
            "depth" => t.depth.to_le_bytes().to_vec(),
            "flags" => t.flags.to_le_bytes().to_vec(),
            "branch pages" => t.branch_pages.to_le_bytes().to_vec(),
            "leaf pages" => t.leaf_pages.to_le_bytes().to_vec(),
            "overflow pages" => t.overflow_pages.to_le_bytes().to_vec(),
            _ => return None,
        })
    });
}

#[test]
fn meta_page_layout_matches_the_code() {
    let meta = Meta {
        page_size: 4096,
        txn_id: 0x0102_0304_0506_0708,
        npages: 0x1112_1314_1516_1718,
        catalog: sample_tree(1),
        free: sample_tree(2),
    };
    let written = WrittenPages {
        runs: vec![
            (0x2122_2324_2526_2728, 3),
            (0x3132_3334_3536_3738, 0x4142_4344),
        ],
        digest: 0x5152_5354_5556_5758_595A_5B5C_5D5E_5F60,
    };
    let mut page = vec![0xAAu8; 4096];
    meta.encode(&mut page, Some(&written));
    // The CRC the document describes: CRC-32/ISO-HDLC of bytes 0..128, then of the record
    // (run count, digest and two runs of 12 bytes).
    let record_end = 152 + 2 * 12;
    let mut crc_input = page[..128].to_vec();
    crc_input.extend_from_slice(&page[132..record_end]);
    let crc = crc32_iso_hdlc(&crc_input);
    check_layout("Meta pages", &page, |name| {
        Some(match name {
            "magic" => b"LEVIN\0DB".to_vec(),
            "version" => 2u32.to_le_bytes().to_vec(),
            "page size" => 4096u32.to_le_bytes().to_vec(),
            "txn id" => meta.txn_id.to_le_bytes().to_vec(),
            "npages" => meta.npages.to_le_bytes().to_vec(),
            "catalog" => tree_bytes(&meta.catalog),
            "free" => tree_bytes(&meta.free),
            "crc" => crc.to_le_bytes().to_vec(),
            "run count" => 2u32.to_le_bytes().to_vec(),
            "digest" => written.digest.to_le_bytes().to_vec(),
            _ => return None,
        })
    });
    for (i, &(first, count)) in written.runs.iter().enumerate() {
        let run = &page[152 + i * 12..152 + (i + 1) * 12];
        // The second table of the section ("Written-pages run").
        let rows = tables("Meta pages").swap_remove(1);
        check_rows("Meta pages: written-pages run", rows, run, |name| {
            Some(match name {
                "first page" => first.to_le_bytes().to_vec(),
                "page count" => count.to_le_bytes().to_vec(),
                _ => return None,
            })
        });
    }
    assert!(
        page[record_end..].iter().all(|&b| b == 0),
        "meta tail is zero"
    );
    assert_eq!(Meta::decode(&page), Ok((meta, Some(written))));
    // A torn meta fails its CRC, in the fixed part or in the record.
    for byte in [20, 140, record_end - 1] {
        let mut torn = page.clone();
        torn[byte] ^= 1;
        assert!(Meta::decode(&torn).is_err(), "byte {byte}");
    }
    // Without a record: a run count of 0 and a zero digest, under the same CRC rule.
    meta.encode(&mut page, None);
    let mut crc_input = page[..128].to_vec();
    crc_input.extend_from_slice(&page[132..152]);
    assert_eq!(page[128..132], crc32_iso_hdlc(&crc_input).to_le_bytes());
    assert!(page[132..].iter().all(|&b| b == 0));
    assert_eq!(Meta::decode(&page), Ok((meta, None)));
}

/// A version 1 meta (132 bytes, the CRC over bytes 0..128 alone, no record), as files
/// written before version 2 hold, still opens.
#[test]
fn a_version_1_meta_is_read() {
    let meta = Meta {
        page_size: 4096,
        txn_id: 9,
        npages: 20,
        catalog: sample_tree(1),
        free: sample_tree(2),
    };
    let mut page = vec![0u8; 4096];
    meta.encode(&mut page, None);
    page[8..12].copy_from_slice(&1u32.to_le_bytes());
    let crc = crc32_iso_hdlc(&page[..128]);
    page[128..132].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(Meta::decode(&page), Ok((meta, None)));
    page[12] ^= 1;
    assert!(Meta::decode(&page).is_err());
}

/// Bitwise CRC-32 (reflected 0xEDB88320, init and final XOR 0xFFFFFFFF), written out here
/// so the test checks the document's definition rather than the crate the code uses.
fn crc32_iso_hdlc(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn crc_check_value() {
    assert_eq!(crc32_iso_hdlc(b"123456789"), 0xCBF4_3926);
}

#[test]
fn leaf_and_branch_entry_layouts_match_the_code() {
    let key = b"key-bytes";
    let val = b"a value";
    let e = leaf_entry(key, VAL_INLINE, val);
    assert_eq!(e.len(), LEAF_ENTRY_HEADER + key.len() + val.len());
    assert_eq!(&e[7..7 + key.len()], key);
    assert_eq!(&e[7 + key.len()..], val);
    check_layout("Leaf entries and values", &e, |name| {
        Some(match name {
            "key length `klen`, u16" => (key.len() as u16).to_le_bytes().to_vec(),
            "value kind" => vec![VAL_INLINE],
            "value field length `vlen`, u32" => (val.len() as u32).to_le_bytes().to_vec(),
            _ => return None,
        })
    });

    let child = 0x0102_0304_0506_0708u64;
    let count = 0x1112_1314_1516_1718u64;
    let b = branch_entry(key, child, count);
    assert_eq!(b.len(), BRANCH_ENTRY_HEADER + key.len());
    assert_eq!(&b[18..], key);
    check_layout("Branch entries", &b, |name| {
        Some(match name {
            "key length `klen`, u16" => (key.len() as u16).to_le_bytes().to_vec(),
            "child page, u64" => child.to_le_bytes().to_vec(),
            "count: entries in the child's subtree, u64" => count.to_le_bytes().to_vec(),
            _ => return None,
        })
    });
}

#[test]
fn free_key_layout_matches_the_code() {
    let k = FreeKey {
        freed_by: 0x0102_0304_0506_0708,
        writer: 0x1112_1314_1516_1718,
        chunk: 0x2122,
    };
    let b = k.encode();
    check_layout("The free tree", &b, |name| {
        Some(match name {
            "freed_by" => k.freed_by.to_be_bytes().to_vec(),
            "writer" => k.writer.to_be_bytes().to_vec(),
            "chunk" => k.chunk.to_be_bytes().to_vec(),
            _ => return None,
        })
    });
    assert_eq!(FreeKey::decode(&b), Some(k));
}

/// Checks that an (offset | size | field ...) table of the lock file tiles a struct of
/// `total` bytes exactly, and that each named field sits where `field` says (offset, size).
fn check_struct_table(
    what: &str,
    rows: &[Vec<String>],
    total: usize,
    field: impl Fn(&str) -> Option<(usize, usize)>,
) -> BTreeMap<String, (usize, usize)> {
    let mut at = 0;
    let mut named = BTreeMap::new();
    for r in rows {
        let (off, size, name) = (num(&r[0]) as usize, num(&r[1]) as usize, r[2].as_str());
        assert_eq!(
            off, at,
            "{what}: row {name:?} does not follow the previous row"
        );
        at += size;
        if name.is_empty() {
            continue;
        }
        let want = field(name).unwrap_or_else(|| panic!("{what}: unknown field {name:?}"));
        assert_eq!((off, size), want, "{what}: offset and size of {name}");
        named.insert(name.to_string(), (off, size));
    }
    assert_eq!(at, total, "{what}: the rows must cover all {total} bytes");
    named
}

/// Field name to (offset, size), as a layout table in the doc gives it.
type FieldTable = BTreeMap<String, (usize, usize)>;

fn lock_file_tables() -> (FieldTable, FieldTable) {
    use std::mem::{offset_of, size_of};
    let t = tables("The lock file");
    assert!(
        t.len() >= 3,
        "The lock file: header, slot and record-lock tables"
    );
    let header = check_struct_table("lock file header", &t[0], size_of::<LockHeader>(), |name| {
        Some(match name {
            "magic" => (offset_of!(LockHeader, magic), 8),
            "version" => (offset_of!(LockHeader, version), 4),
            "slots" => (offset_of!(LockHeader, slots), 4),
            "committed" => (offset_of!(LockHeader, committed), 8),
            _ => return None,
        })
    });
    let slot = check_struct_table("reader slot", &t[1], size_of::<ReaderSlot>(), |name| {
        Some(match name {
            "txn" => (offset_of!(ReaderSlot, txn), 8),
            "owner" => (offset_of!(ReaderSlot, owner), 4),
            "pid" => (offset_of!(ReaderSlot, pid), 4),
            "started_ms" => (offset_of!(ReaderSlot, started_ms), 8),
            _ => return None,
        })
    });
    assert_eq!(size_of::<LockHeader>(), LOCK_HEADER_SIZE);
    assert_eq!(size_of::<ReaderSlot>(), READER_SLOT_SIZE);
    (header, slot)
}

#[test]
fn lock_file_layout_matches_the_code() {
    let (header, slot) = lock_file_tables();
    assert_eq!(header.len(), 4, "every header field is documented");
    assert_eq!(slot.len(), 4, "every slot field is documented");

    // The record-lock table: | byte | constant | ... |
    let locks = &tables("The lock file")[2];
    let mut seen = Vec::new();
    for r in locks {
        let name = r[1].trim_matches('`');
        let value = match name {
            "LOCK_BYTE_INIT" => LOCK_BYTE_INIT,
            "LOCK_BYTE_USERS" => LOCK_BYTE_USERS,
            "LOCK_BYTE_WRITER" => LOCK_BYTE_WRITER,
            "LOCK_BYTE_OWNERS" => LOCK_BYTE_OWNERS,
            _ => panic!("record-lock table: unknown constant {name:?}"),
        };
        // The owner bytes' row gives the first of them: "4294967296 + k".
        let byte = r[0].split(" + ").next().unwrap_or(&r[0]).to_string();
        assert_eq!(num(&byte), value, "record-lock table: byte of {name}");
        seen.push(name.to_string());
    }
    assert_eq!(seen.len(), 4, "record-lock table: one row per lock byte");
}

#[test]
fn a_fresh_lock_file_has_the_documented_bytes() {
    let (header, slot) = lock_file_tables();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lock.levin");
    let nslots = 3usize;
    {
        let lock = LockFile::open(&path, nslots).unwrap();
        lock.end_init();
        assert_eq!(lock.slots().len(), nslots);
    }
    // Read only after the LockFile is gone: opening another descriptor of the file and
    // closing it would drop this process's record locks on it.
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), LOCK_HEADER_SIZE + nslots * READER_SLOT_SIZE);
    let field = |fields: &BTreeMap<String, (usize, usize)>, base: usize, name: &str| {
        let (off, size) = fields[name];
        bytes[base + off..base + off + size].to_vec()
    };
    assert_eq!(field(&header, 0, "magic"), b"LEVINLCK");
    assert_eq!(field(&header, 0, "version"), LOCK_VERSION.to_le_bytes());
    assert_eq!(field(&header, 0, "slots"), (nslots as u32).to_le_bytes());
    assert_eq!(field(&header, 0, "committed"), NO_SNAPSHOT.to_le_bytes());
    assert!(
        bytes[24..LOCK_HEADER_SIZE].iter().all(|&b| b == 0),
        "the header's reserved bytes are zero"
    );
    for i in 0..nslots {
        let base = LOCK_HEADER_SIZE + i * READER_SLOT_SIZE;
        assert_eq!(field(&slot, base, "txn"), NO_SNAPSHOT.to_le_bytes());
        assert_eq!(field(&slot, base, "owner"), 0u32.to_le_bytes());
        assert_eq!(field(&slot, base, "pid"), 0u32.to_le_bytes());
        assert_eq!(field(&slot, base, "started_ms"), 0u64.to_le_bytes());
        assert!(
            bytes[base + 8..base + READER_SLOT_SIZE]
                .iter()
                .all(|&b| b == 0),
            "slot {i}: everything but txn is zero"
        );
    }
}
