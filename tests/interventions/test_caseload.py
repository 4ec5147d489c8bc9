"""Advisor cases sized to the staff: by caseload, a daily cap each, highest value first."""

from __future__ import annotations

from datetime import timedelta

from interventions.models import AdvisorCase, Intervention
from interventions.planning.caseload import Candidate, assign
from interventions.planning.planner import plan_course
from tests.interventions.helpers import NOW, act, enrol


def _c(index, tier=1, percent=0.0, staff=(1, 2)):
    return Candidate(index=index, tier=tier, percent_complete=percent, staff=staff)


def test_cases_go_round_the_staff_by_caseload_up_to_the_cap():
    result = assign([_c(i) for i in range(7)], open_cases={1: 2}, opened_today={}, daily_cap=3)
    owners = [result.owners.get(i) for i in range(7)]
    assert owners.count(1) == 3  # the cap
    assert owners.count(2) == 3
    assert len(result.deferred) == 1
    # the one over the cap still has an owner for the digest: the less loaded
    assert result.batched == {6: 2}
    # person 2 started with fewer open cases, so it takes the first two
    assert owners[:2] == [2, 2]


def test_the_highest_value_cases_are_kept_when_over_capacity():
    candidates = [_c(0, tier=1, percent=10), _c(1, tier=3, percent=5), _c(2, tier=1, percent=90)]
    result = assign(candidates, open_cases={}, opened_today={1: 1, 2: 2}, daily_cap=2)
    assert set(result.owners) == {1}  # the escalated one: tier 3
    assert result.deferred == [2, 0]  # then the furthest along, then the rest


def test_a_case_without_eligible_staff_stays_unassigned_not_deferred():
    result = assign([_c(0, staff=())], open_cases={}, opened_today={}, daily_cap=1)
    assert result.owners == {0: None}
    assert result.deferred == []


def _six_cases(course):
    first = enrol(course, "teach-1", role="instructor", name="Ann First")
    second = enrol(course, "teach-2", role="instructor", name="Bob Second")
    for n in range(6):  # six learners who failed a quiz three times: each needs a case
        m = enrol(course, f"l{n}")
        for hours in (50, 40, 3):
            act(course, m, "failed", NOW - timedelta(hours=hours), title="Module 4 quiz")
    return first, second


def test_the_planner_opens_no_more_cases_than_the_staff_can_take(course, settings):
    settings.FINISHLINE = {**settings.FINISHLINE, "ADVISOR_DAILY_CAP": 2, "CASE_DIGEST": False}
    first, second = _six_cases(course)
    summary = plan_course(course_id=course.pk, now=NOW)
    per_owner = {
        p: AdvisorCase.objects.filter(owner=p).count() for p in (first.person, second.person)
    }
    assert per_owner == {first.person: 2, second.person: 2}
    assert summary.deferred_cases == 2
    # The two waiting are not recorded as done: the next plan proposes them again.
    assert Intervention.objects.filter(case__isnull=False).count() == 4
    later = plan_course(course_id=course.pk, now=NOW + timedelta(days=1))
    assert later.deferred_cases == 0
    assert AdvisorCase.objects.count() == 6


def test_a_first_contact_is_never_the_final_notice(course):
    m = enrol(course, "away")
    act(course, m, "viewed", NOW - timedelta(days=22))
    summary = plan_course(course_id=course.pk, now=NOW)
    learner_facing = [a for a in summary.actions if a.status in ("sent", "scheduled")]
    steps = {a.step for a in learner_facing}
    assert "absent_21" not in steps
    assert "absent_14" in steps  # the latest gentler step instead
    assert not Intervention.objects.filter(step="absent_21").exists()  # it waits


def test_cases_over_the_cap_are_batched_into_one_digest_email_per_owner(course, settings):
    from interventions.delivery.digest import send_case_digests
    from interventions.learners.cases import in_digest
    from interventions.models import OutboundMessage

    settings.FINISHLINE = {**settings.FINISHLINE, "ADVISOR_DAILY_CAP": 2}
    first, second = _six_cases(course)
    summary = plan_course(course_id=course.pk, now=NOW)
    assert summary.deferred_cases == 2
    opened = AdvisorCase.objects.exclude(status=AdvisorCase.Status.BATCHED)
    batched = AdvisorCase.objects.filter(status=AdvisorCase.Status.BATCHED)
    assert opened.count() == 4
    assert sorted(batched.values_list("owner_id", flat=True)) == sorted(
        [first.person_id, second.person_id]
    )
    assert in_digest(course.pk) == 2
    # Recorded, so the next plan does not propose them again.
    assert plan_course(course_id=course.pk, now=NOW + timedelta(hours=1)).deferred_cases == 0
    assert AdvisorCase.objects.count() == 6
    assert send_case_digests(now=NOW) == 2
    digests = OutboundMessage.objects.filter(reason="case_digest")
    assert sorted(digests.values_list("to_address", flat=True)) == [
        "teach-1@example.edu",
        "teach-2@example.edu",
    ]
    body = digests.get(to_address="teach-1@example.edu").body_text
    assert "1 case(s) for you went over today's cap" in body
    assert "/messages/course/?status=digest#cases" in body
    assert "(Safety 101, opened" in body
    assert in_digest(course.pk) == 0
    assert send_case_digests(now=NOW + timedelta(hours=2)) == 0  # each case in one digest


def test_an_overlapping_digest_run_with_one_more_case_emails_it(course, settings):
    from interventions.delivery.digest import send_case_digests
    from interventions.models import OutboundMessage

    settings.FINISHLINE = {**settings.FINISHLINE, "ADVISOR_DAILY_CAP": 2}
    first, _ = _six_cases(course)
    plan_course(course_id=course.pk, now=NOW)
    oldest = AdvisorCase.objects.get(status=AdvisorCase.Status.BATCHED, owner=first.person)
    assert send_case_digests(now=NOW) == 2
    # A second run read the same oldest case before the first marked it sent, and one more
    # batched since: its digest is a different email, not a repeat of the first.
    AdvisorCase.objects.filter(pk=oldest.pk).update(digest_sent_at=None)
    late = enrol(course, "late-learner", name="Late Learner")
    AdvisorCase.objects.create(
        membership=late, owner=first.person, reason="failed a quiz three times",
        status=AdvisorCase.Status.BATCHED, due_at=NOW + timedelta(days=2),
        opened_at=oldest.opened_at + timedelta(minutes=5),
    )  # fmt: skip
    assert send_case_digests(now=NOW + timedelta(minutes=10)) == 1
    mine = OutboundMessage.objects.filter(reason="case_digest", to_address="teach-1@example.edu")
    assert mine.count() == 2
    assert "Late Learner" in mine.order_by("pk").last().body_text
