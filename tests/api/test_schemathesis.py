"""Schemathesis against the live schema, through the WSGI application: every GET operation.

Path ids are pinned to the tenant's own course and learner so generated queries reach the
data (tenancy has its own tests); everything else is generated from the schema. The operations
run one by one under Hypothesis rather than through `schemathesis.pytest.from_fixture`, whose
test naming relies on a pytest internal (`Node._nodeid`) that pytest 9 no longer has.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.drainage import GENERATOR_STATS
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from certificates.models import Certificate
from completion.risk.scoring import score_course
from config.wsgi import application
from interventions.models import OutboundMessage
from interventions.planning.planner import plan_course
from tests.api.test_api import make_school
from tests.completion.riskdata import day

MAX_EXAMPLES = 40
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def tenant(db, django_capture_on_commit_callbacks):
    school = make_school()
    with django_capture_on_commit_callbacks(execute=True):  # ada's certificate
        score_course(school["course"].pk, as_of=day(1).date())
    plan_course(course_id=school["course"].pk, now=day(2, hour=11))
    assert Certificate.objects.filter(course=school["course"]).exists()
    assert OutboundMessage.objects.filter(course=school["course"]).exists()
    return school


@pytest.fixture
def api_schema(tenant):
    # As Django's test client does: a request through the WSGI handler must not close the
    # connection that holds the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
        yield schema
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_every_get_operation_answers_within_its_schema(api_schema, tenant):
    ids = {"course_id": tenant["course"].pk, "membership_id": tenant["bob"].pk}
    headers = {"Authorization": f"Bearer {tenant['token']}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.method for op in operations} == {"get"}
    assert len(operations) == 8
    for operation in operations:
        pinned = {name: pk for name, pk in ids.items() if f"{{{name}}}" in operation.path}

        @given(case=operation.as_strategy(path_parameters=pinned, headers=headers))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        def conforms(case):
            case.call_and_validate(checks=CHECKS)

        try:
            conforms()
        except Exception as exc:
            exc.add_note(f"in GET {operation.path}")
            raise


def test_the_schema_lists_every_endpoint_with_the_token_scheme(db, client):
    GENERATOR_STATS.reset()
    body = client.get("/api/v1/schema/", {"format": "json"}).json()
    assert not GENERATOR_STATS, "drf-spectacular warned while generating the schema"
    assert body["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
    operations = {
        (path, method): op for path, item in body["paths"].items() for method, op in item.items()
    }
    assert {path for path, _ in operations} == {
        "/api/v1/courses/",
        "/api/v1/courses/{course_id}/",
        "/api/v1/courses/{course_id}/learners/",
        "/api/v1/courses/{course_id}/learners/{membership_id}/",
        "/api/v1/courses/{course_id}/interventions/",
        "/api/v1/courses/{course_id}/messages/",
        "/api/v1/courses/{course_id}/certificates/",
        "/api/v1/courses/{course_id}/report/",
    }
    for (path, method), op in operations.items():
        assert method == "get"
        assert op["security"] == [{"apiToken": []}], path
        assert {"200", "401", "429"} <= set(op["responses"]), path
        assert "$ref" in str(op["responses"]["200"]), path
