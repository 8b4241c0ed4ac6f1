#!/usr/bin/env python3
"""Seeded random transactions for Levin's differential tests against Datalevin.

Writes a step file (the format of query/tests/data/transact.edn, read by
query/tests/common): each group has a schema (cardinality one and many, refs,
components, a unique identity and a unique value attribute, strings, longs, keywords,
sometimes a composite tuple) and a sequence of `[:try-tx tx-data]` steps, each followed
by a read (every datom as a set, or max-eid). `:try-tx` has no expectation of its own:
Levin's answer (the report, or that it refused) is compared with Datalevin's, and a
refused transaction must leave the database as it was.

Entity ids. Both engines give new entities `max-eid + 1` in order, but Levin's `max-eid` is
the largest id any transaction named (never lowered) and Datalevin's the largest id holding
datoms (docs/QUERY.md), so the two agree only while the largest id ever named holds datoms.
Once they part, every later tempid gets a different id. The generator keeps them together
without modelling the database:
- Each group starts with a setup transaction: entities 1..N (N = NAMED, ids allocated in
  order from an empty database) and then a floor entity N+1 (`{:anchor 0}`) that no
  operation can reach (no explicit id names it, it has no unique attribute, nothing refers
  to it), so Datalevin's max-eid never falls below N+1.
- Explicit ids (entity position, ref values, reverse refs, cas, retractions) are 1..N only,
  so no transaction names an id above max-eid.
- Entities above N+1 come from tempids and are reached only by lookup ref, upsert or as a
  component. A retraction through a lookup ref never retracts `:name` or `:email` (the
  entity keeps the datom it was found by), so no `:db/retract` empties one of them.
- `:db/retractEntity` (by id or lookup ref) can empty the newest entity (itself or a
  component of it), so its transaction ends with a fresh anchor entity `{:anchor k}`,
  which becomes the largest id holding datoms in both engines.
- A refused transaction changes nothing in either engine, so it needs no care.
It also avoids the listed differences of docs/QUERY.md ("Differences from Datalevin"):
- `:db/retractEntity` alone in its transaction (besides the anchor);
- no tempids in `:db/retract`; no `[:db/retract e :main]` of a component attribute without
  a value; `:db/cas` on cardinality one only;
- no `:name` in component maps (no entity that is its own component);
- no lookup ref through a unique attribute an earlier operation of the transaction (or, in
  value position, the same one) writes;
- no operation writing a unique attribute after one that may take a value of it away;
- a lookup ref as the whole value of `:friends` in an entity map wrapped in a vector;
- no `:name` asserted for a tempid an earlier operation of the transaction used, nor a
  `:name` value retracted after an operation asserting `:name`;
- no tempid values in an entity map holding nested maps (Datalevin's id order differs).
Everything else it generates must agree (scripts/differential-random --tx).

    scripts/random-transactions.py --seed N [--groups G] [--steps M] --out FILE
"""
import argparse
import random
import re

# Entities 1..NAMED exist from the setup transaction on; explicit ids name only them.
NAMED = 8

STRINGS = ['"a"', '"b"', '"c"', '"d"', '"e"']
EMAILS = ['"x@"', '"y@"', '"z@"']
KEYWORDS = [":k/a", ":k/b", ":k/c"]


