"""Playbooks: which step is due for a learner today, and why. Pure.

A playbook is a list of steps; each step has a trigger, a delay (part of the trigger), the
channels it uses, its audience, a template, a stop condition and the tier it escalates to.
`due_steps` reads a learner's situation and returns the steps due now, each with an episode
key: the same step fires once per episode (one absence, one struggle with one item, one
milestone), and re-engagement ends an episode. Throttling and quiet hours are `throttle`'s
business; sending is the outbox's.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

LEARNER, ADVISOR, INSTRUCTOR = "learner", "advisor", "instructor"
ONBOARDING_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Trigger:
    kind: str  # see `_is_due` for the kinds
    value: float = 0.0
    code: str = ""


@dataclass(frozen=True)
class Step:
    key: str
    trigger: Trigger
    channels: tuple[str, ...]
    audience: str
    template: str
    tier: int = 1
    escalates_to: str = ""
    stop_if_reengaged: bool = True
    # With `escalates_to`: hours without a response (a return visit) before escalating.
    response_window_hours: float = 48.0
    send_delay_hours: float = 0.0  # wait this long after the step is due before sending


@dataclass(frozen=True)
class Playbook:
    key: str
    name: str
    steps: tuple[Step, ...]
    priority: int  # lower wins when two playbooks want the same learner on the same day


def _step(
    key: str,
    kind: str,
    value: float,
    channels: tuple[str, ...],
    template: str,
    audience: str = LEARNER,
    tier: int = 1,
    code: str = "",
    escalates_to: str = "",
    window: float = 48.0,
) -> Step:
    return Step(
        key,
        Trigger(kind, value, code),
        channels,
        audience,
        template,
        tier,
        escalates_to,
        response_window_hours=window,
    )


E, S, EMAIL_SMS = ("email",), ("sms",), ("email", "sms")
INBOX, CHAT = ("inbox",), ("inbox", "chat")

DEFAULT_PLAYBOOKS: tuple[Playbook, ...] = (
    Playbook(
        "onboarding",
        "First-week onboarding",
        (
            _step("welcome", "enrolled_hours", 0, E, "welcome"),
            _step("welcome_reminder", "enrolled_hours_not_started", 2, E, "welcome_reminder"),
            _step(
                "start_here",
                "enrolled_hours_not_started",
                24,
                E,
                "start_here",
                tier=2,
                escalates_to="onboarding_advisor",
            ),
            _step(
                "onboarding_advisor",
                "enrolled_hours_not_started",
                48,
                INBOX,
                "advisor_not_started",
                audience=ADVISOR,
                tier=3,
            ),
        ),
        priority=1,
    ),
    Playbook(
        "absence",
        "Absence",
        (
            # absent_days counts missed visits: days at the learner's own cadence.
            _step("absent_2", "absent_days", 2, E, "progress_saved", escalates_to="absent_4"),
            _step(
                "absent_4",
                "absent_days",
                4,
                EMAIL_SMS,
                "absent_sms",
                tier=2,
                escalates_to="absent_10",
                window=72,
            ),
            _step(
                "absent_7",
                "absent_days",
                7,
                EMAIL_SMS,
                "schedule_options",
                tier=2,
                escalates_to="absent_10",
            ),
            _step("absent_10", "absent_days", 10, CHAT, "advisor_absent", audience=ADVISOR, tier=3),
            _step("absent_14", "absent_days", 14, E, "keeping_your_spot", tier=3),
            _step("absent_21", "absent_days", 21, E, "final_notice", tier=3),
        ),
        priority=2,
    ),
    Playbook(
        "difficulty",
        "Assessment difficulty",
        (
            _step("failed_1", "item_failures", 1, E, "encouragement"),
            _step(
                "failed_2",
                "item_failures",
                2,
                E,
                "supplementary_resources",
                tier=2,
                escalates_to="failed_3",
            ),
            _step(
                "failed_3",
                "item_failures",
                3,
                CHAT,
                "instructor_struggling",
                audience=INSTRUCTOR,
                tier=3,
            ),
            _step(
                "avoided", "avoided_after_failure_days", 3, E, "other_format_or_extension", tier=2
            ),
        ),
        priority=3,
    ),
    Playbook(
        "pacing",
        "Falling behind",
        (
            _step(
                "behind_20",
                "signal",
                0,
                E,
                "revised_schedule",
                code="behind_pace_20",
                escalates_to="behind_40",
            ),
            _step(
                "behind_40",
                "signal",
                0,
                INBOX,
                "advisor_plan_revision",
                audience=ADVISOR,
                tier=3,
                code="behind_pace_40",
            ),
        ),
        priority=4,
    ),
    Playbook(
        "engagement",
        "Isolation, shallow engagement and technical trouble",
        (
            _step("isolation", "signal", 0, E, "community_introduction", code="no_forum_day_7"),
            _step("shallow", "signal", 0, E, "check_in", code="low_engagement"),
            _step("tech_guide", "signal", 0, E, "troubleshooting_guide", code="technical_errors"),
            _step(
                "tech_ticket",
                "signal_hours",
                24,
                INBOX,
                "support_ticket",
                audience=ADVISOR,
                tier=2,
                code="technical_errors",
            ),
        ),
        priority=5,
    ),
    Playbook(
        "returned",
        "Back from a pause",
        (_step("welcome_back", "returned_days", 0, E, "welcome_back"),),
        priority=0,
    ),
    Playbook(
        "milestones",
        "Milestones and after completion",
        (
            _step("milestone_25", "milestone", 25, E, "milestone"),
            _step("milestone_50", "milestone", 50, E, "milestone"),
            _step("milestone_75", "milestone", 75, E, "milestone"),
            _step("completed", "completed_days", 0, E, "completed_certificate"),
            _step("review_request", "completed_days", 3, E, "review_request"),
            _step("next_course", "completed_days", 7, E, "next_course"),
        ),
        priority=6,
    ),
)


@dataclass(frozen=True)
class Preset:
    """How a kind of programme scales the default playbooks."""

    absence_scale: float  # missed visits before an absence step
    window_scale: float  # hours without a response before escalating


PRESETS: Mapping[str, Preset] = {
    # A cohort keeps the defaults: 2 and 4 missed visits, 48 h then 72 h to respond.
    "cohort": Preset(absence_scale=1.0, window_scale=1.0),
    # Self-paced learners come and go: wait longer before calling it absence or silence.
    "self_paced": Preset(absence_scale=1.5, window_scale=2.0),
    # A compliance deadline cannot slip: escalate silence twice as fast.
    "compliance": Preset(absence_scale=1.0, window_scale=0.5),
}


def apply_preset(step: Step, preset: Preset) -> Step:
    """The step as the programme's preset has it."""
    if step.trigger.kind == "absent_days":
        value = step.trigger.value * preset.absence_scale
        step = replace(step, trigger=replace(step.trigger, value=value))
    return replace(step, response_window_hours=step.response_window_hours * preset.window_scale)


