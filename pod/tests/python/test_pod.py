"""python-pods (from PyPI) drives the built `levin` binary as Datalevin's pod
pod.huahaiy.datalevin, over stdio and over the socket transport."""

import subprocess
import uuid

import pytest
import python_pods as pods
from transit.transit_types import Keyword, TaggedValue

from conftest import LEVIN, NS, kw

SCHEMA = {
    kw("name"): {kw("db/unique"): kw("db.unique/identity")},
    kw("friend"): {kw("db/valueType"): kw("db.type/ref"),
                   kw("db/cardinality"): kw("db.cardinality/many")},
    kw("nick"): {kw("db/cardinality"): kw("db.cardinality/many")},
}


def handle_id(h, kind):
    return h[Keyword(f"{NS}/{kind}")]


def test_describe_declares_the_namespace(pod):
    # load_pod ran describe and registered the namespace as a module, every var in it;
    # the code vars come as their Clojure source.
    import pod_huahaiy_datalevin as d
    for name in ["get_conn", "transact!", "q", "open_kv", "search", "rseek_datoms", "pod_fn"]:
        assert hasattr(d, name), name
    assert "defmacro with-transaction" in str(getattr(d, "with_transaction"))


def test_datalog(pod, tmp_path):
    conn = pod.call("get-conn", str(tmp_path / "db"), SCHEMA)
    assert isinstance(handle_id(conn, "conn"), uuid.UUID)
    assert pod.call("get-conn", str(tmp_path / "db")) == conn
    report = pod.call("transact!", conn, [
        {kw("db/id"): "ivan", kw("name"): "Ivan", kw("nick"): {"V", "I"}},
        {kw("db/id"): -2, kw("name"): "Petr", kw("friend"): "ivan"},
    ])
    tempids = report[kw("tempids")]
    ivan, petr = tempids["ivan"], tempids[-2]
    tx = tempids[kw("db/current-tx")]
    assert tx > 0
    datoms = report[kw("tx-data")]
    assert len(datoms) == 5
    assert isinstance(datoms[0], TaggedValue)
    assert datoms[0].tag == "datalevin/Datom"
    assert list(datoms[0].rep)[3] == tx

    db = pod.call("db", conn)
    # A query as EDN text (a Levin extension), with an input and rules given as data.
    res = pod.call("q", "[:find ?n :in $ ?x % :where (friend ?e ?f) [?f :name ?x] [?e :name ?n]]",
                   db, "Ivan", _rules())
    assert {tuple(r) for r in res} == {("Petr",)}
    assert pod.call("pull", db, "[:name {:friend [:name]}]", petr) == \
        {kw("name"): "Petr", kw("friend"): [{kw("name"): "Ivan"}]}
    ent = pod.call("entity", db, [kw("name"), "Ivan"])
    assert ent[kw("db/id")] == ivan
    assert set(ent[kw("nick")]) == {"V", "I"}
    assert pod.call("touch", ent)[kw("db/id")] == ivan
    assert pod.call("entid", db, [kw("name"), "Petr"]) == petr
    assert pod.call("count-datoms", db, None, kw("name"), None) == 2
    assert [list(x) for x in pod.call("datoms", db, kw("ave"), kw("name"))] == \
        [[ivan, kw("name"), "Ivan"], [petr, kw("name"), "Petr"]]
    assert pod.call("max-eid", db) == max(ivan, petr)
    assert kw("friend") in pod.call("schema", conn)
    pod.call("close", conn)
    assert pod.call("closed?", conn) is True


def _rules():
    # A rule head is a list: transit's ["~#list", [...]].
    from transit.transit_types import Symbol as S
    head = TaggedValue("list", [S("friend"), S("?a"), S("?b")])
    return [[head, [S("?a"), kw("friend"), S("?b")]]]


