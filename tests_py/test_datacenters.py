"""Multiple datacenters from Python: the simulator's datacenters, DC_MAJORITY/DC_ALL, the
configuration (Config, cv.Node, the CLI and its TOML file), and real node processes of two
datacenters, kill -9 of a gateway included."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import convergent as cv
from convergent import cli

HITS = cv.GCounterKey("hits")
FAST_DC = cv.Config(
    anti_entropy_interval=5.0,
    dc_replication_interval=0.2,
    dc_anti_entropy_interval=30.0,
    dc_send_timeout=1.0,
)


def test_a_simulation_of_datacenters_names_them_and_their_nodes() -> None:
    sim = cv.Simulation(datacenters={"eu": 3, "us": 2}, seed=1, config=FAST_DC)
    assert sim.datacenters == ["eu", "us"]
    assert [n.node for n in sim.datacenter("eu")] == [0, 1, 2]
    assert [n.node for n in sim.datacenter("us")] == [3, 4]
    assert [n.datacenter for n in sim.nodes] == ["eu", "eu", "eu", "us", "us"]
    assert cv.Simulation(nodes=2).nodes[0].datacenter is None
    with pytest.raises(ValueError, match="no datacenter 'ap'"):
        sim.datacenter("ap")
    with pytest.raises(ValueError, match="not both"):
        cv.Simulation(3, datacenters={"eu": 1})
    with pytest.raises(TypeError, match="datacenters"):
        cv.Simulation(datacenters={"eu": "three"})  # type: ignore[dict-item]
    added = sim.add_node(datacenter="us")
    assert added.datacenter == "us"
    with pytest.raises(ValueError, match="ap"):
        sim.add_node(datacenter="ap")


def test_updates_cross_the_wan_once_per_datacenter_and_partitions_heal() -> None:
    sim = cv.Simulation(datacenters={"eu": 3, "us": 3}, seed=2, config=FAST_DC)
    sim.run_until_formed()
    sim.set_latency(0.04, between=("eu", "us"))
    before = sim.network_stats(between=("eu", "us"))
    for i, n in enumerate(sim.nodes):
        n.update(HITS, lambda v, i=i: v.increment(i + 1))
    sim.run_for(2.0)
    assert all(n.get(HITS).value == 21 for n in sim.nodes)
    after = sim.network_stats(between=("eu", "us"))
    assert after["delivered"] > before["delivered"]
    assert after["delivered"] < sim.network_stats()["delivered"]

    sim.partition(sim.datacenter("eu"), sim.datacenter("us"))
    for n in sim.nodes:
        n.update(HITS, lambda v: v.increment())
    sim.run_for(5.0)
    assert sim.nodes[0].get(HITS).value == 24  # the eu side only
    sim.heal()
    sim.run_until_converged(timeout=60.0)
    assert all(n.get(HITS).value == 27 for n in sim.nodes)


def test_dc_levels_reach_the_other_datacenters() -> None:
    config = cv.Config(dc_replication_interval=30.0, dc_anti_entropy_interval=600.0)
    sim = cv.Simulation(datacenters={"eu": 2, "us": 2, "ap": 2}, seed=3, config=config)
    sim.run_until_formed()
    eu, us, ap = (sim.datacenter(name) for name in ("eu", "us", "ap"))
    eu[1].update(HITS, lambda v: v.increment(), write=cv.DC_ALL)
    for dc in (us, ap):  # a majority (here: both) of every datacenter applied it
        assert all(n.get(HITS).value == 1 for n in dc)
    us[0].update(HITS, lambda v: v.increment(5))  # LOCAL: not batched for 30 s
    assert eu[0].get(HITS, read=cv.DC_MAJORITY).value in (1, 6)
    assert eu[0].get(HITS, read=cv.DC_ALL).value == 6
    sim.partition(ap)
    with pytest.raises(cv.WriteTimeout, match="other datacenters"):
        eu[0].update(HITS, lambda v: v.increment(), write=cv.DC_ALL, timeout=2.0)
    eu[0].update(HITS, lambda v: v.increment(), write=cv.DC_MAJORITY, timeout=2.0)


def test_the_datacenter_options_are_checked() -> None:
    assert cv.Config().dc_replication_interval == 5.0
    assert cv.Config().dc_anti_entropy_interval == 120.0
    assert cv.Config().dc_send_timeout == 10.0
    with pytest.raises(ValueError, match="dc_send_timeout"):
        cv.Config(dc_send_timeout=0)
    with pytest.raises(TypeError, match="dc_replication_interval"):
        cv.Config(dc_replication_interval="5")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="own datacenter"):
        cv.Node("inproc://dc-own", datacenter="eu", remote_seeds={"eu": ["inproc://x"]})
    with pytest.raises(ValueError, match="need a datacenter"):
        cv.Node("inproc://dc-none", remote_seeds={"us": ["inproc://x"]})


def test_the_command_takes_a_datacenter_and_remote_seeds(tmp_path: Path) -> None:
    toml = tmp_path / "node.toml"
    toml.write_text(
        'listen = "tcp://127.0.0.1:0"\n'
        'datacenter = "eu"\n'
        'remote_seeds = { us = ["tcp://10.1.0.5:7000"], ap = ["tcp://10.2.0.5:7000"] }\n'
        "dc_replication_interval = 1.5\n"
    )
    node, config, _ = cli.resolve_options(
        ["node", "--config", str(toml), "--dc-seed", "us=tcp://10.1.0.6:7000"]
    )
    assert node["datacenter"] == "eu"
    # A flag's datacenter replaces the file's seeds of that datacenter; the others stay.
    assert node["remote_seeds"] == {"us": ["tcp://10.1.0.6:7000"], "ap": ["tcp://10.2.0.5:7000"]}
    assert config.dc_replication_interval == 1.5
    with pytest.raises(cli.ConfigError, match="NAME=URL"):
        cli.resolve_options(["node", "--listen", "inproc://x", "--dc-seed", "tcp://y"])
    with pytest.raises(cli.ConfigError, match="--datacenter"):
        cli.resolve_options(["node", "--listen", "inproc://x", "--dc-seed", "us=tcp://y:1"])


def count(r: cv.Replicator) -> int:
    v = r.get(HITS)
    return 0 if v is None else v.value


def wait_until(done: object, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if done():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return bool(done())  # type: ignore[operator]


def test_two_datacenters_of_node_processes_survive_kill_9_of_a_gateway() -> None:
    config = cv.Config(
        anti_entropy_interval=2.0,
        delta_flush_interval=0.02,
        dc_replication_interval=0.1,
        dc_anti_entropy_interval=10.0,
        dc_send_timeout=1.0,
    )
    with cv.LocalCluster(
        datacenters={"eu": 3, "us": 2}, transport="tcp", processes=True, config=config
    ) as cluster:
        eu, us = cluster.datacenter("eu"), cluster.datacenter("us")
        assert [n.datacenter for n in cluster.nodes] == ["eu", "eu", "eu", "us", "us"]
        members = cluster.node(0).members()
        assert {m["datacenter"] for m in members} == {"eu", "us"}
        assert all(m["reachable"] for m in members)
        for i, n in enumerate(eu):
            n.update(HITS, lambda v, i=i: v.increment(i + 1))
        assert wait_until(lambda: all(count(n) == 6 for n in us), 10.0)
        # kill -9 the gateway of eu (its leader: the member with the smallest id) mid-stream.
        leader = cluster.node(0).leader()
        gateway = next(i for i in range(3) if cluster.node(i).id == leader)
        survivors = [n for i, n in enumerate(eu) if i != gateway]
        for k in range(20):
            survivors[k % 2].update(HITS, lambda v: v.increment())
            if k == 5:
                cluster.kill(gateway)
            time.sleep(0.02)
        # The successor takes over (failure_timeout 1 s): everything the survivors hold crosses.
        assert wait_until(lambda: all(count(n) >= 26 for n in us), 20.0)
        assert wait_until(lambda: len({count(n) for n in [*survivors, *us]}) == 1, 20.0)
        us[1].update(HITS, lambda v: v.increment(), write=cv.DC_ALL, timeout=5.0)
