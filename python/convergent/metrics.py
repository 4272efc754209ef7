"""The catalogue of a node's metrics: what each name in ``metrics()`` is.

``node.metrics()`` (and ``r.metrics()``) report each metric under the seed system's dotted name.
:func:`catalog` says for each whether it is a counter or a gauge, its unit, its meaning, and its
name on a node's Prometheus endpoint (``metrics_listen``), where the conventions hold: one
``convergent_`` prefix, the unit in the name, counters ending in ``_total``. A ``{kind}`` or
``{dc}`` in a source name stands for a label: ``crdt.replicator.bytes.sent.delta`` is the sample
``convergent_replicator_sent_bytes_total{kind="delta"}``.

>>> info, labels = find("crdt.replicator.bytes.sent.delta")
>>> info.prometheus, labels
('convergent_replicator_sent_bytes_total', {'kind': 'delta'})
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from . import _core

__all__ = ["MetricInfo", "catalog", "find"]


@dataclass(frozen=True)
class MetricInfo:
    source: str  # the dotted name, with at most one "{label}" placeholder
    prometheus: str  # the family's name on the Prometheus endpoint
    kind: Literal["counter", "gauge"]
    unit: str  # "seconds", "bytes", or "" (a number of things)
    help: str
    scale: float  # value in `unit` = reported value * scale
    label: str  # the placeholder's name ("" when the name has none)

    @property
    def name(self) -> str:
        """The source name without its placeholder: the OpenTelemetry instrument's name."""
        if not self.label:
            return self.source
        return self.source.replace("{" + self.label + "}.", "").replace(".{" + self.label + "}", "")


@functools.cache
def catalog() -> tuple[MetricInfo, ...]:
    """Every metric a node reports (the C++ library's catalogue, convergent/metrics.h)."""
    return tuple(
        MetricInfo(source, prom, kind, unit, help_, scale, label)  # type: ignore[arg-type]
        for source, prom, kind, unit, help_, scale, label in _core.metric_catalog()
    )


def find(name: str) -> tuple[MetricInfo, dict[str, str]] | None:
    """A reported name's entry and its labels (``{}`` when it has none); None when the name is
    not in the catalogue."""
    found = _core.find_metric(name)
    if found is None:
        return None
    index, value = found
    info = catalog()[index]
    return info, ({info.label: value} if info.label else {})
