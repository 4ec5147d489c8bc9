"""A graded submission counts as progress: `success` or a score at the item's pass mark.

Events arrive through the REST API, criteria through `update_criteria`, scoring through the
`score_risk` command; what follows (progress, completion, the learner's page) is read back.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from completion.learner.progress import learner_progress
from completion.models import Item, Progress
from completion.risk import scoring
from completion.risk.facts import EventRow, facts_from_events
from completion.risk.services import update_criteria
from lti_tool.keys import credentials
from lti_tool.models import Deployment, Membership
from tests.completion.riskdata import START, enrol, make_course

pytestmark = pytest.mark.django_db
AS_OF = START.date()


@pytest.fixture
def graded(platform):
    deployment = Deployment.objects.get()
    course, _ = make_course(
        items=(("assessment", "Essay"),), context_id="GRADED", deployment=deployment
    )
    issued = credentials.issue_credential(deployment=deployment, kind="api", name="LMS", actor="t")
    return course, f"Token {issued.key}.{issued.secret}"


def send(client, token, learner, **fields):
    body = {
        "learner_id": learner,
        "course_id": "GRADED",
        "verb": "submitted",
        "item_id": "item-0",
        "timestamp": START.isoformat(),
        "source_id": f"{learner}-essay",
        **fields,
    }
    response = client.post(
        "/api/v1/events", json.dumps([body]), content_type="application/json",
        HTTP_AUTHORIZATION=token,
    )  # fmt: skip
    assert response.json()["stored"] == 1


def scored(course, membership):
    call_command("score_risk", as_of=AS_OF, course=[course.pk], stdout=StringIO())
    return Progress.objects.get(membership=membership, as_of=AS_OF)


def test_a_submission_marked_successful_completes_the_item(client, graded):
    course, token = graded
    ann = enrol(course, "ann")
    bob = enrol(course, "bob")
    send(client, token, "ann", score=0.92, success=True)
    send(client, token, "bob", score=0.92)  # no pass mark set, no success: not yet done
    progress = scored(course, ann)
    assert progress.criteria_met
    assert progress.percent_complete == 100.0
    assert progress.status == "completed"
    assert not scored(course, bob).criteria_met
    assert [s.done for s in learner_progress(Membership.objects.get(pk=ann.pk)).items] == [True]


def test_a_score_at_the_pass_mark_completes_the_item(client, graded):
    course, token = graded
    essay = Item.objects.get(course=course)
    update_criteria(course=course, values={"min_item_scores": {str(essay.pk): 0.7}}, by="t")
    ann = enrol(course, "ann")
    bob = enrol(course, "bob")
    send(client, token, "ann", score=0.7)
    send(client, token, "bob", score=0.69, success=False)
    assert scored(course, ann).criteria_met
    late = scored(course, bob)
    assert not late.criteria_met
    assert late.percent_complete == 0.0
    assert [s.done for s in learner_progress(Membership.objects.get(pk=bob.pk)).items] == [False]


def test_the_sql_facts_and_the_reference_agree_on_a_successful_submission(client, graded):
    course, token = graded
    ann = enrol(course, "ann")
    send(client, token, "ann", score=0.5, success=True)
    people = scoring.enrolments(course, AS_OF)
    (loaded,) = scoring.load_facts(course, AS_OF, people)
    (orm,) = scoring.load_facts_orm(course, AS_OF, people)
    essay = Item.objects.get(course=course)
    reference = facts_from_events(
        membership_id=ann.pk,
        person_id=ann.person_id,
        enrolled_at=ann.enrolled_at,
        events=[EventRow(ann.person_id, essay.pk, "submitted", START, None, 0.5, True)],
        as_of=AS_OF,
    )
    assert loaded == orm == reference
    assert loaded.items[essay.pk].done_at == START.timestamp()
