"""`levin.q`: build queries and pull patterns as Python values, with the names of
Datalevin's ``q`` builder.

A built query is an immutable `Query`; `Connection.query` sends it as EDN data. Variables,
attributes, keywords and symbols are explicit (`var`, attribute names, `kw`, `sym`), so a
plain string in a built form always stays a string. ``Query.edn()`` shows the EDN text.

>>> from levin import q
>>> e, n = q.var("e"), q.var("n")
>>> q.query(find=q.collection(n), where=[q.datom(e, "name", n)]).edn()
'[:find [?n ...] :where [?e :name ?n]]'
"""

from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence, Tuple

from ._types import EdnList, Keyword, Symbol, edn_list, quote
from .edn import write_edn

__all__ = [
    "Form", "Query", "FindSpec", "Clause", "Expression", "Binding", "PullSelector",
    "RuleBranch", "RuleSet", "RawForm", "DB", "RULES", "IGNORE", "kw", "sym", "var", "v",
    "source", "query", "relation", "collection", "tuple_find", "scalar", "tuple_scalar",
    "call", "aggregate", "expression", "pull", "pattern", "datom", "predicate", "bind", "rule",
    "and_", "or_", "not_", "or_join", "not_join", "join_vars", "tuple_binding",
    "collection_binding", "relation_binding", "ignore_binding", "asc", "desc", "rule_branch",
    "rules", "selector", "pull_attr", "pull_nested", "pull_recursive", "raw", "edn_list",
    "quote",
]


class Form:
    """A built form; ``to_form()`` gives its EDN value, ``edn()`` its EDN text."""

    __slots__ = ()

    def to_form(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def edn(self) -> str:
        return write_edn(self.to_form())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.edn()})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and _freeze(self.to_form()) == _freeze(other.to_form())  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(_freeze(self.to_form()))


def _freeze(v: Any) -> Any:
    if isinstance(v, EdnList):
        return ("()",) + tuple(_freeze(x) for x in v)
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, dict):
        return frozenset((_freeze(k), _freeze(x)) for k, x in v.items())
    return v


def _f(v: Any) -> Any:
    """The EDN value of a builder argument (forms lowered, lists copied)."""
    if isinstance(v, Form):
        return v.to_form()
    if isinstance(v, EdnList):
        return EdnList(_f(x) for x in v)
    if isinstance(v, (list, tuple)):
        return [_f(x) for x in v]
    if isinstance(v, dict):
        return {_key(k): _f(x) for k, x in v.items()}
    if isinstance(v, (set, frozenset)):
        return frozenset(_key(x) for x in v)
    return v


def _key(v: Any) -> Any:
    x = _f(v)
    return tuple(x) if isinstance(x, list) else x


class _Value(Form):
    __slots__ = ("_form",)

    def __init__(self, form: Any) -> None:
        object.__setattr__(self, "_form", _f(form))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def to_form(self) -> Any:
        return _f(self._form)


class RawForm(_Value):
    """A form taken as it is: strings stay strings, tokens must be `Keyword`/`Symbol`."""


class Expression(_Value):
    """A function call or find expression, e.g. ``(count ?e)``."""


class Clause(_Value):
    """A :where clause."""


class Binding(_Value):
    """A binding form (:in, function results)."""


class FindSpec(_Value):
    """What follows :find."""


class PullSelector(_Value):
    """A pull pattern."""


class RuleBranch(_Value):
    """One branch of a rule: ``[(name ?a ?b) clauses...]``."""


class RuleSet(_Value):
    """A rule set, passed as the input bound to ``%``."""


def kw(name: str) -> Keyword:
    """A keyword: ``kw("name")`` is ``:name``."""
    return Keyword(name)


def sym(name: str) -> Symbol:
    """A symbol."""
    return Symbol(name)


def var(name: str) -> Symbol:
    """A variable: ``var("e")`` is ``?e``."""
    if isinstance(name, Symbol):
        if not name.startswith("?"):
            raise ValueError(f"a variable starts with ?, got {name}")
        return name
    return Symbol(name if name.startswith("?") else "?" + name)


v = var


def source(name: str = "$") -> Symbol:
    """A source: ``source("2")`` is ``$2``."""
    return Symbol(name if name.startswith("$") else "$" + name)


DB = Symbol("$")
RULES = Symbol("%")
IGNORE = Symbol("_")
_DOTS = Symbol("...")
_DOT = Symbol(".")


def _attr(a: Any) -> Any:
    return Keyword(a) if type(a) is str else a


def _fn(f: Any) -> Any:
    return Symbol(f) if type(f) is str else f


def relation(*elements: Any) -> FindSpec:
    """``:find ?a ?b``: a set of tuples."""
    return FindSpec(list(elements))


def collection(element: Any) -> FindSpec:
    """``:find [?a ...]``: a collection."""
    return FindSpec([[element, _DOTS]])


