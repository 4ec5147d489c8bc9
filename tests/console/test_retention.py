"""Retention: learning records older than the deployment's period are purged, nothing else."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from certificates.models import Certificate
from completion.models import (
    Activity,
    CaliperEvent,
    FactsSnapshot,
    PendingActivity,
    Progress,
    RiskScore,
    XapiAttachment,
    XapiStatement,
)
from interventions.models import Intervention, OutboundMessage
from lti_tool.audit import retention
from lti_tool.audit.trail import verify_chain
from lti_tool.models import AuditEntry, Membership
from lti_tool.tasks import purge_expired_records
from tests.certificates.helpers import complete, learner, one_page_course
from tests.completion.riskdata import add, enrol, make_course

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 3, 30, tzinfo=UTC)
OLD = datetime(2018, 5, 1, 12, 0, tzinfo=UTC)  # more than 7 years before NOW
RECENT = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
KINDS = [
    Activity,
    PendingActivity,
    XapiStatement,
    XapiAttachment,
    CaliperEvent,
    RiskScore,
    Progress,
    OutboundMessage,
    Intervention,
    FactsSnapshot,
]


def records(course, membership, at, tag):
    """One row of every purgeable kind, dated `at`."""
    deployment, day = course.deployment, at.date()
    add(course, membership, "viewed", at)
    PendingActivity.objects.create(
        deployment=deployment,
        verb="viewed",
        occurred_at=at,
        received_at=at,
        source="xapi",
        source_id=f"p-{tag}",
    )
    XapiStatement.objects.create(
        deployment=deployment, statement_id=uuid.uuid4(), payload={}, stored_at=at
    )
    XapiAttachment.objects.create(
        deployment=deployment, sha2=tag * 8, content_type="application/pdf", content=b"%PDF",
        stored_at=at,
    )  # fmt: skip
    CaliperEvent.objects.create(
        deployment=deployment, event_id=f"c-{tag}", payload={}, received_at=at
    )
    scoped = {"membership": membership, "course": course, "as_of": day}
    RiskScore.objects.create(
        **scoped, tier="red", probability=0.2, model_used="rules", computed_at=at
    )
    Progress.objects.create(
        **scoped,
        status="behind",
        status_label="Behind",
        percent_complete=10,
        items_done=1,
        items_total=10,
        time_on_task_seconds=60,
        expected_percent=50,
        gap=40,
        computed_at=at,
    )
    message = OutboundMessage.objects.create(
        idempotency_key=f"m-{tag}",
        deployment=deployment,
        course=course,
        membership=membership,
        channel="email",
        to_address="a@example.edu",
        body_text="Hello",
        not_before=at,
    )
    OutboundMessage.objects.filter(pk=message.pk).update(created_at=at)  # auto_now_add
    other, _ = make_course(items=(), deployment=deployment)  # one snapshot per course
    FactsSnapshot.objects.create(
        course=other, as_of=day, read_on=day, last_activity_id=0, events=0, format=1, data=b"",
        saved_at=at,
    )  # fmt: skip
    Intervention.objects.create(
        membership=membership,
        course=course,
        playbook="p",
        step=f"s-{tag}",
        episode="e",
        status="sent",
        planned_at=at,
    )


def counts():
    return {model._meta.label: model.objects.count() for model in KINDS}


@pytest.fixture
def learner_records():
    course, _ = make_course(items=())
    ada = enrol(course, "ada")
    records(course, ada, OLD, "old")
    records(course, ada, RECENT, "recent")
    return course, ada


def test_every_learning_record_kind_is_registered_and_nothing_legal_is():
    names = retention.purger_names()
    assert names == sorted(model._meta.label for model in KINDS)
    assert not [n for n in names if n.startswith("certificates.") or "Audit" in n]


def test_a_retired_course_facts_snapshot_goes_at_the_next_purge_however_recent():
    course, _ = make_course(items=())
    kept, _ = make_course(items=(), deployment=course.deployment)
    for c in (course, kept):
        FactsSnapshot.objects.create(
            course=c, as_of=RECENT.date(), read_on=RECENT.date(), last_activity_id=0, events=0,
            format=1, data=b"",
            saved_at=RECENT,
        )  # fmt: skip
    course.retired_at = RECENT
    course.save()
    deleted = dict(retention.purge(course.deployment, now=NOW, dry_run=False))
    assert deleted["completion.FactsSnapshot"] == 1
    assert list(FactsSnapshot.objects.values_list("course_id", flat=True)) == [kept.pk]


def test_legal_records_cannot_be_given_a_purger():
    for model in (Certificate, AuditEntry):
        with pytest.raises(ImproperlyConfigured):
            retention.age_purger(model, deployment_field="deployment", age_field="pk")


def test_a_dry_run_lists_what_would_go_and_deletes_nothing(learner_records):
    course, _ada = learner_records
    before = counts()
    listed = retention.purge(course.deployment, now=NOW, dry_run=True)
    assert listed == [(label, 1) for label in sorted(before)]
    assert counts() == before
    assert not AuditEntry.objects.filter(action="retention.purged").exists()


def test_the_command_dry_run_prints_each_deployment_and_kind(learner_records, capsys):
    course, _ada = learner_records
    before = counts()
    with time_machine.travel(NOW):
        call_command("purge_records", "--dry-run")
    out = capsys.readouterr().out
    assert f"Deployment {course.deployment_id} " in out
    assert "completion.Activity: would delete 1" in out
    assert "interventions.OutboundMessage: would delete 1" in out
    assert "Dry run: would delete 10 records in total." in out
    assert counts() == before


def test_a_real_purge_deletes_only_old_rows_and_is_audited(learner_records):
    course, ada = learner_records
    deleted = dict(retention.purge(course.deployment, now=NOW, dry_run=False))
    assert deleted == {model._meta.label: 1 for model in KINDS}
    assert counts() == {model._meta.label: 1 for model in KINDS}
    assert Activity.objects.get().occurred_at == RECENT
    assert Progress.objects.get().as_of == RECENT.date()
    assert Membership.objects.filter(pk=ada.pk).exists()
    entry = AuditEntry.objects.get(action="retention.purged")
    assert entry.deployment_id == course.deployment_id
    assert entry.data["years"] == 7
    assert entry.data["deleted"] == deleted
    assert verify_chain()[1] is None


def test_each_deployment_keeps_records_for_its_own_period(learner_records):
    course, _ada = learner_records
    other, _ = make_course(items=())
    bob = enrol(other, "bob")
    records(other, bob, OLD, "other-old")
    retention.set_retention_years(deployment=other.deployment, years=10, actor="t")
    with time_machine.travel(NOW):
        totals = purge_expired_records()
    assert totals == {model._meta.label: 1 for model in KINDS}
    assert Activity.objects.filter(course=other).count() == 1  # 8 years old, kept for 10
    assert Activity.objects.filter(course=course, occurred_at=OLD).count() == 0
    assert AuditEntry.objects.filter(action="retention.purged").count() == 2


def test_deletion_runs_in_batches(learner_records):
    course, ada = learner_records
    for _ in range(4):
        add(course, ada, "viewed", OLD)
    old = Activity.objects.filter(occurred_at=OLD)
    assert retention.delete_in_batches(old, batch_size=2) == 5
    assert Activity.objects.count() == 1


def test_certificates_are_never_purged(django_capture_on_commit_callbacks):
    course, page = one_page_course()
    ada = learner(course, "ada")
    complete(course, page, ada, django_capture_on_commit_callbacks)
    certificate = Certificate.objects.get(membership=ada)
    assert Activity.objects.exists()
    assert Progress.objects.exists()
    audit_entries = AuditEntry.objects.count()
    far_future = datetime(2045, 1, 1, tzinfo=UTC)
    retention.purge(course.deployment, now=far_future, dry_run=False)
    assert not Activity.objects.exists()
    assert not Progress.objects.exists()
    assert not RiskScore.objects.exists()
    certificate.refresh_from_db()
    assert Certificate.objects.get(pk=certificate.pk).serial == certificate.serial
    assert AuditEntry.objects.count() == audit_entries + 1
