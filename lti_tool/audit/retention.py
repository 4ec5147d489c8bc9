"""Retention: how long each deployment keeps learning records, and the purge that enforces it.

Apps register purgers (`register_purger`) from their `AppConfig.ready()`, so this foundation
module never imports the apps above it. Records are purged by age only: a learner who left or a
retired course keeps its records until they age out. Certificates and the audit trail are legal
records and are never purged; `age_purger` refuses them. Deletions run in batches, each its own
short transaction, so a large purge never holds long locks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction

from lti_tool.audit.trail import append_audit
from lti_tool.models import AuditEntry, AuditHead, Deployment, RetentionPolicy

DEFAULT_YEARS = 7
MIN_YEARS, MAX_YEARS = 1, 100
BATCH_SIZE = 10_000
SYSTEM_ACTOR = "system:retention"

# fn(deployment, cutoff, dry_run) -> rows deleted (or that would be deleted)
Purger = Callable[[Deployment, datetime, bool], int]
_purgers: dict[str, Purger] = {}

# Never purged by age, whatever registers: legal records and the audit trail.
PROTECTED_APPS = frozenset({"certificates"})
PROTECTED_MODELS: frozenset[type[models.Model]] = frozenset({AuditEntry, AuditHead})


class InvalidRetention(ValueError):
    """A retention period outside MIN_YEARS..MAX_YEARS."""


@dataclass(frozen=True)
class DeploymentPurge:
    deployment_id: int
    deployment: str
    cutoff: datetime
    counts: list[tuple[str, int]]


def register_purger(name: str, fn: Purger) -> None:
    """Register (or replace) the purger called `name`; call from `AppConfig.ready()`."""
    _purgers[name] = fn


def purger_names() -> list[str]:
    return sorted(_purgers)


def cutoff_for(now: datetime, years: int) -> datetime:
    """The instant `years` calendar years before `now` (29 February falls back to the 28th)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def years_for(deployment: Deployment) -> int:
    policy = RetentionPolicy.objects.filter(deployment=deployment).first()
    return policy.years if policy is not None else DEFAULT_YEARS


@transaction.atomic
def set_retention_years(*, deployment: Deployment, years: int, actor: str) -> RetentionPolicy:
    """Set the deployment's retention period. Audited. Raises InvalidRetention."""
    if not MIN_YEARS <= years <= MAX_YEARS:
        raise InvalidRetention(f"Keep records between {MIN_YEARS} and {MAX_YEARS} years.")
    policy, _ = RetentionPolicy.objects.select_for_update().get_or_create(deployment=deployment)
    before = policy.years
    policy.years, policy.updated_by = years, actor[:255]
    policy.save()
    append_audit(
        actor=actor,
        action="retention.updated",
        obj=policy,
        deployment=deployment,
        data={"years": years, "previous": before},
    )
    return policy


def delete_in_batches(queryset: models.QuerySet[Any], *, batch_size: int = BATCH_SIZE) -> int:
    """Delete the queryset's rows `batch_size` ids at a time; each batch commits on its own."""
    model = queryset.model
    deleted, last = 0, None
    while True:
        page = queryset.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        ids = list(page.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        with transaction.atomic():
            deleted += (
                model._default_manager.filter(pk__in=ids).delete()[1].get(model._meta.label, 0)
            )
        last = ids[-1]


def age_purger(model: type[models.Model], *, deployment_field: str, age_field: str) -> Purger:
    """A purger of `model` rows of a deployment whose `age_field` is before the cutoff.

    `deployment_field` is the lookup to the deployment (`"deployment"`, `"course__deployment"`).
    A DateField is compared with the cutoff's date.
    """
    if model._meta.app_label in PROTECTED_APPS or model in PROTECTED_MODELS:
        raise ImproperlyConfigured(f"{model._meta.label} is a legal record and is never purged.")
    is_date = not isinstance(model._meta.get_field(age_field), models.DateTimeField)

    def purge_model(deployment: Deployment, cutoff: datetime, dry_run: bool) -> int:
        limit: date | datetime = cutoff.date() if is_date else cutoff
        rows = model._default_manager.filter(
            **{deployment_field: deployment, f"{age_field}__lt": limit}
        )
        return rows.count() if dry_run else delete_in_batches(rows)

    return purge_model


def purge(
    deployment: Deployment, *, now: datetime, dry_run: bool, actor: str = SYSTEM_ACTOR
) -> list[tuple[str, int]]:
    """Run every registered purger for the deployment's cutoff; a real run is audited."""
    return _purge(deployment, years_for(deployment), now=now, dry_run=dry_run, actor=actor).counts


def purge_all(
    *, now: datetime, dry_run: bool, actor: str = SYSTEM_ACTOR, deployment_id: int | None = None
) -> list[DeploymentPurge]:
    """`purge` for every deployment (or the one given), one after another."""
    deployments = Deployment.objects.select_related("platform", "retention_policy").order_by("pk")
    if deployment_id is not None:
        deployments = deployments.filter(pk=deployment_id)
    return [_purge(d, _years_of(d), now=now, dry_run=dry_run, actor=actor) for d in deployments]


def _years_of(deployment: Deployment) -> int:
    try:
        return deployment.retention_policy.years
    except RetentionPolicy.DoesNotExist:
        return DEFAULT_YEARS


def _purge(
    deployment: Deployment, years: int, *, now: datetime, dry_run: bool, actor: str
) -> DeploymentPurge:
    cutoff = cutoff_for(now, years)
    counts = [(name, _purgers[name](deployment, cutoff, dry_run)) for name in purger_names()]
    if not dry_run:
        append_audit(
            actor=actor,
            action="retention.purged",
            deployment=deployment,
            data={"years": years, "cutoff": cutoff.isoformat(), "deleted": dict(counts)},
        )
    return DeploymentPurge(
        deployment_id=deployment.pk, deployment=str(deployment), cutoff=cutoff, counts=counts
    )
