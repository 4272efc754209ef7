"""to_bytes() / Type.from_bytes(): round trips, corrupt input, bytes of another type."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import convergent as cv

CLASSES = [
    cv.GCounter,
    cv.PNCounter,
    cv.LWWRegister,
    cv.MVRegister,
    cv.ORSet,
    cv.Flag,
    cv.GSet,
    cv.ORMap,
    cv.LWWMap,
    cv.PNCounterMap,
    cv.ORMultiMap,
]


def samples() -> list[Any]:
    g = cv.GCounter(replica="A")
    g.increment(3)
    g.increment(2, replica="B")
    p = cv.PNCounter(replica="A")
    p.increment(5)
    p.decrement(9, replica="B")
    lww = cv.LWWRegister(replica="A")
    lww.set({"x": [1, 2.5, None]}, timestamp=42)
    mv = cv.MVRegister(replica="A")
    mv.set("a")
    mv.merge(cv.MVRegister(replica="B").set("b"))
    s = cv.ORSet(replica="A")
    for x in ("a", 1, b"z", (1, 2)):
        s.add(x)
    s.remove(1)
    f = cv.Flag()
    f.enable()
    gs = cv.GSet()
    gs.add("x")
    gs.add(2)
    return [g, p, lww, mv, s, f, gs, *map_samples(), *[cls() for cls in CLASSES]]


def map_samples() -> list[Any]:
    """One non-empty value of each map class (in the order of CLASSES)."""
    m = cv.ORMap(replica="A")
    m.update("c", cv.PNCounter, lambda c: c.decrement(4))
    m.update((1, "k"), cv.ORSet, lambda s: s.add({"x": 1}))
    m.update("f", cv.Flag, lambda f: f.enable())
    m.update("r", cv.LWWRegister, lambda r: r.set(b"v", timestamp=3), replica="B")
    m.update("m", cv.MVRegister, lambda r: r.set(None))
    m.update("g", cv.GSet, lambda s: s.add(1.5))
    m.update("n", cv.GCounter, lambda c: c.increment(9))
    m.remove("f")
    lww = cv.LWWMap(replica="A")
    lww.put("a", [1, "x"], timestamp=10)
    lww.put("b", 2)
    lww.remove("b")
    pn = cv.PNCounterMap(replica="A")
    pn.increment("a", 5)
    pn.decrement("a", 2, replica="B")
    pn.increment(7)
    multi = cv.ORMultiMap(replica="A")
    multi.add("a", 1)
    multi.add("a", 2, replica="B")
    multi.remove("a", 1)
    multi.add(b"k", "v")
    return [m, lww, pn, multi]


@pytest.mark.parametrize("value", samples(), ids=repr)
def test_round_trip(value: Any) -> None:
    data = value.to_bytes()
    assert isinstance(data, bytes)
    back = type(value).from_bytes(data)
    assert back == value and type(back) is type(value)
    assert back.to_bytes() == data  # canonical
    assert type(value).from_bytes(bytearray(data)) == value
    assert type(value).from_bytes(memoryview(data)) == value


def test_read_values_survive_the_round_trip() -> None:
    mv, lww, s = samples()[3], samples()[2], samples()[4]
    assert cv.MVRegister.from_bytes(mv.to_bytes()).values == ["a", "b"]
    assert cv.LWWRegister.from_bytes(lww.to_bytes()).value == {"x": [1, 2.5, None]}
    assert cv.LWWRegister.from_bytes(lww.to_bytes()).timestamp == 42
    assert cv.ORSet.from_bytes(s.to_bytes()).elements() == s.elements()
    m, lww, pn, multi = (type(v).from_bytes(v.to_bytes()) for v in map_samples())
    assert m.keys() == [[1, "k"], "c", "g", "m", "n", "r"]  # fixarray before fixstr
    assert m["c"].value == -4 and m[(1, "k")].elements() == [{"x": 1}]
    assert m["r"].value == b"v" and m["r"].timestamp == 3 and m["m"].values == [None]
    assert m["g"].elements() == [1.5] and m["n"].value == 9 and m.type_of("f") is None
    assert lww.items() == [("a", [1, "x"])]
    assert pn.items() == [(7, 1), ("a", 3)]
    assert multi.items() == [("a", [2]), (b"k", ["v"])]


def test_decoded_values_are_unbound() -> None:
    s = cv.ORSet.from_bytes(cv.ORSet(replica="A").to_bytes())
    with pytest.raises(ValueError, match="pass replica="):
        s.add(1)


def test_equal_states_encode_equal() -> None:
    a, b = cv.ORSet(replica="A"), cv.ORSet(replica="B")
    a.add("x")
    b.add("y")
    ab, ba = a.copy(), b.copy()
    ab.merge(b)
    ba.merge(a)
    assert ab.to_bytes() == ba.to_bytes()


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("data", [b"", b"\xff\xff\xff", b"not a crdt state at all"])
def test_corrupt_bytes_raise_decode_error(cls: Any, data: bytes) -> None:
    with pytest.raises(cv.DecodeError) as info:
        cls.from_bytes(data)
    assert isinstance(info.value, ValueError) and isinstance(info.value, cv.Error)
    assert str(info.value)  # the codec's message


@pytest.mark.parametrize("value", samples()[: len(CLASSES)], ids=repr)
def test_bytes_of_another_type_raise_key_type_error(value: Any) -> None:
    data = value.to_bytes()
    for cls in CLASSES:
        if cls is type(value):
            continue
        with pytest.raises(cv.KeyTypeError) as info:
            cls.from_bytes(data)
        message = str(info.value)
        assert cls.__name__ in message and type(value).__name__ in message
        assert isinstance(info.value, TypeError)


def test_from_bytes_rejects_non_bytes() -> None:
    with pytest.raises(TypeError, match="bytes"):
        cv.ORSet.from_bytes("text")  # type: ignore[arg-type]


@given(st.sampled_from(range(len(CLASSES))), st.data())
def test_mangled_bytes_never_crash(index: int, data: st.DataObject) -> None:
    value = samples()[index]
    raw = bytearray(value.to_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if op == "flip" and raw:
            raw[pos] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del raw[pos:]
        else:
            raw.insert(pos, data.draw(st.integers(0, 255)))
    for cls in CLASSES:
        try:
            decoded = cls.from_bytes(bytes(raw))
        except (cv.DecodeError, cv.KeyTypeError):
            continue
        # Whatever decodes is a valid value: it re-encodes and reads without error.
        assert cls.from_bytes(decoded.to_bytes()) == decoded
        repr(decoded)


def test_large_state_round_trip() -> None:
    s = cv.ORSet(replica="A")
    for i in range(100_000):
        s.add(f"e{i}")
    data = s.to_bytes()  # encoded and decoded with the GIL released
    assert len(data) > 64 * 1024
    assert cv.ORSet.from_bytes(data) == s
