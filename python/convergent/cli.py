"""The ``convergent`` command: ``convergent node`` runs one cluster member until it is stopped.

Options come from flags or a TOML file (``--config node.toml``, flags win); every cv.Config option
is accepted. Bad configuration exits with status 2 and a message saying what is wrong. SIGTERM
and SIGINT stop the node gracefully (final snapshot, goodbye to the peers).

Example TOML::

    listen = "tcp://10.0.0.5:7000"
    seeds = ["tcp://10.0.0.6:7000", "tcp://10.0.0.7:7000"]
    datacenter = "eu"                                  # with datacenters: this node's
    remote_seeds = { us = ["tcp://10.1.0.5:7000"] }    # and members of the others
    role = "cache"
    snapshot_dir = "/var/lib/convergent"
    anti_entropy_interval = 10.0
    down_after = 120.0  # seconds before a silent member is downed (0: never)
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

from . import _core
from .config import Config
from .node import Node

__all__ = ["main"]

log = logging.getLogger("convergent")

# Options of the node itself (not of cv.Config), with their types.
_NODE_OPTIONS: dict[str, type] = {
    "listen": str,
    "seeds": list,
    "name": str,
    "p2p_listen": str,
    "advertise_host": str,
    "heartbeat_interval": float,
    "failure_timeout": float,
    "tls_cert_file": str,
    "tls_key_file": str,
    "tls_ca_file": str,
    "control": str,
    "exit_with_parent": bool,
    "metrics_listen": str,
    "datacenter": str,
    "remote_seeds": dict,
}
_CONFIG_FIELDS = {f.name: f for f in dataclasses.fields(Config)}


class ConfigError(Exception):
    """Bad configuration: the message says what and where."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="convergent", description="convergent CRDT engine")
    sub = parser.add_subparsers(dest="command", required=True)
    node = sub.add_parser("node", help="run one cluster member until stopped")
    node.add_argument("--config", type=Path, help="a TOML file of options (flags override it)")
    node.add_argument("--listen", help="URL to listen on, e.g. tcp://10.0.0.5:7000")
    node.add_argument(
        "--advertise-host",
        help="the host peers reach this node at, when --listen is on every interface "
        "(tcp://0.0.0.0:7000)",
    )
    node.add_argument(
        "--seed",
        dest="seeds",
        action="append",
        help="a member's URL (repeat); a tcp:// host name stands for all its addresses",
    )
    node.add_argument("--name", help="the node's name (default: its URL)")
    node.add_argument("--datacenter", help="this node's datacenter (default: none)")
    node.add_argument(
        "--dc-seed",
        dest="dc_seeds",
        action="append",
        metavar="NAME=URL",
        help="a member of another datacenter, e.g. us=tcp://10.1.0.5:7000 (repeat)",
    )
    node.add_argument("--p2p-listen", help="URL of the point-to-point listener (default: derived)")
    node.add_argument("--heartbeat-interval", type=float)
    node.add_argument("--failure-timeout", type=float)
    node.add_argument("--tls-cert-file", help="this node's certificate and key (PEM)")
    node.add_argument("--tls-key-file", help="the key, if not in the certificate file")
    node.add_argument("--tls-ca-file", help="the cluster's CA certificate (PEM)")
    node.add_argument("--metrics-listen", help="serve Prometheus metrics, e.g. http://0.0.0.0:9100")
    node.add_argument("--control", help=argparse.SUPPRESS)  # LocalCluster(processes=True)
    # LocalCluster(processes=True): stop when standard input closes, that is when the driver
    # process (which holds the other end of the pipe) is gone, even killed with SIGKILL.
    node.add_argument(
        "--exit-with-parent", action="store_true", default=None, help=argparse.SUPPRESS
    )
    for name, field in _CONFIG_FIELDS.items():
        kind = str if name in ("role", "snapshot_dir") else int if field.type == "int" else float
        node.add_argument("--" + name.replace("_", "-"), type=kind, help=f"Config.{name}")
    node.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            data: dict[str, Any] = tomllib.load(f)
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from None
    unknown = sorted(set(data) - set(_NODE_OPTIONS) - set(_CONFIG_FIELDS))
    if unknown:
        raise ConfigError(f"{path}: unknown option(s) {', '.join(unknown)}")
    return data


