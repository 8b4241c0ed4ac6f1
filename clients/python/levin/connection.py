"""`Connection`: one Datalog database on a Levin server, with the methods of Datalevin's
Python ``Connection``."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, TypeVar

from . import _convert as cv
from ._types import Keyword
from ._wire import Target, Wire, parse_uri
from .errors import Error, InterfaceError, TransactionStateError, Unsupported

__all__ = ["Connection", "Entity", "connect"]

T = TypeVar("T")
CLIENT_NAME = "levin-python 0.1.0"

_OPT_KEYS = {"timeout-ms", "timeout_ms", "client-name", "client_name"}

# Database options a Datalog connection sends with `:open`: the server stores them in the
# database (docs/PROTOCOL.md), as Datalevin stores its opts.
_DB_OPT_KEYS = {
    "closed-schema?": ":closed-schema?",
    "closed_schema": ":closed-schema?",
    "auto-entity-time?": ":auto-entity-time?",
    "auto_entity_time": ":auto-entity-time?",
}


def _opts_target(t: Target, opts: Optional[Dict[str, Any]],
                 db_opts: Optional[Dict[Keyword, Any]] = None) -> str:
    """Applies the client options of `opts` to `t` and returns the client name; with
    `db_opts` (a Datalog connection), the database options go there."""
    name = CLIENT_NAME
    if not opts:
        return name
    if not isinstance(opts, Mapping):
        raise InterfaceError(f"opts is a dict, got {type(opts).__name__}")
    for k, v in opts.items():
        key = str(k).lstrip(":")
        if db_opts is not None and key in _DB_OPT_KEYS:
            if v is not None and not isinstance(v, bool):
                raise InterfaceError(f"option {k!r} is True or False, got {v!r}")
            db_opts[Keyword(_DB_OPT_KEYS[key])] = v
            continue
        if key not in _OPT_KEYS:
            raise InterfaceError(
                f"option {k!r} is not supported by Levin's client (it knows timeout-ms and "
                "client-name, and for a Datalog connection closed-schema? and "
                "auto-entity-time?)"
            )
        if key.startswith("timeout"):
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise InterfaceError(f"timeout-ms is a number of milliseconds, got {v!r}")
            t.timeout_ms = v or None
        else:
            name = str(v)
    return name


def _slice(rows: Any, limit: Optional[int], offset: Optional[int]) -> Any:
    if not isinstance(rows, list):
        return rows
    start = max(offset or 0, 0)
    if limit is None:
        return rows[start:] if start else rows
    return rows[start : start + max(limit, 0)]


def _fetch(limit: Optional[int], offset: Optional[int]) -> Optional[int]:
    _count("limit", limit)
    _count("offset", offset)
    if limit is None:
        return None
    return max(limit, 0) + max(offset or 0, 0)


def _count(what: str, n: Any) -> None:
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 0):
        raise InterfaceError(f"{what} is a non-negative int or None, got {n!r}")


def _index(index: Any) -> Keyword:
    if isinstance(index, str):
        k = Keyword(index)
        if k.name in ("eav", "ave"):
            return k
    raise InterfaceError(f"an index is ':eav' or ':ave' (Levin keeps those two), got {index!r}")


class Entity(Mapping):
    """An entity: its attributes as a read-only mapping (``entity[":name"]``), with ``id``.
    Unlike Datalevin's lazy entity it holds all attributes, read when it was asked for."""

    def __init__(self, attrs: Dict[Any, Any]) -> None:
        self._attrs = dict(attrs)

    @property
    def id(self) -> Any:
        """The entity id."""
        return self._attrs.get(":db/id")

    def __getitem__(self, attr: Any) -> Any:
        key = attr if isinstance(attr, Keyword) else Keyword(attr) if isinstance(attr, str) else attr
        return self._attrs[key]

    def get(self, attr: Any, default: Any = None) -> Any:
        try:
            return self[attr]
        except KeyError:
            return default

    def __contains__(self, attr: object) -> bool:
        try:
            self[attr]
        except (KeyError, ValueError, TypeError):
            return False
        return True

    def __iter__(self) -> Iterator[Any]:
        return iter(self._attrs)

    def __len__(self) -> int:
        return len(self._attrs)

    def touch(self) -> Dict[Any, Any]:
        """All attributes as a dict."""
        return dict(self._attrs)

    def __repr__(self) -> str:
        return f"Entity({self._attrs!r})"


