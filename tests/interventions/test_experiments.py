from __future__ import annotations

from collections import Counter

import pytest

from interventions.measurement.experiments import HOLDOUT, Arm, ArmResult, assign, compare


def test_assignment_is_deterministic_and_follows_the_weights():
    arms = [Arm("a", 1), Arm("b", 3)]
    first = [assign("exp-1", f"learner-{n}", arms) for n in range(4000)]
    again = [assign("exp-1", f"learner-{n}", arms) for n in range(4000)]
    assert first == again
    counts = Counter(first)
    assert counts["b"] / 4000 == pytest.approx(0.75, abs=0.03)


def test_holdout_gets_its_share_and_experiments_are_independent():
    arms = [Arm("a"), Arm("b")]
    arms_seen = Counter(assign("exp-2", f"l{n}", arms, holdout_share=0.2) for n in range(5000))
    assert arms_seen[HOLDOUT] / 5000 == pytest.approx(0.2, abs=0.03)
    other = [assign("exp-3", f"l{n}", arms) for n in range(200)]
    same = [assign("exp-2", f"l{n}", arms, holdout_share=0.0) for n in range(200)]
    assert other != same


def test_clear_winner_is_significant_with_a_plain_recommendation():
    result = compare(ArmResult("sms", 200, 90), ArmResult("email", 200, 50))
    assert result.difference == pytest.approx(0.20)
    assert result.ci_low > 0
    assert result.ci_high < 0.35
    assert result.p_value < 0.001
    assert result.significant
    assert result.recommendation.startswith("Use 'sms'")


def test_small_samples_are_never_called():
    result = compare(ArmResult("a", 10, 9), ArmResult("b", 10, 1))
    assert not result.significant
    assert result.recommendation.startswith("Too early")


def test_no_difference_is_reported_as_such():
    result = compare(ArmResult("a", 300, 100), ArmResult("b", 300, 104))
    assert not result.significant
    assert result.ci_low < 0 < result.ci_high
    assert "No clear difference" in result.recommendation
