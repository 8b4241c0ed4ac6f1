#!/usr/bin/env python3
"""Writes random index reads as a query/tests/data ix_*.edn step file.

    scripts/random-index.py --seed N [--groups G] [--steps M] [--out FILE]

Each group loads the dataset of scripts/random-queries.py (people, projects, component
addresses: typed attributes, cardinality one and many, refs) and then M steps: `datoms`
(EAV and AVE with no, one, two or three components), `seek-datoms` and `rseek-datoms`
(the first n datoms from a start), `index-range` (open or closed bounds, in and out of the
data), `count-datoms`, `search-datoms` (any of e, a, v left nil), `cardinality`, and now and
then a small transaction (an assertion or a retraction) so reads also see a changed
database. Components name ids (and lookup refs) and values that exist and ones that do
not. Every answer, in
its order, must be Datalevin's (query/tests/ix_random.rs).

Avoided, being listed differences (docs/QUERY.md, "Differences from Datalevin"):
`seek-datoms` on EAV with an entity and an attribute (Datalevin stops after that attribute;
Levin, as Datomic, goes on to the end of the index).

scripts/differential-random --index runs many seeds against both.
"""

import importlib.util
import os
import random
import stepfile

_spec = importlib.util.spec_from_file_location(
    "random_queries", os.path.join(os.path.dirname(os.path.abspath(__file__)), "random-queries.py"))
rq = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rq)

ATTRS = list(rq.ATTRS)
IDS = sorted(rq.DATA) + [7777]  # 7777 holds nothing


class Gen:
    def __init__(self, rnd):
        self.rnd = rnd

    def pick(self, xs):
        return self.rnd.choice(xs)

    def chance(self, p):
        return self.rnd.random() < p

    def attr(self):
        return self.pick(ATTRS)

    def value(self, a):
        """A value of `a`: mostly one the data holds, sometimes one it does not."""
        vs = rq.values_of(a)
        t = rq.ATTRS[a][1]
        if self.chance(0.15) or not vs:
            extra = {"string": '"Zed"', "long": "3", "double": "0.25", "keyword": ":none",
                     "bool": "false"}
            return extra.get(t, "7777") if not isinstance(t, tuple) else "7777"
        return rq.edn(self.pick(vs))

    def entity(self, a=None):
        if self.chance(0.1):
            # A lookup ref: a person by name, or a name nobody has.
            return f'[:person/name "{self.pick(rq.NAMES + ["Zed"])}"]'
        if a is not None and self.chance(0.8):
            holders = [i for i, e in rq.DATA.items() if a in e]
            if holders:
                return str(self.pick(holders))
        return str(self.pick(IDS))

    def comps(self, index):
        n = self.pick([0, 1, 1, 2, 2, 3])
        a = self.attr()
        if index == ":eav":
            e = self.entity(a)
            parts = [e, a, self.value(a)]
        else:
            v = self.value(a)
            parts = [a, v, self.entity(a)]
        return parts[:n]

    def step(self):
        r = self.rnd.random()
        index = self.pick([":eav", ":ave"])
        if r < 0.22:
            return f"[:datoms {index} [{' '.join(self.comps(index))}]]"
        if r < 0.40:
            op = self.pick([":seek", ":rseek"])
            comps = self.comps(index)
            if op == ":seek" and index == ":eav" and len(comps) == 2:
                comps = comps[:1]
            return f"[{op} {index} [{' '.join(comps)}] {self.rnd.randint(1, 8)}]"
        if r < 0.55:
            a = self.attr()
            lo = self.value(a) if self.chance(0.8) else "nil"
            hi = self.value(a) if self.chance(0.8) else "nil"
            return f"[:index-range {a} {lo} {hi}]"
        if r < 0.65:
            return f"[:count {index} [{' '.join(self.comps(index))}]]"
        if r < 0.82:
            a = self.attr()
            e = self.entity(a) if self.chance(0.5) else "nil"
            if e.startswith("["):
                e = str(self.pick(IDS))  # Datalevin's search-datoms takes no lookup ref
            at = a if self.chance(0.7) else "nil"
            v = self.value(a) if at != "nil" and self.chance(0.5) else "nil"
            if e == "nil" and at == "nil" and v == "nil":
                at = a
            return f"[:search {e} {at} {v}]"
        if r < 0.90:
            return f"[:cardinality {self.attr()}]"
        a = self.attr()
        e = self.entity(a)
        op = self.pick([":db/add", ":db/retract"])
        return f"[:try-tx [[{op} {e} {a} {self.value(a)}]]]"

    def group(self, n, steps):
        body = "\n          ".join(self.step() for _ in range(steps))
        return (f"{{:name \"index reads {n}\"\n  :schema {rq.schema_edn()}\n"
                f"  :steps [[:tx {rq.tx_edn()}]\n          {body}]}}")


def main():
    stepfile.main(__doc__, "random-index.py", "Random index reads", 4, 75, Gen)


if __name__ == "__main__":
    main()
