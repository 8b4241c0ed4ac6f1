"""transit+json for the wire, on top of transit-python2 (docs/TRANSIT.md).

What the client adds to the library:
- the value model: `Keyword`, `Symbol`, `EdnList`, `Tagged`, bytes (``~b`` base64),
  instants as timezone-aware `datetime` (``~m`` milliseconds), and integers written as
  64-bit longs whenever they fit (the library writes -2**63 and 2**63-1 as ``~n``, which
  the server reads as a big integer);
- a cache that follows transit-java: the 1937th entry clears it and takes index 0, and a
  string's length counts UTF-16 units (the library keeps counting past 1936 entries and
  counts code points, which the server, like every Java-family reader, does not);
- results as plain Python: vectors as lists, maps as dicts, sets as frozensets (a set of
  unhashable items, such as the rows of a relation, as a list), lists as `EdnList`.
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import json
import uuid
from collections import OrderedDict
from decimal import Decimal
from typing import Any

from transit import read_handlers as _rh
from transit import transit_types as _tt
from transit.decoder import Decoder, default_options
from transit.rolling_cache import CACHE_SIZE, RollingCache, encode_key, is_cache_key
from transit.writer import JsonMarshaler

from ._types import EdnList, FrozenDict, Keyword, Symbol, Tagged
from .errors import InterfaceError, ProtocolError

__all__ = ["dumps", "loads"]

_UTC = _dt.timezone.utc
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_UTC)
_I64_MIN = -(2**63)
_I64_MAX = 2**63 - 1


def _utf16_len(s: str) -> int:
    n = len(s)
    if s.isascii():
        return n
    return n + sum(1 for c in s if ord(c) > 0xFFFF)


def _cacheable(s: str, as_map_key: bool) -> bool:
    return _utf16_len(s) >= 4 and (as_map_key or s[:2] in ("~#", "~$", "~:"))


class _Cache(RollingCache):
    """The transit write/read cache with transit-java's numbering and wrap."""

    def __init__(self) -> None:
        super().__init__()

    def _add(self, name: str) -> None:
        # Idempotent: transit-python's decoder decodes the first item of every array twice,
        # and a writer never writes a string in full while it is cached.
        if name in self.value_to_key:
            return
        if len(self.key_to_value) >= CACHE_SIZE:
            self.key_to_value = {}
            self.value_to_key = {}
        code = encode_key(len(self.key_to_value))
        self.key_to_value[code] = name
        self.value_to_key[name] = code

    # Writing: a cached string becomes its code; a cacheable one is entered.
    def encode(self, name: str, as_map_key: bool = False) -> str:
        code = self.value_to_key.get(name)
        if code is not None:
            return code
        if name != "^ " and name != "~#'" and _cacheable(name, as_map_key):
            self._add(name)
        return name

    # Reading: a code becomes its string.
    def decode(self, name: str, as_map_key: bool = False) -> str:
        value = self.key_to_value.get(name)
        if value is None:
            raise ProtocolError(
                f"transit: cache code {name!r} refers to no entry "
                f"(the cache holds {len(self.key_to_value)})"
            )
        return value


class _Decoder(Decoder):
    def decode_string(self, string, cache, as_map_key):  # type: ignore[override]
        if is_cache_key(string):
            return self.parse_string(cache.decode(string, as_map_key), cache, as_map_key)
        if string != "^ " and string != "~#'" and _cacheable(string, as_map_key):
            cache._add(string)
        return self.parse_string(string, cache, as_map_key)


class _ListMark(tuple):
    pass


class _ListHandler:
    @staticmethod
    def from_rep(rep):
        return _ListMark(rep)


class _BytesHandler:
    @staticmethod
    def from_rep(rep):
        if not isinstance(rep, str):
            return _tt.TaggedValue("b", rep)
        pad = "=" * (-len(rep) % 4)
        return base64.b64decode(rep + pad)


class _InstHandler:
    @staticmethod
    def from_rep(rep):
        if isinstance(rep, str) and ("T" in rep or "-" in rep[1:]):
            text = rep.replace("Z", "+00:00")
            return _dt.datetime.fromisoformat(text).astimezone(_UTC)
        ms = int(rep)
        return _EPOCH + _dt.timedelta(milliseconds=ms)


class _CharHandler:
    @staticmethod
    def from_rep(rep):
        return rep


def _make_decoder() -> _Decoder:
    decoders = dict(default_options["decoders"])
    decoders.update(
        {
            "list": _ListHandler,
            "b": _BytesHandler,
            "m": _InstHandler,
            "t": _InstHandler,
            "c": _CharHandler,
        }
    )
    return _Decoder({"decoders": decoders, "default_decoder": _rh.DefaultHandler})


