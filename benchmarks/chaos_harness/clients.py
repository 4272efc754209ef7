"""The clients of a chaos run: threads that call the nodes during the faults and log every call.

Two clients per node, each on a handle of its own. A client picks an operation from a seeded mix:
increments and decrements of counters, adds of unique elements to sets and removes of elements it
added, flags enabled, registers set to unique values, reads at MAJORITY/ALL, and (after the first
third of the run) deletes of a few keys kept for it; at LOCAL, MAJORITY or ALL. Calls to a node
that is down wait for its next incarnation; calls to a paused node block until it resumes.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import convergent as cv

from .history import History, Op
from .nodes import ChaosNode

COUNTERS = [f"gc{i}" for i in range(4)]
PN_COUNTERS = [f"pn{i}" for i in range(2)]
SETS = [f"set{i}" for i in range(4)]
FLAGS = [f"flag{i}" for i in range(12)]
REGISTERS = [f"reg{i}" for i in range(3)]
DELETABLE_COUNTERS = [f"dgc{i}" for i in range(3)]
DELETABLE_SETS = [f"dset{i}" for i in range(3)]
CALL_TIMEOUT = 1.0  # seconds a MAJORITY/ALL call waits

_KEYS: dict[str, Callable[[str], Any]] = {
    "GCounter": cv.GCounterKey,
    "PNCounter": cv.PNCounterKey,
    "ORSet": cv.ORSetKey,
    "Flag": cv.FlagKey,
    "LWWRegister": cv.LWWRegisterKey,
}


def key_types() -> dict[str, str]:
    """Every key name of the workload and its type."""
    names = {k: "GCounter" for k in COUNTERS + DELETABLE_COUNTERS}
    names |= {k: "PNCounter" for k in PN_COUNTERS}
    names |= {k: "ORSet" for k in SETS + DELETABLE_SETS}
    names |= {k: "Flag" for k in FLAGS}
    names |= {k: "LWWRegister" for k in REGISTERS}
    return names


def make_key(type_name: str, name: str) -> Any:
    return _KEYS[type_name](name)


def plain(type_name: str, value: Any) -> Any:
    """A value as the checker compares it."""
    if value is None:
        return None
    if type_name in ("GCounter", "PNCounter"):
        return int(value.value)
    if type_name == "ORSet":
        return frozenset(value.elements())
    if type_name == "Flag":
        return bool(value.enabled)
    return value.value


class Client(threading.Thread):
    def __init__(
        self,
        cid: int,
        node: ChaosNode,
        history: History,
        t0: float,
        duration: float,
        seed: int,
        stop: threading.Event,
    ) -> None:
        super().__init__(name=f"chaos-client-{cid}", daemon=True)
        self.cid = cid
        self._node = node
        self._history = history
        self._t0 = t0
        self._duration = duration
        self._rng = random.Random(seed)
        self._halt = stop
        self._seq = 0
        self._added: dict[str, list[str]] = {}  # elements this client added, per set
        self.errors: list[str] = []  # unexpected exceptions (the report lists them)

    def _now(self) -> float:
        return time.monotonic() - self._t0

    def run(self) -> None:
        handle = None
        while not self._halt.is_set():
            if handle is None:
                try:
                    handle = self._node.handle()
                except Exception:
                    time.sleep(0.05)
                    continue
            try:
                self._one(handle.replicator)
            except _Reconnect:
                handle.close()
                handle = None
            time.sleep(self._rng.uniform(0.0, 0.01))
        if handle is not None:
            handle.close()

    def _level(self) -> str:
        return self._rng.choices(["LOCAL", "MAJORITY", "ALL"], [4, 4, 2])[0]

    def _unique(self) -> str:
        self._seq += 1
        return f"c{self.cid}-{self._seq}"

    def _one(self, r: Any) -> None:
        rng = self._rng
        deletes_open = self._now() > self._duration / 3
        choice = rng.choices(
            ["gc", "pn", "add", "remove", "flag", "reg", "read", "dwrite", "delete"],
            [20, 10, 20, 8, 3, 8, 10, 8, 1 if deletes_open else 0],
        )[0]
        level = self._level()
        if choice == "gc":
            n = rng.randint(1, 5)
            self._update(r, "GCounter", rng.choice(COUNTERS), "increment", n, level)
        elif choice == "pn":
            kind = rng.choice(["increment", "decrement"])
            self._update(r, "PNCounter", rng.choice(PN_COUNTERS), kind, rng.randint(1, 5), level)
        elif choice == "add":
            name = rng.choice(SETS)
            e = self._unique()
            if self._update(r, "ORSet", name, "add", e, level) in ("ok", "timeout"):
                self._added.setdefault(name, []).append(e)
        elif choice == "remove":
            name = rng.choice(SETS)
            added = self._added.get(name)
            if added:
                e = added.pop(rng.randrange(len(added)))
                self._update(r, "ORSet", name, "remove", e, level)
        elif choice == "flag":
            self._update(r, "Flag", rng.choice(FLAGS), "enable", True, level)
        elif choice == "reg":
            self._update(r, "LWWRegister", rng.choice(REGISTERS), "set", self._unique(), level)
        elif choice == "read":
            if rng.random() < 0.5:
                self._read(r, "GCounter", rng.choice(COUNTERS), rng.choice(["MAJORITY", "ALL"]))
            else:
                self._read(r, "ORSet", rng.choice(SETS), rng.choice(["MAJORITY", "ALL"]))
        elif choice == "dwrite":
            if rng.random() < 0.5:
                n = rng.randint(1, 5)
                self._update(r, "GCounter", rng.choice(DELETABLE_COUNTERS), "increment", n, level)
            else:
                e = self._unique()
                self._update(r, "ORSet", rng.choice(DELETABLE_SETS), "add", e, level)
        else:
            t, name = rng.choice(
                [("GCounter", k) for k in DELETABLE_COUNTERS]
                + [("ORSet", k) for k in DELETABLE_SETS]
            )
            self._call(
                Op(self.cid, self._node.i, "delete", t, name, None, level, self._now()),
                lambda: r.delete(make_key(t, name), write=_LEVELS[level], timeout=CALL_TIMEOUT),
            )

    def _update(self, r: Any, t: str, name: str, kind: str, arg: Any, level: str) -> str:
        op = Op(self.cid, self._node.i, kind, t, name, arg, level, self._now(), writer=r.id)
        noop = False

        def mutate(v: Any) -> None:
            nonlocal noop
            if kind == "remove":
                if arg not in v:
                    noop = True
                    return
                v.remove(arg)
            elif kind == "enable":
                v.enable()
            elif kind == "set" and t == "LWWRegister":
                v.set(arg)
            else:
                getattr(v, kind)(arg)

        def call() -> None:
            r.update(make_key(t, name), mutate, write=_LEVELS[level], timeout=CALL_TIMEOUT)

        outcome = self._call(op, call)
        if noop:  # the element was not there: nothing was sent, whatever the call's outcome
            op.outcome = outcome = "noop"
        return outcome

    def _read(self, r: Any, t: str, name: str, level: str) -> None:
        op = Op(self.cid, self._node.i, "read", t, name, None, level, self._now())

        def call() -> None:
            op.arg = plain(t, r.get(make_key(t, name), read=_LEVELS[level], timeout=CALL_TIMEOUT))

        self._call(op, call)

    def _call(self, op: Op, call: Callable[[], None]) -> str:
        try:
            call()
            op.outcome = "ok"
        except (cv.WriteTimeout, cv.ReadTimeout):
            op.outcome = "timeout"
        except cv.KeyDeletedError:
            op.outcome = "rejected"
        except (cv.NodeDownError, ConnectionError, EOFError, OSError) as e:
            op.outcome, op.error = "unknown", type(e).__name__
            op.end = self._now()
            self._history.record(op)
            raise _Reconnect() from None
        except Exception as e:  # not expected of any call: the report lists it
            op.outcome, op.error = "unknown", f"{type(e).__name__}: {e}"
            self.errors.append(op.error)
        op.end = self._now()
        self._history.record(op)
        return op.outcome


class _Reconnect(Exception):
    """The node's process is gone: take a handle on its next incarnation."""


_LEVELS = {"LOCAL": cv.LOCAL, "MAJORITY": cv.MAJORITY, "ALL": cv.ALL}
