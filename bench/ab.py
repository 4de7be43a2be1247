#!/usr/bin/env python3
"""Compare two lavoir binaries on one corpus, in alternating pairs.

    python3 bench/ab.py OLD_BINARY NEW_BINARY [CORPUS] [PAIRS]

Each pair runs both binaries (`run -q --jsonl CORPUS --out /dev/null -j 1`),
in alternating order from one pair to the next, and measures each run's CPU
seconds (user + system, from getrusage). On a shared VM whose speed drifts
by the minute, the ratio within a pair says more than the times across
pairs: the median of the ratios is printed, with how many pairs the new
binary won. Defaults: target/bench/corpus-20.jsonl (`source bench/corpus.sh;
corpus 20` makes it), 24 pairs.
"""

import resource
import statistics
import subprocess
import sys


def cpu_seconds(binary, corpus):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [binary, "run", "-q", "--jsonl", corpus, "--out", "/dev/null", "-j", "1"],
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    old, new = sys.argv[1], sys.argv[2]
    corpus = sys.argv[3] if len(sys.argv) > 3 else "target/bench/corpus-20.jsonl"
    pairs = int(sys.argv[4]) if len(sys.argv) > 4 else 24
    times = {old: [], new: []}
    ratios = []
    for i in range(pairs):
        taken = {}
        for binary in (old, new) if i % 2 == 0 else (new, old):
            taken[binary] = cpu_seconds(binary, corpus)
        times[old].append(taken[old])
        times[new].append(taken[new])
        ratios.append(taken[new] / taken[old] - 1)
    for label, binary in (("old", old), ("new", new)):
        print(f"{label} {binary}: median {statistics.median(times[binary]):.3f} s CPU")
    wins = sum(r < 0 for r in ratios)
    print(f"new/old - 1: median {100 * statistics.median(ratios):+.1f}%, new quicker in {wins} of {pairs} pairs")


if __name__ == "__main__":
    main()
