"""`manage.py check_writers`: find what only tests or migrations ever set.

For the models of `interventions`, `certificates` and `completion` it lists every field that
no code outside `tests/`, `migrations/` and `bench/` writes; for Finishline's settings, every
one no code outside `config/` and the tests reads; for services (functions under
`@transaction.atomic` or in a `services.py`), every one nothing outside the tests calls. Each
finding must be listed, with a reason, in the README's "Kept without a writer" section;
findings not listed there, and listed exceptions that are no longer findings, fail the
command (exit status 1). Reading code is done on its syntax tree (`ast`), so a field counts as
written when code assigns the attribute, passes it as a keyword, or names it as a key or in a
field list (`update_fields`, `*_FIELDS`, a form's `fields`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models

APPS = ("interventions", "certificates", "completion")
SKIPPED_DIRS = {"tests", "migrations", "bench", ".venv", ".venv-ci", "node_modules", "var"}
EXCEPTION_LINE = re.compile(r"^- `(?P<name>[\w.]+)`: (?P<reason>.+)$")
SECTION = "### Kept without a writer"
# Bulk writers that take the model and then the names of the columns they write.
BULK_WRITERS = {"bulk_update", "insert_rows", "upsert_rows", "insert_new_rows", "copy_rows"}


@dataclass
class Names:
    """What a body of code writes (fields), reads (setting keys) and calls (functions)."""

    written: set[str] = field(default_factory=set)
    strings: set[str] = field(default_factory=set)
    referenced: set[str] = field(default_factory=set)


def python_files(root: Path, *, tests: bool) -> Iterator[Path]:
    for path in sorted(root.rglob("*.py")):
        parts = set(path.relative_to(root).parts[:-1])
        in_tests = "tests" in parts
        if in_tests != tests or (parts & (SKIPPED_DIRS - {"tests"})):
            continue
        yield path


def collect(paths: Iterable[Path]) -> Names:
    names = Names()
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        _Visitor(names).visit(tree)
    return names


class _Visitor(ast.NodeVisitor):
    def __init__(self, names: Names) -> None:
        self.names = names

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._target(target)
            if isinstance(target, ast.Name) and (
                target.id.endswith(("FIELDS", "COLUMNS")) or target.id == "fields"
            ):
                self._strings_in(node.value, written=True)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._target(node.target)
        self.generic_visit(node)

    def _target(self, target: ast.expr) -> None:
        if isinstance(target, ast.Attribute):
            self.names.written.add(target.attr)
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self._target(element)

    def visit_Call(self, node: ast.Call) -> None:
        for keyword in node.keywords:
            if keyword.arg:
                self.names.written.add(keyword.arg)
            if keyword.arg == "update_fields":
                self._strings_in(keyword.value, written=True)
        func = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        func = node.func.id if isinstance(node.func, ast.Name) else func
        if func in BULK_WRITERS:  # their column lists follow the model or queryset
            for arg in node.args[1:]:
                self._strings_in(arg, written=True)
        self.generic_visit(node)

    def visit_Dict(self, node: ast.Dict) -> None:
        for key in node.keys:
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                self.names.written.add(key.value)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            self.names.strings.add(node.value)
            # A task enqueued by dotted path calls its function.
            self.names.referenced.add(node.value.rsplit(".", 1)[-1])

    def visit_Name(self, node: ast.Name) -> None:
        self.names.referenced.add(node.id)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.names.referenced.add(node.attr)
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            self.names.referenced.add(alias.name)

    def _strings_in(self, node: ast.expr, *, written: bool) -> None:
        for inner in ast.walk(node):
            if isinstance(inner, ast.Constant) and isinstance(inner.value, str) and written:
                self.names.written.add(inner.value)


def model_fields() -> Iterator[tuple[str, models.Field[Any, Any]]]:
    for label in APPS:
        for model in apps.get_app_config(label).get_models():
            for f in model._meta.concrete_fields:
                if f.primary_key or getattr(f, "auto_now", False):
                    continue
                if getattr(f, "auto_now_add", False):
                    continue
                yield f"{label}.{model.__name__}.{f.name}", f


def service_functions(root: Path) -> Iterator[tuple[str, str]]:
    """(dotted name, function name) of the apps' services."""
    for label in APPS:
        for path in python_files(root / label, tests=False):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            is_services = path.name.endswith("services.py")
            module = ".".join(path.relative_to(root).with_suffix("").parts)
            for node in tree.body:
                if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                    continue
                atomic = any("atomic" in ast.unparse(d) for d in node.decorator_list)
                if is_services or atomic:
                    yield f"{module}.{node.name}", node.name