def resolve_options(argv: Sequence[str] | None = None) -> tuple[dict[str, Any], Config, str]:
    """Flags and TOML merged: (node keyword arguments, Config, log level)."""
    args = _parser().parse_args(argv)
    merged: dict[str, Any] = _load_toml(args.config) if args.config else {}
    for key, value in vars(args).items():
        if key in ("command", "config", "log_level", "dc_seeds") or value is None:
            continue
        merged[key] = value
    if args.dc_seeds:  # flags win over the file's remote_seeds, datacenter by datacenter
        remote = dict(merged.get("remote_seeds") or {})
        from_flags: dict[str, list[str]] = {}
        for item in args.dc_seeds:
            name, sep, url = item.partition("=")
            if not sep or not name or not url:
                raise ConfigError(f"--dc-seed takes NAME=URL, got {item!r}")
            from_flags.setdefault(name, []).append(url)
        remote.update(from_flags)
        merged["remote_seeds"] = remote
    if not merged.get("listen"):
        raise ConfigError("a listen URL is required (--listen or listen = ... in the TOML file)")
    node_kwargs = {k: v for k, v in merged.items() if k in _NODE_OPTIONS}
    seeds = node_kwargs.get("seeds", [])
    if not isinstance(seeds, list) or not all(isinstance(s, str) for s in seeds):
        raise ConfigError("seeds must be a list of URL strings")
    remote_seeds = node_kwargs.get("remote_seeds", {})
    if not isinstance(remote_seeds, dict) or not all(
        isinstance(dc, str) and isinstance(urls, list) and all(isinstance(u, str) for u in urls)
        for dc, urls in remote_seeds.items()
    ):
        raise ConfigError("remote_seeds must map datacenter names to lists of URL strings")
    if remote_seeds and not node_kwargs.get("datacenter"):
        raise ConfigError("remote seeds (--dc-seed) need this node's datacenter (--datacenter)")
    try:
        config = Config(**{k: v for k, v in merged.items() if k in _CONFIG_FIELDS})
    except (TypeError, ValueError) as e:
        raise ConfigError(str(e)) from None
    return node_kwargs, config, str(args.log_level)


def _stop_when_stdin_closes(stop: threading.Event) -> None:
    """Sets `stop` once standard input reaches end of file (its writer is gone)."""

    def watch() -> None:
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        log.warning("the driver process is gone (standard input closed); stopping")
        stop.set()

    threading.Thread(target=watch, name="convergent-parent-watch", daemon=True).start()


def run_node(node_kwargs: dict[str, Any], config: Config) -> int:
    control = node_kwargs.pop("control", None)
    exit_with_parent = bool(node_kwargs.pop("exit_with_parent", False))
    listen = node_kwargs.pop("listen")
    _core._return_freed_memory_promptly()  # this process is the node's: see convergent/process.h
    try:
        node = Node(listen, config=config, **node_kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(str(e)) from None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if exit_with_parent:
        _stop_when_stdin_closes(stop)
    log.info(
        "node %s listening on %s (id %016x, replica %016x)",
        node.name,
        node.url,
        node.id,
        node.replicator.id,
    )
    server = None
    if control is not None:
        from ._control import ControlServer

        try:
            server = ControlServer(control, node)
        except ValueError as e:
            node.stop()
            raise ConfigError(str(e)) from None
        server.start()
    if node.metrics_url:
        log.info("metrics at %s", node.metrics_url)
    print(f"ready {node.url}", flush=True)
    last_reachable = -1
    while not stop.wait(1.0):
        reachable = sum(1 for m in node.members() if m["reachable"])
        if reachable != last_reachable:
            log.info("%d member(s) reachable, leader %016x", reachable, node.leader())
            last_reachable = reachable
    log.info("stopping (final snapshot, goodbye to the peers)")
    if server is not None:
        server.stop()
    node.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        node_kwargs, config, level = resolve_options(argv)
        logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        return run_node(node_kwargs, config)
    except ConfigError as e:
        print(f"convergent: bad configuration: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