def tuple_find(*elements: Any) -> FindSpec:
    """``:find [?a ?b]``: one tuple."""
    return FindSpec([list(elements)])


def scalar(element: Any) -> FindSpec:
    """``:find ?a .``: one value."""
    return FindSpec([element, _DOT])


def tuple_scalar(*elements: Any) -> FindSpec:
    return FindSpec([*elements, _DOT])


def call(function: Any, *args: Any) -> Expression:
    """``(function args...)``; a string function name is a symbol."""
    return Expression(EdnList([_fn(function), *(_f(a) for a in args)]))


aggregate = call
expression = call


def pull(variable: Any, pattern: Any, *, from_source: Any = None) -> Expression:
    """``(pull ?e pattern)`` in :find."""
    items = [Symbol("pull")]
    if from_source is not None:
        items.append(from_source)
    items += [variable, _f(selector(pattern) if isinstance(pattern, (list, tuple, str)) else pattern)]
    return Expression(EdnList(items))


def pattern(*terms: Any, from_source: Any = None) -> Clause:
    """A data pattern; the second term, if a string, is an attribute."""
    if not terms:
        raise ValueError("a data pattern needs at least one term")
    ts = list(terms)
    if len(ts) >= 2:
        ts[1] = _attr(ts[1])
    return Clause(([from_source] if from_source is not None else []) + ts)


def datom(entity: Any, attribute: Any, value: Any, *, from_source: Any = None) -> Clause:
    """``[entity attribute value]``."""
    return pattern(entity, attribute, value, from_source=from_source)


def predicate(function: Any, *args: Any) -> Clause:
    """``[(function args...)]``."""
    if isinstance(function, Expression):
        return Clause([function])
    return Clause([call(function, *args)])


def bind(function: Any, binding: Any, *args: Any) -> Clause:
    """``[(function args...) binding]``."""
    if isinstance(function, Expression):
        return Clause([function, binding])
    return Clause([call(function, *args), binding])


def rule(name: Any, *args: Any, from_source: Any = None) -> Clause:
    """A rule call ``(name args...)``."""
    head = [from_source] if from_source is not None else []
    return Clause(EdnList(head + [_fn(name), *args]))


def _group(op: str, clauses: Sequence[Any], src: Any = None) -> Clause:
    if not clauses:
        raise ValueError(f"{op} needs at least one clause")
    head = [src] if src is not None else []
    return Clause(EdnList(head + [Symbol(op), *clauses]))


def and_(*clauses: Any) -> Clause:
    return _group("and", clauses)


def or_(*clauses: Any, from_source: Any = None) -> Clause:
    return _group("or", clauses, from_source)


def not_(*clauses: Any, from_source: Any = None) -> Clause:
    return _group("not", clauses, from_source)


def join_vars(*free: Any, required: Sequence[Any] = ()) -> Binding:
    """The variables of or-join / not-join / a rule head; ``required`` ones go first in a
    nested vector."""
    items = [list(required)] if required else []
    return Binding(items + list(free))


def _join(op: str, variables: Any, clauses: Sequence[Any], src: Any) -> Clause:
    if not clauses:
        raise ValueError(f"{op} needs at least one clause")
    vs = variables if isinstance(variables, Binding) else join_vars(*variables)
    head = [src] if src is not None else []
    return Clause(EdnList(head + [Symbol(op), vs, *clauses]))


def or_join(variables: Any, *clauses: Any, from_source: Any = None) -> Clause:
    return _join("or-join", variables, clauses, from_source)


def not_join(variables: Any, *clauses: Any, from_source: Any = None) -> Clause:
    return _join("not-join", variables, clauses, from_source)


def tuple_binding(*bindings: Any) -> Binding:
    return Binding(list(bindings))


def collection_binding(binding: Any) -> Binding:
    return Binding([binding, _DOTS])


def relation_binding(*bindings: Any) -> Binding:
    return Binding([list(bindings)])


def ignore_binding() -> Binding:
    return Binding(IGNORE)


class _Order(_Value):
    pass


def asc(term: Any) -> _Order:
    return _Order([term, Keyword("asc")])


def desc(term: Any) -> _Order:
    return _Order([term, Keyword("desc")])


def rule_branch(name: Any, variables: Any, *clauses: Any) -> RuleBranch:
    """One rule branch: ``rule_branch("friend", ["?a", "?b"], clause, ...)``."""
    if not clauses:
        raise ValueError("a rule branch needs at least one clause")
    vs = variables.to_form() if isinstance(variables, Binding) else [var(x) if type(x) is str else x for x in variables]
    return RuleBranch([EdnList([_fn(name), *vs]), *clauses])


def rules(*branches: RuleBranch) -> RuleSet:
    if not branches:
        raise ValueError("a rule set needs at least one branch")
    for b in branches:
        if not isinstance(b, RuleBranch):
            raise TypeError(f"rules() takes rule_branch(...) values, got {type(b).__name__}")
    return RuleSet(list(branches))


def raw(form: Any) -> RawForm:
    return RawForm(form)


