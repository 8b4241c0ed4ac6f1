"""Offline: the value model, transit, EDN and the conversion of Datalevin-style data."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

import levin
from levin import EdnList, Keyword, Symbol, q, tx
from levin import _convert as cv
from levin._transit import dumps, loads


def test_keywords_index_like_strings():
    k = Keyword("db/id")
    assert k == ":db/id" and Keyword(":db/id") is not None and hash(k) == hash(":db/id")
    assert {k: 1}[":db/id"] == 1 and k.name == "db/id" and k.namespace == "db" and k.local_name == "id"
    assert repr(k) == "Keyword(':db/id')" and str(k) == ":db/id"
    assert Symbol("?e") == "?e" and isinstance(Symbol("?e"), str)
    with pytest.raises(ValueError):
        Keyword("a b")


def test_transit_writes_what_levin_writes():
    # docs/TRANSIT.md: this exact text for this query.
    query = levin.read_edn('[:find ?n :in $ ?alias :where [?e :aka ?alias] [?e :nation ?n]]')
    assert dumps(query) == '["~:find","~$?n","~:in","~$$","~$?alias","~:where",["~$?e","~:aka","^3"],["^5","~:nation","^1"]]'
    assert dumps(2**63 - 1) == '["~#\'","~i9223372036854775807"]'
    assert dumps(-(2**63)) == '["~#\'","~i-9223372036854775808"]'
    assert dumps(2**64) == '["~#\'","~n18446744073709551616"]'
    assert dumps(b"\x00\xff") == '["~#\'","~bAP8="]'


def test_transit_round_trip():
    value = {Keyword(":a"): [1, 2.5, "~x", None, True, False], "s": frozenset({1, 2}),
             (1, 2): EdnList([Symbol("f"), 1]), Keyword(":u"): uuid.UUID(int=7),
             Keyword(":t"): dt.datetime(2020, 1, 2, 3, 4, 5, 6000, tzinfo=dt.timezone.utc),
             Keyword(":d"): Decimal("1.50"), Keyword(":b"): b"\x01", Keyword(":big"): 2**70}
    back = loads(dumps(value))
    assert back == {**value, (1, 2): EdnList([Symbol("f"), 1])}
    assert isinstance(back[":a"], list) and isinstance(next(iter(back)), Keyword)


def test_transit_cache_wraps_like_java():
    many = [Keyword(f":k{i:05d}") for i in range(4000)] * 2
    assert loads(dumps(many)) == many
    text = dumps([Keyword(f":k{i:05d}") for i in range(1937)] + [Keyword(":k01936"), Keyword(":k00000")])
    # The 1937th entry clears the cache and takes index 0: it comes back as "^0".
    assert text.endswith('"~:k01936","^0","~:k00000"]')


def test_results_are_python_data():
    assert loads('["~#set",[["a",1],["b",2]]]') in ([["a", 1], ["b", 2]], [["b", 2], ["a", 1]])
    assert loads('["~#set",[1,2]]') == frozenset({1, 2})
    assert loads('["~#list",[1]]') == EdnList([1])
    assert loads('"~m0"') == dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    with pytest.raises(levin.ProtocolError):
        loads('["^5"]')


def test_edn_text():
    v = levin.read_edn('{:a [1 2.5 "s" nil true] :b #{:x} :c (f ?x) :d #inst "2020-01-01T00:00:00Z" :e 7N :f 1.5M}')
    assert v[":a"] == [1, 2.5, "s", None, True] and v[":b"] == frozenset({Keyword(":x")})
    assert v[":c"] == EdnList([Symbol("f"), Symbol("?x")]) and v[":e"] == 7 and v[":f"] == Decimal("1.5")
    assert levin.read_edn(levin.write_edn(v)) == v
    with pytest.raises(levin.ParseError, match="missing"):
        levin.read_edn('[1\n 2')


def test_datalevin_style_queries_convert():
    got = cv.query([":find", "?n", ":in", "$", "%", ":where", ["?e", ":name", "?n"],
                    [[">", "?a", 1]], ["rule", "?e"], ["not", ["?e", ":x", ":kw"]]])
    assert levin.write_edn(got) == '[:find ?n :in $ % :where [?e :name ?n] [(> ?a 1)] (rule ?e) (not [?e :x :kw])]'
    got = cv.query([":find", ["pull", "?e", [":name", {":friend": ["*"]}]], ["count", "?x"], ":where", ["?e", ":name", "Ada"]])
    assert levin.write_edn(got) == '[:find (pull ?e [:name {:friend [*]}]) (count ?x) :where [?e :name "Ada"]]'
    e, n = q.var("e"), q.var("n")
    built = q.query(find=q.collection(n), where=[q.datom(e, "name", n), q.predicate(">", n, "?literal")])
    assert built.edn() == '[:find [?n ...] :where [?e :name ?n] [(> ?n "?literal")]]'


def test_transaction_data_converts():
    got = cv.tx_data([{":db/id": -1, ":name": ":not-kw", ":friend": [":name", "Bob"]},
                      [":db/add", [":name", "Ada"], ":age", 3]])
    assert levin.write_edn(got) == '[{:db/id -1, :name ":not-kw", :friend [:name "Bob"]} [:db/add [:name "Ada"] :age 3]]'
    built = tx.data(tx.entity(-1, {"name": "Ada"}), tx.retract_entity(tx.lookup_ref("name", "Bob")))
    assert built.edn() == '[{:name "Ada", :db/id -1} [:db/retractEntity [:name "Bob"]]]'
    with pytest.raises(levin.InterfaceError, match="list"):
        cv.tx_data({":name": "x"})
    assert cv.schema({"name": {"db/valueType": ":db.type/string"}}) == {":name": {":db/valueType": Keyword(":db.type/string")}}
    assert levin.schema_attr(value_type="string", unique="identity") == {
        ":db/valueType": ":db.type/string", ":db/unique": ":db.unique/identity"}


def test_uris():
    from levin._wire import parse_uri

    t = parse_uri("levin://ann:p%40ss@db.example:9000/sales?ca=/tmp/ca.pem")
    assert (t.user, t.password, t.host, t.port, t.db, t.tls, t.ca) == ("ann", "p@ss", "db.example", 9000, "sales", True, "/tmp/ca.pem")
    t = parse_uri("levin://admin:x@[::1]:7/d")
    assert (t.host, t.port) == ("::1", 7)
    assert parse_uri("levin://a:x@h").port == 8898
    for bad in ["http://x", "levin://host", "levin://:p@h", "levin://a:p@h:99999", "levin://a:p@h?bogus=1"]:
        with pytest.raises(levin.InvalidURI):
            parse_uri(bad)
