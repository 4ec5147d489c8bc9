from __future__ import annotations

import pytest

from tests.interventions.helpers import make_course
from tests.platform.server import Response, TestPlatform


@pytest.fixture
def course(platform):
    return make_course(platform)


@pytest.fixture
def sms_provider(settings):
    with TestPlatform() as server:
        received = []

        def messages(request):
            received.append((request.form(), request.headers))
            if server.fail_next:
                server.fail_next -= 1
                return Response(503, {"message": "try later"})
            return Response(201, {"sid": f"SM{len(received)}", "status": "queued"})

        server.fail_next = 0
        server.received = received
        server.route("POST", "/2010-04-01/Accounts/AC123/Messages.json", messages)
        settings.FINISHLINE_SMS = {
            "API_BASE": server.base_url,
            "ACCOUNT_SID": "AC123",
            "AUTH_TOKEN": "secret",
            "FROM_NUMBER": "+15550000000",
        }
        yield server