def test_query_data_and_errors(pod, tmp_path):
    from transit.transit_types import Symbol as S
    conn = pod.call("get-conn", str(tmp_path / "q"))
    pod.call("transact!", conn, [{kw("name"): "A", kw("age"): 3}, {kw("name"): "B", kw("age"): 5}])
    db = pod.call("db", conn)
    # A query as data with a scalar input.
    q = [kw("find"), S("?n"), kw("in"), S("$"), S("?min"), kw("where"),
         [S("?e"), kw("age"), S("?a")], [TaggedValue("list", [S(">"), S("?a"), S("?min")])], [S("?e"), kw("name"), S("?n")]]
    assert {tuple(r) for r in pod.call("q", q, db, 4)} == {("B",)}
    with pytest.raises(pods.PodError) as err:
        pod.call("q", "[:find ?x :where [?x :name ?y] (no-such-fn ?y)]", db)
    assert err.value.data[kw("type")] == "levin/query"
    with pytest.raises(pods.PodError) as err:
        pod.call("q", "[:find ?x :where", db)
    assert err.value.data[kw("type")] == "levin/parse"


def test_explicit_transactions(pod, tmp_path):
    conn = pod.call("get-conn", str(tmp_path / "t"), SCHEMA)
    count = "[:find (count ?e) . :where [?e :name]]"
    w = pod.call("open-transact", conn)
    assert w[kw("writing?")] is True
    pod.call("transact!", w, [{kw("name"): "A"}])
    assert pod.call("q", count, pod.call("db", w)) == 1
    assert pod.call("q", count, conn) is None
    # A write through the other handle while the transaction holds the writer: an error.
    with pytest.raises(pods.PodError) as err:
        pod.call("transact!", conn, [{kw("name"): "B"}])
    assert err.value.data[kw("type")] == "levin/writer-busy"
    pod.call("close-transact", w)
    assert pod.call("q", count, conn) == 1
    # Aborted: nothing is kept (with-transaction's shape: abort, then a no-op close).
    w = pod.call("open-transact", conn)
    pod.call("transact!", w, [{kw("name"): "B"}])
    pod.call("abort-transact", w)
    pod.call("close-transact", w)
    assert pod.call("q", count, conn) == 1
    # transact-async* (what transact-async calls) returns the report.
    rep = pod.call("transact-async*", conn, [{kw("name"): "C"}], None)
    assert kw("db/current-tx") in rep[kw("tempids")]


