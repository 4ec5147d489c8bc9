from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from lti_tool.models import AuditEntry, Platform, ToolKey

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def admin_client(client, db):
    user = User.objects.create_superuser("root", "root@example.edu", "pw-for-tests-only")
    client.force_login(user)
    return client


def test_admin_registers_a_platform_by_hand_and_it_is_audited(admin_client):
    response = admin_client.post(
        "/django-admin/lti_tool/platform/add/",
        {
            "name": "Moodle",
            "issuer": "https://moodle.example.edu",
            "client_id": "abc",
            "product": "moodle",
            "auth_login_url": "https://moodle.example.edu/mod/lti/auth.php",
            "auth_token_url": "https://moodle.example.edu/mod/lti/token.php",
            "auth_token_audience": "",
            "jwks_url": "https://moodle.example.edu/mod/lti/certs.php",
            "status": "pending",
            "deployments-TOTAL_FORMS": "1",
            "deployments-INITIAL_FORMS": "0",
            "deployments-0-deployment_id": "7",
            "deployments-0-name": "",
            "deployments-0-status": "pending",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    platform = Platform.objects.get()
    assert platform.deployments.get().deployment_id == "7"
    assert AuditEntry.objects.filter(action="platform.registered").exists()
    admin_client.post(
        "/django-admin/lti_tool/platform/", {"action": "approve", "_selected_action": [platform.pk]}
    )
    platform.refresh_from_db()
    assert platform.status == "active"
    assert platform.deployments.get().status == "active"


def test_audit_entries_cannot_be_changed_or_deleted_in_the_admin(admin_client):
    from lti_tool.audit.trail import append_audit

    entry = append_audit(actor="t", action="x")
    assert (
        admin_client.post(
            f"/django-admin/lti_tool/auditentry/{entry.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_keys_rotate_from_the_admin(admin_client):
    from lti_tool.keys.tool import ensure_keys

    old = ensure_keys()
    admin_client.post(
        "/django-admin/lti_tool/toolkey/", {"action": "rotate", "_selected_action": [old.pk]}
    )
    assert ToolKey.objects.get(pk=old.pk).state == "retired"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "Set SECRET_KEY"),
        ({"SECRET_KEY": "x" * 40, "DEBUG": "1"}, "DEBUG must be off"),
    ],
)
def test_production_settings_refuse_unsafe_defaults(env, message):
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            **clean,
            **env,
            "FINISHLINE_ENV": "production",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        },
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_production_settings_start_with_a_real_secret():
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; print(s.DEBUG)",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            **clean,
            "SECRET_KEY": "s" * 50,
            "FINISHLINE_ENV": "production",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
