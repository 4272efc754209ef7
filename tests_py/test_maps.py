"""The map family through the Python API: ORMap (nested CRDTs, update() with entry handles),
LWWMap, PNCounterMap and ORMultiMap."""

from __future__ import annotations

import copy
import gc
import pickle
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convergent as cv
from convergent import _core

MAPS: list[Any] = [cv.ORMap, cv.LWWMap, cv.PNCounterMap, cv.ORMultiMap]


def _id(name: str) -> int:
    """The replica id a name stands for: 64-bit FNV-1a of its UTF-8 bytes (ids.h)."""
    h = 0xCBF29CE484222325
    for byte in name.encode():
        h = ((h ^ byte) * 0x100000001B3) % 2**64
    return h


def test_classes_and_keys() -> None:
    for cls in MAPS:
        assert cls.__module__ == "convergent" and getattr(cv, cls.__name__) is cls
        assert cls.__hash__ is None
        assert getattr(cv, cls.__name__ + "Key")("k").type is cls
        assert repr(cls()) == f"{cls.__name__}({{}})"
        assert len(cls()) == 0 and list(cls()) == [] and cls().keys() == []


# ---- ORMap: reads ----


def _sample_ormap() -> cv.ORMap:
    m = cv.ORMap(replica="A")
    m.update("c", cv.PNCounter, lambda c: c.increment(3))
    m.update("s", cv.ORSet, lambda s: _add_all(s, "x", 1))
    m.update("f", cv.Flag, lambda f: f.enable())
    m.update("r", cv.LWWRegister, lambda r: r.set({"v": 1}, timestamp=7))
    m.update("m", cv.MVRegister, lambda r: r.set("mv"))
    m.update("g", cv.GSet, lambda s: s.add("y"))
    m.update("n", cv.GCounter, lambda c: c.increment(2))
    return m


def test_ormap_reads_snapshots_of_every_nested_type() -> None:
    m = _sample_ormap()
    assert len(m) == 7
    assert m.keys() == ["c", "f", "g", "m", "n", "r", "s"]  # canonical order
    assert list(m) == m.keys() and [k for k, _ in m.items()] == m.keys()
    assert m["c"] == _counter(3) and isinstance(m["c"], cv.PNCounter) and m["c"].value == 3
    assert m["s"].elements() == [1, "x"] and isinstance(m["s"], cv.ORSet)
    assert m["f"].enabled and isinstance(m["f"], cv.Flag)
    assert m["r"].value == {"v": 1} and m["r"].timestamp == 7
    assert m["m"].values == ["mv"] and isinstance(m["m"], cv.MVRegister)
    assert m["g"].elements() == ["y"] and isinstance(m["g"], cv.GSet)
    assert m["n"].value == 2 and isinstance(m["n"], cv.GCounter)
    assert m.values() == [v for _, v in m.items()] == [m[k] for k in m]
    types = [m.type_of(k) for k in m]
    assert types == [
        cv.PNCounter,
        cv.Flag,
        cv.GSet,
        cv.MVRegister,
        cv.GCounter,
        cv.LWWRegister,
        cv.ORSet,
    ]
    assert m.type_of("absent") is None
    assert "c" in m and "absent" not in m


def _add_all(s: Any, *xs: object, keep: list[Any] | None = None) -> None:
    """Adds xs to an ORSet entry handle (and keeps the handle in `keep`)."""
    if keep is not None:
        keep.append(s)
    for x in xs:
        s.add(x)


def _counter(n: int) -> cv.PNCounter:
    c = cv.PNCounter()
    c.increment(n, replica="A")
    return c


def test_ormap_missing_key_and_get() -> None:
    m = _sample_ormap()
    with pytest.raises(KeyError) as info:
        _ = m["absent"]
    assert info.value.args == ("absent",)
    with pytest.raises(KeyError) as info2:
        _ = m[(1, 2)]
    assert info2.value.args == ((1, 2),)  # a tuple key is not unpacked into args
    assert m.get("absent") is None
    assert m.get("absent", 5) == 5
    assert m.get("c") == m["c"]
    assert m.get(key="c", default=0) == m["c"]
    with pytest.raises(TypeError, match="set"):
        _ = m[set()]
    with pytest.raises(TypeError, match="set"):
        _ = set() in m


