"""As-of scoring sees what was known that day: the roster of that day, and only the signals
whose source the course produces."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from completion.models import RiskScore
from completion.risk.signals import NO_FORUM, from_stored
from tests.completion.riskdata import START, add, day, enrol, make_course

pytestmark = pytest.mark.django_db


def score(course, n):
    as_of = day(n).date()
    call_command("score_risk", as_of=as_of, course=[course.pk], stdout=StringIO())
    return {r.membership_id: r for r in RiskScore.objects.filter(course=course, as_of=as_of)}


def test_a_withdrawn_learner_is_scored_up_to_the_withdrawal_and_not_after():
    course, (intro, *_rest) = make_course()
    stays = enrol(course, "stays")
    leaves = enrol(course, "leaves")
    for m in (stays, leaves):
        add(course, m, "viewed", day(1), item=intro)
    leaves.status = "deleted"
    leaves.status_changed_at = START + timedelta(days=5)
    leaves.save()
    before = score(course, 3)
    assert set(before) == {stays.pk, leaves.pk}
    assert set(score(course, 4)) == {stays.pk, leaves.pk}
    assert set(score(course, 5)) == {stays.pk}  # withdrew during day 5
    # Scoring a later day does not erase the earlier one.
    assert RiskScore.objects.filter(membership=leaves, as_of=day(3).date()).exists()


def forum_course():
    course, items = make_course()
    learners = [enrol(course, f"p{n}") for n in range(6)]
    for m in learners:
        for n in range(8):
            add(course, m, "viewed", day(n), item=items[0], seconds=60)
    return course, items[4], learners


def test_no_forum_post_abstains_where_the_course_records_no_posts():
    course, _forum, learners = forum_course()
    scores = score(course, 8)
    assert len(scores) == len(learners)
    for r in scores.values():
        forum = next(s for s in from_stored(r.signals) if s.code == NO_FORUM)
        assert not forum.fired
        assert forum.value is None
        assert "no forum posts are recorded" in forum.reason
        assert not any("forum" in reason for reason in r.reasons)


def test_no_forum_post_fires_once_the_course_has_posts():
    course, forum, learners = forum_course()
    add(course, learners[0], "posted", day(2), item=forum)
    scores = score(course, 8)
    fired = {m for m, r in scores.items() if any(s.fired and s.code == NO_FORUM
                                               for s in from_stored(r.signals))}  # fmt: skip
    assert fired == {m.pk for m in learners[1:]}


def test_item_due_dates_and_weights_set_the_pace_and_percent_complete():
    from completion.models import Item, Progress
    from completion.risk.services import update_criteria

    course, _ = make_course(items=(("assessment", "TMA 1"), ("assessment", "TMA 2")))
    first, second = Item.objects.filter(course=course).order_by("position")
    Item.objects.filter(pk=first.pk).update(weight=30, due_at=day(10))  # a Thursday
    Item.objects.filter(pk=second.pk).update(weight=10, due_at=day(24))
    update_criteria(
        course=course,
        values={"timeline": "absolute", "starts_on": START.date(), "ends_on": day(30).date()},
        by="t",
    )
    ann = enrol(course, "ann")
    add(course, ann, "submitted", day(2), item=first, score=0.8, success=True)
    score(course, 10)
    progress = Progress.objects.get(membership=ann, as_of=day(10).date())
    assert progress.percent_complete == 75.0  # 30 of the 40 weight
    assert progress.expected_percent == 75.0  # TMA 1 is due today
    score(course, 3)
    early = Progress.objects.get(membership=ann, as_of=day(3).date())
    assert 0 < early.expected_percent < 75.0
