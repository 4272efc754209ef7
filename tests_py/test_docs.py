"""Every public name of the package says what it is: a docstring beyond a bare signature."""

from __future__ import annotations

import inspect
from typing import Any

import convergent as cv


def _documented(obj: Any, name: str) -> bool:
    doc = (getattr(obj, "__doc__", None) or "").strip()
    if not doc:
        return False
    lines = doc.splitlines()
    # pybind11 puts the signature first; a docstring that is only a signature says nothing.
    return not (lines[0].startswith(f"{name}(") and len(lines) == 1)


def _public_members(cls: type) -> list[tuple[str, Any]]:
    out = []
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        if callable(member) or isinstance(member, property) or inspect.isdatadescriptor(member):
            out.append((name, member))
    return out


def test_every_public_name_has_a_docstring() -> None:
    missing = []
    for name in cv.__all__:
        obj = getattr(cv, name)
        if not (inspect.isclass(obj) or callable(obj)):
            continue  # constants (cv.LOCAL, ...) are documented by their enum
        if not _documented(obj, name):
            missing.append(name)
        if inspect.isclass(obj) and not issubclass(obj, BaseException):
            missing += [f"{name}.{m}" for m, v in _public_members(obj) if not _documented(v, m)]
    assert missing == []


def test_the_check_catches_an_undocumented_name() -> None:
    class Bare:
        def method(self) -> None:
            pass

    def update(self: object) -> None:
        pass

    update.__doc__ = "update(self: Replicator, key: object) -> None"  # a bare pybind11 signature
    assert not _documented(Bare.method, "method")
    assert not _documented(update, "update")
    assert _documented(cv.Replicator.update, "update")
