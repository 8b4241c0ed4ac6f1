"""EDN text: `read_edn` (text -> Python values, the same values results come back as) and
`write_edn` (Python values -> text). The server also accepts queries, transactions,
schemas and pull patterns as EDN text, so most programs need neither; they are here for
rules and inputs written as text, for printing, and for Datalevin's API of the same
names."""

from __future__ import annotations

import datetime as _dt
import math
import re
import uuid
from decimal import Decimal
from typing import Any, List, Tuple

from ._types import EdnList, FrozenDict, Keyword, Symbol, Tagged
from .errors import ParseError

__all__ = ["read_edn", "read_all_edn", "write_edn"]

_UTC = _dt.timezone.utc
_DELIMS = set('()[]{}";,') | {" ", "\t", "\n", "\r", "\f"}
_INT_RE = re.compile(r"^[+-]?\d+N?$")
_FLOAT_RE = re.compile(r"^[+-]?\d+(\.\d*)?([eE][+-]?\d+)?M?$")
_CHAR_NAMES = {
    "newline": "\n",
    "space": " ",
    "tab": "\t",
    "return": "\r",
    "backspace": "\b",
    "formfeed": "\f",
}
_STRING_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


class _Reader:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.depth = 0

    def error(self, msg: str, at: int | None = None) -> ParseError:
        pos = self.i if at is None else at
        line = self.s.count("\n", 0, pos) + 1
        col = pos - (self.s.rfind("\n", 0, pos) + 1) + 1
        return ParseError(
            f"EDN: {msg} at line {line}, column {col}",
            data={Keyword("line"): line, Keyword("column"): col},
        )

    def skip(self) -> None:
        s, n = self.s, len(self.s)
        while self.i < n:
            c = s[self.i]
            if c in " \t\n\r\f,":
                self.i += 1
            elif c == ";":
                while self.i < n and s[self.i] != "\n":
                    self.i += 1
            elif s.startswith("#_", self.i):
                self.i += 2
                self.read()
            else:
                break

    def at_end(self) -> bool:
        self.skip()
        return self.i >= len(self.s)

    def read(self) -> Any:
        self.skip()
        if self.i >= len(self.s):
            raise self.error("unexpected end of input")
        c = self.s[self.i]
        if c in "([{":
            self.depth += 1
            if self.depth > 512:
                raise self.error("nested more than 512 levels")
            self.i += 1
            close = {"(": ")", "[": "]", "{": "}"}[c]
            items = self.read_until(close)
            self.depth -= 1
            if c == "(":
                return EdnList(items)
            if c == "[":
                return items
            return self.make_map(items)
        if c in ")]}":
            raise self.error(f"unmatched {c!r}")
        if c == '"':
            return self.read_string()
        if c == "\\":
            return self.read_char()
        if c == "#":
            return self.read_dispatch()
        return self.read_atom()

    def read_until(self, close: str) -> List[Any]:
        start = self.i
        items = []
        while True:
            self.skip()
            if self.i >= len(self.s):
                raise self.error(f"{close!r} missing for the collection opened", start - 1)
            if self.s[self.i] == close:
                self.i += 1
                return items
            items.append(self.read())

    def make_map(self, items: List[Any]) -> dict:
        if len(items) % 2:
            raise self.error("a map needs an even number of forms")
        out = {}
        for k, v in zip(items[::2], items[1::2]):
            k = _hashable(k)
            if k in out:
                raise self.error(f"duplicate map key {write_edn(k)}")
            out[k] = v
        return out

    def read_string(self) -> str:
        s = self.s
        self.i += 1
        out = []
        start = self.i
        while True:
            j = self.i
            while j < len(s) and s[j] not in '"\\':
                j += 1
            out.append(s[self.i : j])
            if j >= len(s):
                raise self.error("unterminated string", start - 1)
            if s[j] == '"':
                self.i = j + 1
                return "".join(out)
            esc = s[j + 1 : j + 2]
            if esc in _STRING_ESCAPES:
                out.append(_STRING_ESCAPES[esc])
                self.i = j + 2
            elif esc == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", s[j + 2 : j + 6] or ""):
                out.append(chr(int(s[j + 2 : j + 6], 16)))
                self.i = j + 6
            else:
                raise self.error(f"bad escape \\{esc} in a string", j)

    def token(self) -> str:
        j = self.i
        while j < len(self.s) and self.s[j] not in _DELIMS:
            j += 1
        tok = self.s[self.i : j]
        self.i = j
        return tok

    def read_char(self) -> str:
        start = self.i
        self.i += 1
        if self.i >= len(self.s):
            raise self.error("a character needs a name", start)
        first = self.s[self.i]
        self.i += 1
        rest = ""
        if first not in _DELIMS or first in "()[]{}\";,":
            j = self.i
            while j < len(self.s) and self.s[j] not in _DELIMS:
                j += 1
            rest = self.s[self.i : j]
            self.i = j
        name = first + rest
        if len(name) == 1:
            return name
        if name in _CHAR_NAMES:
            return _CHAR_NAMES[name]
        if re.fullmatch(r"u[0-9a-fA-F]{4}", name):
            return chr(int(name[1:], 16))
        raise self.error(f"unknown character \\{name}", start)

    def read_dispatch(self) -> Any:
        start = self.i
        nxt = self.s[self.i + 1 : self.i + 2]
        if nxt == "{":
            self.i += 2
            self.depth += 1
            items = self.read_until("}")
            self.depth -= 1
            out = []
            seen = set()
            for x in items:
                h = _hashable(x)
                if h in seen:
                    raise self.error(f"duplicate set element {write_edn(x)}", start)
                seen.add(h)
                out.append(h)
            return frozenset(out)
        if nxt == "#":
            self.i += 2
            tok = self.token()
            vals = {"NaN": math.nan, "Inf": math.inf, "-Inf": -math.inf}
            if tok not in vals:
                raise self.error(f"unknown symbolic value ##{tok}", start)
            return vals[tok]
        self.i += 1
        tag = self.token()
        if not tag:
            raise self.error("a tag needs a name after #", start)
        value = self.read()
        if tag == "inst":
            if not isinstance(value, str):
                raise self.error("#inst takes a string", start)
            try:
                return _dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(_UTC)
            except ValueError:
                raise self.error(f"bad #inst {value!r}", start) from None
        if tag == "uuid":
            try:
                return uuid.UUID(value)
            except (ValueError, AttributeError, TypeError):
                raise self.error(f"bad #uuid {value!r}", start) from None
        if tag == "bytes" and isinstance(value, str) and re.fullmatch(r"(?:[0-9a-f]{2})*", value):
            return bytes.fromhex(value)
        return Tagged(tag, value)

    def read_atom(self) -> Any:
        start = self.i
        tok = self.token()
        if not tok:
            raise self.error(f"unexpected {self.s[self.i]!r}")
        if tok == "nil":
            return None
        if tok == "true":
            return True
        if tok == "false":
            return False
        if tok[0].isdigit() or (tok[0] in "+-" and len(tok) > 1 and tok[1].isdigit()):
            if _INT_RE.match(tok):
                return int(tok.rstrip("N"))
            if _FLOAT_RE.match(tok):
                if tok.endswith("M"):
                    return Decimal(tok[:-1])
                return float(tok)
            raise self.error(f"bad number {tok!r}", start)
        if tok[0] == ":":
            if len(tok) == 1 or tok[1] == ":":
                raise self.error(f"bad keyword {tok!r}", start)
            return Keyword(tok)
        return Symbol(tok)


