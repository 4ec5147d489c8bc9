from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from interventions.delivery import clicks
from interventions.measurement.outcomes import intervention_funnel
from interventions.models import Intervention, OutboundMessage
from interventions.planning import playbooks
from interventions.planning.planner import plan_course
from lti_tool.models import AuditEntry
from tests.interventions.helpers import NOW, act, enrol

pytestmark = pytest.mark.django_db
ITEM = "https://lms.example.edu/courses/101/modules/4"


def message(course, m, *, token="t" * 32, target=ITEM, key="k1"):
    return OutboundMessage.objects.create(
        idempotency_key=key, deployment=course.deployment, course=course, membership=m,
        channel="email", to_address="ada@example.edu", body_text="hi", status="sent",
        not_before=NOW, sent_at=NOW, click_token=token, click_target=target,
    )  # fmt: skip


def test_track_replaces_the_link_with_a_random_token_of_its_own():
    body, token, target = clicks.track(f"Pick up here: {ITEM}\nOr here: {ITEM}", ITEM)
    other = clicks.track(f"Pick up here: {ITEM}", ITEM)[1]
    assert len(token) >= 32
    assert token != other  # random, not derived from the message
    assert target == ITEM
    assert ITEM not in body
    assert body.count(f"/m/{token}/") == 2
    assert clicks.track("No link here.", ITEM) == ("No link here.", "", "")
    assert clicks.track(f"Link {ITEM}", "") == (f"Link {ITEM}", "", "")


def test_following_a_link_redirects_to_the_stored_target_and_counts_the_first_click_once(
    course, caplog
):
    m = enrol(course, "ada")
    sent = message(course, m)
    caplog.set_level(logging.INFO, logger="finishline.clicks")
    # The target is the stored one, whatever the URL carries.
    first = Client().post(f"/m/{sent.click_token}/?next=https://evil.example/&url=https://x.test/")
    assert first.status_code == 302
    assert first["Location"] == ITEM
    sent.refresh_from_db()
    clicked_at = sent.clicked_at
    assert clicked_at is not None
    assert sent.click_count == 1
    again = Client().post(f"/m/{sent.click_token}/")
    assert again["Location"] == ITEM
    sent.refresh_from_db()
    assert sent.click_count == 2
    assert sent.clicked_at == clicked_at  # first click kept
    audit = AuditEntry.objects.filter(action="message_link_followed")
    assert audit.count() == 1  # the first click is audited, the count keeps the rest
    assert "ada" not in caplog.text
    assert "example.edu" not in caplog.text


def test_opening_the_link_counts_nothing_and_answers_a_page_that_posts_back(course):
    m = enrol(course, "al")
    sent = message(course, m)
    head = Client().head(f"/m/{sent.click_token}/")
    page = Client().get(f"/m/{sent.click_token}/")
    assert (head.status_code, page.status_code) == (200, 200)
    body = page.content.decode()
    assert '<form method="post"' in body
    assert "data-autosubmit" in body
    assert "finishline/autosubmit.js" in body  # a static script: the policy allows no inline one
    assert "Continue to your course" in body  # the button when scripts do not run
    assert ITEM not in body  # the target is not given away to whoever opens the link
    # The form's POST answers a redirect to the course, which form-action must allow.
    assert "form-action 'self' https://lms.example.edu" in page["Content-Security-Policy"]
    sent.refresh_from_db()
    assert (sent.click_count, sent.clicked_at) == (0, None)
    assert not AuditEntry.objects.filter(action="message_link_followed").exists()


def test_an_unknown_token_or_a_message_without_a_target_gets_the_friendly_404(course):
    m = enrol(course, "bob")
    message(course, m, token="u" * 32, target="")
    for token in ("nope", "u" * 32):
        for answer in (Client().get(f"/m/{token}/"), Client().post(f"/m/{token}/")):
            assert answer.status_code == 404
            assert b"We could not find that page" in answer.content
    assert OutboundMessage.objects.get(click_token="u" * 32).click_count == 0


