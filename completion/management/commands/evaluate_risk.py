"""Backtest risk on a course's finished learners: AUC, accuracy, red precision/recall, lead."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from completion.risk.evaluation import evaluate_course
from completion.risk.selectors import predictor_of
from lti_tool.models import Course


class Command(BaseCommand):
    help = "Compare risk predictions at given days of enrolment with the known outcomes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--course", type=int, required=True)
        parser.add_argument("--at-day", type=int, nargs="+", default=[7, 14, 28])
        parser.add_argument(
            "--model",
            choices=["course", "rules", "trained"],
            default="course",
            help="the course's choice (default), the rules, or its trained model",
        )
        parser.add_argument(
            "--model-id",
            type=int,
            default=None,
            help="with --model trained: a stored model (e.g. another course's)",
        )
        parser.add_argument("--lead-days", type=int, default=14)
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        course = Course.objects.filter(pk=options["course"]).first()
        if course is None:
            raise CommandError(f"no such course: {options['course']}")
        predictor = None
        if options["model"] == "trained":
            predictor = predictor_of(course, model_id=options["model_id"])
            if predictor is None:
                raise CommandError("no trained model for this course or its deployment")
        started = time.perf_counter()
        report = evaluate_course(
            course,
            options["at_day"],
            predictor=predictor,
            use_model=options["model"] == "course",
            lead_ahead=options["lead_days"],
        )
        report["seconds"] = round(time.perf_counter() - started, 2)
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, default=str))
            return
        self._print(report, options["lead_days"])

    def _print(self, report: dict[str, Any], ahead: int) -> None:
        self.stdout.write(
            f"course {report['course']}: {report['finished_learners']} finished "
            f"learners, {report['completed']} completed"
        )
        self.stdout.write(
            f"{'day':>4} {'model':>8} {'n':>6} {'dropped':>8} {'AUC':>6} "
            f"{'acc':>6} {'red':>6} {'red P':>6} {'red R':>6}"
        )
        for day, m in report["at_day"].items():
            self.stdout.write(
                f"{day:>4} {m['model']:>8} {m['learners']:>6} {m['dropped']:>8} "
                f"{_f(m['auc'])} {_f(m['accuracy'])} {m['red']:>6} {_f(m['red_precision'])} "
                f"{_f(m['red_recall'])}"
            )
        lead = report["lead_time"]
        self.stdout.write(
            f"lead time: {lead['dropouts']} drop-outs, flagged red {_pct(lead['flagged'])}, "
            f"{ahead}+ days before their last activity {_pct(lead[f'flagged_{ahead}d_ahead'])}, "
            f"median lead {lead['median_lead_days']} days; at most {_pct(lead['reachable'])} "
            f"could be (the drop-outs still active {ahead}+ days after enrolling)"
        )
        self.stdout.write(
            f"({report['snapshots_computed']} daily snapshots, {report['seconds']} s)"
        )


def _f(value: float | None) -> str:
    return f"{value:>6.3f}" if value is not None else f"{'-':>6}"


def _pct(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "-"
