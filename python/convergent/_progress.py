"""Progress of long calls (``sim.run_for``, ``sim.run_until_converged``,
``LocalCluster.wait_converged``): their ``progress=`` argument.

- ``None`` (the default): nothing is shown.
- ``True``: a tqdm bar (``tqdm.auto``: a widget in Jupyter, text in a terminal; tqdm comes with
  the ``notebooks`` extra).
- a callable: called as ``progress(done, total)`` as the call advances, and once at its end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Progress = bool | Callable[[float, float], object] | None


class Reporter:
    """Reports one call's progress to a callable or a tqdm bar; close() ends it."""

    def __init__(self, progress: Progress, total: float, unit: str, desc: str) -> None:
        self._total = total
        self._bar: Any = None
        self._fn: Callable[[float, float], object] | None = None
        if progress is True:
            try:
                from tqdm.auto import tqdm  # type: ignore[import-untyped]
            except ImportError:
                raise ImportError(
                    "progress=True draws a tqdm bar: pip install tqdm (or convergent[notebooks])"
                ) from None
            self._bar = tqdm(total=total, unit=unit, desc=desc, leave=True)
        elif callable(progress):
            self._fn = progress
        elif progress is not None and progress is not False:
            raise TypeError(
                f"progress must be None, True or a callable(done, total), "
                f"got {type(progress).__name__}"
            )

    def __call__(self, done: float) -> None:
        if self._fn is not None:
            self._fn(done, self._total)
        if self._bar is not None:
            self._bar.n = round(done, 3)
            self._bar.refresh()

    def close(self, note: str | None = None) -> None:
        if self._bar is not None:
            if note:
                self._bar.set_postfix_str(note, refresh=False)
            self._bar.close()
            self._bar = None


def reporter(progress: Progress, total: float, unit: str, desc: str) -> Reporter | None:
    """A Reporter, or None when ``progress`` asks for nothing (the caller skips all work)."""
    if progress is None or progress is False:
        return None
    return Reporter(progress, total, unit, desc)
