"""The large-key target of issue 13: a 1,000,000-element ORSet (about 30 MB encoded) reaches a
new node of a 3-process cluster (convergent node processes over tcp, whose transport drops frames
above 4 MiB) in under 10 s, each process's resident memory growing by less than 3x the state.

Node 0 writes the set (its elements are 20-byte strings); once every node has it, node 2 is killed
and started again, empty, and catches up through anti-entropy repairs in pieces. Printed: the
state's encoded size, the seconds until the restarted node holds it, and each process's resident
memory growth (from before the write to after the catch-up; for node 2, from its earlier
incarnation's, empty) as a multiple of the state's size: once settled (no partial frame held
anywhere), right at the catch-up, at the process's peak (VmHWM) during the catch-up, and at its
peak while the set was written and spread (the peak is reset in between, through
/proc/PID/clear_refs).

Usage: python benchmarks/large_key.py [elements] (default 1000000).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import convergent as cv

KEY = cv.ORSetKey("big")


def status_bytes(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def rss_bytes(pid: int) -> int:
    return status_bytes(pid, "VmRSS")


def reset_peak(pid: int) -> None:
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")  # VmHWM starts again from the resident size now


def holds_key(cluster: Any, i: int) -> bool:
    metrics = cluster.node(i).metrics()
    return bool(metrics.get("crdt.replicator.store.size", 0) >= 1)


def held_bytes(cluster: Any, i: int) -> float:
    return float(cluster.node(i).metrics().get("crdt.replicator.fragments.held_bytes", 0))


def wait(done: Any, timeout: float) -> float:
    start = time.monotonic()
    while not done():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"not done after {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - start


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    config = cv.Config(anti_entropy_interval=1.0, delta_flush_interval=0.05)
    with cv.LocalCluster(3, transport="tcp", processes=True, config=config) as cluster:
        pids = [cluster._procs[i].pid for i in range(3)]  # noqa: SLF001 (a benchmark)
        before = [rss_bytes(p) for p in pids]

        def fill(v: Any) -> None:
            for i in range(n):
                v.add(f"element-{i:012d}")

        cluster.nodes[0].update(KEY, fill)
        spread = wait(lambda: all(holds_key(cluster, i) for i in range(3)), 120.0)
        size = len(cluster.nodes[0].get(KEY).to_bytes())
        wait(lambda: all(held_bytes(cluster, i) == 0 for i in range(3)), 60.0)
        peak_write = [status_bytes(p, "VmHWM") for p in pids]
        for p in pids[:2]:
            reset_peak(p)
        cluster.kill(2)
        start = time.monotonic()
        cluster.start(2)
        pids[2] = cluster._procs[2].pid  # noqa: SLF001
        wait(lambda: holds_key(cluster, 2), 120.0)
        catch_up = time.monotonic() - start
        at_catch_up = [rss_bytes(p) for p in pids]
        # Settled: no partial frame held anywhere (a second repair of the key, from the other
        # peer, may be on its way when the first completes), then one more anti-entropy round.
        wait(lambda: all(held_bytes(cluster, i) == 0 for i in range(3)), 60.0)
        time.sleep(config.anti_entropy_interval)
        after = [rss_bytes(p) for p in pids]
        peak = [status_bytes(p, "VmHWM") for p in pids]
        # Node 2's baseline is its earlier incarnation's, taken before the write: the same
        # process, empty.
        growth = [(a - b) / size for a, b in zip(after, before, strict=True)]
        growth_at_catch_up = [(a - b) / size for a, b in zip(at_catch_up, before, strict=True)]
        peak_growth = [(a - b) / size for a, b in zip(peak, before, strict=True)]
        write_growth = [(a - b) / size for a, b in zip(peak_write, before, strict=True)]
        print(f"elements {n}")
        print(f"state_bytes {size} B")
        print(f"spread_to_all {spread:.1f} s")
        print(f"new_node_catch_up {catch_up:.1f} s (target < 10)")
        for i in range(3):
            print(
                f"rss_growth_node{i} {growth[i]:.2f} x state settled (target < 3);"
                f" {growth_at_catch_up[i]:.2f} x at the catch-up;"
                f" {peak_growth[i]:.2f} x at its peak in the catch-up;"
                f" {write_growth[i]:.2f} x at its peak in the write"
            )


if __name__ == "__main__":
    main()
