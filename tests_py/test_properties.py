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
        alive = (
            (self.alive & o.alive)
            | {p for p in self.alive if p[1] not in o.seen}
            | {p for p in o.alive if p[1] not in self.seen}
        )
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
        lambda v, op, r: (
            v.add(op[1], replica=r)
            if op[0] == "add"
            else (v.remove(op[1]) if op[0] == "remove" else v.clear())
        ),
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


# ---- the maps: one Causal store of (packed key, kind, ...) elements for every map type ----
# Each mutation removes the elements of its key that it observed and may add one with a new tag,
# exactly as the nested stores of ORMap do (map_entry.h).


def _key_elements(m: Causal, kb: bytes, kind: str) -> list[tuple[Any, ...]]:
    return [e for e, _ in m.alive if e[0] == kb and e[1] == kind]


def _model_write(m: Causal, drop: Callable[[Any], bool], new: Any, tag: Tags) -> None:
    m.remove(lambda e: not drop(e))
    if new is not None:
        t = tag()
        m.alive.add((new, t))
        m.seen.add(t)


def _model_sub(m: Causal, kb: bytes, sub: tuple[Any, ...], r: str, tag: Tags) -> None:
    """One mutation of the value of key kb (the ops of the entry handles and typed maps)."""
    op = sub[0]
    if op in ("inc", "dec"):  # the replica's running totals, under one new tag
        amount = sub[1] if op == "inc" else -sub[1]
        mine = [e for e in _key_elements(m, kb, "c") if e[2] == r]
        p, n = sum(e[3] for e in mine), sum(e[4] for e in mine)
        p, n = (p + amount, n) if amount >= 0 else (p, n - amount)
        _model_write(m, lambda e: e in mine, (kb, "c", r, p, n), tag)
    elif op == "put":  # LWW: above every timestamp of the key seen
        last = max((e[2] for e in _key_elements(m, kb, "r")), default=0)
        new = (kb, "r", max(sub[2], last + 1), _id(r), _core.pack_value(sub[1]))
        _model_write(m, lambda e: e[0] == kb and e[1] == "r", new, tag)
    elif op == "add":
        xb = _core.pack_value(sub[1])
        _model_write(m, lambda e: e == (kb, "s", xb), (kb, "s", xb), tag)
    elif op == "rem":
        xb = _core.pack_value(sub[1])
        _model_write(m, lambda e: e == (kb, "s", xb), None, tag)
    elif op == "clear":
        _model_write(m, lambda e: e[0] == kb and e[1] == "s", None, tag)
    elif op == "mv":
        xb = _core.pack_value(sub[1])
        _model_write(m, lambda e: e[0] == kb and e[1] == "m", (kb, "m", xb), tag)
    elif op == "enable":
        _model_write(m, lambda e: e[0] == kb and e[1] == "f", (kb, "f"), tag)
    else:  # "remove": the key with everything observed
        _model_write(m, lambda e: e[0] == kb, None, tag)


def _map_model_apply(m: Causal, op: tuple[Any, ...], r: str, tag: Tags) -> Causal:
    m = Causal(set(m.alive), set(m.seen))
    kb = _core.pack_value(op[1])
    for sub in op[2] if op[0] == "update" else [(op[0], *op[2:])]:
        _model_sub(m, kb, sub, r, tag)
    return m


def _model_value(m: Causal, kb: bytes) -> Any:
    """The read of one key: what _map_read gives for the value of the live type."""
    es = [e for e, _ in m.alive if e[0] == kb]
    kind = es[0][1]
    if kind == "c":
        return sum(e[3] - e[4] for e in es)
    if kind == "r":
        best = max(es, key=lambda e: e[2:5])
        return (best[2], best[4])
    if kind == "f":
        return True
    return sorted({e[2] for e in es})  # "s", "m": packed elements / values (a set)


def _map_model_read(m: Causal) -> list[tuple[bytes, Any]]:
    return [(kb, _model_value(m, kb)) for kb in sorted({e[0] for e, _ in m.alive})]


def _nested_read(v: Any) -> Any:
    if isinstance(v, (cv.GCounter, cv.PNCounter)):
        return v.value
    if isinstance(v, cv.LWWRegister):
        return (v.timestamp, _core.pack_value(v.value))
    if isinstance(v, cv.Flag):
        return v.enabled
    items = v.values if isinstance(v, cv.MVRegister) else v.elements()
    return [_core.pack_value(x) for x in items]


def _map_read(v: Any) -> list[tuple[bytes, Any]]:
    out = []
    for k, x in v.items():
        if isinstance(v, cv.LWWMap):
            x = (0, _core.pack_value(x))  # LWWMap reads no timestamp: compared without it
        elif isinstance(v, cv.ORMultiMap):
            x = [_core.pack_value(y) for y in x]
        elif isinstance(v, cv.ORMap):
            x = _nested_read(x)
        out.append((_core.pack_value(k), x))
    return out


