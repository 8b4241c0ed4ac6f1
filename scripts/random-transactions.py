#!/usr/bin/env python3
"""Seeded random transactions for Levin's differential tests against Datalevin.

Writes a step file (the format of query/tests/data/transact.edn, read by
query/tests/common): each group has a schema (cardinality one and many, refs,
components, a unique identity and a unique value attribute, strings, longs, keywords,
sometimes a composite tuple) and a sequence of `[:try-tx tx-data]` steps, each followed
by a read (every datom as a set, or a pull, or max-eid). `:try-tx` has no expectation of its own:
Levin's answer (the report, or that it refused) is compared with Datalevin's, and a
refused transaction must leave the database as it was.

    scripts/random-transactions.py --seed N [--groups G] [--steps M] --out FILE
"""
import argparse
import random

STRINGS = ['"a"', '"b"', '"c"', '"d"', '"e"']
EMAILS = ['"x@"', '"y@"', '"z@"']
KEYWORDS = [":k/a", ":k/b", ":k/c"]


class Gen:
    def __init__(self, rnd, tuples):
        self.r = rnd
        self.tuples = tuples
        self.max_eid = 8  # existing-ish entity ids to refer to
        self.tmp = 0

    def pick(self, xs):
        return self.r.choice(xs)

    def chance(self, p):
        return self.r.random() < p

    def schema(self):
        s = {
            ":name": "{:db/valueType :db.type/string :db/unique :db.unique/identity}",
            ":email": "{:db/valueType :db.type/string :db/unique :db.unique/value}",
            ":age": "{:db/valueType :db.type/long}",
            ":score": "{:db/valueType :db.type/long}",
            ":tag": "{:db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}",
            ":nick": "{:db/valueType :db.type/string :db/cardinality :db.cardinality/many}",
            ":friend": "{:db/valueType :db.type/ref}",
            ":friends": "{:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}",
            ":main": "{:db/valueType :db.type/ref :db/isComponent true}",
            ":part": "{:db/valueType :db.type/ref :db/cardinality :db.cardinality/many :db/isComponent true}",
        }
        if self.tuples:
            s[":age+score"] = "{:db/valueType :db.type/tuple :db/tupleAttrs [:age :score]}"
        return "{" + "\n           ".join(f"{k} {v}" for k, v in s.items()) + "}"

    # ---- values -------------------------------------------------------------------

    def eid(self):
        return str(self.r.randint(1, self.max_eid))

    def lookup(self):
        if self.chance(0.7):
            return f"[:name {self.pick(STRINGS)}]"
        return f"[:email {self.pick(EMAILS)}]"

    def tempid(self):
        if self.chance(0.5):
            return f'"t{self.r.randint(1, 3)}"'
        return str(-self.r.randint(1, 3))

    def entity_ref(self, tempids=True):
        """An entity: an id, a lookup ref or (in a transaction) a tempid."""
        x = self.r.random()
        if x < 0.45:
            return self.eid()
        if x < 0.75:
            return self.lookup()
        return self.tempid() if tempids else self.eid()

    def value(self, attr, wrong=False):
        if wrong:
            return {
                ":name": "5",
                ":email": ":k/a",
                ":age": '"old"',
                ":score": "1.5",
                ":tag": '"a"',
                ":nick": "7",
                ":friend": "true",
                ":friends": ":k/b",
            }[attr]
        if attr == ":name":
            return self.pick(STRINGS)
        if attr == ":email":
            return self.pick(EMAILS)
        if attr in (":age", ":score"):
            return str(self.r.randint(0, 4))
        if attr == ":tag":
            return self.pick(KEYWORDS)
        if attr == ":nick":
            return self.pick(STRINGS)
        if attr in (":friend", ":friends"):
            return self.entity_ref()
        raise ValueError(attr)

    SCALARS = [":name", ":email", ":age", ":score", ":tag", ":nick"]
    REFS = [":friend", ":friends"]
    MANY = {":tag", ":nick", ":friends", ":part"}

    # ---- entity maps ----------------------------------------------------------------

    def entity_map(self, depth=0, in_component=False):
        parts = []
        x = self.r.random()
        if not in_component:
            if x < 0.25:
                parts.append(f":db/id {self.eid()}")
            elif x < 0.4:
                parts.append(f":db/id {self.lookup()}")
            elif x < 0.7:
                parts.append(f":db/id {self.tempid()}")
        n = self.r.randint(1, 3)
        attrs = self.r.sample(self.SCALARS + self.REFS, n)
        for a in attrs:
            if a in self.MANY and self.chance(0.5):
                vals = " ".join(self.value(a) for _ in range(self.r.randint(1, 2)))
                parts.append(f"{a} [{vals}]")
            elif self.chance(0.04):
                parts.append(f"{a} {self.value(a, wrong=True)}")
            else:
                parts.append(f"{a} {self.value(a)}")
        if depth < 1 and self.chance(0.3):
            # A nested map under a ref (it needs a unique attribute to be findable).
            a = self.pick(self.REFS)
            parts = [p for p in parts if not p.startswith(a + " ")]
            inner = f"{{:name {self.pick(STRINGS)} :age {self.r.randint(0, 4)}}}"
            parts.append(f"{a} {inner if a == ':friend' else '[' + inner + ']'}")
        if depth < 1 and self.chance(0.3):
            a = self.pick([":main", ":part"])
            inner = self.entity_map(depth + 1, in_component=True)
            parts.append(f"{a} {inner if a == ':main' else '[' + inner + ']'}")
        if not in_component and self.chance(0.15):
            a = self.pick([":_friend", ":_friends"])
            parts.append(f"{a} {self.eid()}")
        if self.tuples and not in_component and self.chance(0.05):
            parts.append(":age+score [1 2]")  # composite tuples are not writable
        return "{" + " ".join(parts) + "}"

    # ---- operations -----------------------------------------------------------------

    def op(self):
        x = self.r.random()
        if x < 0.35:
            return self.entity_map()
        if x < 0.6:
            a = self.pick(self.SCALARS + self.REFS)
            wrong = self.chance(0.05)
            return f"[:db/add {self.entity_ref()} {a} {self.value(a, wrong)}]"
        if x < 0.72:
            a = self.pick(self.SCALARS + self.REFS + [":main", ":part"])
            e = self.eid()
            if a in (":main", ":part") or self.chance(0.3):
                return f"[:db/retract {e} {a}]"
            return f"[:db/retract {e} {a} {self.value(a)}]"
        if x < 0.82:
            return f"[:db/retractEntity {self.eid()}]"
        if x < 0.92:
            # Cardinality one only: Datalevin fails a nil old value on an empty many attribute.
            a = self.pick([":age", ":score", ":name", ":email"])
            old = "nil" if self.chance(0.2) else self.value(a)
            return f"[:db/cas {self.eid()} {a} {old} {self.value(a)}]"
        # An upsert through the identity attribute, maybe conflicting with another id.
        name = self.pick(STRINGS)
        if self.chance(0.5):
            return f"{{:db/id {self.eid()} :name {name} :age {self.r.randint(0, 4)}}}"
        return f"{{:name {name} :email {self.pick(EMAILS)}}}"

    def read(self):
        x = self.r.random()
        # No pulls of ids that may hold nothing: Datalevin answers {:db/id e}, Levin nil.
        if x < 0.85:
            return "[:all-datoms]"
        return "[:max-eid]"

    def steps(self, m):
        out = []
        for _ in range(m):
            ops = [self.op() for _ in range(self.r.randint(1, 3))]
            # :db/retractEntity alone: Datalevin's retractEntity and unique checks read the
            # database before the transaction, so they miss what the transaction changed.
            alone = [o for o in ops if o.startswith("[:db/retractEntity")]
            ops = " ".join(alone[:1] or ops)
            out.append(f"[:try-tx [{ops}]]")
            out.append(self.read())
        out.append("[:all-datoms]")
        return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--groups", type=int, default=4)
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--out", required=True)
    p.add_argument("--only", help="keep only these groups (comma-separated numbers)")
    p.add_argument("--tuples", action="store_true", help="sometimes a composite tuple attribute")
    a = p.parse_args()
    rnd = random.Random(a.seed)
    only = None if a.only is None else {int(x) for x in a.only.split(",")}
    args = f"--seed {a.seed} --groups {a.groups} --steps {a.steps}"
    args += (" --tuples" if a.tuples else "") + (f" --only {a.only}" if a.only else "")
    lines = [f";; Written by scripts/random-transactions.py {args}. Do not edit.", "["]
    for g in range(a.groups):
        gen = Gen(rnd, tuples=a.tuples and rnd.random() < 0.5)
        lines.append(f' {{:name "seed {a.seed} group {g}"')
        lines.append(f"  :schema {gen.schema()}")
        steps = gen.steps(a.steps)
        if only is not None and g not in only:
            lines.pop()
            lines.pop()
            continue
        lines.append("  :steps [" + "\n          ".join(steps) + "]}")
    lines.append("]")
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