def test_kv(pod, tmp_path):
    kv = pod.call("open-kv", str(tmp_path / "kv"))
    assert isinstance(handle_id(kv, "kv-db"), uuid.UUID)
    pod.call("open-dbi", kv, "t")
    pod.call("open-list-dbi", kv, "l")
    assert sorted(pod.call("list-dbis", kv)) == ["l", "t"]
    assert pod.call("transact-kv", kv, [
        [kw("put"), "t", 1, "one", kw("long"), kw("string")],
        [kw("put"), "t", 2, "two", kw("long"), kw("string")],
        [kw("put"), "t", 3, "three", kw("long"), kw("string")],
    ]) == kw("transacted")
    L, S_ = kw("long"), kw("string")
    assert pod.call("get-value", kv, "t", 2, L, S_) == "two"
    assert list(pod.call("get-value", kv, "t", 2, L, S_, False)) == [2, "two"]
    assert [list(p) for p in pod.call("get-range", kv, "t", [kw("closed"), 1, 2], L, S_)] == \
        [[1, "one"], [2, "two"]]
    assert [list(p) for p in pod.call("get-range", kv, "t", [kw("closed-back"), 3, 2], L, S_)] == \
        [[3, "three"], [2, "two"]]
    assert list(pod.call("get-first", kv, "t", [kw("all-back")], L, S_)) == [3, "three"]
    assert pod.call("range-count", kv, "t", [kw("greater-than"), 1], L) == 2
    assert list(pod.call("key-range", kv, "t", [kw("open"), 1, 3], L)) == [2]
    # Other types: keywords, :data (the default), uuids, tuples.
    u = uuid.uuid4()
    pod.call("open-dbi", kv, "t2")
    pod.call("transact-kv", kv, "t2", [[kw("put"), kw("a/b"), u]], kw("keyword"), kw("uuid"))
    pod.call("open-dbi", kv, "d")
    pod.call("transact-kv", kv, [[kw("put"), "d", {kw("x"): [1, 2]}, {"nested": True}],
                                 [kw("put"), "d", [7, "x"], 1.5, [kw("long"), kw("string")], kw("double")]])
    assert pod.call("get-value", kv, "t2", kw("a/b"), kw("keyword"), kw("uuid")) == u
    assert pod.call("get-value", kv, "d", {kw("x"): [1, 2]}) == {"nested": True}
    assert pod.call("get-value", kv, "d", [7, "x"], [kw("long"), kw("string")], kw("double")) == 1.5
    # Lists.
    pod.call("put-list-items", kv, "l", "a", [3, 1, 2], S_, L)
    assert list(pod.call("get-list", kv, "l", "a", S_, L)) == [1, 2, 3]
    assert pod.call("in-list?", kv, "l", "a", 2, S_, L) is True
    assert [list(p) for p in pod.call("list-range", kv, "l", [kw("all")], S_, [kw("at-least"), 2], L)] == \
        [["a", 2], ["a", 3]]
    # Explicit key-value transaction, committed and aborted.
    w = pod.call("open-transact-kv", kv)
    pod.call("transact-kv", w, [[kw("put"), "t", 9, "nine", L, S_]])
    assert pod.call("get-value", w, "t", 9, L, S_) == "nine"
    assert pod.call("get-value", kv, "t", 9, L, S_) is None
    pod.call("close-transact-kv", w)
    assert pod.call("get-value", kv, "t", 9, L, S_) == "nine"
    w = pod.call("open-transact-kv", kv)
    pod.call("transact-kv", w, [[kw("del"), "t", 9, L]])
    pod.call("abort-transact-kv", w)
    assert pod.call("get-value", kv, "t", 9, L, S_) == "nine"
    assert pod.call("entries", kv, "t") == 4
    pod.call("close-kv", kv)
    assert pod.call("closed-kv?", kv) is True


def test_re_index(pod, tmp_path):
    conn = pod.call("get-conn", str(tmp_path / "db"))
    pod.call("transact!", conn, [{kw("email"): "a@x", kw("age"): 30}])
    schema = {kw("email"): {kw("db/unique"): kw("db.unique/identity")}}
    # [conn schema opts], opts ignored: the same handle, under the new schema.
    assert pod.call("re-index", conn, schema, {kw("backup?"): True}) == conn
    assert pod.call("pull", conn, [kw("age")], [kw("email"), "a@x"]) == {kw("age"): 30}
    # [conn opts].
    assert pod.call("re-index", conn, {}) == conn
    with pytest.raises(pods.PodError) as err:
        pod.call("re-index", conn, 1)
    assert err.value.data[kw("type")] == "levin/bad-argument"
    kv = pod.call("open-kv", str(tmp_path / "kv"))
    with pytest.raises(pods.PodError) as err:
        pod.call("re-index", kv, {})
    assert err.value.data[kw("type")] == "levin/unsupported"


def test_unsupported_unknown_and_bad_handles(pod):
    with pytest.raises(pods.PodError) as err:
        pod.call("search", None, "hello")
    assert err.value.data[kw("type")] == "levin/unsupported"
    assert err.value.data[kw("var")] == "search"
    with pytest.raises(pods.PodError) as err:
        pods.invoke_public(pod.pod_id, f"{NS}/no-such-var", [])
    assert err.value.data[kw("type")] == "levin/unknown-var"
    ghost = {Keyword(f"{NS}/conn"): uuid.uuid4()}
    with pytest.raises(pods.PodError) as err:
        pod.call("transact!", ghost, [])
    assert err.value.data[kw("type")] == "levin/no-such-handle"
    with pytest.raises(pods.PodError) as err:
        pod.call("get-conn")
    assert err.value.data[kw("type")] == "levin/arity"
    # Still serving.
    assert pod.call("conn?", ghost) is False


