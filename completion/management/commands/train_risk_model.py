"""Train a calibrated risk model on the finished cohorts of a course or a whole deployment.

`--algorithm events` trains the event-stream model on a set of courses' recorded outcomes,
with only what was known by `--until`; trained on more than one course it is the deployment's
pooled model, which courses with no outcomes of their own use."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from completion.risk.backtest import train_on_courses
from completion.risk.evaluation import train_on
from completion.risk.model import ALGORITHMS, DEFAULT_ALGORITHM, EVENTS, NotEnoughHistory
from completion.risk.services import save_trained_model
from lti_tool.models import Course, Deployment


def _listed(value: int | list[int]) -> list[int]:
    """`--course` as given on the command line (repeatable) or by `call_command(course=N)`."""
    return [value] if isinstance(value, int) else list(value)


class Command(BaseCommand):
    help = "Train the risk model on finished learners (features: the signals) and store it."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--course", type=int, action="append", help="repeatable")
        group.add_argument("--deployment", type=int)
        parser.add_argument("--algorithm", choices=[*ALGORITHMS, EVENTS], default=DEFAULT_ALGORITHM)
        parser.add_argument(
            "--until",
            type=date.fromisoformat,
            default=None,
            help="events: only outcomes decided and snapshots dated by then (YYYY-MM-DD)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        course = deployment = None
        if options["course"] is not None:
            ids = _listed(options["course"])
            courses = list(Course.objects.filter(pk__in=ids))
            if len(courses) != len(set(ids)):
                raise CommandError(f"no such course: {', '.join(map(str, ids))}")
            if len(courses) == 1:
                course = courses[0]
            else:
                deployment = courses[0].deployment
                if any(c.deployment_id != deployment.pk for c in courses):
                    raise CommandError("pooled courses must share one deployment")
        else:
            deployment = Deployment.objects.filter(pk=options["deployment"]).first()
            if deployment is None:
                raise CommandError(f"no such deployment: {options['deployment']}")
            courses = list(Course.objects.filter(deployment=deployment))
        try:
            if options["algorithm"] == EVENTS:
                artefact = train_on_courses(courses, until=options["until"])
            else:
                artefact = train_on(courses, algorithm=options["algorithm"])
        except NotEnoughHistory as exc:
            raise CommandError(f"not enough history, the rules stay in use: {exc}") from exc
        row = save_trained_model(
            artefact=artefact, course=course, deployment=deployment, by="manage.py train_risk_model"
        )
        self.stdout.write(
            f"trained model {row.pk} ({artefact.algorithm}) on {artefact.samples} "
            f"snapshots: {artefact.metrics}"
        )
        top = list(artefact.importances.items())[:8]
        self.stdout.write("importances: " + ", ".join(f"{k} {v:+.4f}" for k, v in top))
