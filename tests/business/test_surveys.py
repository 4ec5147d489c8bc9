"""Satisfaction surveys: sent once per moment through the outbox, answered once by a signed link."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
import time_machine
from django.core import signing
from django.test import Client
from django.utils import timezone

from completion.risk.scoring import score_course
from interventions.business.attribution import nps
from interventions.business.selectors import ALL_COHORTS, survey_results
from interventions.business.surveys import SURVEY_SALT, answer_survey, send_due_surveys, survey_url
from interventions.delivery.outbox import dispatch_due
from interventions.models import (
    ContactPreference,
    OutboundMessage,
    SurveyInvitation,
    SurveyResponse,
)
from tests.business import complete, course_with_page, learner
from tests.completion.riskdata import add, day

pytestmark = pytest.mark.django_db


def _body(message):
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    raise AssertionError("no text part")


def test_nps_is_percent_promoters_minus_percent_detractors():
    result = nps([10, 9, 8, 7, 6, 0])
    assert (result.promoters, result.passives, result.detractors) == (2, 2, 2)
    assert result.score == 0.0
    assert nps([10, 10, 9, 0]).score == 50.0
    assert nps([0, 3, 6]).score == -100.0
    assert nps([7, 8]).score == 0.0
    assert nps([]).score is None
    with pytest.raises(ValueError, match="0 to 10"):
        nps([11])


def test_a_completer_is_surveyed_once_and_answers_once_through_the_signed_link(smtp_server):
    course, page = course_with_page(title="Safety 101")
    ada = learner(course, "ada")
    complete(course, page, ada, on=1)
    with time_machine.travel(day(2), tick=False):
        assert send_due_surveys(now=timezone.now()) == 1
        assert send_due_surveys(now=timezone.now()) == 0
        assert dispatch_due().sent == 1
    invitation = SurveyInvitation.objects.get()
    assert (invitation.membership, invitation.moment) == (ada, "completed")
    message = OutboundMessage.objects.get()
    assert message.idempotency_key == f"survey:{ada.pk}:completed"
    (received,) = smtp_server.mailbox.messages
    assert received["To"] == "ada@example.edu"
    link = re.search(r"https?://\S+/business/survey/\S+/", _body(received)).group(0)
    path = urlparse(link).path

    with time_machine.travel(day(3)):
        page_ = Client().get(path)
        assert page_.status_code == 200
        assert "recommend Safety 101" in page_.content.decode()
        answered = Client().post(path, {"score": "9", "comment": "Clear and short"})
        assert answered.status_code == 200
        assert "Thank you" in answered.content.decode()
        again = Client().post(path, {"score": "0", "comment": "changed my mind"})
        assert again.status_code == 409
        assert Client().get(path).status_code == 409
    with time_machine.travel(day(2 + 91)):
        assert "expired" in Client().get(path).content.decode()
    (response,) = SurveyResponse.objects.all()
    assert (response.score, response.comment) == (9, "Clear and short")


def test_a_tampered_forged_or_bad_link_is_refused_and_records_nothing():
    course, page = course_with_page()
    ada = learner(course, "ada")
    complete(course, page, ada, on=1)
    send_due_surveys(now=day(2))
    invitation = SurveyInvitation.objects.get()
    path = urlparse(survey_url(invitation.pk)).path
    tampered = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]
    assert Client().post(tampered, {"score": "10"}).status_code == 400
    forged = signing.dumps({"i": invitation.pk}, salt="another.salt")
    assert Client().post(f"/business/survey/{forged}/", {"score": "10"}).status_code == 400
    other = signing.dumps({"i": invitation.pk + 999}, salt=SURVEY_SALT)
    assert Client().get(f"/business/survey/{other}/").status_code == 400
    assert Client().post(path, {"score": "11"}).status_code == 400
    assert Client().post(path, {"score": "ten"}).status_code == 400
    assert not SurveyResponse.objects.exists()


def test_non_completers_are_surveyed_once_when_they_withdraw_or_miss_the_deadline():
    course, page = course_with_page(due_on=day(5).date())
    gone, late, done, quiet = (learner(course, s) for s in ("gone", "late", "done", "quiet"))
    ContactPreference.objects.create(person=quiet.person, email_opt_out=True)
    add(course, late, "viewed", day(1))
    complete(course, page, done, on=2)
    gone.status, gone.status_changed_at = "inactive", day(3)
    gone.save()
    score_course(course.pk, as_of=day(6).date())
    # The completer leaves the roster later: that is not a non-completion.
    done.status, done.status_changed_at = "deleted", day(6)
    done.save()

    assert send_due_surveys(now=day(7)) == 3
    assert send_due_surveys(now=day(8)) == 0
    sent = {(i.membership.person.sub, i.moment, i.cause) for i in SurveyInvitation.objects.all()}
    assert sent == {
        ("done", "completed", "criteria met"),
        ("gone", "not_completed", "withdrawn (inactive)"),
        ("late", "not_completed", "deadline passed"),
    }
    keys = set(OutboundMessage.objects.values_list("idempotency_key", flat=True))
    assert keys == {
        f"survey:{done.pk}:completed",
        f"survey:{gone.pk}:not_completed",
        f"survey:{late.pk}:not_completed",
    }
    late_mail = OutboundMessage.objects.get(membership=late)
    assert "did not work out" in late_mail.body_text


def test_learners_still_in_time_and_moments_long_past_get_no_survey():
    course, page = course_with_page(due_on=day(30).date())
    busy, old = learner(course, "busy"), learner(course, "old")
    add(course, busy, "viewed", day(1))
    complete(course, page, old, on=1)
    score_course(course.pk, as_of=day(10).date())
    assert send_due_surveys(now=day(11)) == 1  # the completer only
    other, page2 = course_with_page()
    ancient = learner(other, "ancient")
    complete(other, page2, ancient, on=1)
    # Completed 40 days before this run: outside the window, not surveyed. The learner who
    # was still in time on day 11 has now missed the deadline (day 30), within the window.
    assert send_due_surveys(now=day(41)) == 1
    assert set(SurveyInvitation.objects.values_list("membership__person__sub", "moment")) == {
        ("old", "completed"),
        ("busy", "not_completed"),
    }


def test_results_compare_completers_with_non_completers_per_cohort():
    course, page = course_with_page(title="Safety 101", due_on=day(5).date())
    finishers = [learner(course, f"f{n}") for n in range(4)]
    stragglers = [learner(course, f"s{n}") for n in range(3)]
    for m in finishers:
        add(course, m, "completed", day(1), item=page)
    for m in stragglers:
        add(course, m, "viewed", day(1))
    score_course(course.pk, as_of=day(1).date())
    score_course(course.pk, as_of=day(6).date())
    assert send_due_surveys(now=day(7)) == 7
    by_sub = {i.membership.person.sub: i for i in SurveyInvitation.objects.all()}
    for sub, score in {"f0": 10, "f1": 9, "f2": 7, "s0": 3, "s1": 8}.items():
        answer_survey(invitation=by_sub[sub], score=score)
    rows = {(r.cohort, r.group): r for r in survey_results(course.deployment_id)}
    done = rows[("2026-01", "completed")]
    assert (done.invited, done.result.answers, done.result.promoters) == (4, 3, 2)
    assert done.result.score == pytest.approx(66.7)
    missed = rows[("2026-01", "not_completed")]
    assert (missed.invited, missed.result.answers, missed.result.detractors) == (3, 2, 1)
    assert missed.result.score == -50.0
    assert rows[(ALL_COHORTS, "completed")].result == done.result