@dataclass(frozen=True)
class Situation:
    """What the planner knows about one learner today."""

    membership_id: int
    now: datetime
    enrolled_at: datetime
    started: bool
    last_active_at: datetime | None
    percent_complete: float  # 0..100
    fired_signals: Mapping[str, datetime] = field(default_factory=dict)  # code -> first fired
    item_failures: Mapping[int, int] = field(default_factory=dict)  # item -> failures, not passed
    last_failure_at: Mapping[int, datetime] = field(default_factory=dict)
    last_attempt_at: Mapping[int, datetime] = field(default_factory=dict)
    completed_at: datetime | None = None
    paused: bool = False
    delay_multiplier: float = 1.0  # accommodations stretch the timing
    returned_on: date | None = None  # the first day after a pause that ended this week
    cadence_days: float = 1.0  # the learner's usual gap between visits
    # Learner-facing steps sent and not answered by a return visit since:
    # step key -> (sent at, its episode).
    unanswered: Mapping[str, tuple[datetime, str]] = field(default_factory=dict)
    # The first click on a tracked link of a sent step's message, or reply to it:
    # (step key, episode) -> when.
    responded: Mapping[tuple[str, str], datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class DueStep:
    playbook: Playbook
    step: Step
    episode: str  # same step, same episode: at most once
    item_id: int | None = None
    cause: str = ""  # set when the step is due as an escalation


def due_steps(playbooks: Iterable[Playbook], s: Situation) -> list[DueStep]:
    """Every step whose trigger holds today, most urgent playbook first."""
    if s.paused:
        return []
    due: list[DueStep] = []
    for playbook in sorted(playbooks, key=lambda p: p.priority):
        found = [
            DueStep(playbook, step, episode, item)
            for step in playbook.steps
            for episode, item in _is_due(step, s)
        ]
        seen = {(d.step.key, d.episode) for d in found}
        found += [d for d in escalations(playbook, s) if (d.step.key, d.episode) not in seen]
        order = [step.key for step in playbook.steps]
        due.extend(sorted(found, key=lambda d: order.index(d.step.key)))
    return due


def escalations(playbook: Playbook, s: Situation) -> list[DueStep]:
    """Steps due because an earlier step got no response (a return visit, a click on its
    message's link or a reply to it) within its window: the step it
    `escalates_to`, in the same episode (so a target that is also due by its own trigger
    is sent once)."""
    due: list[DueStep] = []
    if s.completed_at is not None:
        return due
    for step in playbook.steps:
        if not step.escalates_to or step.key not in s.unanswered:
            continue
        sent, episode = s.unanswered[step.key]
        window_ends = sent + _hours(step.response_window_hours, s.delay_multiplier)
        if s.now < window_ends:
            continue
        answer = s.responded.get((step.key, episode))
        if answer is not None and sent <= answer <= window_ends:  # as a return visit does
            continue
        target = next((t for t in playbook.steps if t.key == step.escalates_to), None)
        if target is not None:
            hours = step.response_window_hours
            why = f"no return visit, click or reply within {hours:g} h of {step.key}"
            due.append(DueStep(playbook, target, episode, cause=why))
    return due


def usual_gap(active_days: Sequence[date]) -> float:
    """The median of the last 10 gaps between active days, in days; 1 with fewer than 3."""
    days = sorted(set(active_days))[-11:]
    if len(days) < 3:
        return 1.0
    return max(float(statistics.median((b - a).days for a, b in itertools.pairwise(days))), 1.0)


def _is_due(step: Step, s: Situation) -> Sequence[tuple[str, int | None]]:
    t, stretch = step.trigger, s.delay_multiplier
    kind = t.kind
    if s.completed_at is not None and kind != "completed_days":
        return []
    if kind in {"enrolled_hours", "enrolled_hours_not_started"}:
        # Onboarding belongs to the first week: a learner first seen later is past it.
        if s.now >= s.enrolled_at + ONBOARDING_WINDOW * stretch:
            return []
        late = s.now >= s.enrolled_at + _hours(t.value, stretch)
        wanted = late and (kind == "enrolled_hours" or not s.started)
        return [("enrolment", None)] if wanted else []
    if kind == "absent_days":
        since = s.last_active_at or s.enrolled_at
        if s.returned_on is not None:  # days on pause are not absence
            since = max(since, datetime.combine(s.returned_on, time.min, tzinfo=s.now.tzinfo))
        missed = timedelta(days=t.value * stretch * max(s.cadence_days, 1.0))
        if not s.started or s.now < since + missed:
            return []
        return [(f"absent-since-{since:%Y-%m-%d}", None)]
    if kind == "item_failures":
        return [
            (f"item-{item}-failures-{n}", item)
            for item, n in s.item_failures.items()
            if n == int(t.value)
        ]
    if kind == "avoided_after_failure_days":
        return [
            (f"item-{item}-avoided-{failed:%Y-%m-%d}", item)
            for item, failed in s.last_failure_at.items()
            if s.item_failures.get(item)
            and s.last_attempt_at.get(item, failed) <= failed
            and s.now >= failed + timedelta(days=t.value * stretch)
        ]
    if kind in {"signal", "signal_hours"}:
        fired = s.fired_signals.get(t.code)
        wait = _hours(t.value, stretch) if kind == "signal_hours" else timedelta(0)
        if fired is None or s.now < fired + wait:
            return []
        return [(f"{t.code}-{fired:%Y-%m-%d}", None)]
    if kind == "milestone":
        return [("milestone", None)] if s.percent_complete >= t.value else []
    if kind == "returned_days":
        back = s.returned_on
        if back is None or s.now.date() < back + timedelta(days=t.value):
            return []
        return [(f"return-{back:%Y-%m-%d}", None)]
    if kind == "completed_days":
        done = s.completed_at
        if done is None or s.now < done + timedelta(days=t.value):
            return []
        return [("completion", None)]
    raise ValueError(f"unknown trigger kind {kind!r}")


def _hours(value: float, stretch: float) -> timedelta:
    return timedelta(hours=value * stretch)


def find_step(playbooks: Iterable[Playbook], key: str) -> tuple[Playbook, Step] | None:
    for playbook in playbooks:
        for step in playbook.steps:
            if step.key == key:
                return playbook, step
    return None
