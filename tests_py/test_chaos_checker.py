"""The chaos harness's checker (benchmarks/chaos_harness/checker.py) and schedules: histories
with known anomalies are caught, and the faults the checker must excuse are excused."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from chaos_harness import schedule  # noqa: E402
from chaos_harness.checker import DELETED, check  # noqa: E402
from chaos_harness.history import History, Op  # noqa: E402


def op(
    kind: str,
    t: str,
    key: str,
    arg: Any,
    level: str = "MAJORITY",
    outcome: str = "ok",
    node: int = 0,
    start: float = 1.0,
    end: float = 1.1,
) -> Op:
    return Op(0, node, kind, t, key, arg, level, start, end, outcome)


def history(n: int, *ops: Op, kills: list[tuple[float, int]] | None = None) -> History:
    h = History(n)
    h.ops += ops
    h.kills += kills or []
    return h


def kinds(h: History, finals: list[dict[str, Any]]) -> list[str]:
    return sorted(a.kind for a in check(h, finals))


def same(n: int, **values: Any) -> list[dict[str, Any]]:
    return [dict(values) for _ in range(n)]


def test_counter_bounds() -> None:
    h = history(
        3,
        op("increment", "GCounter", "c", 5),
        op("increment", "GCounter", "c", 2, level="LOCAL"),
        op("increment", "GCounter", "c", 7, outcome="unknown"),
        op("increment", "GCounter", "c", 100, outcome="rejected"),
    )
    assert kinds(h, same(3, c=7)) == []
    assert kinds(h, same(3, c=14)) == []
    assert kinds(h, same(3, c=6)) == ["lost-write"]
    assert kinds(h, same(3, c=15)) == ["phantom"]


def test_pn_counter_bounds_count_decrements_both_ways() -> None:
    h = history(
        3,
        op("increment", "PNCounter", "p", 10),
        op("decrement", "PNCounter", "p", 4, outcome="unknown"),
        op("decrement", "PNCounter", "p", 1),
    )
    assert kinds(h, same(3, p=5)) == []
    assert kinds(h, same(3, p=9)) == []
    assert kinds(h, same(3, p=4)) == ["lost-write"]
    assert kinds(h, same(3, p=10)) == ["phantom"]


def test_kills_excuse_only_what_they_may_have_lost() -> None:
    w = op("increment", "GCounter", "c", 5, start=1.0)
    local = op("increment", "GCounter", "d", 3, level="LOCAL", node=1, start=1.0)
    # One kill after a MAJORITY write of 3 nodes: another acknowledging replica still holds it.
    assert kinds(history(3, w, kills=[(2.0, 0)]), same(3, c=0)) == ["lost-write"]
    # Two distinct kills (a majority of 3): it may be gone.
    assert kinds(history(3, w, kills=[(2.0, 0), (3.0, 2)]), same(3, c=0)) == []
    # A kill before the write does not excuse it.
    assert kinds(history(3, w, kills=[(0.5, 0), (0.6, 2)]), same(3, c=0)) == ["lost-write"]
    # A LOCAL write is lost with its own node only.
    assert kinds(history(3, local, kills=[(2.0, 0)]), same(3, d=0)) == ["lost-write"]
    assert kinds(history(3, local, kills=[(2.0, 1)]), same(3, d=0)) == []


def test_timed_out_writes_are_applied_locally() -> None:
    h = history(3, op("add", "ORSet", "s", "e1", outcome="timeout", node=2))
    assert kinds(h, same(3, s=frozenset())) == ["lost-write"]
    assert kinds(history(3, *h.ops, kills=[(5.0, 2)]), same(3, s=frozenset())) == []


def test_sets() -> None:
    h = history(
        3,
        op("add", "ORSet", "s", "a"),
        op("add", "ORSet", "s", "b"),
        op("remove", "ORSet", "s", "b", start=2.0, end=2.1),
        op("add", "ORSet", "s", "c", outcome="unknown"),
        op("add", "ORSet", "s", "d"),
        op("remove", "ORSet", "s", "d", outcome="unknown", start=2.0, end=2.1),
    )
    assert kinds(h, same(3, s=frozenset({"a"}))) == []
    assert kinds(h, same(3, s=frozenset({"a", "c", "d"}))) == []
    assert kinds(h, same(3, s=frozenset())) == ["lost-write"]
    assert kinds(h, same(3, s=frozenset({"a", "b"}))) == ["resurrected"]
    assert kinds(h, same(3, s=frozenset({"a", "zz"}))) == ["phantom"]


def test_flags_and_registers() -> None:
    h = history(
        3,
        op("enable", "Flag", "f", True),
        op("set", "LWWRegister", "r", "v1"),
        op("set", "LWWRegister", "r", "v2", outcome="unknown"),
    )
    assert kinds(h, same(3, f=True, r="v2", g=None)) == []
    assert kinds(h, same(3, f=False, r="v1")) == ["lost-write"]
    assert kinds(h, same(3, f=True, r=None)) == ["lost-write"]
    assert kinds(h, same(3, f=True, r="v9")) == ["phantom"]
    assert sorted(a.kind for a in check(h, same(3, f=True, r="v1", g=True), {"g": "Flag"})) == [
        "phantom"
    ]


def test_deletes() -> None:
    h = history(3, op("increment", "GCounter", "k", 1), op("delete", "GCounter", "k", None))
    assert kinds(h, same(3, k=DELETED)) == []
    assert kinds(h, same(3, k=1)) == ["undeleted"]
    maybe = history(3, op("delete", "GCounter", "k", None, outcome="unknown"))
    assert kinds(maybe, same(3, k=0)) == []
    assert kinds(maybe, same(3, k=DELETED)) == []
    assert kinds(history(3), same(3, k=DELETED)) == ["phantom"]


def test_divergence() -> None:
    h = history(3, op("increment", "GCounter", "c", 1))
    finals = same(3, c=1)
    finals[2]["c"] = 2
    assert kinds(h, finals) == ["divergence"]


def test_reads_see_acknowledged_writes() -> None:
    w = op("increment", "GCounter", "c", 5, start=1.0, end=1.1)
    late = op("increment", "GCounter", "c", 3, start=3.0, end=3.1)
    read = op("read", "GCounter", "c", 0, start=2.0, end=2.1)
    final = same(3, c=8)
    assert kinds(history(3, w, late, read), final) == ["stale-read"]
    read.arg = 5
    assert kinds(history(3, w, late, read), final) == []
    read.arg = 8  # the late write had not started
    assert kinds(history(3, w, late, read), final) == ["phantom"]
    read.arg = 0  # a LOCAL read may be stale; a kill in between may have emptied the overlap
    assert kinds(history(3, w, late, read, kills=[(1.5, 1)]), final) == []
    read.level = "LOCAL"
    assert kinds(history(3, w, late, read), final) == []
    sread = op("read", "ORSet", "s", frozenset(), start=2.0, end=2.1)
    assert kinds(history(3, op("add", "ORSet", "s", "x"), sread), same(3, s=frozenset({"x"}))) == [
        "stale-read"
    ]


def test_schedules_are_seeded_and_spare_a_majority() -> None:
    a, crashable = schedule.generate(7, 5, 60.0)
    b, _ = schedule.generate(7, 5, 60.0)
    assert [(f.kind, f.start, f.nodes) for f in a] == [(f.kind, f.start, f.nodes) for f in b]
    assert len(crashable) == 2
    assert {f.nodes[0] for f in a if f.kind == "kill"} <= set(crashable)
    kinds_seen = {f.kind for seed in range(30) for f in schedule.generate(seed, 5, 60.0)[0]}
    assert kinds_seen == set(schedule.NETWORK_KINDS) | set(schedule.PROCESS_KINDS)
    for seed in range(30):
        faults, _ = schedule.generate(seed, 3, 60.0)
        assert all(0 <= f.start <= f.end <= 60.0 for f in faults)


def test_a_wedged_nng_in_a_nodes_log_is_an_anomaly() -> None:
    from chaos_harness.run import _scan_logs

    class Logged:
        def __init__(self, i: int, text: str) -> None:
            self.i, self._text = i, text

        def log_tail(self, chars: int) -> str:
            return self._text[-chars:]

    quiet = Logged(0, "INFO stopping (final snapshot, goodbye to the peers)\n")
    wedged = Logged(1, "convergent: an NNG socket did not close within 2 s; left behind\n")
    crashed = Logged(2, "terminate called without an active exception\n")
    found = _scan_logs([quiet, wedged, crashed])  # type: ignore[list-item]
    assert [(a.kind, a.key) for a in found] == [("wedge", "n1"), ("crash", "n2")]
