"""The command line the random step-file generators share (scripts/random-kv.py,
scripts/random-index.py): `--seed N [--groups G] [--steps M] [--out FILE]`, then the groups
written as one EDN vector, to FILE or standard output."""

import argparse
import random
import sys


def main(doc, script, what, groups, steps, make_gen):
    """Parses the arguments and writes the file. `make_gen(rnd)`, given the seeded
    `random.Random`, returns the generator whose `group(i, steps)` is group `i`'s EDN text."""
    p = argparse.ArgumentParser(description=doc.split("\n")[0])
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--groups", type=int, default=groups)
    p.add_argument("--steps", type=int, default=steps)
    p.add_argument("--out")
    a = p.parse_args()
    gen = make_gen(random.Random(a.seed))
    text = (f";; scripts/{script} --seed {a.seed} --groups {a.groups} --steps {a.steps}\n"
            f";; {what}, each compared with Datalevin's answer.\n[\n"
            + "\n".join(gen.group(i, a.steps) for i in range(a.groups)) + "\n]\n")
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