def test_ormap_snapshots_are_independent_and_unbound() -> None:
    m = _sample_ormap()
    c = m["c"]
    with pytest.raises(ValueError, match="pass replica="):
        c.increment()
    c.increment(10, replica="A")
    assert m["c"].value == 3  # the map is unchanged
    s = m["s"]
    s.remove("x")
    assert m["s"].elements() == [1, "x"]


def test_ormap_repr() -> None:
    m = cv.ORMap(replica="A")
    m.update("a", cv.PNCounter, lambda c: c.increment(3))
    m.update("b", cv.ORSet, lambda s: s.add("x"))
    assert repr(m) == "ORMap({'a': PNCounter(value=3), 'b': ORSet(['x'])})"
    big = cv.ORMap(replica="A")
    for i in range(12):
        big.update(i, cv.Flag, lambda f: f.enable())
    expected = ", ".join(f"{i}: Flag(enabled=True)" for i in range(10))
    assert repr(big) == "ORMap({" + expected + ", ...})"


def test_ormap_keys_are_user_values() -> None:
    m = cv.ORMap(replica="A")
    for key in (1, 1.0, "1", b"1", (1, "x"), None, {"b": 2, "a": 1}):
        m.update(key, cv.Flag, lambda f: f.enable())
    assert len(m) == 7  # 1 and 1.0 are different keys
    assert [1, "x"] in m and (1, "x") in m and {"a": 1, "b": 2} in m
    assert m.type_of({"a": 1, "b": 2}) is cv.Flag
    assert m.keys() == [_core.unpack_value(k) for k in sorted(map(_core.pack_value, m.keys()))]
    with pytest.raises(TypeError, match="object"):
        m.update(object(), cv.Flag, lambda f: f.enable())


# ---- ORMap: update() ----


def test_update_returns_the_join_of_the_deltas_of_fn() -> None:
    m = cv.ORMap(replica="A")
    seen: list[int] = []

    def fn(c: Any) -> str:
        c.increment(5)
        seen.append(c.value)  # reads see the mutations made so far
        c.decrement(2)
        seen.append(c.value)
        return "ignored"

    d = m.update("k", cv.PNCounter, fn)
    assert seen == [5, 3] and m["k"].value == 3
    assert isinstance(d, cv.ORMap)
    other = cv.ORMap()
    other.merge(d)
    assert other == m  # the delta carries both mutations

    def add_two_remove_one(s: Any) -> None:
        _add_all(s, "x", "y")
        s.remove("x")

    d2 = m.update("s", cv.ORSet, add_two_remove_one)
    other.merge(d2)
    assert other == m and m["s"].elements() == ["y"]


def test_update_without_mutations_gives_an_empty_delta() -> None:
    m = _sample_ormap()
    before = m.copy()
    assert m.update("c", cv.PNCounter, lambda c: None) == cv.ORMap()
    assert m.update("absent", cv.ORSet, lambda s: s.elements()) == cv.ORMap()
    assert m == before and "absent" not in m


def test_entry_handles_of_every_type() -> None:
    m = cv.ORMap(replica="A")

    def counter(c: Any) -> None:
        assert c.value == 0
        c.increment()
        c.increment(4)
        c.decrement()
        c.decrement(-2)
        assert c.value == 6

    def gcounter(c: Any) -> None:
        c.increment(n=2)
        assert c.value == 2
        with pytest.raises(ValueError, match="n >= 0"):
            c.increment(-1)
        assert not hasattr(c, "decrement")

    def lww(r: Any) -> None:
        assert r.value is None and r.timestamp == 0
        r.set("a", timestamp=1000)
        r.set("b", timestamp=5)  # the clock went back: written at 1001
        assert r.value == "b" and r.timestamp == 1001

    def mv(r: Any) -> None:
        assert r.values == []
        r.set([1, 2])
        assert r.values == [[1, 2]]

    def orset(s: Any) -> None:
        s.add("b")
        s.add("a")
        assert s.elements() == ["a", "b"] and list(s) == ["a", "b"]
        assert "a" in s and "z" not in s and len(s) == 2
        s.remove("a")
        assert s.elements() == ["b"]
        s.clear()
        assert len(s) == 0
        s.add("c")

    def gset(s: Any) -> None:
        s.add(2)
        s.add(1)
        assert s.elements() == [1, 2] and 1 in s and len(s) == 2 and list(s) == [1, 2]
        assert not hasattr(s, "remove")

    def flag(f: Any) -> None:
        assert not f.enabled
        f.enable()
        assert f.enabled

    for key, cls, fn in [
        ("c", cv.PNCounter, counter),
        ("g", cv.GCounter, gcounter),
        ("r", cv.LWWRegister, lww),
        ("m", cv.MVRegister, mv),
        ("s", cv.ORSet, orset),
        ("gs", cv.GSet, gset),
        ("f", cv.Flag, flag),
    ]:
        delta = m.update(key, cls, fn)  # type: ignore[arg-type]
        assert m.type_of(key) is cls
        fresh = cv.ORMap()
        fresh.merge(delta)
        assert fresh[key] == m[key]
    assert m["c"].value == 6 and m["g"].value == 2 and m["r"].value == "b"
    assert m["m"].values == [[1, 2]] and m["s"].elements() == ["c"]
    assert m["gs"].elements() == [1, 2] and m["f"].enabled


