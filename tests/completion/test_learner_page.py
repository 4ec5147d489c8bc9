"""The learner's own page and "my data" export: their records only, viewable and downloadable."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.test import Client

from completion.risk.scoring import score_course
from lti_tool.models import AuditEntry
from tests.completion.riskdata import add, day, enrol, make_course
from tests.helpers import token_for

pytestmark = pytest.mark.django_db


def token(m, role="learner"):
    return token_for(m, role)


@pytest.fixture
def two_learners():
    course, (intro, reading, _lecture, quiz, _forum) = make_course()
    ada, bob = enrol(course, "ada"), enrol(course, "bob")
    add(course, ada, "completed", day(1), item=intro, seconds=600)
    add(course, ada, "completed", day(2), item=reading)
    add(course, ada, "failed", day(2), item=quiz, score=0.3)
    add(course, bob, "viewed", day(1), item=intro)
    score_course(course.pk, as_of=day(3).date())
    return course, ada, bob


def test_the_learner_sees_progress_milestones_and_what_comes_next(two_learners):
    _course, ada, _bob = two_learners
    lt = token(ada)
    landing = Client().get("/me/", {}, HTTP_X_FINISHLINE_LAUNCH=lt)
    assert landing.status_code == 302
    body = Client().get(landing["Location"], HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    assert "My progress" in body
    assert "What comes next" in body
    assert "Lecture" in body  # the first item not done, in course order
    assert 'aria-valuenow="' in body
    assert "25%" in body


def test_my_data_holds_only_my_records_and_downloads_as_json_and_csv(two_learners):
    _course, ada, _bob = two_learners
    client = Client()
    page = client.get("/me/data/", {}, HTTP_X_FINISHLINE_LAUNCH=token(ada)).content.decode()
    assert "Activity" in page
    assert "bob" not in page
    data = json.loads(
        client.get("/me/data/", {"format": "json"}, HTTP_X_FINISHLINE_LAUNCH=token(ada)).content
    )
    assert data["profile"][0]["sub"] == "ada"
    assert len(data["activity"]) == 3
    assert {"progress", "risk_scores", "messages", "certificates"} <= set(data)
    assert all(r["course__context_id"] == ada.course.context_id for r in data["activity"])
    archive = client.get(
        "/me/data/", {"format": "csv"}, HTTP_X_FINISHLINE_LAUNCH=token(ada)
    ).content
    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert "activity.csv" in names
    assert "certificates.csv" in names
    text = zipfile.ZipFile(io.BytesIO(archive)).read("activity.csv").decode()
    assert text.count("\n") == 4  # a header and three events
    assert AuditEntry.objects.filter(action="privacy.export").count() == 2
    assert client.get("/me/data/").status_code == 401


def test_my_data_hides_secrets_and_defuses_spreadsheet_formulas(two_learners):
    from completion.models import Pause
    from interventions.models import ContactPreference

    _course, ada, _bob = two_learners
    ContactPreference.objects.create(
        person=ada.person, chat_webhook_url="https://hooks.slack.example/T000/B000/secret"
    )
    Pause.objects.create(
        membership=ada,
        starts_on=day(1).date(),
        until=day(2).date(),
        reason='=HYPERLINK("https://evil.example")',
    )
    data = json.loads(
        Client().get("/me/data/", {"format": "json"}, HTTP_X_FINISHLINE_LAUNCH=token(ada)).content
    )
    assert data["contact_preferences"][0]["chat_webhook"] == "set"
    assert "secret" not in json.dumps(data)
    archive = (
        Client().get("/me/data/", {"format": "csv"}, HTTP_X_FINISHLINE_LAUNCH=token(ada)).content
    )
    pauses = zipfile.ZipFile(io.BytesIO(archive)).read("pauses_and_overrides.csv").decode()
    assert "'=HYPERLINK" in pauses


def test_the_page_reads_in_one_go_what_the_separate_reads_give(two_learners):
    """On PostgreSQL the learner's page reads progress, item states and pause in one statement
    (and the course's criteria only for a learner with a scored item, as Ada's quiz is): the
    same as the separate reads, and a current pause is shown."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from completion.learner.progress import current_pause, learner_page, learner_progress
    from completion.models import Pause

    _course, ada, bob = two_learners
    today = timezone.localdate()
    Pause.objects.create(membership=ada, starts_on=today, until=today, reason="leave")
    for m, statements in ((ada, 3), (bob, 1)):
        with CaptureQueriesContext(connection) as captured:
            view, pause = learner_page(m, today)
        assert (view, pause) == (learner_progress(m), current_pause(m, today))
        assert view.progress is not None
        if connection.vendor == "postgresql":
            assert len(captured) == statements
    assert learner_page(ada, today)[1] is not None
    assert learner_page(bob, today)[1] is None
    body = Client().get("/me/progress/", HTTP_X_FINISHLINE_LAUNCH=token(ada)).content.decode()
    assert "<strong>Paused</strong> until" in body
