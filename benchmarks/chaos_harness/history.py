"""What a chaos run did: every client call with its outcome, every fault, every kill.

Times are seconds since the run started (time.monotonic() based). Outcomes:

- ``ok``: the call returned (the level was reached);
- ``timeout``: WriteTimeout: not acknowledged, but applied on the node it was sent to (the
  Replicator's contract: a timed-out write is applied locally and still replicates);
- ``rejected``: the node refused it (KeyDeletedError): not applied;
- ``noop``: a remove of an element the node did not hold: nothing was sent;
- ``unknown``: the node process went away (or the call failed otherwise) mid-call: it may or may
  not have been applied.

Thread-safe: ``History.record`` may be called from any thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

LEVELS = ("LOCAL", "MAJORITY", "ALL")


@dataclass
class Op:
    client: int
    node: int  # the node the call went to
    kind: str  # increment, decrement, add, remove, enable, set, delete
    key_type: str  # GCounter, PNCounter, ORSet, Flag, LWWRegister
    key: str
    arg: Any  # the amount, the element or the value written
    level: str  # LOCAL, MAJORITY, ALL
    start: float
    end: float = 0.0
    outcome: str = "unknown"
    error: str = ""
    writer: int = 0  # the writer replica of the client's handle (its dots' replica)


@dataclass
class Fault:
    kind: str
    start: float
    end: float
    nodes: tuple[int, ...]  # the nodes it concerns
    detail: str = ""  # for people: which way, how long, what mode
    params: dict[str, Any] = field(default_factory=dict)  # for the nemesis


@dataclass
class History:
    nodes: int
    ops: list[Op] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    kills: list[tuple[float, int]] = field(default_factory=list)  # (time, node): kill -9
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, op: Op) -> None:
        with self._lock:
            self.ops.append(op)

    def fault(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def kill(self, t: float, node: int) -> None:
        with self._lock:
            self.kills.append((t, node))