def _hashable(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, dict):
        return FrozenDict((_hashable(k), _hashable(x)) for k, x in v.items())
    return v


def read_edn(text: str) -> Any:
    """Reads one EDN value from text: keywords as `Keyword`, symbols as `Symbol`, vectors as
    lists, lists as `EdnList`, maps as dicts, sets as frozensets, ``#inst`` as a UTC
    datetime, ``#uuid`` as uuid.UUID, ``#bytes "hex"`` as bytes, other tags as `Tagged`.
    Raises `levin.ParseError` naming the line and column of what is wrong."""
    if not isinstance(text, str):
        raise TypeError(f"read_edn takes a string, got {type(text).__name__}")
    r = _Reader(text)
    value = r.read()
    if not r.at_end():
        raise r.error("more than one form (use read_all_edn for several)")
    return value


def read_all_edn(text: str) -> List[Any]:
    """Reads every EDN value in text."""
    r = _Reader(text)
    out = []
    while not r.at_end():
        out.append(r.read())
    return out


def _write_str(s: str) -> str:
    out = ['"']
    for c in s:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif ord(c) < 0x20:
            out.append("\\u%04x" % ord(c))
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def write_edn(value: Any) -> str:
    """Writes a Python value as EDN text (the inverse of `read_edn`; tuples are vectors)."""
    parts: List[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(v: Any, out: List[str]) -> None:
    t = type(v)
    if v is None:
        out.append("nil")
    elif t is bool:
        out.append("true" if v else "false")
    elif t is Keyword or t is Symbol:
        out.append(str(v))
    elif isinstance(v, str):
        out.append(_write_str(v))
    elif isinstance(v, bool):
        out.append("true" if v else "false")
    elif isinstance(v, int):
        out.append(str(int(v)) if -(2**63) <= v < 2**63 else f"{int(v)}N")
    elif isinstance(v, float):
        if math.isnan(v):
            out.append("##NaN")
        elif math.isinf(v):
            out.append("##Inf" if v > 0 else "##-Inf")
        else:
            out.append(repr(float(v)))
    elif isinstance(v, Decimal):
        out.append(f"{v}M")
    elif isinstance(v, EdnList):
        _seq(v, "(", ")", out)
    elif isinstance(v, (list, tuple)):
        _seq(v, "[", "]", out)
    elif isinstance(v, (set, frozenset)):
        _seq(v, "#{", "}", out)
    elif isinstance(v, dict) or hasattr(v, "items") and hasattr(v, "keys"):
        out.append("{")
        first = True
        for k, x in v.items():
            if not first:
                out.append(", ")
            first = False
            _write(k, out)
            out.append(" ")
            _write(x, out)
        out.append("}")
    elif isinstance(v, uuid.UUID):
        out.append(f'#uuid "{v}"')
    elif isinstance(v, _dt.datetime):
        d = v if v.tzinfo else v.replace(tzinfo=_UTC)
        d = d.astimezone(_UTC)
        out.append('#inst "' + d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ\"" % (d.microsecond // 1000))
    elif isinstance(v, (bytes, bytearray, memoryview)):
        out.append(f'#bytes "{bytes(v).hex()}"')
    elif isinstance(v, Tagged):
        out.append(f"#{v.tag} ")
        _write(v.rep, out)
    elif hasattr(v, "to_form"):
        _write(v.to_form(), out)
    else:
        raise TypeError(f"cannot write a {type(v).__name__} as EDN: {v!r:.80}")


def _seq(items: Any, open_: str, close: str, out: List[str]) -> None:
    out.append(open_)
    first = True
    for x in items:
        if not first:
            out.append(" ")
        first = False
        _write(x, out)
    out.append(close)
