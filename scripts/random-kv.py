#!/usr/bin/env python3
"""Writes random key-value steps as a query/tests/data kv_*.edn file.

    scripts/random-kv.py --seed N [--groups G] [--steps M] [--out FILE]

Each group is a fresh key-value store with one sub-database (plain, or a list database)
whose keys have one type (`:long`, `:string`, `:double`, `:keyword`, `:instant`, `:uuid`,
`:boolean`, `[:long :string]`) and values another: a setup transaction of puts (and list
puts), then M steps mixing write transactions (puts, deletes, list puts and deletes, values
of the wrong type) with Datalevin's read functions (`get-value`, `get-first`, `get-first-n`,
`get-range`, `key-range`, `range-count`, `key-range-count`, `get-rank`, `get-by-rank`,
`get-list`, `list-count`, `in-list?`, `list-range`, `list-range-count`, `list-range-first`,
`list-range-first-n`) over every range type, forward and `-back`, with bounds in and out of
the data and in either order. The steps depend only on the seed (Python's
`random.Random(seed)`), so a seed names its file. Every answer, or refusal, is compared
with Datalevin's (scripts/datalevin/golden.clj; query/tests/kv_random.rs runs Levin's
side through the key-value vocabulary the server and the pod share).

scripts/differential-random --kv runs many seeds against both.
"""

import random
import stepfile

KEY_DOMAINS = {
    ":long": ["-7", "-1", "0", "1", "2", "3", "5", "8", "13", "100", "9007199254740993"],
    ":string": ['""', '"a"', '"ab"', '"abc"', '"b"', '"ba"', '"z"', '"A"', '"é"', '"a b"'],
    ":double": ["-2.5", "-1.0", "0.0", "0.5", "1.0", "1.5", "2.25", "10.0", "1.0E10"],
    ":keyword": [":a", ":b", ":z", ":a/b", ":a/c", ":b/a", ":ab", ":a.b/c"],
    ":instant": ['#inst "1969-12-31T23:59:59.000Z"', '#inst "1970-01-01T00:00:00.000Z"',
                 '#inst "2020-01-01T00:00:00.000Z"', '#inst "2020-06-01T12:00:00.500Z"',
                 '#inst "2024-02-29T00:00:00.000Z"'],
    ":uuid": ['#uuid "00000000-0000-0000-0000-000000000001"',
              '#uuid "0000000a-0000-0000-0000-000000000000"',
              '#uuid "7fffffff-ffff-ffff-ffff-ffffffffffff"',
              '#uuid "80000000-0000-0000-0000-000000000000"',
              '#uuid "ffffffff-ffff-ffff-ffff-fffffffffffe"'],
    ":boolean": ["false", "true"],
    "[:long :string]": ['[1 "a"]', '[1 "b"]', '[2 ""]', '[2 "a"]', '[-1 "z"]', '[10 "a"]'],
    ":bigint": ["-123456789012345678901234567890N", "-5N", "0N", "1N", "255N", "256N",
                "98765432109876543210N"],
    ":bigdec": ["-1.5M", "0M", "0.001M", "1M", "1.25M", "2.5M", "1E+3M"],
    ":float": ["-1.5", "0.0", "0.25", "1.0", "3.5", "1000.0"],
    ":symbol": ["a", "b", "a/b", "ab", "z/y", "x.y/z"],
    ":bytes": ['#bytes "00"', '#bytes "01"', '#bytes "0102"', '#bytes "ff"', '#bytes "7f00"'],
}

VALUE_DOMAINS = {
    ":string": ['"v1"', '"v2"', '"x"', '""', '"long value"'],
    ":long": ["-3", "0", "7", "42", "1000"],
    ":data": ["{:a 1}", "[1 2]", '"s"', ":k", "nil", "#{1}"],
    ":keyword": [":v", ":a/v", ":zz"],
    ":double": ["-0.5", "0.0", "3.25", "1.0E-5"],
    ":instant": ['#inst "2021-03-04T05:06:07.008Z"', '#inst "1960-01-01T00:00:00.000Z"'],
    # Datalevin refuses an empty homogeneous tuple ([]); Levin stores it.
    "[:long]": ["[1 2 3]", "[0]", "[-1]"],
    ":bytes": ['#bytes "00ff"', '#bytes "41"'],
}

# Types a list database's values take (ordered types only).
LIST_VALUE_TYPES = [":string", ":long"]

RANGE_KINDS_0 = ["all"]
RANGE_KINDS_1 = ["at-least", "at-most", "greater-than", "less-than"]
RANGE_KINDS_2 = ["closed", "closed-open", "open-closed", "open"]


