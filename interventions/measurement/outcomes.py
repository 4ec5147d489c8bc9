"""Did an intervention bring the learner back? Measured, then summarised per step and channel.

An intervention counts as recovered within a window when the learner did anything in the
course (any event in the store) after it was sent and before the window closed. Windows are
measured once they have closed, so a figure never changes after it is shown.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from completion.models import Activity
from interventions.measurement.experiments import HOLDOUT, ArmResult, Comparison, compare
from interventions.models import Experiment, Intervention, OutboundMessage

WINDOWS = {"reengaged_48h": timedelta(hours=48), "reengaged_7d": timedelta(days=7)}


def measure_outcomes(*, now: datetime | None = None) -> int:
    """Fill in the outcome windows that have closed. Idempotent; returns rows updated.

    Hold-out learners are measured from the moment they would have been sent the message,
    so an A/B test can compare every arm with doing nothing.
    """
    now = now or timezone.now()
    updated = 0
    for field, window in WINDOWS.items():
        open_rows = Intervention.objects.filter(
            status__in=[Intervention.Status.SENT, Intervention.Status.HOLDOUT],
            send_at__lte=now - window,
            **{f"{field}__isnull": True},
        ).select_related("membership")
        for row in open_rows.iterator(chunk_size=2000):
            assert row.send_at is not None
            back = Activity.objects.filter(
                course_id=row.course_id,
                person_id=row.membership.person_id,
                occurred_at__gt=row.send_at,
                occurred_at__lte=row.send_at + window,
            ).exists()
            Intervention.objects.filter(pk=row.pk).update(**{field: back})
            updated += 1
    return updated


@dataclass(frozen=True)
class RecoveryRow:
    step: str
    channel: str
    tier: int
    sent: int
    recovered_48h: int
    measured_48h: int
    recovered_7d: int
    measured_7d: int

    @property
    def rate_48h(self) -> float | None:
        return self.recovered_48h / self.measured_48h if self.measured_48h else None

    @property
    def rate_7d(self) -> float | None:
        return self.recovered_7d / self.measured_7d if self.measured_7d else None


def recovery_rates(*, course_id: int) -> list[RecoveryRow]:
    """Recovery per playbook step, channel and tier, for the instructor's dashboard."""
    acc: dict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    rows = (
        Intervention.objects.filter(course_id=course_id, status=Intervention.Status.SENT)
        .values_list("step", "channels", "tier")
        .annotate(
            n=Count("pk"),
            back_48h=Count("pk", filter=Q(reengaged_48h=True)),
            measured_48h=Count("reengaged_48h"),
            back_7d=Count("pk", filter=Q(reengaged_7d=True)),
            measured_7d=Count("reengaged_7d"),
        )
        .order_by()
    )  # counted in SQL: a course's sent steps run to hundreds of thousands
    for step, channels, tier, *counts in rows:
        a = acc[(step, "+".join(channels) or "-", tier)]
        for i, n in enumerate(counts):
            a[i] += n
    return [
        RecoveryRow(step, channel, tier, *values)
        for (step, channel, tier), values in sorted(acc.items())
    ]


def arm_results(*, experiment_id: int, metric: str) -> dict[str, tuple[int, int]]:
    """(measured, recovered) per arm of an experiment, hold-out included."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    rows = Intervention.objects.filter(experiment_id=experiment_id).filter(
        Q(status=Intervention.Status.SENT) | Q(status=Intervention.Status.HOLDOUT)
    )
    for arm, value in rows.values_list("arm", metric):
        if value is not None:
            out[arm][0] += 1
            out[arm][1] += bool(value)
    return {k: (v[0], v[1]) for k, v in out.items()}


@dataclass(frozen=True)
class ExperimentResult:
    experiment: Experiment
    arms: list[tuple[str, int, int]]  # (arm, measured, recovered)
    comparisons: list[Comparison]


def experiment_results(*, course_id: int) -> list[ExperimentResult]:
    """Each experiment's arms and every arm compared with the first arm (or the hold-out)."""
    out = []
    for experiment in Experiment.objects.filter(course_id=course_id).order_by("-started_at"):
        counts = arm_results(experiment_id=experiment.pk, metric=experiment.metric)
        keys = [a["key"] for a in experiment.arms]
        control = HOLDOUT if HOLDOUT in counts else (keys[0] if keys else "")
        results = {
            k: ArmResult(k, *counts.get(k, (0, 0)))
            for k in [*keys, HOLDOUT]
            if k in counts or k in keys
        }
        comparisons = [
            compare(results[k], results[control])
            for k in keys
            if k != control and control in results
        ]
        out.append(
            ExperimentResult(
                experiment, [(k, r.n, r.successes) for k, r in results.items()], comparisons
            )
        )
    return out


@dataclass(frozen=True)
class FunnelStage:
    label: str
    count: int
    share: float  # of the first stage, 0..100


STAFF_PLAYBOOK = "staff"  # staff's own messages to many learners (`planning.bulk`)


def intervention_funnel(*, course_id: int) -> list[FunnelStage]:
    """Each counter as what it is: playbook steps planned and staff's messages to learners;
    messages queued, sent, bounced or failed (the outbox's own states); then, of the steps and
    staff messages sent, measured and back within 48 h / 7 days.

    Email over SMTP tells nothing of delivery or opens, so neither is claimed; a click is
    counted when a learner follows a message's tracked link (`delivery.clicks`).
    """
    planned = Intervention.objects.filter(course_id=course_id).exclude(
        status=Intervention.Status.DRY_RUN
    )
    steps = planned.exclude(playbook=STAFF_PLAYBOOK)
    sent = planned.filter(status=Intervention.Status.SENT)
    Out = OutboundMessage.Status
    outbox = dict(
        OutboundMessage.objects.filter(course_id=course_id)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = [
        ("Playbook steps planned", steps.count()),
        ("Messages from staff", planned.filter(playbook=STAFF_PLAYBOOK).count()),
        ("Messages queued", outbox.get(Out.PENDING, 0) + outbox.get(Out.SENDING, 0)),
        ("Messages sent", outbox.get(Out.SENT, 0)),
        ("Bounced or failed", outbox.get(Out.BOUNCED, 0) + outbox.get(Out.FAILED, 0)),
        (
            "Clicked",
            OutboundMessage.objects.filter(course_id=course_id, clicked_at__isnull=False).count(),
        ),
        ("Measured after 48 h", sent.filter(reengaged_48h__isnull=False).count()),
        ("Back within 48 h", sent.filter(reengaged_48h=True).count()),
        ("Back within 7 days", sent.filter(reengaged_7d=True).count()),
    ]
    top = max(counts[0][1] + counts[1][1], 1)
    return [FunnelStage(label, n, round(100 * n / top, 1)) for label, n in counts]
