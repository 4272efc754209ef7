"""Many updates at once: Replicator.update_many, and the recorded updates of node processes
(convergent._recording, RemoteReplicator)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import convergent as cv
from convergent import _core
from convergent._recording import NeedsState, Run, record, replay
from every_type import EVERY_TYPE_UPDATES


def inc(c: Any) -> None:
    c.increment()


# ---- update_many on in-process nodes ----


def test_update_many_applies_every_pair_in_order_with_its_events() -> None:
    keys = [cv.PNCounterKey(f"k{i}") for i in range(10)]
    seen: list[Any] = []
    with cv.Node("inproc://update-many-order") as node:
        r = node.replicator
        sub = r.subscribe(cv.ORSetKey("log"), seen.append)
        # 3,000 pairs: three chunks, the last one short.
        r.update_many((keys[i % 10], inc) for i in range(3000))
        r.update_many(
            [
                (cv.ORSetKey("log"), lambda s: s.add("a")),
                (cv.ORSetKey("log"), lambda s: s.remove("a")),
            ]
            + [(cv.ORSetKey("log"), lambda s: s.add("b"))]
        )
        sub.cancel()
        assert [r.get(k).value for k in keys] == [300] * 10
        assert r.get(cv.ORSetKey("log")).elements() == ["b"]
        assert [sorted(e.value.elements()) for e in seen] == [["a"], [], ["b"]]
        r.update_many([])  # nothing to do


@pytest.mark.parametrize("bad_at", [5, 1500])
def test_update_many_stops_at_the_first_failure_keeping_what_came_before(bad_at: int) -> None:
    key = cv.PNCounterKey("c")

    def boom(c: Any) -> None:
        c.increment(100)  # applied: mutations before a raise stay, as in update()
        raise RuntimeError("boom")

    failures: list[tuple[Any, type[BaseException]]] = [
        ((key, boom), RuntimeError),
        ((cv.ORSetKey("c"), inc), cv.KeyTypeError),
        ("not a pair", TypeError),
        ((key, "not callable"), TypeError),
        (("not a key", inc), TypeError),
    ]
    for i, (bad, error) in enumerate(failures):
        with cv.Node(f"inproc://update-many-fail-{bad_at}-{i}") as node:
            r = node.replicator
            pairs = [(key, inc)] * bad_at + [bad] + [(key, inc)] * 10
            with pytest.raises(error):
                r.update_many(pairs)
            assert r.get(key).value == bad_at + (100 if error is RuntimeError else 0), bad


def test_update_many_of_a_generator_that_raises_keeps_what_it_gave() -> None:
    key = cv.GCounterKey("g")

    def pairs() -> Iterator[tuple[Any, Any]]:
        for _ in range(1100):
            yield key, inc
        raise ValueError("the source failed")

    with cv.Node("inproc://update-many-generator") as node:
        with pytest.raises(ValueError, match="the source failed"):
            node.replicator.update_many(pairs())
        assert node.replicator.get(key).value == 1100


def test_update_many_at_majority_waits_once_and_times_out_alone() -> None:
    sim = cv.Simulation(nodes=3, seed=7)
    a, b, c = sim.nodes
    sim.run_until_formed()
    keys = [cv.GCounterKey(f"g{i}") for i in range(50)]
    a.update_many(((k, inc) for k in keys), write=cv.MAJORITY)
    on_majority = [sum(1 for n in sim.nodes if n.get(k) is not None) for k in keys]
    assert min(on_majority) >= 2, on_majority
    sim.partition([a], [b, c])
    with pytest.raises(cv.WriteTimeout):
        a.update_many(((k, inc) for k in keys), write=cv.MAJORITY, timeout=0.5)
    assert all(a.get(k).value == 2 for k in keys)  # applied locally all the same
    sim.heal()
    sim.run_until_converged()
    assert all(n.get(k).value == 2 for n in sim.nodes for k in keys)


def test_many_coordinated_writes_at_once_do_not_overflow_the_transport() -> None:
    # Each coordinated write sends frames of its own; 300 at once overflowed NNG's send queue
    # (788 dropped sends, resent after 0.1 s, 0.2 s, ...: some timed out). update_many keeps 16
    # in flight.
    keys = [cv.GCounterKey(f"w{i}") for i in range(300)]
    with cv.LocalCluster(3, transport="tcp") as cluster:
        a = cluster.nodes[0]
        a.update_many(((k, inc) for k in keys), write=cv.ALL, timeout=10.0)
        assert all(n.get(k).value == 1 for n in cluster.nodes for k in keys)
        assert cluster.node(0).metrics()["convergent.transport.send.dropped"] == 0


def test_update_many_equals_updates_one_by_one_for_every_type() -> None:
    sim = cv.Simulation(nodes=1, seed=1)
    (one_by_one,) = sim.nodes
    for key, fn in EVERY_TYPE_UPDATES:
        one_by_one.update(key, fn)
    sim2 = cv.Simulation(nodes=1, seed=1)
    (many,) = sim2.nodes
    many.update_many(EVERY_TYPE_UPDATES)
    for key, _ in EVERY_TYPE_UPDATES:
        assert one_by_one.get(key) == many.get(key), key


# ---- recording ----


def run_of(*values: Any) -> Run:
    run = Run()
    for v in values:
        run.append(_core.pack_value(v))
    return run


def test_recording_keeps_the_mutators_and_refuses_reads() -> None:
    ops, raised = record("ORSet", lambda s: (s.add("a"), s.remove("b"), s.clear()))
    assert raised is None
    assert ops == [("add", ("a",), {}), ("remove", ("b",), {}), ("clear", (), {})]
    nested, _ = record(
        "ORMap", lambda m: m.update("k", cv.LWWRegister, lambda r: r.set(1, timestamp=5))
    )
    assert nested == [("update", ("k", "LWWRegister", [("set", (1,), {"timestamp": 5})]), {})]
    reads = [
        lambda s: len(s),
        lambda s: "a" in s,
        lambda s: list(s),
        lambda s: s.elements(),
        lambda s: bool(s),
        lambda s: s == s,
        lambda s: repr(s),
        lambda s: s.add("a", replica="w"),
    ]
    for fn in reads:
        with pytest.raises(NeedsState):
            record("ORSet", fn)
    with pytest.raises(NeedsState):
        record("GCounter", lambda c: c.value)
    ops, raised = record("ORSet", lambda s: s.add(object()))  # raised by the caller, at once
    assert ops == [] and isinstance(raised, TypeError) and "msgpack" in str(raised)
    ops, raised = record("GCounter", lambda c: (c.increment(2), 1 / 0))
    assert ops == [("increment", (2,), {})] and isinstance(raised, ZeroDivisionError)


def test_consecutive_one_argument_calls_are_recorded_as_one_packed_run() -> None:
    odd = [0, -1, 2**63, 1.5, True, None, b"\x00bytes", "str", ["a", 1], {"k": [1, {}]}]

    def fn(s: Any) -> None:
        for i in range(1000):
            s.add(f"e{i}")
        for v in odd:
            s.add(v)
        s.remove("e3")
        s.remove("e4")
        s.add("e3")
        s.clear()
        s.add("last")

    ops, raised = record("ORSet", fn)
    assert raised is None
    assert [(name, len(args)) for name, args, _ in ops] == [
        ("add", 1010),
        ("remove", 2),
        ("add", 1),
        ("clear", 0),
        ("add", 1),
    ]
    assert isinstance(ops[0][1], Run)  # the values back as they went in (True is not 1)
    assert [_core.pack_value(v) for v in list(ops[0][1])[1000:]] == [
        _core.pack_value(v) for v in odd
    ]
    assert len(ops[0][1].data) < 10_000  # packed: a few bytes each, not a tuple per call
    direct, replayed = cv.ORSet(replica="w"), cv.ORSet(replica="w")
    fn(direct)
    replay(replayed, ops)
    assert direct == replayed
    # Calls with two arguments or keywords stay calls of their own.
    ops, _ = record("LWWMap", lambda m: (m.put("a", 1), m.put("b", 2), m.remove("a")))
    assert ops == [("put", ("a", 1), {}), ("put", ("b", 2), {}), ("remove", ("a",), {})]
    ops, _ = record("GCounter", lambda c: (c.increment(1), c.increment(2)))
    assert ops == [("increment", run_of(1, 2), {})]


def test_a_recorded_call_keeps_its_arguments_as_they_were_when_it_was_made() -> None:
    def puts(m: Any) -> None:
        row: dict[str, Any] = {}
        tags: list[int] = []
        for i in range(3):
            row["n"] = i
            tags.append(i)
            m.put(f"k{i}", row)  # two arguments: a call of its own
            m.put(f"t{i}", value=tags)  # a keyword

    direct, replayed = cv.LWWMap(replica="w"), cv.LWWMap(replica="w")
    puts(direct)
    ops, raised = record("LWWMap", puts)
    assert raised is None
    replay(replayed, ops)
    assert dict(replayed.items()) == dict(direct.items())
    assert dict(replayed.items())["k0"] == {"n": 0} and dict(replayed.items())["t1"] == [0, 1]

    def adds(s: Any) -> None:
        element: list[int] = []
        for i in range(3):
            element.append(i)
            s.add(element)  # the first call of a run too

    direct_set, replayed_set = cv.ORSet(replica="w"), cv.ORSet(replica="w")
    adds(direct_set)
    replay(replayed_set, record("ORSet", adds)[0])
    assert replayed_set == direct_set and len(replayed_set) == 3


def test_a_replayed_recording_equals_the_update_itself_for_every_type() -> None:
    for key, fn in EVERY_TYPE_UPDATES:
        ops, raised = record(key.type_name, fn)
        assert raised is None
        direct, replayed = key.type(replica="w"), key.type(replica="w")
        fn(direct)
        replay(replayed, ops)
        if key.type is cv.LWWRegister:  # stamped with the clock of each write
            assert direct.value == replayed.value
        elif key.type is cv.LWWMap:
            assert dict(direct.items()) == dict(replayed.items())
        else:
            assert direct == replayed, key


# ---- node processes ----


@pytest.fixture(scope="module")
def process_node() -> Iterator[Any]:
    with cv.LocalCluster(1, transport="ipc", processes=True) as cluster:
        yield cluster.nodes[0]


def test_updates_of_a_node_process_are_recorded_and_applied_by_it(process_node: Any) -> None:
    r = process_node
    key = cv.ORSetKey("recorded")
    for i in range(2000):
        r.update(key, lambda s, i=i: s.add(i))
    assert sorted(r.get(key)) == list(range(2000))  # each applied when update() returned
    counters = [cv.PNCounterKey(f"recorded-{i}") for i in range(7)]
    r.update_many((counters[i % 7], inc) for i in range(3000))
    assert [r.get(k).value for k in counters] == [429] * 4 + [428] * 3


def test_a_node_processes_refusal_is_raised_by_its_own_call(process_node: Any) -> None:
    r = process_node
    r.update(cv.ORSetKey("typed"), lambda s: s.add(1))
    with pytest.raises(cv.KeyTypeError, match="holds an ORSet"):
        r.update(cv.PNCounterKey("typed"), inc)
    around = cv.GCounterKey("around")
    with pytest.raises(cv.KeyTypeError):  # update_many stops there, keeping what came before
        r.update_many([(around, inc), (cv.PNCounterKey("typed"), inc), (around, inc)])
    assert r.get(around).value == 1
    assert r.get(cv.ORSetKey("typed")).elements() == [1]
    with pytest.raises(ValueError):  # a bad count: the node's error
        r.update(cv.GCounterKey("typed-g"), lambda c: c.increment(-1))
    with pytest.raises(TypeError, match="msgpack"):  # not a value: here, before sending
        r.update(cv.ORSetKey("typed"), lambda s: s.add(object()))


def test_a_function_that_reads_runs_on_the_nodes_value(process_node: Any) -> None:
    r = process_node
    key = cv.ORSetKey("reads")
    for _ in range(3):
        r.update(key, lambda s: s.add(len(s)))
    r.update(key, lambda s: s.remove(0) if 0 in s else None)
    r.update_many([(key, lambda s: s.add("x")), (key, lambda s: s.add(len(s)))])
    assert sorted(map(str, r.get(key))) == ["1", "2", "3", "x"]


def test_every_type_updated_in_a_node_process_equals_in_process(process_node: Any) -> None:
    sim = cv.Simulation(nodes=1, seed=3)
    (local,) = sim.nodes
    for key, fn in EVERY_TYPE_UPDATES:
        local.update(key, fn)
        local.update(key, fn)
    process_node.update_many(EVERY_TYPE_UPDATES)
    for key, fn in EVERY_TYPE_UPDATES:
        process_node.update(key, fn)
    for key, _ in EVERY_TYPE_UPDATES:
        got, want = process_node.get(key), local.get(key)
        if key.type is cv.LWWRegister or key.type is cv.LWWMap:
            assert (
                got.value == want.value if key.type is cv.LWWRegister else dict(got) == dict(want)
            )
        elif key.type in (cv.ORSet, cv.GSet):
            assert got.elements() == want.elements()
        elif key.type is cv.MVRegister:
            assert got.values == want.values
        elif key.type is cv.Flag:
            assert got.enabled == want.enabled
        elif key.type in (cv.GCounter, cv.PNCounter):
            assert got.value == want.value
        elif key.type is cv.ORMap:
            assert got["n"].value == want["n"].value == 8
        else:
            assert dict(got.items()) == dict(want.items()), key


def test_update_many_at_all_in_a_cluster_of_processes() -> None:
    keys = [cv.GCounterKey(f"all-{i}") for i in range(300)]
    with cv.LocalCluster(3, transport="ipc", processes=True) as cluster:
        a = cluster.nodes[0]
        a.update_many(((k, inc) for k in keys), write=cv.ALL)
        for n in cluster.nodes:
            assert all(n.get(k).value == 1 for k in keys)
