"""Convergence laws, checked with random operations on three replicas.

Each replica mutates its own copy (with syncs of full states in between), then every delta is
delivered to every replica in a shuffled order with duplicates; all replicas must then be equal
(==), hold the values a plain Python model of the type predicts, and stay equal after full
states are merged. Merge must be commutative, associative and idempotent, and states must
survive to_bytes()/from_bytes().
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import convergent as cv
from convergent import _core

REPLICAS = ["A", "B", "C"]
ELEMENTS = st.sampled_from(["a", "b", "c", 1, 2.0, (1, "x"), None])


def _id(name: str) -> int:
    h = 0xCBF29CE484222325  # 64-bit FNV-1a, as ReplicaId::FromName
    for byte in name.encode():
        h = ((h ^ byte) * 0x100000001B3) % 2**64
    return h


# ---- plain Python models of the types ----

@dataclass
class Causal:
    """An observed-remove store: alive (element, tag) pairs plus every tag seen."""

    alive: set[tuple[Any, Any]] = field(default_factory=set)
    seen: set[Any] = field(default_factory=set)

    def write(self, key: Any, tag: Any, replace_all: bool) -> None:
        dead = {p for p in self.alive if replace_all or p[0] == key}
        self.alive -= dead
        self.alive.add((key, tag))
        self.seen.add(tag)

    def remove(self, keep: Callable[[Any], bool]) -> None:
        self.alive = {p for p in self.alive if keep(p[0])}

    def merge(self, o: Causal) -> Causal:
        alive = (self.alive & o.alive) | {p for p in self.alive if p[1] not in o.seen} | {
            p for p in o.alive if p[1] not in self.seen
        }
        return Causal(alive, self.seen | o.seen)


class Tags:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> int:
        self.n += 1
        return self.n


@dataclass(frozen=True)
class Kind:
    cls: Any
    ops: st.SearchStrategy[tuple[Any, ...]]
    apply: Callable[[Any, tuple[Any, ...], str], Any]  # (value, op, replica) -> delta
    model: Callable[[], Any]
    model_apply: Callable[[Any, tuple[Any, ...], str, Tags], Any]  # returns the new model
    model_merge: Callable[[Any, Any], Any]
    read: Callable[[Any], Any]
    model_read: Callable[[Any], Any]


def _lww_apply(m: tuple[int, int, bytes, Any], op: tuple[Any, ...], r: str, _: Tags) -> Any:
    ts = max(op[2], m[0] + 1)
    return (ts, _id(r), _core.pack_value(op[1]), op[1])


def _orset_apply(m: Causal, op: tuple[Any, ...], r: str, tag: Tags) -> Causal:
    m = Causal(set(m.alive), set(m.seen))
    key = _core.pack_value(op[1]) if len(op) > 1 else None
    if op[0] == "add":
        m.write(key, tag(), replace_all=False)
    elif op[0] == "remove":
        m.remove(lambda k: k != key)
    else:
        m.remove(lambda k: False)
    return m


def _mv_apply(m: Causal, op: tuple[Any, ...], r: str, tag: Tags) -> Causal:
    m = Causal(set(m.alive), set(m.seen))
    m.write(_core.pack_value(op[1]), tag(), replace_all=True)
    return m


def _pn_apply(m: dict[str, tuple[int, int]], op: tuple[Any, ...], r: str, _: Tags) -> Any:
    amount = op[1] if op[0] == "inc" else -op[1]  # a negative amount goes the other way
    p, n = m.get(r, (0, 0))
    return {**m, r: (p + amount, n) if amount >= 0 else (p, n - amount)}


def _sorted_unpacked(keys: set[bytes]) -> list[Any]:
    return [_core.unpack_value(k) for k in sorted(keys)]


COUNTS = st.integers(0, 2**20)
KINDS = {
    "GCounter": Kind(
        cv.GCounter,
        st.tuples(st.just("inc"), COUNTS),
        lambda v, op, r: v.increment(op[1], replica=r),
        lambda: {},
        lambda m, op, r, _: {**m, r: m.get(r, 0) + op[1]},
        lambda a, b: {k: max(a.get(k, 0), b.get(k, 0)) for k in a.keys() | b.keys()},
        lambda v: v.value,
        lambda m: sum(m.values()),
    ),
    "PNCounter": Kind(
        cv.PNCounter,
        st.tuples(st.sampled_from(["inc", "dec"]), st.integers(-(2**20), 2**20)),
        lambda v, op, r: (v.increment if op[0] == "inc" else v.decrement)(op[1], replica=r),
        lambda: {},
        _pn_apply,
        lambda a, b: {
            k: tuple(map(max, a.get(k, (0, 0)), b.get(k, (0, 0)))) for k in a.keys() | b.keys()
        },
        lambda v: v.value,
        lambda m: sum(p - n for p, n in m.values()),
    ),
    "LWWRegister": Kind(
        cv.LWWRegister,
        st.tuples(st.just("set"), ELEMENTS, st.integers(1, 50)),
        lambda v, op, r: v.set(op[1], replica=r, timestamp=op[2]),
        lambda: (0, 0, b"", None),
        _lww_apply,
        lambda a, b: max(a, b, key=lambda m: m[:3]),
        lambda v: (v.timestamp, _core.pack_value(v.value)),
        lambda m: (m[0], _core.pack_value(m[3])),
    ),
    "MVRegister": Kind(
        cv.MVRegister,
        st.tuples(st.just("set"), ELEMENTS),
        lambda v, op, r: v.set(op[1], replica=r),
        Causal,
        _mv_apply,
        lambda a, b: a.merge(b),
        lambda v: v.values,
        lambda m: _sorted_unpacked({p[0] for p in m.alive}),
    ),
    "ORSet": Kind(
        cv.ORSet,
        st.tuples(st.sampled_from(["add", "add", "remove"]), ELEMENTS) | st.just(("clear",)),
        lambda v, op, r: v.add(op[1], replica=r)
        if op[0] == "add"
        else (v.remove(op[1]) if op[0] == "remove" else v.clear()),
        Causal,
        _orset_apply,
        lambda a, b: a.merge(b),
        lambda v: v.elements(),
        lambda m: _sorted_unpacked({p[0] for p in m.alive}),
    ),
    "GSet": Kind(
        cv.GSet,
        st.tuples(st.just("add"), ELEMENTS),
        lambda v, op, r: v.add(op[1]),
        frozenset,
        lambda m, op, r, _: m | {_core.pack_value(op[1])},
        lambda a, b: a | b,
        lambda v: v.elements(),
        lambda m: _sorted_unpacked(set(m)),
    ),
    "Flag": Kind(
        cv.Flag,
        st.just(("enable",)),
        lambda v, op, r: v.enable(),
        lambda: False,
        lambda m, op, r, _: True,
        lambda a, b: a or b,
        lambda v: v.enabled,
        lambda m: m,
    ),
}


@st.composite
def scenario(draw: st.DrawFn, kind: Kind) -> list[Any]:
    step = st.one_of(
        st.tuples(st.just("op"), st.integers(0, 2), kind.ops),
        st.tuples(st.just("sync"), st.integers(0, 2), st.integers(0, 2)),
    )
    return draw(st.lists(step, max_size=25))


def run(kind: Kind, steps: list[Any]) -> tuple[list[Any], list[Any], list[Any]]:
    """Runs the steps; returns the replicas, their models and every delta made."""
    values = [kind.cls() for _ in REPLICAS]
    models = [kind.model() for _ in REPLICAS]
    deltas: list[Any] = []
    tags = Tags()
    for s in steps:
        if s[0] == "op":
            i, op = s[1], s[2]
            deltas.append(kind.apply(values[i], op, REPLICAS[i]))
            models[i] = kind.model_apply(models[i], op, REPLICAS[i], tags)
        else:
            src, dst = s[1], s[2]
            values[dst].merge(values[src])
            models[dst] = kind.model_merge(models[dst], models[src])
        for v, m in zip(values, models, strict=True):
            assert kind.read(v) == kind.model_read(m)
    return values, models, deltas


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_deltas_shuffled_and_duplicated_converge(data: st.DataObject) -> None:
    kind = KINDS[data.draw(st.sampled_from(sorted(KINDS)))]
    values, models, deltas = run(kind, data.draw(scenario(kind)))
    for v in values:
        duplicates = data.draw(st.lists(st.sampled_from(deltas), max_size=5)) if deltas else []
        inbox = deltas + duplicates
        data.draw(st.randoms()).shuffle(inbox)
        for d in inbox:
            v.merge(d)
    assert values[0] == values[1] == values[2]
    joined = models[0]
    for m in models[1:]:
        joined = kind.model_merge(joined, m)
    assert kind.read(values[0]) == kind.model_read(joined)
    # Full states exchanged afterwards change nothing.
    before = values[0].copy()
    for dst in range(3):
        for src in range(3):
            values[dst].merge(values[src])
    assert values[0] == values[1] == values[2] == before


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_counter_values_match_the_sum_of_operations(data: st.DataObject) -> None:
    kind = KINDS[data.draw(st.sampled_from(["GCounter", "PNCounter"]))]
    steps = data.draw(scenario(kind))
    values, _, deltas = run(kind, steps)
    total = sum(
        (s[2][1] if s[2][0] == "inc" else -s[2][1]) for s in steps if s[0] == "op"
    )
    for v in values:
        for d in deltas:
            v.merge(d)
        assert v.value == total


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_merge_is_commutative_associative_idempotent(data: st.DataObject) -> None:
    kind = KINDS[data.draw(st.sampled_from(sorted(KINDS)))]
    x, y, z = run(kind, data.draw(scenario(kind)))[0]

    def join(*vs: Any) -> Any:
        out = vs[0].copy()
        for v in vs[1:]:
            out.merge(v)
        return out

    assert join(x, y) == join(y, x)
    assert join(join(x, y), z) == join(x, join(y, z))
    assert join(x, x) == x
    assert join(join(x, y), y) == join(x, y)
    for v in (x, y, z, join(x, y, z)):
        assert kind.cls.from_bytes(v.to_bytes()) == v
