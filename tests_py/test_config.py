"""cv.Config and cv.Consistency."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import convergent as cv


def test_defaults_are_the_seed_systems() -> None:
    c = cv.Config()
    assert c.anti_entropy_interval == 30.0
    assert c.max_delta_size == 65536
    assert c.prune_interval == 300.0
    assert c.tombstone_ttl == 86400.0
    assert c.coordination_timeout == 5.0
    assert c.role is None and c.snapshot_interval is None and c.snapshot_dir is None
    assert c.loss_repair_interval == 1.0 and c.max_delta_flush_interval == 1.0
    assert c.down_after is None  # off unless asked for: quorums hold across partitions
    assert c.pruning_interval == 30.0 and c.max_pruning_dissemination == 60.0
    assert c.pruning_marker_ttl == 21600.0


def test_down_after_none_or_zero_means_never() -> None:
    assert cv.Config(down_after=None).down_after is None
    assert cv.Config(down_after=0).down_after == 0


@pytest.mark.parametrize(
    "field, value",
    [
        ("anti_entropy_interval", 0),
        ("anti_entropy_interval", -1.0),
        ("anti_entropy_interval", float("nan")),
        ("prune_interval", 0.0),
        ("tombstone_ttl", -5),
        ("coordination_timeout", 0),
        ("delta_flush_interval", float("inf")),
        ("max_delta_size", 0),
        ("max_delta_size", 2**70),
        ("max_frame_size", 100),
        ("digest_tree_depth", 0),
        ("digest_tree_depth", 9),
        ("role", ""),
        ("snapshot_interval", 0),
        ("loss_repair_interval", 0),
        ("max_delta_flush_interval", -1),
        ("down_after", -1),
        ("down_after", float("nan")),
        ("min_members", 0),
        ("pruning_interval", 0),
        ("max_pruning_dissemination", -1),
        ("pruning_marker_ttl", 0),
    ],
)
def test_out_of_range_values_raise_value_error_naming_the_option(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field):
        cv.Config(**{field: value})


def test_a_pruning_marker_ttl_not_longer_than_its_dissemination_is_refused() -> None:
    with pytest.raises(ValueError, match="pruning_marker_ttl must be longer"):
        cv.Config(pruning_marker_ttl=60.0, max_pruning_dissemination=60.0)
    cv.Config(pruning_marker_ttl=60.5, max_pruning_dissemination=60.0)


@pytest.mark.parametrize(
    "field, value",
    [
        ("anti_entropy_interval", "30"),
        ("anti_entropy_interval", True),
        ("max_delta_size", 1.5),
        ("role", 3),
        ("snapshot_dir", 3),
        ("down_after", "60"),
        ("max_delta_flush_interval", None),
        ("min_members", 2.0),
    ],
)
def test_wrong_types_raise_type_error(field: str, value: Any) -> None:
    with pytest.raises(TypeError, match=field):
        cv.Config(**{field: value})


def test_config_is_frozen_and_comparable() -> None:
    c = cv.Config(anti_entropy_interval=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.role = "x"  # type: ignore[misc]
    assert c == cv.Config(anti_entropy_interval=2)
    assert dataclasses.replace(c, role="db").role == "db"


def test_config_shapes_a_simulation() -> None:
    # A delta lost by a cut link is repaired by anti-entropy: within a few intervals of the config.
    for interval in (0.5, 4.0):
        sim = cv.Simulation(nodes=2, seed=1, config=cv.Config(anti_entropy_interval=interval))
        a, b = sim.nodes
        sim.set_loss(1.0, link=(a, b))
        a.update(cv.GCounterKey("g"), lambda v: v.increment())
        sim.run_for(0.5)
        sim.reset_links()
        took = sim.run_until_converged(timeout=100.0)
        assert took <= 3 * interval
        assert b.get(cv.GCounterKey("g")).value == 1


def test_coordination_timeout_is_the_default_timeout() -> None:
    sim = cv.Simulation(nodes=3, seed=2, config=cv.Config(coordination_timeout=0.25))
    a, b, c = sim.nodes
    sim.partition([a], [b, c])
    with pytest.raises(cv.WriteTimeout):
        a.update(cv.GCounterKey("g"), lambda v: v.increment(), write=cv.ALL)
    assert sim.now == pytest.approx(0.25, abs=0.01)


def test_consistency_levels() -> None:
    assert [c.name for c in cv.Consistency] == ["LOCAL", "MAJORITY", "ALL", "DC_MAJORITY", "DC_ALL"]
    assert cv.LOCAL is cv.Consistency.LOCAL and cv.MAJORITY is cv.Consistency.MAJORITY
    assert cv.ALL is cv.Consistency.ALL
    assert cv.DC_MAJORITY is cv.Consistency.DC_MAJORITY and cv.DC_ALL is cv.Consistency.DC_ALL
