"""The hand-kept stubs python/convergent/_core.pyi list exactly what _core defines, with the same
parameters (names and kinds)."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

import convergent
from convergent import _core

STUB = Path(convergent.__file__).with_name("_core.pyi")
# Members every class has without the stubs listing them: type attributes, and the ordering
# comparisons that tp_richcompare adds (they return NotImplemented).
IMPLICIT = {"__doc__", "__module__", "__new__", "__lt__", "__le__", "__gt__", "__ge__"}

Param = tuple[str, str]  # (name, kind)
# Py_TPFLAGS_DISALLOW_INSTANTIATION: classes Python code cannot construct (the ORMap entry
# handles) have no constructor in the stubs.
DISALLOW_INSTANTIATION = 1 << 7
# Public classes whose objects only _core makes (handles).
NOT_CONSTRUCTIBLE = {"Replicator", "Subscription"}


def _stub_params(node: ast.FunctionDef, skip_self: bool) -> list[Param]:
    a = node.args
    params = [(p.arg, "POSITIONAL_ONLY") for p in a.posonlyargs]
    params += [(p.arg, "POSITIONAL_OR_KEYWORD") for p in a.args]
    if a.vararg is not None:
        params.append(("*", "VAR_POSITIONAL"))  # pybind11 names every *args "args"
    params += [(p.arg, "KEYWORD_ONLY") for p in a.kwonlyargs]
    if skip_self:
        params = params[1:]
    return params


def _kind(node: ast.FunctionDef) -> str:
    names = {d.id for d in node.decorator_list if isinstance(d, ast.Name)}
    return "property" if "property" in names else "static" if "staticmethod" in names else "method"


def parse_stub() -> tuple[dict[str, list[Param]], dict[str, dict[str, tuple[str, list[Param]]]]]:
    tree = ast.parse(STUB.read_text())
    functions: dict[str, list[Param]] = {}
    classes: dict[str, dict[str, tuple[str, list[Param]]]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            functions[node.name] = _stub_params(node, skip_self=False)
        elif isinstance(node, ast.ClassDef):
            members: dict[str, tuple[str, list[Param]]] = {}
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    kind = _kind(item)
                    members[item.name] = (kind, _stub_params(item, skip_self=kind != "static"))
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    members[item.target.id] = ("attribute", [])
            classes[node.name] = members
    return functions, classes


def _signature_params(obj: Any, skip_self: bool) -> list[Param]:
    params = list(inspect.signature(obj).parameters.values())
    if skip_self:
        params = params[1:]
    return [(p.name, p.kind.name) for p in params]


def _split_top_level(text: str) -> list[str]:
    """'a: T, b: dict[str, int] = 1' -> ['a: T', 'b: dict[str, int] = 1']."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _pybind_params(func: Any, skip_self: bool = False) -> list[Param]:
    """Parameters of a pybind11 function, from its signature line 'name(a: T, *, b: U) -> R'."""
    doc = (func.__doc__ or "").lstrip()
    m = re.match(rf"{func.__name__}\((.*)\) ->", doc.splitlines()[0] if doc else "")
    assert m, f"no signature in the docstring of {func.__name__}"
    params: list[Param] = []
    kind = "POSITIONAL_OR_KEYWORD"
    for part in _split_top_level(m.group(1)):
        name = part.split(":")[0].strip()
        if name == "*":
            kind = "KEYWORD_ONLY"
        elif name.startswith("*"):
            params.append(("*", "VAR_POSITIONAL"))
            kind = "KEYWORD_ONLY"
        else:
            params.append((name, kind))
    return params[1:] if skip_self else params


def _method_params(obj: Any, skip_self: bool) -> list[Param]:
    try:
        return _signature_params(obj, skip_self)
    except ValueError:  # a pybind11 method: no __text_signature__
        return _pybind_params(obj, skip_self)


def runtime_members(cls: type) -> dict[str, tuple[str, list[Param]]]:
    out: dict[str, tuple[str, list[Param]]] = {}
    for name, obj in vars(cls).items():
        if name in IMPLICIT or name.startswith("_pybind11") or name == "__dict__":
            continue
        if name == "__init__":  # pybind11 classes: a constructor, or a stub that raises
            if (obj.__doc__ or "").startswith("__init__("):
                out[name] = ("method", _pybind_params(obj, skip_self=True))
            continue
        if isinstance(obj, staticmethod):
            out[name] = ("static", _signature_params(obj.__func__, skip_self=False))
        elif inspect.isgetsetdescriptor(obj) or isinstance(obj, property):
            out[name] = ("property", [])
        elif obj is None:
            out[name] = ("attribute", [])  # __hash__ = None: unhashable
        else:
            out[name] = ("method", _method_params(obj, skip_self=True))
    # The constructor: the class's own signature, listed as __init__ in the stub (a pybind11
    # class without a constructor of its own cannot be constructed from Python).
    pybind = "_pybind11_conduit_v1_" in vars(cls)
    if "__init__" not in out and not pybind and not cls.__flags__ & DISALLOW_INSTANTIATION:
        out["__init__"] = ("method", _signature_params(cls, skip_self=False))
    return out


def test_module_functions_and_classes_match() -> None:
    functions, classes = parse_stub()
    public = {n for n in dir(_core) if not n.startswith("_")}
    assert public == {n for n in [*functions, *classes] if not n.startswith("_")}
    # Private classes in the stubs (the ORMap entry handles) exist too.
    for name in classes:
        assert inspect.isclass(getattr(_core, name)), name
    for name, params in functions.items():
        assert _pybind_params(getattr(_core, name)) == params, name


def test_class_members_match() -> None:
    _, classes = parse_stub()
    for cls_name, stub_members in classes.items():
        cls = getattr(_core, cls_name)
        assert inspect.isclass(cls)
        members = runtime_members(cls)
        assert set(members) == set(stub_members), cls_name
        for name, runtime in members.items():
            assert runtime == stub_members[name], f"{cls_name}.{name}"


def test_classes_are_final_and_named_convergent() -> None:
    _, classes = parse_stub()
    for name in classes:
        cls = getattr(_core, name)
        assert cls.__module__ == "convergent" and cls.__qualname__ == name
        if name.startswith("_") or name in NOT_CONSTRUCTIBLE:  # made by _core only
            with pytest.raises(TypeError):
                cls()
        if not name.startswith("_"):
            assert getattr(convergent, name) is cls and name in convergent.__all__
        try:
            type("Sub", (cls,), {})
        except TypeError:
            continue
        raise AssertionError(f"{name} can be subclassed; the stub marks it @final")
