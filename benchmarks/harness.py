"""Shared helpers of the Python workload programs (W1-W5 of WORKLOADS.md).

Used by benchmarks/workloads.py (convergent through its Python API) and the Python peers in
benchmarks/peers_py/. Output: one tab-separated line per metric,
``peer  workload  metric  unit  min  median  max  params``, numbers formatted as the reference peer
(Rust ``{:.6e}``) prints them.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

CANONICAL = {"W1_N": 100_000, "W2_N": 50_000, "W3_N": 1_000_000, "W4_N": 10_000, "W5_N": 1_000_000}


def now() -> float:
    """Monotonic seconds (time.perf_counter_ns, as WORKLOADS.md asks)."""
    return time.perf_counter_ns() / 1e9


def runs() -> int:
    n = int(os.environ.get("RUNS", "5") or "5")
    if n < 1:
        sys.exit("RUNS must be >= 1")
    return n


def size(name: str, default: int | None = None) -> int:
    """The size W<k>_N: the environment, else this program's default, else the canonical one."""
    v = os.environ.get(name, "")
    if v:
        return int(v)
    return default if default is not None else CANONICAL[name]


def want(workload: str) -> bool:
    only = os.environ.get("ONLY", "")
    return not only or workload in only


def elems(n: int) -> list[str]:
    return ["e" + str(i) for i in range(n)]


def sci(x: float) -> str:
    """x as Rust's `{:.6e}` prints it: 2.800000e6, 1.500000e-3."""
    s = f"{x:.6e}"
    if "e" not in s:
        return s  # inf, nan
    mantissa, exp = s.split("e")
    return f"{mantissa}e{int(exp)}"


def median(v: Sequence[float]) -> float:
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def emit(peer: str, w: str, metric: str, unit: str, v: Sequence[float], params: str) -> None:
    s = sorted(v)
    fields = [peer, w, metric, unit, sci(s[0]), sci(median(s)), sci(s[-1]), params]
    print("\t".join(fields), flush=True)


def check(cond: bool, msg: str) -> None:
    """Fails loudly (stderr, exit 1) when a validation does not hold."""
    if not cond:
        print(f"VALIDATION FAILED: {msg}", file=sys.stderr, flush=True)
        sys.exit(1)
