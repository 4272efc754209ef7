"""The terminal demo (python -m convergent.demo) runs and reports convergence."""

from __future__ import annotations

import pytest

from convergent import demo


def test_demo_converges(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main() is True
    out = capsys.readouterr().out
    assert "all three replicas converged: cart=['milk', 'bread', 'coffee'], stock=5" in out
    assert "DIFFER" not in out