class Query(Form):
    """An immutable query. Build it with `query`."""

    __slots__ = ("_parts",)

    def __init__(
        self,
        *,
        find: Any,
        where: Iterable[Any] = (),
        inputs: Iterable[Any] = (),
        with_: Iterable[Any] = (),
        order_by: Iterable[Any] = (),
        limit: Optional[int] = None,
        offset: Optional[int] = None,
        timeout: Optional[int] = None,
        keys: Optional[Iterable[Any]] = None,
        strs: Optional[Iterable[Any]] = None,
        syms: Optional[Iterable[Any]] = None,
    ) -> None:
        spec = find if isinstance(find, FindSpec) else relation(*(find if isinstance(find, (list, tuple)) else [find]))
        parts: list = [Keyword("find"), *spec.to_form()]
        given = [(n, x) for n, x in (("keys", keys), ("strs", strs), ("syms", syms)) if x is not None]
        if len(given) > 1:
            raise ValueError("give at most one of keys, strs, syms")
        for n, names in given:
            parts += [Keyword(n), *(Symbol(x) if type(x) is str else x for x in names)]
        with_ = list(with_)
        if with_:
            parts += [Keyword("with"), *with_]
        inputs = list(inputs)
        if inputs:
            parts += [Keyword("in"), *inputs]
        where = list(where)
        if where:
            parts += [Keyword("where"), *where]
        order = [o if isinstance(o, _Order) else asc(o) for o in order_by]
        if order:
            flat: list = []
            for o in order:
                flat += o.to_form()
            parts += [Keyword("order-by"), flat]
        for n, x in (("timeout", timeout), ("offset", offset), ("limit", limit)):
            if x is not None:
                parts += [Keyword(n), x]
        object.__setattr__(self, "_parts", _f(parts))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Query is immutable")

    def to_form(self) -> list:
        return _f(self._parts)


def query(**options: Any) -> Query:
    """``query(find=..., where=[...], inputs=[...], with_=[...], order_by=[...], limit=,
    offset=, timeout=, keys=/strs=/syms=)``."""
    return Query(**options)


# ------------------------------------------------------------------------------ pull


def _pull_item(item: Any) -> Any:
    if type(item) is str:
        return Symbol(item) if item in ("*", "...") else Keyword(item)
    if isinstance(item, dict):
        return {(_pull_item(k) if type(k) is str else _f(k)): _nested(x) for k, x in item.items()}
    if isinstance(item, Form):
        return item.to_form()
    if isinstance(item, (list, tuple)) and not isinstance(item, EdnList):
        return [_pull_item(item[0]), *(Keyword(x) if i % 2 == 0 and type(x) is str else x for i, x in enumerate(item[1:]))]
    return item


def _nested(x: Any) -> Any:
    if type(x) is str:
        return Symbol("...") if x == "..." else [_pull_item(x)]
    if isinstance(x, int) or isinstance(x, Symbol):
        return x
    if isinstance(x, Form):
        return x.to_form()
    if isinstance(x, dict):
        return [_pull_item(x)]
    return [_pull_item(i) for i in x]


def selector(*attributes: Any) -> PullSelector:
    """A pull pattern: ``selector("name", pull_nested("friend", selector("name")))``;
    strings are attribute names (``"*"`` is the wildcard)."""
    if len(attributes) == 1 and isinstance(attributes[0], PullSelector):
        return attributes[0]
    if len(attributes) == 1 and isinstance(attributes[0], (list, tuple)) and not isinstance(attributes[0], EdnList):
        attributes = tuple(attributes[0])
    return PullSelector([_pull_item(a) for a in attributes])


_MISSING = object()


def pull_attr(attribute: Any, *, as_: Any = _MISSING, limit: Any = _MISSING,
              default: Any = _MISSING, xform: Any = _MISSING) -> RawForm:
    """``[:attr :as x :limit n :default d :xform f]``; option values stay as given."""
    items: list = [_attr(attribute)]
    for n, x in (("as", as_), ("limit", limit), ("default", default)):
        if x is not _MISSING:
            items += [Keyword(n), x]
    if xform is not _MISSING:
        items += [Keyword("xform"), Symbol(xform) if type(xform) is str else xform]
    return RawForm(items)


def pull_nested(attribute: Any, pattern: Any) -> RawForm:
    """``{:attr pattern}``."""
    key = _pull_item(attribute) if type(attribute) is str else _f(attribute)
    if isinstance(key, list):
        key = tuple(key)
    return RawForm({key: _nested(pattern)})


def pull_recursive(attribute: Any, depth: Optional[int] = None) -> RawForm:
    """``{:attr ...}`` or ``{:attr depth}``."""
    if depth is not None and (not isinstance(depth, int) or isinstance(depth, bool) or depth <= 0):
        raise ValueError(f"a recursion depth is a positive int or None, got {depth!r}")
    return RawForm({_attr(attribute): _DOTS if depth is None else depth})
