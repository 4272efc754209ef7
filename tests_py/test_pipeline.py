"""Pipelined LOCAL updates: Replicator.pipeline() on in-process nodes and on node processes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import convergent as cv


def inc(c: Any) -> None:
    c.increment()


@pytest.fixture(scope="module")
def process_node() -> Iterator[Any]:
    with cv.LocalCluster(1, transport="ipc", processes=True) as cluster:
        yield cluster.nodes[0]


@pytest.fixture(scope="module")
def inproc_node() -> Iterator[Any]:
    with cv.Node("inproc://pipeline") as node:
        yield node.replicator


@pytest.fixture(params=["in-process", "process"])
def r(request: Any, inproc_node: Any, process_node: Any) -> Any:
    return inproc_node if request.param == "in-process" else process_node


def test_a_pipeline_applies_every_update_by_its_end(r: Any, process_node: Any) -> None:
    key = cv.ORSetKey("p-all")
    with r.pipeline() as p:
        for i in range(2500):  # to a process: 1,024, 1,024 and the rest at the end
            p.update(key, lambda s, i=i: s.add(i))
        # What was sent is applied: the full messages (a process), or every update (in process).
        assert p.applied == (2500 if r is not process_node else 2048)
    assert p.applied == 2500
    assert sorted(r.get(key)) == list(range(2500))
    with r.pipeline():
        pass  # nothing to send


def test_flush_applies_what_is_queued(process_node: Any) -> None:
    key = cv.PNCounterKey("p-flush")
    with process_node.pipeline() as p:
        for _ in range(10):
            p.update(key, inc)
        assert process_node.get(key) is None  # queued, not sent
        p.flush()
        assert process_node.get(key).value == 10


@pytest.mark.parametrize("bad_at", [3, 1500])
def test_the_first_failure_names_its_call_and_ends_the_pipeline(r: Any, bad_at: int) -> None:
    key = cv.GCounterKey(f"p-fail-{bad_at}")
    clash = cv.ORSetKey(f"p-clash-{bad_at}")
    r.update(clash, lambda s: s.add(1))

    def boom(c: Any) -> None:
        raise RuntimeError("boom")

    for bad, cause in [
        ((cv.GCounterKey(clash.name), inc), cv.KeyTypeError),  # refused by the node
        ((key, boom), RuntimeError),  # fn raises
    ]:
        before = r.get(key).value if r.get(key) is not None else 0
        with pytest.raises(cv.PipelineError) as raised, r.pipeline() as p:
            for _ in range(bad_at):
                p.update(key, inc)
            p.update(*bad)
            for _ in range(10):
                p.update(key, inc)  # not applied
        assert raised.value.index == bad_at
        assert raised.value.key == bad[0]
        assert isinstance(raised.value.__cause__, cause)
        assert r.get(key).value == before + bad_at
        with pytest.raises(cv.PipelineError):
            p.update(key, inc)  # the pipeline is over
        assert r.get(key).value == before + bad_at


def test_a_function_that_reads_in_a_pipeline(process_node: Any) -> None:
    key = cv.ORSetKey("p-reads")
    with process_node.pipeline() as p:
        p.update(key, lambda s: s.add("a"))
        p.update(key, lambda s: s.add(len(s)))  # runs on the node's value, after what came before
        p.update(key, lambda s: s.add("b"))
    assert sorted(map(str, process_node.get(key))) == ["1", "a", "b"]


def test_bad_arguments_are_refused_at_the_call(r: Any) -> None:
    with r.pipeline() as p:
        with pytest.raises(TypeError, match="convergent key"):
            p.update("not a key", inc)
        with pytest.raises(TypeError, match="callable"):
            p.update(cv.GCounterKey("p-args"), "not callable")
        p.update(cv.GCounterKey("p-args"), inc)
    assert r.get(cv.GCounterKey("p-args")).value == 1


def test_a_block_that_raises_still_applies_its_updates(r: Any) -> None:
    key = cv.GCounterKey("p-block")
    with pytest.raises(KeyError), r.pipeline() as p:
        p.update(key, inc)
        p.update(key, inc)
        raise KeyError("the caller's own")
    assert r.get(key).value == 2
