"""Post-generation hook: remove the files of options not chosen, then check
what was rendered. Runs inside the new project directory."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""

JINJA_LEFTOVER = re.compile(r"(?<!\$)\{\{|\{\%|\{\{\s*cookiecutter\b")


def remove(project: Path, *relative: str) -> None:
    """Remove files or directories of the project, if present."""
    for rel in relative:
        path = project / rel
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def remove_github_actions(project: Path, answers: dict) -> None:
    if answers["ci_provider"] != "github-actions":
        remove(project, ".github")


def remove_gitlab_ci(project: Path, answers: dict) -> None:
    if answers["ci_provider"] != "gitlab":
        remove(project, ".gitlab-ci.yml")


def remove_travis_ci(project: Path, answers: dict) -> None:
    if answers["ci_provider"] != "travis":
        remove(project, ".travis.yml")


REMOVALS = [remove_github_actions, remove_gitlab_ci, remove_travis_ci]


def find_jinja_leftovers(project: Path) -> list[str]:
    """Files that still hold Jinja markup after rendering."""
    found = []
    for path in sorted(project.rglob("*")):
        if path.is_file():
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            if JINJA_LEFTOVER.search(text):
                found.append(str(path.relative_to(project)))
    return found


def main(answers_json: str = ANSWERS_JSON, project: Path | None = None) -> int:
    answers = json.loads(answers_json)
    project = project or Path.cwd()
    for removal in REMOVALS:
        removal(project, answers)
    problems = [
        f"{name}: Jinja markup left after rendering" for name in find_jinja_leftovers(project)
    ]
    if problems:
        # cookiecutter removes the project directory when this hook fails.
        print("ERROR: the rendered project is broken:", *problems, sep="\n  - ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
