"""Replicator.watch(key): the asyncio change stream built on subscribe()."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest

import convergent as cv

HITS = cv.PNCounterKey("hits")
CART = cv.ORSetKey("cart")
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout=30.0))


def increment(n: int) -> Callable[[Any], None]:
    return lambda v: v.increment(n)


def value(event: cv.Event) -> Any:
    assert isinstance(event, cv.Changed), event
    return event.value.value


@pytest.fixture
def subscriptions(monkeypatch: pytest.MonkeyPatch) -> list[tuple[cv.Subscription, list[str]]]:
    """Every subscription Replicator.subscribe makes, with the threads its callback ran on."""
    made: list[tuple[cv.Subscription, list[str]]] = []
    original = cv.Replicator.subscribe

    def subscribe(self: cv.Replicator, key: cv.Key[Any], callback: Any) -> cv.Subscription:
        threads: list[str] = []

        def recorded(event: cv.Event) -> None:
            threads.append(threading.current_thread().name)
            callback(event)

        sub = original(self, key, recorded)
        made.append((sub, threads))
        return sub

    monkeypatch.setattr(cv.Replicator, "subscribe", subscribe)
    return made


# ---- the simulator ----


def test_simulated_events_arrive_in_order_with_their_values() -> None:
    async def main() -> list[cv.Event]:
        sim = cv.Simulation(nodes=2, seed=1)
        a, b = sim.nodes
        events = b.watch(HITS)  # in a running loop: subscribed now
        assert isinstance(events, cv.Watch) and events.active and events.key == HITS
        a.update(HITS, increment(3))
        sim.run_until_converged()
        b.update(HITS, increment(4))
        b.delete(HITS)
        return [await anext(events) for _ in range(3)]

    first, second, third = run(main())
    assert value(first) == 3 and value(second) == 7
    assert third == cv.Deleted(HITS)


def test_break_cancels_the_subscription(
    subscriptions: list[tuple[cv.Subscription, list[str]]],
) -> None:
    async def main() -> list[Any]:
        sim = cv.Simulation(nodes=2, seed=2)
        a, b = sim.nodes
        seen = []
        task = asyncio.create_task(_first_values(b, 2, seen))
        await asyncio.sleep(0)  # the task subscribes
        assert len(subscriptions) == 1 and subscriptions[0][0].active
        for n in (1, 2, 3):
            a.update(HITS, increment(n))
            sim.run_for(1.0)
            await asyncio.sleep(0)
        await task
        assert not subscriptions[0][0].active  # break dropped the watch: no gc.collect needed
        a.update(HITS, increment(10))
        sim.run_for(1.0)
        return seen

    assert run(main()) == [1, 3]


async def _first_values(r: Any, count: int, seen: list[Any]) -> None:
    async for event in r.watch(HITS):
        seen.append(value(event))
        if len(seen) == count:
            break


def test_an_exception_in_the_loop_body_cancels_the_subscription(
    subscriptions: list[tuple[cv.Subscription, list[str]]],
) -> None:
    async def main() -> None:
        sim = cv.Simulation(nodes=1, seed=3)
        (a,) = sim.nodes
        a.update(CART, lambda s: s.add("x"))
        loop = asyncio.get_running_loop()
        with pytest.raises(KeyError, match="boom"):
            loop.call_soon(a.update, CART, lambda s: s.add("y"))  # while the loop waits
            async for _ in a.watch(CART):
                raise KeyError("boom")
        assert not subscriptions[0][0].active  # the traceback does not hold the iterator
        with pytest.raises(KeyError, match="boom"):
            watch = a.watch(CART)
            a.update(CART, lambda s: s.add("z"))
            async for event in watch:
                assert isinstance(event, cv.Changed)
                assert event.value.elements() == ["x", "y", "z"]
                raise KeyError("boom")
        assert subscriptions[1][0].active  # the variable `watch` still holds it
        del watch
        assert not subscriptions[1][0].active

    run(main())


def test_async_with_and_aclose_end_the_iteration_and_the_subscription(
    subscriptions: list[tuple[cv.Subscription, list[str]]],
) -> None:
    async def main() -> None:
        sim = cv.Simulation(nodes=1, seed=4)
        (a,) = sim.nodes
        async with a.watch(HITS) as events:
            a.update(HITS, increment(5))  # inside the block: seen
            assert value(await anext(events)) == 5
        assert not events.active and not subscriptions[0][0].active
        with pytest.raises(StopAsyncIteration):
            await anext(events)

        # aclose() wakes a reader that is waiting.
        watch = a.watch(HITS)
        reader = asyncio.create_task(_collect(watch))
        await asyncio.sleep(0.01)
        assert not reader.done()
        await watch.aclose()
        assert await reader == []
        assert not subscriptions[1][0].active
        await watch.aclose()  # idempotent

    run(main())


async def _collect(watch: cv.Watch) -> list[cv.Event]:
    return [event async for event in watch]


def test_a_bounded_watch_drops_the_oldest_events_and_keeps_the_latest() -> None:
    async def main() -> tuple[list[int], int]:
        sim = cv.Simulation(nodes=1, seed=5)
        (a,) = sim.nodes
        events = a.watch(HITS, maxsize=2)
        for _ in range(5):
            a.update(HITS, increment(1))
        await asyncio.sleep(0)  # the queued hand-overs run
        got = [value(await anext(events)), value(await anext(events))]
        return got, events.dropped

    assert run(main()) == ([4, 5], 3)


def test_a_watch_made_outside_the_loop_subscribes_when_the_iteration_starts() -> None:
    sim = cv.Simulation(nodes=1, seed=6)
    (a,) = sim.nodes
    events = a.watch(HITS)
    assert not events.active and events.dropped == 0
    a.update(HITS, increment(1))  # before the iteration: not seen

    async def main() -> int:
        reader = asyncio.create_task(anext(events))
        await asyncio.sleep(0)
        assert events.active
        a.update(HITS, increment(2))
        return value(await reader)

    assert run(main()) == 3
    events.close()
    assert not events.active


def test_bad_arguments() -> None:
    sim = cv.Simulation(nodes=1, seed=7)
    (a,) = sim.nodes
    with pytest.raises(TypeError, match="convergent key"):
        a.watch("hits")  # type: ignore[arg-type]
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="maxsize"):
            a.watch(HITS, maxsize=bad)  # type: ignore[arg-type]


# ---- real nodes ----


def test_a_real_node_delivers_events_from_its_events_thread(
    subscriptions: list[tuple[cv.Subscription, list[str]]],
) -> None:
    async def main(cluster: cv.LocalCluster) -> list[cv.Event]:
        a, b = cluster.nodes
        got: list[cv.Event] = []
        async with b.watch(CART) as events:
            a.update(CART, lambda s: s.add("milk"))
            got.append(await anext(events))
            await asyncio.to_thread(a.update, CART, lambda s: s.add("eggs"))
            got.append(await anext(events))
            await asyncio.to_thread(a.delete, CART)
            got.append(await anext(events))
        return got

    config = cv.Config(delta_flush_interval=0.01)
    with cv.LocalCluster(2, transport="inproc", config=config) as cluster:
        cluster.wait_members(timeout=10)
        first, second, third = run(main(cluster))
    assert isinstance(first, cv.Changed) and first.value.elements() == ["milk"]
    assert isinstance(second, cv.Changed) and second.value.elements() == ["eggs", "milk"]
    assert third == cv.Deleted(CART)
    sub, threads = subscriptions[0]
    assert not sub.active
    assert threads and all(t.startswith("convergent-events") for t in threads), threads


def test_node_processes_stream_events_to_subscribe_and_watch() -> None:
    config = cv.Config(delta_flush_interval=0.01, anti_entropy_interval=0.5)
    with cv.LocalCluster(2, transport="ipc", processes=True, config=config) as cluster:
        cluster.wait_members(timeout=30)
        a, b = cluster.nodes

        got: list[cv.Event] = []
        threads: list[str] = []

        def on_event(event: cv.Event) -> None:
            got.append(event)
            threads.append(threading.current_thread().name)

        sub = b.subscribe(HITS, on_event)
        a.update(HITS, increment(2))
        assert _wait_until(lambda: len(got) == 1)
        assert value(got[0]) == 2 and sub.active and sub.key == HITS
        assert threads[0].startswith("convergent-events-")
        sub.cancel()
        assert not sub.active
        assert _wait_until(lambda: not sub._reader.is_alive())  # the node ended the stream
        a.update(HITS, increment(1))
        cluster.wait_converged(timeout=10)
        assert len(got) == 1

        async def main() -> list[cv.Event]:
            async with b.watch(CART) as events:
                await asyncio.to_thread(a.update, CART, lambda s: s.add("milk"))
                first = await anext(events)
                await asyncio.to_thread(b.delete, CART)
                return [first, await anext(events)]

        first, second = run(main())
        assert isinstance(first, cv.Changed) and first.value.elements() == ["milk"]
        assert second == cv.Deleted(CART)

        watched = b.subscribe(HITS, on_event)
        cluster.kill(1)  # the stream ends with the node process
        assert _wait_until(lambda: not watched.active)
        with pytest.raises(cv.NodeDownError):
            b.subscribe(HITS, on_event)


def _wait_until(done: Callable[[], bool], timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if done():
            return True
        time.sleep(0.01)
    return done()
