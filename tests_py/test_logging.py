"""The library's log lines: one record per event, with its level and the node's name, through
Python's logging (logger ``convergent.node``) when the node runs in a Python process."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest

# Node a warns of a key larger than log_data_size_exceeding when it sends the key's full state
# (the anti-entropy round on meeting b).
_SCRIPT = """
import time, convergent as cv
cfg = cv.Config(log_data_size_exceeding=1000)
with cv.Node("inproc://log-a", config=cfg) as a:
    a.replicator.update(cv.LWWRegisterKey("big"), lambda r: r.set("x" * 5000))
    with cv.Node("inproc://log-b", seeds=["inproc://log-a"], config=cfg) as b:
        end = time.monotonic() + 10
        while b.replicator.get(cv.LWWRegisterKey("big")) is None and time.monotonic() < end:
            time.sleep(0.01)
"""


def test_a_nodes_warning_is_one_record_with_its_level_and_node(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="convergent.node")
    exec(_SCRIPT, {})
    end = time.monotonic() + 5
    while time.monotonic() < end and not caplog.records:
        time.sleep(0.01)
    (record,) = [r for r in caplog.records if "big" in r.getMessage()]
    assert record.name == "convergent.node" and record.levelno == logging.WARNING
    assert record.node == "inproc://log-a"  # type: ignore[attr-defined]
    assert record.getMessage().startswith("inproc://log-a: key 'big' holds a state of ")
    assert "\n" not in record.getMessage()


def test_without_logging_configured_the_line_goes_to_stderr_as_before() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "big" in line]
    assert len(lines) == 1 and lines[0].startswith(
        "convergent node inproc://log-a: warning: key 'big' holds a state of "
    ), done.stderr


def test_the_log_thread_ends_quietly_when_it_wakes_during_the_interpreters_exit() -> None:
    """The thread that hands log lines to logging waits with the GIL released; woken while the
    interpreter finalizes, Python ends it by unwinding its stack. It aborted the process
    ("terminate called without an active exception", exit 134) at the end of a pytest run."""
    script = """
import time
import convergent as cv
cv.Node("inproc://exit-log").stop()
mono = time.monotonic
class Slow:
    def __del__(self):
        t = mono()
        while mono() - t < 0.002:
            pass
junk = [Slow() for _ in range(600)]  # finalizing these takes over a second, GIL held
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "terminate called" not in done.stderr, done.stderr


def test_without_logging_configured_info_lines_are_written_too() -> None:
    script = """
from convergent import _logging
_logging._emit([(20, "n1", "the snapshot store opened"), (40, "", "a process line")], 0)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.stderr.splitlines() == [
        "convergent node n1: info: the snapshot store opened",
        "convergent: error: a process line",
    ], done.stderr
