"""The convergent command (convergent node) and LocalCluster(processes=True)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import convergent as cv
from convergent import cli
from every_type import EVERY_TYPE_UPDATES

FAST = cv.Config(anti_entropy_interval=0.3, delta_flush_interval=0.01, coordination_timeout=2.0)
HITS = cv.PNCounterKey("hits")
CART = cv.ORSetKey("cart")


def test_flags_override_the_toml_file(tmp_path: Path) -> None:
    toml = tmp_path / "node.toml"
    toml.write_text(
        'listen = "tcp://127.0.0.1:7000"\nseeds = ["tcp://127.0.0.1:7001"]\n'
        'anti_entropy_interval = 7.5\nrole = "cache"\n'
    )
    node, config, level = cli.resolve_options(
        ["node", "--config", str(toml), "--anti-entropy-interval", "2", "--log-level", "DEBUG"]
    )
    assert node == {"listen": "tcp://127.0.0.1:7000", "seeds": ["tcp://127.0.0.1:7001"]}
    assert config.anti_entropy_interval == 2.0 and config.role == "cache" and level == "DEBUG"


@pytest.mark.parametrize(
    "toml, message",
    [
        ('listen = "inproc://x"\nbogus = 1\n', "unknown option(s) bogus"),
        ('listen = "inproc://x"\nanti_entropy_interval = -1\n', "anti_entropy_interval"),
        ('listen = "inproc://x"\nseeds = "not-a-list"\n', "seeds must be a list"),
        ("listen = [unclosed\n", "not valid TOML"),
        ("role = 'r'\n", "a listen URL is required"),
    ],
)
def test_bad_configuration_exits_2_with_a_clear_message(
    tmp_path: Path, toml: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "node.toml"
    path.write_text(toml)
    assert cli.main(["node", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "bad configuration" in err and message in err


def test_the_command_rejects_an_unusable_listen_url() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "convergent", "node", "--listen", "bogus://nowhere"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "bogus://nowhere" in out.stderr


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_a_cluster_of_node_processes_survives_kill_9(transport: str) -> None:
    with cv.LocalCluster(3, transport=transport, processes=True, config=FAST) as cluster:
        cluster.wait_members(timeout=30)
        a, b, c = cluster.nodes
        for i in range(20):
            a.update(HITS, lambda v: v.increment())
            b.update(CART, lambda v, i=i: v.add(i))
        c.update(HITS, lambda v: v.increment(10), write=cv.ALL)
        cluster.wait_converged(timeout=30)
        assert [n.get(HITS).value for n in cluster.nodes] == [30, 30, 30]
        cluster.kill(1)  # kill -9
        with pytest.raises(cv.NodeDownError):
            b.get(HITS)
        a.update(HITS, lambda v: v.increment(), write=cv.MAJORITY)
        b2 = cluster.start(1)
        cluster.wait_members(timeout=30)
        cluster.wait_converged(timeout=30)
        assert b2.get(HITS).value == 31 and len(b2.get(CART)) == 20
        assert cluster.node(1).metrics()["crdt.replicator.store.size"] == 2


def test_a_node_process_restores_its_snapshot_after_kill_9() -> None:
    config = cv.Config(delta_flush_interval=0.01, snapshot_interval=0.05)
    with cv.LocalCluster(1, transport="ipc", processes=True, config=config, snapshots=True) as cl:
        (a,) = cl.nodes
        a.update(CART, lambda v: v.add("kept"))
        import time

        deadline = time.monotonic() + 10
        while cl.node(0).metrics().get("convergent.snapshot.count", 0) < 1:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        cl.kill(0)
        a2 = cl.start(0)
        assert a2.get(CART).elements() == ["kept"]


def test_every_type_converges_across_node_processes() -> None:
    updates = EVERY_TYPE_UPDATES
    with cv.LocalCluster(3, transport="ipc", processes=True, config=FAST) as cluster:
        cluster.wait_members(timeout=30)
        nodes = cluster.nodes
        for i, (key, fn) in enumerate(updates):
            nodes[i % 3].update(key, fn)
        cluster.wait_converged(timeout=30)
        for key, _ in updates:
            seen = [n.get(key) for n in nodes]
            assert seen[0] is not None and all(v == seen[0] for v in seen), key
        assert nodes[2].get(cv.ORMapKey("om"))["n"].value == 4
        assert nodes[1].get(cv.LWWRegisterKey("r")).value == {"x": [1, 2]}
        assert sorted(k.name for k in list(nodes[0].keys())) == sorted(k.name for k, _ in updates)


def test_down_after_reaches_node_processes() -> None:
    _, config, _ = cli.resolve_options(["node", "--listen", "inproc://x", "--down-after", "0"])
    assert config.down_after == 0
    config = cv.Config(
        anti_entropy_interval=0.3, delta_flush_interval=0.01, coordination_timeout=0.3, down_after=2
    )
    with cv.LocalCluster(3, transport="ipc", processes=True, config=config) as cluster:
        cluster.wait_members(timeout=30)
        a = cluster.nodes[0]
        cluster.kill(2)  # kill -9: no goodbye
        deadline = time.monotonic() + 30
        while True:  # ALL times out until node 2 is downed, then succeeds with the two left
            try:
                a.update(HITS, lambda v: v.increment(), write=cv.ALL)
                break
            except cv.WriteTimeout:
                assert time.monotonic() < deadline, "node 2 was never downed"
        # At least node 2 (a live node stalled past down_after on a loaded machine rejoins).
        assert cluster.node(0).metrics()["convergent.membership.downed"] >= 1


def _alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_node_processes_stop_when_their_driver_is_killed_with_sigkill() -> None:
    script = (
        "import time\n"
        "import convergent as cv\n"
        "cl = cv.LocalCluster(2, transport='ipc', processes=True)\n"
        "print(' '.join(str(p.pid) for p in cl._procs if p), flush=True)\n"
        "time.sleep(600)\n"
    )
    driver = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    pids: list[int] = []
    try:
        assert driver.stdout is not None
        pids = [int(p) for p in driver.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
        driver.kill()  # SIGKILL: no atexit, no close()
        driver.wait()
        deadline = time.monotonic() + 20
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(p) for p in pids), "node processes outlived their killed driver"
    finally:
        driver.kill()
        driver.wait()
        for stream in (driver.stdout, driver.stderr):
            if stream is not None:
                stream.close()
        for pid in pids:
            if _alive(pid):
                os.kill(pid, 9)


def test_node_processes_do_not_outlive_a_driver_that_forgets_to_close() -> None:
    script = (
        "import convergent as cv\n"
        "cl = cv.LocalCluster(2, transport='ipc', processes=True)\n"
        "print(' '.join(str(p.pid) for p in cl._procs if p))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_keys_expire_in_node_processes_and_subscribers_hear_it() -> None:
    argv = ["node", "--listen", "inproc://x", "--expire-keys-after-inactivity", "1.5"]
    _, config, _ = cli.resolve_options(argv)
    assert config.expire_keys_after_inactivity == 1.5
    config = dataclasses.replace(FAST, expire_keys_after_inactivity=1.5)
    key = cv.GCounterKey("short-lived")
    with cv.LocalCluster(2, transport="ipc", processes=True, config=config) as cluster:
        a, b = cluster.nodes
        events: list[object] = []
        with b.subscribe(key, events.append):
            a.update(key, lambda v: v.increment(1))
            end = time.monotonic() + 15
            while cv.Expired(key) not in events and time.monotonic() < end:
                time.sleep(0.05)
        assert cv.Expired(key) in events, events
        while a.get(key) is not None and time.monotonic() < end:  # its pass may come a bit later
            time.sleep(0.05)
        assert a.get(key) is None and b.get(key) is None
