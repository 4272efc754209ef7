"""Semantics of each standalone value type through the Python API."""

from __future__ import annotations

import copy
import pickle
import sys
import threading
import time

import pytest

import convergent as cv


def test_classes_present_as_convergent() -> None:
    for cls in (
        cv.GCounter,
        cv.PNCounter,
        cv.LWWRegister,
        cv.ORSet,
        cv.Flag,
        cv.MVRegister,
        cv.GSet,
    ):
        assert cls.__module__ == "convergent"
        assert getattr(cv, cls.__name__) is cls
        assert cls.__hash__ is None


# ---- GCounter / PNCounter ----


def test_gcounter_increment_merge_and_delta() -> None:
    a, b = cv.GCounter(), cv.GCounter()
    d1 = a.increment(replica="A")
    d2 = a.increment(4, replica="A")
    b.increment(2, replica="B")
    assert a.value == 5 and b.value == 2
    assert isinstance(d1, cv.GCounter) and d1.value == 1 and d2.value == 5  # slot state
    b.merge(d2)
    assert b.value == 7
    b.merge(d1)  # older delta of the same slot: no effect
    assert b.value == 7
    a.merge(b)
    assert a == b and a.value == 7
    assert repr(a) == "GCounter(value=7)"


def test_gcounter_rejects_negative_and_non_int() -> None:
    c = cv.GCounter(replica="A")
    with pytest.raises(ValueError, match="n >= 0"):
        c.increment(-1)
    with pytest.raises(TypeError, match="float"):
        c.increment(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        c.increment(2**64)
    assert c.value == 0
    assert c.increment(0).value == 0  # a no-op, an empty delta


def test_gcounter_slot_overflow_raises_and_keeps_state() -> None:
    c = cv.GCounter(replica="A")
    c.increment(2**64 - 1)
    with pytest.raises(OverflowError):
        c.increment(1)
    assert c.value == 2**64 - 1


def test_gcounter_value_wraps_beyond_64_bits() -> None:
    a = cv.GCounter()
    a.increment(2**63, replica="A")
    a.increment(2**63, replica="B")
    assert a.value == 0  # documented: the sum wraps modulo 2**64


def test_pncounter_increments_and_decrements() -> None:
    c = cv.PNCounter(replica="A")
    c.increment(5)
    c.decrement(2)
    assert c.value == 3
    same = c.copy()
    d = c.increment(-3)  # the same as decrement(3)
    e = same.decrement(3)
    assert c.value == 0 and c == same and d == e
    c.decrement(-10)
    assert c.value == 10
    big = cv.PNCounter(replica="A")
    big.decrement(2**64 - 1)  # magnitudes up to 2**64 - 1 are accepted
    assert big.value == 1  # documented: an int64 result, -(2**64 - 1) wraps to 1
    with pytest.raises(ValueError):
        big.increment(-(2**64))
    assert repr(cv.PNCounter()) == "PNCounter(value=0)"


def test_pncounter_negative_values_and_merge() -> None:
    a, b = cv.PNCounter(replica="A"), cv.PNCounter(replica="B")
    da = a.decrement(7)
    db = b.increment(2)
    a.merge(db)
    b.merge(da)
    assert a == b and a.value == -5
    assert repr(a) == "PNCounter(value=-5)"


# ---- LWWRegister ----


def test_lww_register_last_writer_wins() -> None:
    a, b = cv.LWWRegister(replica="A"), cv.LWWRegister(replica="B")
    assert a.value is None and a.timestamp == 0
    a.set("old", timestamp=100)
    b.set("new", timestamp=200)
    a.merge(b)
    b.merge(a)
    assert a.value == b.value == "new" and a.timestamp == 200
    assert repr(a) == "LWWRegister(value='new', timestamp=200)"


def test_lww_register_own_writes_always_advance() -> None:
    r = cv.LWWRegister(replica="A")
    r.set(1, timestamp=1000)
    d = r.set(2, timestamp=5)  # the clock went back: max(clock, last + 1)
    assert r.value == 2 and r.timestamp == 1001
    assert d == r  # the delta is the register itself


def test_lww_register_default_timestamp_is_wall_clock_micros() -> None:
    r = cv.LWWRegister()
    before = time.time_ns() // 1000
    r.set({"k": [1, 2]}, replica=1)
    after = time.time_ns() // 1000
    assert before <= r.timestamp <= after + 1
    assert r.value == {"k": [1, 2]}


def test_lww_register_tie_is_deterministic() -> None:
    a, b = cv.LWWRegister(replica="A"), cv.LWWRegister(replica="B")
    a.set("a", timestamp=7)
    b.set("b", timestamp=7)
    ab, ba = a.copy(), b.copy()
    ab.merge(b)
    ba.merge(a)
    assert ab == ba
    assert ab.value == ("a" if _id("A") > _id("B") else "b")  # equal times: the higher id


def _id(name: str) -> int:
    """The replica id a name stands for: 64-bit FNV-1a of its UTF-8 bytes (ids.h)."""
    h = 0xCBF29CE484222325
    for byte in name.encode():
        h = ((h ^ byte) * 0x100000001B3) % 2**64
    return h


def test_lww_register_bad_timestamp() -> None:
    r = cv.LWWRegister(replica="A")
    with pytest.raises(ValueError):
        r.set(1, timestamp=-1)
    with pytest.raises(TypeError):
        r.set(1, timestamp=1.0)  # type: ignore[arg-type]
    assert r.value is None


# ---- MVRegister ----


def test_mv_register_keeps_concurrent_writes() -> None:
    a, b = cv.MVRegister(replica="A"), cv.MVRegister(replica="B")
    assert a.values == []
    da = a.set(2)
    db = b.set(1)
    a.merge(db)
    b.merge(da)
    assert a == b and a.values == [1, 2]
    assert repr(a) == "MVRegister(values=[1, 2])"
    d = a.set("x")  # overwrites both values it has seen
    b.merge(d)
    assert b.values == ["x"]


# ---- Flag ----


def test_flag() -> None:
    f = cv.Flag()
    assert not f.enabled and repr(f) == "Flag(enabled=False)"
    d = f.enable()  # a flag needs no replica
    assert f.enabled and d.enabled and repr(f) == "Flag(enabled=True)"
    g = cv.Flag()
    g.merge(d)
    assert g == f
    g.merge(cv.Flag())
    assert g.enabled


# ---- ORSet / GSet ----


def test_orset_add_remove_and_reads() -> None:
    s = cv.ORSet(replica="A")
    s.add("b")
    s.add("a")
    s.add(1)
    assert len(s) == 3
    assert "a" in s and 1 in s and "z" not in s
    assert s.elements() == [1, "a", "b"]  # canonical (msgpack byte) order
    assert list(s) == s.elements()
    s.remove("a")
    assert s.elements() == [1, "b"]
    assert repr(s) == "ORSet([1, 'b'])"
    s.clear()
    assert len(s) == 0 and s.elements() == []


def test_orset_add_wins_over_concurrent_remove() -> None:
    a, b = cv.ORSet(replica="A"), cv.ORSet(replica="B")
    b.merge(a.add("milk"))
    r = b.remove("milk")  # removes the add it has seen
    again = a.add("milk")  # concurrent re-add: a new dot
    a.merge(r)
    b.merge(again)
    assert "milk" in a and "milk" in b and a == b


def test_orset_remove_delta_only_removes_observed_adds() -> None:
    a, b = cv.ORSet(replica="A"), cv.ORSet(replica="B")
    b.add("x")  # b's own add, unseen by a
    a.add("x")
    b_state = b.copy()
    b.merge(a.remove("x"))
    assert "x" in b
    b_state.merge(a)
    assert b_state.elements() == ["x"]


def test_orset_remove_of_absent_element_is_empty_delta() -> None:
    s = cv.ORSet(replica="A")
    assert s.remove("nothing") == cv.ORSet()


def test_orset_repr_truncates_after_ten() -> None:
    s = cv.ORSet(replica="A")
    for i in range(12):
        s.add(i)
    assert repr(s) == "ORSet([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ...])"


def test_orset_contains_unserializable_raises_type_error() -> None:
    with pytest.raises(TypeError, match="set"):
        _ = set() in cv.ORSet()


def test_gset() -> None:
    a, b = cv.GSet(), cv.GSet()
    a.merge(b.add("x"))
    a.add("y")
    a.add("x")
    assert a.elements() == ["x", "y"] and len(a) == 2 and "y" in a
    assert repr(a) == "GSet(['x', 'y'])"
    b.merge(a)
    assert a == b


# ---- replica ids ----


def test_mutators_need_a_replica() -> None:
    for value, call in [
        (cv.GCounter(), lambda v: v.increment()),
        (cv.PNCounter(), lambda v: v.decrement()),
        (cv.LWWRegister(), lambda v: v.set(1)),
        (cv.MVRegister(), lambda v: v.set(1)),
        (cv.ORSet(), lambda v: v.add(1)),
    ]:
        with pytest.raises(ValueError, match="pass replica="):
            call(value)


def test_bound_replica_and_explicit_replica() -> None:
    bound = cv.ORSet(replica="A")
    bound.add("x")
    explicit = cv.ORSet()
    explicit.add("x", replica="A")
    assert bound == explicit  # the name hashes to the same id
    other = cv.ORSet()
    other.add("x", replica="B")
    assert other != bound
    bound.add("y", replica="B")  # an explicit replica overrides the bound one
    other2 = cv.ORSet(replica="A")
    other2.add("x")
    other2.add("y", replica="B")
    assert bound == other2


def test_replica_ids_as_ints() -> None:
    c = cv.GCounter()
    c.increment(replica=0)
    c.increment(replica=2**64 - 1)
    assert c.value == 2
    for bad in (-1, 2**64):
        with pytest.raises(ValueError):
            c.increment(replica=bad)
    with pytest.raises(ValueError):
        cv.GCounter(replica=-5)
    with pytest.raises(ValueError):
        cv.GCounter(replica="")
    with pytest.raises(TypeError):
        cv.GCounter(replica=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        c.increment(replica=True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        c.increment(replica=b"A")  # type: ignore[arg-type]
    assert c.value == 2


def test_named_and_int_replica_are_the_same_slot_when_ids_match() -> None:
    a = cv.GCounter()
    a.increment(replica="A")
    b = cv.GCounter()
    b.increment(replica=_id("A"))
    assert a == b


def test_deltas_are_unbound() -> None:
    d = cv.ORSet(replica="A").add("x")
    with pytest.raises(ValueError, match="pass replica="):
        d.add("y")


# ---- merge / equality / copies ----


def test_merge_other_class_raises_key_type_error() -> None:
    with pytest.raises(cv.KeyTypeError, match="GCounter.*ORSet"):
        cv.ORSet().merge(cv.GCounter())  # type: ignore[arg-type]
    with pytest.raises(TypeError):  # KeyTypeError is a TypeError
        cv.ORSet().merge("not a value")  # type: ignore[arg-type]


def test_merge_with_itself_is_a_no_op() -> None:
    s = cv.ORSet(replica="A")
    s.add(1)
    before = s.copy()
    s.merge(s)
    assert s == before


def test_equality_with_other_types() -> None:
    assert cv.GCounter() != cv.PNCounter()
    assert cv.GCounter() != 0
    assert cv.ORSet() == cv.ORSet()
    with pytest.raises(TypeError):
        hash(cv.ORSet())


def test_copy_and_pickle_are_independent_and_keep_binding() -> None:
    s = cv.ORSet(replica="A")
    s.add("x")
    for dup in (s.copy(), copy.copy(s), copy.deepcopy(s), pickle.loads(pickle.dumps(s))):
        assert dup == s and type(dup) is cv.ORSet
        dup.add("y")  # bound to A as well
        assert "y" not in s
        expected = s.copy()
        expected.add("y", replica="A")
        assert dup == expected


def test_large_merge_releases_gil_and_guards_against_concurrent_use() -> None:
    big = cv.ORSet(replica="A")
    for i in range(300_000):
        big.add(i)
    target = cv.ORSet(replica="B")
    errors: list[BaseException] = []

    def merge() -> None:
        try:
            target.merge(big)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    t = threading.Thread(target=merge)
    t.start()
    refused = 0
    while t.is_alive():
        try:
            target.add("during", replica="C")
        except RuntimeError as e:
            assert "another thread" in str(e)
            refused += 1
            assert len(big) == 300_000  # the source of the running merge can still be read
    t.join()
    assert not errors
    # The merge released the GIL, so this thread ran meanwhile, and was refused the write.
    assert refused > 0
    target.remove("during")  # in case one add got in after the merge, before the loop ended
    assert target.elements() == big.elements()


def test_no_reference_leaks_in_calls_and_errors() -> None:
    s = cv.ORSet(replica="A")
    x = "element-" + "x" * 40  # not interned: its count is ours alone
    replica = "R-" + "y" * 40

    def counts() -> tuple[int, int, int]:
        return sys.getrefcount(cv.ORSet), sys.getrefcount(x), sys.getrefcount(replica)

    before = counts()
    for _ in range(1000):
        s.add(x, replica=replica)
        s.remove(x)
        _ = x in s
        s.copy()
        cv.ORSet.from_bytes(s.to_bytes())
        repr(s)
        with pytest.raises(TypeError):
            s.add(x, replica=replica, bogus=1)  # type: ignore[call-arg]
        with pytest.raises(TypeError):
            s.add([x, set()])
    assert counts() == before