class Gen:
    def __init__(self, rnd):
        self.rnd = rnd

    def pick(self, xs):
        return self.rnd.choice(xs)

    def chance(self, p):
        return self.rnd.random() < p

    def range_spec(self, domain):
        back = "-back" if self.chance(0.4) else ""
        n = self.rnd.choice([0, 1, 1, 2, 2, 2])
        if n == 0:
            return f"[:all{back}]"
        if n == 1:
            return f"[:{self.pick(RANGE_KINDS_1)}{back} {self.pick(domain)}]"
        a, b = self.pick(domain), self.pick(domain)
        # Mostly in the order the kind reads them (-back: high first); sometimes not.
        ia, ib = domain.index(a), domain.index(b)
        lo, hi = (a, b) if ia <= ib else (b, a)
        if self.chance(0.15):
            lo, hi = hi, lo
        first, second = (hi, lo) if back else (lo, hi)
        return f"[:{self.pick(RANGE_KINDS_2)}{back} {first} {second}]"

    def group(self, n, steps):
        kt = self.pick(list(KEY_DOMAINS))
        keys = KEY_DOMAINS[kt]
        # Datalevin loses a list database's `false` key (get-list, list-count and in-list?
        # find nothing under it): no boolean keys in list databases.
        is_list = kt != ":boolean" and self.chance(0.35)
        vt = self.pick(LIST_VALUE_TYPES if is_list else list(VALUE_DOMAINS))
        vals = VALUE_DOMAINS[vt]
        dbi = "l" if is_list else "d"
        out = [f"[:open-{'list-' if is_list else ''}dbi \"{dbi}\"]"]
        present = self.rnd.sample(keys, k=max(1, min(len(keys), self.rnd.randint(2, 7))))

        def put(k):
            if is_list:
                if self.chance(0.2):
                    # One value added to the key's list.
                    return f"[:put \"{dbi}\" {k} {self.pick(vals)} {kt} {vt}]"
                vs = " ".join(self.rnd.sample(vals, k=self.rnd.randint(1, 3)))
                return f"[:put-list \"{dbi}\" {k} [{vs}] {kt} {vt}]"
            flags = ""
            if self.chance(0.15):
                flags = " " + self.pick(["[:nooverwrite]", "#{:nooverwrite}", "[:append]"])
            return f"[:put \"{dbi}\" {k} {self.pick(vals)} {kt} {vt}{flags}]"

        out.append("[:kv-tx [" + " ".join(put(k) for k in present) + "]]")
        for _ in range(steps):
            r = self.rnd.random()
            if r < 0.12:
                forms = []
                for _ in range(self.rnd.randint(1, 3)):
                    k = self.pick(keys)
                    w = self.rnd.random()
                    if w < 0.45:
                        forms.append(put(k))
                    elif w < 0.7:
                        forms.append(f"[:del \"{dbi}\" {k} {kt}]")
                    elif is_list and w < 0.9:
                        vs = " ".join(self.rnd.sample(vals, k=self.rnd.randint(1, 2)))
                        forms.append(f"[:del-list \"{dbi}\" {k} [{vs}] {kt} {vt}]")
                    elif kt == ":long":
                        # A key of another type: refused, and nothing of the transaction
                        # is written. (Only for long keys: Datalevin coerces some values to
                        # other key types, a date to a boolean, where Levin refuses them.)
                        other = self.pick([":string", ":keyword"])
                        forms.append(f"[:put \"{dbi}\" {self.pick(KEY_DOMAINS[other])} "
                                     f"{self.pick(vals)} {kt} {vt}]")
                    else:
                        forms.append(f"[:del \"{dbi}\" {k} {kt}]")
                out.append("[:kv-tx [" + " ".join(forms) + "]]")
                continue
            out.append(self.read(dbi, kt, keys, vt, vals, is_list))
        return (f"{{:name \"kv {n}: {kt} keys, {vt} values{', list' if is_list else ''}\"\n"
                f"  :steps [" + "\n          ".join(out) + "]}")

    def read(self, dbi, kt, keys, vt, vals, is_list):
        rs = lambda: self.range_spec(keys)  # noqa: E731
        ign = lambda: " true" if self.chance(0.2) else ""  # noqa: E731
        k = self.pick(keys)
        if is_list and self.chance(0.6):
            op = self.pick(["get-list", "list-count", "in-list?", "list-range",
                            "list-range-count", "list-range-first", "list-range-first-n"])
            if op == "get-list":
                return f"[:read \"get-list\" \"{dbi}\" {k} {kt} {vt}]"
            if op == "list-count":
                return f"[:read \"list-count\" \"{dbi}\" {k} {kt}]"
            if op == "in-list?":
                return f"[:read \"in-list?\" \"{dbi}\" {k} {self.pick(vals)} {kt} {vt}]"
            if op == "list-range-count":
                return f"[:read \"list-range-count\" \"{dbi}\" {rs()} {kt}]"
            vr = self.range_spec(vals if vt != ":long" else sorted(vals, key=int))
            if op == "list-range-first-n":
                return (f"[:read \"list-range-first-n\" \"{dbi}\" {self.rnd.randint(0, 4)} "
                        f"{rs()} {kt} {vr} {vt}]")
            return f"[:read \"{op}\" \"{dbi}\" {rs()} {kt} {vr} {vt}]"
        op = self.pick(["get-value", "get-first", "get-first-n", "get-range", "get-range",
                        "key-range", "range-count", "key-range-count", "get-rank",
                        "get-by-rank"])
        if op == "get-value":
            return f"[:read \"get-value\" \"{dbi}\" {k} {kt} {vt}{ign()}]"
        if op == "get-first":
            return f"[:read \"get-first\" \"{dbi}\" {rs()} {kt} {vt}{ign()}]"
        if op == "get-first-n":
            return (f"[:read \"get-first-n\" \"{dbi}\" {self.rnd.randint(0, 4)} {rs()} {kt} "
                    f"{vt}{ign()}]")
        if op == "get-range":
            return f"[:read \"get-range\" \"{dbi}\" {rs()} {kt} {vt}{ign()}]"
        if op in ("key-range", "range-count", "key-range-count"):
            return f"[:read \"{op}\" \"{dbi}\" {rs()} {kt}]"
        if op == "get-rank":
            return f"[:read \"get-rank\" \"{dbi}\" {k} {kt}]"
        return (f"[:read \"get-by-rank\" \"{dbi}\" {self.rnd.randint(0, 8)} {kt} "
                f"{vt}{ign()}]")


def main():
    stepfile.main(__doc__, "random-kv.py", "Random key-value steps", 12, 25, Gen)


if __name__ == "__main__":
    main()
