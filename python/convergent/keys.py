"""Typed keys: a key names a replicated value and fixes its CRDT type.

``cv.ORSetKey("cart")`` names an ORSet; keys are immutable, hashable and equal by (name, type).
The type travels on the wire with every state and is checked everywhere.
"""

from __future__ import annotations

import builtins
from typing import Any, ClassVar, Generic, TypeVar

from ._core import (
    Flag,
    GCounter,
    GSet,
    LWWMap,
    LWWRegister,
    MVRegister,
    ORMap,
    ORMultiMap,
    ORSet,
    PNCounter,
    PNCounterMap,
)

__all__ = [
    "FlagKey",
    "GCounterKey",
    "GSetKey",
    "Key",
    "LWWMapKey",
    "LWWRegisterKey",
    "MVRegisterKey",
    "ORMapKey",
    "ORMultiMapKey",
    "ORSetKey",
    "PNCounterKey",
    "PNCounterMapKey",
]

V = TypeVar("V", covariant=True)


class Key(Generic[V]):
    """A named, typed key. Subclasses set ``type``, the value class of the key."""

    __slots__ = ("_name",)
    _name: str

    # The value class (cv.ORSet, ...).
    type: ClassVar[builtins.type[Any]]

    def __init__(self, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"a key name must be a str, got {type(name).__name__}")
        if not name:
            raise ValueError("a key name must not be empty")
        object.__setattr__(self, "_name", name)

    @property
    def name(self) -> str:
        """The key's name: it identifies the value within the cluster, together with the type."""
        return self._name

    @property
    def type_name(self) -> str:
        """The CRDT type's name, e.g. ``"ORSet"``."""
        return type(self).type.__name__

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Key):
            return NotImplemented
        return self._name == other._name and type(self).type == type(other).type

    def __hash__(self) -> int:
        return hash((self._name, self.type_name))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._name!r})"

    def __reduce__(self) -> tuple[builtins.type[Key[Any]], tuple[str]]:
        return (type(self), (self._name,))


class GCounterKey(Key[GCounter]):
    """The key of a replicated :class:`GCounter`."""

    __slots__ = ()
    type = GCounter


class PNCounterKey(Key[PNCounter]):
    """The key of a replicated :class:`PNCounter`."""

    __slots__ = ()
    type = PNCounter


class LWWRegisterKey(Key[LWWRegister]):
    """The key of a replicated :class:`LWWRegister`."""

    __slots__ = ()
    type = LWWRegister


class ORSetKey(Key[ORSet]):
    """The key of a replicated :class:`ORSet`."""

    __slots__ = ()
    type = ORSet


class FlagKey(Key[Flag]):
    """The key of a replicated :class:`Flag`."""

    __slots__ = ()
    type = Flag


class MVRegisterKey(Key[MVRegister]):
    """The key of a replicated :class:`MVRegister`."""

    __slots__ = ()
    type = MVRegister


class GSetKey(Key[GSet]):
    """The key of a replicated :class:`GSet`."""

    __slots__ = ()
    type = GSet


class ORMapKey(Key[ORMap]):
    """The key of a replicated :class:`ORMap`."""

    __slots__ = ()
    type = ORMap


class LWWMapKey(Key[LWWMap]):
    """The key of a replicated :class:`LWWMap`."""

    __slots__ = ()
    type = LWWMap


class PNCounterMapKey(Key[PNCounterMap]):
    """The key of a replicated :class:`PNCounterMap`."""

    __slots__ = ()
    type = PNCounterMap


class ORMultiMapKey(Key[ORMultiMap]):
    """The key of a replicated :class:`ORMultiMap`."""

    __slots__ = ()
    type = ORMultiMap


_KEY_CLASSES: dict[str, builtins.type[Key[Any]]] = {
    cls.type.__name__: cls
    for cls in (
        GCounterKey,
        PNCounterKey,
        LWWRegisterKey,
        ORSetKey,
        FlagKey,
        MVRegisterKey,
        GSetKey,
        ORMapKey,
        LWWMapKey,
        PNCounterMapKey,
        ORMultiMapKey,
    )
}


def key_of_type(type_name: str, name: str) -> Key[Any]:
    """The key named ``name`` of the CRDT type called ``type_name`` (``"ORSet"`` -> ORSetKey)."""
    return _KEY_CLASSES[type_name](name)
