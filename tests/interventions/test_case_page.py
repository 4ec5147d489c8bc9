"""The interventions page's advisor cases: pages of 50, sorted by priority, age, learner or
assignee, filtered by assignee (mine, unassigned, a colleague) and by open or in the digest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from interventions.learners.cases import CaseQuery, case_page
from interventions.models import AdvisorCase, Intervention
from tests.helpers import token_for
from tests.interventions.helpers import enrol

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(course):
    """120 open cases: 70 for Ann, 50 for Bob; ages one hour apart; tiers 1 to 3."""
    ann = enrol(course, "ann", role="instructor", name="Ann Staff")
    bob = enrol(course, "bob", role="advisor", name="Bob Staff")
    now = timezone.now()
    for n in range(120):
        m = enrol(course, f"l{n:03d}", name=f"Learner {n:03d}")
        case = AdvisorCase.objects.create(
            membership=m, owner=(ann if n < 70 else bob).person, reason=f"case {n}",
            due_at=now + timedelta(days=2), opened_at=now - timedelta(hours=n), tier=1 + n % 3,
        )  # fmt: skip
        Intervention.objects.create(membership=m, course=course, playbook="difficulty",
                                    step="failed_3", episode="e", tier=1 + n % 3, status="sent",
                                    planned_at=now, case=case)  # fmt: skip
    AdvisorCase.objects.create(
        membership=m, owner=ann.person, reason="over the cap",
        status=AdvisorCase.Status.BATCHED, due_at=now, opened_at=now,
    )  # fmt: skip
    return course, ann, bob


def test_cases_come_fifty_to_a_page_with_the_highest_value_first(cases):
    course, ann, _ = cases
    first = case_page(course.pk, CaseQuery(), me=ann.person_id)
    assert (first.total, first.pages, len(first.rows)) == (120, 3, 50)
    assert [c.tier for c in first.rows[:40]] == [3] * 40  # the most escalated first
    last = case_page(course.pk, CaseQuery(page=3), me=ann.person_id)
    assert len(last.rows) == 20
    assert first.in_digest == 1


def test_cases_sort_by_age_learner_and_assignee(cases):
    course, ann, _ = cases
    oldest = case_page(course.pk, CaseQuery(sort="age"), me=ann.person_id).rows[0]
    assert oldest.reason == "case 119"
    newest = case_page(course.pk, CaseQuery(sort="-age"), me=ann.person_id).rows[0]
    assert newest.reason == "case 0"
    by_name = case_page(course.pk, CaseQuery(sort="-name"), me=ann.person_id).rows[0]
    assert by_name.membership.person.name == "Learner 119"
    by_owner = case_page(course.pk, CaseQuery(sort="assignee"), me=ann.person_id).rows
    assert {c.owner.name for c in by_owner} == {"Ann Staff"}  # Ann's 70 fill the first page


def test_cases_filter_to_mine_a_colleague_and_the_digest(cases):
    course, ann, bob = cases
    assert case_page(course.pk, CaseQuery(assignee="mine"), me=ann.person_id).total == 70
    assert case_page(course.pk, CaseQuery(assignee="mine"), me=bob.person_id).total == 50
    assert (
        case_page(course.pk, CaseQuery(assignee=str(bob.person_id)), me=ann.person_id).total == 50
    )
    assert case_page(course.pk, CaseQuery(assignee="none"), me=ann.person_id).total == 0
    digest = case_page(course.pk, CaseQuery(status="digest"), me=ann.person_id)
    assert [c.reason for c in digest.rows] == ["over the cap"]


def test_the_interventions_page_pages_and_says_how_many_wait_in_the_digest(cases):
    _, ann, _ = cases
    lt = token_for(ann, "instructor")
    body = Client().get("/messages/course/", {"assignee": "mine", "sort": "age", "page": "2"},
                        HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()  # fmt: skip
    assert "70 cases." in body
    assert "Page 2 of 2" in body
    assert "1 more case in today&#x27;s digest" in body or "1 more case in today's digest" in body
    assert "Learner 019" in body  # oldest first: page 2 is 19 to 0
    assert "Learner 020" not in body
