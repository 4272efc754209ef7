"""Multiple datacenters in the simulator: the targets of docs/concepts.md, "Multiple datacenters".

Five measurements, each printed as lines and a verdict (exit status 1 when a target is missed):

- ``wan-bytes``: 2 datacenters of 3 nodes, writes in one; the bytes crossing the WAN against the
  bytes the same workload sends between the two halves of a flat 6-node cluster, same seed
  (target: at most 1/3).
- ``lag``: 10,000 updates/s in one datacenter, dc_replication_interval 0.2 s, 40 ms WAN latency:
  the time from each update to its visibility on every node of the other datacenter (target: p99
  under 0.5 s).
- ``partition``: a WAN partition of 10 minutes while both sides change 100,000 keys each; the
  time from the heal to convergence (target: within 2 dc_anti_entropy_intervals) and the largest
  cross-datacenter buffer of any node meanwhile (bounded by max_dc_buffer_bytes).
- ``gateway-crash``: seeds of a gateway crash at a random point of a write stream; per seed, the
  updates a live node of the datacenter held at the crash that the other datacenter lacks 10 s
  later (target: 0), and whether the datacenters converge.
- ``scale``: 4 datacenters of 2, 5 and 8 nodes: WAN bytes per update (target: not growing with
  the nodes per datacenter) and convergence.

    .venv/bin/python benchmarks/datacenters.py            # all, with the issue's sizes
    .venv/bin/python benchmarks/datacenters.py lag --seconds 5
"""

from __future__ import annotations

import argparse
import bisect
import random
import sys
import time
from collections.abc import Callable

import convergent as cv

CONFIG = cv.Config(dc_replication_interval=0.2, dc_send_timeout=2.0)


def wan_bytes(sim: cv.Simulation, a: list[int], b: list[int]) -> int:
    return sim.network_stats(between=(a, b))["bytes_delivered"]


def write_stream(
    sim: cv.Simulation, writers: list[cv.Replicator], updates: int, per_step: int, step: float
) -> None:
    """`updates` unique ORSet adds over 100 keys and GCounter increments over 100 keys, spread
    over the writers, `per_step` every `step` virtual seconds."""
    for i in range(updates):
        w = writers[i % len(writers)]
        if i % 2:
            w.update(cv.ORSetKey(f"s{i % 100}"), lambda s, i=i: s.add(f"e{i}"))
        else:
            w.update(cv.GCounterKey(f"c{i % 100}"), lambda c: c.increment())
        if i % per_step == per_step - 1:
            sim.run_for(step)


def bench_wan_bytes(args: argparse.Namespace) -> bool:
    updates = args.updates
    dc = cv.Simulation(datacenters={"eu": 3, "us": 3}, seed=args.seed, config=CONFIG)
    dc.run_until_formed()
    flat = cv.Simulation(6, seed=args.seed, config=CONFIG)
    flat.run_until_formed()
    halves = ([0, 1, 2], [3, 4, 5])
    start = (wan_bytes(dc, *halves), wan_bytes(flat, *halves))
    for sim in (dc, flat):
        write_stream(sim, sim.nodes[:3], updates, per_step=100, step=0.02)
        sim.run_for(5.0)
        sim.run_until_converged(120.0)
    dc_bytes = wan_bytes(dc, *halves) - start[0]
    flat_bytes = wan_bytes(flat, *halves) - start[1]
    ratio = dc_bytes / flat_bytes
    print(f"wan-bytes\t{updates} updates written in eu (3 writers, 5,000/s)")
    print(f"wan-bytes\tdatacenters eu|us: {dc_bytes:,} B ({dc_bytes / updates:.1f} B/update)")
    print(
        f"wan-bytes\tflat 6 nodes, halves: {flat_bytes:,} B ({flat_bytes / updates:.1f} B/update)"
    )
    print(f"wan-bytes\tratio {ratio:.3f} (target <= 0.333)")
    return ratio <= 1 / 3


def visible(
    sim: cv.Simulation,
    readers: list[cv.Replicator],
    keys: list[cv.GCounterKey],
    pending: list[list[tuple[int, float]]],
) -> list[float]:
    """The lags of the pending increments every reader sees now (taken out of `pending`)."""
    lags = []
    for k, waiting in enumerate(pending):
        if not waiting:
            continue
        seen = min((v.value if (v := n.get(keys[k])) else 0) for n in readers)
        j = bisect.bisect_right(waiting, (seen, float("inf")))
        lags += [sim.now - t for _, t in waiting[:j]]
        del waiting[:j]
    return lags


