"""One program written against Datalevin's Python API, run unchanged but for the import and
the connect string on either package; it prints its answers as canonical JSON.

    python datalevin_compat.py datalevin DIR     # Datalevin 1.2.8, embedded (JPype, JDK 21+)
    python datalevin_compat.py levin URI_PREFIX  # levin, against `levin serve`

URI_PREFIX is ``levin://user:pass@host:port/`` (the database names are appended).
"""

from __future__ import annotations

import datetime
import importlib
import json
import sys
import uuid
from decimal import Decimal


def canon(v):
    """Both packages' answers in one comparable form (keywords as ":x" strings, sets and
    unordered relations sorted)."""
    if isinstance(v, bool) or v is None or isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        return str(v)
    if isinstance(v, (set, frozenset)):
        return {"#set": sorted((canon(x) for x in v), key=json.dumps)}
    if isinstance(v, dict) or hasattr(v, "items"):
        return {"#map": sorted(([canon(k), canon(x)] for k, x in v.items()), key=json.dumps)}
    if isinstance(v, (list, tuple)):
        return [canon(x) for x in v]
    if isinstance(v, (uuid.UUID, Decimal, datetime.datetime)):
        return str(v)
    return repr(v)


def unordered(rows):
    return {"#set": sorted((canon(r) for r in rows), key=json.dumps)}


def program(dl, target):
    """Written for `datalevin`; `dl` is the module, `target` what connect/open_kv take."""
    schema = {
        ":person/name": {":db/valueType": ":db.type/string", ":db/unique": ":db.unique/identity"},
        ":person/age": {":db/valueType": ":db.type/long"},
        ":person/friend": {":db/valueType": ":db.type/ref", ":db/cardinality": ":db.cardinality/many"},
    }
    out = {}
    with dl.connect(target("people"), schema=schema) as conn:
        report = conn.transact([
            {":db/id": -1, ":person/name": "Ada", ":person/age": 36},
            {":db/id": -2, ":person/name": "Bob", ":person/age": 20, ":person/friend": [-1]},
            {":db/id": -3, ":person/name": "Cy", ":person/age": 5, ":person/friend": [-1, -2]},
        ])
        out["tempids"] = sorted(v for k, v in report[":tempids"].items() if k in (-1, -2, -3))
        out["names"] = unordered(conn.query("[:find ?n :where [?e :person/name ?n]]"))
        out["adults"] = sorted(conn.query(
            "[:find [?n ...] :in $ ?min :where [?e :person/age ?a] [(>= ?a ?min)] [?e :person/name ?n]]", 18))
        out["scalar"] = conn.query("[:find ?a . :in $ ?n :where [?e :person/name ?n] [?e :person/age ?a]]", "Bob")
        out["count"] = conn.query("[:find (count ?e) . :where [?e :person/name]]")
        out["pull"] = canon(conn.pull([":person/name", ":person/age"], [":person/name", "Ada"]))
        out["pull_many"] = canon(conn.pull_many([":person/name"], [[":person/name", "Bob"], [":person/name", "Cy"]]))
        friends = conn.pull([":person/name", {":person/friend": [":person/name"]}], [":person/name", "Cy"])
        out["nested"] = {str(k): (unordered(v) if isinstance(v, list) else canon(v)) for k, v in friends.items()}
        out["entity_age"] = conn.entity([":person/name", "Ada"]).get(":person/age")
        out["datoms"] = [canon(dl.datom_v(d)) for d in conn.datoms(":ave", ":person/name")]
        out["count_datoms"] = conn.count_datoms(None, ":person/name", None)
        out["max_eid"] = conn.max_eid()
        out["schema_attrs"] = sorted(str(k) for k in conn.schema() if str(k).startswith(":person/"))
        conn.update_schema({":person/nick": {":db/valueType": ":db.type/string"}})
        conn.transact([[":db/add", [":person/name", "Ada"], ":person/nick", "Countess"]])
        out["nick"] = conn.query('[:find ?k . :where [?e :person/nick ?k]]')
        rules = dl.read_edn("[[(reach ?a ?b) [?a :person/friend ?b]] [(reach ?a ?b) [?a :person/friend ?x] (reach ?x ?b)]]")
        out["rules"] = sorted(conn.query(
            "[:find [?n ...] :in $ % :where [?c :person/name \"Cy\"] (reach ?c ?f) [?f :person/name ?n]]", rules))
        q, tx = dl.q, dl.tx
        e, n = q.var("e"), q.var("n")
        conn.transact(tx.data(tx.entity(-1, {"person/name": "Dee", "person/age": 41})))
        out["builder"] = sorted(conn.query(q.query(find=q.collection(n), where=[q.datom(e, "person/name", n)])))
    with dl.open_kv(target("cache")) as kv:
        kv.open_dbi("nums")
        kv.transact([[":put", "nums", i, f"v{i}", ":long", ":string"] for i in range(1, 6)])
        out["kv_get"] = kv.get_value("nums", 3, ":long", ":string", True)
        out["kv_range"] = canon(kv.get_range("nums", [":closed", 2, 4], ":long", ":string"))
        out["kv_back"] = canon(kv.key_range("nums", [":all-back"], ":long"))
        out["kv_count"] = kv.range_count("nums", [":greater-than", 2], ":long")
        out["kv_first"] = canon(kv.get_first("nums", [":at-least", 4], ":long", ":string"))
    return out


def main() -> None:
    which, where = sys.argv[1], sys.argv[2]
    dl = importlib.import_module(which)
    if which == "datalevin":
        target = lambda name: f"{where}/{name}"  # noqa: E731
    else:
        target = lambda name: where + name  # noqa: E731
    print(json.dumps(canon(program(dl, target)), sort_keys=True))


if __name__ == "__main__":
    main()
