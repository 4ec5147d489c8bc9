from __future__ import annotations

from lti_tool.keys import credentials
from lti_tool.models import Deployment


def test_issued_credential_authenticates_and_revocation_takes_effect(platform):
    deployment = Deployment.objects.get()
    issued = credentials.issue_credential(deployment=deployment, kind="xapi", name="LRS", actor="t")
    principal = credentials.authenticate(kind="xapi", key=issued.key, secret=issued.secret)
    assert principal is not None
    assert principal.deployment_id == deployment.pk
    assert credentials.authenticate(kind="xapi", key=issued.key, secret="wrong") is None
    assert credentials.authenticate(kind="caliper", key=issued.key, secret=issued.secret) is None
    credentials.revoke_credential(credential=issued.credential, actor="t")
    assert credentials.authenticate(kind="xapi", key=issued.key, secret=issued.secret) is None


def test_rate_limit_allows_up_to_the_limit_per_minute(platform):
    deployment = Deployment.objects.get()
    issued = credentials.issue_credential(
        deployment=deployment, kind="xapi", name="LRS", actor="t", rate_limit_per_minute=3
    )
    principal = credentials.authenticate(kind="xapi", key=issued.key, secret=issued.secret)
    results = [credentials.allow_request(principal, now=120.0) for _ in range(4)]
    assert results == [True, True, True, False]
    assert credentials.allow_request(principal, now=180.0)
