"""Loading a learning history's people, items and outcomes (`history` parses the rows).

All or nothing, as event imports are: every row is validated first; one rejected row and
nothing is stored, and the batch's report lists every rejected line. A re-import updates what
it names and adds nothing twice. People and enrolments come before events, so a history's
events land in the event store rather than waiting for a launch; events that did wait are
moved in once their learners exist.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone

from completion.events.store import match_pending
from completion.ingest.files import history
from completion.ingest.files.imports import MAX_REPORTED, BrokenFile, read_rows, sha256_of
from completion.ingest.files.rows import RowError
from completion.models import EnrolmentDetail, ImportBatch, Item, Outcome, Source
from lti_tool.audit.trail import append_audit
from lti_tool.models import Course, Deployment, Membership, MembershipChange, Person

T = TypeVar("T")
PARSERS: dict[str, Callable[..., Any]] = {
    history.PEOPLE: history.parse_enrolment,
    history.ITEMS: history.parse_item,
    history.OUTCOMES: history.parse_outcome,
}


def parse_records(
    rows: Iterable[tuple[int, object]], kind: str
) -> tuple[list[Any], int, list[dict[str, Any]]]:
    """Numbered rows parsed: (records, rows read, rejected lines with reasons)."""
    parse = PARSERS[kind]
    records: list[Any] = []
    rejected: list[dict[str, Any]] = []
    total = 0
    for line, row in rows:
        total += 1
        try:
            if not isinstance(row, Mapping):
                raise RowError("a row must be an object of the documented columns")
            records.append(parse(row))
        except RowError as exc:
            if len(rejected) < MAX_REPORTED:
                rejected.append({"line": line, "reason": str(exc)})
    return records, total, rejected


def read_records(
    path: Path, file_format: str, kind: str
) -> tuple[list[Any], int, list[dict[str, Any]]]:
    """Every row of a file parsed: (records, rows read, rejected lines with reasons)."""
    broken: list[dict[str, Any]] = []

    def rows() -> Iterator[tuple[int, object]]:
        try:
            yield from read_rows(path, file_format, history.REQUIRED[kind], history.COLUMNS[kind])
        except BrokenFile as exc:
            broken.append({"line": exc.line, "reason": exc.reason})

    records, total, rejected = parse_records(rows(), kind)
    return records, total, rejected + broken


def import_records(
    *,
    deployment: Deployment,
    path: Path,
    file_format: str,
    kind: str,
    created_by: str,
    filename: str = "",
) -> ImportBatch:
    """Load a people, items or outcomes file whole, or nothing; the batch holds the report."""
    records, total, rejected = read_records(path, file_format, kind)
    return store_records(
        deployment=deployment,
        kind=kind,
        parsed=(records, total, rejected),
        filename=filename or path.name,
        file_format=file_format,
        sha256=sha256_of(path),
        created_by=created_by,
    )


def import_rows(
    *, deployment: Deployment, rows: Sequence[object], kind: str, created_by: str
) -> ImportBatch:
    """The same, for rows sent as JSON objects (the REST API); line n is the n-th row."""
    body = json.dumps(rows, sort_keys=True, default=str).encode()
    return store_records(
        deployment=deployment,
        kind=kind,
        parsed=parse_records(enumerate(rows, start=1), kind),
        filename=f"api-{kind}.json",
        file_format="json",
        sha256=hashlib.sha256(body).hexdigest(),
        created_by=created_by,
    )


def store_records(
    *,
    deployment: Deployment,
    kind: str,
    parsed: tuple[list[Any], int, list[dict[str, Any]]],
    filename: str,
    file_format: str,
    sha256: str,
    created_by: str,
) -> ImportBatch:
    """Store parsed records all together, or none if any row was rejected."""
    records, total, rejected = parsed
    batch = ImportBatch.objects.create(
        deployment=deployment,
        kind=kind,
        filename=filename[:500],
        file_format=file_format,
        sha256=sha256,
        status=ImportBatch.Status.RUNNING,
        created_by=created_by,
        rows_total=total,
    )
    if rejected:
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.REJECTED, rejected=rejected, finished_at=timezone.now()
        )
        batch.refresh_from_db()
        return batch
    try:
        with transaction.atomic():
            stored = LOADERS[kind](deployment, records)
            moved = match_pending(deployment=deployment) if kind == history.PEOPLE else None
            ImportBatch.objects.filter(pk=batch.pk).update(
                status=ImportBatch.Status.DONE,
                rows_stored=stored,
                rows_duplicate=total - stored,
                rows_pending=0,
                finished_at=timezone.now(),
            )
            append_audit(
                actor=created_by,
                action="completion.imported",
                obj=batch,
                deployment=deployment,
                data={
                    "kind": kind,
                    "rows": total,
                    "stored": stored,
                    "events_matched": moved.stored if moved else 0,
                    "sha256": batch.sha256,
                },
            )
    except RowError as exc:  # rolled back: the rows disagree with what is stored
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.REJECTED,
            rejected=[{"line": 0, "reason": str(exc)}],
            finished_at=timezone.now(),
        )
    batch.refresh_from_db()
    return batch


def _courses(deployment: Deployment, wanted: dict[str, str]) -> dict[str, Course]:
    """The deployment's courses by context id, creating those not known yet."""
    found = {
        c.context_id: c
        for c in Course.objects.filter(deployment=deployment, context_id__in=list(wanted))
    }
    for key, title in wanted.items():
        if key not in found:
            found[key] = Course.objects.create(deployment=deployment, context_id=key, title=title)
    return found


