"""The Python half of the Python overhead benchmark (benchmarks/python_overhead).

N local updates, round robin over K PNCounter keys, as benchmarks/local_updates.cc does in C++,
six ways; prints the median rate of RUNS runs of each, one line each:

  local_updates py <updates/s>                   one cv.Node (inproc), one update() per update
  local_updates py_many <updates/s>              the same node, update_many() of all N pairs
  local_updates py_pipeline <updates/s>          the same node, one pipeline update() per update
  local_updates py_process <updates/s>           a node process (LocalCluster(processes=True)),
                                                 one update() per update
  local_updates py_process_many <updates/s>      the node process, update_many()
  local_updates py_process_pipeline <updates/s>  the node process, one pipeline update() per update

Environment: N (default 200000), K (default 10000), RUNS (default 5).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import convergent as cv


def increment(c: cv.PNCounter) -> None:
    c.increment()


def one_by_one(r: Any, keys: list[Any], n: int) -> None:
    k = len(keys)
    for i in range(n):
        r.update(keys[i % k], increment)


def many(r: Any, keys: list[Any], n: int) -> None:
    k = len(keys)
    r.update_many((keys[i % k], increment) for i in range(n))


def pipelined(r: Any, keys: list[Any], n: int) -> None:
    k = len(keys)
    with r.pipeline() as p:
        for i in range(n):
            p.update(keys[i % k], increment)


def timed(r: Any, keys: list[Any], n: int, write: Callable[[Any, list[Any], int], None]) -> float:
    """The rate of n updates through `write`, checked: the counters add up to n."""
    base = sum(v.value for v in (r.get(key) for key in keys) if v is not None)
    t0 = time.perf_counter()
    write(r, keys, n)
    t1 = time.perf_counter()
    total = sum(v.value for v in (r.get(key) for key in keys) if v is not None)
    if total - base != n:
        raise SystemExit(f"VALIDATION FAILED: {total - base} updates counted, want {n}")
    return n / (t1 - t0)


def main() -> int:
    n = int(os.environ.get("N", "200000"))
    k = int(os.environ.get("K", "10000"))
    runs = int(os.environ.get("RUNS", "5"))
    keys = [cv.PNCounterKey(f"k{i}") for i in range(k)]
    ways = ("py", "py_many", "py_pipeline", "py_process", "py_process_many", "py_process_pipeline")
    rates: dict[str, list[float]] = {way: [] for way in ways}
    for run in range(runs):
        with cv.Node(f"inproc://local-updates-py-{run}") as node:
            rates["py"].append(timed(node.replicator, keys, n, one_by_one))
            rates["py_many"].append(timed(node.replicator, keys, n, many))
            rates["py_pipeline"].append(timed(node.replicator, keys, n, pipelined))
    with cv.LocalCluster(1, transport="ipc", processes=True) as cluster:
        for _ in range(runs):
            rates["py_process"].append(timed(cluster.nodes[0], keys, n, one_by_one))
            rates["py_process_many"].append(timed(cluster.nodes[0], keys, n, many))
            rates["py_process_pipeline"].append(timed(cluster.nodes[0], keys, n, pipelined))
    for name, rs in rates.items():
        print(f"local_updates {name} {statistics.median(rs):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