def call_counts(root: Path) -> dict[str, int]:
    """How often each name is used outside the tests (a `def` is not a use of its name; a
    dotted string, as tasks are enqueued, is a use of its last part)."""
    counts: dict[str, int] = {}
    for path in python_files(root, tests=False):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = (
                node.id
                if isinstance(node, ast.Name)
                else node.attr
                if isinstance(node, ast.Attribute)
                else node.value.rsplit(".", 1)[-1]
                if isinstance(node, ast.Constant) and isinstance(node.value, str)
                else None
            )
            if name:
                counts[name] = counts.get(name, 0) + 1
    return counts


def setting_keys() -> list[str]:
    return sorted(settings.FINISHLINE) + sorted(
        n for n in dir(settings) if n.startswith("FINISHLINE_")
    )


@dataclass(frozen=True)
class Finding:
    name: str
    why: str


def find(root: Path) -> list[Finding]:
    """Everything of the three apps that only tests or migrations write, read or call."""
    code = collect(python_files(root, tests=False))
    tests = collect(python_files(root, tests=True))
    found: list[Finding] = []
    for name, f in model_fields():
        keys = {f.name, f.attname}
        if keys & code.written:
            continue
        only = "written only in tests" if keys & tests.written else "never written"
        found.append(Finding(name, only))
    outside_config = collect(
        p for p in python_files(root, tests=False) if "config" not in p.relative_to(root).parts
    )
    for key in setting_keys():
        if key not in outside_config.strings and key not in outside_config.referenced:
            found.append(Finding(f"settings.{key}", "read only in config or tests"))
    calls = call_counts(root)
    for dotted, func in service_functions(root):
        if not calls.get(func):
            found.append(Finding(dotted, "called only from tests"))
    return found


def exceptions(readme: Path) -> dict[str, str]:
    """The README's listed exceptions: `- \\`name\\`: reason` lines under SECTION."""
    listed: dict[str, str] = {}
    inside = False
    for line in readme.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            inside = line.strip() == SECTION
            continue
        match = EXCEPTION_LINE.match(line.strip()) if inside else None
        if match:
            listed[match["name"]] = match["reason"]
    return listed


class Command(BaseCommand):
    help = "List model fields, settings and services that only tests or migrations write or use."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--root", default=str(settings.BASE_DIR))

    def handle(self, *args: Any, **options: Any) -> None:
        root = Path(options["root"])
        found = find(root)
        listed = exceptions(root / "README.md")
        unexplained = [f for f in found if f.name not in listed]
        stale = sorted(set(listed) - {f.name for f in found})
        for f in found:
            mark = "listed" if f.name in listed else "NOT LISTED"
            self.stdout.write(f"{mark:>10}  {f.name}: {f.why}")
        for name in stale:
            self.stdout.write(f"{'STALE':>10}  {name}: listed in the README but has a writer now")
        self.stdout.write(
            f"{len(found)} found, {len(found) - len(unexplained)} listed with a reason, "
            f"{len(unexplained)} not listed, {len(stale)} stale"
        )
        if unexplained or stale:
            raise CommandError("fields, settings or services without a writer are not explained")
