"""What the tests of deploy/ share (test_deploy.py, test_prometheus.py)."""

from __future__ import annotations

import json
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def dashboard_queries() -> list[str]:
    """The PromQL of every panel of the Grafana dashboard, for all nodes."""
    dashboard = json.loads((DEPLOY / "grafana" / "convergent-dashboard.json").read_text())
    return [t["expr"].replace("$node", ".*") for p in dashboard["panels"] for t in p["targets"]]