class Connection:
    """A Datalog database on a Levin server. Make one with `levin.connect`; use it as a
    context manager, or call `close`. Reads see the latest committed state (or, inside
    `with_transaction`, the transaction's own writes). Methods may be called from several
    threads; requests go one at a time."""

    def __init__(self, uri: str, schema: Any = None, opts: Optional[Dict[str, Any]] = None) -> None:
        target = parse_uri(uri)
        if not target.db:
            raise InterfaceError(
                f"{target.display()} names no database: levin://USER:PASSWORD@HOST:PORT/DATABASE"
            )
        db_opts: Dict[Keyword, Any] = {}
        name = _opts_target(target, opts, db_opts)
        self._target = target
        self.db_name: str = target.db
        self._txn_open = False
        self._txn_aborted = False
        self._wire = Wire(target, name)
        try:
            args: List[Any] = [self.db_name]
            s = cv.schema(schema)
            if s is not None or db_opts:
                args.append(s)
            if db_opts:
                args.append(db_opts)
            self.info: Dict[Any, Any] = self._call("open", *args)
        except BaseException:
            self._wire.close()
            raise

    # ------------------------------------------------------------------ plumbing

    def _call(self, op: str, *args: Any, **named: Any) -> Any:
        return self._wire.call(op, list(args), **named)

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed() else "open"
        return f"<levin.Connection {self._target.display()} {state}>"

    def close(self) -> None:
        """Closes the connection (an open explicit transaction is aborted by the server)."""
        self._wire.close()

    def closed(self) -> bool:
        return self._wire.closed

    @property
    def uri(self) -> str:
        """The URI, without the password."""
        return self._target.display()

    # ------------------------------------------------------------------ Datalog

    def schema(self) -> Dict[Any, Any]:
        """The schema map."""
        return self._call("schema", self.db_name)

    def update_schema(self, schema_update: Any = None, del_attrs: Optional[Sequence[Any]] = None,
                      rename_map: Optional[Dict[Any, Any]] = None) -> Dict[Any, Any]:
        """Adds or changes attributes, deletes attributes (which must hold no datom), and
        renames attributes (``{":old": ":new"}``). Returns the new schema."""
        args: List[Any] = [self.db_name, cv.schema(schema_update)]
        if del_attrs is not None or rename_map is not None:
            if isinstance(del_attrs, (str, Keyword)):
                del_attrs = [del_attrs]
            args.append([cv.attr(a) for a in (del_attrs or [])])
        if rename_map is not None:
            if not isinstance(rename_map, Mapping):
                raise InterfaceError(f"rename_map is a dict {{old: new}}, got {rename_map!r}")
            args.append({cv.attr(a): cv.attr(b) for a, b in rename_map.items()})
        return self._call("update-schema", *args)

    def transact(self, tx_data: Any, tx_meta: Any = None) -> Dict[Any, Any]:
        """Transacts; returns the report ``{":tx-data": [[e a v tx added?] ...],
        ":tempids": {...}, ":max-eid": n, ":tx": tx, ":tx-id": tx}``."""
        if tx_meta is not None:
            raise Unsupported("tx_meta is not supported by Levin's server (no transaction metadata)")
        report = self._call("transact", self.db_name, cv.tx_data(tx_data))
        if isinstance(report, dict) and ":tx" in report:
            report[Keyword("tx-id")] = report[":tx"]
        return report

    def query(self, query: Any, *inputs: Any, snapshot: Optional[int] = None) -> Any:
        """Runs a query: EDN text, a `levin.q` form, or Python data. ``inputs`` bind in
        order to the ``:in`` entries after ``$``; one bound to ``%`` is a rule set (EDN
        text, Python data or ``q.rules(...)``)."""
        typed = cv.is_form(query)
        q = cv.query(query)
        args: List[Any] = [self.db_name, q]
        if inputs:
            args.append(cv.inputs(q, inputs, typed))
        return self._call("q", *args, snapshot=snapshot)

    q = query

    def explain(self, query: Any, *inputs: Any, opts_edn: Any = None) -> Dict[Any, Any]:
        """Runs the query and returns its plan: ``{":steps": [...], ":parse-ms", ...}``."""
        if opts_edn is not None:
            raise Unsupported("explain options are not supported by Levin's server")
        typed = cv.is_form(query)
        q = cv.query(query)
        args: List[Any] = [self.db_name, q]
        if inputs:
            args.append(cv.inputs(q, inputs, typed))
        return self._call("explain", *args)

    def pull(self, selector: Any, eid: Any) -> Optional[Dict[Any, Any]]:
        """Pulls one entity (an id, a lookup ref ``[":name", "Ada"]`` or an ident)."""
        return self._call("pull", self.db_name, cv.pull_pattern(selector), cv.eid(eid))

    def pull_many(self, selector: Any, eids: Sequence[Any]) -> List[Any]:
        """Pulls several entities."""
        if isinstance(eids, (str, bytes)) or not hasattr(eids, "__iter__"):
            raise InterfaceError(f"pull_many takes a list of entity ids, got {eids!r}")
        return self._call("pull-many", self.db_name, cv.pull_pattern(selector), [cv.eid(e) for e in eids])

    def entity(self, eid: Any) -> Optional[Entity]:
        """The entity as an `Entity` (a mapping with ``id``), or None."""
        m = self._call("entity", self.db_name, cv.eid(eid))
        return None if m is None else Entity(m)

    def entity_map(self, eid: Any) -> Optional[Dict[Any, Any]]:
        """The entity's attributes as a dict, or None."""
        return self._call("entity", self.db_name, cv.eid(eid))

    def entid(self, eid: Any) -> Optional[int]:
        """The entity id of an id, lookup ref or ident, or None."""
        return self._call("entid", self.db_name, cv.eid(eid))

    def _components(self, index: Keyword, c1: Any, c2: Any, c3: Any) -> List[Any]:
        cs = [c1, c2, c3]
        while cs and cs[-1] is None:
            cs.pop()
        if any(c is None for c in cs):
            raise InterfaceError("datoms components are given from the left: c1, then c2, then c3")
        out = []
        for i, c in enumerate(cs):
            is_attr = (index.name == "eav" and i == 1) or (index.name == "ave" and i == 0)
            if is_attr:
                out.append(cv.attr(c))
            elif (index.name == "eav" and i == 0) or (index.name == "ave" and i == 2):
                out.append(cv.eid(c, "the entity component"))
            else:
                out.append(cv.literal(c))
        return out

    def _datoms(self, op: str, index: Any, c1: Any, c2: Any, c3: Any,
                limit: Optional[int], offset: Optional[int]) -> List[Any]:
        idx = _index(index)
        comps = self._components(idx, c1, c2, c3)
        fetch = _fetch(limit, offset)
        args: List[Any] = [self.db_name, idx, comps]
        if fetch is not None:
            args.append(fetch)
        return _slice(self._call(op, *args), limit, offset)

    def datoms(self, index: Any, c1: Any = None, c2: Any = None, c3: Any = None,
               limit: Optional[int] = None, offset: Optional[int] = None) -> List[List[Any]]:
        """Datoms ``[e a v]`` of index ``":eav"`` or ``":ave"`` whose leading components
        equal c1, c2, c3."""
        return self._datoms("datoms", index, c1, c2, c3, limit, offset)

    def seek_datoms(self, index: Any, c1: Any = None, c2: Any = None, c3: Any = None,
                    limit: Optional[int] = None, offset: Optional[int] = None) -> List[List[Any]]:
        """Datoms of the index from the components on, in order."""
        return self._datoms("seek-datoms", index, c1, c2, c3, limit, offset)

    def rseek_datoms(self, index: Any, c1: Any = None, c2: Any = None, c3: Any = None,
                     limit: Optional[int] = None, offset: Optional[int] = None) -> List[List[Any]]:
        """Datoms of the index from the components back, in reverse order."""
        return self._datoms("rseek-datoms", index, c1, c2, c3, limit, offset)

    def _pattern_index(self, e: Any, attr: Any, value: Any) -> tuple:
        if e is not None:
            return Keyword("eav"), e, attr, value
        if attr is not None:
            return Keyword("ave"), attr, value, None
        # A value alone: no index is ordered by value first, so the whole EAV index is read
        # and filtered (as the Rust client and the pod do).
        return Keyword("eav"), None, None, value

    def search_datoms(self, e: Any = None, attr: Any = None, value: Any = None,
                      limit: Optional[int] = None, offset: Optional[int] = None) -> List[List[Any]]:
        """Datoms matching the given entity, attribute and value. A value without an
        attribute reads every datom of the entity (or of the database) and keeps those with
        that value."""
        idx, c1, c2, c3 = self._pattern_index(e, attr, value)
        if idx == ":eav" and c2 is None and c3 is not None:
            rows = self._datoms("datoms", idx, c1, None, None, None, None)
            want = cv.literal(c3)
            return _slice([r for r in rows if r[2] == want], limit, offset)
        return self._datoms("datoms", idx, c1, c2, c3, limit, offset)

    def count_datoms(self, e: Any = None, attr: Any = None, value: Any = None) -> int:
        """The number of datoms matching the given entity, attribute and value."""
        idx, c1, c2, c3 = self._pattern_index(e, attr, value)
        if idx == ":eav" and c2 is None and c3 is not None:
            return len(self.search_datoms(e, attr, value))
        return self._call("count-datoms", self.db_name, idx, self._components(idx, c1, c2, c3))

    def cardinality(self, attr: Any) -> int:
        """The number of distinct values of the attribute (0 for none), as Datalevin's
        cardinality; counted on the server."""
        n = self.query("[:find (count-distinct ?v) . :in $ ?a :where [_ ?a ?v]]", cv.attr(attr))
        return int(n or 0)

    def index_range(self, attr: Any, start: Any, end: Any, limit: Optional[int] = None,
                    offset: Optional[int] = None) -> List[List[Any]]:
        """Datoms of an attribute with values from start to end (None: open)."""
        fetch = _fetch(limit, offset)
        args: List[Any] = [self.db_name, cv.attr(attr), cv.literal(start), cv.literal(end)]
        if fetch is not None:
            args.append(fetch)
        return _slice(self._call("index-range", *args), limit, offset)

    def max_eid(self) -> int:
        """The largest entity id."""
        return self._call("max-eid", self.db_name)

    def clear(self) -> None:
        """Removes every datom (the schema stays)."""
        self._call("clear", self.db_name)

    def re_index(self, schema: Any = None) -> int:
        """Rebuilds the indexes from the datoms (Datalevin's ``re_index``), first merging
        ``schema`` (a dict or EDN text; None keeps the stored one) as into an empty
        database: so it may type untyped values or make distinct values unique, which
        `update_schema` refuses over existing data. All or nothing: data the schema does
        not fit raises (``TransactionError``, ``UniqueConflict``; an invalid schema
        ``SchemaError``), naming the attribute, and nothing changes. Refused
        (``TransactionStateError``) inside an explicit transaction. Returns how many
        datoms were asserted again; the connection stays usable."""
        args: List[Any] = [self.db_name]
        s = cv.schema(schema)
        if s is not None:
            args.append(s)
        return self._call("re-index", *args)

    def opts(self) -> Dict[Any, Any]:
        """The options stored in the database, ``{":closed-schema?": bool,
        ":auto-entity-time?": bool}`` (Datalevin's ``opts``, its stored part): what every
        connection, in every mode, transacts under. Set them with ``connect(...,
        opts={"closed-schema?": True})``."""
        return self._call("open", self.db_name)[":opts"]

    # ------------------------------------------------------------------ transactions

    def open_transact(self) -> None:
        """Begins an explicit transaction; `transact` writes into it and reads see it."""
        self._call("open-transact", self.db_name)
        self._txn_open, self._txn_aborted = True, False

    def close_transact(self) -> int:
        """Commits the explicit transaction; returns its transaction id."""
        try:
            return self._call("close-transact", self.db_name)
        finally:
            self._txn_open = False

    def abort_transact(self) -> None:
        """Aborts the explicit transaction (inside `with_transaction`, it then ends without
        committing)."""
        try:
            self._call("abort-transact", self.db_name)
        finally:
            if self._txn_open:
                self._txn_aborted = True
            self._txn_open = False

    def with_transaction(self, fn: Callable[["Connection"], T], timeout_ms: Optional[int] = None) -> T:
        """Runs ``fn(conn)`` inside an explicit transaction: commits when it returns, aborts
        and re-raises when it raises (or when it ran past ``timeout_ms``, raising
        `TransactionStateError`). Returns what ``fn`` returned."""
        if not callable(fn):
            raise InterfaceError(f"with_transaction takes a function, got {fn!r}")
        _count("timeout_ms", timeout_ms)
        start = time.monotonic()
        self.open_transact()
        try:
            result = fn(self)
        except BaseException:
            if self._txn_open:
                try:
                    self.abort_transact()
                except Error:
                    pass
            raise
        if self._txn_aborted:
            self._txn_aborted = False
            return result
        if not self._txn_open:
            raise TransactionStateError("the transaction was ended inside with_transaction")
        if timeout_ms is not None and (time.monotonic() - start) * 1000 > timeout_ms:
            self.abort_transact()
            self._txn_aborted = False
            raise TransactionStateError(
                f"the transaction ran past its timeout of {timeout_ms} ms and was aborted"
            )
        self.close_transact()
        return result

    # ------------------------------------------------------------------ snapshots

    def db_snapshot(self) -> int:
        """Takes a snapshot id for ``query(..., snapshot=id)``; release it with
        `release_snapshot`."""
        return self._call("db-snapshot", self.db_name)

    def release_snapshot(self, snapshot: int) -> None:
        self._call("release-snapshot", snapshot)


def connect(uri: str, schema: Any = None, opts: Optional[Dict[str, Any]] = None) -> Connection:
    """Connects to a Datalog database on a Levin server, creating it if needed:
    ``connect("levin://ann:secret@localhost:8898/sales", schema={...})``. The password may
    come from ``LEVIN_PASSWORD``; ``?ca=/path/ca.pem`` (or ``?tls=true`` with the system's
    CAs) connects with TLS; ``?timeout-ms=N`` bounds the wait for each reply. ``opts`` takes
    ``timeout-ms`` and ``client-name``, and the database options ``closed-schema?`` and
    ``auto-entity-time?`` (True/False), which the server stores in the database as
    Datalevin stores its opts (opening with them needs alter on the database)."""
    return Connection(uri, schema=schema, opts=opts)