def test_the_planner_sends_each_message_with_its_own_tracked_link(course):
    m = enrol(course, "cy")
    act(course, m, "viewed", NOW - timedelta(days=2, hours=1), item=ITEM, title="Module 4")
    plan_course(course_id=course.pk, now=NOW)
    (sent,) = OutboundMessage.objects.filter(membership=m, reason="playbook:absent_2")
    assert sent.click_target == ITEM
    assert sent.click_token
    assert ITEM not in sent.body_text
    assert ITEM not in sent.body_html
    assert f"/m/{sent.click_token}/" in sent.body_text
    assert f"/m/{sent.click_token}/" in sent.body_html


def escalating(course, m):
    """A learner who was sent absent_2 at NOW (with a tracked link) and never came back."""
    for days_ago in (12, 9, 6):
        act(course, m, "viewed", NOW - timedelta(days=days_ago, hours=1), item=ITEM)
    plan_course(course_id=course.pk, now=NOW)
    return OutboundMessage.objects.get(membership=m, reason="playbook:absent_2")


def test_a_click_within_the_window_answers_the_step(course):
    m = enrol(course, "di")
    sent = escalating(course, m)
    OutboundMessage.objects.filter(pk=sent.pk).update(clicked_at=NOW + timedelta(hours=5))
    later = plan_course(course_id=course.pk, now=NOW + timedelta(hours=49))
    assert [a.step for a in later.actions] == []


def test_a_click_after_the_window_does_not_stop_the_escalation(course):
    m = enrol(course, "ed")
    sent = escalating(course, m)
    OutboundMessage.objects.filter(pk=sent.pk).update(
        clicked_at=NOW + timedelta(hours=48, minutes=30)
    )
    later = plan_course(course_id=course.pk, now=NOW + timedelta(hours=49))
    (escalated,) = [a for a in later.actions if a.step == "absent_4"]
    assert escalated.detail.startswith("no return visit, click or reply within 48 h of absent_2")
    assert Intervention.objects.filter(membership=m, step="absent_4").exists()


def test_escalations_read_a_click_only_within_the_window_and_in_the_same_episode():
    (book,) = [p for p in playbooks.DEFAULT_PLAYBOOKS if p.key == "absence"]
    sent = NOW - timedelta(hours=49)
    base = {"membership_id": 1, "now": NOW, "enrolled_at": NOW - timedelta(days=30),
            "started": True, "last_active_at": NOW - timedelta(days=8), "percent_complete": 10.0,
            "unanswered": {"absent_2": (sent, "ep")}}  # fmt: skip

    def due(clicked):
        return [d.step.key for d in playbooks.escalations(book, playbooks.Situation(
            **base, responded=clicked))]  # fmt: skip

    assert due({}) == ["absent_4"]
    assert due({("absent_2", "ep"): sent + timedelta(hours=1)}) == []
    assert due({("absent_2", "ep"): sent + timedelta(hours=48, seconds=1)}) == ["absent_4"]
    assert due({("absent_2", "ep"): sent - timedelta(hours=1)}) == ["absent_4"]
    assert due({("absent_2", "other"): sent + timedelta(hours=1)}) == ["absent_4"]


def test_the_funnel_counts_messages_whose_link_was_followed(course):
    m = enrol(course, "fi")
    message(course, m, token="a" * 32, key="k1")
    message(course, m, token="b" * 32, key="k2")
    message(course, m, token=None, target="", key="k3")
    Client().post(f"/m/{'a' * 32}/")
    Client().post(f"/m/{'a' * 32}/")
    Client().get(f"/m/{'b' * 32}/")  # opened (a mail scanner does), not followed
    funnel = {s.label: s.count for s in intervention_funnel(course_id=course.pk)}
    assert funnel["Messages sent"] == 3
    assert funnel["Clicked"] == 1  # messages clicked, not clicks
    assert OutboundMessage.objects.get(click_token="a" * 32).clicked_at <= timezone.now()
