"""EDN value types that Python has no native form for: keywords, symbols, lists, tagged
values.

`Keyword` and `Symbol` are subclasses of `str` whose text is the EDN spelling (`":db/id"`,
`"?e"`), so a result map keyed by keywords can be indexed with plain strings, as programs
written for Datalevin's Python package do: ``row[":name"]``. They are told apart from
strings by their type: ``isinstance(x, levin.Keyword)``.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

__all__ = ["Keyword", "Symbol", "EdnList", "Tagged", "FrozenDict", "keyword", "symbol", "edn_list", "quote"]


def _check_token(text: str, what: str) -> None:
    if not text:
        raise ValueError(f"a {what} needs a name, got an empty string")
    for ch in text:
        if ch.isspace() or ch in '()[]{}",;':
            raise ValueError(f"a {what} cannot contain {ch!r}: {text!r}")


class Keyword(str):
    """An EDN keyword, e.g. ``Keyword("db/id")`` or ``Keyword(":db/id")``.

    Its text, and so its ``str`` value, is the EDN spelling with the colon: ``":db/id"``.
    It equals and hashes as that string.
    """

    __slots__ = ()

    def __new__(cls, name: str) -> "Keyword":
        if isinstance(name, Keyword):
            return name
        if not isinstance(name, str):
            raise TypeError(f"a keyword is made from a string, got {type(name).__name__}")
        text = name[1:] if name.startswith(":") else name
        _check_token(text, "keyword")
        return str.__new__(cls, ":" + text)

    @property
    def name(self) -> str:
        """The text without the colon, namespace included: ``"db/id"``."""
        return str.__str__(self)[1:]

    @property
    def namespace(self) -> Optional[str]:
        """The namespace (``"db"`` for ``:db/id``), or ``None``."""
        ns, _ = _split(self.name)
        return ns

    @property
    def local_name(self) -> str:
        """The name without its namespace (``"id"`` for ``:db/id``)."""
        _, local = _split(self.name)
        return local

    def __repr__(self) -> str:
        return f"Keyword({str.__str__(self)!r})"

    def __str__(self) -> str:
        return str.__str__(self)


class Symbol(str):
    """An EDN symbol, e.g. ``Symbol("?e")``, ``Symbol("count")``. It equals its text."""

    __slots__ = ()

    def __new__(cls, name: str) -> "Symbol":
        if isinstance(name, Symbol):
            return name
        if not isinstance(name, str):
            raise TypeError(f"a symbol is made from a string, got {type(name).__name__}")
        _check_token(name, "symbol")
        return str.__new__(cls, name)

    @property
    def name(self) -> str:
        """The symbol's text, namespace included."""
        return str.__str__(self)

    @property
    def namespace(self) -> Optional[str]:
        ns, _ = _split(self.name)
        return ns

    @property
    def local_name(self) -> str:
        _, local = _split(self.name)
        return local

    def __repr__(self) -> str:
        return f"Symbol({str.__str__(self)!r})"

    def __str__(self) -> str:
        return str.__str__(self)


def _split(text: str) -> tuple[Optional[str], str]:
    # The first '/' that is neither the first nor the last character, as docs/TRANSIT.md.
    i = text.find("/", 1)
    if i <= 0 or i == len(text) - 1:
        return None, text
    return text[:i], text[i + 1 :]


class EdnList(tuple):
    """An EDN list ``(a b c)``; Python lists and tuples are EDN vectors."""

    __slots__ = ()

    def __new__(cls, items: Iterable[Any] = ()) -> "EdnList":
        return tuple.__new__(cls, items)

    def __repr__(self) -> str:
        return "EdnList(" + repr(list(self)) + ")"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EdnList) and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(("EdnList", tuple(self)))


class Tagged:
    """A tagged value the client has no Python type for, e.g. ``#datalevin/Datom [...]``."""

    __slots__ = ("tag", "rep")

    def __init__(self, tag: str, rep: Any) -> None:
        self.tag = tag
        self.rep = rep

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tagged) and (self.tag, self.rep) == (other.tag, other.rep)

    def __hash__(self) -> int:
        try:
            return hash((self.tag, self.rep))
        except TypeError:
            return hash(self.tag)

    def __repr__(self) -> str:
        return f"Tagged({self.tag!r}, {self.rep!r})"


class FrozenDict(dict):
    """A map that is a set element or a map key (so it must hash): a dict that hashes by
    its items. Do not change it once it is in a set."""

    __slots__ = ()

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))


def keyword(name: str) -> Keyword:
    """A keyword, for places where a string starting with ``:`` would stay a string
    (values in transaction data, query inputs of typed queries)."""
    return Keyword(name)


def symbol(name: str) -> Symbol:
    """A symbol."""
    return Symbol(name)


def edn_list(*items: Any) -> EdnList:
    """An EDN list of the items."""
    return EdnList(items)


def quote(value: Any) -> EdnList:
    """The form ``(quote value)``."""
    return EdnList((Symbol("quote"), value))
