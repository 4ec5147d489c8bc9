""" "My data": everything Finishline holds about one person, gathered from every app.

Each app registers a provider in its AppConfig.ready(): a name and a function of a Person that
returns plain rows (JSON-safe dicts). lti_tool imports no app above it, so this registry is how
the learner's export reaches completion, interventions and certificates data.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from lti_tool.models import AuditEntry, Membership, Person

Rows = list[dict[str, Any]]
Provider = Callable[[Person], Rows]
_PROVIDERS: dict[str, Provider] = {}


def rows_of(values: Iterable[Mapping[str, Any]]) -> Rows:
    """Plain dicts from a `.values()` query (typed rows become JSON-safe sections)."""
    return [dict(v) for v in values]


def register(name: str, provider: Provider) -> None:
    _PROVIDERS[name] = provider


def collect(person: Person) -> dict[str, Rows]:
    """Every section of the person's data, in registration order."""
    return {name: provider(person) for name, provider in _PROVIDERS.items()}


def as_json(data: dict[str, Rows]) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False).encode()


def as_csv_zip(data: dict[str, Rows]) -> bytes:
    """One CSV per section, in a ZIP (sections have different columns)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, rows in data.items():
            text = io.StringIO()
            columns = sorted({key for row in rows for key in row})
            writer = csv.DictWriter(text, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: _cell(v) for k, v in row.items()})
            archive.writestr(f"{name}.csv", text.getvalue())
    return buffer.getvalue()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        value = json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
    # Text a spreadsheet would run as a formula (staff-written reasons, message bodies) stays text.
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# --- lti_tool's own sections --------------------------------------------------------------


def _profile(person: Person) -> Rows:
    return [
        {
            "sub": person.sub,
            "name": person.name,
            "given_name": person.given_name,
            "family_name": person.family_name,
            "email": person.email,
            "locale": person.locale,
            "timezone": person.timezone,
            "attributes": person.attributes,
            "first_seen": person.created_at,
        }
    ]


def _enrolments(person: Person) -> Rows:
    return [
        {"course": m.course.title or m.course.context_id, "role": m.role, "status": m.status,
         "enrolled_at": m.enrolled_at, "last_launch_at": m.last_launch_at}
        for m in Membership.objects.filter(person=person).select_related("course")
    ]  # fmt: skip


def _audit(person: Person) -> Rows:
    """Audit entries made by the person (their own pauses, opt-outs and the like)."""
    mine = AuditEntry.objects.filter(
        deployment_id=person.deployment_id,
        actor__in=[f"person:{person.pk}", f"learner:{person.pk}", f"unsubscribe:{person.pk}"],
    )
    return rows_of(mine.order_by("at").values("at", "action", "object_type", "data"))


register("profile", _profile)
register("enrolments", _enrolments)
register("actions_by_you", _audit)
