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
import contextlib
import logging
import os
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
        # A handler that fails loses its line, not the thread: the next lines are still logged.
        with contextlib.suppress(Exception):
            _emit(*_core._log_wait(0.5))


def _emit(lines: list[tuple[int, str, str]], dropped: int) -> None:
    for level, source, message in lines:
        if logger.hasHandlers():
            if source:
                logger.log(level, "%s: %s", source, message, extra={"node": source})
            else:  # the process's own line, not a node's
                logger.log(level, "%s", message, extra={"node": None})
        elif logger.level == logging.NOTSET or logger.isEnabledFor(level):
            # No logging configured: every line, as the library writes them.
            name = logging.getLevelName(level).lower()
            who = f"convergent node {source}" if source else "convergent"
            print(f"{who}: {name}: {message}", file=sys.stderr, flush=True)
    if dropped:
        logger.warning("%d log lines dropped: they came faster than they could be logged", dropped)


def _after_fork_in_child() -> None:
    """The child has no pump thread: the lines go to stderr until a node of its own captures
    them again."""
    global _thread
    _thread = None
    _core._log_capture(False)


os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _flush() -> None:
    """Logs what is still queued (lines of nodes stopped at exit)."""
    if _thread is not None:
        _emit(*_core._log_wait(0.0))
