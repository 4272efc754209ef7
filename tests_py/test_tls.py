"""Mutual TLS from Python: a cluster of cv.Node over tls+tcp://, and the peers it must refuse (a
plaintext client, a certificate of another CA, an expired certificate), each refused with a
count on both sides and a warning in the log that says why; a certificate without its key is
rejected at start. The certificates are made with the openssl command."""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import convergent as cv

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command")

CA_CONFIG = """[ca]
default_ca = ca_default
[ca_default]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
default_md = sha256
policy = any
copy_extensions = copy
[any]
commonName = supplied
"""


class Pki:
    def __init__(self, root: Path) -> None:
        self.root = root

    def run(self, *args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=self.root)

    def ca(self, name: str) -> Path:
        self.run(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={name}",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.pem",
        )
        (self.root / name).mkdir()
        (self.root / name / "index.txt").write_text("")
        (self.root / name / "serial").write_text("01\n")
        (self.root / f"{name}.cnf").write_text(CA_CONFIG.format(dir=self.root / name))
        return self.root / f"{name}.pem"

    def cert(self, name: str, ca: str, *, expired: bool = False) -> tuple[Path, Path]:
        """(certificate, key) of `name`, signed by `ca` (valid for two days, or in 2020)."""
        self.run(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={name}",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
        )
        dates = (
            ["-startdate", "20200101000000Z", "-enddate", "20200102000000Z"]
            if expired
            else ["-days", "2"]
        )
        self.run(
            "ca",
            "-batch",
            "-config",
            f"{ca}.cnf",
            "-cert",
            f"{ca}.pem",
            "-keyfile",
            f"{ca}.key",
            "-in",
            f"{name}.csr",
            "-out",
            f"{name}.crt",
            *dates,
        )
        return self.root / f"{name}.crt", self.root / f"{name}.key"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    p = Pki(tmp_path_factory.mktemp("pki"))
    p.ca("cluster")
    p.ca("rogue")
    for name in ("a", "b", "member"):
        p.cert(name, "cluster")
    p.cert("intruder", "rogue")
    p.cert("old", "cluster", expired=True)
    return p


def tls_node(pki: Pki, name: str, seeds: list[str] = ()) -> cv.Node:  # type: ignore[assignment]
    return cv.Node(
        "tls+tcp://127.0.0.1:0",
        seeds=seeds,
        heartbeat_interval=0.1,
        failure_timeout=1.0,
        tls_cert_file=pki.root / f"{name}.crt",
        tls_key_file=pki.root / f"{name}.key",
        tls_ca_file=pki.root / "cluster.pem",
    )


def wait(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def reachable(node: cv.Node) -> int:
    return sum(1 for m in node.members() if m["reachable"])


def test_members_of_the_ca_form_a_cluster_and_replicate(pki: Pki) -> None:
    a = tls_node(pki, "a")
    b = tls_node(pki, "b", [a.url])
    try:
        assert wait(lambda: reachable(a) == 2 and reachable(b) == 2)
        key = cv.GCounterKey("k")
        b.replicator.update(key, lambda g: g.increment(3), write=cv.ALL, timeout=5)
        assert a.replicator.get(key).value == 3
        assert a.metrics()["convergent.transport.handshakes.refused"] == 0
    finally:
        b.stop()
        a.stop()


def _intruder(pki: Pki, kind: str, a: cv.Node) -> cv.Node:
    url = a.url
    if kind == "plaintext client":
        return cv.Node(
            "tcp://127.0.0.1:0", seeds=[url.replace("tls+tcp://", "tcp://")], heartbeat_interval=0.1
        )
    name = {"certificate of another CA": "intruder", "expired certificate": "old"}[kind]
    ca = "rogue" if name == "intruder" else "cluster"
    return cv.Node(
        "tls+tcp://127.0.0.1:0",
        seeds=[url],
        heartbeat_interval=0.1,
        tls_cert_file=pki.root / f"{name}.crt",
        tls_key_file=pki.root / f"{name}.key",
        tls_ca_file=pki.root / f"{ca}.pem",
    )


@pytest.mark.parametrize(
    "kind", ["plaintext client", "certificate of another CA", "expired certificate"]
)
def test_a_peer_the_cluster_must_refuse_is_refused_counted_and_logged(
    pki: Pki, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="convergent.node")
    a = tls_node(pki, "a")
    member = tls_node(pki, "member", [a.url])
    intruder = _intruder(pki, kind, a)
    key = cv.GCounterKey("k")
    try:
        assert wait(lambda: reachable(a) == 2)
        intruder.replicator.update(key, lambda g: g.increment(1000))
        refused = "convergent.transport.handshakes.refused"
        assert wait(lambda: a.metrics()[refused] > 0), "the refusal was not counted"
        if kind != "plaintext client":  # a plaintext dialer sees a dropped connection only
            assert intruder.metrics()["convergent.transport.dials.refused"] > 0

        def warnings() -> list[str]:
            return [
                r.getMessage()
                for r in caplog.records
                if r.name == "convergent.node"
                and r.levelno == logging.WARNING
                and getattr(r, "node", None) == a.name
            ]

        assert wait(lambda: bool(warnings())), "nothing in the log"
        (line,) = warnings()
        assert "connection(s) to this node failed the handshake" in line
        assert "refused the other's certificate" in line and "does not speak TLS" in line
        assert member.metrics()["convergent.transport.dials.refused"] == 0
        assert reachable(a) == 2 and a.replicator.get(key) is None
    finally:
        for n in (intruder, member, a):
            n.stop()


def test_a_certificate_without_its_key_is_rejected_at_start(pki: Pki) -> None:
    with pytest.raises(ValueError, match="holds no private key: give its key file too"):
        cv.Node(
            "tls+tcp://127.0.0.1:0",
            tls_cert_file=pki.root / "a.crt",
            tls_ca_file=pki.root / "cluster.pem",
        )
    with pytest.raises(ValueError, match="holds no private key"):
        cv.Node(
            "tls+tcp://127.0.0.1:0",
            tls_cert_file=pki.root / "a.crt",
            tls_key_file=pki.root / "b.crt",
            tls_ca_file=pki.root / "cluster.pem",
        )
