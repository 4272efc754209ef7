"""Typed keys."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

import convergent as cv

VALUE_KEYS = {
    cv.GCounterKey: cv.GCounter,
    cv.PNCounterKey: cv.PNCounter,
    cv.LWWRegisterKey: cv.LWWRegister,
    cv.ORSetKey: cv.ORSet,
    cv.FlagKey: cv.Flag,
    cv.MVRegisterKey: cv.MVRegister,
    cv.GSetKey: cv.GSet,
    cv.ORMapKey: cv.ORMap,
    cv.LWWMapKey: cv.LWWMap,
    cv.PNCounterMapKey: cv.PNCounterMap,
    cv.ORMultiMapKey: cv.ORMultiMap,
}
ALL_KEYS: list[Any] = [*VALUE_KEYS]


def test_eleven_key_types() -> None:
    assert len(ALL_KEYS) == 11
    for key_cls in ALL_KEYS:
        assert key_cls.__name__ in cv.__all__


@pytest.mark.parametrize("key_cls", ALL_KEYS)
def test_key_basics(key_cls: Any) -> None:
    k = key_cls("cart")
    assert k.name == "cart"
    assert k.type is VALUE_KEYS[key_cls]
    assert k.type_name == key_cls.__name__.removesuffix("Key")
    assert repr(k) == f"{key_cls.__name__}('cart')"
    assert k == key_cls("cart") and hash(k) == hash(key_cls("cart"))
    assert k != key_cls("other")
    assert pickle.loads(pickle.dumps(k)) == k
    assert isinstance(k, cv.Key)
    with pytest.raises(AttributeError):
        k.name = "x"
    with pytest.raises(AttributeError):
        k.other = 1


def test_keys_equal_by_name_and_type() -> None:
    assert cv.ORSetKey("a") != cv.GSetKey("a")
    assert cv.GCounterKey("a") != cv.PNCounterKey("a")
    assert len({cv.ORSetKey("a"), cv.ORSetKey("a"), cv.GSetKey("a"), cv.ORSetKey("b")}) == 3
    assert cv.ORSetKey("a") != "a"


def test_key_name_must_be_a_non_empty_str() -> None:
    with pytest.raises(ValueError):
        cv.ORSetKey("")
    with pytest.raises(TypeError):
        cv.ORSetKey(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cv.ORSetKey(b"cart")  # type: ignore[arg-type]
