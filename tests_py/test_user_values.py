"""User values: Python data <-> canonical msgpack, done in the binding (py_value.cc)."""

from __future__ import annotations

import math
import struct
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

import convergent as cv
from convergent import _core

INT = st.integers(min_value=-(2**63), max_value=2**64 - 1)
SCALARS = st.none() | st.booleans() | INT | st.floats() | st.text() | st.binary()
KEYS = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3).map(tuple), max_leaves=6)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(KEYS, inner, max_size=4)
    ),
    max_leaves=20,
)


def normalize(x: Any, as_key: bool = False) -> Any:
    """What a value reads back as: arrays become lists (tuples when they are dict keys)."""
    if isinstance(x, (list, tuple)):
        items = [normalize(i, as_key) for i in x]
        return tuple(items) if as_key else items
    if isinstance(x, dict):
        return {normalize(k, True): normalize(v) for k, v in x.items()}
    if isinstance(x, (bytearray, memoryview)):
        return bytes(x)
    return x


def has_nan(x: Any) -> bool:
    if isinstance(x, float):
        return math.isnan(x)
    if isinstance(x, (list, tuple)):
        return any(has_nan(i) for i in x)
    if isinstance(x, dict):
        return any(has_nan(k) or has_nan(v) for k, v in x.items())
    return False


@given(VALUES)
def test_binding_encoding_equals_codec_canonical_form(x: Any) -> None:
    # msgpack-python writes dicts in insertion order: the codec canonicalises them.
    foreign = msgpack.packb(x, use_bin_type=True)
    assert _core.pack_value(x) == _core.canonical_msgpack(foreign)


@given(VALUES)
def test_values_round_trip(x: Any) -> None:
    packed = _core.pack_value(x)
    back = _core.unpack_value(packed)
    assert _core.pack_value(back) == packed
    if not has_nan(x):
        assert back == normalize(x)


@given(st.dictionaries(KEYS, VALUES, max_size=6), st.randoms())
def test_dict_key_order_does_not_matter(d: dict[Any, Any], rnd: Any) -> None:
    items = list(d.items())
    rnd.shuffle(items)
    assert _core.pack_value(dict(items)) == _core.pack_value(d)


def test_element_identity_is_the_canonical_encoding() -> None:
    s = cv.ORSet(replica="A")
    s.add(1)
    s.add(1.0)
    s.add(True)
    s.add("1")
    s.add(b"1")
    assert len(s) == 5  # 1, 1.0, True, "1" and b"1" are all different elements
    assert 1 in s and 1.0 in s and True in s and False not in s
    s.add({"a": 1, "b": 2})
    assert {"b": 2, "a": 1} in s  # dict key order does not matter
    assert len(s) == 6
    s.add((1, 2))
    assert [1, 2] in s and len(s) == 7  # a tuple is the same element as a list
    s.add(bytearray(b"xy"))
    assert b"xy" in s and memoryview(b"xy") in s and len(s) == 8
    s.add(0.0)
    s.add(-0.0)
    assert len(s) == 10  # different float64 bits
    s.add(math.nan)
    s.add(struct.unpack(">d", bytes.fromhex("fff8000000000001"))[0])
    assert len(s) == 11  # but every NaN is the one canonical NaN


def test_values_read_back_as_python_data() -> None:
    r = cv.LWWRegister(replica="A")
    value = {"list": [1, (2, 3)], (1, "k"): None, "bytes": b"\x00\xff", "f": 1.5, "neg": -7}
    r.set(value)
    assert r.value == {
        "list": [1, [2, 3]],
        (1, "k"): None,
        "bytes": b"\x00\xff",
        "f": 1.5,
        "neg": -7,
    }


@pytest.mark.parametrize(
    ("bad", "name"),
    [
        (set(), "set"),
        (object(), "object"),
        (frozenset({1}), "frozenset"),
        (1j, "complex"),
        ([1, {"a": {1, 2}}], "set"),
        ({"k": [object()]}, "object"),
        ({(1, frozenset()): 1}, "frozenset"),
    ],
)
def test_unserializable_values_raise_type_error_naming_the_type(bad: Any, name: str) -> None:
    with pytest.raises(TypeError, match=rf"msgpack-serializable .*got {name}$"):
        _core.pack_value(bad)
    s = cv.ORSet(replica="A")
    with pytest.raises(TypeError, match=rf"got {name}$"):
        s.add(bad)
    assert len(s) == 0
    with pytest.raises(TypeError, match=rf"got {name}$"):
        cv.LWWRegister(replica="A").set(bad)


def test_user_class_type_error_names_the_class() -> None:
    class Point:
        pass

    with pytest.raises(TypeError, match="got Point$"):
        cv.GSet().add(Point())


@pytest.mark.parametrize("n", [2**64, -(2**63) - 1, 10**30])
def test_integers_outside_64_bits_raise_value_error(n: int) -> None:
    with pytest.raises(ValueError, match="64 bits"):
        _core.pack_value(n)
    with pytest.raises(ValueError, match="64 bits"):
        _core.pack_value([1, {"k": n}])


@pytest.mark.parametrize("n", [2**64 - 1, -(2**63), 2**63, -1, -32, -33, 127, 128])
def test_integers_at_the_edges(n: int) -> None:
    assert _core.unpack_value(_core.pack_value(n)) == n
    assert _core.pack_value(n) == _core.canonical_msgpack(msgpack.packb(n))


def test_nesting_limit_matches_the_codec() -> None:
    def nested(depth: int) -> Any:
        x: Any = 0
        for _ in range(depth):
            x = [x]
        return x

    ok, too_deep = nested(64), nested(65)
    assert _core.pack_value(ok) == _core.canonical_msgpack(msgpack.packb(ok))
    with pytest.raises(ValueError, match="deep"):
        _core.pack_value(too_deep)
    with pytest.raises(cv.DecodeError):
        _core.canonical_msgpack(msgpack.packb(too_deep))
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="deep"):
        _core.pack_value(loop)


def test_dict_keys_with_the_same_encoding_raise_value_error() -> None:
    class Distinct(int):  # equal ints that a dict keeps apart
        def __eq__(self, other: object) -> bool:
            return self is other

        def __hash__(self) -> int:
            return id(self)

    with pytest.raises(ValueError, match="same msgpack encoding"):
        _core.pack_value({Distinct(1): "a", Distinct(1): "b"})


def test_lone_surrogate_is_a_value_error() -> None:
    with pytest.raises(ValueError):  # UnicodeEncodeError
        _core.pack_value("\ud800")


def test_foreign_msgpack_forms() -> None:
    # float32 becomes float64; an array used as a map key reads as a tuple.
    assert _core.unpack_value(b"\xca" + struct.pack(">f", 1.5)) == 1.5
    assert _core.canonical_msgpack(b"\xca" + struct.pack(">f", 1.5)) == _core.pack_value(1.5)
    assert _core.unpack_value(msgpack.packb({(1, 2): 3})) == {(1, 2): 3}
    with pytest.raises(ValueError, match="ext"):
        _core.unpack_value(msgpack.packb(msgpack.ExtType(5, b"abc")))
    with pytest.raises(ValueError, match="map key"):
        _core.unpack_value(b"\x81\x81\x01\x02\x03")  # {{1: 2}: 3}
    with pytest.raises(cv.DecodeError):
        _core.unpack_value(b"\x92\x01")  # truncated array
    with pytest.raises(cv.DecodeError):
        _core.canonical_msgpack(b"\xa2\xff\xfe")  # invalid UTF-8
    with pytest.raises(TypeError, match="bytes"):
        _core.unpack_value("not bytes")  # type: ignore[arg-type]
