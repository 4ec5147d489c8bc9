"""The event-stream model: its features, training on a set of courses up to a date, scoring
with a chosen model, and the honest backtest beside the plain baseline."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from completion.models import RiskScore, TrainedRiskModel
from completion.risk.facts import EventRow, facts_from_events
from completion.risk.features import FEATURES, CourseFrame, LearnerRecord, features_of, reason_of
from tests.completion.riskdata import START, make_course

START_DAY = START.date()


def cohort(learners, seed):
    """A synthetic cohort whose outcomes the generator records (rolling enrolment)."""
    course, _ = make_course(items=())
    call_command("generate_cohort", "--course", str(course.pk), "--learners", str(learners),
                 "--days", "40", "--seed", str(seed), "--start", "2026-01-05",
                 stdout=StringIO())  # fmt: skip
    return course


def feature(row, name):
    return row[FEATURES.index(name)]


def test_features_read_idleness_volume_submissions_lateness_and_the_record():
    at = lambda n: START + timedelta(days=n)  # noqa: E731
    events = [
        EventRow(1, 10, "viewed", at(0), times=30),
        EventRow(1, 10, "viewed", at(2), times=5),
        EventRow(1, 20, "submitted", at(9), score=0.5),  # due on day 7: late
        EventRow(1, 21, "submitted", at(12), score=0.9),  # due on day 14: on time
    ]
    facts = facts_from_events(
        membership_id=1, person_id=1, enrolled_at=at(-3), events=events, as_of=at(20).date()
    )
    frame = CourseFrame(
        as_of=at(20).date(),
        starts_on=START_DAY,
        assessments=frozenset({20, 21, 22}),
        due={20: at(7).date(), 21: at(14).date(), 22: at(30).date()},
    )
    row = features_of(
        facts, frame, LearnerRecord(prior_attempts=2, credits=120), volume=0.0,
        expected=0.5, progress=0.2,
    )  # fmt: skip
    assert len(row) == len(FEATURES)
    assert feature(row, "days_since_start") == 20
    assert feature(row, "days_since_last_activity") == 8
    assert feature(row, "actions_so_far") == pytest.approx(__import__("math").log1p(37))
    assert feature(row, "assessments_submitted_share") == 1.0
    assert feature(row, "submissions") == 2
    assert feature(row, "late_share") == 0.5
    assert feature(row, "mean_score") == pytest.approx(0.7)
    assert feature(row, "registration_lateness") == -3
    assert (feature(row, "prior_attempts"), feature(row, "study_load")) == (2, 2.0)
    assert feature(row, "behind_pace") == pytest.approx(0.3)
    assert reason_of("days_since_last_activity", 8) == "no activity for 8 days"
    assert reason_of("assessments_missed", 1) == "1 assessment due so far not submitted"


@pytest.mark.django_db
def test_train_on_courses_until_a_date_then_score_and_backtest_with_that_model():
    course = cohort(120, 5)
    out = StringIO()
    call_command("train_risk_model", "--course", str(course.pk), "--algorithm", "events",
                 "--until", "2026-03-31", stdout=out)  # fmt: skip
    row = TrainedRiskModel.objects.get()
    assert row.algorithm == "events"
    assert row.feature_names == list(FEATURES)
    assert row.metrics["courses"] == [course.pk]
    assert row.metrics["until"] == "2026-03-31"
    assert 0.5 < row.metrics["cv_auc"] <= 1.0
    as_of = START_DAY + timedelta(days=14)
    call_command("score_risk", as_of=as_of, course=[course.pk], model=row.pk, stdout=StringIO())
    scores = list(RiskScore.objects.filter(course=course, as_of=as_of))
    assert {s.model_used for s in scores} >= {"trained"}
    red = [s for s in scores if s.tier == "red"]
    assert all(s.reasons for s in red)
    assert all(not r.startswith(("days_", "actions_")) for s in scores for r in s.reasons)
    report = StringIO()
    call_command("evaluate_risk", "--course", str(course.pk), "--cutoffs", "7", "14",
                 "--model", "trained", "--model-id", str(row.pk), stdout=report)  # fmt: skip
    text = report.getvalue()
    assert "overall:" in text
    assert "reliability day 14" in text
    assert "lead:" in text


@pytest.mark.django_db
def test_training_until_a_date_uses_nothing_known_later():
    course = cohort(60, 6)
    from completion.risk.backtest import samples

    until = START_DAY + timedelta(days=20)
    rows = samples(course, (0, 7, 14, 30), until=until)
    assert rows
    assert all(s.score.context.as_of <= until for s in rows)
