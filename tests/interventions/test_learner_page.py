"""Staff open one learner: timeline, signals, history, messages; and act on it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from completion.models import Outcome, Pause
from completion.risk.evaluation import known_outcomes
from completion.risk.scoring import score_course
from interventions.models import AdvisorCase, OutboundMessage, Snooze
from lti_tool.models import AuditEntry
from tests.helpers import token_for
from tests.interventions.helpers import act, enrol

pytestmark = pytest.mark.django_db


def token(membership, role):
    return token_for(membership, role)


@pytest.fixture
def people(course):
    ada = enrol(course, "ada", name="Ada Lovelace")
    teacher = enrol(course, "teach", role="instructor", name="Grace Teacher")
    advisor = enrol(course, "adv", role="advisor", name="Alan Advisor")
    now = timezone.now()
    act(course, ada, "failed", now - timedelta(days=2), item="quiz-4", title="Module 4 quiz")
    act(course, ada, "failed", now - timedelta(days=1), item="quiz-4", title="Module 4 quiz")
    score_course(course.pk, as_of=timezone.localdate())
    return ada, teacher, advisor


def url(membership):
    return f"/messages/course/learners/{membership.pk}/"


def test_the_page_shows_timeline_signals_and_reasons(people):
    ada, teacher, _ = people
    body = (
        Client()
        .get(url(ada), {}, HTTP_X_FINISHLINE_LAUNCH=token(teacher, "instructor"))
        .content.decode()
    )
    assert "Ada Lovelace" in body
    assert body.count("Module 4 quiz") >= 2  # the timeline's two failures
    assert "failed_twice" in body
    assert "failed Module 4 quiz twice" in body


def test_send_a_nudge_and_see_it_in_the_outbox(people):
    ada, teacher, _ = people
    lt = token(teacher, "instructor")
    sent = Client().post(
        url(ada),
        {
            "lt": lt,
            "action": "message",
            "subject": "How is it going?",
            "text": "Want to go over the Module 4 quiz together?",
        },
    )
    assert sent.status_code == 200
    assert "in the outbox below" in sent.content.decode()
    message = OutboundMessage.objects.get(membership=ada)
    assert message.subject == "How is it going?"
    assert message.to_address == "ada@example.edu"
    assert (
        "How is it going?"
        in Client().get(url(ada), {}, HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    )


def test_snooze_assign_an_advisor_and_pause(people):
    ada, teacher, advisor = people
    lt = token(teacher, "instructor")
    Client().post(url(ada), {"lt": lt, "action": "snooze", "days": "5", "reason": "exam week"})
    assert Snooze.objects.get(membership=ada).reason == "exam week"
    Client().post(
        url(ada),
        {"lt": lt, "action": "advisor", "advisor": advisor.person_id, "reason": "two failures"},
    )
    assert AdvisorCase.objects.get(membership=ada).owner == advisor.person
    until = (timezone.localdate() + timedelta(days=10)).isoformat()
    Client().post(url(ada), {"lt": lt, "action": "pause", "until": until, "reason": "surgery"})
    assert Pause.objects.get(membership=ada).reason == "surgery"
    bad = Client().post(url(ada), {"lt": lt, "action": "snooze", "days": "500", "reason": "x"})
    assert bad.status_code == 400
    assert "1 to 90 days" in bad.content.decode()


def test_learners_and_other_courses_staff_cannot_open_it(people, course):
    ada, _teacher, _ = people
    bob = enrol(course, "bob")
    assert (
        Client().get(url(ada), {}, HTTP_X_FINISHLINE_LAUNCH=token(bob, "learner")).status_code
        == 403
    )
    from lti_tool.models import Course

    other = Course.objects.create(deployment=course.deployment, context_id="c2", title="Other")
    stranger = enrol(other, "stranger", role="instructor")
    assert (
        Client()
        .get(url(ada), {}, HTTP_X_FINISHLINE_LAUNCH=token(stranger, "instructor"))
        .status_code
        == 404
    )


def test_an_advisor_case_goes_only_to_the_courses_staff(people, course):
    from lti_tool.models import Course

    ada, teacher, _advisor = people
    other = Course.objects.create(deployment=course.deployment, context_id="c3", title="Other")
    outsider = enrol(other, "outsider", role="advisor")
    refused = Client().post(
        url(ada),
        {
            "lt": token(teacher, "instructor"),
            "action": "advisor",
            "advisor": outsider.person_id,
            "reason": "x",
        },
    )
    assert refused.status_code == 400
    assert not AdvisorCase.objects.exists()


def test_an_advisor_case_is_marked_contacted_then_resolved_on_the_page(people):
    ada, teacher, advisor = people
    lt = token(teacher, "instructor")
    Client().post(url(ada), {"lt": lt, "action": "advisor", "advisor": advisor.person_id,
                             "reason": "failing the quiz"})  # fmt: skip
    case = AdvisorCase.objects.get(membership=ada)
    answer = Client().post(url(ada), {"lt": lt, "action": "contacted", "case": case.pk,
                                      "note": "called, will retry Friday"})  # fmt: skip
    assert "marked as contacted" in answer.content.decode()
    refused = Client().post(url(ada), {"lt": lt, "action": "resolve", "case": case.pk})
    assert refused.status_code == 400
    Client().post(url(ada), {"lt": lt, "action": "resolve", "case": case.pk,
                             "note": "passed on the retry"})  # fmt: skip
    case.refresh_from_db()
    assert (case.status, case.resolution) == ("resolved", "passed on the retry")
    assert case.notes.get().text == "called, will retry Friday"


def test_an_instructor_marks_the_final_outcome_audited_shown_and_read_by_evaluation(people):
    ada, teacher, _ = people
    lt = token(teacher, "instructor")
    ended = timezone.localdate() - timedelta(days=1)
    marked = Client().post(
        url(ada),
        {
            "lt": lt,
            "action": "outcome",
            "result": "withdrawn",
            "decided_on": ended.isoformat(),
            "note": "moved abroad",
        },
    )
    assert marked.status_code == 200
    assert "Outcome recorded: withdrawn." in marked.content.decode()
    outcome = Outcome.objects.get(membership=ada)
    assert (outcome.result, outcome.decided_on, outcome.source) == (
        "withdrawn",
        ended,
        "instructor",
    )
    entry = AuditEntry.objects.get(action="completion.outcome_marked")
    assert entry.actor == f"person:{teacher.person_id}"
    assert entry.data["result"] == "withdrawn"
    page = Client().get(url(ada), {}, HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    assert "Outcome:</strong> Withdrawn" in page
    assert "moved abroad" in page
    # Evaluation reads it; learners with no record keep their derived outcome (idle: dropped).
    idle = enrol(ada.course, "idle", days_ago=40)
    known = known_outcomes(ada.course)
    assert known[ada.pk].completed is False
    assert known[idle.pk].completed is False
    # A future date or an unknown result is refused; staff who only read cannot mark.
    later = (timezone.localdate() + timedelta(days=3)).isoformat()
    refused = Client().post(
        url(ada), {"lt": lt, "action": "outcome", "result": "passed", "decided_on": later}
    )
    assert refused.status_code == 400
    assert "cannot be in the future" in refused.content.decode()
    assert Outcome.objects.get(membership=ada).result == "withdrawn"
    advisor_lt = token(people[2], "advisor")
    by_advisor = Client().post(
        url(ada),
        {"lt": advisor_lt, "action": "outcome", "result": "passed", "decided_on": str(ended)},
    )
    assert by_advisor.status_code == 400
    assert Outcome.objects.get(membership=ada).result == "withdrawn"
