"""The terminal demo (python -m convergent.demo) runs and reports convergence."""

from __future__ import annotations

from pathlib import Path

import pytest

from convergent import demo


def test_demo_converges(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    plot = tmp_path / "convergence.png"
    assert demo.main(plot=str(plot)) is True
    out = capsys.readouterr().out
    assert f"convergence plot: {plot}" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "all three processes converged: cart=['eggs', 'bread'], stock=60" in out
    assert "B killed with SIGKILL" in out
    assert "MAJORITY write timed out" in out
    assert "B caught up from its peers" in out
    assert (
        "all three nodes converged: cart=['tea', 'eggs', 'milk', 'bread', 'coffee'], stock=4" in out
    )
    assert "DIFFER" not in out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_simulated_story_converges_for_other_seeds(
    seed: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.main(seed, processes=False) is True
    assert "stock=4" in capsys.readouterr().out
