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

Two or more calls in a row of one mutator with one positional argument each (``s.add(x)`` in a
loop) are kept as one ``Run``: their arguments' msgpack encodings end to end, which the recorder
makes anyway to check them. A million adds then cross to the node as ~20 MB of bytes, not a million
pickled tuples that the node would hold as ~250 MB of Python objects while it applies them.
Private: not part of the public API.
"""

from __future__ import annotations

import copy
from array import array
from collections.abc import Callable, Iterator
from typing import Any

from . import _core

__all__ = ["NeedsState", "Run", "record", "replay"]


class Run:
    """The arguments of consecutive one-argument calls of a method, packed: their msgpack
    encodings end to end (``data``) and where each ends (``ends``). Iterating unpacks them."""

    __slots__ = ("data", "ends")

    def __init__(self) -> None:
        self.data = bytearray()
        self.ends = array("Q")

    def append(self, packed: bytes) -> None:
        self.data += packed
        self.ends.append(len(self.data))

    def __len__(self) -> int:
        return len(self.ends)

    def __iter__(self) -> Iterator[Any]:
        view = memoryview(self.data)
        start = 0
        for end in self.ends:
            yield _core.unpack_value(view[start:end])
            start = end

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and self.data == other.data and self.ends == other.ends

    def __repr__(self) -> str:
        return f"Run({list(self)!r})"


# One recorded call: (method, args, kwargs); ORMap.update's is
# ("update", (key, type name, nested ops), {}); a run of one-argument calls is
# (method, Run, {}).
Op = tuple[str, tuple[Any, ...] | Run, dict[str, Any]]

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


# Argument types that cannot change after the call: recorded as they are.
_IMMUTABLE = (str, int, float, bool, bytes, type(None))


def _as_now(arg: Any, packed: bytes) -> Any:
    """The argument as it is now: itself if it cannot change, else a copy (fn may change a list
    or dict it passed, as it may between two direct calls)."""
    return arg if type(arg) in _IMMUTABLE else _core.unpack_value(packed)


def _recorder(name: str) -> Callable[..., None]:
    def mutate(self: _Recording, *args: Any, **kwargs: Any) -> None:
        if "replica" in kwargs:
            raise NeedsState("replica")
        pack = _core.pack_value  # TypeError now for what is not a value
        packed = b""
        if len(args) == 1:
            packed = pack(args[0])
            args = (_as_now(args[0], packed),)
        elif args:
            args = tuple([_as_now(a, pack(a)) for a in args])
        if kwargs:
            kwargs = copy.deepcopy(kwargs)
        ops = self._ops
        if len(args) == 1 and not kwargs and ops and ops[-1][0] == name:
            last = ops[-1][1]
            if isinstance(last, Run):
                last.append(packed)
                return
            if len(last) == 1 and not ops[-1][2]:  # the second call in a row starts a run
                run = Run()
                run.append(pack(last[0]))
                run.append(packed)
                ops[-1] = (name, run, {})
                return
        ops.append((name, args, kwargs))

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
    key = _as_now(key, _core.pack_value(key))
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
        if isinstance(args, Run):
            method = getattr(handle, name)
            for arg in args:
                method(arg)
        elif name == "update":
            key, type_name, nested = args
            handle.update(key, getattr(_core, type_name), lambda h, n=nested: replay(h, n))
        else:
            getattr(handle, name)(*args, **kwargs)