def _lwwmap_model_read(m: Causal) -> list[tuple[bytes, Any]]:
    return [(kb, (0, v[1])) for kb, v in _map_model_read(m)]


# The ORMap keys and the class of each (fixed, so that no update meets another type).
ORMAP_TYPES = {
    "c": cv.PNCounter,
    "n": cv.GCounter,
    "s": cv.ORSet,
    "g": cv.GSet,
    "f": cv.Flag,
    "r": cv.LWWRegister,
    "m": cv.MVRegister,
}
SIGNED = st.integers(-(2**20), 2**20)
ORMAP_SUBOPS: dict[str, st.SearchStrategy[tuple[Any, ...]]] = {
    "c": st.tuples(st.sampled_from(["inc", "dec"]), SIGNED),
    "n": st.tuples(st.just("inc"), COUNTS),
    "s": st.tuples(st.sampled_from(["add", "add", "rem"]), ELEMENTS) | st.just(("clear",)),
    "g": st.tuples(st.just("add"), ELEMENTS),
    "f": st.just(("enable",)),
    "r": st.tuples(st.just("put"), ELEMENTS, st.integers(1, 50)),
    "m": st.tuples(st.just("mv"), ELEMENTS),
}
MAP_KEYS = st.sampled_from(["a", "b", 1, (1, "x")])


def _entry_sub(h: Any, sub: tuple[Any, ...]) -> None:
    if sub[0] == "inc":
        h.increment(sub[1])
    elif sub[0] == "dec":
        h.decrement(sub[1])
    elif sub[0] == "put":
        h.set(sub[1], timestamp=sub[2])
    elif sub[0] == "mv":
        h.set(sub[1])
    elif sub[0] == "add":
        h.add(sub[1])
    elif sub[0] == "rem":
        h.remove(sub[1])
    elif sub[0] == "clear":
        h.clear()
    else:
        h.enable()


def _ormap_apply(v: cv.ORMap, op: tuple[Any, ...], r: str) -> cv.ORMap:
    if op[0] == "remove":
        return v.remove(op[1])

    def fn(h: Any) -> None:
        for sub in op[2]:
            _entry_sub(h, sub)

    return v.update(op[1], ORMAP_TYPES[op[1]], fn, replica=r)  # type: ignore[arg-type]


def _typed_map_apply(v: Any, op: tuple[Any, ...], r: str) -> Any:
    if op[0] == "put":
        return v.put(op[1], op[2], replica=r, timestamp=op[3])
    if op[0] in ("inc", "dec"):
        return (v.increment if op[0] == "inc" else v.decrement)(op[1], op[2], replica=r)
    if op[0] == "add":
        return v.add(op[1], op[2], replica=r)
    if op[0] == "rem":
        return v.remove(op[1], op[2])
    if op[0] == "remove" and isinstance(v, cv.ORMultiMap):
        return v.remove_key(op[1])
    return v.remove(op[1])


def _map_kind(cls: Any, ops: st.SearchStrategy[tuple[Any, ...]], apply: Any) -> Kind:
    read = _lwwmap_model_read if cls is cv.LWWMap else _map_model_read
    return Kind(cls, ops, apply, Causal, _map_model_apply, lambda a, b: a.merge(b), _map_read, read)


REMOVE_KEY = st.tuples(st.just("remove"), MAP_KEYS)
KINDS.update(
    {
        "ORMap": _map_kind(
            cv.ORMap,
            st.sampled_from(sorted(ORMAP_TYPES)).flatmap(
                lambda k: st.tuples(
                    st.just("update"), st.just(k), st.lists(ORMAP_SUBOPS[k], min_size=1, max_size=3)
                )
            )
            | st.tuples(st.just("remove"), st.sampled_from(sorted(ORMAP_TYPES))),
            _ormap_apply,
        ),
        "LWWMap": _map_kind(
            cv.LWWMap,
            st.tuples(st.just("put"), MAP_KEYS, ELEMENTS, st.integers(1, 50)) | REMOVE_KEY,
            _typed_map_apply,
        ),
        "PNCounterMap": _map_kind(
            cv.PNCounterMap,
            st.tuples(st.sampled_from(["inc", "dec"]), MAP_KEYS, SIGNED) | REMOVE_KEY,
            _typed_map_apply,
        ),
        "ORMultiMap": _map_kind(
            cv.ORMultiMap,
            st.tuples(st.sampled_from(["add", "add", "rem"]), MAP_KEYS, ELEMENTS) | REMOVE_KEY,
            _typed_map_apply,
        ),
    }
)


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
    total = sum((s[2][1] if s[2][0] == "inc" else -s[2][1]) for s in steps if s[0] == "op")
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
