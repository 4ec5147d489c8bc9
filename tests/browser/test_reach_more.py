"""More of each feature done the way its person would, in the demo LMS, with what the planner
and the scheduled tasks then send read where the person reads it (the demo mail page, a chat
webhook): a translated step for a learner who chose Spanish; a learner's own chat channel; an
A/B winner adopted into the playbook; the instructor's help for an assessment in the "failed"
message and study partners; the 30/14/3-day compliance reminders with the manager's copy; an
escalation the planner makes on non-response; a fresh roster on a staff launch and a placement.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from django.core.management import call_command

from tests.browser.conftest import screenshot
from tests.browser.test_journeys import launch
from tests.mail import free_port
from tests.platform.server import Response, TestPlatform

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
COURSE = "demo-course-safety-101"


@pytest.fixture
def catcher(tmp_path, settings):
    """The demo's mail catcher, as `./run` starts it: SMTP into a Maildir /demo/mail/ reads."""
    folder = tmp_path / "mail"
    for sub in ("tmp", "new", "cur"):
        (folder / sub).mkdir(parents=True)
    controller = Controller(Mailbox(str(folder)), hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.DEMO_MAILDIR = str(folder)
    yield folder
    controller.stop()


@pytest.fixture
def features(catcher, demo_server):
    call_command("seed_demo_interventions", verbosity=0)
    call_command("seed_demo_certificates", verbosity=0)
    call_command("score_risk", verbosity=0)
    return demo_server


def course():
    from lti_tool.models import Course

    return Course.objects.get(context_id=COURSE)


def membership(sub):
    from lti_tool.models import Membership

    return Membership.objects.select_related("person").get(person__sub=sub, course=course())


def awake_hours(now: datetime) -> tuple[str, str]:
    """Quiet hours that do not hold `now` (UTC), so a message may go at once."""
    start, end = now + timedelta(hours=3), now + timedelta(hours=4)
    return f"{start:%H:00}", f"{end:%H:00}"


def keep_awake(*subs: str) -> None:
    """Learners in UTC whose quiet hours are hours away (the messages go now, not at 08:00)."""
    from interventions.models import ContactPreference

    start, end = awake_hours(datetime.now(UTC))
    for sub in subs:
        person = membership(sub).person
        person.timezone = "UTC"
        person.save(update_fields=["timezone"])
        ContactPreference.objects.update_or_create(
            person=person, defaults={"quiet_hours_start": start, "quiet_hours_end": end}
        )


def run_the_hourly_plan() -> None:
    """What the schedule runs every hour: plan each course, then send what is due."""
    from interventions import tasks

    tasks.plan_course_task(course().pk)
    tasks.dispatch_outbox()


def read_mail(page, server, subject: str, to: str = ""):
    """Open the demo mail page and the first message with this subject (and addressee);
    returns the message's card, opened."""
    page.goto(server.url + "/demo/mail/")
    card = page.locator("article").filter(has=page.get_by_role("heading", name=subject))
    if to:
        card = card.filter(has_text=to)
    card = card.first
    card.get_by_text("Read the message").click()
    return card


def test_a_learner_who_chose_spanish_gets_the_translated_step(features, page):
    from interventions.models import OutboundMessage

    frame, _lt = launch(page, features, "instructor")
    frame.get_by_role("navigation", name="Main").get_by_role("link", name="Interventions").click()
    frame.get_by_role("link", name="Playbooks and messages").click()
    frame.get_by_role("link", name="Welcome", exact=True).click()
    frame.get_by_label("Language code (es, fr, pt-br…)").fill("es")
    frame.get_by_role("button", name="Add or edit a translation").click()
    frame.get_by_role("heading", name="Message: Welcome (es translation)").wait_for()
    frame.get_by_label("Subject").fill("Bienvenido a {{ course }}")
    frame.get_by_label("Text").fill("Hola {{ first_name }}, tu primer paso te espera.")
    frame.get_by_role("button", name="Save").click()
    frame.get_by_text("Saved. Messages planned from now on use it.").wait_for()
    screenshot(page, "reach-instructor-translation")

    start, end = awake_hours(datetime.now(UTC))
    frame, _lt = launch(page, features, "learner")
    frame.get_by_role("link", name="How we contact you").click()
    frame.get_by_label("Language of my messages").fill("es")
    frame.get_by_label("Time zone").fill("UTC")
    frame.get_by_label("Quiet hours from").fill(start)
    frame.get_by_label("until").fill(end)
    frame.get_by_role("button", name="Save my preferences").click()
    frame.get_by_text("Your contact preferences are saved").wait_for()

    run_the_hourly_plan()
    mail = read_mail(page, features, "Bienvenido a Workplace Safety 101", "learner1@example.edu")
    mail.get_by_text("Hola Learner, tu primer paso te espera.").wait_for()
    screenshot(page, "reach-learner-spanish-mail")
    spanish = OutboundMessage.objects.get(
        to_address="learner1@example.edu", reason="playbook:welcome"
    )
    assert spanish.language == "es"
    assert spanish.status == "sent"
    welcomes = OutboundMessage.objects.filter(reason="playbook:welcome")
    # The demo's learner 6 reads Spanish too; the others get the course's English wording.
    assert welcomes.get(to_address="learner6@example.edu").language == "es"
    others = welcomes.exclude(to_address__in=["learner1@example.edu", "learner6@example.edu"])
    assert others.count() == 4
    assert all(m.language == "en" and m.subject.startswith("Welcome") for m in others)


def test_a_learner_who_prefers_chat_gets_messages_on_their_webhook(features, page):
    from interventions.models import OutboundMessage

    with TestPlatform() as chat:
        chat.received = []

        def take(request):
            chat.received.append(request.json())
            return Response(200, {"ok": True})

        chat.route("POST", "/hooks/learner-1", take)
        start, end = awake_hours(datetime.now(UTC))
        frame, _lt = launch(page, features, "learner")
        frame.get_by_role("link", name="How we contact you").click()
        frame.get_by_label("Chat: a Slack or Teams incoming-webhook address (optional)").fill(
            chat.base_url + "/hooks/learner-1"
        )
        frame.get_by_label("Send my course messages to that chat instead of email").check()
        frame.get_by_label("Time zone").fill("UTC")
        frame.get_by_label("Quiet hours from").fill(start)
        frame.get_by_label("until").fill(end)
        frame.get_by_role("button", name="Save my preferences").click()
        frame.get_by_text("Your contact preferences are saved").wait_for()

        run_the_hourly_plan()
    assert [r["title"] for r in chat.received] == ["Welcome to Workplace Safety 101"]
    assert "Hi Learner" in chat.received[0]["text"]
    message = OutboundMessage.objects.get(membership=membership("demo-learner-1"))
    assert (message.channel, message.status) == ("chat", "sent")
    assert message.decided_by.startswith("chat preferred, own webhook")
    assert not OutboundMessage.objects.filter(to_address="learner1@example.edu").exists()


def test_the_instructor_adopts_an_ab_winner_and_sees_the_playbook_step_change(features, page):
    from interventions.models import PlaybookSetting

    frame, _lt = launch(page, features, "instructor")
    nav = frame.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Interventions").click()
    frame.get_by_role("link", name="Create, stop or adopt A/B tests").click()
    frame.get_by_role("heading", name="Progress-saved email now or 6 hours later").wait_for()
    frame.get_by_label("Arm to adopt").first.select_option("later")
    frame.get_by_role("button", name="Adopt into the playbook").first.click()
    frame.get_by_text("Arm 'later' adopted into the playbook").wait_for()
    frame.get_by_text("arm 'later' adopted").first.wait_for()
    nav.get_by_role("link", name="Interventions").click()
    frame.get_by_role("link", name="Playbooks and messages").click()
    frame.get_by_text("A/B winner adopted: sent 6 h after it is due").wait_for()
    screenshot(page, "reach-instructor-adopted-winner")
    setting = PlaybookSetting.objects.get(course=course(), playbook="absence")
    assert setting.step_overrides["absent_2"]["send_delay_hours"] == 6.0


def test_the_instructors_help_reaches_the_failed_learner_and_partners_are_suggested(features, page):
    from interventions.models import ContactPreference, OutboundMessage
    from interventions.planning.planner import plan_course
    from lti_tool.models import Membership
    from tests.interventions.helpers import act

    now = datetime.now(UTC)
    keep_awake("demo-learner-1")
    # Enrolled ten days ago; the welcomes went out three days ago.
    Membership.objects.filter(course=course()).update(enrolled_at=now - timedelta(days=10))
    plan_course(course_id=course().pk, now=now - timedelta(days=3))
    me = membership("demo-learner-1")
    for days in (2, 1):  # the LMS reports two failed attempts at the quiz
        at = now - timedelta(days=days)
        act(course(), me, "failed", at, item="quiz-4", title="Module 4 quiz")

    frame, _lt = launch(page, features, "instructor")
    frame.get_by_role("navigation", name="Main").get_by_role("link", name="Interventions").click()
    frame.get_by_role("link", name="Resources, practice and 1-on-1 booking").click()
    frame.get_by_label("Resources for a learner who failed it (one a line)").fill(
        "Fire exits video: https://example.edu/v/4"
    )
    frame.get_by_label("Practice item (a link)").fill("https://example.edu/practice/4")
    frame.get_by_role("button", name="Save").click()
    frame.get_by_text("the next messages carry them").wait_for()

    run_the_hourly_plan()
    mail = read_mail(page, features, "Extra help with Module 4 quiz", "learner1@example.edu")
    mail.get_by_text("Fire exits video: https://example.edu/v/4").wait_for()
    assert "practice item before your next attempt: https://example.edu/practice/4" in (
        mail.inner_text()
    )
    screenshot(page, "reach-learner-failed-help-mail")
    sent = OutboundMessage.objects.get(reason="playbook:failed_2")
    assert sent.to_address == "learner1@example.edu"
    assert "https://example.edu/practice/4" in sent.body_text

    # Two classmates asked for a study partner; learner 1 asks too and sees them.
    for sub in ("demo-learner-2", "demo-learner-3"):
        ContactPreference.objects.update_or_create(
            person=membership(sub).person, defaults={"study_partner_opt_in": True}
        )
    frame, _lt = launch(page, features, "learner")
    frame.get_by_role("link", name="How we contact you").click()
    assert frame.get_by_role("heading", name="Study partners").count() == 0
    frame.get_by_label("Suggest me as a study partner").check()
    frame.get_by_role("button", name="Save my preferences").click()
    frame.get_by_role("heading", name="Study partners").wait_for()
    frame.get_by_text("would like a study partner: Learner 2, Learner 3").wait_for()
    screenshot(page, "reach-learner-study-partners")


def test_compliance_reminders_30_14_3_days_reach_the_learner_and_the_manager(features, page):
    from completion.risk.services import set_accommodation, update_criteria
    from interventions import tasks
    from interventions.models import OutboundMessage

    today = datetime.now(UTC).date()
    # The course's deadline is in 3 days; two learners' accommodations move theirs.
    update_criteria(course=course(), values={"due_on": today + timedelta(days=3)}, by="test")
    set_accommodation(membership=membership("demo-learner-2"), time_multiplier=1.0,
                      deadline_extension_days=11, note="", by="test")  # fmt: skip
    set_accommodation(membership=membership("demo-learner-3"), time_multiplier=1.0,
                      deadline_extension_days=27, note="", by="test")  # fmt: skip
    call_command("score_risk", verbosity=0)

    tasks.deadline_reminders()  # what the daily schedule runs
    tasks.dispatch_outbox()
    reminders = OutboundMessage.objects.filter(reason__startswith="deadline_")
    before = reminders.count()
    tasks.deadline_reminders()  # a second run the same day
    assert reminders.count() == before  # each reminder goes once
    assert not reminders.exclude(status="sent").exists()
    reasons = dict(OutboundMessage.objects.filter(reason__startswith="deadline_")
                   .values_list("to_address", "reason"))  # fmt: skip
    assert reasons["learner1@example.edu"] == "deadline_3"
    assert reasons["learner2@example.edu"] == "deadline_14"
    assert reasons["learner3@example.edu"] == "deadline_30"
    assert reasons["ines@example.edu"] == "deadline_3_manager"

    due = today + timedelta(days=3)
    mail = read_mail(page, features, f"Your course is due on {due:%-d %B %Y}", "ines@example.edu")
    mail.get_by_text("in 3 days").wait_for()
    for to, days in (("learner1", 3), ("learner2", 14), ("learner3", 30)):
        due = today + timedelta(days=days)
        mail = read_mail(page, features, f"Your course is due on {due:%-d %B %Y}", to)
        mail.get_by_text(f"in {days} days").wait_for()
    screenshot(page, "reach-compliance-reminders-mail")


def test_the_planner_escalates_a_learner_who_did_not_answer(features, page):
    from interventions.models import AdvisorCase, Intervention
    from interventions.planning.planner import plan_course
    from tests.interventions.helpers import act

    now = datetime.now(UTC)
    me = membership("demo-learner-6")
    keep_awake("demo-learner-6")
    act(course(), me, "completed", now - timedelta(days=8), item="module-1", title="Module 1")
    assert not AdvisorCase.objects.filter(membership=me).exists()
    # Four days away: the hourly plan sends the tier-2 absence step (email) ...
    plan_course(course_id=course().pk, now=now - timedelta(days=3, hours=1))
    first = Intervention.objects.get(membership=me, status="sent", playbook="absence")
    assert first.step == "absent_4"
    # ... and three days later, with no visit since, the next run escalates it.
    run_the_hourly_plan()
    case = AdvisorCase.objects.get(membership=me)
    escalated = Intervention.objects.get(membership=me, case=case)
    assert escalated.step == "absent_10"
    assert "h of absent_4" in escalated.detail

    frame, _lt = launch(page, features, "instructor")
    frame.get_by_role("navigation", name="Main").get_by_role("link", name="Learners").click()
    frame.get_by_role("link", name="Learner 6").first.click()
    frame.get_by_text("no return visit, click or reply within 72 h of absent_4").first.wait_for()
    screenshot(page, "reach-instructor-planned-escalation")


def test_a_learner_enrolled_on_the_lms_appears_after_a_staff_launch(features, page, settings):
    from django.core.cache import cache

    from lti_tool.models import Membership

    settings.FINISHLINE = {**settings.FINISHLINE, "ROSTER_SYNC_ON_LAUNCH_MINUTES": 15}
    cache.delete(f"roster-on-launch:{course().pk}")  # no staff launch in the last 15 minutes
    frame, _lt = launch(page, features, "instructor")
    page.get_by_text("Course settings in the LMS").click()
    page.get_by_label("Enrol a learner in this course (name)").fill("Nadia New")
    page.get_by_role("button", name="Enrol in the LMS").click()
    page.get_by_text("Nadia New is enrolled in the LMS course").wait_for()
    assert not Membership.objects.filter(person__name="Nadia New").exists()

    # The next staff launch within the window reads nothing more ...
    frame, _lt = launch(page, features, "instructor")
    assert not Membership.objects.filter(person__name="Nadia New").exists()
    cache.delete(f"roster-on-launch:{course().pk}")  # ... once the 15 minutes have passed,
    # the next one syncs the roster in the background.
    frame, _lt = launch(page, features, "instructor")
    assert Membership.objects.filter(person__name="Nadia New", role="learner").exists()
    assert Membership.objects.filter(person__sub="demo-learner-6", status="active").exists()
    # Not scored until the next scoring pass, and listed on the roster already.
    frame.get_by_role("navigation", name="Main").get_by_role("link", name="Learners").click()
    frame.get_by_role("link", name="1 not scored yet").click()
    row = frame.get_by_role("row").filter(has=frame.get_by_role("link", name="Nadia New"))
    row.get_by_text("Not scored yet").wait_for()
    frame.get_by_text("1 learner matches").wait_for()
    screenshot(page, "reach-instructor-fresh-roster")

    # A placement opens the page it was registered for.
    page.goto(features.url + "/demo/lms/?as=instructor")
    page.get_by_text("Course settings in the LMS").click()
    page.get_by_role("link", name="Finishline progress (risk) page").click()
    tool = page.frame_locator("iframe[title=Finishline]")
    tool.locator("h1").first.wait_for()
    frame_url = next(f.url for f in page.frames if f.url.startswith(features.url + "/course"))
    assert frame_url.startswith(features.url + "/course/risk/")
