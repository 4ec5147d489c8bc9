"""The shape of the house: folders small enough to find one's way in, and code and docs that
describe what Finishline is rather than narrate the work periods that made it."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPPED = {"tests", "migrations", "__pycache__", ".venv", ".venv-ci", "node_modules", "var"}


def tracked_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [ROOT / line for line in out.splitlines() if (ROOT / line).exists()]


def python_folders() -> dict[Path, list[str]]:
    folders: dict[Path, list[str]] = {}
    for path in tracked_files():
        parts = set(path.relative_to(ROOT).parts[:-1])
        if path.suffix == ".py" and not parts & SKIPPED:
            folders.setdefault(path.parent, []).append(path.stem)
    return folders


def test_no_folder_holds_more_than_twenty_modules():
    crowded = {str(f.relative_to(ROOT)): len(m) for f, m in python_folders().items() if len(m) > 20}
    assert crowded == {}


def test_no_module_name_prefix_is_shared_by_more_than_two_modules_of_a_folder():
    shared = {}
    for folder, modules in python_folders().items():
        prefixes = Counter(m.split("_")[0] for m in modules if m != "__init__")
        for prefix, count in prefixes.items():
            if count > 2:
                shared[f"{folder.relative_to(ROOT)}/{prefix}_*"] = count
    assert shared == {}


def test_nothing_narrates_the_work_periods_that_made_it():
    diary = re.compile(r"session [0-9]+|session's[ ]machine", re.IGNORECASE)
    found = [
        str(path.relative_to(ROOT))
        for path in tracked_files()
        if path.suffix in {".py", ".md"}
        and path.name != "test_layout.py"
        and diary.search(path.read_text(errors="ignore"))
    ]
    assert found == []
