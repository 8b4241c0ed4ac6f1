"""`KV`: a key-value database on a Levin server, with the methods of Datalevin's Python
``KV``. Keys and values are typed as in Datalevin (``":string"``, ``":long"``, ``":data"``
the default, ``[":long", ":string"]`` a tuple, ...); a range is ``[":closed", lo, hi]``,
``[":all"]``, ``[":at-least", k]``, ... with ``-back`` for descending order."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, TypeVar

from . import _convert as cv
from ._types import Keyword
from ._wire import Wire, parse_uri
from .connection import CLIENT_NAME, _count, _fetch, _opts_target, _slice
from .errors import Error, InterfaceError, TransactionStateError, Unsupported

__all__ = ["KV", "open_kv"]

T = TypeVar("T")


def _dbi(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise InterfaceError(f"a sub-database name is a non-empty string, got {name!r}")
    return name


def _need(value: Any, what: str, op: str) -> None:
    if value is None:
        raise InterfaceError(f"{what} is required for KV {op}()")


def _types(args: List[Any], k_type: Any, v_type: Any, op: str) -> None:
    if v_type is not None and k_type is None:
        raise InterfaceError(f"v_type needs k_type in KV {op}() (give k_type=':data' for the default)")
    if k_type is not None:
        args.append(cv.kv_type(k_type, "k_type"))
    if v_type is not None:
        args.append(cv.kv_type(v_type, "v_type"))


def _no_opts(opts: Any, op: str) -> None:
    if opts:
        raise Unsupported(f"options of KV {op}() are not supported by Levin's server: {opts!r}")


class KV:
    """A key-value database. Make one with `levin.open_kv`; use it as a context manager
    or call `close`."""

    def __init__(self, uri: str, opts: Optional[Dict[str, Any]] = None) -> None:
        target = parse_uri(uri)
        if not target.db:
            raise InterfaceError(f"{target.display()} names no database: levin://USER@HOST:PORT/NAME")
        name = _opts_target(target, opts)
        self._target = target
        self.db_name: str = target.db
        self._wire = Wire(target, name)
        self._txn_open = False
        self._txn_aborted = False
        try:
            self._call("open-kv", self.db_name)
        except BaseException:
            self._wire.close()
            raise

    def _call(self, op: str, *args: Any, **named: Any) -> Any:
        return self._wire.call(op, [self.db_name, *args], **named)

    def __enter__(self) -> "KV":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<levin.KV {self._target.display()} {'closed' if self.closed() else 'open'}>"

    def close(self) -> None:
        self._wire.close()

    def closed(self) -> bool:
        return self._wire.closed

    # ------------------------------------------------------------------ sub-databases

    def open_dbi(self, name: str, opts: Any = None) -> None:
        """Opens (creating) a sub-database."""
        _no_opts(opts, "open_dbi")
        self._call("open-dbi", _dbi(name))

    def open_list_dbi(self, name: str, opts: Any = None) -> None:
        """Opens (creating) a list sub-database: sorted values per key."""
        _no_opts(opts, "open_list_dbi")
        self._call("open-list-dbi", _dbi(name))

    def list_dbis(self) -> List[str]:
        return self._call("list-dbis")

    def clear_dbi(self, dbi_name: str) -> None:
        self._call("clear-dbi", _dbi(dbi_name))

    def drop_dbi(self, dbi_name: str) -> None:
        self._call("drop-dbi", _dbi(dbi_name))

    def entries(self, dbi_name: str) -> int:
        return self._call("entries", _dbi(dbi_name))

    def stat(self, dbi_name: Optional[str] = None) -> Dict[Any, Any]:
        """Statistics of the database, or of one sub-database
        (``{":name", ":list?", ":entries"}``)."""
        st = self._call("stat")
        if dbi_name is None:
            return st
        for d in st.get(":dbis", []):
            if d.get(":name") == dbi_name:
                return d
        raise InterfaceError(f"no sub-database {dbi_name!r}")

    def sync(self, force: Any = None) -> None:
        self._call("sync")

    # ------------------------------------------------------------------ writes

    def transact(self, txs: Sequence[Any], dbi_name: Optional[str] = None,
                 k_type: Any = None, v_type: Any = None) -> Any:
        """Writes a batch, all or nothing: forms ``[":put", dbi, k, v, kt?, vt?]``,
        ``[":del", dbi, k, kt?]``, ``[":put-list", dbi, k, [v...], kt?, vt?]``,
        ``[":del-list", dbi, k, [v...], kt?, vt?]``; with ``dbi_name``, the forms leave out
        the sub-database (``[":put", k, v]``) and k_type/v_type apply to each."""
        if dbi_name is None and (k_type is not None or v_type is not None):
            raise InterfaceError("k_type and v_type need dbi_name in KV transact()")
        if v_type is not None and k_type is None:
            raise InterfaceError("v_type needs k_type in KV transact()")
        if isinstance(txs, (str, bytes)) or not hasattr(txs, "__iter__"):
            raise InterfaceError(f"KV transact() takes a list of forms, got {txs!r}")
        forms = []
        for f in txs:
            if not isinstance(f, (list, tuple)) or not f:
                raise InterfaceError(f"a KV form is a list such as [':put', dbi, k, v], got {f!r}")
            op = Keyword(f[0]) if isinstance(f[0], str) else f[0]
            if not isinstance(op, Keyword) or op.name not in ("put", "del", "put-list", "del-list"):
                raise InterfaceError(f"a KV form starts with :put, :del, :put-list or :del-list, got {f[0]!r}")
            rest = list(f[1:])
            if dbi_name is not None:
                rest.insert(0, dbi_name)
            if not rest or not isinstance(rest[0], str):
                raise InterfaceError(f"a KV form names its sub-database after the operation: {f!r}")
            nvals = {"put": 2, "del": 1, "put-list": 2, "del-list": 2}[op.name]
            body = rest[: 1 + nvals]
            if len(body) < 1 + nvals:
                raise InterfaceError(f"{op} needs {'a key' if nvals == 1 else 'a key and a value'}: {f!r}")
            if op.name in ("put-list", "del-list") and not isinstance(body[2], (list, tuple, set, frozenset)):
                raise InterfaceError(f"{op} takes a list of values: {f!r}")
            types = rest[1 + nvals :]
            if dbi_name is not None and not types:
                types = [k_type, v_type] if op.name != "del" else [k_type]
                while types and types[-1] is None:
                    types.pop()
            body = [cv.literal(x) for x in body]
            if op.name in ("put-list", "del-list"):
                body[2] = [cv.literal(x) for x in body[2]]
            forms.append([op, *body, *(cv.kv_type(t) if t is not None else None for t in types)])
        return self._call("transact-kv", forms)

    transact_kv = transact

    def put_list_items(self, list_name: str, key: Any, values: Sequence[Any], k_type: Any, v_type: Any) -> Any:
        _need(k_type, "k_type", "put_list_items")
        _need(v_type, "v_type", "put_list_items")
        return self.transact([[":put-list", list_name, key, list(values), k_type, v_type]])

    def del_list_items(self, list_name: str, key: Any, k_type: Any, *, values: Optional[Sequence[Any]] = None,
                       v_type: Any = None) -> Any:
        _need(k_type, "k_type", "del_list_items")
        if values is None:
            return self.transact([[":del", list_name, key, k_type]])
        _need(v_type, "v_type", "del_list_items")
        return self.transact([[":del-list", list_name, key, list(values), k_type, v_type]])

    # ------------------------------------------------------------------ reads

    def get_value(self, dbi_name: str, key: Any, k_type: Any = None, v_type: Any = None,
                  ignore_key: bool = False) -> Any:
        """The value of a key, or None. As in Datalevin's Python API, giving k_type and
        v_type also sends ignore_key (default False: a ``[k, v]`` pair comes back)."""
        args: List[Any] = [_dbi(dbi_name), cv.literal(key)]
        if (k_type is None) != (v_type is None):
            raise InterfaceError("k_type and v_type go together in KV get_value()")
        if k_type is not None:
            args += [cv.kv_type(k_type, "k_type"), cv.kv_type(v_type, "v_type"), bool(ignore_key)]
        return self._call("get-value", *args)

    def _typed_flag(self, args: List[Any], k_type: Any, v_type: Any, ignore_key: Any, op: str) -> None:
        _types(args, k_type, v_type, op)
        if ignore_key is not None:
            if k_type is None or v_type is None:
                raise InterfaceError(f"ignore_key needs k_type and v_type in KV {op}()")
            args.append(bool(ignore_key))

    def get_first(self, dbi_name: str, key_range: Any, k_type: Any = None, v_type: Any = None,
                  ignore_key: Optional[bool] = None) -> Any:
        """The first ``[k, v]`` (or value) in the range, or None."""
        args: List[Any] = [_dbi(dbi_name), cv.kv_range(key_range, "key_range")]
        self._typed_flag(args, k_type, v_type, ignore_key, "get_first")
        return self._call("get-first", *args)

    def get_first_n(self, dbi_name: str, n: int, key_range: Any, k_type: Any = None,
                    v_type: Any = None, ignore_key: Optional[bool] = None) -> List[Any]:
        """The first n pairs (or values) in the range."""
        _count("n", n)
        args: List[Any] = [_dbi(dbi_name), n, cv.kv_range(key_range, "key_range")]
        self._typed_flag(args, k_type, v_type, ignore_key, "get_first_n")
        return self._call("get-first-n", *args)

    def get_range(self, dbi_name: str, key_range: Any, k_type: Any = None, v_type: Any = None,
                  limit: Optional[int] = None, offset: Optional[int] = None,
                  ignore_key: Optional[bool] = None) -> List[Any]:
        """The ``[k, v]`` pairs in the range, in its order."""
        args: List[Any] = [_dbi(dbi_name), cv.kv_range(key_range, "key_range")]
        self._typed_flag(args, k_type, v_type, ignore_key, "get_range")
        return _slice(self._call("get-range", *args, limit=_fetch(limit, offset)), limit, offset)

    def key_range(self, dbi_name: str, key_range: Any, k_type: Any = None,
                  limit: Optional[int] = None, offset: Optional[int] = None) -> List[Any]:
        """The keys in the range."""
        args: List[Any] = [_dbi(dbi_name), cv.kv_range(key_range, "key_range")]
        _types(args, k_type, None, "key_range")
        return _slice(self._call("key-range", *args, limit=_fetch(limit, offset)), limit, offset)

    def range_count(self, dbi_name: str, key_range: Any, k_type: Any = None) -> int:
        """The number of pairs in the range."""
        args: List[Any] = [_dbi(dbi_name), cv.kv_range(key_range, "key_range")]
        _types(args, k_type, None, "range_count")
        return self._call("range-count", *args)

    def key_range_count(self, dbi_name: str, key_range: Any, k_type: Any = None) -> int:
        args: List[Any] = [_dbi(dbi_name), cv.kv_range(key_range, "key_range")]
        _types(args, k_type, None, "key_range_count")
        return self._call("key-range-count", *args)

    def get_rank(self, dbi_name: str, key: Any, k_type: Any = None) -> Optional[int]:
        """The key's position in the sub-database, or None."""
        args: List[Any] = [_dbi(dbi_name), cv.literal(key)]
        _types(args, k_type, None, "get_rank")
        return self._call("get-rank", *args)

    def get_by_rank(self, dbi_name: str, rank: int, k_type: Any = None, v_type: Any = None,
                    ignore_key: Optional[bool] = None) -> Any:
        """The pair at a position, or None. With both types, ignore_key defaults to True."""
        _count("rank", rank)
        args: List[Any] = [_dbi(dbi_name), rank]
        if k_type is not None and v_type is not None and ignore_key is None:
            ignore_key = True
        self._typed_flag(args, k_type, v_type, ignore_key, "get_by_rank")
        return self._call("get-by-rank", *args)

    def sample_kv(self, dbi_name: str, n: int, k_type: Any = None, v_type: Any = None,
                  ignore_key: Optional[bool] = None, seed: Optional[int] = None) -> List[Any]:
        """n random pairs. With both types, ignore_key defaults to True."""
        _count("n", n)
        args: List[Any] = [_dbi(dbi_name), n]
        if k_type is not None and v_type is not None and ignore_key is None:
            ignore_key = True
        self._typed_flag(args, k_type, v_type, ignore_key, "sample_kv")
        return self._call("sample-kv", *args, seed=seed)

    def get_list(self, list_name: str, key: Any, k_type: Any, v_type: Any,
                 limit: Optional[int] = None, offset: Optional[int] = None) -> List[Any]:
        """The values of a key in a list sub-database."""
        _need(k_type, "k_type", "get_list")
        _need(v_type, "v_type", "get_list")
        args = [_dbi(list_name), cv.literal(key), cv.kv_type(k_type), cv.kv_type(v_type)]
        return _slice(self._call("get-list", *args, limit=_fetch(limit, offset)), limit, offset)

    def list_count(self, list_name: str, key: Any, k_type: Any) -> int:
        _need(k_type, "k_type", "list_count")
        return self._call("list-count", _dbi(list_name), cv.literal(key), cv.kv_type(k_type))

    def in_list(self, list_name: str, key: Any, value: Any, k_type: Any, v_type: Any) -> bool:
        _need(k_type, "k_type", "in_list")
        _need(v_type, "v_type", "in_list")
        return bool(self._call("in-list?", _dbi(list_name), cv.literal(key), cv.literal(value),
                               cv.kv_type(k_type), cv.kv_type(v_type)))

    def list_range(self, list_name: str, k_range: Any, k_type: Any, v_range: Any, v_type: Any,
                   limit: Optional[int] = None, offset: Optional[int] = None) -> List[Any]:
        """``[k, v]`` pairs of a list sub-database with keys in k_range and values in
        v_range."""
        _need(k_type, "k_type", "list_range")
        _need(v_type, "v_type", "list_range")
        args = [_dbi(list_name), cv.kv_range(k_range, "k_range"), cv.kv_type(k_type),
                cv.kv_range(v_range, "v_range"), cv.kv_type(v_type)]
        return _slice(self._call("list-range", *args, limit=_fetch(limit, offset)), limit, offset)

    def list_range_count(self, list_name: str, k_range: Any, k_type: Any, v_range: Any = None,
                         v_type: Any = None) -> int:
        _need(k_type, "k_type", "list_range_count")
        args: List[Any] = [_dbi(list_name), cv.kv_range(k_range, "k_range"), cv.kv_type(k_type)]
        if v_range is not None:
            args += [cv.kv_range(v_range, "v_range"), cv.kv_type(v_type)]
        return self._call("list-range-count", *args)

    # ------------------------------------------------------------------ transactions

    def open_transact_kv(self) -> None:
        """Begins an explicit write transaction: writes go into it, reads see them."""
        self._call("open-transact-kv")
        self._txn_open, self._txn_aborted = True, False

    def close_transact_kv(self) -> None:
        try:
            self._call("close-transact-kv")
        finally:
            self._txn_open = False

    def abort_transact_kv(self) -> None:
        try:
            self._call("abort-transact-kv")
        finally:
            if self._txn_open:
                self._txn_aborted = True
            self._txn_open = False

    abort_transact = abort_transact_kv

    def with_transaction(self, fn: Callable[["KV"], T], timeout_ms: Optional[int] = None) -> T:
        """Runs ``fn(kv)`` in an explicit transaction: commits when it returns, aborts and
        re-raises when it raises."""
        if not callable(fn):
            raise InterfaceError(f"with_transaction takes a function, got {fn!r}")
        _count("timeout_ms", timeout_ms)
        import time

        start = time.monotonic()
        self.open_transact_kv()
        try:
            result = fn(self)
        except BaseException:
            if self._txn_open:
                try:
                    self.abort_transact_kv()
                except Error:
                    pass
            raise
        if self._txn_aborted:
            self._txn_aborted = False
            return result
        if not self._txn_open:
            raise TransactionStateError("the transaction was ended inside with_transaction")
        if timeout_ms is not None and (time.monotonic() - start) * 1000 > timeout_ms:
            self.abort_transact_kv()
            self._txn_aborted = False
            raise TransactionStateError(f"the transaction ran past {timeout_ms} ms and was aborted")
        self.close_transact_kv()
        return result


def open_kv(uri: str, opts: Optional[Dict[str, Any]] = None) -> KV:
    """Opens (creating) a key-value database on a Levin server:
    ``open_kv("levin://ann:secret@localhost:8898/cache")``."""
    return KV(uri, opts=opts)


_ = CLIENT_NAME
