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
