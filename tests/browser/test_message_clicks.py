"""A learner follows the link in a playbook email read in the demo mail page (its page posts
back by itself, and that is the click), and the instructor sees the click counted in the
interventions funnel; opening the link without following it counts nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.browser import test_reach_more as reach
from tests.browser.conftest import screenshot
from tests.browser.test_journeys import launch
from tests.browser.test_reach_more import (
    course,
    keep_awake,
    membership,
    read_mail,
    run_the_hourly_plan,
)

catcher = reach.catcher  # the demo's mail catcher and seeded features, as fixtures here
features = reach.features

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_learner_follows_a_message_link_and_the_instructor_sees_it_counted(features, page):
    from interventions.models import OutboundMessage
    from tests.interventions.helpers import act

    where = features.url + "/demo/lms/?as=learner"  # the item the learner stopped at
    me = membership("demo-learner-6")
    keep_awake("demo-learner-6")
    act(course(), me, "viewed", datetime.now(UTC) - timedelta(days=3, hours=1), item=where,
        title="Module 9: Ladders")  # fmt: skip
    run_the_hourly_plan()  # enrolled this week: the welcome email, linking to that item
    sent = OutboundMessage.objects.get(membership=me, reason="playbook:welcome", channel="email")
    assert sent.status == "sent", sent.last_error
    assert sent.click_target == where
    assert sent.click_count == 0

    # Opening the link as a mail gateway's scanner does (HEAD, GET) counts nothing.
    tracked = f"{features.url}/m/{sent.click_token}/"
    assert requests.head(tracked, timeout=10, allow_redirects=False).status_code == 200
    assert requests.get(tracked, timeout=10, allow_redirects=False).status_code == 200
    sent.refresh_from_db()
    assert (sent.click_count, sent.clicked_at) == (0, None)

    mail = read_mail(page, features, sent.subject, sent.to_address)
    link = mail.get_by_role("link", name=f"/m/{sent.click_token}/")
    link.click()
    page.wait_for_url(where)
    sent.refresh_from_db()
    assert sent.click_count == 1
    assert sent.clicked_at is not None
    screenshot(page, "message-link-followed")

    frame, _lt = launch(page, features, "instructor")
    frame.get_by_role("navigation", name="Main").get_by_role("link", name="Interventions").click()
    clicked = frame.locator("ul.funnel li").filter(has_text="Clicked")
    clicked.get_by_role("img", name="1 (", exact=False).wait_for()
    screenshot(page, "instructor-funnel-clicked")
