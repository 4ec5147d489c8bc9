"""xAPI, Caliper, CSV and LTI launches about one learner land as one timeline."""

from __future__ import annotations

import base64
import json

from completion.ingest.files.imports import import_file
from completion.models import Activity
from lti_tool.keys import credentials
from lti_tool.models import Deployment, Person
from tests.completion.caliper_samples import envelope, event, ref
from tests.completion.test_xapi import VALID
from tests.platform.launcher import launch

# A Caliper view by her LTI identity in her course, as an LTI-launched tool's sensor sends it.
CALIPER_VIEW = event(
    "ViewEvent",
    eventTime="2026-03-02T10:00:00.000Z",
    federatedSession=ref(
        "LtiSession",
        "lti/sessions/9",
        messageParameters={
            "sub": "ann",
            "https://purl.imsglobal.org/spec/lti/claim/context": {"id": "ctx-42"},
        },
    ),
)


def test_every_source_about_one_learner_is_one_timeline(client, platform, tmp_path):
    launch(client, platform, sub="ann", context_id="ctx-42")  # the LTI launch enrols her
    deployment = Deployment.objects.get()
    xapi = credentials.issue_credential(deployment=deployment, kind="xapi", name="LRS", actor="t")
    caliper = credentials.issue_credential(
        deployment=deployment, kind="caliper", name="Canvas", actor="t"
    )
    statement = {
        **VALID,
        "context": {
            "extensions": {"https://purl.imsglobal.org/spec/lti/claim/context": {"id": "ctx-42"}}
        },
    }
    basic = base64.b64encode(f"{xapi.key}:{xapi.secret}".encode()).decode()
    assert (
        client.post(
            "/xapi/statements",
            json.dumps(statement),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Basic {basic}",
            HTTP_X_EXPERIENCE_API_VERSION="1.0.3",
        ).status_code
        == 200
    )
    assert (
        client.post(
            "/caliper/events",
            json.dumps(envelope(CALIPER_VIEW)),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {caliper.key}.{caliper.secret}",
        ).status_code
        == 200
    )
    path = tmp_path / "lms-export.csv"
    path.write_text(
        "learner_id,course_id,verb,timestamp,source_id\nann,ctx-42,posted,2026-03-04T09:00:00Z,f1\n"
    )
    assert (
        import_file(deployment=deployment, path=path, file_format="csv", created_by="t").rows_stored
        == 1
    )
    ann = Person.objects.get(sub="ann")
    timeline = list(
        Activity.objects.filter(person=ann).order_by("occurred_at").values_list("source", "verb")
    )
    assert timeline == [
        ("xapi", "failed"),
        ("caliper", "viewed"),
        ("import", "posted"),
        ("lti", "launched"),
    ]
