"""Benchmarks: planning today's interventions, and email dispatch to a local SMTP server.

    .venv/bin/python bench/interventions.py [--smoke] [--learners 100000] [--emails 2000]

Planning: one course of N learners from `generate_cohort`, scored, then `plan_course` timed
(the goal is 100,000 enrolments in 60 s). Dispatch: M queued emails sent by one worker to an
aiosmtpd server on 127.0.0.1 (the goal is 50+ messages/s).
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import timedelta

from _setup import bench_deployment, django_on_postgres, parse_with_smoke


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--emails", type=int, default=2000)
    args = parse_with_smoke(parser, learners=500, emails=20)
    django_on_postgres("finishline_bench_interventions")

    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from interventions.delivery.outbox import dispatch_due, enqueue_message
    from interventions.models import Intervention, OutboundMessage
    from interventions.planning.planner import plan_course
    from lti_tool.models import Course
    from tests.mail import SmtpServer

    deployment = bench_deployment()
    course, _ = Course.objects.get_or_create(
        deployment=deployment, context_id=f"plan-{args.learners}"
    )
    call_command(
        "generate_cohort",
        "--course",
        course.context_id,
        "--learners",
        str(args.learners),
        "--days",
        "28",
        "--seed",
        "5",
        "--if-empty",
    )
    call_command("score_risk", "--course", str(course.pk))
    Intervention.objects.filter(course=course).delete()
    OutboundMessage.objects.filter(course=course).delete()
    t = time.perf_counter()
    summary = plan_course(course_id=course.pk)
    planning = time.perf_counter() - t
    print(
        f"planning: {args.learners:,} enrolments in {planning:.1f} s "
        f"({len(summary.actions):,} actions; {summary.count('sent'):,} to send now) "
        f"= {args.learners / planning * 60:,.0f} enrolments a minute; peak RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB"
    )

    OutboundMessage.objects.filter(status="pending").delete()
    with SmtpServer() as server:
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        for n in range(args.emails):
            enqueue_message(
                idempotency_key=f"bench:{time.time()}:{n}",
                deployment=deployment,
                channel="email",
                to_address=f"l{n}@example.edu",
                subject="Your progress",
                body_text="You are 40% through.",
                body_html="<p>You are 40% through.</p>",
                not_before=timezone.now() - timedelta(seconds=1),
            )
        t = time.perf_counter()
        sent = 0
        while True:
            result = dispatch_due(limit=500)
            sent += result.sent
            if not result.sent:
                break
        dispatch = time.perf_counter() - t
        received = len(server.mailbox.messages)
    print(
        f"dispatch: {sent:,} emails in {dispatch:.1f} s = {sent / dispatch:,.0f} messages/s "
        f"by one worker ({received:,} received by the SMTP server)"
    )


if __name__ == "__main__":
    main()
