"""Helpers shared by the template's tests."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
CONTEXT = json.loads((TEMPLATE / "cookiecutter.json").read_text())

# Every choice variable and its values (lists in cookiecutter.json), plus the booleans.
CHOICES = {key: value for key, value in CONTEXT.items() if isinstance(value, list)}
BOOLEANS = {key: [False, True] for key, value in CONTEXT.items() if isinstance(value, bool)}

# Leftover Jinja: `{{` not part of a GitHub Actions `${{ }}` expression, any `{%`, and any
# `{{ cookiecutter` at all.
JINJA_LEFTOVER = re.compile(r"(?<!\$)\{\{|\{%|\{\{\s*cookiecutter\b")

BIN = Path(sys.executable).parent


def rendered_files(project: Path) -> list[Path]:
    return sorted(p for p in project.rglob("*") if p.is_file() and ".venv" not in p.parts)


def jinja_leftovers(project: Path) -> list[str]:
    found = []
    for path in rendered_files(project):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for line_no, line in enumerate(text.splitlines(), 1):
            if JINJA_LEFTOVER.search(line):
                found.append(f"{path.relative_to(project)}:{line_no}: {line.strip()}")
    return found


def run(cmd: list[str | Path], cwd: Path, env: dict | None = None, timeout: int = 600):
    """Run a command and fail with its output if it fails."""
    result = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, cmd))} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    return result


def ruff(project: Path) -> None:
    """The rendered project must be ruff-clean under its own configuration."""
    run([BIN / "ruff", "check", "--no-cache", "."], cwd=project)
    run([BIN / "ruff", "format", "--no-cache", "--check", "."], cwd=project)


def service_tests(project: Path, python: Path):
    """Run a rendered project's own test suite (`pytest`, as its README says) with `python`,
    the interpreter of a venv that has the service's dependencies (the `service_python`
    fixture), and the project's own `src/` first on PYTHONPATH."""
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    env.pop("PYTEST_XDIST_WORKER", None)
    result = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project, env)
    assert " passed" in result.stdout, result.stdout
    return result


def lint_rendered(project: Path, python: Path) -> None:
    """Everything a render must pass: no leftover Jinja, ruff under the project's own
    configuration, and the project's own test suite (run with `python`, see
    `service_tests`)."""
    assert jinja_leftovers(project) == []
    ruff(project)
    service_tests(project, python)
