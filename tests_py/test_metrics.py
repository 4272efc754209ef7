"""A node's metrics: the catalogue, the Prometheus endpoint read by Prometheus's own parser (and
by promtool and a Prometheus server in test_prometheus.py), the probes, and OpenTelemetry."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

import convergent as cv
from convergent import metrics


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _families(url: str) -> dict[str, object]:
    status, body = _get(url)
    assert status == 200
    return {f.name: f for f in text_string_to_metric_families(body)}


def test_the_endpoint_types_every_family_and_names_counters_by_the_conventions() -> None:
    with cv.Node("inproc://metrics-node", metrics_listen="http://127.0.0.1:0") as node:
        node.replicator.update(cv.GCounterKey("g"), lambda v: v.increment())
        assert node.metrics_url is not None and node.metrics_url.endswith("/metrics")
        with urllib.request.urlopen(node.metrics_url, timeout=10) as response:
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            body = response.read().decode()
        families = list(text_string_to_metric_families(body))
        # One family per catalogue entry the node reports, none "unknown" to the parser (which
        # strips _total from a counter's family name).
        expected = set()
        for name in node.metrics():
            found = metrics.find(name)
            assert found is not None, name
            expected.add(found[0].prometheus.removesuffix("_total"))
        assert {f.name for f in families} == expected
        assert {f.type for f in families} == {"counter", "gauge"}, {
            f.name: f.type for f in families if f.type not in ("counter", "gauge")
        }
        by_name = {f.name: f for f in families}
        for f in families:
            assert f.documentation, f.name
            for s in f.samples:
                assert s.labels["node"] == "inproc://metrics-node"
                if f.type == "counter":  # the parser strips _total from a counter's family
                    assert s.name == f.name + "_total", s.name
        keys = by_name["convergent_replicator_keys"].samples
        assert [s.value for s in keys] == [1.0]
        sent = by_name["convergent_replicator_sent_bytes"]
        assert {s.labels["kind"] for s in sent.samples} >= {"delta", "digest", "write"}
    with cv.Node("inproc://no-metrics") as node:
        assert node.metrics_url is None


def test_the_catalogue_names_every_metric_a_node_reports() -> None:
    with cv.Node("inproc://catalogue-node") as node:
        for name in node.metrics():
            assert metrics.find(name) is not None, name
    info, labels = metrics.find("crdt.replicator.crossdc.dc.eu.west.bytes.sent")  # type: ignore[misc]
    assert (info.prometheus, info.kind, info.unit) == (
        "convergent_crossdc_remote_sent_bytes_total",
        "counter",
        "bytes",
    )
    assert labels == {"dc": "eu.west"}
    assert info.name == "crdt.replicator.crossdc.dc.bytes.sent"
    assert metrics.find("nothing.like.it") is None


def test_the_probes_answer_ready_only_once_the_node_is() -> None:
    a = cv.Node("inproc://probe-a", seeds=["inproc://probe-b"], metrics_listen="http://127.0.0.1:0")
    with a:
        assert a.metrics_url is not None
        base = a.metrics_url.removesuffix("/metrics")
        assert _get(base + "/live") == (200, "live\n")
        status, body = _get(base + "/ready")
        assert status == 503 and body.startswith("not ready: "), (status, body)
        with cv.Node("inproc://probe-b", seeds=["inproc://probe-a"]):
            a.wait_ready(timeout=10)
            assert _get(base + "/ready") == (200, "ready\n")


def test_a_bad_metrics_address_is_a_start_error() -> None:
    with pytest.raises(ValueError, match="metrics endpoint"):
        cv.Node("inproc://bad-metrics", metrics_listen="ftp://nowhere")


def test_the_cross_datacenter_metrics_are_on_the_endpoint() -> None:
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
        assert us.metrics_url is not None
        families = _families(us.metrics_url)

        def value(family: str, **labels: str) -> float:
            f = families[family]
            (s,) = [s for s in f.samples if labels.items() <= s.labels.items()]  # type: ignore[attr-defined]
            return float(s.value)

        assert value("convergent_crossdc_batches_received") >= 1
        assert value("convergent_crossdc_remote_received_batches", dc="eu") >= 1
        assert value("convergent_crossdc_replication_lag_seconds") < 60  # seconds, not ns
        assert value("convergent_datacenters_reachable") == 1


def test_opentelemetry_sees_the_nodes_metrics_under_the_seed_names() -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from convergent.otel import register_metrics

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    calls = 0
    with cv.Node("inproc://otel-node") as node:

        class Counting:
            def metrics(self) -> dict[str, float]:
                nonlocal calls
                calls += 1
                return node.metrics()

        registration = register_metrics(
            Counting(), meter_provider=provider, attributes={"node": node.name}
        )
        node.replicator.update(cv.GCounterKey("g"), lambda v: v.increment())

        def collect() -> dict[str, object]:
            data = reader.get_metrics_data()
            if data is None:  # no instrument observed anything
                return {}
            return {
                m.name: m
                for rm in data.resource_metrics
                for sm in rm.scope_metrics
                for m in sm.metrics
            }

        found = collect()
        assert calls == 1  # one read of the node serves every instrument of a collection
        size = found["crdt.replicator.store.size"]
        (point,) = size.data.data_points  # type: ignore[attr-defined]
        assert point.value == 1 and dict(point.attributes) == {"node": "inproc://otel-node"}
        sent = found["crdt.replicator.bytes.sent"]
        assert sent.data.is_monotonic and sent.unit == "By"  # type: ignore[attr-defined]
        kinds = {p.attributes["kind"] for p in sent.data.data_points}  # type: ignore[attr-defined]
        assert {"delta", "digest"} <= kinds
        registration.close()
        assert "crdt.replicator.store.size" not in collect()
    with pytest.raises(TypeError, match="metrics"):
        register_metrics(object(), meter_provider=provider)  # type: ignore[arg-type]
