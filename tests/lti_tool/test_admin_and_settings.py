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


REAL_KEY = "q7Vd0-Zk3LrT9wXy2bNc8HfJm4PsGe6Ua1Oi5KtRvWz0YxQ_lEjMnBo"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "Set SECRET_KEY"),
        ({"SECRET_KEY": "x" * 60}, "Set SECRET_KEY"),
        ({"SECRET_KEY": REAL_KEY, "DEBUG": "1"}, "DEBUG must be off"),
    ],
)
def test_production_settings_refuse_unsafe_defaults(env, message):
    """FINISHLINE_ENV=production spelled out; unset is the same (next test)."""
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
            "SECRET_KEY": REAL_KEY,
            "FINISHLINE_ENV": "production",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def start_django(env, code="import django; django.setup()"):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "SECRET_KEY_FILE", "DEBUG", "FINISHLINE_ENV"}
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**clean, **env, "DJANGO_SETTINGS_MODULE": "config.settings"},
    )


def test_with_nothing_set_finishline_runs_as_production_and_refuses_to_start():
    """Finding: the defaults were the demo's public key and DEBUG on."""
    result = start_django({})
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr
    assert start_django({"DEBUG": "1", "SECRET_KEY": REAL_KEY}).returncode != 0


def test_production_defaults_are_the_safe_ones():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.FINISHLINE['OUTBOUND_ALLOW'], "
        "s.FINISHLINE['REGISTRATION_REQUIRES_APPROVAL'], s.ALLOWED_HOSTS, "
        "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS)"
    )
    env = {"SECRET_KEY": REAL_KEY, "FINISHLINE_BASE_URL": "https://lti.example.edu"}
    result = start_django(env, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False", "()", "True", "['lti.example.edu']", "True", "31536000"
    ]  # fmt: skip


def test_the_demo_makes_its_own_random_key_once_and_keeps_it_private():
    code = (
        "import django; django.setup(); from django.conf import settings as s; print(s.SECRET_KEY)"
    )
    first = start_django({"FINISHLINE_ENV": "demo"}, code)
    second = start_django({"FINISHLINE_ENV": "demo"}, code)
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert key == second.stdout.strip()
    assert len(key) >= 50
    assert "finishline-demo-secret-key" not in key
    stored = ROOT / "var" / "secret_key"
    assert stored.read_text().strip() == key
    assert stored.stat().st_mode & 0o077 == 0
