"""Message everyone in a roster filter: preview, confirm, each copy under the learner's own
guardrails (opt-out, pause, quiet hours, throttle), recorded as a staff message and audited."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.test import Client

from completion.instructor.roster import RosterQuery, matching_memberships
from completion.models import Pause, RiskScore
from completion.risk.scoring import score_course
from interventions.delivery.clicks import tracked_url
from interventions.measurement.outcomes import intervention_funnel
from interventions.models import BulkMessage, ContactPreference, Intervention, OutboundMessage
from interventions.planning import bulk
from interventions.tasks import purge_bulk_drafts
from lti_tool.models import AuditEntry, Membership, Role
from tests.helpers import token_for
from tests.interventions.helpers import act, enrol

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # outside the default quiet hours (21:00-08:00)
URL = "/messages/course/learners/message/"


@pytest.fixture
def roster(course):
    with time_machine.travel(NOON, tick=False):
        learners = [enrol(course, f"l{n}", name=f"Learner{n} Smith") for n in range(5)]
        teacher = enrol(course, "teach", role="instructor", name="Grace Teacher")
        score_course(course.pk, as_of=NOON.date())
    # Two of the five are red, so a filter on red picks exactly them.
    RiskScore.objects.filter(membership__in=learners[:2]).update(tier="red")
    RiskScore.objects.filter(membership__in=learners[2:]).update(tier="green")
    return learners, teacher


def send(course, ids, teacher, subject="Catch up this week", text="Hi {{ first_name }}, see you."):
    draft, _ = bulk.draft_bulk_message(
        course=course, membership_ids=ids, filters={"tier": "red"}, subject=subject, text=text,
        by=teacher.person, now=NOON,
    )  # fmt: skip
    return bulk.send_bulk_message(course=course, draft_id=draft.pk, by=teacher.person, now=NOON)


def test_the_filter_picks_every_matching_learner_across_pages(course, roster):
    learners, _ = roster
    red = matching_memberships(course, RosterQuery(tier="red"))
    assert sorted(red) == sorted(m.pk for m in learners[:2])
    assert len(matching_memberships(course, RosterQuery())) == 5


def test_each_learner_gets_their_own_copy_through_the_outbox_recorded_as_a_staff_message(
    course, roster
):
    learners, teacher = roster
    done = send(course, [m.pk for m in learners[:2]], teacher)
    assert (done.queued, done.scheduled, done.suppressed) == (2, 0, 0)
    assert done.finished_at is not None
    bodies = dict(OutboundMessage.objects.values_list("membership_id", "body_text"))
    assert bodies == {
        learners[0].pk: "Hi Learner0, see you.",
        learners[1].pk: "Hi Learner1, see you.",
    }
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"pending"}
    steps = Intervention.objects.filter(step="staff_message")
    assert steps.count() == 2
    assert all("Grace Teacher" in s.detail for s in steps)
    entry = AuditEntry.objects.get(action="interventions.bulk_message")
    assert entry.actor == f"person:{teacher.person_id}"
    assert entry.data["learners"] == 2
    # The funnel counts them as what they are: staff messages, not playbook steps.
    funnel = {s.label: s.count for s in intervention_funnel(course_id=course.pk)}
    assert funnel["Playbook steps planned"] == 0
    assert funnel["Messages from staff"] == 2
    assert funnel["Messages queued"] == 2
    # Delivering again (a retried task) adds nothing.
    bulk.deliver_bulk_message(done.pk, now=NOON)
    assert OutboundMessage.objects.count() == 2


def test_opted_out_paused_and_quiet_hours_learners_are_held_or_skipped_with_reasons(course, roster):
    learners, teacher = roster
    out, paused, night, throttled, fine = learners
    ContactPreference.objects.create(person=out.person, email_opt_out=True)
    Pause.objects.create(
        membership=paused, starts_on=NOON.date(), until=NOON.date() + timedelta(days=5),
        reason="holiday", created_by="learner",
    )  # fmt: skip
    ContactPreference.objects.create(
        person=night.person, quiet_hours_start=time(11, 0), quiet_hours_end=time(14, 0)
    )
    Intervention.objects.create(membership=throttled, course=course, playbook="absence",
                                step="welcome", episode="e", status="sent", planned_at=NOON,
                                send_at=NOON - timedelta(hours=3))  # fmt: skip
    done = send(course, [m.pk for m in learners], teacher)
    assert (done.queued, done.scheduled, done.suppressed) == (1, 2, 2)
    assert done.suppressed_reasons == {"opted out of email": 1, "paused until 2026-03-15": 1}
    waiting = dict(OutboundMessage.objects.values_list("membership_id", "not_before"))
    assert set(waiting) == {night.pk, throttled.pk, fine.pk}
    assert waiting[night.pk] == NOON.replace(hour=14)
    assert waiting[throttled.pk] == NOON + timedelta(hours=45)
    assert waiting[fine.pk] == NOON


def test_an_empty_message_or_a_broken_placeholder_is_refused(course, roster):
    learners, teacher = roster
    with pytest.raises(bulk.BulkRefused, match="subject and a message"):
        send(course, [learners[0].pk], teacher, text="  ")
    with pytest.raises(bulk.BulkRefused, match="placeholder"):
        send(course, [learners[0].pk], teacher, text="Hi {% if %}")
    assert not BulkMessage.objects.exists()


@time_machine.travel(NOON, tick=False)
def test_a_large_filter_is_queued_by_a_task(
    course, roster, monkeypatch, django_capture_on_commit_callbacks
):
    learners, teacher = roster
    monkeypatch.setattr(bulk, "INLINE_LIMIT", 1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        done = send(course, [m.pk for m in learners[:2]], teacher)
    assert done.finished_at is None
    assert not OutboundMessage.objects.exists()
    for callback in callbacks:
        callback()  # the worker (synchronous in tests) runs the task
    done.refresh_from_db()
    assert done.queued == 2
    assert done.finished_at is not None


@time_machine.travel(NOON, tick=False)
def test_the_instructor_previews_confirms_and_reads_what_became_of_it(course, roster):
    _, teacher = roster
    lt = token_for(teacher, "instructor")
    page = Client().get(URL, {"tier": "red"}, HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    assert "Message these 2 learners" in page
    assert "Risk: Red" in page
    form = {"tier": "red", "subject": "Catch up", "text": "Hi {{ first_name }}", "lt": lt}
    preview = Client().post(URL, {**form, "action": "preview"}).content.decode()
    assert "Preview for the first learner" in preview
    assert "Hi Learner" in preview
    assert "Send to 2 learners" in preview
    draft = BulkMessage.objects.get()
    assert draft.sent_at is None  # a draft: nothing sent, nothing audited
    assert not OutboundMessage.objects.exists()
    assert not AuditEntry.objects.filter(action="interventions.bulk_message").exists()
    sent = Client().post(URL, {**form, "action": "send", "draft": draft.pk})
    assert sent.status_code == 302
    done = Client().get(sent["Location"], HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    assert "2 queued" in done
    assert "chosen at the preview" in done
    assert OutboundMessage.objects.count() == 2
    # A second click on Send sends nothing more.
    again = Client().post(URL, {**form, "action": "send", "draft": draft.pk})
    assert again["Location"] == sent["Location"]
    assert OutboundMessage.objects.count() == 2


@time_machine.travel(NOON, tick=False)
def test_send_goes_to_the_previewed_learners_even_when_scores_change_in_between(course, roster):
    learners, teacher = roster
    lt = token_for(teacher, "instructor")
    form = {"tier": "red", "subject": "Catch up", "text": "Hi {{ first_name }}", "lt": lt}
    preview = Client().post(URL, {**form, "action": "preview"}).content.decode()
    assert "Send to 2 learners" in preview
    draft = BulkMessage.objects.get()
    # Between preview and Send, a re-score turns the first two green and the other three red,
    # and one of the previewed learners opts out.
    RiskScore.objects.filter(membership__in=learners[:2]).update(tier="green")
    RiskScore.objects.filter(membership__in=learners[2:]).update(tier="red")
    ContactPreference.objects.create(person=learners[1].person, email_opt_out=True)
    sent = Client().post(URL, {**form, "action": "send", "draft": draft.pk})
    assert sent.status_code == 302
    assert set(Intervention.objects.values_list("membership_id", flat=True)) == {
        learners[0].pk, learners[1].pk,
    }  # fmt: skip
    assert list(OutboundMessage.objects.values_list("membership_id", flat=True)) == [learners[0].pk]
    done = Client().get(sent["Location"], HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    assert "1 queued" in done
    assert "1 not sent" in done
    assert "Opted out of email" in done


@time_machine.travel(NOON, tick=False)
def test_a_draft_is_sent_only_by_who_previewed_it_and_is_not_shown_as_sent(course, roster):
    learners, teacher = roster
    colleague = enrol(course, "teach2", role="instructor", name="Ada Colleague")
    draft, _ = bulk.draft_bulk_message(
        course=course, membership_ids=[learners[0].pk], filters={}, subject="Hi", text="Hi",
        by=teacher.person,
    )  # fmt: skip
    lt = token_for(colleague, "instructor")
    refused = Client().post(URL, {"action": "send", "draft": draft.pk, "lt": lt})
    assert refused.status_code == 400
    assert "preview the message again" in refused.content.decode()
    assert not OutboundMessage.objects.exists()
    mine = token_for(teacher, "instructor")
    assert Client().get(f"{URL}{draft.pk}/", HTTP_X_FINISHLINE_LAUNCH=mine).status_code == 404


def test_the_roster_offers_the_action_for_its_filter(course, roster):
    _, teacher = roster
    lt = token_for(teacher, "instructor")
    page = Client().get("/course/risk/", {"tier": "red"}, HTTP_X_FINISHLINE_LAUNCH=lt)
    page = page.content.decode()
    assert "Message these 2 learners" in page
    assert f"{URL}?tier=red" in page


def test_another_course_cannot_read_a_bulk_message(course, roster, platform):
    from lti_tool.models import Course

    learners, teacher = roster
    done = send(course, [learners[0].pk], teacher)
    other = Course.objects.create(deployment=course.deployment, context_id="c2", title="Other")
    stranger = enrol(other, "t2", role="instructor")
    response = Client().get(f"{URL}{done.pk}/",
                            HTTP_X_FINISHLINE_LAUNCH=token_for(stranger, "instructor"))  # fmt: skip
    assert response.status_code == 404


def test_each_copy_carries_a_tracked_link_to_where_the_learner_stopped_and_its_click_counts(
    course, roster
):
    learners, teacher = roster
    where = "https://lms.example.edu/courses/101/modules/4"
    act(course, learners[0], "viewed", NOON - timedelta(days=1), item=where, title="Module 4")
    placed = "Hi {{ first_name }}, pick up here: {{ link }} (or reply)."
    send(course, [learners[0].pk], teacher, text=placed)
    send(course, [learners[0].pk, learners[1].pk], teacher, subject="Again", text="Hi.")
    first, appended = OutboundMessage.objects.filter(membership=learners[0]).order_by("pk")
    for message in (first, appended):
        assert message.click_target == where
        assert where not in message.body_text
        assert where not in message.body_html
        assert f"/m/{message.click_token}/" in message.body_html
    assert first.body_text.startswith("Hi Learner0, pick up here: http")
    assert first.body_text.endswith(f"/m/{first.click_token}/ (or reply).")
    assert appended.body_text.endswith(f"Continue your course: {bulk_url(appended)}\n")
    # A learner with nothing to come back to gets the wording as written, without a link.
    other = OutboundMessage.objects.get(membership=learners[1])
    assert (other.body_text, other.click_token, other.click_target) == ("Hi.", None, "")
    Client().post(f"/m/{first.click_token}/")
    funnel = {s.label: s.count for s in intervention_funnel(course_id=course.pk)}
    assert funnel["Clicked"] == 1


def bulk_url(message):
    return tracked_url(message.click_token)


@time_machine.travel(NOON, tick=False)
def test_learners_who_left_after_the_preview_are_skipped_and_counted_as_no_longer_enrolled(
    course, roster
):
    learners, teacher = roster
    lt = token_for(teacher, "instructor")
    draft, _ = bulk.draft_bulk_message(
        course=course, membership_ids=[m.pk for m in learners[:4]], filters={}, subject="Hi",
        text="Hi {{ first_name }}", by=teacher.person, now=NOON,
    )  # fmt: skip
    # Between preview and Send: one withdrawn, one deleted, one made a teaching assistant.
    Membership.objects.filter(pk=learners[0].pk).update(status=Membership.Status.INACTIVE)
    Membership.objects.filter(pk=learners[1].pk).update(status=Membership.Status.DELETED)
    Membership.objects.filter(pk=learners[2].pk).update(role=Role.TEACHING_ASSISTANT)
    sent = Client().post(URL, {"action": "send", "draft": draft.pk, "lt": lt})
    assert list(OutboundMessage.objects.values_list("membership_id", flat=True)) == [learners[3].pk]
    assert not Intervention.objects.exclude(membership=learners[3]).exists()
    done = BulkMessage.objects.get()
    assert (done.queued, done.suppressed) == (1, 3)
    assert done.suppressed_reasons == {"no longer enrolled": 3}
    page = Client().get(sent["Location"], HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    assert "3: No longer enrolled" in page
    # Delivering again (a retried task) counts the same.
    assert bulk.deliver_bulk_message(done.pk, now=NOON).suppressed == 3


def test_a_preview_older_than_its_lifetime_is_refused_and_must_be_redone(course, roster):
    learners, teacher = roster
    draft, _ = bulk.draft_bulk_message(
        course=course, membership_ids=[learners[0].pk], filters={}, subject="Hi", text="Hi",
        by=teacher.person, now=NOON,
    )  # fmt: skip
    late = NOON + bulk.DRAFT_LIFETIME + timedelta(minutes=1)
    with time_machine.travel(late, tick=False):
        lt = token_for(teacher, "instructor")
        refused = Client().post(URL, {"action": "send", "draft": draft.pk, "lt": lt})
    assert refused.status_code == 400
    assert "more than an hour old: preview the message again" in refused.content.decode()
    assert not OutboundMessage.objects.exists()
    assert BulkMessage.objects.get().sent_at is None
    # Within the lifetime it goes.
    in_time = NOON + bulk.DRAFT_LIFETIME
    assert (
        bulk.send_bulk_message(
            course=course, draft_id=draft.pk, by=teacher.person, now=in_time
        ).queued
        == 1
    )


def test_the_hourly_purge_deletes_unsent_drafts_older_than_a_day_only(course, roster):
    learners, teacher = roster

    def draft(at):
        made, _ = bulk.draft_bulk_message(
            course=course, membership_ids=[learners[0].pk], filters={}, subject="Hi", text="Hi",
            by=teacher.person, now=at,
        )  # fmt: skip
        return made

    old, fresh = draft(NOON - timedelta(days=2)), draft(NOON - timedelta(hours=2))
    sent = draft(NOON)
    bulk.send_bulk_message(course=course, draft_id=sent.pk, by=teacher.person, now=NOON)
    BulkMessage.objects.filter(pk=sent.pk).update(created_at=NOON - timedelta(days=3))
    with time_machine.travel(NOON, tick=False):
        assert purge_bulk_drafts() == 1
    assert set(BulkMessage.objects.values_list("pk", flat=True)) == {fresh.pk, sent.pk}
    assert old.pk not in BulkMessage.objects.values_list("pk", flat=True)
