"""The exceptions of convergent; every one subclasses :class:`Error`.

The compiled core (``convergent._core``) imports this module while it initialises, so it must not
import anything from the ``convergent`` package itself.
"""

from __future__ import annotations

__all__ = [
    "DecodeError",
    "Error",
    "KeyDeletedError",
    "KeyTypeError",
    "NodeDownError",
    "NotConverged",
    "PipelineError",
    "ReadTimeout",
    "WriteTimeout",
]


class Error(Exception):
    """Base class of every convergent error."""


class KeyTypeError(Error, TypeError):
    """A key, value or encoded state has another CRDT type than the one expected."""


class KeyDeletedError(Error):
    """An update of a deleted key while its tombstone lives."""


class WriteTimeout(Error, TimeoutError):
    """A write did not reach its consistency level in time (it is still applied locally)."""


class ReadTimeout(Error, TimeoutError):
    """A read did not reach its consistency level in time."""


class NodeDownError(Error):
    """A call on a node that is crashed or removed, or on the handle of an earlier incarnation."""


class PipelineError(Error):
    """An update of a pipeline (Replicator.pipeline) failed: ``index`` is its place among the
    pipeline's updates (0-based; the ones before it are applied, none after it), ``key`` its key,
    and ``__cause__`` the update's own error."""

    def __init__(self, message: str, *, index: int, key: object) -> None:
        super().__init__(message)
        self.index = index
        self.key = key


class NotConverged(Error):
    """A simulation did not converge within its timeout."""


class DecodeError(Error, ValueError):
    """Bytes that do not decode to a valid value (corrupt, truncated or not ours)."""