_DECODER = _make_decoder()


def _hashable(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, dict):
        return FrozenDict((_hashable(k), _hashable(x)) for k, x in v.items())
    return v


def _py(v: Any) -> Any:
    """transit-python's decoded value -> the client's Python value."""
    t = type(v)
    if t is str or t is int or t is float or v is None:
        return v
    if t is _ListMark:
        return EdnList(_py(x) for x in v)
    if t is tuple:
        return [_py(x) for x in v]
    if isinstance(v, _tt.frozendict) or isinstance(v, dict):
        out = {}
        for k, x in v.items():
            key = _py(k)
            try:
                hash(key)
            except TypeError:
                key = _hashable(key)
            out[key] = _py(x)
        return out
    if t is frozenset:
        items = [_py(x) for x in v]
        try:
            return frozenset(items)
        except TypeError:
            return items
    if t is _tt.Keyword:
        return Keyword(str(v))
    if t is _tt.Symbol:
        return Symbol(str(v))
    if t is _tt.Boolean:
        return bool(v)
    if t is bool:
        return v
    if isinstance(v, _tt.URI):
        return Tagged("uri", v.rep)
    if isinstance(v, _tt.TaggedValue):
        return Tagged(v.tag, _py(v.rep))
    return v  # uuid.UUID, Decimal, datetime, bytes


def loads(text: str) -> Any:
    """One transit+json document -> a Python value."""
    try:
        node = json.loads(text, object_pairs_hook=OrderedDict)
    except ValueError as e:
        raise ProtocolError(f"a reply is not valid JSON: {e}") from None
    try:
        return _py(_DECODER.decode(node, cache=_Cache()))
    except ProtocolError:
        raise
    except Exception as e:  # the library raises assorted errors on malformed transit
        raise ProtocolError(f"a reply is not valid transit: {e!r}") from None


# ---------------------------------------------------------------------------- writing


class _IntHandler:
    @staticmethod
    def tag(n):
        return "i" if _I64_MIN <= n <= _I64_MAX else "n"

    @staticmethod
    def rep(n):
        return n

    @staticmethod
    def string_rep(n):
        return str(n)


class _BytesWriteHandler:
    @staticmethod
    def tag(_):
        return "b"

    @staticmethod
    def rep(b):
        return base64.b64encode(b).decode("ascii")

    @staticmethod
    def string_rep(b):
        return base64.b64encode(b).decode("ascii")


class _InstWriteHandler:
    @staticmethod
    def tag(_):
        return "m"

    @staticmethod
    def rep(d):
        delta = d - _EPOCH
        ms = (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
        return str(ms)

    string_rep = rep


def _wire(v: Any, path: str) -> Any:
    """The client's Python value -> what transit-python writes."""
    t = type(v)
    if v is None or t is bool or t is int or t is float or t is str:
        return v
    if t is Keyword:
        return _tt.Keyword(v.name)
    if t is Symbol:
        return _tt.Symbol(v.name)
    if t is EdnList:
        return _tt.TaggedValue("list", tuple(_wire(x, path) for x in v))
    if isinstance(v, (list, tuple)):
        return tuple(_wire(x, path) for x in v)
    if isinstance(v, dict) or hasattr(v, "items") and hasattr(v, "keys"):
        return _tt.frozendict((_wire(k, path), _wire(x, path)) for k, x in v.items())
    if isinstance(v, (set, frozenset)):
        return frozenset(_wire(x, path) for x in v)
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v)
    if isinstance(v, str):
        return str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, _dt.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=_UTC)
        return v
    if isinstance(v, (uuid.UUID, Decimal)):
        return v
    if isinstance(v, Tagged):
        return _tt.TaggedValue(v.tag, _wire(v.rep, path))
    if hasattr(v, "to_form"):
        return _wire(v.to_form(), path)
    raise InterfaceError(
        f"cannot send a {type(v).__name__} ({v!r:.80}) in {path}: the client sends None, bool, "
        "int, float, str, bytes, Decimal, uuid.UUID, datetime, Keyword, Symbol, list, "
        "tuple, dict, set and EdnList"
    )


def dumps(value: Any, path: str = "a request") -> str:
    """A Python value -> one transit+json document."""
    wire = _wire(value, path)
    buf = io.StringIO()
    m = JsonMarshaler(buf)
    m.register(int, _IntHandler)
    m.register(bytes, _BytesWriteHandler)
    m.register(_dt.datetime, _InstWriteHandler)
    try:
        m.marshal_top(wire, cache=_Cache())
    except (AssertionError, KeyError, TypeError) as e:
        raise InterfaceError(f"cannot encode {path} as transit: {e}") from None
    return buf.getvalue()
