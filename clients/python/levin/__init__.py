"""Levin for Python: a client of `levin serve` (docs/PROTOCOL.md), shaped like Datalevin's
own Python package so that a program written for ``datalevin`` runs on Levin by changing
the import and the connect string.

>>> import levin
>>> with levin.connect("levin://admin:secret@localhost:8898/demo",
...                    schema={":name": {":db/unique": ":db.unique/identity"}}) as conn:
...     conn.transact([{":name": "Ada"}, {":name": "Bob"}])
...     conn.q('[:find [?n ...] :where [_ :name ?n]]')
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, TypeVar

from . import query as q
from . import transaction as tx
from ._types import EdnList, FrozenDict, Keyword, Symbol, Tagged, edn_list, keyword, quote, symbol
from .client import Client, new_client
from .connection import Connection, Entity, connect
from .edn import read_all_edn, read_edn, write_edn
from .errors import (
    AlreadyExists,
    AuthenticationFailed,
    BadArgument,
    Busy,
    CasFailed,
    ConnectionClosed,
    ConnectionTimeout,
    CorruptionError,
    DatalevinError,
    Error,
    InterfaceError,
    InUse,
    InvalidURI,
    LookupRefError,
    NotFound,
    ParseError,
    PermissionDenied,
    ProtocolError,
    QueryError,
    SchemaError,
    StorageError,
    Timeout,
    TLSError,
    TooLarge,
    TransactionError,
    TransactionStateError,
    UniqueConflict,
    UnknownOperation,
    Unsupported,
    WriterBusy,
)
from .kv import KV, open_kv

__version__ = "0.1.0"

T = TypeVar("T")


# Datalevin's module-level functions that take the connection first.


def transact(conn: Connection, tx_data: Any, tx_meta: Any = None) -> Dict[Any, Any]:
    """``conn.transact(tx_data, tx_meta)``."""
    return conn.transact(tx_data, tx_meta)


def max_eid(conn: Connection) -> int:
    """``conn.max_eid()``."""
    return conn.max_eid()


def with_transaction(conn: Connection, fn: Callable[[Connection], T], timeout_ms: Optional[int] = None) -> T:
    """``conn.with_transaction(fn, timeout_ms)``."""
    return conn.with_transaction(fn, timeout_ms)


def abort_transact(conn: Connection) -> None:
    """``conn.abort_transact()``."""
    conn.abort_transact()


def schema_attr(*, value_type: Any = None, cardinality: Any = None, unique: Any = None,
                index: Optional[bool] = None, fulltext: Optional[bool] = None,
                is_component: Optional[bool] = None, doc: Optional[str] = None,
                tuple_attrs: Any = None, tuple_type: Any = None, tuple_types: Any = None,
                extra: Optional[Dict[Any, Any]] = None) -> Dict[Keyword, Any]:
    """An attribute's schema map from keyword arguments: ``schema_attr(value_type=
    ":db.type/string", unique=":db.unique/identity")``. Values without a colon get one
    under the right namespace (``value_type="string"`` is ``:db.type/string``)."""

    def k(ns: str, v: Any) -> Any:
        if isinstance(v, Keyword) or not isinstance(v, str):
            return v
        return Keyword(v if v.startswith(":") else f"{ns}/{v}")

    out: Dict[Keyword, Any] = {}
    pairs = [
        ("db/valueType", k("db.type", value_type) if value_type is not None else None),
        ("db/cardinality", k("db.cardinality", cardinality) if cardinality is not None else None),
        ("db/unique", k("db.unique", unique) if unique is not None else None),
        ("db/index", index),
        ("db/fulltext", fulltext),
        ("db/isComponent", is_component),
        ("db/doc", doc),
        ("db/tupleAttrs", [Keyword(a) for a in tuple_attrs] if tuple_attrs is not None else None),
        ("db/tupleType", k("db.type", tuple_type) if tuple_type is not None else None),
        ("db/tupleTypes", [k("db.type", t) for t in tuple_types] if tuple_types is not None else None),
    ]
    for name, v in pairs:
        if v is not None:
            out[Keyword(name)] = v
    for key, v in (extra or {}).items():
        out[Keyword(key)] = v
    return out


def _attr_key(attr: str) -> Keyword:
    return Keyword(attr.replace("__", "/")) if not attr.startswith(":") else Keyword(attr)


def tx_entity(db_id: Any = None, attrs: Optional[Dict[Any, Any]] = None, **values: Any) -> Dict[Any, Any]:
    """An entity map for transaction data (keyword arguments: ``person__name="Ada"`` is
    ``:person/name``)."""
    m: Dict[Any, Any] = {}
    if db_id is not None:
        m[Keyword("db/id")] = db_id
    for key, v in (attrs or {}).items():
        m[Keyword(key) if isinstance(key, str) else key] = v
    for key, v in values.items():
        m[_attr_key(key)] = v
    return m


def tx_add(entity_id: Any, attr: Any, value: Any) -> list:
    return [Keyword("db/add"), entity_id, Keyword(attr), value]


def tx_retract(entity_id: Any, attr: Any, value: Any) -> list:
    return [Keyword("db/retract"), entity_id, Keyword(attr), value]


def tx_retract_entity(entity_id: Any) -> list:
    return [Keyword("db/retractEntity"), entity_id]


def _datom_part(d: Any, i: int, what: str) -> Any:
    if isinstance(d, dict):
        return d.get(Keyword(what))
    if isinstance(d, (list, tuple)):
        if i < 3 and len(d) < 3:
            raise InterfaceError(f"a datom is [e a v] or [e a v tx added?], got {d!r}")
        return d[i] if i < len(d) else None
    raise InterfaceError(f"a datom is [e a v] or [e a v tx added?], got {d!r}")


def datom(e: Any, attr: Any, value: Any, tx: Any = None, added: Any = None) -> tuple:
    """Datom-shaped data ``(e, a, v[, tx[, added]])``."""
    if added is not None and tx is None:
        raise InterfaceError("tx is required when added is given")
    d = (e, Keyword(attr) if isinstance(attr, str) else attr, value)
    if tx is not None:
        d += (tx,)
    if added is not None:
        d += (bool(added),)
    return d


def datom_is(value: Any) -> bool:
    """Whether value is datom-shaped: ``[e a v]`` or ``[e a v tx added?]``."""
    return isinstance(value, (list, tuple)) and 3 <= len(value) <= 5 and isinstance(value[1], Keyword)


def datom_e(d: Any) -> Any:
    """The entity id of a datom row (as `datoms` and ``:tx-data`` return them)."""
    return _datom_part(d, 0, "e")


def datom_a(d: Any) -> Any:
    return _datom_part(d, 1, "a")


def datom_v(d: Any) -> Any:
    return _datom_part(d, 2, "v")


def datom_tx(d: Any) -> Any:
    return _datom_part(d, 3, "tx")


def datom_added(d: Any) -> Any:
    return _datom_part(d, 4, "added")


__all__ = [
    "AlreadyExists", "AuthenticationFailed", "BadArgument", "Busy", "CasFailed", "Client",
    "Connection", "ConnectionClosed", "ConnectionTimeout", "CorruptionError",
    "DatalevinError", "EdnList", "Entity", "FrozenDict", "Error", "InUse", "InterfaceError", "InvalidURI",
    "KV", "Keyword", "LookupRefError", "NotFound", "ParseError", "PermissionDenied",
    "ProtocolError", "QueryError", "SchemaError", "StorageError", "Symbol", "TLSError",
    "Tagged", "Timeout", "TooLarge", "TransactionError", "TransactionStateError",
    "UniqueConflict", "UnknownOperation", "Unsupported", "WriterBusy", "abort_transact",
    "connect", "datom", "datom_a", "datom_added", "datom_e", "datom_is", "datom_tx", "datom_v",
    "edn_list", "keyword", "max_eid", "new_client", "open_kv", "q", "quote",
    "read_all_edn", "read_edn", "schema_attr", "symbol", "transact", "tx", "tx_add",
    "tx_entity", "tx_retract", "tx_retract_entity", "with_transaction", "write_edn",
]
