"""Each feature done the way its person would, in the demo LMS: the learner verifies a phone
by SMS code and chooses channels and a digest; the instructor sets an accommodation the learner
then sees, starts an A/B test the learner can decline, sees an escalation on non-response, and
sets the help the failure messages carry, reads the compliance lifecycle of an expiring
certificate and schedules the report by email."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tests.browser.conftest import screenshot
from tests.browser.test_journeys import launch
from tests.platform.server import Response, TestPlatform

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def features(demo_server):
    call_command("seed_demo_interventions", verbosity=0)
    call_command("seed_demo_certificates", verbosity=0)
    call_command("score_risk", verbosity=0)  # the roster lists scored learners
    return demo_server


@pytest.fixture
def sms(settings):
    with TestPlatform() as server:
        server.received = []

        def take(request):
            server.received.append(request.form())
            return Response(201, {"sid": f"SM{len(server.received)}", "status": "queued"})

        server.route("POST", "/2010-04-01/Accounts/AC1/Messages.json", take)
        settings.FINISHLINE_SMS = {"API_BASE": server.base_url, "ACCOUNT_SID": "AC1",
                                   "AUTH_TOKEN": "t", "FROM_NUMBER": "+15550000000"}  # fmt: skip
        yield server


def test_the_learner_verifies_a_phone_and_chooses_sms_and_a_daily_digest(features, sms, page):
    from interventions.models import ContactPreference

    frame, _lt = launch(page, features, "learner")
    frame.get_by_role("link", name="How we contact you").click()
    frame.get_by_label("Mobile number, with country code").fill("+44 7700 900111")
    frame.get_by_role("button", name="Send me a code").click()
    frame.get_by_text("We sent a six-digit code").wait_for()
    code = sms.received[-1]["Body"].split("code is ")[1][:6]
    frame.get_by_label("Code from the SMS").fill(code)
    frame.get_by_role("button", name="Verify my number").click()
    frame.get_by_text("Your number is verified").wait_for()
    frame.get_by_label("SMS to my verified number").check()
    frame.get_by_label("Once a day, at the end of my quiet hours").check()
    frame.get_by_label("Time zone").fill("Europe/Paris")
    frame.get_by_role("button", name="Save my preferences").click()
    frame.get_by_text("Your contact preferences are saved").wait_for()
    screenshot(page, "reach-learner-contact")
    preference = ContactPreference.objects.get(person__sub="demo-learner-1")
    assert preference.sms_opt_in
    assert preference.daily_digest
    # The demo's A/B test is opt-out: the learner declines on the same page.
    frame.get_by_role("button", name="Do not take part").click()
    frame.get_by_text("Your answer is recorded").wait_for()


def test_the_instructor_accommodates_tests_escalates_and_reads_compliance(features, page):
    frame, _lt = launch(page, features, "instructor")
    nav = frame.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Learners").click()
    frame.get_by_role("link", name="Learner 1").first.click()
    frame.get_by_text("Set or change the accommodation").click()
    frame.get_by_label("Extended time multiplier (1 to 5)").fill("1.5")
    frame.get_by_label("Deadline extension (days)").fill("10")
    frame.get_by_label("Alternative requirements (shown to the learner)").fill("Oral quiz")
    frame.get_by_role("button", name="Save accommodation").click()
    frame.get_by_text("Accommodation saved").wait_for()
    screenshot(page, "reach-instructor-accommodation")

    frame.get_by_role("link", name="Back to the roster").click()
    frame.get_by_role("link", name="Learner 5").first.click()
    frame.get_by_text("no return visit, click or reply within 72 h of absent_4").first.wait_for()
    screenshot(page, "reach-instructor-escalation")

    nav.get_by_role("link", name="Interventions").click()
    frame.get_by_role("link", name="Create, stop or adopt A/B tests").click()
    frame.get_by_role("heading", name="Progress-saved email now or 6 hours later").wait_for()
    frame.get_by_label("Test name").fill("SMS or email at day 7")
    frame.get_by_label("Playbook step").select_option("absent_7")
    frame.locator("#arm1_kind").select_option("channel")
    frame.locator("#arm1_value").fill("email")
    frame.locator("#arm2_kind").select_option("channel")
    frame.locator("#arm2_value").fill("sms")
    frame.get_by_label("Consent").select_option("opt_in")
    frame.get_by_role("button", name="Start the test").click()
    frame.get_by_text("started").first.wait_for()
    frame.get_by_role("heading", name="SMS or email at day 7").wait_for()
    screenshot(page, "reach-instructor-ab-test")

    frame.get_by_role("link", name="Back to interventions").click()
    frame.get_by_role("link", name="Resources, practice and 1-on-1 booking").click()
    frame.get_by_label("Booking link for a 1-on-1").fill("https://cal.example.edu/ines")
    frame.get_by_role("button", name="Save").click()
    frame.get_by_text("the next messages carry them").wait_for()

    nav.get_by_role("link", name="Reports").click()
    frame.get_by_text("Renewal required").first.wait_for()
    frame.get_by_label("Email to (comma-separated)").fill("hse@example.com")
    frame.get_by_label("As").select_option("xlsx")
    frame.get_by_role("button", name="Schedule the report").click()
    frame.get_by_text("will be emailed to hse@example.com").wait_for()
    screenshot(page, "reach-instructor-compliance")


def test_the_learner_sees_the_accommodation_staff_set(features, page):
    from completion.risk.services import set_accommodation
    from lti_tool.models import Membership

    me = Membership.objects.get(person__sub="demo-learner-1", course__context_id__startswith="demo")
    set_accommodation(membership=me, time_multiplier=2.0, note="", by="test",
                      alternative_requirements="Oral quiz instead of the written one")  # fmt: skip
    frame, _lt = launch(page, features, "learner")
    frame.get_by_role("heading", name="Your accommodation").wait_for()
    assert frame.get_by_text("Oral quiz instead of the written one").is_visible()


def test_the_learner_revises_the_schedule_and_the_manager_sees_the_team(features, page):
    frame, _lt = launch(page, features, "learner")
    frame.get_by_role("link", name="Pause or resume my course").click()
    frame.get_by_label("Move my finish date by").select_option("14")
    frame.get_by_role("button", name="Revise my schedule").click()
    frame.get_by_text("Revised 1 time").wait_for()
    screenshot(page, "reach-learner-revised-schedule")

    frame, _lt = launch(page, features, "instructor")  # the demo learners' manager
    tool = page.locator("iframe[title=Finishline]").element_handle().content_frame()
    assert tool is not None
    tool.goto(features.url + "/messages/team/")
    frame.get_by_role("heading", name="My team").wait_for()
    frame.get_by_text("No response to the absence email and SMS").wait_for()
    assert frame.get_by_text("Learner 6").first.is_visible()
    # Cases over the advisors' daily cap are apart from the open escalations, in plain words.
    frame.get_by_role("heading", name="In today's digest").wait_for()
    frame.get_by_text("listed in the advisor's daily digest email").wait_for()
    screenshot(page, "reach-manager-team")
