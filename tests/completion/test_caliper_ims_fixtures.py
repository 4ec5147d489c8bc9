"""The IMS Caliper fixtures, when a checkout of them is at hand: every valid one accepted and
every common-error one refused, over HTTP.

The fixtures are under the IMS specification licence and are not part of this repository.
Point `FINISHLINE_CALIPER_FIXTURES` at the `fixtures/` folder of a checkout of
IMSGlobal/caliper-spec (holding `v1p1/`, `v1p2/` and `v1p2/commonErrorFixtures/`) to run these;
without it they are skipped. Bare events and entities are sent in an envelope of their own
version, as a sensor would send them; `caliperEnvelope*` files are sent as they are.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from completion.models import CaliperEvent
from lti_tool.keys import credentials
from lti_tool.models import Deployment

ROOT = Path(os.environ.get("FINISHLINE_CALIPER_FIXTURES", "/nonexistent"))
CONTEXT = "http://purl.imsglobal.org/ctx/caliper/"


def files(pattern: str) -> list[Path]:
    return sorted(p for p in ROOT.glob(pattern) if p.is_file())


VALID = [*files("v1p1/*.json"), *files("v1p2/*.json")]
INVALID = files("v1p2/commonErrorFixtures/*.json")


def as_envelope(path: Path) -> dict:
    document = json.loads(path.read_text())
    if isinstance(document, dict) and "data" in document and "sensor" in document:
        return document
    version = "v1p2" if "/v1p2/" in str(path) else "v1p1"
    return {
        "sensor": "https://example.edu/sensors/1",
        "sendTime": "2024-01-01T00:00:00.000Z",
        "dataVersion": CONTEXT + version,
        "data": [document],
    }


@pytest.fixture
def bearer(platform):
    issued = credentials.issue_credential(
        deployment=Deployment.objects.get(), kind="caliper", name="IMS fixtures", actor="t"
    )
    return f"Bearer {issued.key}.{issued.secret}"


def post(client, bearer, body):
    return client.post(
        "/caliper/events",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=bearer,
    )


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_a_valid_ims_fixture_is_accepted(client, bearer, path):
    response = post(client, bearer, as_envelope(path))
    assert response.status_code == 200, response.json()
    refused = [r for r in response.json()["results"] if r["status"] in {"rejected", "conflict"}]
    assert refused == []


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_a_common_error_fixture_is_refused(client, bearer, path):
    response = post(client, bearer, as_envelope(path))
    assert response.status_code == 400, response.json()
    assert not CaliperEvent.objects.exists()
