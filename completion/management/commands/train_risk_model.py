"""Train a calibrated risk model on the finished cohorts of a course or a whole deployment."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from completion.risk.evaluation import train_on
from completion.risk.model import ALGORITHMS, DEFAULT_ALGORITHM, NotEnoughHistory
from completion.risk.services import save_trained_model
from lti_tool.models import Course, Deployment


class Command(BaseCommand):
    help = "Train the risk model on finished learners (features: the signals) and store it."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--course", type=int)
        group.add_argument("--deployment", type=int)
        parser.add_argument("--algorithm", choices=ALGORITHMS, default=DEFAULT_ALGORITHM)

    def handle(self, *args: Any, **options: Any) -> None:
        course = deployment = None
        if options["course"] is not None:
            course = Course.objects.filter(pk=options["course"]).first()
            if course is None:
                raise CommandError(f"no such course: {options['course']}")
            courses = [course]
        else:
            deployment = Deployment.objects.filter(pk=options["deployment"]).first()
            if deployment is None:
                raise CommandError(f"no such deployment: {options['deployment']}")
            courses = list(Course.objects.filter(deployment=deployment))
        try:
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
