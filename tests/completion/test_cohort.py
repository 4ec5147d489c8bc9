from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from io import StringIO

from django.core.management import call_command

from completion.models import Activity, Outcome
from completion.risk.synthetic import simulate
from lti_tool.models import Course, Membership

START = datetime(2026, 1, 5, tzinfo=UTC)


def cohort(n=600, seed=3):
    return list(simulate(n_learners=n, days=42, seed=seed, start=START, course_key="c"))


def test_the_generator_is_deterministic_for_a_seed():
    first = [(lr, len(ev)) for lr, ev in cohort(50)]
    assert first == [(lr, len(ev)) for lr, ev in cohort(50)]
    assert first != [(lr, len(ev)) for lr, ev in cohort(50, seed=4)]


def test_archetypes_behave_as_the_field_reports():
    learners = cohort()
    by_type = Counter(lr.archetype for lr, _ in learners)
    assert set(by_type) >= {
        "steady_finisher",
        "slow_starter",
        "interruption_return",
        "interruption_no_return",
        "difficulty_spike",
        "silent_disengagement",
        "technical_barrier",
        "isolated",
    }
    done = {
        t: sum(lr.completed for lr, _ in learners if lr.archetype == t) / by_type[t]
        for t in by_type
    }
    assert done["steady_finisher"] > 0.8
    assert done["interruption_no_return"] == 0
    assert done["technical_barrier"] == 0
    for lr, events in learners:
        if lr.archetype == "slow_starter" and events:
            assert (events[0].occurred_at - lr.enrolled_at).total_seconds() > 48 * 3600
        if lr.archetype == "difficulty_spike" and not lr.completed:
            assert [e.verb for e in events if e.item_kind == "assessment"][-2:] == [
                "failed",
                "failed",
            ]
        if lr.archetype == "isolated":
            assert not any(e.verb == "posted" for e in events)
        if lr.archetype == "technical_barrier":
            assert any(e.verb == "errored" for e in events)
        ids = [e.source_id for e in events]
        assert len(ids) == len(set(ids))


def test_command_writes_learners_events_and_true_outcomes(platform):
    from lti_tool.models import Deployment

    course = Course.objects.create(deployment=Deployment.objects.get(), context_id="gen")
    call_command(
        "generate_cohort",
        "--course",
        "gen",
        "--learners",
        "40",
        "--days",
        "30",
        "--seed",
        "7",
        "--start",
        "2026-01-05",
    )
    assert Membership.objects.filter(course=course).count() == 40
    assert Outcome.objects.count() == 40
    assert set(Outcome.objects.values_list("source", flat=True)) == {"synthetic"}
    stored = Activity.objects.filter(course=course).count()
    assert stored > 40
    call_command(
        "generate_cohort",
        "--course",
        "gen",
        "--learners",
        "40",
        "--days",
        "30",
        "--seed",
        "7",
        "--start",
        "2026-01-05",
    )
    assert Activity.objects.filter(course=course).count() == stored  # idempotent


def test_if_empty_leaves_an_existing_cohort_alone(platform):
    from lti_tool.models import Deployment

    course = Course.objects.create(deployment=Deployment.objects.get(), context_id="gen2")
    call_command("generate_cohort", "--course", "gen2", "--learners", "10", "--days", "20")
    stored = Activity.objects.filter(course=course).count()
    call_command(
        "generate_cohort", "--course", "gen2", "--learners", "10", "--days", "20", "--if-empty"
    )
    assert Activity.objects.filter(course=course).count() == stored


def test_generated_finishers_meet_the_criteria(platform):
    """Readings read through are done, so the demo's finishers can complete (and certify)."""
    from datetime import date

    from completion.models import Progress
    from lti_tool.models import Deployment

    course = Course.objects.create(deployment=Deployment.objects.get(), context_id="fin")
    call_command("generate_cohort", "--course", "fin", "--learners", "60", "--days", "28",
                 "--seed", "1", "--start", "2026-01-05", stdout=StringIO())  # fmt: skip
    as_of = date(2026, 2, 20)
    call_command("score_risk", as_of=as_of, course=[course.pk], stdout=StringIO())
    done = Progress.objects.filter(course=course, as_of=as_of, criteria_met=True).count()
    finishers = Outcome.objects.filter(membership__course=course, result="completed").count()
    # Not all: a finisher may leave a video unwatched (watched in 60% of full sessions).
    assert 0 < done <= finishers
