"""The one list of recurring jobs; `manage.py sync_schedules` writes it into django-q2.

Each entry names its task by dotted path, so this list imports no app code.
"""

from __future__ import annotations

from typing import Any

SCHEDULES: list[dict[str, Any]] = [
    {
        # /readyz is red when no worker has stamped its heartbeat for a few minutes.
        "name": "ops: worker heartbeat",
        "func": "lti_tool.tasks.heartbeat",
        "schedule_type": "I",
        "minutes": 1,
    },
    {
        "name": "sync: rosters and grades of every course",
        "func": "completion.ingest.lms.tasks.sync_all_courses",
        "schedule_type": "C",
        "cron": "30 2 * * *",
    },
    {
        "name": "risk: re-score learners with new events",
        "func": "completion.risk.tasks.rescore_changed_courses",
        "schedule_type": "I",
        # Every minute: a learner who completes gets a certificate within about a minute.
        "minutes": 1,
    },
    {
        "name": "risk: nightly full pass",
        "func": "completion.risk.tasks.nightly_pass",
        "schedule_type": "C",
        "cron": "15 0 * * *",
    },
    {
        "name": "interventions: plan today's steps",
        "func": "interventions.tasks.plan_all_courses",
        "schedule_type": "C",
        "cron": "0 * * * *",
    },
    {
        "name": "interventions: dispatch the outbox",
        "func": "interventions.tasks.dispatch_outbox",
        "schedule_type": "I",
        "minutes": 1,
    },
    {
        "name": "interventions: daily digests for staff",
        "func": "interventions.tasks.daily_digests",
        "schedule_type": "C",
        "cron": "0 7 * * *",
    },
    {
        "name": "interventions: deadline reminders (30, 14, 3 days; the last to the manager)",
        "func": "interventions.tasks.deadline_reminders",
        "schedule_type": "C",
        "cron": "0 9 * * *",
    },
    {
        "name": "interventions: measure outcomes",
        "func": "interventions.tasks.measure_intervention_outcomes",
        "schedule_type": "C",
        "cron": "30 * * * *",
    },
    {
        "name": "certificates: render and sign any left pending",
        "func": "certificates.tasks.finish_pending",
        "schedule_type": "I",
        "minutes": 5,
    },
    {
        "name": "certificates: post completions to LMS gradebooks (with backoff)",
        "func": "certificates.tasks.post_gradebook",
        "schedule_type": "I",
        "minutes": 5,
    },
    {
        "name": "certificates: expiry reminders",
        "func": "certificates.tasks.expiry_reminders",
        "schedule_type": "C",
        "cron": "0 9 * * *",
    },
    {
        "name": "webhooks: deliver due events (retries with backoff for a day)",
        "func": "lti_tool.tasks.deliver_webhooks",
        "schedule_type": "I",
        "minutes": 1,
    },
    {
        "name": "retention: purge learning records past each deployment's period",
        "func": "lti_tool.tasks.purge_expired_records",
        "schedule_type": "C",
        "cron": "30 3 * * *",
    },
    {
        "name": "reports: scheduled compliance reports by email",
        "func": "completion.reports.tasks.send_scheduled_reports",
        "schedule_type": "C",
        "cron": "0 6 * * *",
    },
    {
        "name": "reports: weekly cohort risk report to instructors and advisors",
        "func": "interventions.reports.tasks.weekly_reports",
        "schedule_type": "C",
        "cron": "0 6 * * 1",
    },
    {
        "name": "business: satisfaction surveys at completion and non-completion",
        "func": "interventions.business.tasks.send_due_surveys",
        "schedule_type": "C",
        "cron": "20 * * * *",
    },
    {
        "name": "imports: mark imports that died while running as failed",
        "func": "completion.ingest.files.tasks.sweep_imports",
        "schedule_type": "I",
        "minutes": 10,
    },
    {
        "name": "lti: purge ended launch sessions",
        "func": "lti_tool.tasks.purge_launch_sessions",
        "schedule_type": "C",
        "cron": "50 * * * *",
    },
    {
        "name": "lti: purge expired nonces",
        "func": "lti_tool.tasks.purge_used_nonces",
        "schedule_type": "C",
        "cron": "45 * * * *",
    },
    {
        # The lti_tool purges cannot reach this app (layers), and retention counts in years.
        "name": "interventions: purge unsent message previews older than a day",
        "func": "interventions.tasks.purge_bulk_drafts",
        "schedule_type": "C",
        "cron": "55 * * * *",
    },
]
