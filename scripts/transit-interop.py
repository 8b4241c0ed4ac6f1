"""Differential test of Levin's transit+json codec against transit-python2 (the library
python-pods uses). Driven by scripts/transit-interop and edn/tests/transit_interop.rs.

  gen OUT           write one transit document a line, from Python (cache on)
  check PY RS OUT2  decode both files line by line and compare; write OUT2, Python's
                    re-encoding of what it decoded from RS
  echo              read transit lines on stdin, write Python's re-encoding of each
"""

import datetime
import io
import math
import random
import sys
import uuid
from decimal import Decimal

from transit.reader import Reader
from transit.transit_types import Keyword, Symbol, TaggedValue, URI, frozendict
from transit.writer import Writer


def dumps(v):
    buf = io.StringIO()
    Writer(buf, "json").write(v)
    return buf.getvalue()


def loads(s):
    return Reader("json").read(io.StringIO(s))


def kw(s):
    return Keyword(s)


def sym(s):
    return Symbol(s)


UTC = datetime.timezone.utc


def fixed_cases():
    query = (kw("find"), sym("?n"), kw("in"), sym("$"), sym("?alias"), kw("where"),
             (sym("?e"), kw("aka"), sym("?alias")), (sym("?e"), kw("nation"), sym("?n")))
    many = tuple(kw("k%04d" % i) for i in range(1500))
    return [
        query,
        None, True, False, 0, -1, 2**53 - 1, 2**53, -(2**53), 2**63 - 1, -(2**63), 2**64 + 3,
        -(2**70), 1.5, -0.0, 1e300, 2.5e-308, float("inf"), float("-inf"),
        "", "plain", "~tilde", "^caret", "`tick", "^ ", "é ж 😀 \n \t \" \\",
        kw("a"), kw("db/id"), sym("?x"), sym("clojure.core/+"),
        Decimal("1.50"), Decimal("-0.015"), Decimal("1.5E+3"), Decimal("0E-7"),
        uuid.UUID("f81d4fae-7dec-11d0-a765-00a0c91e6bf6"),
        datetime.datetime(1985, 4, 12, 23, 20, 50, 520000, tzinfo=UTC),
        URI("http://example.com/a?b=c"),
        (), frozenset(), frozendict(), frozenset([1, kw("a"), "s"]),
        frozendict({kw("a"): 1, "b": (1, 2), 3: kw("c"), None: 4, 2.5: 5, "long key": 6}),
        frozendict({(1, 2): "composite", kw("x"): 1}),
        frozendict({frozenset([1]): 1}),
        TaggedValue("datalevin/Datom", (1, kw("name"), "x", 536870913)),
        TaggedValue("my-tag", frozendict({kw("a"): (1, 2)})),
        (frozendict({kw("person/name"): "A", kw("person/age"): 1}),
         frozendict({kw("person/name"): "B", kw("person/age"): 2})),
        many + many,
        (frozenset([kw("aaaa")]), frozenset([kw("aaaa")]), TaggedValue("tagx", 1), TaggedValue("tagx", 2)),
    ]


def random_value(rng, depth=0):
    leaves = [
        lambda: None, lambda: rng.choice([True, False]),
        lambda: rng.randint(-2**64, 2**64), lambda: rng.randint(-1000, 1000),
        lambda: rng.uniform(-1e6, 1e6),
        lambda: "".join(rng.choice("ab~^`#:$ é😀") for _ in range(rng.randint(0, 6))),
        lambda: kw(rng.choice(["a", "bb", "ccc", "dddd", "ns/eeee", "ns.x/f"])),
        lambda: sym(rng.choice(["?e", "?eeee", "$", "x/y", "_"])),
        lambda: Decimal(rng.randint(-10**6, 10**6)).scaleb(rng.randint(-8, 8)),
        lambda: uuid.UUID(int=rng.getrandbits(128)),
        lambda: datetime.datetime.fromtimestamp(rng.randint(-10**10, 10**10) / 1000, tz=UTC),
    ]
    if depth >= 4 or rng.random() < 0.5:
        return rng.choice(leaves)()
    kind = rng.randrange(4)
    items = [random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    if kind == 0:
        return tuple(items)
    if kind == 1:
        try:
            return frozenset(items)
        except TypeError:
            return tuple(items)
    if kind == 2:
        keys = [random_value(rng, 3) for _ in items]
        try:
            return frozendict(dict(zip(keys, items)))
        except TypeError:
            return tuple(items)
    return TaggedValue("t" + str(rng.randrange(3)) + "x", tuple(items))


def canon(v):
    """A comparable form: NaN equal to itself, Decimals with their scale, sets and maps
    unordered."""
    if isinstance(v, bool) or v is None:
        return ("const", v)
    if isinstance(v, float):
        return ("nan",) if math.isnan(v) else ("float", v, math.copysign(1, v))
    if isinstance(v, int):
        return ("int", v)
    if isinstance(v, Decimal):
        return ("dec", str(v))
    if isinstance(v, (Keyword, Symbol)):
        return (type(v).__name__, str(v))
    if isinstance(v, frozendict) or isinstance(v, dict):
        return ("map", frozenset((canon(k), canon(x)) for k, x in v.items()))
    if isinstance(v, frozenset):
        return ("set", frozenset(canon(x) for x in v))
    if isinstance(v, (tuple, list)):
        return ("seq", tuple(canon(x) for x in v))
    if isinstance(v, TaggedValue):
        return ("tag", v.tag, canon(v.rep))
    if isinstance(v, datetime.datetime):
        return ("inst", round(v.timestamp() * 1000))
    return (type(v).__name__, str(v))


def main():
    mode = sys.argv[1]
    if mode == "gen":
        rng = random.Random(20240601)
        values = fixed_cases() + [random_value(rng) for _ in range(400)]
        with open(sys.argv[2], "w", encoding="utf-8") as out:
            for v in values:
                out.write(dumps(v) + "\n")
        print("transit-interop: wrote %d documents" % len(values))
    elif mode == "check":
        py = open(sys.argv[2], encoding="utf-8").read().splitlines()
        rs = open(sys.argv[3], encoding="utf-8").read().splitlines()
        if len(py) != len(rs):
            sys.exit("transit-interop: %d lines from Python but %d from Rust" % (len(py), len(rs)))
        failures = 0
        with open(sys.argv[4], "w", encoding="utf-8") as out:
            for i, (p, r) in enumerate(zip(py, rs)):
                try:
                    a, b = loads(p), loads(r)
                    ok = canon(a) == canon(b)
                    out.write(dumps(b) + "\n")
                except Exception as e:  # report, keep going
                    ok, a, b = False, p, "%s: %s" % (type(e).__name__, e)
                if not ok:
                    failures += 1
                    if failures <= 10:
                        print("line %d differs:\n  python: %s\n  rust:   %s\n  python read: %r\n  from rust:   %r"
                              % (i + 1, p[:300], r[:300], a, b))
        if failures:
            sys.exit("transit-interop: %d of %d documents differ" % (failures, len(py)))
        print("transit-interop: %d documents: Python -> Rust -> Python equal" % len(py))
    elif mode == "echo":
        for line in sys.stdin:
            sys.stdout.write(dumps(loads(line)) + "\n")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
