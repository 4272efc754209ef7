"""Update functions recorded as operations, for node processes (``_control.py``).

A process-backed replicator runs the user's ``fn`` in the driver on a *recording handle*: a stand-in
for the key's value whose mutators (the ones of API.md's table, ORMap's nested ``update`` included)
append ``(method, args, kwargs)`` to a list instead of changing anything. The node process replays
the list on the real value as one local update of its own (``replay``), so an update costs one
message, needs no copy of the key's state in the driver, and, at ``cv.LOCAL``, need not wait.

A function that reads the value (``len(s)``, ``x in s``, ``c.value``, printing it, ...) or names a
writer (``replica=``) cannot be recorded: the handle raises ``NeedsState`` and the caller runs fn
again on the key's value fetched from the node (the old way; fn then runs twice). Arguments are
checked as values here (msgpack-serializable, else TypeError at once); errors that depend on the
node's state (another type under the key, a deleted key, a bad count) come from the node.
Private: not part of the public API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _core

__all__ = ["NeedsState", "record", "replay"]

# One recorded call: (method, args, kwargs); ORMap.update's is
# ("update", (key, type name, nested ops), {}).
Op = tuple[str, tuple[Any, ...], dict[str, Any]]

# The mutators of each type (and of the nested handles ORMap.update passes), by type name.
_MUTATORS: dict[str, tuple[str, ...]] = {
    "GCounter": ("increment",),
    "PNCounter": ("increment", "decrement"),
    "LWWRegister": ("set",),
    "MVRegister": ("set",),
    "Flag": ("enable",),
    "ORSet": ("add", "remove", "clear"),
    "GSet": ("add",),
    "ORMap": ("update", "remove"),
    "LWWMap": ("put", "remove"),
    "PNCounterMap": ("increment", "decrement", "remove"),
    "ORMultiMap": ("add", "remove", "remove_key"),
}


class NeedsState(Exception):
    """fn read the value or named a writer: it must run on the value itself."""


class _Recording:
    """A recording handle: mutators append to ``_ops``; anything else raises NeedsState."""

    __slots__ = ("_ops",)

    def __init__(self, ops: list[Op]) -> None:
        self._ops = ops

    def __getattr__(self, name: str) -> Any:  # a read: elements(), value, get(), ...
        raise NeedsState(name)

    def _read(self, *args: object, **kwargs: object) -> Any:
        raise NeedsState("read")

    __len__ = __iter__ = __contains__ = __getitem__ = __bool__ = _read
    __eq__ = __ne__ = __hash__ = __repr__ = __str__ = _read


def _recorder(name: str) -> Callable[..., None]:
    def mutate(self: _Recording, *args: Any, **kwargs: Any) -> None:
        if "replica" in kwargs:
            raise NeedsState("replica")
        for a in args:
            _core.pack_value(a)  # TypeError now for what is not a value
        self._ops.append((name, args, kwargs))

    mutate.__name__ = name
    return mutate


def _ormap_update(
    self: _Recording, key: Any, type: Any, fn: Callable[[Any], object], **kwargs: Any
) -> None:
    if kwargs:
        raise NeedsState("replica")
    type_name = getattr(type, "__name__", None)
    if type_name not in _MUTATORS or type_name in _MAP_TYPES:
        raise TypeError(f"ORMap.update(): type must be a nestable CRDT class, got {type!r}")
    _core.pack_value(key)
    nested: list[Op] = []
    try:
        fn(_CLASSES[type_name](nested))
    finally:
        self._ops.append(("update", (key, type_name, nested), {}))


_MAP_TYPES = ("ORMap", "LWWMap", "PNCounterMap", "ORMultiMap")
_CLASSES: dict[str, type[_Recording]] = {}
for _type, _methods in _MUTATORS.items():
    _members: dict[str, Any] = {"__slots__": ()}
    for _method in _methods:
        _members[_method] = _recorder(_method)
    if _type == "ORMap":
        _members["update"] = _ormap_update
    _CLASSES[_type] = type(f"_Recording{_type}", (_Recording,), _members)


def record(type_name: str, fn: Callable[[Any], object]) -> tuple[list[Op], BaseException | None]:
    """Runs fn on a recording handle of the type: the operations it recorded, and what it raised
    (None). NeedsState propagates."""
    ops: list[Op] = []
    try:
        fn(_CLASSES[type_name](ops))
    except NeedsState:
        raise
    except BaseException as e:  # its earlier mutations stay applied, as in update()
        return ops, e
    return ops, None


def replay(handle: Any, ops: list[Op]) -> None:
    """Applies recorded operations to a real handle (in the node process)."""
    for name, args, kwargs in ops:
        if name == "update":
            key, type_name, nested = args
            handle.update(key, getattr(_core, type_name), lambda h, n=nested: replay(h, n))
        else:
            getattr(handle, name)(*args, **kwargs)
