"""Change streams for asyncio: ``async for event in r.watch(key)``.

``Replicator.watch(key)`` (and the same method of every replicator handle: simulated nodes,
``cv.Node.replicator``, the nodes of a ``cv.LocalCluster``, in-process or node processes)
returns a :class:`Watch`, an async iterator of the ``cv.Changed`` / ``cv.Deleted`` events of one
key, built on ``Replicator.subscribe``::

    async for event in node.watch(cv.ORSetKey("cart")):
        if isinstance(event, cv.Changed):
            print(event.value.elements())

The subscription's callback may run on any thread (a real node delivers events on its events
thread, a node process on a thread of the subscription; a simulation delivers them at the end of
the Python call that produced them); it hands each event to the watch's event loop with
``loop.call_soon_threadsafe``, into a queue the iteration reads. The subscription starts when
``watch()`` is called inside a running event loop, otherwise when the iteration starts (events
before that are not seen).

The subscription ends when the iteration ends: ``aclose()``, leaving ``async with``, or the
watch being garbage collected (after ``break`` out of ``async for r.watch(key)``, or an exception
in its body, CPython drops the iterator at once). Use ``async with`` (or ``aclose()``) when the
watch object is kept in a variable. The iteration does not end by itself when the node stops or
crashes: wrap waits in ``asyncio.timeout`` / ``asyncio.wait_for`` where that matters.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any, Protocol

from .events import Event
from .keys import Key

__all__ = ["Watch"]


class _Subscription(Protocol):
    def cancel(self) -> None: ...


_Subscribe = Callable[[Key[Any], Callable[[Event], object]], _Subscription]


class _End:
    """Wakes a waiting __anext__ when the watch is closed."""


_END = _End()


class _State:
    """What the subscription's callback reaches: not the Watch itself, so that dropping the
    Watch frees it (and its finalizer cancels the subscription)."""

    __slots__ = ("dropped", "loop", "queue")

    def __init__(self, loop: asyncio.AbstractEventLoop, maxsize: int) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[Event | _End] = asyncio.Queue(maxsize)
        self.dropped = 0

    def put(self, item: Event | _End) -> None:
        """On the loop's thread: queue an item, dropping the oldest one when the queue is full."""
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(item)

    def callback(self, event: Event) -> None:
        """On any thread: the subscription's callback."""
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody reads this event
            self.loop.call_soon_threadsafe(self.put, event)

    def end(self) -> None:
        """On the loop's thread: drop what is queued and wake a waiting reader."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(_END)


class Watch(AsyncIterator[Event]):
    """An async iterator of the ``cv.Changed`` / ``cv.Deleted`` events of one key on one node.

    Made by ``replicator.watch(key, maxsize=0)``. Events arrive in the order the node delivered
    them, each ``cv.Changed`` with the key's whole new value. ``maxsize=0`` (the default) queues
    without bound; with ``maxsize=n`` at most ``n`` events wait, and when one more arrives the
    oldest waiting event is dropped (the newest value is kept: every ``cv.Changed`` carries the
    whole value, so a slow reader skips intermediate values but always sees the latest one);
    :attr:`dropped` counts the dropped events.

    One watch belongs to one event loop (the one running when it subscribed). Iterate it once:
    it is its own iterator. ``async with replicator.watch(key) as events:`` or ``aclose()`` end
    the subscription deterministically; otherwise it ends when the watch is garbage collected.
    """

    def __init__(self, subscribe: _Subscribe, key: Key[Any], *, maxsize: int = 0) -> None:
        if not isinstance(key, Key):
            raise TypeError(
                "watch(): key must be a convergent key such as cv.ORSetKey('cart'), got "
                + type(key).__name__
            )
        if not isinstance(maxsize, int) or isinstance(maxsize, bool) or maxsize < 0:
            raise ValueError(f"watch(): maxsize must be an int >= 0 (0: no bound), got {maxsize!r}")
        self._subscribe = subscribe
        self._key = key
        self._maxsize = maxsize
        self._state: _State | None = None
        self._finalizer: weakref.finalize[[], Watch] | None = None
        self._closed = False
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not in a coroutine: subscribe when the iteration starts
            return
        self._start(loop)

    def _start(self, loop: asyncio.AbstractEventLoop) -> _State:
        state = _State(loop, self._maxsize)
        subscription = self._subscribe(self._key, state.callback)
        self._state = state
        self._finalizer = weakref.finalize(self, subscription.cancel)
        self._finalizer.atexit = False  # the nodes may be gone by then
        return state

    def _running_state(self) -> _State:
        loop = asyncio.get_running_loop()
        if self._state is None:
            return self._start(loop)
        if self._state.loop is not loop:
            raise RuntimeError("this watch belongs to another event loop")
        return self._state

    @property
    def key(self) -> Key[Any]:
        """The watched key."""
        return self._key

    @property
    def maxsize(self) -> int:
        """The most events that wait to be read (0: no bound)."""
        return self._maxsize

    @property
    def active(self) -> bool:
        """True while subscribed: from the start of the watch until it is closed."""
        return self._finalizer is not None and self._finalizer.alive

    @property
    def dropped(self) -> int:
        """How many events a full queue dropped (always 0 when unbounded)."""
        return 0 if self._state is None else self._state.dropped

    def __aiter__(self) -> Watch:
        return self

    async def __anext__(self) -> Event:
        if self._closed:
            raise StopAsyncIteration
        item = await self._running_state().queue.get()
        if isinstance(item, _End) or self._closed:
            raise StopAsyncIteration
        return item

    def close(self) -> None:
        """Cancels the subscription and ends the iteration (a waiting reader gets
        StopAsyncIteration). Idempotent; callable from any thread."""
        if self._closed:
            return
        self._closed = True
        if self._finalizer is not None:
            self._finalizer()  # cancels the subscription, once
        state = self._state
        if state is None:
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is state.loop:
            state.end()
        else:
            with contextlib.suppress(RuntimeError):  # the loop is closed
                state.loop.call_soon_threadsafe(state.end)

    async def aclose(self) -> None:
        """Ends the iteration and the subscription (as :meth:`close`)."""
        self.close()

    async def __aenter__(self) -> Watch:
        if not self._closed:
            self._running_state()  # subscribe now: updates made inside the block are seen
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "active" if self.active else "not started"
        return f"<Watch {self._key!r} {state}>"


def watch(self: Any, key: Key[Any], *, maxsize: int = 0) -> Watch:
    """An async iterator of this key's events (cv.Changed / cv.Deleted / cv.Expired), for asyncio:

    ``async for event in replicator.watch(key): ...`` or
    ``async with replicator.watch(key) as events: async for event in events: ...``.
    Built on :meth:`subscribe`; ``maxsize`` bounds the queue of unread events (0: no bound;
    when full, the oldest unread event is dropped). See :class:`convergent.Watch`.
    """
    return Watch(self.subscribe, key, maxsize=maxsize)
