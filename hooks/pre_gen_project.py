"""Pre-generation hook: refuse bad answers before anything is rendered.

The answers arrive as JSON data (rendered with ``| tojson``), never pasted into
code, so an answer holding quotes or Python is only ever a string. Each rule is
one function that takes the answers and returns a list of problems; ``main``
runs them all and prints every problem at once.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""

FREE_TEXT_FIELDS = ("project_name", "description", "author_name")


@dataclass(frozen=True)
class Problem:
    field: str
    value: object
    rule: str
    example: str

    def __str__(self) -> str:
        return (
            f"  - {self.field} = {self.value!r}\n"
            f"      rule: {self.rule}\n"
            f"      e.g.: {self.example}"
        )


Rule = Callable[[dict], list[Problem]]


def check_free_text(answers: dict) -> list[Problem]:
    """Free text is rendered into YAML, TOML, JSON, Python and Markdown as one
    escaped line: refuse line breaks and control characters (tab is fine)."""
    problems = []
    for field in FREE_TEXT_FIELDS:
        value = answers.get(field, "")
        bad = [
            ch
            for ch in value
            if ch != "\t" and unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp", "Cn", "Co")
        ]
        if bad:
            problems.append(
                Problem(
                    field,
                    value,
                    "a single line of printable text (no line breaks or control characters)",
                    'My Service: the "fast" one',
                )
            )
    return problems


RULES: list[Rule] = [check_free_text]


def collect_problems(answers: dict) -> list[Problem]:
    """Run every rule and return all the problems found."""
    return [problem for rule in RULES for problem in rule(answers)]


def format_problems(problems: list[Problem]) -> str:
    return "\n".join([f"ERROR: {len(problems)} answer(s) cannot be used:", *map(str, problems)])


def main(answers_json: str = ANSWERS_JSON) -> int:
    problems = collect_problems(json.loads(answers_json))
    if problems:
        print(format_problems(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