def test_shutdown_exits_and_removes_the_port_file(pod):
    proc = pod.process()
    port_file = pod.workdir / f".babashka-pod-{proc.pid}.port"
    assert port_file.exists() == (pod.transport == "socket")
    pod.unload()
    assert proc.wait(timeout=10) == 0
    assert not port_file.exists()


def test_pod_database_opens_embedded_and_back(pod, tmp_path):
    d = tmp_path / "shared"
    conn = pod.call("get-conn", str(d), SCHEMA)
    pod.call("transact!", conn, [{kw("name"): "Pod"}])
    pod.call("close", conn)
    # The levin binary, embedded (no pod), reads what the pod wrote and writes more.
    out = subprocess.run([LEVIN, "query", str(d), "[:find [?n ...] :where [_ :name ?n]]"],
                         check=True, capture_output=True, text=True).stdout
    assert "Pod" in out
    tx = tmp_path / "tx.edn"
    tx.write_text('[{:name "Embedded"}]')
    subprocess.run([LEVIN, "transact", str(d), str(tx)], check=True, capture_output=True)
    conn = pod.call("get-conn", str(d))
    names = pod.call("q", "[:find [?n ...] :where [_ :name ?n]]", conn)
    assert sorted(names) == ["Embedded", "Pod"]


def test_pod_database_is_served_and_back(pod, tmp_path):
    # Written through the pod under a server root, then served by `levin serve`, written
    # through the server, and read through the pod again after the server stops.
    root = tmp_path / "root"
    root.mkdir()
    conn = pod.call("get-conn", str(root / "sales"), SCHEMA)
    pod.call("transact!", conn, [{kw("name"): "Pod"}])
    pod.call("close", conn)
    env = {"LEVIN_ADMIN_PASSWORD": "pw", "PATH": "/usr/bin:/bin"}
    server = subprocess.Popen([LEVIN, "serve", "--root", str(root), "--listen", "127.0.0.1:0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = server.stdout.readline().strip()
        assert line.startswith("listening on "), line
        uri = f"levin://admin:pw@{line.removeprefix('listening on ')}/sales"
        out = subprocess.run([LEVIN, "query", uri, "[:find [?n ...] :where [_ :name ?n]]"],
                             check=True, capture_output=True, text=True).stdout
        assert "Pod" in out
        tx = tmp_path / "tx.edn"
        tx.write_text('[{:name "Served"}]')
        subprocess.run([LEVIN, "transact", uri, str(tx)], check=True, capture_output=True)
    finally:
        server.terminate()
        assert server.wait(timeout=30) == 0
    conn = pod.call("get-conn", str(root / "sales"))
    names = pod.call("q", "[:find [?n ...] :where [_ :name ?n]]", conn)
    assert sorted(names) == ["Pod", "Served"]


def test_get_conn_opts_stay_with_the_database(pod, tmp_path):
    # Stored in the database, as Datalevin stores them: the embedded CLI obeys them after
    # the pod closes it.
    d = tmp_path / "closed"
    conn = pod.call("get-conn", str(d), SCHEMA, {kw("closed-schema?"): True})
    with pytest.raises(pods.PodError) as err:
        pod.call("transact!", conn, [{kw("name"): "A", kw("other"): 1}])
    assert "not in the schema" in str(err.value)
    pod.call("close", conn)
    tx = tmp_path / "tx.edn"
    tx.write_text('[{:name "B" :other 1}]')
    out = subprocess.run([LEVIN, "transact", str(d), str(tx)], capture_output=True, text=True)
    assert out.returncode != 0
    assert "not in the schema" in out.stderr
    with pytest.raises(pods.PodError) as err:
        pod.call("get-conn", str(d), None, {kw("closed-schema?"): "yes"})
    assert err.value.data[kw("type")] == "levin/bad-argument"
