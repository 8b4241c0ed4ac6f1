//! [`check`]: integrity of the Datalog layer above the engine's own check: the catalog
//! kinds of its databases, the meta counters and schema entries in range, and the EAV and
//! AVE indexes holding exactly the same datoms.

use std::collections::HashSet;

use levin_engine::{Env, Read};

use crate::error::Result;
use crate::layout::{self, Dbs, Meta};
use crate::schema_store::load_schema;

/// The most problems listed before the check stops looking.
const MAX_PROBLEMS: usize = 100;

/// Checks the Datalog databases of `env` (none is fine: a key-value-only environment);
/// returns one line per problem found, empty when all is well. Errors are only for reads
/// that fail outright (the engine's own check reports damaged pages).
pub fn check(env: &Env) -> Result<Vec<String>> {
    let r = env.read()?;
    let names = r.db_names()?;
    let ours = [
        (layout::EAV, true),
        (layout::AVE, true),
        (layout::GIANTS, false),
        (layout::SCHEMA, false),
        (layout::META, false),
    ];
    let mut problems = Vec::new();
    let present: Vec<&str> = ours
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| names.iter().any(|m| m == n))
        .collect();
    if present.is_empty() {
        return Ok(problems);
    }
    for (name, list) in ours {
        if !present.contains(&name) {
            problems.push(format!("datalog: the database {name} is missing"));
            continue;
        }
        let db = r.open_db(name)?;
        if db.is_list() != list {
            problems.push(format!(
                "datalog: the catalog entry of {name} says it is a {} database; it must be a {} one",
                if db.is_list() { "list" } else { "plain" },
                if list { "list" } else { "plain" },
            ));
        }
    }
    if !problems.is_empty() {
        return Ok(problems);
    }
    let dbs = Dbs::open(&r)?;
    let meta = match Meta::read(&r, &dbs) {
        Ok(m) => m,
        Err(e) => {
            problems.push(format!("datalog meta: {e}"));
            return Ok(problems);
        }
    };
    let limit = layout::giant_limit_for(env.max_key_size());
    if meta.giant_limit != limit {
        problems.push(format!(
            "datalog meta: the giant limit is {}, but this page size needs {limit}",
            meta.giant_limit
        ));
        return Ok(problems);
    }
    let schema = match load_schema(&r, &dbs) {
        Ok(s) => s,
        Err(e) => {
            problems.push(format!("datalog schema: {e}"));
            return Ok(problems);
        }
    };
    let mut aids = HashSet::new();
    for a in schema.attrs() {
        aids.insert(a.id);
        if a.id == 0 || a.id > meta.max_aid {
            problems.push(format!(
                "datalog schema: {} has attribute id {}, outside 1..={} (the meta's max)",
                a.ident, a.id, meta.max_aid
            ));
        }
    }
    // Every EAV datom has its AVE entry; with equal counts (list values are sets), every
    // AVE entry has its EAV datom too.
    let mut eav_count = 0u64;
    for kv in r.iter(&dbs.eav)? {
        if problems.len() >= MAX_PROBLEMS {
            break;
        }
        let (k, item) = kv?;
        eav_count += 1;
        let e = match layout::eid_of(k) {
            Ok(e) => e,
            Err(err) => {
                problems.push(format!("datalog eav: {err}"));
                continue;
            }
        };
        if e == 0 || e > meta.max_eid {
            problems.push(format!(
                "datalog eav: entity id {e} is outside 1..={} (the meta's max)",
                meta.max_eid
            ));
        }
        let (aid, part) = match layout::split_item(item) {
            Ok(x) => x,
            Err(err) => {
                problems.push(format!("datalog eav: entity {e}: {err}"));
                continue;
            }
        };
        if !aids.contains(&aid) {
            problems.push(format!(
                "datalog eav: entity {e} has a datom of attribute id {aid}, which the schema lacks"
            ));
        }
        if let Err(err) = layout::part_value(&r, &dbs, meta.giant_limit, part) {
            problems.push(format!(
                "datalog eav: entity {e}, attribute id {aid}: {err}"
            ));
        }
        if !r.in_list(&dbs.ave, item, &layout::eid_bytes(e))? {
            problems.push(format!(
                "datalog: entity {e}, attribute id {aid}: the EAV datom has no AVE entry"
            ));
        }
    }
    let mut ave_count = 0u64;
    for kv in r.iter(&dbs.ave)? {
        if problems.len() >= MAX_PROBLEMS {
            break;
        }
        let (item, e) = kv?;
        ave_count += 1;
        let e = match layout::eid_of(e) {
            Ok(e) => e,
            Err(err) => {
                problems.push(format!("datalog ave: {err}"));
                continue;
            }
        };
        if !r.in_list(&dbs.eav, &layout::eid_bytes(e), item)? {
            let aid = layout::split_item(item).map(|(a, _)| a).unwrap_or(0);
            problems.push(format!(
                "datalog: entity {e}, attribute id {aid}: the AVE entry has no EAV datom"
            ));
        }
    }
    if problems.is_empty() && eav_count != ave_count {
        problems.push(format!(
            "datalog: EAV holds {eav_count} datoms but AVE {ave_count}"
        ));
    }
    Ok(problems)
}
