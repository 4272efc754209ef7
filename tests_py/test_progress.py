"""progress= on long calls: a callable sees (done, total) as the call advances, True draws a tqdm
bar, and reporting changes nothing about the run."""

from __future__ import annotations

import pytest

import convergent as cv

CART = cv.ORSetKey("cart")


def _sim(seed: int = 7) -> cv.Simulation:
    sim = cv.Simulation(nodes=4, seed=seed, loss=0.3)
    for i, node in enumerate(sim.nodes):
        node.update(CART, lambda s, i=i: s.add(f"item-{i}"))
    return sim


def test_run_for_reports_virtual_seconds_and_changes_nothing() -> None:
    seen: list[tuple[float, float]] = []
    reported, quiet = _sim(), _sim()
    reported.run_for(5.5, progress=lambda done, total: seen.append((done, total)))
    quiet.run_for(5.5)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)  # it only advances
    assert len(seen) >= 5 and seen[-1] == (5.5, 5.5)
    assert reported.trace_hash() == quiet.trace_hash()  # the same run, event for event


def test_run_until_converged_reports_until_it_returns() -> None:
    seen: list[tuple[float, float]] = []
    sim = _sim()
    took = sim.run_until_converged(timeout=600.0, progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1] == (pytest.approx(took), 600.0)
    with pytest.raises(cv.NotConverged):
        cut = _sim()
        cut.partition(cut.nodes[:2], cut.nodes[2:])
        cut.run_until_converged(timeout=3.0, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (3.0, 3.0)


def test_progress_true_draws_a_tqdm_bar(capsys: pytest.CaptureFixture[str]) -> None:
    _sim().run_for(3.0, progress=True)
    err = capsys.readouterr().err
    assert "run_for" in err and "100%" in err and "3.0/3.0" in err, err


def test_a_progress_that_is_neither_is_refused() -> None:
    with pytest.raises(TypeError, match="progress must be None, True or a callable"):
        _sim().run_for(1.0, progress="yes")  # type: ignore[arg-type]


def test_wait_converged_follows_the_nodes_that_agree() -> None:
    seen: list[tuple[float, float]] = []
    with cv.LocalCluster(nodes=3) as cluster:
        cluster.kill(2)
        cluster.nodes[0].update(CART, lambda s: s.add("milk"))
        cluster.start(2)  # it catches up from the others
        cluster.wait_converged(timeout=30, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (3, 3)
    assert all(t == 3 and 1 <= d <= 3 for d, t in seen)
