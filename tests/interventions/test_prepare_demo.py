"""`manage.py prepare_demo`, as `./run` calls it: the demo course has criteria a learner can
meet, every day of its history scored, finished learners with certificates, and the first plan
run with advisor cases within the staff's daily cap."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from certificates.models import Certificate
from completion.models import CompletionCriteria, Progress, RiskScore
from interventions import tasks
from interventions.delivery.digest import send_case_digests
from interventions.models import AdvisorCase, Intervention, OutboundMessage
from lti_tool.demo.platform import CONTEXT_ID
from lti_tool.models import Course

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_shows_the_product_working(settings, smtp_server):
    settings.FINISHLINE = {**settings.FINISHLINE, "ADVISOR_DAILY_CAP": 3}
    call_command("seed_demo")
    call_command("generate_cohort", course=CONTEXT_ID, learners=60, days=21, seed=3, verbosity=0)
    call_command("prepare_demo", days=21)
    course = Course.objects.get(context_id=CONTEXT_ID)
    assert CompletionCriteria.objects.get(course=course).required_item_ids
    assert RiskScore.objects.filter(course=course).values("as_of").distinct().count() == 21
    last = RiskScore.objects.filter(course=course).latest("as_of").as_of
    finished = Progress.objects.filter(course=course, as_of=last, status="completed").count()
    assert finished >= 1
    assert Certificate.objects.filter(membership__course=course).count() == finished
    assert Intervention.objects.filter(course_id=course.pk).exists()
    # Cases over the cap are batched into the owners' daily digest, not opened one by one.
    opened = AdvisorCase.objects.filter(membership__course=course).exclude(
        status=AdvisorCase.Status.BATCHED
    )
    per_owner = opened.values_list("owner_id")
    owners = [owner for (owner,) in per_owner]
    assert all(owners.count(o) <= 3 for o in set(owners))
    # The first case digest is sent at start, through the outbox, to the mail catcher.
    batched = AdvisorCase.objects.filter(
        membership__course=course, status=AdvisorCase.Status.BATCHED
    )
    assert batched.exists()
    assert not batched.filter(digest_sent_at__isnull=True).exists()
    digests = OutboundMessage.objects.filter(reason="case_digest")
    owners = set(batched.values_list("owner__email", flat=True))
    assert set(digests.values_list("to_address", flat=True)) == owners
    assert tasks.dispatch_outbox()["sent"] >= len(owners)
    received = [m for m in smtp_server.mailbox.messages if "in today's digest" in m["Subject"]]
    assert {m["To"] for m in received} == owners
    # The next daily run sends none of them again.
    assert send_case_digests() == 0
    assert digests.count() == len(owners)
    # Run again (./run on the next start): the first plan is not run a second time.
    planned = Intervention.objects.filter(course_id=course.pk).count()
    call_command("prepare_demo", days=21)
    assert Intervention.objects.filter(course_id=course.pk).count() == planned
