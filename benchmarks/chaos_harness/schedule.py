"""Fault schedules from a seed: what goes wrong, when, and to whom.

Two tracks run side by side, each one fault at a time with short quiet gaps: the network's
(partitions of every shape, a link taken down, stalls, latency, loss, connection resets) and the
processes' (kill -9 and a restart that keeps, removes or corrupts the snapshot; SIGSTOP for longer
than the failure timeout, then SIGCONT; the snapshot's disk filled up, then freed; the wall clock
stepped, then stepped back). Only ``(n - 1) // 2`` nodes, chosen by the seed, are ever killed, so a
majority always keeps what it acknowledged; the checker does not rely on it (it counts kills), but
the run then proves more.

Pure: the same seed gives the same schedule.
"""

from __future__ import annotations

import random

from .history import Fault

NETWORK_KINDS = (
    "partition",
    "isolate",
    "bridge",
    "asymmetric",
    "flap",
    "link-down",
    "stall",
    "latency",
    "loss",
    "reset",
)
PROCESS_KINDS = ("kill", "pause", "disk-full", "clock-step")


def _split(rng: random.Random, nodes: list[int]) -> tuple[list[int], list[int]]:
    shuffled = nodes[:]
    rng.shuffle(shuffled)
    k = rng.randint(1, len(nodes) - 1)
    return sorted(shuffled[:k]), sorted(shuffled[k:])


def _between(a: list[int], b: list[int], both: bool = True) -> list[tuple[int, int]]:
    pairs = [(x, y) for x in a for y in b]
    return pairs + [(y, x) for x, y in pairs] if both else pairs


def _network_fault(rng: random.Random, n: int, t: float, until: float) -> list[Fault]:
    nodes = list(range(n))
    kind = rng.choice(NETWORK_KINDS if n >= 3 else [k for k in NETWORK_KINDS if k != "bridge"])
    length = rng.uniform(1.0, 8.0)
    end = min(until, t + length)
    if kind == "partition":
        a, b = _split(rng, nodes)
        return [Fault(kind, t, end, tuple(nodes), f"{a} | {b}", {"pairs": _between(a, b)})]
    if kind == "isolate":
        i = rng.randrange(n)
        rest = [j for j in nodes if j != i]
        return [Fault(kind, t, end, (i,), f"n{i} alone", {"pairs": _between([i], rest)})]
    if kind == "bridge":
        b = rng.randrange(n)
        x, y = _split(rng, [j for j in nodes if j != b])
        detail = f"{x} - n{b} - {y}"
        return [Fault(kind, t, end, tuple(nodes), detail, {"pairs": _between(x, y)})]
    if kind == "asymmetric":
        x, y = _split(rng, nodes)
        pairs = _between(x, y, both=False)
        return [Fault(kind, t, end, tuple(nodes), f"{x} -> {y} lost", {"pairs": pairs})]
    if kind == "flap":
        a, b = _split(rng, nodes)
        out, s = [], t
        while s < end:
            on = rng.uniform(0.1, 0.5)
            out.append(
                Fault(
                    kind, s, min(end, s + on), tuple(nodes), f"{a} | {b}", {"pairs": _between(a, b)}
                )
            )
            s += on + rng.uniform(0.1, 0.5)
        return out
    i = rng.randrange(n)
    if kind == "link-down":
        return [Fault(kind, t, end, (i,), f"n{i} eth0 down")]
    if kind == "stall":
        end = min(until, t + rng.uniform(2.0, 10.0))
        return [Fault(kind, t, end, (i,), f"n{i}'s links held", {"stall": True})]
    if kind == "latency":
        delay = rng.uniform(0.05, 0.25)
        detail = f"n{i} +{delay * 1000:.0f} ms"
        return [Fault(kind, t, end, (i,), detail, {"delay": delay, "jitter": delay / 5})]
    if kind == "loss":
        loss = rng.uniform(0.1, 0.4)
        return [Fault(kind, t, end, (i,), f"n{i} {loss:.0%} lost", {"loss": loss})]
    # reset: every connection of the node aborted, a few times over the window
    out, s = [], t
    while s < end:
        out.append(Fault("reset", s, s, (i,), f"n{i} connections aborted"))
        s += rng.uniform(0.3, 1.5)
    return out


def _process_fault(
    rng: random.Random, n: int, crashable: list[int], t: float, until: float
) -> list[Fault]:
    kind = rng.choice(PROCESS_KINDS) if crashable else "pause"
    if kind == "kill":
        i = rng.choice(crashable)
        mode = rng.choice(["keep", "keep", "wipe", "corrupt"])
        end = min(until, t + rng.uniform(0.2, 5.0))
        return [Fault(kind, t, end, (i,), f"n{i} -9, restart {mode}", {"snapshot": mode})]
    if kind == "clock-step":
        i = rng.randrange(n)
        step = rng.choice([-1, 1]) * rng.uniform(10.0, 3600.0)
        end = min(until, t + rng.uniform(2.0, 10.0))
        detail = f"n{i}'s wall clock {step:+.0f} s, then back"
        return [Fault(kind, t, end, (i,), detail, {"seconds": step})]
    if kind == "disk-full":
        i = rng.randrange(n)
        end = min(until, t + rng.uniform(2.0, 8.0))
        return [Fault(kind, t, end, (i,), f"n{i}'s snapshot disk full")]
    i = rng.randrange(n)
    end = min(until, t + rng.uniform(1.5, 4.0))  # the failure timeout is 1 s
    return [Fault("pause", t, end, (i,), f"n{i} SIGSTOP")]


def generate(seed: int, n: int, duration: float) -> tuple[list[Fault], list[int]]:
    """The faults of one run (sorted by start) and the nodes that may be killed."""
    rng = random.Random(seed)
    crashable = sorted(rng.sample(range(n), (n - 1) // 2))
    faults: list[Fault] = []
    t = rng.uniform(0.5, 2.0)
    while t < duration - 1.0:
        batch = _network_fault(rng, n, t, duration)
        faults += batch
        t = max(f.end for f in batch) + rng.uniform(0.3, 3.0)
    t = rng.uniform(0.5, 3.0)
    while t < duration - 1.0:
        batch = _process_fault(rng, n, crashable, t, duration)
        faults += batch
        t = max(f.end for f in batch) + rng.uniform(0.5, 4.0)
    faults.sort(key=lambda f: (f.start, f.kind))
    return faults, crashable
