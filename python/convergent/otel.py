"""A node's metrics as OpenTelemetry instruments (``pip install 'convergent[otel]'``).

    from convergent.otel import register_metrics

    registration = register_metrics(node)    # the global MeterProvider, or meter_provider=...
    ...
    registration.close()                     # its instruments report nothing from then on

Every metric of the catalogue (:mod:`convergent.metrics`) becomes an observable counter or gauge
named as the seed system named it (``crdt.replicator.merge.count``,
``convergent.transport.bytes.sent``, ...). A metric reported per frame kind or per datacenter is
one instrument with a ``kind`` or ``dc`` attribute (``crdt.replicator.bytes.sent``,
``crdt.replicator.crossdc.dc.lag.seconds``). Values are in the catalogue's units: ``s``, ``By``
or ``1``.

Anything with a ``metrics()`` method works as the source: a :class:`convergent.Node`, a
replicator handle, a process node of a ``LocalCluster``. The source is read once per collection
(not once per instrument), on the thread that collects.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from opentelemetry import metrics as otel_metrics
from opentelemetry.metrics import CallbackOptions, Meter, MeterProvider, Observation

from . import __version__
from .metrics import MetricInfo, catalog, find

__all__ = ["Registration", "register_metrics"]

_UNITS = {"seconds": "s", "bytes": "By", "": "1"}


class MetricsSource(Protocol):
    def metrics(self) -> Mapping[str, float]: ...


class Registration:
    """The instruments :func:`register_metrics` made; :meth:`close` silences them (OpenTelemetry
    has no way to remove an instrument from its meter)."""

    def __init__(
        self,
        source: MetricsSource,
        meter: Meter,
        attributes: Mapping[str, str],
        max_age: float,
    ) -> None:
        self._source = source
        self._attributes = dict(attributes)
        self._max_age = max_age
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._groups: dict[MetricInfo, list[tuple[dict[str, str], float]]] = {}
        self._closed = False
        self.instruments: list[Any] = []
        for info in catalog():
            make = (
                meter.create_observable_counter
                if info.kind == "counter"
                else meter.create_observable_gauge
            )
            self.instruments.append(
                make(
                    info.name,
                    callbacks=[self._callback(info)],
                    unit=_UNITS.get(info.unit, info.unit),
                    description=info.help,
                )
            )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._groups = {}

    def _callback(self, info: MetricInfo) -> Any:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            return [
                Observation(value * info.scale, {**self._attributes, **labels})
                for labels, value in self._read().get(info, [])
            ]

        return observe

    def _read(self) -> dict[MetricInfo, list[tuple[dict[str, str], float]]]:
        """The source's metrics grouped by catalogue entry, read again when older than max_age
        (all the callbacks of one collection share one read)."""
        with self._lock:
            if self._closed:
                return {}
            if time.monotonic() - self._read_at > self._max_age:
                groups: dict[MetricInfo, list[tuple[dict[str, str], float]]] = {}
                for name, value in self._source.metrics().items():
                    found = find(name)
                    if found is not None:
                        info, labels = found
                        groups.setdefault(info, []).append((labels, float(value)))
                self._groups = groups
                self._read_at = time.monotonic()
            return self._groups


def register_metrics(
    source: MetricsSource,
    *,
    meter_provider: MeterProvider | None = None,
    attributes: Mapping[str, str] | None = None,
    max_age: float = 0.5,
) -> Registration:
    """Registers ``source``'s metrics as observable instruments of a meter named ``convergent``.

    ``attributes`` go on every observation (for example ``{"node": node.name}`` when one process
    registers several nodes). ``max_age`` seconds: how long one read of the source serves the
    instruments' callbacks.
    """
    if not callable(getattr(source, "metrics", None)):
        raise TypeError(f"source must have a metrics() method, got {type(source).__name__}")
    if max_age < 0:
        raise ValueError(f"max_age must be >= 0, got {max_age}")
    provider = meter_provider if meter_provider is not None else otel_metrics.get_meter_provider()
    meter = provider.get_meter("convergent", __version__)
    return Registration(source, meter, attributes or {}, max_age)
