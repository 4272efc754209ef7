"""cv.Node and cv.LocalCluster: real nodes over NNG (inproc, ipc and tcp loopback)."""

from __future__ import annotations

import dataclasses
import os
import random
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

import convergent as cv

FAST = cv.Config(anti_entropy_interval=0.3, delta_flush_interval=0.01, coordination_timeout=2.0)
HITS = cv.PNCounterKey("hits")
CART = cv.ORSetKey("cart")


def wait_until(done: Any, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if done():
            return True
        time.sleep(0.01)
    return bool(done())


@pytest.mark.parametrize("transport", ["inproc", "ipc", "tcp"])
def test_a_local_cluster_converges_and_recovers_a_killed_node(transport: str) -> None:
    with cv.LocalCluster(3, transport=transport, config=FAST) as cluster:
        cluster.wait_members()
        a, b, c = cluster.nodes
        for i in range(50):
            a.update(HITS, lambda v: v.increment())
            b.update(CART, lambda v, i=i: v.add(i))
        c.update(HITS, lambda v: v.increment(10), write=cv.ALL)
        cluster.wait_converged()
        assert all(n.get(HITS).value == 60 for n in cluster.nodes)
        assert all(len(n.get(CART)) == 50 for n in cluster.nodes)

        cluster.kill(2)
        with pytest.raises(cv.NodeDownError):
            c.get(HITS)
        a.update(HITS, lambda v: v.increment(), write=cv.MAJORITY)  # 2 of 3 are up
        c2 = cluster.start(2)
        assert c2.id != c.id  # a new incarnation
        cluster.wait_members()
        cluster.wait_converged()
        assert c2.get(HITS).value == 61 and len(c2.get(CART)) == 50


def test_majority_writes_time_out_when_the_peers_are_gone() -> None:
    with cv.LocalCluster(3, transport="ipc", config=FAST) as cluster:
        cluster.wait_members()
        a = cluster.nodes[0]
        cluster.kill(1)
        cluster.kill(2)
        with pytest.raises(cv.WriteTimeout):
            a.update(HITS, lambda v: v.increment(), write=cv.MAJORITY, timeout=0.3)
        assert a.get(HITS).value == 1
        with pytest.raises(cv.ReadTimeout):
            a.get(HITS, read=cv.ALL, timeout=0.3)


def test_a_member_killed_without_a_goodbye_is_downed_and_all_works_again() -> None:
    config = dataclasses.replace(FAST, down_after=1.0)
    with cv.LocalCluster(3, transport="ipc", config=config) as cluster:
        cluster.wait_members()
        a = cluster.nodes[0]
        cluster.kill(2)  # no goodbye
        with pytest.raises(cv.WriteTimeout):  # still a member: ALL waits for it
            a.update(HITS, lambda v: v.increment(), write=cv.ALL, timeout=0.2)
        assert wait_until(lambda: len(cluster.node(0).members()) == 2)
        a.update(HITS, lambda v: v.increment(), write=cv.ALL)  # the two left are ALL
        assert cluster.node(0).metrics()["convergent.membership.downed"] >= 1


def test_subscriptions_fire_on_a_node_thread_for_remote_changes() -> None:
    with cv.LocalCluster(2, transport="inproc", config=FAST) as cluster:
        cluster.wait_members()
        a, b = cluster.nodes
        seen: list[Any] = []
        threads: set[str] = set()

        def on_event(event: Any) -> None:
            seen.append(event)
            threads.add(threading.current_thread().name)

        b.subscribe(CART, on_event)
        a.update(CART, lambda v: v.add("x"))
        assert wait_until(lambda: len(seen) >= 1)
        assert isinstance(seen[0], cv.Changed) and seen[0].value.elements() == ["x"]
        assert threading.current_thread().name not in threads  # a node thread ran it
        a.delete(CART)
        assert wait_until(lambda: any(isinstance(e, cv.Deleted) for e in seen))


def test_node_membership_leader_and_metrics() -> None:
    with cv.LocalCluster(3, transport="tcp", config=FAST) as cluster:
        cluster.wait_members()
        nodes = [cluster.node(i) for i in range(3)]
        ids = {n.id for n in nodes}
        assert all(n.leader() == min(ids) for n in nodes)
        members = nodes[0].members()
        assert {m["id"] for m in members} == ids and sum(m["self"] for m in members) == 1
        cluster.nodes[0].update(HITS, lambda v: v.increment())
        cluster.wait_converged()
        m = nodes[1].metrics()
        assert m["convergent.membership.reachable"] == 3
        assert m["convergent.transport.frames.received"] > 0
        assert "crdt.replicator.merge.count" in m
        cluster.stop(0)  # graceful: peers drop it at once
        assert wait_until(lambda: len(nodes[1].members()) == 2)


def test_bad_node_configuration_is_rejected() -> None:
    with pytest.raises(ValueError, match="listen"):
        cv.Node("bogus://x")
    with pytest.raises(ValueError, match="tls"):
        cv.Node("tls+tcp://127.0.0.1:0")
    with pytest.raises(ValueError, match="failure_timeout"):
        cv.Node("inproc://bad", heartbeat_interval=1.0, failure_timeout=0.5)
    with pytest.raises(TypeError):
        cv.Node(5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="transport"):
        cv.LocalCluster(2, transport="carrier-pigeon")
    with pytest.raises(ValueError, match="inproc"):
        cv.LocalCluster(2, processes=True)  # the default transport reaches no other process


def test_a_node_listening_twice_on_one_url_fails_clearly() -> None:
    with cv.Node("inproc://twice") as first:
        assert first.running
        with pytest.raises(ValueError, match="inproc://twice"):
            cv.Node("inproc://twice")


def test_snapshots_bring_a_lone_node_back_with_its_data() -> None:
    config = cv.Config(delta_flush_interval=0.01, snapshot_interval=0.05)
    with cv.LocalCluster(1, transport="inproc", config=config, snapshots=True) as cluster:
        (a,) = cluster.nodes
        a.update(HITS, lambda v: v.increment(7))
        a.update(CART, lambda v: v.add("kept"))
        assert wait_until(lambda: cluster.node(0).metrics()["convergent.snapshot.count"] >= 1)
        cluster.kill(0)  # no final snapshot: the periodic one must hold the data
        a2 = cluster.start(0)
        assert a2.get(HITS).value == 7 and a2.get(CART).elements() == ["kept"]
        assert cluster.node(0).metrics()["convergent.snapshot.restored.keys"] == 2


def test_a_simulation_rejects_snapshot_options_but_a_node_takes_them(tmp_path: Any) -> None:
    config = cv.Config(snapshot_dir=tmp_path / "snap", snapshot_interval=0.1)
    with cv.Node("inproc://with-snapshots", config=config) as node:
        node.replicator.update(HITS, lambda v: v.increment())
    with cv.Node("inproc://with-snapshots", config=config) as node:
        assert node.replicator.get(HITS).value == 1  # the final snapshot of the graceful stop


def test_a_lone_nodes_snapshot_older_than_the_pruning_markers_comes_back_whole(
    tmp_path: Any,
) -> None:
    # Restored after pruning_marker_ttl less max_pruning_dissemination, the keys wait for a peer
    # to show what was pruned meanwhile; a node without seeds waits max_pruning_dissemination
    # at most.
    config = cv.Config(
        snapshot_dir=tmp_path / "snap",
        snapshot_interval=0.1,
        pruning_marker_ttl=1.5,
        max_pruning_dissemination=1.0,
    )
    with cv.Node("inproc://lone-stale", config=config) as node:
        node.replicator.update(HITS, lambda v: v.increment(3))
    time.sleep(0.6)
    with cv.Node("inproc://lone-stale", config=config) as node:
        assert node.metrics()["convergent.snapshot.stale"] == 1
        assert wait_until(lambda: node.replicator.get(HITS) is not None, timeout=10.0)
        assert node.replicator.get(HITS).value == 3


GIL_HANDOFF = """
import threading, time
import convergent as cv

HITS = cv.PNCounterKey("hits")
with cv.Node("inproc://gil-handoff") as node:
    r = node.replicator
    entered, go = threading.Event(), threading.Event()

    def slow(c):
        entered.set()
        assert go.wait(30)
        c.increment()

    calls = [
        lambda: r.update(HITS, lambda c: c.increment(2)),
        lambda: r.get(HITS),
        lambda: r.keys(),
        lambda: r.metrics(),
        lambda: node.members(),
    ]
    writer = threading.Thread(target=lambda: r.update(HITS, slow))
    writer.start()
    assert entered.wait(30)
    others = [threading.Thread(target=call) for call in calls]
    for t in others:
        t.start()
    time.sleep(0.2)  # let them reach the node's lock (the test holds without it too)
    go.set()
    for t in [writer, *others]:
        t.join(30)
        assert not t.is_alive()
    assert r.get(HITS).value == 3
print("ok")
"""


def test_a_thread_waiting_for_the_node_lets_an_update_function_finish() -> None:
    # Thread A runs an update whose function waits (GIL released) while it holds the node's
    # lock. Meanwhile other threads call the node and wait for its lock: they must release the
    # GIL while they wait, or neither A's function nor the main thread could take it back: a
    # deadlock. Run in a subprocess, so that a deadlock fails the test instead of hanging it.
    try:
        done = subprocess.run(
            [sys.executable, "-c", GIL_HANDOFF], capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        pytest.fail("deadlock: a thread held the GIL while it waited for the node")
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_wait_converged_calls_poll_between_checks_and_at_the_end() -> None:
    with cv.LocalCluster(2, transport="inproc", config=FAST) as cluster:
        cluster.wait_members()
        seen: list[int | None] = []

        def sample() -> None:
            v = cluster.nodes[1].get(HITS)
            seen.append(None if v is None else v.value)

        cluster.nodes[0].update(HITS, lambda c: c.increment(7))
        cluster.wait_converged(timeout=10, poll=sample)
        assert seen and seen[-1] == 7  # the last call sees the converged state


def test_a_majority_write_at_once_after_enter_is_on_a_majority_of_processes() -> None:
    # __enter__ returns only when every node is ready and reaches the others: a MAJORITY write
    # issued at once counts N = 3 and is on at least 2 processes when it returns.
    key = cv.GCounterKey("formed")
    with cv.LocalCluster(3, transport="tcp", processes=True, config=FAST) as cluster:
        cluster.nodes[0].update(key, lambda v: v.increment(), write=cv.MAJORITY)
        on = [n.get(key) for n in cluster.nodes]
        assert sum(v is not None and v.value == 1 for v in on) >= 2
        assert all(cluster.node(i).metrics()["convergent.node.ready"] == 1 for i in range(3))


def test_a_lone_node_counts_its_unheard_seeds_and_is_not_ready() -> None:
    node = cv.Node(
        "inproc://lonely-seeded",
        seeds=["inproc://lonely-seed-a", "inproc://lonely-seed-b"],
        config=dataclasses.replace(FAST, min_members=2),
    )
    try:
        assert not node.ready
        with pytest.raises(TimeoutError, match="lonely-seed-a"):
            node.wait_ready(0.1)
        assert node.metrics()["convergent.membership.replicas.counted"] == 3
        with pytest.raises(cv.WriteTimeout):
            node.replicator.update(HITS, lambda v: v.increment(), write=cv.MAJORITY, timeout=0.2)
        assert node.replicator.get(HITS).value == 1  # the local write stays
    finally:
        node.stop()
    with pytest.raises(cv.NodeDownError):
        node.wait_ready(0.1)


def test_deleted_tells_a_tombstone_from_a_key_never_written() -> None:
    with cv.LocalCluster(2, transport="inproc", config=FAST) as cluster:
        a, b = cluster.nodes
        a.update(HITS, lambda v: v.increment())
        a.delete(HITS, write=cv.ALL)
        assert a.get(HITS) is None and b.get(HITS) is None
        assert a.deleted(HITS) and b.deleted(HITS)
        assert not a.deleted(CART)
        with pytest.raises(TypeError):
            a.deleted("hits")


def test_a_silent_node_process_cannot_hang_the_start() -> None:
    from convergent.cluster import _wait_for_ready_line

    proc = subprocess.Popen(["sleep", "30"], stdout=subprocess.PIPE, text=True)
    try:
        start = time.monotonic()
        assert not _wait_for_ready_line(proc, time.monotonic() + 0.3)
        assert time.monotonic() - start < 5
    finally:
        proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def test_restarted_nodes_are_pruned_from_the_values_they_wrote() -> None:
    # Removed-replica pruning on real nodes (NNG over tcp): every start of node 2 is a new
    # replica, and the leader collapses the earlier ones out of the counter, whose count stays
    # exact.
    config = dataclasses.replace(FAST, pruning_interval=0.2, max_pruning_dissemination=0.5)
    key = cv.GCounterKey("restarts")
    lives = 5
    with cv.LocalCluster(3, transport="tcp", config=config) as cluster:
        for life in range(lives):
            cluster.nodes[2].update(key, as_the_handle(5), write=cv.ALL)
            if life < lives - 1:
                cluster.kill(2)
                cluster.start(2)

        def pruned() -> bool:
            values = [n.get(key) for n in cluster.nodes]
            # The last life's slot and the pruning target's: 8-byte ids and small counts.
            return all(v is not None and len(v.to_bytes()) < 40 for v in values)

        assert wait_until(pruned, timeout=30.0), [len(n.get(key).to_bytes()) for n in cluster.nodes]
        cluster.wait_converged()
        assert all(n.get(key).value == 5 * lives for n in cluster.nodes)


def size_with_slots(n: int) -> int:
    """The encoded size of a GCounter with n slots of random 64-bit replicas (small counts)."""
    g = cv.GCounter()
    for _ in range(n):
        g.increment(7, replica=random.getrandbits(64) | 1 << 63)
    return len(g.to_bytes())


def as_the_handle(n: int) -> Any:
    """An increment by n that reads the value first: a node process's handle cannot record it
    (convergent._recording), so it runs on the fetched value as the handle's own writer replica
    rather than being applied by the node."""

    def increment(v: Any) -> None:
        assert v.value >= 0
        v.increment(n)

    return increment


def test_the_writer_replicas_of_closed_process_handles_are_pruned() -> None:
    # A handle of a node process writes as a replica of its own (a function it cannot record,
    # as_the_handle). When its connection closes, the node process retires that replica; when the
    # process dies first, LocalCluster has the next process of that node retire it. Either way the
    # cluster prunes it like a removed incarnation, and the count stays exact.
    from convergent._control import RemoteNode

    config = dataclasses.replace(FAST, pruning_interval=0.2, max_pruning_dissemination=0.5)
    key = cv.GCounterKey("handles")
    lives = 4
    with cv.LocalCluster(3, transport="tcp", processes=True, config=config) as cluster:
        for life in range(lives):
            cluster.nodes[2].update(key, as_the_handle(5), write=cv.ALL)
            if life < lives - 1:
                cluster.kill(2)
                cluster.start(2)
        # A second handle of node 0, on a connection of its own, which it then closes.
        node0 = cluster.node(0)
        extra = RemoteNode(node0._channel.address, node0._channel.authkey, cluster._procs[0])
        extra.replicator.update(key, as_the_handle(7), write=cv.ALL)
        extra._channel.close()

        def sizes() -> list[int]:
            return [len(n.get(key).to_bytes()) for n in cluster.nodes]

        # At most two slots are left: the live handle's and the pruning target's (without the
        # pruning there would be five, and the node incarnations write none).
        assert wait_until(lambda: max(sizes()) < size_with_slots(3), timeout=30.0), sizes()
        cluster.wait_converged()
        assert all(n.get(key).value == 5 * lives + 7 for n in cluster.nodes)


def test_a_snapshot_older_than_the_pruning_markers_does_not_count_a_pruned_writer_twice() -> None:
    # A handle writes 5 and closes; node 1 stops (and is downed) with a snapshot that holds the
    # handle's slot. The others prune the handle's replica into the leader's target and let go of
    # the pruning's markers (pruning_marker_ttl). Restored as it was, node 1's snapshot would
    # count the old slot again (10).
    from convergent._control import RemoteNode

    config = dataclasses.replace(
        FAST,
        snapshot_interval=0.05,
        down_after=1.0,
        pruning_interval=0.2,
        max_pruning_dissemination=0.5,
        pruning_marker_ttl=2.0,
    )
    key = cv.GCounterKey("old")
    with cv.LocalCluster(
        3, transport="tcp", processes=True, config=config, snapshots=True
    ) as cluster:
        node0 = cluster.node(0)
        writer = RemoteNode(node0._channel.address, node0._channel.authkey, cluster._procs[0])
        writer.replicator.update(key, as_the_handle(5), write=cv.ALL)
        time.sleep(0.3)  # node 1 snapshots it
        cluster.kill(1)
        writer._channel.close()

        def pruned_and_let_go() -> bool:
            ms = [cluster.node(i).metrics() for i in (0, 2)]  # (either may lead)
            return sum(m["crdt.replicator.pruning.performed.count"] for m in ms) >= 1 and all(
                m["crdt.replicator.pruning.marked.keys"] == 0 for m in ms
            )

        assert wait_until(pruned_and_let_go, timeout=30.0)
        cluster.start(1)
        assert cluster.node(1).metrics()["convergent.snapshot.stale"] == 1
        cluster.wait_converged(timeout=30.0)
        assert [n.get(key).value for n in cluster.nodes] == [5, 5, 5]
        # One slot: the pruning target's.
        assert all(len(n.get(key).to_bytes()) < size_with_slots(2) for n in cluster.nodes)


def test_a_tombstone_is_collected_once_every_node_has_it_and_the_key_stays_gone() -> None:
    # Safe tombstone collection on real nodes (NNG over tcp): node 2 is stopped while the key is
    # deleted, so the others keep the tombstone however long it is away; once it is back and
    # has it, every node collects it, and the name is free again.
    config = dataclasses.replace(FAST, prune_interval=0.2, tombstone_ttl=0.5)
    key = cv.GCounterKey("doomed")
    with cv.LocalCluster(3, transport="tcp", config=config) as cluster:
        cluster.nodes[0].update(key, lambda v: v.increment(3), write=cv.ALL)
        cluster.kill(2)
        cluster.nodes[0].delete(key)

        def tombstones() -> list[float]:
            nodes = [cluster.node(i) for i in range(3)]
            return [n.metrics()["crdt.replicator.tombstone.count"] for n in nodes if n.running]

        time.sleep(2.0)  # four TTLs
        assert tombstones() == [1.0, 1.0]  # node 2 has not said it has it
        cluster.start(2)
        assert wait_until(lambda: tombstones() == [0.0, 0.0, 0.0], timeout=30.0), tombstones()
        assert all(n.get(key) is None for n in cluster.nodes)
        cluster.nodes[1].update(key, lambda v: v.increment(1))
        assert wait_until(lambda: all(n.get(key) is not None for n in cluster.nodes))
        cluster.wait_converged()
        assert all(n.get(key).value == 1 for n in cluster.nodes)


def test_a_key_larger_than_the_transports_frames_reaches_a_restarted_node() -> None:
    # Real nodes over tcp, whose transport drops frames above 4 MiB: a 6 MB ORSet goes in pieces
    # (anti-entropy repairs, the full state after an update), paced by the socket's queue.
    key = cv.ORSetKey("big")
    pad = "x" * 60
    with cv.LocalCluster(3, transport="tcp", config=FAST) as cluster:
        a = cluster.nodes[0]

        def fill(v: Any) -> None:
            for i in range(80_000):
                v.add(f"{i}-{pad}")

        a.update(key, fill)
        assert len(a.get(key).to_bytes()) > 4 << 20
        cluster.kill(2)
        cluster.start(2)  # empty: it catches up through anti-entropy
        assert wait_until(
            lambda: all(len(n.get(key) or []) == 80_000 for n in cluster.nodes), timeout=60.0
        ), [len(n.get(key) or []) for n in cluster.nodes]
        metrics = cluster.node(0).metrics()
        assert metrics["crdt.replicator.frames.fragmented.count"] > 0
        assert metrics["crdt.replicator.keys.large.count"] == 1
        cluster.wait_converged(timeout=30.0)


def test_the_control_socket_refuses_a_wrong_key_and_a_silent_peer_without_stalling() -> None:
    from multiprocessing import AuthenticationError
    from multiprocessing.connection import Client

    from convergent._control import AUTH_TIMEOUT

    with cv.LocalCluster(1, transport="ipc", processes=True) as c:
        node = c.node(0)
        address = node._channel.address
        with pytest.raises(AuthenticationError):
            Client(address, family="AF_UNIX", authkey=b"not the key")
        silent = socket.socket(socket.AF_UNIX)  # connects, never answers the challenge
        silent.connect(address)
        r = c.nodes[0]
        served = threading.Thread(
            target=lambda: r.update(cv.GCounterKey("k"), lambda g: g.increment(1))
        )
        served.start()  # served at once, beside them
        served.join(AUTH_TIMEOUT / 2)
        assert not served.is_alive(), "the control socket stalled behind a refused connection"
        assert r.get(cv.GCounterKey("k")).value == 1
        deadline = time.monotonic() + AUTH_TIMEOUT + 5
        while node.metrics()["convergent.control.refused"] < 2:
            assert time.monotonic() < deadline, "the silent connection was never cut off"
            time.sleep(0.1)
        silent.settimeout(5)
        while silent.recv(4096):  # the challenge, then the end: the node closed it
            pass
        silent.close()
        with open(f"{c._tmp}/node-0.log") as f:
            log = f.read()
        assert "refused a connection (digest received was wrong)" in log
        assert "no answer to the challenge" in log
        assert c.nodes[0].get(cv.GCounterKey("k")).value == 1


def test_a_control_socket_without_a_key_is_refused_at_start(tmp_path: Any) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CONVERGENT_CONTROL_KEY"}
    url = f"ipc://{tmp_path}/n"
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "convergent",
            "node",
            "--listen",
            url,
            "--control",
            str(tmp_path / "control"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert p.returncode == 2
    assert "needs the driver's key in $CONVERGENT_CONTROL_KEY" in p.stderr


def test_a_stepped_wall_clock_stamps_the_nodes_writes() -> None:
    with cv.LocalCluster(2) as c:
        a, b = c.nodes
        c.node(1)._step_wall_clock(-3600)
        b.update(cv.LWWRegisterKey("r"), lambda v: v.set("b"), write=cv.ALL, timeout=5)
        a.update(cv.LWWRegisterKey("s"), lambda v: v.set("a"), write=cv.ALL, timeout=5)
        behind = a.get(cv.LWWRegisterKey("r")).timestamp / 1e6
        on_time = b.get(cv.LWWRegisterKey("s")).timestamp / 1e6
        assert abs(behind - (time.time() - 3600)) < 60
        assert abs(on_time - time.time()) < 60


def test_a_node_process_stopped_while_calls_are_in_flight_exits_cleanly() -> None:
    # The driver's calls were daemon threads of the node process blocked in the node when it
    # stopped; taking the GIL back at the interpreter's exit aborted the process.
    with cv.LocalCluster(2, transport="ipc", processes=True) as c:
        r = c.nodes[0]
        done = threading.Event()

        def hammer() -> None:
            key = cv.GCounterKey("k")
            while not done.is_set():
                try:
                    r.update(key, lambda g: g.increment(1), write=cv.MAJORITY, timeout=1)
                except cv.Error:
                    return

        threads = [threading.Thread(target=hammer, daemon=True) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        proc = c._procs[0]
        assert proc is not None
        c.stop(0)
        done.set()
        with open(f"{c._tmp}/node-0.log") as f:
            log = f.read()
        assert proc.returncode == 0, log[-2000:]
        assert "terminate called" not in log


def test_a_node_on_every_interface_needs_the_host_its_peers_reach_it_at() -> None:
    with pytest.raises(ValueError, match="advertise_host"):
        cv.Node("tcp://0.0.0.0:0")
    a = cv.Node("tcp://0.0.0.0:0", advertise_host="127.0.0.1")
    b = cv.Node("tcp://0.0.0.0:0", advertise_host="127.0.0.1", seeds=[a.url])
    with a, b:
        assert a.url.startswith("tcp://127.0.0.1:") and not a.url.endswith(":0")
        b.wait_ready(timeout=10)
        # ALL needs a's point-to-point listener reached at its advertised address.
        b.replicator.update(cv.GCounterKey("g"), lambda g: g.increment(), write=cv.ALL, timeout=5)
        assert a.replicator.get(cv.GCounterKey("g")).value == 1
