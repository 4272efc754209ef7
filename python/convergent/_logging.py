"""The C++ library's log lines through Python's logging, on the logger ``convergent.node``.

The first node started in this process (``cv.Node``, ``LocalCluster``, ``convergent node``) turns
the capture on: the library queues its lines instead of writing them to the process's stderr, and
a daemon thread logs each as one record at its level (INFO, WARNING, ERROR), its message
``<node name>: <text>``, the node's name also in the record's ``node`` attribute. Where nothing
handles that logger (no logging configured), the thread writes the line to ``sys.stderr`` as the
library would have: ``convergent node <name>: <level>: <text>``; in Jupyter that is the cell's
output, not the kernel's terminal.
"""

from __future__ import annotations

import atexit
import logging
import sys
import threading

from . import _core

logger = logging.getLogger("convergent.node")
_lock = threading.Lock()
_thread: threading.Thread | None = None


def capture() -> None:
    """Routes the library's log lines to ``logger`` from now on (idempotent)."""
    global _thread
    with _lock:
        if _thread is not None:
            return
        _core._log_capture(True)
        _thread = threading.Thread(target=_pump, name="convergent-log", daemon=True)
        _thread.start()


def _pump() -> None:
    while True:
        _emit(*_core._log_wait(0.5))


def _emit(lines: list[tuple[int, str, str]], dropped: int) -> None:
    for level, source, message in lines:
        if logger.hasHandlers():
            logger.log(level, "%s: %s", source, message, extra={"node": source})
        elif logger.isEnabledFor(level):
            name = logging.getLevelName(level).lower()
            print(f"convergent node {source}: {name}: {message}", file=sys.stderr, flush=True)
    if dropped:
        logger.warning("%d log lines dropped: they came faster than they could be logged", dropped)


@atexit.register
def _flush() -> None:
    """Logs what is still queued (lines of nodes stopped at exit)."""
    if _thread is not None:
        _emit(*_core._log_wait(0.0))
