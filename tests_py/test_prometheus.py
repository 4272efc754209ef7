"""The metrics endpoint checked by the real thing: Debian's Prometheus 2.42 (`promtool check
metrics`, and a Prometheus server that scrapes a 3-node cluster and answers PromQL).

./scripts/test installs the `prometheus` package and sets CONVERGENT_REQUIRE_PROMETHEUS=1, so
there these tests run or fail; elsewhere they are skipped when the binaries are missing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import convergent as cv
from deploy_support import dashboard_queries


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CONVERGENT_REQUIRE_PROMETHEUS") == "1":
            pytest.fail(f"{name} is not installed (Debian package prometheus)")
        pytest.skip(f"{name} is not installed (Debian package prometheus)")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def cluster() -> Iterator[list[cv.Node]]:
    config = cv.Config(anti_entropy_interval=0.5)
    first = cv.Node(
        "tcp://127.0.0.1:0", name="n0", config=config, metrics_listen="http://127.0.0.1:0"
    )
    nodes = [first] + [
        cv.Node(
            "tcp://127.0.0.1:0",
            name=f"n{i}",
            seeds=[first.url],
            config=config,
            metrics_listen="http://127.0.0.1:0",
        )
        for i in (1, 2)
    ]
    try:
        for n in nodes:
            n.wait_ready(timeout=10)
        yield nodes
    finally:
        for n in nodes:
            n.stop()


def test_promtool_finds_nothing_to_lint_on_the_endpoint(cluster: list[cv.Node]) -> None:
    promtool = _binary("promtool")
    cluster[0].replicator.update(cv.ORSetKey("s"), lambda s: s.add("x"))
    assert cluster[0].metrics_url is not None
    with urllib.request.urlopen(cluster[0].metrics_url, timeout=10) as response:
        body = response.read()
    done = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")


def test_a_prometheus_server_scrapes_the_cluster_and_answers_promql(
    cluster: list[cv.Node], tmp_path: Path
) -> None:
    prometheus = _binary("prometheus")
    targets = [n.metrics_url.split("/")[2] for n in cluster if n.metrics_url is not None]
    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: convergent\n"
        f"    static_configs:\n      - targets: {json.dumps(targets)}\n"
    )
    port = _free_port()
    server = subprocess.Popen(
        [
            prometheus,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "prometheus.log", "wb"),  # noqa: SIM115 (the child keeps it)
    )
    try:
        for i in range(5):
            cluster[i % 3].replicator.update(cv.GCounterKey(f"k{i}"), lambda c: c.increment())

        def query(promql: str) -> list[dict[str, object]]:
            url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode(
                {"query": promql}
            )
            with urllib.request.urlopen(url, timeout=10) as response:
                answer = json.load(response)
            assert answer["status"] == "success", answer
            return list(answer["data"]["result"])

        # The store size on every node, as Prometheus scraped it: 5 keys on each of 3 nodes.
        deadline = time.monotonic() + 60
        sizes: dict[str, float] = {}
        while time.monotonic() < deadline:
            try:
                result = query("convergent_replicator_keys")
                sizes = {str(r["metric"]["node"]): float(r["value"][1]) for r in result}  # type: ignore[index]
            except OSError:  # the server is still starting
                pass
            if sizes == {"n0": 5.0, "n1": 5.0, "n2": 5.0}:
                break
            time.sleep(0.25)
        assert sizes == {"n0": 5.0, "n1": 5.0, "n2": 5.0}, (
            tmp_path / "prometheus.log"
        ).read_text()[-2000:]
        # A counter by the conventions: rate() over it, summed by frame kind across the cluster.
        deltas = query('sum by (kind) (convergent_replicator_sent_frames_total{kind="delta"})')
        assert len(deltas) == 1 and float(deltas[0]["value"][1]) >= 1  # type: ignore[index]
        up = query("up")
        assert sorted(float(r["value"][1]) for r in up) == [1.0, 1.0, 1.0]  # type: ignore[index]
        # Every query of the Grafana dashboard runs (query() asserts success); those over
        # metrics every node has answer with data.
        time.sleep(2)  # rate() needs two scrapes in its window
        answered = [q for q in dashboard_queries() if query(q)]
        assert len(answered) >= 15, answered
    finally:
        server.terminate()
        server.wait(timeout=30)
