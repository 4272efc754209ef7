"""convergent: delta-state CRDTs with a C++ core."""

from ._core import version as _core_version  # noqa: F401

__version__ = "0.1.0"

__all__ = ["__version__"]
