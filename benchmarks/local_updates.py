"""The Python half of the Python overhead benchmark (benchmarks/python_overhead).

One cv.Node (inproc, no peers) applies N local updates, one ``update`` call per update, round robin
over K PNCounter keys, as benchmarks/local_updates.cc does in C++. Prints the median rate of RUNS
runs: ``local_updates py <updates/s>``. Environment: N (default 200000), K (default 10000),
RUNS (default 5).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import convergent as cv


def increment(c: cv.PNCounter) -> None:
    c.increment()


def main() -> int:
    n = int(os.environ.get("N", "200000"))
    k = int(os.environ.get("K", "10000"))
    runs = int(os.environ.get("RUNS", "5"))
    keys = [cv.PNCounterKey(f"k{i}") for i in range(k)]
    rates = []
    for run in range(runs):
        with cv.Node(f"inproc://local-updates-py-{run}") as node:
            r = node.replicator
            t0 = time.perf_counter()
            for i in range(n):
                r.update(keys[i % k], increment)
            t1 = time.perf_counter()
            total = 0
            for key in keys:
                v = r.get(key)
                total += v.value if v is not None else 0
            if total != n:
                print(f"VALIDATION FAILED: total {total}, want {n}", file=sys.stderr)
                return 1
            rates.append(n / (t1 - t0))
    print(f"local_updates py {statistics.median(rates):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