def bench_lag(args: argparse.Namespace) -> bool:
    sim = cv.Simulation(datacenters={"eu": 3, "us": 3}, seed=args.seed, config=CONFIG)
    sim.run_until_formed()
    sim.set_latency(0.04, between=("eu", "us"))
    sim.run_for(2.0)
    eu, us = sim.datacenter("eu"), sim.datacenter("us")
    keys = [cv.GCounterKey(f"k{i}") for i in range(200)]
    written = [0] * len(keys)  # increments written per key
    pending: list[list[tuple[int, float]]] = [[] for _ in keys]  # (count, time written)
    lags: list[float] = []
    step, per_step = 0.005, int(args.rate * 0.005)
    steps = int(args.seconds / step)
    i = 0
    for _ in range(steps):
        for _ in range(per_step):
            k = i % len(keys)
            eu[i % 3].update(keys[k], lambda c: c.increment())
            written[k] += 1
            pending[k].append((written[k], sim.now))
            i += 1
        sim.run_for(step)
        lags += visible(sim, us, keys, pending)
    for _ in range(100):  # the last updates: a second more, in steps
        sim.run_for(0.01)
        lags += visible(sim, us, keys, pending)
    missing = sum(len(w) for w in pending)
    lags.sort()
    p50, p99 = lags[len(lags) // 2], lags[int(len(lags) * 0.99)]
    print(f"lag\t{i} updates at {args.rate:,}/s in eu for {args.seconds} s, WAN 40 ms")
    print(f"lag\tvisible on every us node: p50 {p50:.3f} s, p99 {p99:.3f} s, max {lags[-1]:.3f} s")
    print(f"lag\tnot visible by the end: {missing} (target 0); p99 target < 0.5 s")
    return p99 < 0.5 and missing == 0


def bench_partition(args: argparse.Namespace) -> bool:
    config = cv.Config(dc_replication_interval=0.2)  # dc_anti_entropy_interval 120 s (default)
    sim = cv.Simulation(datacenters={"eu": 3, "us": 3}, seed=args.seed, config=config)
    sim.run_until_formed()
    sim.run_for(2.0)
    sim.partition(sim.datacenter("eu"), sim.datacenter("us"))
    eu, us = sim.datacenter("eu"), sim.datacenter("us")
    minutes, keys = args.minutes, args.keys
    steps = int(minutes * 60)
    per_step = max(1, -(-keys // steps))  # (rounded up: every key is written)
    biggest = 0
    written = 0
    wall = time.monotonic()
    for s in range(steps):
        for j in range(per_step):
            n = written + j
            if n < keys:
                eu[n % 3].update(cv.GCounterKey(f"eu{n}"), lambda c: c.increment())
                us[n % 3].update(cv.GCounterKey(f"us{n}"), lambda c: c.increment())
        written = min(keys, written + per_step)
        sim.run_for(1.0)
        if s % 10 == 0:
            for n in sim.nodes:
                biggest = max(biggest, int(n.metrics()["crdt.replicator.crossdc.buffer.bytes"]))
    dropped = sum(n.metrics()["crdt.replicator.crossdc.buffer.dropped.count"] for n in sim.nodes)
    sim.heal()
    took = sim.run_until_converged(timeout=2 * 120.0 + 60.0)
    sizes = {int(n.metrics()["crdt.replicator.store.size"]) for n in sim.nodes}
    print(f"partition\t{minutes} min WAN partition, {written:,} keys changed on each side")
    print(
        f"partition\tlargest cross-datacenter buffer of a node: {biggest:,} B "
        f"(max_dc_buffer_bytes {cv.Config().max_dc_buffer_bytes:,}); queues dropped {dropped:.0f}"
    )
    print(
        f"partition\tconverged {took:.1f} s after the heal (target <= 240 s); "
        f"store sizes {sorted(sizes)} (want {2 * written})"
    )
    print(f"partition\t({time.monotonic() - wall:.0f} s of this machine's time)")
    return took <= 240.0 and sizes == {2 * written}


def bench_gateway_crash(args: argparse.Namespace) -> bool:
    config = cv.Config(
        dc_replication_interval=0.2, dc_send_timeout=1.0, dc_anti_entropy_interval=600.0
    )
    lost_total, not_converged = 0, 0
    for seed in range(args.seeds):
        rng = random.Random(seed)
        sim = cv.Simulation(datacenters={"eu": 3, "us": 2}, seed=seed, config=config, latency=0.005)
        sim.run_until_formed()
        sim.set_latency(0.04, between=("eu", "us"))
        eu, us = sim.datacenter("eu"), sim.datacenter("us")
        gateway = 0  # the leader: the smallest id
        crash_at = rng.randrange(100)
        held: dict[str, int] = {}
        for i in range(150):
            if i == crash_at:
                sim.crash(gateway)
                for k in range(40):  # what the live nodes of eu hold right now
                    key = cv.GCounterKey(f"k{k}")
                    held[key.name] = max((v.value if (v := n.get(key)) else 0) for n in eu[1:])
            n = rng.randrange(3) if i < crash_at else 1 + rng.randrange(2)
            eu[n].update(cv.GCounterKey(f"k{rng.randrange(40)}"), lambda c: c.increment())
            sim.run_for(0.02 + 0.001 * rng.randrange(40))
        if not held:
            continue
        sim.run_for(10.0)
        for key, count in held.items():
            for node in us:
                v = node.get(cv.GCounterKey(key))
                lost_total += max(0, count - (v.value if v else 0))
        try:
            sim.run_until_converged(timeout=10.0)
        except cv.NotConverged:
            not_converged += 1
    print(f"gateway-crash\t{args.seeds} seeds, eu 3 + us 2, the eu gateway crashed mid-stream")
    print(
        f"gateway-crash\tupdates held by a live eu node and missing in us 10 s later: "
        f"{lost_total} (target 0); seeds not converged 10 s later: {not_converged}"
    )
    return lost_total == 0 and not_converged == 0


def bench_scale(args: argparse.Namespace) -> bool:
    names = ["eu", "us", "ap", "sa"]
    per_update: list[float] = []
    ok = True
    for n in (2, 5, 8):
        sim = cv.Simulation(datacenters={d: n for d in names}, seed=args.seed, config=CONFIG)
        sim.run_until_formed(timeout=60.0)
        sim.run_for(2.0)

        def wan(sim: cv.Simulation = sim) -> int:
            return sum(
                sim.network_stats(between=(a, b))["bytes_delivered"]
                for i, a in enumerate(names)
                for b in names[i + 1 :]
            )

        before, t0 = wan(), sim.now
        writers = [sim.datacenter(d)[0] for d in names]
        write_stream(sim, writers, args.updates, per_step=100, step=0.02)
        try:
            took = sim.run_until_converged(timeout=120.0)
        except cv.NotConverged:
            ok, took = False, float("nan")
        sim.run_for(1.0)
        writing, t1 = wan() - before, sim.now
        sim.run_for(t1 - t0)  # as long again without writes: membership and hellos alone
        idle = wan() - before - writing
        b = (writing - idle) / args.updates
        per_update.append(b)
        print(
            f"scale\t4 datacenters x {n} nodes: {b:.1f} WAN B/update ({writing:,} B while "
            f"writing, {idle:,} B as long idle), converged {took:.3f} s after the writes"
        )
    grows = per_update[-1] > 1.2 * per_update[0]
    print(
        f"scale\tWAN bytes per update from 2 to 8 nodes per datacenter: x"
        f"{per_update[-1] / per_update[0]:.2f} (target: not growing)"
    )
    return ok and not grows


BENCHES: dict[str, Callable[[argparse.Namespace], bool]] = {
    "wan-bytes": bench_wan_bytes,
    "lag": bench_lag,
    "partition": bench_partition,
    "gateway-crash": bench_gateway_crash,
    "scale": bench_scale,
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("which", nargs="*", choices=[*BENCHES, []], help="default: all")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--updates", type=int, default=20000, help="wan-bytes and scale")
    p.add_argument("--rate", type=int, default=10000, help="lag: updates per second")
    p.add_argument("--seconds", type=float, default=10.0, help="lag: seconds of writes")
    p.add_argument("--minutes", type=float, default=10.0, help="partition: its length")
    p.add_argument("--keys", type=int, default=100000, help="partition: keys per side")
    p.add_argument("--seeds", type=int, default=1000, help="gateway-crash")
    args = p.parse_args()
    failed = []
    for name in args.which or list(BENCHES):
        start = time.monotonic()
        if not BENCHES[name](args):
            failed.append(name)
        print(f"{name}\t({time.monotonic() - start:.0f} s)", flush=True)
    if failed:
        print(f"missed: {', '.join(failed)}")
        return 1
    print("every target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
