"""From what a program passes (EDN text, Datalevin-style Python data, builder forms) to
the EDN values sent to the server.

Datalevin-style Python data uses strings for EDN tokens where the position says what they
are: in a query, ``":name"`` is a keyword and ``"?e"``, ``"$"``, ``"%"``, ``"_"``,
``"..."``, ``"."`` and ``"*"`` are symbols, a function call is a list whose first item is a
name (``[">", "?age", 18]``), and ``["or", ...]``, ``["not", ...]``, ``["rule-name", "?a"]``
are lists; in transaction data, map keys and attribute positions are keywords while values
stay strings (use `levin.Keyword` for a keyword value); in a schema every ``":..."`` string
is a keyword. Builder forms (`levin.q`, `levin.tx`) and `Keyword`/`Symbol` values are taken
as they are, and plain strings inside them stay strings.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from decimal import Decimal
from typing import Any, Iterable, List, Optional

from ._types import EdnList, Keyword, Symbol, Tagged
from .edn import read_edn
from .errors import InterfaceError

_SYMBOL_TOKENS = {"_", "...", ".", "*", "$", "%"}
_CLAUSE_HEADS = {"not", "not-join", "or", "or-join", "and"}
_QUERY_SECTIONS = {
    "find", "keys", "strs", "syms", "with", "in", "where", "limit", "offset", "timeout",
    "order-by",
}


def is_form(v: Any) -> bool:
    return hasattr(v, "to_form") and callable(v.to_form)


def _plain_str(v: Any) -> bool:
    return type(v) is str


def token(v: Any) -> Any:
    """A query-position string: ``":x"`` -> keyword, ``"?x"``/``"$x"``/``"%"``/``"_"``... ->
    symbol; other values unchanged."""
    if _plain_str(v):
        if v.startswith(":") and len(v) > 1:
            return Keyword(v)
        if v.startswith(("?", "$")) or v in _SYMBOL_TOKENS:
            return Symbol(v)
    return v


def _is_name(v: Any) -> bool:
    """A plain string naming a function or rule (not a token)."""
    return _plain_str(v) and bool(v) and not v.startswith((":", "?", "$")) and v not in _SYMBOL_TOKENS


def _sym(v: Any) -> Any:
    return Symbol(v) if _plain_str(v) else v


def value_token(v: Any) -> Any:
    """A value in a query clause: keywords and variables as tokens, other strings literal."""
    if _plain_str(v):
        return token(v)
    if isinstance(v, (list, tuple)) and type(v) is not EdnList:
        return [value_token(x) for x in v]
    return form_value(v)


def form_value(v: Any) -> Any:
    return v.to_form() if is_form(v) else v


# ------------------------------------------------------------------------------ queries


def query(q: Any) -> Any:
    """A query: EDN text (sent as is), a builder form, or Python data."""
    if isinstance(q, str) and type(q) is str:
        return q
    if is_form(q):
        return q.to_form()
    if isinstance(q, dict):
        out = {}
        for k, v in q.items():
            key = Keyword(k) if _plain_str(k) else k
            if not isinstance(key, Keyword):
                raise InterfaceError(f"a query map's keys are keywords such as ':find', got {k!r}")
            out[key] = _section(key.name, list(v) if isinstance(v, (list, tuple)) else [v], True)
        return out
    if isinstance(q, (list, tuple)):
        out_list: List[Any] = []
        name: Optional[str] = None
        chunk: List[Any] = []
        for item in q:
            kw = item if isinstance(item, Keyword) else (Keyword(item) if _plain_str(item) and item.startswith(":") else None)
            if kw is not None and kw.name in _QUERY_SECTIONS:
                if name is not None:
                    out_list.extend(_section(name, chunk, False))
                out_list.append(kw)
                name, chunk = kw.name, []
            elif name is None:
                raise InterfaceError(f"a query starts with a keyword such as ':find', got {item!r}")
            else:
                chunk.append(item)
        if name is not None:
            out_list.extend(_section(name, chunk, False))
        return out_list
    raise InterfaceError(
        f"a query is EDN text, a q.query(...) form or a list, got {type(q).__name__}"
    )


def _section(name: str, forms: List[Any], as_map: bool) -> Any:
    if name == "find":
        out = [_find_elem(f) for f in forms]
    elif name in ("keys", "strs", "syms"):
        out = [_sym(f) for f in forms]
    elif name in ("with", "in"):
        out = [_binding(f) for f in forms]
    elif name == "where":
        out = [clause(f) for f in forms]
    elif name in ("limit", "offset", "timeout"):
        out = [form_value(f) for f in forms]
        if as_map and len(out) == 1:
            return out[0]
    else:
        out = [value_token(f) for f in forms]
    return out


def _find_elem(f: Any) -> Any:
    if _plain_str(f):
        return token(f)
    if is_form(f):
        return f.to_form()
    if isinstance(f, (list, tuple)) and type(f) is not EdnList and f:
        head = f[0]
        if _is_name(head):
            if head == "pull" or (isinstance(head, Symbol) and head == "pull"):
                return _pull_call(f)
            return EdnList([Symbol(head)] + [_find_elem(x) for x in f[1:]])
        return [_find_elem(x) for x in f]
    return f


def _pull_call(f: Any) -> EdnList:
    items: List[Any] = [Symbol("pull")]
    rest = list(f[1:])
    if rest and _plain_str(rest[0]) and rest[0].startswith("$"):
        items.append(Symbol(rest.pop(0)))
    if len(rest) != 2:
        raise InterfaceError(f"a pull in :find is ['pull', '?e', pattern], got {f!r}")
    items.append(token(rest[0]))
    items.append(pull_pattern(rest[1], text_ok=False))
    return EdnList(items)


def _binding(f: Any) -> Any:
    if _plain_str(f):
        return token(f)
    if is_form(f):
        return f.to_form()
    if isinstance(f, (list, tuple)) and type(f) is not EdnList:
        return [_binding(x) for x in f]
    return f


def _call(f: Any) -> EdnList:
    if type(f) is EdnList:
        return f
    if not f:
        raise InterfaceError("a function call needs a function name, got an empty list")
    return EdnList([_sym(f[0])] + [value_token(x) for x in f[1:]])


def clause(c: Any) -> Any:
    """One :where clause given as Python data."""
    if is_form(c):
        return c.to_form()
    if type(c) is EdnList or not isinstance(c, (list, tuple)):
        return c
    if not c:
        raise InterfaceError("an empty :where clause")
    head = c[0]
    if isinstance(head, (list, tuple)) and type(head) is not EdnList:
        if head and (_plain_str(head[0]) and head[0].startswith(":") or isinstance(head[0], Keyword)):
            return _pattern(c)  # a lookup ref in the entity position
        call = _call(head)
        return [call] + [_binding(b) for b in c[1:]]
    if type(head) is EdnList:
        return [head] + [_binding(b) for b in c[1:]]
    src: List[Any] = []
    body = list(c)
    if _plain_str(head) and head.startswith("$") and len(c) > 1 and _is_name(c[1]):
        src = [Symbol(head)]
        body = body[1:]
        head = body[0]
    if _is_name(head) or isinstance(head, Symbol) and head.local_name in _CLAUSE_HEADS:
        name = str(head)
        if name in ("not", "or", "and"):
            return EdnList(src + [Symbol(name)] + [clause(x) for x in body[1:]])
        if name in ("not-join", "or-join"):
            if len(body) < 2:
                raise InterfaceError(f"{name} needs a vector of variables, got {c!r}")
            return EdnList(src + [Symbol(name), _binding(body[1])] + [clause(x) for x in body[2:]])
        return EdnList(src + [Symbol(name)] + [value_token(x) for x in body[1:]])  # a rule call
    return _pattern(c)


def _pattern(c: Any) -> List[Any]:
    out: List[Any] = []
    for i, x in enumerate(c):
        if isinstance(x, (list, tuple)) and type(x) is not EdnList:
            out.append(lookup_ref(x) if i == 0 else value_token(x))
        else:
            out.append(value_token(x))
    return out


def rules(r: Any) -> Any:
    """A rule set: EDN text, a builder form, or Python data
    ``[[["name", "?a", "?b"], clause, ...], ...]``."""
    if type(r) is str:
        return read_edn(r)
    if is_form(r):
        return r.to_form()
    if not isinstance(r, (list, tuple)):
        raise InterfaceError(f"rules are a list of rules or EDN text, got {type(r).__name__}")
    out = []
    for rule in r:
        if is_form(rule):
            out.append(rule.to_form())
            continue
        if not isinstance(rule, (list, tuple)) or len(rule) < 2:
            raise InterfaceError(f"a rule is [head, clause, ...], got {rule!r}")
        head = rule[0]
        if type(head) is not EdnList:
            if not isinstance(head, (list, tuple)) or not head:
                raise InterfaceError(f"a rule head is ['name', '?var', ...], got {head!r}")
            head = EdnList([_sym(head[0])] + [_binding(x) for x in head[1:]])
        out.append([head] + [clause(x) for x in rule[1:]])
    return out


def in_spec(q: Any) -> Optional[List[Any]]:
    """The :in entries of a converted query (None when it cannot be told)."""
    if type(q) is str:
        try:
            q = read_edn(q)
        except Exception:
            return None
    if isinstance(q, dict):
        v = q.get(":in")
        return list(v) if isinstance(v, (list, tuple)) else None
    if isinstance(q, (list, tuple)):
        out: Optional[List[Any]] = None
        for item in q:
            if isinstance(item, Keyword) and item.name in _QUERY_SECTIONS:
                if out is not None:
                    break
                if item.name == "in":
                    out = []
            elif out is not None:
                out.append(item)
        return out
    return None


def inputs(q_sent: Any, values: Iterable[Any], typed: bool) -> List[Any]:
    """The query inputs: a rule set where :in has %; otherwise Datalevin's input rule
    (a ``":x"`` string is a keyword, unless the query is a builder form)."""
    values = list(values)
    spec = in_spec(q_sent) if values else None
    if spec and spec[0] == "$" and isinstance(spec[0], Symbol):
        spec = spec[1:]
    out = []
    for i, v in enumerate(values):
        pos = spec[i] if spec and i < len(spec) else None
        if isinstance(pos, Symbol) and pos == "%":
            out.append(rules(v))
        elif is_form(v):
            out.append(v.to_form())
        elif typed:
            out.append(v)
        else:
            out.append(legacy_input(v))
    return out


def legacy_input(v: Any) -> Any:
    if _plain_str(v):
        return Keyword(v) if v.startswith(":") and len(v) > 1 else v
    if type(v) is EdnList or is_form(v):
        return form_value(v)
    if isinstance(v, (list, tuple)):
        return [legacy_input(x) for x in v]
    if isinstance(v, (set, frozenset)):
        return frozenset(legacy_input(x) for x in v)
    if isinstance(v, dict):
        return {legacy_input(k): legacy_input(x) for k, x in v.items()}
    return v


# ------------------------------------------------------------------------------ pull


def pull_pattern(p: Any, text_ok: bool = True) -> Any:
    """A pull pattern: EDN text, a builder form or Python data (``[":name", {":friend":
    [":name"]}, "*"]``)."""
    if type(p) is str:
        if text_ok and p.lstrip().startswith("["):
            return p
        return [_pull_item(p)]
    if is_form(p):
        return p.to_form()
    if isinstance(p, dict):
        return [_pull_item(p)]
    if isinstance(p, (list, tuple)) and type(p) is not EdnList:
        return [_pull_item(x) for x in p]
    if isinstance(p, Symbol):
        return p
    raise InterfaceError(f"a pull pattern is EDN text or a list, got {type(p).__name__}")


def _pull_attr(a: Any) -> Any:
    if _plain_str(a):
        if a in ("*", "..."):
            return Symbol(a)
        return Keyword(a)
    if is_form(a):
        return a.to_form()
    if isinstance(a, (list, tuple)) and type(a) is not EdnList:
        return _pull_expr(a)
    return a


def _pull_expr(a: Any) -> Any:
    if not a:
        raise InterfaceError("an empty attribute expression in a pull pattern")
    head = a[0]
    if _plain_str(head) and head in ("default", "limit") and len(a) == 3:
        return EdnList([Symbol(head), _pull_attr(a[1]), a[2]])
    out = [_pull_attr(head)]
    opts = list(a[1:])
    if len(opts) % 2:
        raise InterfaceError(f"a pull attribute expression is [attr, option, value, ...], got {a!r}")
    for k, v in zip(opts[::2], opts[1::2]):
        key = Keyword(k) if _plain_str(k) else k
        if key == ":xform" and _plain_str(v):
            v = Symbol(v)
        out += [key, v]
    return out


def _pull_item(x: Any) -> Any:
    if isinstance(x, dict):
        out = {}
        for k, v in x.items():
            key = _pull_attr(k)
            if isinstance(key, list):
                key = tuple(key)
            if type(v) is str and v == "...":
                out[key] = Symbol("...")
            elif isinstance(v, (int, Symbol)) or is_form(v):
                out[key] = form_value(v)
            else:
                out[key] = pull_pattern(v, text_ok=False)
        return out
    return _pull_attr(x)


# -------------------------------------------------------------------------- entity ids


def lookup_ref(x: Any) -> List[Any]:
    if len(x) != 2:
        raise InterfaceError(f"a lookup ref is [attribute, value], got {x!r}")
    return [attr(x[0]), form_value(x[1])]


def eid(e: Any, what: str = "an entity id") -> Any:
    """An entity id: an int, a lookup ref ``[":name", "Ada"]``, an ident keyword, or EDN
    text for one of those."""
    if isinstance(e, bool):
        raise InterfaceError(f"{what} is an int, a lookup ref or an ident keyword, got {e!r}")
    if isinstance(e, (int, Keyword)):
        return e
    if is_form(e):
        return e.to_form()
    if type(e) is str:
        text = e.strip()
        if text.startswith(":"):
            return Keyword(text)
        if text[:1] == "[" or text.lstrip("-").isdigit():
            return eid(read_edn(text), what)
    if isinstance(e, (list, tuple)) and type(e) is not EdnList:
        return lookup_ref(e)
    raise InterfaceError(
        f"{what} is an int, a lookup ref [attr, value] or an ident keyword, got {e!r}"
    )


def attr(a: Any) -> Keyword:
    """An attribute: a Keyword, or a string with or without the colon."""
    if isinstance(a, Keyword):
        return a
    if type(a) is str:
        try:
            return Keyword(a)
        except ValueError as e:
            raise InterfaceError(f"bad attribute {a!r}: {e}") from None
    raise InterfaceError(f"an attribute is a keyword or a string such as ':name', got {a!r}")


# ------------------------------------------------------------------------ transactions


def tx_data(data: Any) -> Any:
    """Transaction data: EDN text (sent as is), builder forms, or Python data."""
    if type(data) is str:
        return data
    if is_form(data):
        return data.to_form()
    if isinstance(data, dict):
        raise InterfaceError("transaction data is a list of entity maps and forms; wrap the map in a list")
    if not isinstance(data, (list, tuple)):
        raise InterfaceError(
            f"transaction data is a list, EDN text or tx.data(...), got {type(data).__name__}"
        )
    return [tx_item(x) for x in data]


def tx_item(x: Any) -> Any:
    if is_form(x):
        return x.to_form()
    if isinstance(x, dict):
        return entity_map(x)
    if isinstance(x, (list, tuple)) and type(x) is not EdnList:
        if not x:
            raise InterfaceError("an empty transaction form")
        op = x[0]
        if _plain_str(op):
            op = Keyword(op)
        out: List[Any] = [op]
        if len(x) > 1:
            out.append(tx_eid(x[1]))
        if isinstance(op, Keyword) and op.name in (
            "db/add", "db/retract", "db.fn/retractAttribute", "db.fn/cas", "db/cas",
            "db.fn/patchIdoc",
        ):
            if len(x) > 2:
                out.append(attr(x[2]))
            out += [tx_value(v) for v in x[3:]]
        else:
            out += [form_value(v) for v in x[2:]]
        return out
    return x


def tx_eid(e: Any) -> Any:
    if isinstance(e, (list, tuple)) and type(e) is not EdnList:
        return lookup_ref(e)
    return form_value(e)


def entity_map(m: Any) -> dict:
    out = {}
    for k, v in m.items():
        key = attr(k) if isinstance(k, str) else form_value(k)
        if key == ":db/id":
            out[key] = tx_eid(v)
        else:
            out[key] = tx_value(v)
    return out


def tx_value(v: Any) -> Any:
    """A value in transaction data: strings stay strings; a two-item list starting with a
    ``":attr"`` string is a lookup ref; a dict is a nested entity."""
    if is_form(v):
        return v.to_form()
    if isinstance(v, dict):
        return entity_map(v)
    if isinstance(v, (list, tuple)) and type(v) is not EdnList:
        if len(v) == 2 and _plain_str(v[0]) and v[0].startswith(":"):
            return lookup_ref(v)
        return [tx_value(x) for x in v]
    if isinstance(v, (set, frozenset)):
        return frozenset(tx_value(x) for x in v)
    return v


# ------------------------------------------------------------------------------ schema


def schema(s: Any) -> Any:
    """A schema map: EDN text, or a dict ``{":name": {":db/valueType": ":db.type/string"}}``."""
    if s is None:
        return None
    if type(s) is str:
        s = read_edn(s)
    if is_form(s):
        s = s.to_form()
    if not isinstance(s, dict):
        raise InterfaceError(f"a schema is a dict of attribute -> properties, got {type(s).__name__}")
    out = {}
    for a, props in s.items():
        if not isinstance(props, dict):
            raise InterfaceError(f"the properties of {a!r} are a dict, got {props!r}")
        out[attr(a)] = {attr(k): _schema_value(v) for k, v in props.items()}
    return out


def _schema_value(v: Any) -> Any:
    if _plain_str(v) and v.startswith(":") and len(v) > 1:
        return Keyword(v)
    if isinstance(v, (list, tuple)) and type(v) is not EdnList:
        return [_schema_value(x) for x in v]
    return form_value(v)


# -------------------------------------------------------------------------- key-value


def kv_type(t: Any, what: str = "a type") -> Any:
    """A key or value type: ``":string"``, ``"string"``, a Keyword, or a list of them for
    a tuple."""
    if t is None:
        return None
    if isinstance(t, Keyword):
        return t
    if type(t) is str:
        return Keyword(t)
    if isinstance(t, (list, tuple)):
        return [kv_type(x, what) for x in t]
    raise InterfaceError(f"{what} is a keyword such as ':string' or a list of them, got {t!r}")


_RANGE_KINDS = {
    f"{k}{b}"
    for k in ("all", "at-least", "at-most", "greater-than", "less-than", "closed",
              "closed-open", "open-closed", "open")
    for b in ("", "-back")
}


def kv_range(r: Any, what: str = "the range") -> List[Any]:
    """A range ``[":closed", lo, hi]``, ``[":all"]``, ... (or ``":all"`` alone, or EDN text)."""
    if r is None:
        raise InterfaceError(f"{what} is required, e.g. [':all'] or [':closed', lo, hi]")
    if type(r) is str:
        r = read_edn(r) if r.lstrip().startswith("[") else [r]
    if not isinstance(r, (list, tuple)) or not r:
        raise InterfaceError(f"{what} is a list such as [':closed', lo, hi], got {r!r}")
    kind = r[0]
    kind = Keyword(kind) if type(kind) is str else kind
    if not isinstance(kind, Keyword) or kind.name not in _RANGE_KINDS:
        raise InterfaceError(
            f"{what} starts with one of :all, :at-least, :at-most, :greater-than, "
            f":less-than, :closed, :closed-open, :open-closed, :open (or -back), got {r[0]!r}"
        )
    return [kind] + [form_value(x) for x in r[1:]]


def literal(v: Any) -> Any:
    return form_value(v)


_SENDABLE = (type(None), bool, int, float, str, bytes, Decimal, uuid.UUID, _dt.datetime, Tagged)
