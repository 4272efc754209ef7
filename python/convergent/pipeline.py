"""Pipelined LOCAL updates: ``Replicator.pipeline()``.

Inside ``with r.pipeline() as p:`` each ``p.update(key, fn)`` returns at once; the updates go to
a node process 1,024 to a message, and the block's end waits until every one is applied. (A node
in this process applies each at once, as update() does: a take of its lock costs less than
queueing the call.) Nothing made in a pipeline is acknowledged before then.

The first update that fails ends the pipeline: the updates before it stay applied, the later
ones are not, and :class:`convergent.PipelineError` names the call (``index``, ``key``; the
update's own exception is its ``__cause__``), raised by the call that sent it, by ``flush()`` or
at the block's end, and again by every call after.

Thread safety: a Pipeline belongs to the thread that uses it; its replicator may be shared.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from types import TracebackType
from typing import Any, NoReturn

from .errors import PipelineError
from .keys import Key

__all__ = ["CHUNK", "Pipeline", "apply_counted"]

#: Updates per send: what update_many takes per lock, and a node process per message.
CHUNK = 1024

# What a replicator provides to a pipeline: applies (key, fn) pairs in order, stopping at the
# first failure; returns None, or the index of the failed pair and its exception.
Pairs = list[tuple[Key[Any], Callable[[Any], object]]]
Apply = Callable[[Pairs], tuple[int, BaseException] | None]


class Pipeline:
    """LOCAL updates sent to the node many at a time (see the module's docstring)."""

    def __init__(
        self,
        apply: Apply | None = None,
        *,
        each: Callable[[Key[Any], Callable[[Any], object]], None] | None = None,
    ) -> None:
        """`apply` takes queued updates, CHUNK at a time; `each` applies one at once instead."""
        self._apply = apply
        self._each = each
        self._queue: Pairs = []
        self._applied = 0  # updates of the pipeline applied so far
        self._error: PipelineError | None = None

    def update(self, key: Key[Any], fn: Callable[[Any], object]) -> None:
        """As ``Replicator.update(key, fn)`` at LOCAL, applied by the next send."""
        if self._error is not None:
            raise self._error
        if not isinstance(key, Key):
            raise TypeError(
                "Pipeline.update(): key must be a convergent key such as cv.ORSetKey('cart'), "
                f"got {type(key).__name__}"
            )
        if not callable(fn):
            raise TypeError("Pipeline.update(): fn must be callable, got " + type(fn).__name__)
        if self._each is not None:
            try:
                self._each(key, fn)
            except Exception as e:  # the update's own error, whatever its type
                self._fail(0, e, key)
            self._applied += 1
            return
        self._queue.append((key, fn))
        if len(self._queue) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        """Sends what is queued and waits until it is applied."""
        if self._error is not None:
            raise self._error
        queue, self._queue = self._queue, []
        failed = self._apply(queue) if queue and self._apply is not None else None
        if failed is None:
            self._applied += len(queue)
            return
        self._fail(failed[0], failed[1], queue[failed[0]][0])

    def _fail(self, i: int, cause: BaseException, key: Key[Any]) -> NoReturn:
        """Update i of what was sent failed: the pipeline ends with its error."""
        self._applied += i
        self._error = PipelineError(
            f"update {self._applied} of the pipeline ({key!r}) failed: "
            f"{type(cause).__name__}: {cause}",
            index=self._applied,
            key=key,
        )
        raise self._error from cause

    @property
    def applied(self) -> int:
        """The updates of this pipeline applied on the node so far."""
        return self._applied

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.flush()
            return
        # The block raised: the updates it made are still applied (up to a failure), and its
        # own exception propagates.
        with contextlib.suppress(PipelineError):
            self.flush()


def apply_counted(
    update_many: Callable[..., None], pairs: Pairs
) -> tuple[int, BaseException] | None:
    """Applies pairs with update_many (in order, once each, stopping at the first failure) and
    finds the failed one: the functions that returned came before it. (A coordinated write that
    times out fails after every function returned: the index is then len(pairs).)"""
    done = 0

    def counted(fn: Callable[[Any], object]) -> Callable[[Any], object]:
        def run(value: Any) -> object:
            nonlocal done
            result = fn(value)
            done += 1
            return result

        return run

    try:
        update_many([(key, counted(fn)) for key, fn in pairs])
    except Exception as e:  # the failed update's own error, whatever its type
        return done, e
    return None
