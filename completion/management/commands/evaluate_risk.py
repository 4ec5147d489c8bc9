"""Backtest risk on finished learners: AUC, accuracy, red precision/recall, lead.

With `--cutoffs`, the honest backtest on recorded outcomes (`completion.risk.backtest`): days
from a fixed-date course's start (or each learner's enrolment), learners who had left excluded,
per course and overall ROC AUC, PR AUC, red-tier precision, precision in the top 20%, Brier,
a reliability table and lead time, beside a plain logistic baseline fitted on the same rows."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from completion.risk import backtest
from completion.risk.evaluation import evaluate_course
from completion.risk.selectors import predictor_of
from lti_tool.models import Course


class Command(BaseCommand):
    help = "Compare risk predictions at given days of enrolment with the known outcomes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--course", type=int, required=True, action="append")
        parser.add_argument(
            "--cutoffs",
            type=int,
            nargs="+",
            default=None,
            help="days from start (fixed-date) or enrolment: the honest backtest",
        )
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
        ids = options["course"]
        ids = [ids] if isinstance(ids, int) else list(ids)  # call_command(course=N) too
        courses = list(Course.objects.filter(pk__in=ids).order_by("pk"))
        if len(courses) != len(set(ids)):
            raise CommandError(f"no such course: {', '.join(map(str, ids))}")
        course = courses[0]
        predictor = None
        if options["model"] == "trained":
            predictor = predictor_of(course, model_id=options["model_id"])
            if predictor is None:
                raise CommandError("no trained model for this course or its deployment")
        started = time.perf_counter()
        if options["cutoffs"] is not None:
            found = backtest.evaluate(
                courses,
                cutoffs=options["cutoffs"],
                predictor=predictor,
                use_model=options["model"] == "course",
            )
            if options["json"]:
                self.stdout.write(json.dumps(found, indent=2, default=str))
            else:
                self.stdout.write(backtest_table(found, options["cutoffs"]))
            return
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


def backtest_table(found: dict[str, Any], cutoffs: list[int]) -> str:
    lines = [f"{found['samples']} learner snapshots; red = P(not completing) >= {found['red_cut']}"]
    for label, figures in [("overall", found["overall"]), *found["by_course"].items()]:
        lines.append(f"{label}:")
        lines.append(
            f"{'day':>4} {'n':>5} {'drop':>5} {'AUC':>6} {'base':>6} {'PR AUC':>6} "
            f"{'red':>5} {'red P':>6} {'P@20%':>6} {'Brier':>6}  tiers r/y/g"
        )
        for c in cutoffs:
            m = figures[c]
            t = m["tiers"]
            lines.append(
                f"{c:>4} {m['learners']:>5} {m['dropped']:>5} {_f(m['auc'])} "
                f"{_f(m['baseline_auc'])} {_f(m['pr_auc'])} {m['red']:>5} "
                f"{_f(m['red_precision'])} {_f(m['precision_top20'])} {_f(m['brier'])}  "
                f"{t['red']}/{t['yellow']}/{t['green']}"
            )
        lead = figures["lead"]
        lines.append(
            f"lead: {lead['dropouts']} drop-outs, flagged red {_pct(lead['flagged'])}, 14+ days "
            f"before their last activity {_pct(lead['flagged_14d_ahead'])}, median "
            f"{lead['median_lead_days']} days"
        )
        if label == "overall":
            for c in cutoffs:
                bins = ", ".join(
                    f"{lo:.1f}-{hi:.1f}: {mean:.2f} vs {seen:.2f} (n={n})"
                    for lo, hi, mean, seen, n in figures[c]["reliability"]
                )
                lines.append(f"reliability day {c} (predicted vs seen): {bins}")
    return "\n".join(lines)


def _f(value: float | None) -> str:
    return f"{value:>6.3f}" if value is not None else f"{'-':>6}"


def _pct(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "-"