def test_lww_entry_default_timestamp_is_wall_clock_micros() -> None:
    m = cv.ORMap(replica="A")
    before = time.time_ns() // 1000
    m.update("r", cv.LWWRegister, lambda r: r.set(1))
    after = time.time_ns() // 1000
    assert before <= m["r"].timestamp <= after + 1
    with pytest.raises(ValueError):
        m.update("r", cv.LWWRegister, lambda r: r.set(1, timestamp=-1))
    with pytest.raises(TypeError):
        m.update("r", cv.LWWRegister, _set_at_float_time)


def _set_at_float_time(r: Any) -> None:
    r.set(1, timestamp=1.5)


def test_handle_is_only_valid_inside_update() -> None:
    m = cv.ORMap(replica="A")
    kept: list[Any] = []
    m.update("s", cv.ORSet, lambda s: _add_all(s, "x", keep=kept))
    handle = kept[0]
    assert type(handle).__name__ == "_ORSetEntry"
    assert repr(handle) == "<ORMap entry 's': ORSet, expired>"
    for use in (
        lambda: handle.add("y"),
        lambda: handle.remove("x"),
        lambda: handle.elements(),
        lambda: "x" in handle,
        lambda: len(handle),
    ):
        with pytest.raises(RuntimeError, match=r"only valid inside update\(\)"):
            use()
    assert m["s"].elements() == ["x"]

    reprs: list[str] = []
    m.update("c", cv.PNCounter, lambda c: reprs.append(repr(c)))
    assert reprs == ["<ORMap entry 'c': PNCounter>"]
    with pytest.raises(TypeError):
        type(handle)()


def test_exception_inside_fn_keeps_earlier_mutations_and_propagates() -> None:
    m = cv.ORMap(replica="A")
    kept: list[Any] = []

    def fn(s: Any) -> None:
        kept.append(s)
        s.add("x")
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        m.update("s", cv.ORSet, fn)
    assert m["s"].elements() == ["x"]  # documented: applied, its delta is lost
    with pytest.raises(RuntimeError, match="only valid inside"):
        kept[0].add("y")
    # The map works normally afterwards.
    m.update("s", cv.ORSet, lambda s: s.add("y"))
    assert m["s"].elements() == ["x", "y"]


def test_update_of_a_key_of_another_type_raises_and_changes_nothing() -> None:
    m = _sample_ormap()
    before = m.copy()
    called: list[Any] = []
    with pytest.raises(cv.KeyTypeError, match="ORSet.*PNCounter") as info:
        m.update("s", cv.PNCounter, called.append)
    assert isinstance(info.value, TypeError)
    assert called == [] and m == before


