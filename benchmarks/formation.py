"""Formation of real clusters: is a cluster safe from its first second?

Each run starts ``cv.LocalCluster(3, transport="tcp", processes=True)`` (three ``convergent node``
processes) and, the moment ``__enter__`` returns:

1. issues one MAJORITY write and counts the processes that hold it when it returns (target: at
   least 2 of 3, in every run);
2. writes ``--keys`` keys (LOCAL, one update each, from this process) and measures how long after
   the last write every process holds all of them (target: within 1 s, in every run).

Prints one line per run and a summary with the worst run; exits 1 when a run misses a target.

    .venv/bin/python benchmarks/formation.py --runs 100 --keys 5000
"""

from __future__ import annotations

import argparse
import sys
import time

import convergent as cv


def one_run(keys: int) -> tuple[int, float]:
    """(processes holding the MAJORITY write, seconds from the last key to every process)."""
    marker = cv.GCounterKey("formation-majority")
    config = cv.Config(delta_flush_interval=0.01)
    with cv.LocalCluster(3, transport="tcp", processes=True, config=config) as cluster:
        nodes = cluster.nodes
        nodes[0].update(marker, lambda v: v.increment(), write=cv.MAJORITY)
        holders = sum(1 for n in nodes if (v := n.get(marker)) is not None and v.value == 1)
        for i in range(keys):
            nodes[i % 3].update(cv.GCounterKey(f"k{i}"), lambda v: v.increment())
        last = time.monotonic()
        want = keys + 1
        while True:
            sizes = [cluster.node(i).metrics()["crdt.replicator.store.size"] for i in range(3)]
            if all(s >= want for s in sizes):
                return holders, time.monotonic() - last
            if time.monotonic() - last > 30:
                return holders, float("inf")
            time.sleep(0.005)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--keys", type=int, default=5000)
    args = parser.parse_args()
    worst_holders, worst_spread, misses = 3, 0.0, 0
    for run in range(args.runs):
        holders, spread = one_run(args.keys)
        ok = holders >= 2 and spread <= 1.0
        misses += 0 if ok else 1
        worst_holders = min(worst_holders, holders)
        worst_spread = max(worst_spread, spread)
        print(
            f"run {run}: MAJORITY write on {holders}/3 processes; {args.keys} keys on every "
            f"process {spread:.3f} s after the last write{'' if ok else '  MISSED'}",
            flush=True,
        )
    print(
        f"formation: {args.runs} runs, {misses} missed; worst MAJORITY holders {worst_holders}/3 "
        f"(target >= 2); worst spread of {args.keys} keys {worst_spread:.3f} s (target <= 1 s)"
    )
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
