"""The checker: what the history promises, against what the replicas hold after the final heal.

A write is *certain* when the cluster must still hold it whatever the faults did:

- acknowledged at MAJORITY or ALL: applied on at least ``needed`` replicas (a majority of the N, or
  all N); it is certain unless ``needed`` distinct nodes were killed -9 since the call started (each
  kill may lose what that replica held, snapshots or not);
- acknowledged at LOCAL, or timed out (a timed-out write is applied on its node): certain unless
  the node it went to was killed since the call started.

Every other attempt that may have been applied (``unknown``, or certain-but-at-risk) is *possible*.
Rejected calls and no-op removes count for nothing. Then, per key type:

- counters: the final value lies between the certain increments (minus every possible decrement)
  and every possible increment (minus the certain decrements);
- ORSet: every certain add whose element no remove attempted is present; no element a certain
  remove removed is present; nothing that nobody tried to add is present;
- Flag: a certain enable leaves it enabled, and nothing enables it unasked;
- LWWRegister: the value is one somebody wrote, and not None after a certain write;
- deletes: a certain delete leaves the key deleted on every replica;
- reads at MAJORITY/ALL see every MAJORITY/ALL write acknowledged before they started (the
  read's and the write's replicas overlap), unless kills since may have emptied the overlap; and
  nothing not yet attempted;
- every replica holds the same value for every key.

Pure functions over plain data: the unit tests feed it histories with known anomalies.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from .history import History, Op

DELETED = "<deleted>"  # a replica's final value of a deleted key


@dataclass
class Anomaly:
    kind: str  # lost-write, phantom, resurrected, undeleted, divergence, stale-read
    key: str
    detail: str


def needed(level: str, n: int) -> int:
    return {"LOCAL": 1, "MAJORITY": n // 2 + 1, "ALL": n}[level]


class _Kills:
    def __init__(self, kills: list[tuple[float, int]]) -> None:
        self._kills = sorted(kills)

    def since(self, t: float, until: float = float("inf")) -> set[int]:
        return {node for when, node in self._kills if t <= when <= until}


def certain(op: Op, n: int, kills: _Kills) -> bool:
    """Whether the write must survive (see the module's comment)."""
    if op.outcome == "ok" and op.level != "LOCAL":
        return len(kills.since(op.start)) < needed(op.level, n)
    if op.outcome in ("ok", "timeout"):
        return op.node not in kills.since(op.start)
    return False


def attempted(op: Op) -> bool:
    """Whether the write may have been applied."""
    return op.outcome in ("ok", "timeout", "unknown")


def check(
    history: History, finals: list[dict[str, Any]], types: dict[str, str] | None = None
) -> list[Anomaly]:
    """``finals[i]`` maps every key name (as in the history) to node i's value after the heal:
    an int (counters), a frozenset (ORSet), a bool (Flag), the value (LWWRegister), None (never
    written there) or DELETED. ``types`` names the type of keys no call touched."""
    n = history.nodes
    kills = _Kills(history.kills)
    anomalies: list[Anomaly] = []
    writes: dict[str, list[Op]] = defaultdict(list)
    reads: dict[str, list[Op]] = defaultdict(list)
    types = dict(types or {})
    for op in history.ops:
        (reads if op.kind == "read" else writes)[op.key].append(op)
        types[op.key] = op.key_type
    keys = sorted(set(types) | {k for f in finals for k in f})

    for key in keys:
        values = [f.get(key) for f in finals]
        if any(v != values[0] for v in values):
            shown = ", ".join(f"n{i}={_short(v)}" for i, v in enumerate(values))
            anomalies.append(Anomaly("divergence", key, shown))
            continue
        final = values[0]
        ops = writes.get(key, [])
        deletes = [op for op in ops if op.kind == "delete"]
        if any(certain(op, n, kills) for op in deletes):
            if final != DELETED:
                anomalies.append(Anomaly("undeleted", key, f"holds {_short(final)}"))
            continue
        if final == DELETED:
            if not any(attempted(op) for op in deletes):
                anomalies.append(Anomaly("phantom", key, "deleted, though nobody deleted it"))
            continue
        if deletes:
            continue  # a delete that may have happened: nothing more is certain of its value
        check_value = _CHECKS.get(types.get(key, ""))
        if check_value is not None:
            anomalies += check_value(key, ops, final, n, kills)
    for key, key_reads in reads.items():
        if not any(op.kind == "delete" for op in writes.get(key, [])):
            anomalies += _check_reads(key, key_reads, writes.get(key, []), n, kills)
    return anomalies


def _short(v: Any) -> str:
    s = repr(sorted(v) if isinstance(v, frozenset) else v)
    return s if len(s) < 60 else s[:57] + "..."


def _counter_bounds(ops: list[Op], n: int, kills: _Kills) -> tuple[int, int]:
    low = high = 0
    for op in ops:
        sign = 1 if op.kind == "increment" else -1
        amount = int(op.arg)
        if certain(op, n, kills):
            low, high = low + sign * amount, high + sign * amount
        elif attempted(op):
            if sign > 0:
                high += amount
            else:
                low -= amount
    return low, high


def _check_counter(key: str, ops: list[Op], final: Any, n: int, kills: _Kills) -> list[Anomaly]:
    low, high = _counter_bounds(ops, n, kills)
    value = 0 if final is None else int(final)
    if value < low:
        return [Anomaly("lost-write", key, f"value {value}, certain writes make at least {low}")]
    if value > high:
        return [Anomaly("phantom", key, f"value {value}, every attempt makes at most {high}")]
    return []


def _check_set(key: str, ops: list[Op], final: Any, n: int, kills: _Kills) -> list[Anomaly]:
    elements = frozenset() if final is None else final
    adds = {op.arg: op for op in ops if op.kind == "add"}
    removes: dict[Any, list[Op]] = defaultdict(list)
    for op in ops:
        if op.kind == "remove":
            removes[op.arg].append(op)
    out = []
    for e in sorted(elements - {e for e, op in adds.items() if attempted(op)}, key=repr):
        out.append(Anomaly("phantom", key, f"holds {e!r}, which nobody added"))
    for e, op in sorted(adds.items(), key=lambda item: repr(item[0])):
        if (
            certain(op, n, kills)
            and e not in elements
            and not any(attempted(r) for r in removes[e])
        ):
            out.append(Anomaly("lost-write", key, f"misses {e!r}, added at {op.start:.2f} s"))
        if e in elements and any(certain(r, n, kills) for r in removes[e]):
            out.append(Anomaly("resurrected", key, f"holds {e!r}, removed for certain"))
    return out


def _check_flag(key: str, ops: list[Op], final: Any, n: int, kills: _Kills) -> list[Anomaly]:
    if final is not True and any(certain(op, n, kills) for op in ops):
        return [Anomaly("lost-write", key, "not enabled after a certain enable")]
    if final is True and not any(attempted(op) for op in ops):
        return [Anomaly("phantom", key, "enabled, though nobody enabled it")]
    return []


def _check_register(key: str, ops: list[Op], final: Any, n: int, kills: _Kills) -> list[Anomaly]:
    written = {op.arg for op in ops if attempted(op)}
    if final is None:
        if any(certain(op, n, kills) for op in ops):
            return [Anomaly("lost-write", key, "empty after a certain write")]
        return []
    if final not in written:
        return [Anomaly("phantom", key, f"holds {final!r}, which nobody wrote")]
    return []


_CHECKS = {
    "GCounter": _check_counter,
    "PNCounter": _check_counter,
    "ORSet": _check_set,
    "Flag": _check_flag,
    "LWWRegister": _check_register,
}


def _check_reads(
    key: str, reads: list[Op], writes: list[Op], n: int, kills: _Kills
) -> list[Anomaly]:
    """A MAJORITY/ALL read sees every MAJORITY/ALL write acknowledged before it started, unless
    kills since the write may have emptied every replica the two share; and nothing never
    attempted."""
    out = []
    for read in reads:
        if read.outcome != "ok" or read.level == "LOCAL":
            continue
        before = []
        for w in writes:
            if w.outcome != "ok" or w.level == "LOCAL" or w.end > read.start:
                continue
            # The write's and the read's replicas share this many nodes, any of which a kill
            # may have emptied.
            overlap = needed(w.level, n) + needed(read.level, n) - n
            if len(kills.since(w.start, read.end)) < overlap:
                before.append(w)
        started = [w for w in writes if w.start <= read.end and attempted(w)]
        if read.key_type in ("GCounter", "PNCounter"):
            low = sum(int(w.arg) for w in before if w.kind == "increment")
            low -= sum(int(w.arg) for w in started if w.kind == "decrement")
            high = sum(int(w.arg) for w in started if w.kind == "increment")
            high -= sum(int(w.arg) for w in before if w.kind == "decrement")
            value = 0 if read.arg is None else int(read.arg)
            if value < low:
                out.append(
                    Anomaly(
                        "stale-read",
                        key,
                        f"{read.level} read on n{read.node} at {read.start:.2f} s saw {value}, "
                        f"acknowledged writes before it make at least {low}",
                    )
                )
            elif value > high:
                out.append(Anomaly("phantom", key, f"a read saw {value}, at most {high} written"))
        elif read.key_type == "ORSet":
            seen = frozenset() if read.arg is None else read.arg
            removed = {w.arg for w in started if w.kind == "remove"}
            for w in before:
                if w.kind == "add" and w.arg not in seen and w.arg not in removed:
                    out.append(
                        Anomaly(
                            "stale-read",
                            key,
                            f"{read.level} read on n{read.node} at {read.start:.2f} s misses "
                            f"{w.arg!r}, added at {w.level} by {w.end:.2f} s",
                        )
                    )
    return out
