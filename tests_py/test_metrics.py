"""The Prometheus metrics endpoint of a node."""

from __future__ import annotations

import urllib.request

import convergent as cv


def test_a_node_serves_its_metrics_in_prometheus_text_format() -> None:
    with cv.Node("inproc://metrics-node", metrics_listen="http://127.0.0.1:0") as node:
        node.replicator.update(cv.GCounterKey("g"), lambda v: v.increment())
        assert node.metrics_url is not None and node.metrics_url.endswith("/metrics")
        with urllib.request.urlopen(node.metrics_url, timeout=10) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            body = response.read().decode()
        lines = dict(line.rsplit(" ", 1) for line in body.splitlines())
        assert lines['crdt_replicator_store_size{node="inproc://metrics-node"}'] == "1"
        assert 'convergent_membership_members{node="inproc://metrics-node"}' in lines
    with cv.Node("inproc://no-metrics") as node:
        assert node.metrics_url is None


def test_a_bad_metrics_address_is_a_start_error() -> None:
    import pytest

    with pytest.raises(ValueError, match="metrics endpoint"):
        cv.Node("inproc://bad-metrics", metrics_listen="ftp://nowhere")


def test_the_cross_datacenter_metrics_are_on_the_endpoint() -> None:
    import time

    config = cv.Config(dc_replication_interval=0.05)
    eu = cv.Node(
        "inproc://metrics-eu", datacenter="eu", config=config, metrics_listen="http://127.0.0.1:0"
    )
    us = cv.Node(
        "inproc://metrics-us",
        datacenter="us",
        remote_seeds={"eu": [eu.url]},
        config=config,
        metrics_listen="http://127.0.0.1:0",
    )
    with eu, us:
        end = time.monotonic() + 10
        while time.monotonic() < end and not all(
            n.metrics()["convergent.datacenters.reachable"] == 1 for n in (eu, us)
        ):
            time.sleep(0.02)
        eu.replicator.update(cv.GCounterKey("g"), lambda v: v.increment())  # crosses in a batch
        while time.monotonic() < end and us.replicator.get(cv.GCounterKey("g")) is None:
            time.sleep(0.02)
        assert us.replicator.get(cv.GCounterKey("g")) is not None
        with urllib.request.urlopen(us.metrics_url, timeout=10) as response:
            body = response.read().decode()
        lines = dict(line.rsplit(" ", 1) for line in body.splitlines())
        label = '{node="inproc://metrics-us"}'
        assert float(lines[f"crdt_replicator_crossdc_receive_count{label}"]) >= 1
        assert float(lines[f"crdt_replicator_crossdc_dc_eu_batches_received{label}"]) >= 1
        for name in ("send_count", "replication_lag", "stale_skip_count"):
            assert f"crdt_replicator_crossdc_{name}{label}" in lines
        assert lines[f"convergent_datacenters_reachable{label}"] == "1"
