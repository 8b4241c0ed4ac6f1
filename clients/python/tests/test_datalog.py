"""Datalog over a real server: connect, schema, transactions, queries, pull, entity,
datoms, explicit transactions, errors, streamed results."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

import levin
from levin import Keyword, Symbol, q, tx

from conftest import SCHEMA


def test_connect_creates_the_database_and_applies_the_schema(db_uri, server, db_name):
    with levin.connect(db_uri, schema=SCHEMA) as conn:
        assert conn.info[":db-name"] == db_name
        s = conn.schema()
        assert s[":name"][":db/unique"] == Keyword(":db.unique/identity")
        assert isinstance(s[":name"][":db/valueType"], Keyword)
        assert not conn.closed()
    assert conn.closed()
    with pytest.raises(levin.ConnectionClosed):
        conn.max_eid()
    assert db_name in levin.Client(server.uri()).list_databases()


def test_database_options_are_stored_by_the_server(db_uri):
    opts = {"closed-schema?": True, "auto-entity-time?": True, "timeout-ms": 5000}
    with levin.connect(db_uri, schema={":name": {":db/valueType": ":db.type/string"}},
                       opts=opts) as conn:
        assert conn.info[":opts"] == {":closed-schema?": True, ":auto-entity-time?": True}
        with pytest.raises(levin.Error) as e:
            conn.transact([{":name": "a", ":other": 1}])
        assert "not in the schema" in str(e.value)
        conn.transact([{":name": "b"}])
        attrs = conn.q('[:find [?a ...] :where [?e :name "b"] [?e ?a]]')
        assert sorted(str(a) for a in attrs) == [":db/created-at", ":db/updated-at", ":name"]
    # A later connection without options keeps them; one with options changes those it names.
    with levin.connect(db_uri) as conn:
        assert conn.info[":opts"][":closed-schema?"] is True
        assert conn.opts() == {":closed-schema?": True, ":auto-entity-time?": True}
    with levin.connect(db_uri, opts={"closed_schema": False}) as conn:
        assert conn.info[":opts"] == {":closed-schema?": False, ":auto-entity-time?": True}
        conn.transact([{":name": "c", ":other": 1}])
    with pytest.raises(levin.InterfaceError):
        levin.connect(db_uri, opts={"closed-schema?": "yes"})


def test_schema_as_edn_text_and_update_schema(db_uri):
    with levin.connect(db_uri, schema='{:email {:db/valueType :db.type/string :db/unique :db.unique/value}}') as conn:
        assert conn.schema()[":email"][":db/unique"] == ":db.unique/value"
        new = conn.update_schema({":nick": {":db/valueType": ":db.type/string"}})
        assert ":nick" in new
        new = conn.update_schema(None, del_attrs=[":nick"], rename_map={":email": ":mail"})
        assert ":nick" not in new and ":mail" in new and ":email" not in new


def test_transact_tempids_and_lookup_refs(people):
    report = people.transact([{":db/id": "dee", ":name": "Dee", ":friend": [[":name", "Ada"]]}])
    dee = report[":tempids"]["dee"]
    assert report[":tx-id"] == report[":tx"] == report[":tempids"][":db/current-tx"]
    assert [dee, Keyword(":name"), "Dee"] == report[":tx-data"][0][:3]
    ada = people.entid([":name", "Ada"])
    assert people.q('[:find ?f . :in $ ?e :where [?e :friend ?f]]', dee) == ada
    # A lookup ref in the entity position of an operation, and as EDN text.
    people.transact([[":db/add", [":name", "Dee"], ":age", 40]])
    people.transact('[[:db/add [:name "Dee"] :age 41]]')
    assert people.pull([":age"], [":name", "Dee"]) == {":age": 41}
    # Builders.
    r = people.transact(tx.data(tx.entity(-1, {"name": "Eve", "friend": [tx.lookup_ref("name", "Dee")]}),
                                tx.add(-1, "age", 7)))
    eve = r[":tempids"][-1]
    assert people.pull("[:name :age]", eve) == {":name": "Eve", ":age": 7}
    # A retraction, and strings that look like keywords stay strings as values.
    people.transact([[":db/retract", eve, ":age", 7], {":db/id": eve, ":name": "Eve"}])
    assert people.pull([":age"], eve) is None or ":age" not in people.pull([":age"], eve)
    people.transact([{":name": ":not-a-keyword"}])
    assert people.q('[:find ?n . :where [?e :name ?n] [(= ?n ":not-a-keyword")]]') == ":not-a-keyword"


def test_query_forms_inputs_and_rules(people):
    edn = people.q('[:find ?n :where [?e :name ?n]]')
    assert sorted(r[0] for r in edn) == ["Ada", "Bob", "Cy"]
    data = people.query([":find", "?n", ":in", "$", "?min", ":where", ["?e", ":age", "?a"],
                         [[">=", "?a", "?min"]], ["?e", ":name", "?n"]], 20)
    assert sorted(r[0] for r in data) == ["Ada", "Bob"]
    assert people.q('[:find ?a . :in $ ?n :where [?e :name ?n] [?e :age ?a]]', "Ada") == 36
    assert people.q('[:find [?n ...] :in $ [?a ...] :where [?e :age ?a] [?e :name ?n]]', [5, 20]) in (["Bob", "Cy"], ["Cy", "Bob"])
    assert people.q([":find", ["count", "?e"], ".", ":where", ["?e", ":name"]]) == 3
    assert people.q([":find", ["?n", "?a"], ":where", ["?e", ":name", "?n"], ["?e", ":age", "?a"], [[">", "?a", 30]]]) == ["Ada", 36]
    # A keyword input as a ":x" string (Datalevin's rule for untyped queries) and as Keyword.
    for kw in (":math", Keyword(":math")):
        assert people.q('[:find ?n . :in $ ?t :where [?e :tags ?t] [?e :name ?n]]', kw) == "Ada"
    # Rules: as EDN text, as Python data and built.
    rules_text = '[[(knows ?a ?b) [?a :friend ?b]] [(knows ?a ?b) [?a :friend ?x] (knows ?x ?b)]]'
    query = '[:find [?n ...] :in $ % ?who :where [?w :name ?who] (knows ?w ?f) [?f :name ?n]]'
    assert sorted(people.q(query, rules_text, "Cy")) == ["Ada", "Bob"]
    rules_data = [[["knows", "?a", "?b"], ["?a", ":friend", "?b"]],
                  [["knows", "?a", "?b"], ["?a", ":friend", "?x"], ["knows", "?x", "?b"]]]
    assert sorted(people.q(query, rules_data, "Cy")) == ["Ada", "Bob"]
    a, b, x, f, w, n, who = (q.var(s) for s in ("a", "b", "x", "f", "w", "n", "who"))
    built_rules = q.rules(q.rule_branch("knows", [a, b], q.datom(a, "friend", b)),
                          q.rule_branch("knows", [a, b], q.datom(a, "friend", x), q.rule("knows", x, b)))
    built = q.query(find=q.collection(n), inputs=[q.DB, q.RULES, who],
                    where=[q.datom(w, "name", who), q.rule("knows", w, f), q.datom(f, "name", n)])
    assert sorted(people.q(built, built_rules, "Cy")) == ["Ada", "Bob"]
    # not / or as Python data.
    assert people.q([":find", ["?n", "..."], ":where", ["?e", ":name", "?n"], ["not", ["?e", ":friend"]]]) == ["Ada"]
    got = people.q([":find", ["?n", "..."], ":where", ["?e", ":name", "?n"],
                    ["or", ["?e", ":age", 5], ["?e", ":age", 36]]])
    assert sorted(got) == ["Ada", "Cy"]
    # Builders: scalar, aggregate, keys.
    e = q.var("e")
    assert people.q(q.query(find=q.scalar(q.aggregate("max", q.var("a"))), where=[q.datom(e, "age", q.var("a"))])) == 36
    rows = people.q(q.query(find=[n, q.var("a")], keys=["name", "age"],
                            where=[q.datom(e, "name", n), q.datom(e, "age", q.var("a"))]))
    assert {"name": "Ada", "age": 36} in [{str(k)[1:]: v for k, v in r.items()} for r in rows]


def test_values_round_trip(db_uri):
    schema = {":k": {":db/valueType": ":db.type/keyword"}, ":u": {":db/valueType": ":db.type/uuid"},
              ":t": {":db/valueType": ":db.type/instant"}, ":big": {":db/valueType": ":db.type/bigint"},
              ":dec": {":db/valueType": ":db.type/bigdec"}, ":d": {":db/valueType": ":db.type/double"},
              ":b": {":db/valueType": ":db.type/bytes"}, ":l": {":db/valueType": ":db.type/long"},
              ":s": {":db/valueType": ":db.type/string"}}
    u = uuid.uuid4()
    t = dt.datetime(2024, 2, 29, 12, 30, 15, 123000, tzinfo=dt.timezone.utc)
    with levin.connect(db_uri, schema=schema) as conn:
        r = conn.transact([{":db/id": -1, ":k": Keyword(":a/b"), ":u": u, ":t": t, ":big": 2**80,
                            ":dec": Decimal("1.50"), ":d": 2.5, ":b": b"\x00\x01\xff",
                            ":l": 2**63 - 1, ":s": "~tilde ^caret `tick"}])
        e = r[":tempids"][-1]
        got = conn.pull("[*]", e)
        assert got[":k"] == Keyword(":a/b") and isinstance(got[":k"], Keyword)
        assert got[":u"] == u and got[":t"] == t and got[":big"] == 2**80
        assert got[":dec"] == Decimal("1.50") and got[":d"] == 2.5 and got[":b"] == b"\x00\x01\xff"
        assert got[":l"] == 2**63 - 1 and got[":s"] == "~tilde ^caret `tick"
        assert conn.q('[:find ?e . :in $ ?l :where [?e :l ?l]]', 2**63 - 1) == e
        sets = conn.q('[:find ?k ?u :where [?e :k ?k] [?e :u ?u]]')
        assert sets == [[Keyword(":a/b"), u]]
        assert conn.q('[:find ?s . :where [_ :k ?k] [(str ?k) ?s]]') == ":a/b"
        conn.transact([{":db/id": e, ":l": -(2**63)}])
        assert conn.q('[:find ?e . :in $ ?l :where [?e :l ?l]]', -(2**63)) == e


def test_pull_pull_many_and_entity(people):
    ada = people.entid([":name", "Ada"])
    assert people.pull([":name", ":age"], ada) == {":name": "Ada", ":age": 36}
    assert people.pull("[:name {:friend [:name]}]", [":name", "Bob"]) == {":name": "Bob", ":friend": [{":name": "Ada"}]}
    assert people.pull([":name", {":friend": [":name"]}], [":name", "Bob"]) == {":name": "Bob", ":friend": [{":name": "Ada"}]}
    assert people.pull(q.selector("name", q.pull_nested("friend", q.selector("name"))), [":name", "Bob"]) == \
        {":name": "Bob", ":friend": [{":name": "Ada"}]}
    many = people.pull_many([":name"], [ada, [":name", "Cy"]])
    assert many == [{":name": "Ada"}, {":name": "Cy"}]
    ent = people.entity([":name", "Ada"])
    assert ent.id == ada and ent[":name"] == "Ada" and ent["name"] == "Ada" and ent.get(":nope") is None
    assert ent[":tags"] == frozenset({Keyword(":math")})
    assert ent.touch()[":age"] == 36
    assert people.entity(999999) is None
    assert people.entity_map('[:name "Cy"]')[":age"] == 5
    assert people.pull([":name"], 999999) is None


def test_datoms_and_index_access(people):
    ada = people.entid([":name", "Ada"])
    eav = people.datoms(":eav", ada)
    assert [Keyword(":age"), 36] in [d[1:] for d in eav]
    assert all(d[0] == ada for d in eav)
    names = people.datoms(":ave", ":name")
    assert [d[2] for d in names] == ["Ada", "Bob", "Cy"]
    assert [d[2] for d in people.datoms(":ave", ":name", limit=1, offset=1)] == ["Bob"]
    assert people.datoms("ave", "name", "Bob")[0][0] == people.entid([":name", "Bob"])
    assert [d[2] for d in people.seek_datoms(":ave", ":name", "B")][:2] == ["Bob", "Cy"]
    assert people.rseek_datoms(":ave", ":name", "Bz", limit=1)[0][2] == "Bob"
    assert people.count_datoms(attr=":name") == 3
    assert people.count_datoms(e=ada) == len(eav)
    # A value alone: every datom read, those with the value kept.
    assert [d[:2] for d in people.search_datoms(value="Bob")] == \
        [[people.entid([":name", "Bob"]), Keyword(":name")]]
    assert people.count_datoms(value=36) == 1
    assert people.search_datoms(e=ada, value=36)[0][1] == Keyword(":age")
    assert people.cardinality(":name") == 3
    assert people.cardinality(":friend") == 2  # Ada and Bob are friends of someone
    assert people.cardinality(":no-such") == 0
    assert [d[2] for d in people.index_range(":age", 10, 40)] == [20, 36]
    assert [d[2] for d in people.index_range(":age", None, 19)] == [5]
    assert people.max_eid() >= 3
    with pytest.raises(levin.InterfaceError, match="eav"):
        people.datoms(":aev")
    with pytest.raises(levin.InterfaceError, match="from the left"):
        people.datoms(":eav", None, ":name")


def test_explain(people):
    plan = people.explain('[:find ?e :in $ ?n :where [?e :name ?n]]', "Ada")
    assert plan[":result-rows"] == 1 and plan[":steps"]


def test_explicit_transaction_committed(people):
    before = people.max_eid()

    def work(conn):
        conn.transact([{":name": "Tx1", ":age": 1}])
        # Reads inside see the transaction's own writes.
        assert conn.q('[:find ?a . :where [?e :name "Tx1"] [?e :age ?a]]') == 1
        return "done"

    assert people.with_transaction(work) == "done"
    assert people.q('[:find ?a . :where [?e :name "Tx1"] [?e :age ?a]]') == 1
    assert people.max_eid() == before + 1
    assert levin.with_transaction(people, lambda c: c.transact([{":name": "Tx2"}]) and 7) == 7


def test_explicit_transaction_aborted(people, db_uri):
    other = levin.connect(db_uri)

    class Boom(Exception):
        pass

    def work(conn):
        conn.transact([{":name": "Ghost"}])
        assert conn.q('[:find ?e . :where [?e :name "Ghost"]]') is not None
        # Another session does not see uncommitted writes.
        assert other.q('[:find ?e . :where [?e :name "Ghost"]]') is None
        raise Boom()

    with pytest.raises(Boom):
        people.with_transaction(work)
    assert people.q('[:find ?e . :where [?e :name "Ghost"]]') is None
    # abort_transact inside: ends without committing, no error.
    people.with_transaction(lambda c: (c.transact([{":name": "Ghost2"}]), c.abort_transact()))
    assert people.q('[:find ?e . :where [?e :name "Ghost2"]]') is None
    # A failed transact inside: the server leaves it only abortable; with_transaction aborts.
    with pytest.raises(levin.TransactionError):
        people.with_transaction(lambda c: c.transact([[":db/add", -1, ":age", "not a long"]]))
    people.transact([{":name": "After"}])  # the session is usable again
    with pytest.raises(levin.TransactionStateError):
        people.close_transact()
    other.close()


def test_errors_carry_code_message_and_data(people):
    with pytest.raises(levin.ParseError) as e:
        people.q('[:find ?e :where [?e :name')
    assert e.value.code == ":levin.error/parse" and e.value.data[":line"] == 1 and "column" in e.value.message
    with pytest.raises(levin.QueryError) as e:
        people.q('[:find ?x :where [?e :name ?n] [(no-such-fn ?n) ?x]]')
    assert e.value.code == ":levin.error/query"
    people.update_schema({":email": {":db/valueType": ":db.type/string", ":db/unique": ":db.unique/value"}})
    people.transact([{":name": "Ada", ":email": "a@x"}])
    with pytest.raises(levin.UniqueConflict) as e:
        people.transact([{":name": "Bob", ":email": "a@x"}])
    assert e.value.code == ":levin.error/unique"
    with pytest.raises(levin.LookupRefError):
        people.transact([[":db/add", [":name", "Nobody"], ":age", 1]])
    with pytest.raises(levin.InterfaceError, match="entity id"):
        people.pull([":name"], "Ada")
    with pytest.raises(levin.InterfaceError, match="cannot send"):
        people.q('[:find ?x . :in $ ?x]', object())
    with pytest.raises(levin.Unsupported):
        people.transact([], tx_meta={":by": "me"})
    with pytest.raises(levin.InvalidURI, match="levin://"):
        levin.connect("/tmp/some/dir")
    assert isinstance(levin.ParseError("x"), levin.DatalevinError)
    # The connection is still usable after errors.
    assert people.q('[:find (count ?e) . :where [?e :name]]') == 3


def test_large_streamed_results(db_uri):
    with levin.connect(db_uri, schema={":n": {":db/valueType": ":db.type/long"}}) as conn:
        conn.transact([{":n": i} for i in range(5000)])
        rows = conn.q('[:find ?e ?n :where [?e :n ?n]]')
        assert len(rows) == 5000 and sorted(r[1] for r in rows) == list(range(5000))
        coll = conn.q('[:find [?n ...] :where [_ :n ?n]]')
        assert sorted(coll) == list(range(5000))
        assert len(conn.datoms(":ave", ":n")) == 5000
        pulled = conn.pull_many([":n"], [d[0] for d in conn.datoms(":ave", ":n")])
        assert [p[":n"] for p in pulled] == list(range(5000))


def test_datom_reads_of_many_batches(db_uri):
    # Results of several 1,000-item batches, streamed by the server from its snapshot: the
    # whole index in order, limits, seeks both ways, an index range, and reads inside an
    # explicit transaction that see its own writes.
    with levin.connect(db_uri, schema={":n": {":db/valueType": ":db.type/long"}}) as conn:
        conn.transact([{":n": i, ":s": f"s{i}"} for i in range(3000)])
        eav = conn.datoms(":eav")
        assert len(eav) == 6000
        assert [d[0] for d in eav] == sorted(d[0] for d in eav)
        assert {(d[1], d[2]) for d in eav if d[1] == Keyword(":n")} == \
            {(Keyword(":n"), i) for i in range(3000)}
        assert conn.datoms(":eav", limit=2500) == eav[:2500]
        assert conn.datoms(":eav", limit=1000) == eav[:1000]
        assert conn.datoms(":eav", limit=1001) == eav[:1001]
        ave = conn.datoms(":ave", ":n")
        assert [d[2] for d in ave] == list(range(3000))
        assert [d[2] for d in conn.seek_datoms(":ave", ":n", 500)][:3] == [500, 501, 502]
        assert len(conn.seek_datoms(":ave", ":n", 500)) == 2500  # :n only, as Datalevin reads it
        back = conn.rseek_datoms(":ave", ":n", 2499)
        assert [d[2] for d in back] == list(range(2499, -1, -1))
        assert [d[2] for d in conn.index_range(":n", 200, 2899)] == list(range(200, 2900))
        assert [d[2] for d in conn.index_range(":n", None, None, limit=1200)] == list(range(1200))
        conn.open_transact()
        try:
            conn.transact([{":n": i} for i in range(3000, 4500)])
            assert [d[2] for d in conn.datoms(":ave", ":n")] == list(range(4500))
            assert len(conn.datoms(":eav")) == 7500
        finally:
            conn.abort_transact()
        assert len(conn.datoms(":ave", ":n")) == 3000


def test_transit_cache_wraps_past_1936_entries(db_uri):
    # More distinct keywords in one frame than the transit cache holds, both ways.
    schema = {":k": {":db/valueType": ":db.type/keyword", ":db/cardinality": ":db.cardinality/many"},
              ":name": {":db/valueType": ":db.type/string", ":db/unique": ":db.unique/identity"}}
    kws = {Keyword(f":kw/value-{i:05d}") for i in range(2500)}
    with levin.connect(db_uri, schema=schema) as conn:
        conn.transact([{":name": "many", ":k": kws}])
        got = conn.pull([[":k", ":limit", None]], [":name", "many"])[":k"]
        assert len(got) == 2500 and set(got) == kws
        assert conn.q('[:find ?k :where [_ :k ?k]]', ) and len(conn.entity([":name", "many"])[":k"]) == 2500


def test_snapshots(people):
    snap = people.db_snapshot()
    people.transact([{":name": "Later"}])
    assert people.query('[:find ?e . :where [?e :name "Later"]]', snapshot=snap) is None
    assert people.query('[:find ?e . :where [?e :name "Later"]]') is not None
    people.release_snapshot(snap)


def test_clear(people):
    people.clear()
    assert people.q('[:find ?e :where [?e :name]]') in ([], frozenset())
    assert ":name" in people.schema()


def test_re_index_under_a_new_schema(db_uri):
    with levin.connect(db_uri) as conn:
        conn.transact([{":email": "a@x", ":age": 30, ":nick": "x"},
                       {":email": "b@x", ":age": 40, ":nick": "x"}])
        ages = '[:find ?m ?a :where [?e :email ?m] [?e :age ?a]]'
        before = conn.q(ages)
        with pytest.raises(levin.Error):
            conn.pull([":age"], [":email", "a@x"])
        n = conn.re_index({":email": {":db/valueType": ":db.type/string", ":db/unique": ":db.unique/identity"},
                           ":age": {":db/valueType": ":db.type/long"}})
        assert n == 6
        assert conn.q(ages) == before
        # The new schema is in force: a lookup ref, and a value of the wrong type refused.
        assert conn.pull([":age"], [":email", "a@x"]) == {":age": 30}
        assert conn.schema()[":email"][":db/unique"] == ":db.unique/identity"
        with pytest.raises(levin.TransactionError):
            conn.transact([[":db/add", [":email", "a@x"], ":age", "old"]])
        # Data the schema does not fit, and an invalid schema: refused, nothing changes.
        datoms, schema = conn.datoms(":eav"), conn.schema()
        with pytest.raises(levin.UniqueConflict):
            conn.re_index('{:nick {:db/unique :db.unique/value}}')
        with pytest.raises(levin.SchemaError, match=":age"):
            conn.re_index({":age": {":db/valueType": ":db.type/nope"}})
        assert conn.datoms(":eav") == datoms and conn.schema() == schema
        # No schema keeps the stored one; inside an explicit transaction it is refused.
        assert conn.re_index() == 6 and conn.schema() == schema
        conn.open_transact()
        with pytest.raises(levin.TransactionStateError):
            conn.re_index()
        conn.abort_transact()


def test_symbols_come_back_as_symbols(people):
    v = people.q('[:find ?s . :in $ ?s]', Symbol("foo/bar"))
    assert isinstance(v, Symbol) and v == "foo/bar" and v.namespace == "foo"