def test_update_needs_a_nestable_class_and_a_callable() -> None:
    m = cv.ORMap(replica="A")
    for cls in (cv.ORMap, cv.LWWMap, cv.PNCounterMap, cv.ORMultiMap):
        with pytest.raises(TypeError, match=f"cannot hold an? {cls.__name__}"):
            m.update("k", cls, lambda h: None)  # type: ignore[arg-type]
    for bad in ("PNCounter", int, cv.PNCounterKey, None):
        with pytest.raises(TypeError, match="type must be one of"):
            m.update("k", bad, lambda h: None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        m.update("k", cv.Flag, 1)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        m.update("k", cv.Flag)  # type: ignore[call-overload]
    assert m == cv.ORMap()


def test_update_replica_binding() -> None:
    m = cv.ORMap()
    with pytest.raises(ValueError, match=r"ORMap.update\(\).*pass replica="):
        m.update("c", cv.PNCounter, lambda c: c.increment())
    assert "c" not in m
    m.update("c", cv.PNCounter, lambda c: c.increment(), replica="A")
    m.update("c", cv.PNCounter, lambda c: c.increment(), replica="B")
    assert m["c"].value == 2
    expected = cv.PNCounter()
    expected.increment(replica="A")
    expected.increment(replica=_id("B"))
    assert m["c"] == expected
    # Removes create no dot: no writer needed.
    m.update("s", cv.ORSet, lambda s: s.add("x"), replica="A")
    m.update("s", cv.ORSet, lambda s: s.remove("x"))
    assert "s" not in m
    with pytest.raises(TypeError):
        m.update("c", cv.PNCounter, lambda c: None, replica=1.5)  # type: ignore[call-overload]


def test_nested_updates_and_removes_inside_fn() -> None:
    m = cv.ORMap(replica="A")

    def outer(s: Any) -> None:
        s.add("x")
        inner = m.update("c", cv.PNCounter, lambda c: c.increment(2))
        assert inner["c"].value == 2
        m.remove("s")  # the key of this very handle
        assert s.elements() == []
        s.add("y")

    d = m.update("s", cv.ORSet, outer)
    assert m["s"].elements() == ["y"] and m["c"].value == 2
    fresh = cv.ORMap()
    fresh.merge(d)
    # The handle's delta holds its own mutations (x then y); x was removed by m.remove, whose
    # delta update() does not include.
    assert fresh["s"].elements() == ["x", "y"] and "c" not in fresh

    def switch_type(s: Any) -> None:  # a remove and a write as another type inside fn
        m.remove("s")
        m.update("s", cv.Flag, lambda f: f.enable())
        s.add("z")

    with pytest.raises(cv.KeyTypeError):
        m.update("s", cv.ORSet, switch_type)
    assert m.type_of("s") is cv.Flag


# ---- ORMap: concurrency ----


def test_ormap_update_concurrent_with_remove_survives() -> None:
    a, b = cv.ORMap(replica="A"), cv.ORMap(replica="B")
    b.merge(a.update("k", cv.ORSet, lambda s: s.add("x")))
    rm = b.remove("k")  # b saw x only
    assert "k" not in b
    add = a.update("k", cv.ORSet, lambda s: s.add("y"))  # concurrent with the remove
    a.merge(rm)
    b.merge(add)
    assert a == b
    assert a["k"].elements() == ["y"]  # x was observed by the remove; y was not


def test_ormap_observed_remove_removes_everywhere() -> None:
    a, b = cv.ORMap(replica="A"), cv.ORMap(replica="B")
    b.merge(a.update("k", cv.PNCounter, lambda c: c.increment(5)))
    a.merge(b.remove("k"))
    assert "k" not in a and a == b
    assert a.remove("absent") == cv.ORMap()


def test_ormap_concurrent_counter_increments_sum() -> None:
    a, b = cv.ORMap(replica="A"), cv.ORMap(replica="B")
    da = a.update("k", cv.PNCounter, lambda c: c.increment(5))
    db = b.update("k", cv.PNCounter, lambda c: c.decrement(2))
    a.merge(db)
    b.merge(da)
    assert a == b and a["k"].value == 3


def test_ormap_concurrent_writes_of_two_types() -> None:
    a, b = cv.ORMap(replica="A"), cv.ORMap(replica="B")
    da = a.update("k", cv.LWWRegister, lambda r: r.set("v", timestamp=10))  # type tag 3
    db = b.update("k", cv.ORSet, lambda s: s.add("x"))  # type tag 4
    a.merge(db)
    b.merge(da)
    assert a == b
    assert a.type_of("k") is cv.ORSet  # readers see the greatest type tag
    assert a["k"].elements() == ["x"]
    with pytest.raises(cv.KeyTypeError):
        a.update("k", cv.LWWRegister, lambda r: r.set("w"))
    # An update as the visible type clears the other part, everywhere.
    b.merge(a.update("k", cv.ORSet, lambda s: s.add("y")))
    assert a == b and a["k"].elements() == ["x", "y"]
    b.merge(b.remove("k"))  # b saw every part
    assert "k" not in b


# ---- ORMap: shared value behaviour ----


def test_ormap_copy_pickle_bytes_and_merge_errors() -> None:
    m = _sample_ormap()
    for dup in (m.copy(), copy.copy(m), copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert dup == m and type(dup) is cv.ORMap
        dup.update("c", cv.PNCounter, lambda c: c.increment())  # bound to A as well
        assert m["c"].value == 3 and dup["c"].value == 4
    assert cv.ORMap.from_bytes(m.to_bytes()) == m
    with pytest.raises(cv.KeyTypeError, match="ORMap"):
        m.merge(cv.LWWMap())  # type: ignore[arg-type]
    assert m != cv.ORMap() and m != 0


# ---- LWWMap ----


def test_lwwmap_put_get_remove() -> None:
    a, b = cv.LWWMap(replica="A"), cv.LWWMap(replica="B")
    b.merge(a.put("k", "1", timestamp=10))
    d = b.put("k", "2", timestamp=5)  # observed ts 10: written at 11
    a.merge(d)
    assert a["k"] == b["k"] == "2" and a == b
    a.put("other", {"x": [1, None]}, timestamp=3)
    assert a.keys() == ["k", "other"] and a.values() == ["2", {"x": [1, None]}]
    assert a.items() == [("k", "2"), ("other", {"x": [1, None]})]
    assert a.get("other") == {"x": [1, None]} and a.get("nope", 0) == 0 and len(a) == 2
    assert repr(a) == "LWWMap({'k': '2', 'other': {'x': [1, None]}})"
    b.merge(a.remove("k"))
    assert "k" not in b
    with pytest.raises(KeyError):
        _ = b["k"]


def test_lwwmap_none_is_a_value_not_absence() -> None:
    m = cv.LWWMap(replica="A")
    m.put("k", None)
    assert "k" in m and m["k"] is None and m.get("k", 1) is None


def test_lwwmap_concurrent_puts_tie_by_replica() -> None:
    a, b = cv.LWWMap(replica="A"), cv.LWWMap(replica="B")
    da = a.put("k", "a", timestamp=7)
    db = b.put("k", "b", timestamp=7)
    a.merge(db)
    b.merge(da)
    assert a == b and a["k"] == ("a" if _id("A") > _id("B") else "b")


def test_lwwmap_put_concurrent_with_remove_survives() -> None:
    a, b = cv.LWWMap(replica="A"), cv.LWWMap(replica="B")
    b.merge(a.put("k", 1, timestamp=1))
    rm = b.remove("k")
    put = a.put("k", 2, timestamp=2)
    a.merge(rm)
    b.merge(put)
    assert a == b and a["k"] == 2


def test_lwwmap_arguments() -> None:
    m = cv.LWWMap()
    with pytest.raises(ValueError, match=r"LWWMap.put\(\).*pass replica="):
        m.put("k", 1)
    d = m.put("k", 1, replica="A")
    assert cv.LWWMap.from_bytes(d.to_bytes()) == d == m
    with pytest.raises(ValueError, match="timestamp"):
        m.put("k", 2, replica="A", timestamp=2**64)
    with pytest.raises(TypeError, match="timestamp"):
        m.put("k", 2, replica="A", timestamp="now")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="object"):
        m.put("k", object(), replica="A")
    with pytest.raises(TypeError):
        m.put("k", replica="A")  # type: ignore[call-arg]
    assert len(m) == 1 and m["k"] == 1


def test_lwwmap_default_timestamp_is_wall_clock() -> None:
    a, b = cv.LWWMap(replica="A"), cv.LWWMap(replica="B")
    b.put("k", "old", timestamp=time.time_ns() // 1000 - 10_000_000)  # 10 s ago
    a.put("k", "now")
    a.merge(b)
    assert a["k"] == "now"
    b.put("j", "future", timestamp=time.time_ns() // 1000 + 60_000_000)
    a.put("j", "now")
    a.merge(b)
    assert a["j"] == "future"


# ---- PNCounterMap ----


def test_pncountermap_increment_decrement_remove() -> None:
    a, b = cv.PNCounterMap(replica="A"), cv.PNCounterMap(replica="B")
    b.merge(a.increment("k", 3))
    rm = b.remove("k")
    inc = a.decrement("k")  # a's running total: +3, -1
    a.merge(rm)
    b.merge(inc)
    assert a == b and a["k"] == 2  # the concurrent update carries a's whole contribution
    a.increment("j", n=-4)
    a.decrement("j", -1)
    assert a.items() == [("j", -3), ("k", 2)] and a.values() == [-3, 2]
    assert repr(a) == "PNCounterMap({'j': -3, 'k': 2})"
    assert a.get("j") == -3 and a.get("zz") is None


def test_pncountermap_arguments() -> None:
    m = cv.PNCounterMap(replica="A")
    with pytest.raises(TypeError, match="int"):
        m.increment("k", 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="2\\*\\*63"):
        m.increment("k", 2**63)
    with pytest.raises(ValueError, match="2\\*\\*63"):
        m.decrement("k", -(2**63))
    m.increment("k", 2**63 - 1)
    m.decrement("k", 2**63 - 1)
    assert m["k"] == 0 and "k" in m  # a zero count is still a key
    m.increment("big", 2**63 - 1)
    m.increment("big", 2**63 - 1)
    m.increment("big", 1)
    with pytest.raises(OverflowError):
        m.increment("big", 1)  # this replica's increment slot would pass 2**64-1
    assert m["big"] == -1  # documented int64 wrap of the value: 2**64 - 1


def test_ormap_counter_slot_overflow() -> None:
    m = cv.ORMap(replica="A")

    def fill(c: Any) -> None:
        c.increment(2**63 - 1)
        c.increment(2**63 - 1)

    m.update("g", cv.GCounter, fill)
    m.update("g", cv.GCounter, lambda c: c.increment(1))
    with pytest.raises(OverflowError):
        m.update("g", cv.GCounter, lambda c: c.increment(1))
    assert m["g"].value == 2**64 - 1


# ---- ORMultiMap ----


def test_ormultimap_values_and_keys() -> None:
    a, b = cv.ORMultiMap(replica="A"), cv.ORMultiMap(replica="B")
    b.merge(a.add("k", "x"))
    b.merge(b.add("k", "y"))
    rm = b.remove("k", "x")
    add = a.add("k", "x")  # a concurrent re-add of x wins
    a.merge(rm)
    a.merge(b)
    b.merge(add)
    assert a == b and a["k"] == ["x", "y"]
    b.merge(b.remove_key("k"))
    assert "k" not in b and b.get("k") is None
    with pytest.raises(KeyError):
        _ = b["k"]
    a.add("j", 2)
    a.add("j", 1)
    assert a.items() == [("j", [1, 2]), ("k", ["x", "y"])]
    assert repr(a) == "ORMultiMap({'j': [1, 2], 'k': ['x', 'y']})"
    a.remove("j", 1)
    a.remove("j", 2)
    assert "j" not in a  # the last value gone: the key is gone
    assert a.remove("nope", 1) == cv.ORMultiMap()


def test_ormultimap_remove_key_concurrent_with_add() -> None:
    a, b = cv.ORMultiMap(replica="A"), cv.ORMultiMap(replica="B")
    b.merge(a.add("k", 1))
    rk = b.remove_key("k")
    add = a.add("k", 2)
    a.merge(rk)
    b.merge(add)
    assert a == b and a["k"] == [2]


# ---- all maps ----


def test_typed_map_mutators_need_a_replica() -> None:
    cases: list[tuple[Any, Callable[[Any], object]]] = [
        (cv.LWWMap(), lambda v: v.put("k", 1)),
        (cv.PNCounterMap(), lambda v: v.increment("k")),
        (cv.PNCounterMap(), lambda v: v.decrement("k")),
        (cv.ORMultiMap(), lambda v: v.add("k", 1)),
    ]
    for value, call in cases:
        with pytest.raises(ValueError, match="pass replica="):
            call(value)
        assert len(value) == 0
    # Removes create no dot; replica= is still checked.
    assert cv.LWWMap().remove("k") == cv.LWWMap()
    assert cv.ORMultiMap().remove_key("k", replica="A") == cv.ORMultiMap()
    with pytest.raises(TypeError):
        cv.PNCounterMap().remove("k", replica=b"A")  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", MAPS)
def test_merge_of_another_class_raises_key_type_error(cls: Any) -> None:
    for other in [*MAPS, cv.ORSet]:
        if other is cls:
            continue
        with pytest.raises(cv.KeyTypeError):
            cls().merge(other())


def test_repr_truncates_after_ten_keys() -> None:
    m = cv.PNCounterMap(replica="A")
    for i in range(11):
        m.increment(i, i)
    expected = ", ".join(f"{i}: {i}" for i in range(10))
    assert repr(m) == "PNCounterMap({" + expected + ", ...})"


def test_no_reference_leaks_in_map_calls() -> None:
    m = cv.ORMap(replica="A")
    key = "key-" + "x" * 40  # not interned: its count is ours alone

    def fn(s: Any) -> None:
        s.add(key)
        s.remove(key)
        _ = key in s

    def failing(s: Any) -> None:
        s.add(key)
        raise ValueError(key)

    def counts() -> tuple[int, int, int]:
        return sys.getrefcount(cv.ORMap), sys.getrefcount(key), sys.getrefcount(fn)

    # Instances of a heap type hold a reference to it: collect other tests' garbage first and
    # keep the collector from freeing unrelated ORMaps while we count.
    gc.collect()
    gc.disable()
    try:
        _leak_loop(m, key, fn, failing, counts)
    finally:
        gc.enable()


def _leak_loop(m: Any, key: str, fn: Any, failing: Any, counts: Any) -> None:
    before = counts()
    for _ in range(500):
        m.update(key, cv.ORSet, fn)
        with pytest.raises(ValueError):
            m.update(key, cv.ORSet, failing)
        _ = m[key], m.get(key), key in m, m.items(), repr(m), m.type_of(key)
        with pytest.raises(KeyError):
            _ = m["missing" + key]
        m.remove(key)
        with pytest.raises(cv.KeyTypeError):
            m.update(key, cv.ORSet, lambda s: s.add(key))
            m.update(key, cv.Flag, fn)
        m.remove(key)
    assert counts() == before


# ---- ORMap: convergence with keys written as different types ----

NESTED: list[Any] = [
    cv.GCounter,
    cv.PNCounter,
    cv.LWWRegister,
    cv.MVRegister,
    cv.ORSet,
    cv.GSet,
    cv.Flag,
]


def _mutate(h: Any, x: int) -> None:
    """One mutation of whatever handle type h is (x picks the argument)."""
    name = type(h).__name__
    if name in ("_GCounterEntry", "_PNCounterEntry"):
        h.increment(x)
    elif name == "_LWWRegisterEntry":
        h.set(x, timestamp=x)
    elif name == "_MVRegisterEntry":
        h.set(x)
    elif name == "_ORSetEntry":
        (h.add if x % 3 else h.remove)(x % 4)
    elif name == "_GSetEntry":
        h.add(x % 4)
    else:
        h.enable()


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_ormap_with_conflicting_types_converges(data: st.DataObject) -> None:
    """Replicas write keys as random types (concurrently: different ones); updates that meet
    another type raise KeyTypeError and change nothing. Every delta, shuffled and duplicated,
    then every full state: all replicas equal, and equal to the join of the full states."""
    names = ["A", "B", "C"]
    reps = [cv.ORMap(replica=n) for n in names]
    deltas: list[cv.ORMap] = []
    step = st.tuples(
        st.integers(0, 2),
        st.sampled_from(["k", "j"]),
        st.sampled_from(NESTED) | st.none(),  # None: remove the key
        st.lists(st.integers(0, 9), min_size=1, max_size=3),
        st.integers(0, 2),  # a replica to sync from first
    )
    for i, key, cls, xs, src in data.draw(st.lists(step, max_size=20)):
        r = reps[i]
        r.merge(reps[src])
        if cls is None:
            deltas.append(r.remove(key))
            continue
        held = r.type_of(key)
        before = r.copy()

        def fn(h: Any, xs: list[int] = xs) -> None:
            for x in xs:
                _mutate(h, x)

        if held is not None and held is not cls:
            with pytest.raises(cv.KeyTypeError):
                r.update(key, cls, fn)
            assert r == before
        else:
            deltas.append(r.update(key, cls, fn))
            assert r.type_of(key) in (cls, None)  # None: an ORSet emptied by removes
    full = cv.ORMap()
    for r in reps:
        full.merge(r)
    fresh = [cv.ORMap() for _ in names]
    for v in fresh:
        inbox = deltas + data.draw(st.lists(st.sampled_from(deltas), max_size=5)) if deltas else []
        data.draw(st.randoms()).shuffle(inbox)
        for d in inbox:
            v.merge(d)
        assert v == full
        assert cv.ORMap.from_bytes(v.to_bytes()) == v
        for k in v:  # every visible value reads
            assert type(v[k]) is v.type_of(k)
    for r in reps:
        for other in reps:
            r.merge(other)
        assert r == full
