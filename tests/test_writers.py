"""`manage.py check_writers`: nothing in interventions, certificates or completion is written,
read or called only by the tests, but for the README's listed exceptions."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from completion.management.commands.check_writers import Finding, exceptions, find

ROOT = Path(__file__).resolve().parents[1]


def test_the_project_has_no_unexplained_field_setting_or_service():
    out = io.StringIO()
    call_command("check_writers", stdout=out)
    assert "0 not listed, 0 stale" in out.getvalue()


def test_a_field_only_tests_write_is_found_and_fails_unless_listed(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("Item(position=1)\n")
    (tmp_path / "app.py").write_text("def f(item):\n    item.note = 'x'\n")
    found = {f.name: f.why for f in find(tmp_path)}
    assert found["completion.Item.position"] == "written only in tests"
    assert found["completion.Item.title"] == "never written"
    assert "completion.Accommodation.note" not in found  # app.py writes a `note`
    (tmp_path / "README.md").write_text("# x\n### Kept without a writer\n- `a.B.c`: why\n")
    with pytest.raises(CommandError):
        call_command("check_writers", root=str(tmp_path), stdout=io.StringIO())


def test_exceptions_are_read_from_their_readme_section_only(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(
        "## Other\n- `x.Y.z`: not here\n### Kept without a writer\n- `a.B.c`: the reason\n"
    )
    assert exceptions(readme) == {"a.B.c": "the reason"}
    assert Finding("a.B.c", "never written").name in exceptions(readme)
    assert ROOT.joinpath("README.md").exists()
