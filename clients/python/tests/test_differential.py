"""The same queries through the Python client and the Rust client (`levin query URI ...`,
whose EDN output is read back here) give equal answers."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

import levin
from levin import EdnList, read_edn, write_edn
from conftest import levin_bin

DATA = '''[{:db/id -1 :person/name "Ada" :person/age 36 :person/email "ada@x.org" :person/tags #{:math :poet}}
 {:db/id -2 :person/name "Bob" :person/age 20 :person/friend -1 :person/score 2.5}
 {:db/id -3 :person/name "Cy" :person/age 5 :person/friend -2 :person/born #inst "2019-05-01T00:00:00.000Z"}
 {:db/id -4 :person/name "Dee" :person/age 41 :person/friend -1 :person/id #uuid "6f1c2c1e-7d6a-4a3e-9a51-0b8a3a1f2c3d"}]'''

SCHEMA = {":person/name": {":db/valueType": ":db.type/string", ":db/unique": ":db.unique/identity"},
          ":person/friend": {":db/valueType": ":db.type/ref"},
          ":person/tags": {":db/valueType": ":db.type/keyword", ":db/cardinality": ":db.cardinality/many"}}

RULES = '[[(reach ?a ?b) [?a :person/friend ?b]] [(reach ?a ?b) [?a :person/friend ?x] (reach ?x ?b)]]'

CASES = [
    ('[:find ?n ?a :where [?e :person/name ?n] [?e :person/age ?a]]', []),
    ('[:find [?n ...] :where [?e :person/age ?a] [(> ?a 18)] [?e :person/name ?n]]', []),
    ('[:find ?n . :in $ ?a :where [?e :person/age ?a] [?e :person/name ?n]]', ['36']),
    ('[:find (count ?e) (avg ?a) (max ?a) :where [?e :person/age ?a]]', []),
    ('[:find ?n ?t :where [?e :person/tags ?t] [?e :person/name ?n]]', []),
    ('[:find (pull ?e [:person/name {:person/friend [:person/name]}]) :where [?e :person/age 20]]', []),
    ('[:find ?n ?fn :where [?e :person/friend ?f] [?f :person/name ?fn] [?e :person/name ?n]]', []),
    ('[:find ?b ?id :where [?e :person/born ?b] [?d :person/id ?id]]', []),
    ('[:find ?n :in $ % :where [?c :person/name "Cy"] (reach ?c ?x) [?x :person/name ?n]]', [RULES]),
    ('[:find ?n :in $ [?a ...] :where [?e :person/age ?a] [?e :person/name ?n]]', ['[5 41]']),
    ('[:find ?n ?s :where [?e :person/name ?n] [(get-else $ ?e :person/score 0.0) ?s]]', []),
    ('[:find ?n :where [?e :person/name ?n] (not [?e :person/friend _])]', []),
    ('[:find ?k ?v :in $ [[?k ?v]] :where [?e :person/name ?k]]', ['[["Ada" :x] ["Zed" :y]]']),
    ('[:find [?a ?n] :where [?e :person/name ?n] [?e :person/age ?a] [(< ?a 10)]]', []),
    ('[:find ?n :keys name :where [_ :person/name ?n]]', []),
    ('[:find ?e ?s :where [?e :person/name ?n] [(str ?n "!") ?s]]', []),
]


def canon(v: Any, as_set: bool = False) -> Any:
    """A comparable form: sets (and, where the other side has a set, lists) sorted."""
    if isinstance(v, (set, frozenset)) or (as_set and isinstance(v, list)):
        return ("#set", tuple(sorted((canon(x) for x in v), key=repr)))
    if isinstance(v, EdnList):
        return ("#list",) + tuple(canon(x) for x in v)
    if isinstance(v, (list, tuple)):
        return tuple(canon(x) for x in v)
    if isinstance(v, dict):
        return ("#map", tuple(sorted(((canon(k), canon(x)) for k, x in v.items()), key=repr)))
    if isinstance(v, float):
        return round(v, 9)
    return v


@pytest.fixture(scope="module")
def loaded(server):
    uri = server.uri("diff")
    with levin.connect(uri, schema=SCHEMA) as conn:
        conn.transact(DATA)
    return server


@pytest.mark.parametrize("query,inputs", CASES, ids=[str(i) for i in range(len(CASES))])
def test_python_and_rust_clients_agree(loaded, query, inputs):
    uri = loaded.uri("diff")
    out = subprocess.run([str(levin_bin()), "query", uri, query, *inputs],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rust = read_edn(out.stdout)
    with levin.connect(uri) as conn:
        py = conn.q(query, *[read_edn(i) if not i.startswith("[[(") else i for i in inputs])
    assert canon(py, isinstance(rust, frozenset)) == canon(rust), (
        f"python: {write_edn(py) if not isinstance(py, list) else py}\nrust: {out.stdout}")
