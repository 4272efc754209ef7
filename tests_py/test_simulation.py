"""cv.Simulation and cv.Replicator: replication driven from Python in virtual time."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from typing import Any

import pytest

import convergent as cv
from every_type import EVERY_TYPE_UPDATES

HITS = cv.PNCounterKey("hits")
CART = cv.ORSetKey("cart")


def values(sim: cv.Simulation, key: cv.Key[Any]) -> list[Any]:
    return [n.get(key) for n in sim.nodes if n.alive]


def add(x: Any) -> Callable[[Any], None]:
    return lambda v: v.add(x)


def increment(n: int) -> Callable[[Any], None]:
    return lambda v: v.increment(n)


# ---- convergence ----


def test_every_type_converges_under_loss_duplication_and_reordering() -> None:
    sim = cv.Simulation(nodes=4, seed=3, loss=0.2, duplication=0.2, latency=0.01)
    sim.set_latency(0.01, jitter=0.009)
    a, b, c, d = sim.nodes
    updates = EVERY_TYPE_UPDATES
    for i, (key, fn) in enumerate(updates):
        for node in (a, b, c, d)[i % 2 :: 2]:
            node.update(key, fn)
    took = sim.run_until_converged(timeout=600.0)
    assert took > 0 and sim.converged()
    for key, _ in updates:
        seen = values(sim, key)
        assert seen[0] is not None and all(v == seen[0] for v in seen), key
    assert a.get(cv.GCounterKey("g")).value == 4  # each update ran on two nodes
    assert b.get(cv.PNCounterKey("p")).value == -6
    assert c.get(cv.ORSetKey("s")).elements() == ["milk"]
    assert d.get(cv.ORMapKey("om"))["n"].value == 8
    assert d.get(cv.PNCounterMapKey("pm"))["k"] == 10
    assert d.get(cv.MVRegisterKey("mv")).values == ["m"]
    assert sorted(k.name for k in list(a.keys())) == sorted(k.name for k, _ in updates)


def test_same_seed_same_run_and_another_seed_another_run() -> None:
    def run(seed: int) -> tuple[int, list[Any], float]:
        sim = cv.Simulation(nodes=3, seed=seed, loss=0.3, duplication=0.1)
        sim.set_latency(0.02, jitter=0.015)
        rng = random.Random(99)
        for _ in range(60):
            node = sim.nodes[rng.randrange(3)]
            node.update(CART, add(rng.randrange(10)))
            node.update(HITS, increment(rng.randrange(5)))
            sim.run_for(0.05)
        took = sim.run_until_converged(timeout=600.0)
        return (
            sim.trace_hash(),
            [sim.nodes[0].get(CART).elements(), sim.nodes[0].get(HITS).value],
            took,
        )

    first, again, other = run(5), run(5), run(6)
    assert first == again
    assert first[0] != other[0]
    assert first[1] == other[1]  # the same updates converge to the same values


def test_registers_written_without_a_timestamp_use_virtual_time() -> None:
    # LWWRegister.set and LWWMap.put without timestamp= take the update's clock: in a simulation
    # that is virtual time, so the run (and the winner of concurrent writes) is deterministic.
    reg, lmap = cv.LWWRegisterKey("reg"), cv.LWWMapKey("lmap")

    def run() -> tuple[int, Any, Any, list[int]]:
        sim = cv.Simulation(nodes=3, seed=11, latency=0.01)
        for i in range(30):
            node = sim.nodes[i % 3]
            node.update(reg, lambda r, i=i: r.set(i))
            node.update(lmap, lambda m, i=i: m.put(f"k{i % 4}", i))
            sim.run_for(0.013)
        sim.run_until_converged()
        stamps = [n.get(reg).timestamp for n in sim.nodes]
        return sim.trace_hash(), sim.nodes[0].get(reg).value, dict(sim.nodes[0].get(lmap)), stamps

    first, again = run(), run()
    assert first == again
    assert first[3][0] < 10_000_000  # microseconds of virtual time, not of the wall clock


def test_acknowledged_increments_survive_a_chaotic_run() -> None:
    for seed in range(8):
        sim = cv.Simulation(
            nodes=5,
            seed=seed,
            loss=0.1,
            duplication=0.05,
            config=cv.Config(anti_entropy_interval=1.0),
        )
        rng = random.Random(seed)
        total = 0
        for step in range(40):
            live = [n for n in sim.nodes if n.alive]
            node = rng.choice(live)
            n = rng.randrange(1, 5)
            node.update(HITS, increment(n))
            total += n
            if step % 10 == 3:
                ids = list(range(5))
                rng.shuffle(ids)
                sim.partition(ids[:2], ids[2:])
            if step % 10 == 7:
                sim.heal()
            sim.run_for(rng.random() * 0.5)
        sim.heal()
        sim.run_until_converged(timeout=600.0)
        assert [v.value for v in values(sim, HITS)] == [total] * 5, seed


# ---- coordination ----


def test_majority_write_waits_for_acks_and_advances_virtual_time() -> None:
    sim = cv.Simulation(nodes=3, seed=1, latency=0.05)
    a, b, c = sim.nodes
    before = sim.now
    a.update(HITS, lambda v: v.increment(), write=cv.MAJORITY)
    assert sim.now - before >= 0.1  # a round trip of 2 x 50 ms
    # floor(3/2)+1 = 2 replicas applied it: a and at least one other.
    assert sum(1 for n in (b, c) if n.get(HITS) is not None) >= 1


def test_a_write_that_cannot_reach_its_level_times_out_but_stays_and_replicates() -> None:
    sim = cv.Simulation(nodes=3, seed=2)
    a, b, c = sim.nodes
    sim.partition([a], [b, c])
    with pytest.raises(cv.WriteTimeout) as err:
        a.update(CART, lambda v: v.add("x"), write=cv.MAJORITY, timeout=0.5)
    assert isinstance(err.value, TimeoutError) and isinstance(err.value, cv.Error)
    assert "applied locally" in str(err.value)
    assert sim.now == pytest.approx(0.5, abs=0.01)
    assert a.get(CART).elements() == ["x"] and b.get(CART) is None
    sim.heal()
    sim.run_until_converged(timeout=120.0)
    assert c.get(CART).elements() == ["x"]


def test_all_write_times_out_with_a_crashed_member() -> None:
    sim = cv.Simulation(nodes=3, seed=4)
    a, _, c = sim.nodes
    a.update(HITS, lambda v: v.increment(), write=cv.ALL)  # everyone up: completes
    sim.crash(c)
    with pytest.raises(cv.WriteTimeout):
        a.update(HITS, lambda v: v.increment(), write=cv.ALL, timeout=0.3)
    a.update(HITS, lambda v: v.increment(), write=cv.MAJORITY, timeout=0.3)  # 2 of 3: fine


def test_majority_reads_merge_answers_and_time_out_in_a_minority() -> None:
    sim = cv.Simulation(nodes=3, seed=5)
    a, b, c = sim.nodes
    sim.partition([a, b], [c])
    a.update(CART, lambda v: v.add("a"))
    c.update(CART, lambda v: v.add("c"))
    # b has not heard of the key locally (no flush yet), but a majority read asks a.
    assert b.get(CART) is None
    assert b.get(CART, read=cv.MAJORITY).elements() == ["a"]
    with pytest.raises(cv.ReadTimeout):
        c.get(CART, read=cv.MAJORITY, timeout=0.4)
    assert c.get(CART).elements() == ["c"]  # a timed-out read leaves the local value


# ---- deletion ----


def test_delete_replicates_a_tombstone_that_rejects_updates() -> None:
    sim = cv.Simulation(nodes=3, seed=6, config=cv.Config(anti_entropy_interval=1.0))
    a, b, c = sim.nodes
    a.update(CART, lambda v: v.add("x"))
    sim.run_until_converged()
    events: list[Any] = []
    c.subscribe(CART, events.append)
    sim.partition([a, b], [c])
    b.delete(CART)
    assert b.get(CART) is None
    with pytest.raises(cv.KeyDeletedError):
        b.update(CART, lambda v: v.add("y"))
    sim.run_for(1.0)
    assert a.get(CART) is None
    assert c.get(CART).elements() == ["x"]  # c missed the delete
    sim.heal()
    sim.run_until_converged()
    assert c.get(CART) is None
    assert events == [cv.Deleted(CART)]
    assert CART not in list(c.keys())
    assert c.metrics()["crdt.replicator.tombstone.count"] == 1


def test_keys_not_updated_for_the_expiry_expire_everywhere_with_an_event() -> None:
    config = cv.Config(anti_entropy_interval=1.0, expire_keys_after_inactivity=10.0)
    sim = cv.Simulation(nodes=3, seed=8, config=config)
    a, b, c = sim.nodes
    a.update(CART, lambda v: v.add("x"))
    a.update(HITS, increment(1))
    events: list[Any] = []
    c.subscribe(CART, events.append)
    sim.run_for(6.0)
    b.update(HITS, increment(1))  # keeps HITS alive everywhere for 10 s more
    sim.run_for(6.0)
    assert [n.get(CART) for n in sim.nodes] == [None, None, None]
    assert [n.get(HITS).value for n in sim.nodes] == [2, 2, 2]
    assert events[-1] == cv.Expired(CART)
    assert not c.deleted(CART)  # no tombstone: the name is free
    a.update(CART, lambda v: v.add("y"))
    sim.run_until_converged()
    assert c.get(CART).elements() == ["y"]
    assert a.metrics()["crdt.replicator.keys.expired.count"] == 1
    with pytest.raises(ValueError, match="expire_keys_after_inactivity"):
        cv.Config(expire_keys_after_inactivity=0)


# ---- types and arguments ----


def test_a_key_of_another_type_raises_key_type_error_and_changes_nothing() -> None:
    sim = cv.Simulation(nodes=2, seed=7)
    a, _ = sim.nodes
    a.update(HITS, lambda v: v.increment(3))
    with pytest.raises(cv.KeyTypeError) as err:
        a.update(cv.GCounterKey("hits"), lambda v: v.increment())
    assert isinstance(err.value, TypeError) and "PNCounter" in str(err.value)
    with pytest.raises(cv.KeyTypeError):
        a.get(cv.ORSetKey("hits"))
    with pytest.raises(cv.KeyTypeError):
        a.delete(cv.ORSetKey("hits"))
    assert a.get(HITS).value == 3


def test_bad_arguments_raise_clear_errors() -> None:
    sim = cv.Simulation(nodes=2, seed=8)
    a, _ = sim.nodes
    with pytest.raises(TypeError, match="convergent key"):
        a.update("hits", lambda v: None)  # type: ignore[call-overload, arg-type]
    with pytest.raises(TypeError, match="callable"):
        a.update(HITS, 5)  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match="cv.LOCAL, cv.MAJORITY, cv.ALL, cv.DC_MAJORITY, cv.DC_ALL, cv.To"
    ):
        a.update(HITS, lambda v: None, write=7)
    with pytest.raises(ValueError, match="timeout"):
        a.get(HITS, read=cv.MAJORITY, timeout=-1)
    with pytest.raises(TypeError, match="timeout"):
        a.get(HITS, read=cv.MAJORITY, timeout="soon")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        a.subscribe(HITS, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        cv.Simulation(nodes=0)
    with pytest.raises(ValueError):
        cv.Simulation(loss=1.5)
    with pytest.raises(ValueError, match="snapshot"):
        cv.Simulation(config=cv.Config(snapshot_dir="/tmp/x", snapshot_interval=1.0))
    with pytest.raises(ValueError, match="not a member"):
        sim.crash(9)
    with pytest.raises(ValueError, match="another simulation"):
        sim.crash(cv.Simulation(nodes=1).nodes[0])
    with pytest.raises(ValueError):
        sim.set_loss(2.0)
    assert a.get(HITS) is None


def test_update_function_semantics() -> None:
    sim = cv.Simulation(nodes=2, seed=9)
    a, b = sim.nodes
    kept: list[Any] = []

    def grab(v: cv.PNCounter) -> None:
        kept.append(v)
        assert v.increment(2) is None  # inside update() mutators return None
        assert v.value == 2

    a.update(HITS, grab)
    with pytest.raises(RuntimeError, match="only valid inside"):
        _ = kept[0].value
    with pytest.raises(ValueError, match="replica="):
        a.update(HITS, lambda v: v.increment(1, replica="someone-else"))

    def fail_after_one(v: cv.PNCounter) -> None:
        v.increment(5)
        raise KeyError("boom")

    with pytest.raises(KeyError):
        a.update(HITS, fail_after_one)
    assert a.get(HITS).value == 7  # the mutation before the error stays ...
    sim.run_until_converged()
    assert b.get(HITS).value == 7  # ... and replicates

    with pytest.raises(ZeroDivisionError):
        a.update(CART, lambda v: 1 / 0)
    assert a.get(CART) is None  # nothing changed: the key was not created

    a.update(cv.ORMapKey("m"), lambda m: m.update("n", cv.ORSet, lambda s: s.add(1)))
    a.update(cv.ORMapKey("m"), lambda m: m.update("n", cv.ORSet, lambda s: s.add(2)))
    sim.run_until_converged()
    assert b.get(cv.ORMapKey("m"))["n"].elements() == [1, 2]

    other = cv.ORSet(replica="x")
    other.add("merged")
    a.update(CART, lambda v: v.merge(other))  # a merge inside update replicates too
    sim.run_until_converged()
    assert b.get(CART).elements() == ["merged"]


def test_get_returns_an_independent_snapshot() -> None:
    sim = cv.Simulation(nodes=1, seed=10)
    (a,) = sim.nodes
    a.update(CART, lambda v: v.add(1))
    snap = a.get(CART)
    snap.add(2, replica="me")
    assert a.get(CART).elements() == [1]


# ---- subscriptions ----


def test_subscriptions_fire_only_on_real_changes_and_stop_when_cancelled() -> None:
    sim = cv.Simulation(nodes=2, seed=11)
    a, b = sim.nodes
    on_a: list[Any] = []
    on_b: list[Any] = []
    sub_a = a.subscribe(CART, on_a.append)
    with b.subscribe(CART, on_b.append) as sub_b:
        a.update(CART, lambda v: v.add("x"))
        assert on_a == [cv.Changed(CART, cv.ORSet.from_bytes(a.get(CART).to_bytes()))]
        a.update(CART, lambda v: v.add("x"))  # the value did not change: no event
        assert len(on_a) == 1
        sim.run_until_converged()
        assert [type(e) for e in on_b] == [cv.Changed]
        assert on_b[0].value.elements() == ["x"]
    assert not sub_b.active
    sub_a.cancel()
    sub_a.cancel()  # twice is fine
    a.update(CART, lambda v: v.add("y"))
    sim.run_until_converged()
    assert len(on_a) == 1 and len(on_b) == 1


def test_a_failing_callback_goes_to_the_unraisable_hook_and_others_still_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = cv.Simulation(nodes=1, seed=12)
    (a,) = sim.nodes
    seen: list[Any] = []
    reported: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)

    def bad(event: Any) -> None:
        raise ValueError("callback bug")

    a.subscribe(HITS, bad)
    a.subscribe(HITS, seen.append)
    a.update(HITS, lambda v: v.increment())
    assert a.get(HITS).value == 1 and len(seen) == 1
    assert len(reported) == 1 and isinstance(reported[0].exc_value, ValueError)
    assert reported[0].object is bad


# ---- membership ----


def test_crash_and_restart_make_a_new_incarnation_that_catches_up() -> None:
    sim = cv.Simulation(nodes=3, seed=13, config=cv.Config(anti_entropy_interval=1.0))
    a, b, c = sim.nodes
    a.update(HITS, lambda v: v.increment(10))
    sim.run_until_converged()
    sim.crash(b)
    assert not b.alive
    with pytest.raises(cv.NodeDownError, match="crashed"):
        b.get(HITS)
    a.update(HITS, lambda v: v.increment(1))
    b2 = sim.restart(b)
    assert b2.alive and b2.node == b.node and b2.id != b.id and b2 != b
    assert sim.nodes[1] == b2 and hash(sim.nodes[1]) == hash(b2)
    with pytest.raises(cv.NodeDownError, match="restarted"):
        b.update(HITS, lambda v: v.increment())
    assert b2.get(HITS) is None  # its memory was lost
    b2.update(HITS, lambda v: v.increment(100))  # a fresh replica id: nothing reused
    sim.run_until_converged(timeout=120.0)
    assert [v.value for v in values(sim, HITS)] == [111, 111, 111]


def test_added_nodes_catch_up_and_removed_nodes_leave() -> None:
    sim = cv.Simulation(nodes=2, seed=14, config=cv.Config(anti_entropy_interval=1.0))
    a, b = sim.nodes
    for i in range(50):
        a.update(CART, add(i))
    sim.run_until_converged()
    c = sim.add_node()
    assert c.node == 2 and len(sim.nodes) == 3
    sim.run_until_converged(timeout=120.0)
    assert len(c.get(CART)) == 50
    sim.remove_node(b)
    assert [n.node for n in sim.nodes] == [0, 2]
    with pytest.raises(cv.NodeDownError, match="removed"):
        b.get(CART)
    a.update(HITS, lambda v: v.increment(), write=cv.ALL)  # b no longer counts


def test_not_converged_is_raised_when_a_link_is_cut() -> None:
    sim = cv.Simulation(nodes=2, seed=15)
    a, b = sim.nodes
    sim.set_loss(1.0, link=(a, b))
    a.update(HITS, lambda v: v.increment())
    with pytest.raises(cv.NotConverged):
        sim.run_until_converged(timeout=5.0)
    assert sim.now == pytest.approx(5.0)
    sim.reset_links()
    assert sim.run_until_converged(timeout=120.0) > 0


def test_a_link_cut_in_one_direction() -> None:
    misses = cv.PNCounterKey("misses")
    sim = cv.Simulation(nodes=2, seed=17)
    a, b = sim.nodes
    sim.run_until_formed()
    sim.set_loss(1.0, link=(a, b), one_way=True)  # a's frames never reach b; b's reach a
    a.update(HITS, lambda v: v.increment(1))
    b.update(misses, lambda v: v.increment(2))
    sim.run_for(2.0)
    got = a.get(misses)
    assert got is not None and got.value == 2
    assert b.get(HITS) is None
    with pytest.raises(ValueError, match="link"):
        sim.set_loss(0.5, one_way=True)
    sim.set_loss(0.0, link=(a, b))  # the symmetric setting replaces it
    assert sim.run_until_converged(timeout=60.0) >= 0


def test_metrics_and_network_stats() -> None:
    sim = cv.Simulation(nodes=3, seed=16)
    a, b, _ = sim.nodes
    sim.run_until_formed()  # before the nodes meet, a delta has nobody to go to
    sim.run_for(1.0)  # and the first anti-entropy rounds, which would carry it, are over
    a.update(HITS, lambda v: v.increment())
    sim.run_until_converged()
    m = a.metrics()
    assert m["crdt.replicator.store.size"] == 1
    assert m["crdt.replicator.delta.publish.count"] >= 1
    assert b.metrics()["crdt.replicator.delta.receive.count"] >= 1
    assert all(isinstance(v, (int, float)) for v in m.values())
    stats = sim.network_stats()
    assert stats["delivered"] >= 2 and stats["lost"] == 0
    assert "node 0" in repr(a) and "Simulation" in repr(sim)


def test_a_coordinated_write_rejected_by_tombstones_on_the_peers_raises_key_deleted() -> None:
    sim = cv.Simulation(nodes=3, seed=17)
    a, b, c = sim.nodes
    sim.partition([a], [b, c])
    b.delete(HITS)
    sim.run_for(1.0)
    sim.heal()
    with pytest.raises(cv.KeyDeletedError, match="rejected"):
        a.update(HITS, increment(1), write=cv.MAJORITY)


def test_nodes_meet_by_heartbeats_and_a_skewed_clock_moves_lww_not_timers() -> None:
    reg = cv.LWWRegisterKey("skewed")
    sim = cv.Simulation(nodes=2, seed=3)
    a, b = sim.nodes
    assert 0 < sim.run_until_formed() < 2.0  # heartbeats have to cross first
    sim.skew_clock(b, 3600.0)  # b's wall clock an hour ahead; virtual time (timers) unmoved
    with pytest.raises(ValueError, match="not a member"):
        sim.skew_clock(7, 1.0)
    sim.partition([a], [b])
    b.update(reg, lambda v: v.set("b, earlier"))
    sim.run_for(0.5)
    a.update(reg, lambda v: v.set("a, later"))
    sim.heal()
    sim.run_until_converged()
    # Last-writer-wins by the writers' clocks: b's stamp is an hour ahead, so it wins.
    assert a.get(reg).value == "b, earlier"
    assert b.get(reg).timestamp - sim.now * 1e6 > 3599e6


def test_to_n_waits_for_n_replicas() -> None:
    sim = cv.Simulation(nodes=3, seed=21)
    a, b, c = sim.nodes
    sim.run_until_formed()
    sim.partition([a, b], [c])
    a.update(HITS, lambda v: v.increment(), write=cv.To(2))
    assert b.get(HITS).value == 1
    with pytest.raises(cv.WriteTimeout):
        a.update(HITS, lambda v: v.increment(), write=cv.To(3), timeout=0.3)
    with pytest.raises(cv.ReadTimeout):
        c.get(HITS, read=cv.To(2), timeout=0.3)
    sim.heal()
    assert c.get(HITS, read=cv.To(3)).value == 2
    with pytest.raises(ValueError, match=">= 1"):
        cv.To(0)
    with pytest.raises(TypeError):
        cv.To(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"cv.To\(n\) or cv.Majority"):
        a.update(HITS, lambda v: v.increment(), write=5)  # type: ignore[arg-type]


def test_majority_plus_and_min_cap() -> None:
    sim = cv.Simulation(nodes=5, seed=22)
    a = sim.nodes[0]
    sim.run_until_formed()
    sim.partition(sim.nodes[:3], sim.nodes[3:])  # 3 of 5 reachable from a
    a.update(HITS, lambda v: v.increment(), write=cv.Majority())  # 3
    a.update(HITS, lambda v: v.increment(), write=cv.Majority(min_cap=3))
    for level in (cv.Majority(plus=1), cv.Majority(min_cap=4), cv.Majority(plus=9)):
        with pytest.raises(cv.WriteTimeout):
            a.update(HITS, lambda v: v.increment(), write=level, timeout=0.3)
        with pytest.raises(cv.ReadTimeout):
            a.get(HITS, read=level, timeout=0.3)
    sim.heal()
    sim.run_until_formed()
    assert a.get(HITS, read=cv.Majority(plus=9)).value == 5  # capped at N: every replica
    with pytest.raises(ValueError, match=">= 0"):
        cv.Majority(plus=-1)
    with pytest.raises(TypeError):
        cv.Majority(min_cap=1.5)  # type: ignore[arg-type]
    assert repr(cv.Majority(plus=1)) == "cv.Majority(plus=1, min_cap=0)"


def test_snapshots_in_memory_and_their_faults() -> None:
    keys = [cv.PNCounterKey(f"k{i}") for i in range(5)]
    sim = cv.Simulation(nodes=3, seed=21, config=cv.Config(snapshot_interval=0.2))
    a, _, c = sim.nodes
    sim.run_until_formed()
    for k in keys:
        a.update(k, lambda v: v.increment(1))
    sim.run_until_converged()
    sim.run_for(1.0)  # every node wrote its snapshot
    sim.partition([c])  # c restarts alone: what it holds comes from its snapshot
    sim.crash(c)
    c = sim.restart(c)
    sim.run_for(0.5)
    assert [c.get(k).value for k in keys] == [1] * 5
    assert sim.corrupt_snapshot(c, keys[0])
    assert not sim.corrupt_snapshot(c, "no such key")
    sim.crash(c)
    c = sim.restart(c)
    sim.run_for(0.5)
    assert c.get(keys[0]) is None  # the damaged record is lost, the others are read
    assert [c.get(k).value for k in keys[1:]] == [1] * 4
    sim.heal()
    sim.run_until_converged()
    assert c.get(keys[0]).value == 1  # and repaired from the peers
    sim.fail_snapshot_writes(c)
    c.update(keys[1], lambda v: v.increment(1))
    sim.run_until_converged()  # replication goes on while the disk fails
    sim.fail_snapshot_writes(c, False)
    with pytest.raises(ValueError, match="in memory"):
        cv.Simulation(nodes=1, config=cv.Config(snapshot_interval=1.0, snapshot_dir="snaps"))
    with pytest.raises(ValueError, match="no snapshots"):
        cv.Simulation(nodes=1).lose_last_snapshot_write(0)