class Gen:
    def __init__(self, rnd, tuples):
        self.r = rnd
        self.tuples = tuples
        self.anchors = 0

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
            ":anchor": "{:db/valueType :db.type/long}",
        }
        if self.tuples:
            s[":age+score"] = "{:db/valueType :db.type/tuple :db/tupleAttrs [:age :score]}"
        return "{" + "\n           ".join(f"{k} {v}" for k, v in s.items()) + "}"

    # ---- values -------------------------------------------------------------------

    def eid(self):
        return str(self.r.randint(1, NAMED))

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

    def value(self, attr, wrong=False, tempids=True):
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
        if attr in (":friend", ":friends", ":main", ":part"):
            return self.entity_ref(tempids)
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
        # No :name in a component map: it would upsert into the entity holding the name,
        # maybe its owner, and Datalevin's :db/retractEntity of an entity that is its own
        # component never returns (a listed difference).
        attrs = [a for a in self.SCALARS + self.REFS if not (in_component and a == ":name")]
        attrs = self.r.sample(attrs, n)
        for a in attrs:
            if a in self.MANY and self.chance(0.5):
                vals = " ".join(self.value(a) for _ in range(self.r.randint(1, 2)))
                parts.append(f"{a} [{vals}]")
            elif a == ":friends":
                # A lookup ref alone would read as a list of two values: wrap it.
                v = self.value(a)
                parts.append(f"{a} {'[' + v + ']' if v.startswith('[') else v}")
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
        if any(p.startswith((":main ", ":part ", ":friend {", ":friends [{")) for p in parts):
            # With nested maps, Datalevin gives ids to a map's values and the map in the
            # order of its keys, tempid values before the map (as for :db/add; without
            # nested maps the map first): no tempid values beside nested maps.
            parts = [p if p.startswith(":db/id ") else self.TEMPID.sub(lambda m: self.eid(), p)
                     for p in parts]
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
            # Through a lookup ref, not of a unique attribute: the entity keeps a datom.
            e = self.lookup() if a not in (":name", ":email") and self.chance(0.3) else self.eid()
            # A component attribute with a value only: without one, Datalevin also
            # retracts the component entities (a listed difference).
            if a not in (":main", ":part") and self.chance(0.3):
                return f"[:db/retract {e} {a}]"
            return f"[:db/retract {e} {a} {self.value(a, tempids=False)}]"
        if x < 0.82:
            return f"[:db/retractEntity {self.lookup() if self.chance(0.3) else self.eid()}]"
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

    LOOKUP = re.compile(r'\[:(name|email) "[^"]*"\]')
    # A unique attribute written (asserted, retracted, cas): not a lookup ref's attribute.
    WRITE = re.compile(r'(?<!\[):(name|email)\b')
    # Where a lookup ref names the operation's own entity.
    ENTITY_POS = ("{:db/id ", "[:db/add ", "[:db/retract ", "[:db/cas ")

    def lookups_before_writes(self, ops):
        """Replaces by explicit ids the lookup refs through a unique attribute that an
        earlier operation of the transaction writes, or that the same operation writes
        (except the lookup naming the operation's entity, resolved before it runs).
        Datalevin resolves a lookup ref that finds nothing against what the transaction
        asserted so far; Levin against the database before it (a listed difference)."""
        written = set()
        out = []
        for o in ops:
            mine = set(self.WRITE.findall(o))
            def fix(m):
                lookup_attr = m.group(1)
                own = any(o.startswith(p + m.group(0), 0) and m.start() == len(p) for p in self.ENTITY_POS)
                if lookup_attr in written or (lookup_attr in mine and not own):
                    return self.eid()
                return m.group(0)
            out.append(self.LOOKUP.sub(fix, o))
            written |= mine
        return out

    def frees(self, o):
        """The unique attributes operation o may take a value away from (so that a later
        operation could assert it): Datalevin checks uniqueness against the database
        before the transaction, Levin against what the transaction did so far (a listed
        difference)."""
        out = set()
        for a in set(self.WRITE.findall(o)):
            if a == "email" or o.startswith(("[:db/retract", "[:db/cas")):
                out.add(a)  # an :email map may upsert through :name into an entity
            elif re.match(r'(\{:db/id|\[:db/add) (\d|\[)', o):
                out.add(a)  # an existing entity's :name replaced
        return out

    def unique_writes_after_frees(self, ops):
        """Drops the operations writing a unique attribute an earlier one may free."""
        freed, out = set(), []
        for o in ops:
            writes = self.WRITE.findall(o)
            # Within one operation too (an entity map renaming its entity, with a nested
            # map upserting through the old name).
            twice = {a for a in writes if writes.count(a) > 1}
            if freed & set(writes) or twice & self.frees(o):
                continue
            freed |= self.frees(o)
            out.append(o)
        return out

    TEMPID = re.compile(r'"t\d"|(?<![\w.])-\d+')
    OWN_TEMPID = re.compile(r'(?:\{:db/id|\[:db/add) ("t\d"|-\d+)[ \]]')

    def no_late_identity(self, ops):
        """Drops the operations asserting :name for a tempid an earlier operation already
        used: when a new entity took that name in between, Datalevin moves the tempid to
        that entity's id, leaving its first id unused (a listed difference)."""
        seen, named, out = set(), False, []
        for o in ops:
            own = self.OWN_TEMPID.match(o)
            writes = self.WRITE.findall(o)
            if own and own.group(1) in seen and "name" in writes:
                continue
            # Nor a retraction of a :name value after an operation asserting :name:
            # Datalevin refuses it as a conflicting upsert when another entity holds the
            # value (a listed difference).
            if named and re.match(r'\[:db/retract \S+ :name "', o):
                continue
            named = named or "name" in writes
            seen |= set(self.TEMPID.findall(o))
            out.append(o)
        return out

    def anchor(self):
        """A fresh entity no operation can reach: the largest id holding datoms."""
        a = f"{{:anchor {self.anchors}}}"
        self.anchors += 1
        return a

    def setup(self):
        """Entities 1..NAMED, in order, then the floor (see the module's comment)."""
        names = self.r.sample(STRINGS, len(STRINGS))
        emails = self.r.sample(EMAILS, len(EMAILS))
        maps = []
        for _ in range(NAMED):
            # Non-unique attributes always, so no map upserts into another; distinct
            # unique values on some, so lookup refs find entities from the start.
            attrs = self.r.sample([":age", ":score", ":tag", ":nick"], self.r.randint(1, 2))
            parts = [f"{a} {self.value(a)}" for a in attrs]
            if names and self.chance(0.4):
                parts.append(f":name {names.pop()}")
            if emails and self.chance(0.3):
                parts.append(f":email {emails.pop()}")
            maps.append("{" + " ".join(parts) + "}")
        maps.append(self.anchor())
        return f"[:try-tx [{' '.join(maps)}]]"

    def steps(self, m):
        out = [self.setup(), "[:all-datoms]"]
        for _ in range(m):
            ops = []
            while not ops:
                ops = [self.op() for _ in range(self.r.randint(1, 3))]
                if not any(o.startswith("[:db/retractEntity") for o in ops):
                    ops = self.no_late_identity(self.unique_writes_after_frees(ops))
            # :db/retractEntity alone: Datalevin's retractEntity and unique checks read the
            # database before the transaction, so they miss what the transaction changed.
            # Then an anchor, as it may empty the newest entity.
            alone = [o for o in ops if o.startswith("[:db/retractEntity")]
            ops = " ".join([alone[0], self.anchor()] if alone else self.lookups_before_writes(ops))
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
