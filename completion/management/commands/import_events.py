"""Import a CSV or JSON Lines file of a learning history (all rows, or none): engagement events,
or with `--kind` people and enrolments, items, or final outcomes (docs/data-inputs.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from completion.ingest.files import history
from completion.ingest.files.imports import check_file, import_file
from completion.ingest.files.records import import_records, read_records
from lti_tool.models import Deployment


class Command(BaseCommand):
    help = "Import events for one deployment; prints the report of rejected rows."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--deployment", required=True, help="the deployment's pk or its LTI deployment_id"
        )
        parser.add_argument("--format", choices=["csv", "jsonl"], default="")
        parser.add_argument(
            "--kind",
            choices=["events", history.PEOPLE, history.ITEMS, history.OUTCOMES],
            default="events",
            help="what the file holds (default: events); import people before their events",
        )
        parser.add_argument(
            "--check", action="store_true", help="only validate the file and print the report"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        key = options["deployment"]
        deployments = Deployment.objects.filter(deployment_id=key)
        if key.isdigit():
            deployments = deployments | Deployment.objects.filter(pk=int(key))
        deployment = deployments.first()
        if deployment is None:
            raise CommandError(f"no deployment {key!r}")
        file_format = options["format"] or (
            "jsonl" if path.suffix in {".jsonl", ".ndjson"} else "csv"
        )
        if options["kind"] != "events":
            self._records(path, deployment, file_format, options["kind"], options["check"])
            return
        if options["check"]:
            checked = check_file(path, file_format)
            if checked.rejected_count:
                raise CommandError(f"{path}: rows rejected:\n{_lines(checked.report())}")
            self.stdout.write(f"{path}: {checked.total} rows, all valid; nothing stored.")
            return
        batch = import_file(
            deployment=deployment,
            path=path,
            file_format=file_format,
            created_by="manage.py import_events",
        )
        if batch.status == "rejected":
            report = _lines(batch.rejected)
            raise CommandError(f"{path}: nothing imported, rows rejected:\n{report}")
        self.stdout.write(
            f"{path}: {batch.rows_total} rows, {batch.rows_stored} stored, "
            f"{batch.rows_duplicate} already stored, {batch.rows_pending} waiting "
            "for their learner or course."
        )

    def _records(
        self, path: Path, deployment: Deployment, file_format: str, kind: str, check: bool
    ) -> None:
        if check:
            _, total, rejected = read_records(path, file_format, kind)
            if rejected:
                raise CommandError(f"{path}: rows rejected:\n{_lines(rejected)}")
            self.stdout.write(f"{path}: {total} {kind} rows, all valid; nothing stored.")
            return
        batch = import_records(
            deployment=deployment,
            path=path,
            file_format=file_format,
            kind=kind,
            created_by="manage.py import_events",
        )
        if batch.status == "rejected":
            raise CommandError(
                f"{path}: nothing imported, rows rejected:\n{_lines(batch.rejected)}"
            )
        self.stdout.write(
            f"{path}: {batch.rows_total} {kind} rows, {batch.rows_stored} new or changed, "
            f"{batch.rows_duplicate} unchanged."
        )


def _lines(report: list[dict[str, Any]]) -> str:
    return "\n".join(f"  line {r['line']}: {r['reason']}" for r in report)
