"""`manage.py rotate_signing_key`: new certificates get a new key; old keys stay published."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from certificates.models import SigningKey
from certificates.signing import active_key

pytestmark = pytest.mark.django_db


def test_rotating_the_signing_key_keeps_the_old_one_for_verification():
    first = active_key()
    out = io.StringIO()
    call_command("rotate_signing_key", stdout=out)
    second = active_key()
    assert second.pk != first.pk
    assert f"key {second.pk}" in out.getvalue()
    assert SigningKey.objects.filter(pk=first.pk, active=False).exists()
