"""`levin.tx`: build transaction data as Python values, with the names of Datalevin's
``tx`` builder. Attribute names are keywords; values stay as given (a string stays a
string; use `levin.Keyword` for a keyword value).

>>> from levin import tx
>>> tx.data(tx.entity(-1, {"name": "Ada"}), tx.add(-1, "age", 36)).edn()
'[{:name "Ada", :db/id -1} [:db/add -1 :age 36]]'
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from ._types import Keyword
from .query import Form, RawForm, _f

__all__ = [
    "TxData", "TxItem", "LookupRef", "data", "entity", "lookup_ref", "add", "retract",
    "retract_attribute", "retract_entity", "compare_and_swap", "cas", "call", "invoke", "raw",
]


def _attr(a: Any) -> Any:
    return Keyword(a) if type(a) is str else a


class TxItem(RawForm):
    """One entity map or operation."""


class LookupRef(RawForm):
    """``[:attr value]``: an entity named by a unique attribute's value."""


class TxData(Form):
    """Transaction data: a sequence of items."""

    __slots__ = ("_items",)

    def __init__(self, items: Any) -> None:
        object.__setattr__(self, "_items", tuple(items))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("TxData is immutable")

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i: int) -> Any:
        return self._items[i]

    def to_form(self) -> list:
        from ._convert import tx_item

        return [tx_item(x) for x in self._items]


def data(*items: Any) -> TxData:
    """``data(item, ...)`` or ``data([item, ...])``."""
    if len(items) == 1 and isinstance(items[0], (list, tuple)) and not isinstance(items[0], Form):
        items = tuple(items[0])
    return TxData(items)


def entity(db_id: Any = None, attrs: Optional[Dict[Any, Any]] = None, **values: Any) -> TxItem:
    """An entity map: ``entity(-1, {"name": "Ada"})`` or ``entity(-1, name="Ada")``."""
    m: Dict[Any, Any] = {}
    for k, x in list((attrs or {}).items()) + list(values.items()):
        m[_attr(k)] = x
    if db_id is not None:
        m[Keyword("db/id")] = db_id
    return TxItem(m)


def lookup_ref(attribute: Any, value: Any) -> LookupRef:
    return LookupRef([_attr(attribute), value])


def add(entity_id: Any, attribute: Any, value: Any) -> TxItem:
    return TxItem([Keyword("db/add"), entity_id, _attr(attribute), value])


def retract(entity_id: Any, attribute: Any, value: Any) -> TxItem:
    return TxItem([Keyword("db/retract"), entity_id, _attr(attribute), value])


def retract_attribute(entity_id: Any, attribute: Any) -> TxItem:
    return TxItem([Keyword("db.fn/retractAttribute"), entity_id, _attr(attribute)])


def retract_entity(entity_id: Any) -> TxItem:
    return TxItem([Keyword("db/retractEntity"), entity_id])


def compare_and_swap(entity_id: Any, attribute: Any, old_value: Any, new_value: Any) -> TxItem:
    return TxItem([Keyword("db.fn/cas"), entity_id, _attr(attribute), old_value, new_value])


cas = compare_and_swap


def call(function: Any, *args: Any) -> TxItem:
    """``[:db.fn/call f args...]`` (Levin's server runs no client code: see the README)."""
    return TxItem([Keyword("db.fn/call"), _attr(function), *args])


def invoke(function: Any, *args: Any) -> TxItem:
    """``[:fn-ident args...]``."""
    return TxItem([_attr(function), *args])


def raw(form: Any) -> RawForm:
    return RawForm(form)


_ = _f