def load_enrolments(deployment: Deployment, rows: Sequence[history.Enrolment]) -> int:
    """People, memberships (a withdrawal ends one on its date) and enrolment details.
    Returns how many enrolments were new or changed."""
    courses = _courses(deployment, {r.course_id: r.course_title for r in rows})
    subs = {r.learner_id for r in rows}
    people = {p.sub: p for p in Person.objects.filter(deployment=deployment, sub__in=subs)}
    Person.objects.bulk_create(
        [
            Person(deployment=deployment, sub=sub, name=r.name, email=r.email)
            for sub, r in {r.learner_id: r for r in rows}.items()
            if sub not in people
        ]
    )
    people = {p.sub: p for p in Person.objects.filter(deployment=deployment, sub__in=subs)}
    existing = {
        (m.course_id, m.person_id): m
        for m in Membership.objects.filter(course__in=courses.values(), person__in=people.values())
    }
    changed = 0
    details: list[EnrolmentDetail] = []
    for r in rows:
        course, person = courses[r.course_id], people[r.learner_id]
        status = Membership.Status.DELETED if r.withdrawn_at else Membership.Status.ACTIVE
        since = r.withdrawn_at or r.enrolled_at
        m = existing.get((course.pk, person.pk))
        wanted = (r.role, status, r.enrolled_at, since)
        if m is not None and (m.role, m.status, m.enrolled_at, m.status_changed_at) == wanted:
            continue
        changed += 1
        if m is None:
            m = Membership.objects.create(
                course=course,
                person=person,
                role=r.role,
                status=status,
                enrolled_at=r.enrolled_at,
                status_changed_at=since,
            )
            existing[(course.pk, person.pk)] = m
            _changed(m, "status", "", Membership.Status.ACTIVE, r.enrolled_at)
        else:
            if m.status != status:
                _changed(m, "status", m.status, status, since)
            m.role, m.status, m.enrolled_at, m.status_changed_at = wanted
            m.save(update_fields=["role", "status", "enrolled_at", "status_changed_at"])
        if r.withdrawn_at:
            _changed(m, "status", Membership.Status.ACTIVE, status, r.withdrawn_at)
        details.append(
            EnrolmentDetail(
                membership=m,
                prior_attempts=r.prior_attempts,
                credits=r.credits,
                withdrawal_reason=r.withdrawal_reason,
            )
        )
    EnrolmentDetail.objects.bulk_create(
        details,
        update_conflicts=True,
        unique_fields=["membership"],
        update_fields=["prior_attempts", "credits", "withdrawal_reason"],
    )
    return changed


def _changed(m: Membership, field: str, old: str, new: str, at: datetime) -> None:
    MembershipChange.objects.get_or_create(
        membership=m,
        field=field,
        old_value=old,
        new_value=new,
        changed_at=at,
        defaults={"source": MembershipChange.Source.ADMIN},
    )


def load_items(deployment: Deployment, rows: Sequence[history.ItemRecord]) -> int:
    courses = _courses(deployment, {r.course_id: "" for r in rows})
    changed = 0
    for r in rows:
        values = {
            "kind": r.kind,
            "title": r.title,
            "due_at": r.due_at,
            "weight": r.weight,
            "pass_mark": r.pass_mark,
            "section": r.section,
            "position": r.position,
        }
        item, created = Item.objects.get_or_create(
            course=courses[r.course_id],
            external_id=r.item_id,
            defaults={**values, "source": Source.IMPORT},
        )
        if created or any(getattr(item, k) != v for k, v in values.items()):
            changed += 1
            if not created:
                for k, v in values.items():
                    setattr(item, k, v)
                item.save(update_fields=list(values))
    return changed


def load_outcomes(deployment: Deployment, rows: Sequence[history.OutcomeRecord]) -> int:
    """Outcomes of known enrolments; a row naming no enrolment is refused (RowError)."""
    memberships = {
        (c, s): pk
        for pk, c, s in Membership.objects.filter(
            course__deployment=deployment,
            course__context_id__in={r.course_id for r in rows},
            person__sub__in={r.learner_id for r in rows},
        ).values_list("pk", "course__context_id", "person__sub")
    }
    missing = [r for r in rows if (r.course_id, r.learner_id) not in memberships]
    if missing:
        r = missing[0]
        raise RowError(
            f"{len(missing)} outcomes name no enrolment (first: {r.learner_id} in "
            f"{r.course_id}); import the people file first"
        )
    now = timezone.now()
    return record_outcomes(
        [
            Outcome(
                membership_id=memberships[(r.course_id, r.learner_id)],
                result=r.result,
                decided_on=r.decided_on,
                source=r.source,
                note=r.note,
                recorded_at=now,
            )
            for r in rows
        ]
    )


def record_outcomes(outcomes: Sequence[Outcome]) -> int:
    """Store outcomes, replacing what was recorded before for the same enrolments."""
    Outcome.objects.bulk_create(
        outcomes,
        update_conflicts=True,
        unique_fields=["membership"],
        update_fields=["result", "decided_on", "source", "note", "recorded_at"],
    )
    return len(outcomes)


LOADERS: dict[str, Callable[[Deployment, Sequence[Any]], int]] = {
    history.PEOPLE: load_enrolments,
    history.ITEMS: load_items,
    history.OUTCOMES: load_outcomes,
}
