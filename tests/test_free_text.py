"""Free text (project_name, description, author_name) never breaks a rendered file.

Property-based: bake with generated strings (quotes, backslashes, colons, `#`, `${...}`,
`<`, `&`, Markdown specials, tabs, non-ASCII) and parse EVERY rendered YAML, TOML and
JSON file, whichever branch added it; the exact text must come back where it lands, the
README must show it as typed, and the render stays ruff-clean."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hooks.post_gen_project import check_data_files
from hooks.pre_gen_project import check_free_text
from local_extensions import model
from tests.helpers import (
    BIN,
    DEFAULTS,
    load_yaml,
    rendered_files,
    settings_title,
    shown,
    squash,
)

SPECIALS = [
    *"\"'\\:#${}<>&*_`[]|~!-+=.()@%/\t ",
    "${X}",
    "\\n",
    '"""',
    "'''",
    "\u00e9",
    "\U0001f600",
]

# Characters the pre-generation hook accepts in free text (it refuses the rest, tested in
# test_hooks.py).
printable = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Cn", "Co"))
free_text = st.lists(st.one_of(st.sampled_from(SPECIALS), printable), max_size=30).map("".join)


def usable(text: str) -> bool:
    """With --no-input, cookiecutter renders answers given as extra context as Jinja, so
    Jinja delimiters in them are cookiecutter's business, not this template's."""
    return not re.search(r"\{[{%#]|[}%#]\}", text)


SLUG = {"project_slug": "svc"}  # free text makes no slug of its own here


def check_render(project: Path, name: str, description: str, author: str) -> None:
    # Every YAML (with CloudFormation/GitLab short-form tags), TOML and JSON file parses: the
    # post-gen hook's check, and then the data.
    assert check_data_files(project, {}) == []
    parsed = {}
    for path in rendered_files(project):
        text = path.read_text(encoding="utf-8")
        if path.suffix in (".yml", ".yaml"):
            parsed[path.name] = load_yaml(path)
        elif path.suffix == ".toml":
            parsed[path.name] = tomllib.loads(text)
        elif path.suffix == ".json":
            parsed[path.name] = json.loads(text)
    assert {"pyproject.toml", "template.yml", "deploy-policy.json"} <= set(parsed)

    # The exact text, where it lands.
    meta = parsed["pyproject.toml"]["project"]
    assert meta["description"] == description
    assert meta["authors"][0]["name"] == author
    # The SAM template keeps free text out (a `${...}` in it would read as a substitution
    # to cfn-lint, E1029): its Description is built from the slug alone.
    assert parsed["template.yml"]["Description"].startswith("svc: ")
    assert settings_title(project, "svc") == name
    assert author in (project / "LICENSE").read_text()

    # The README shows the text as typed: a heading, then the description's paragraph.
    blocks = shown((project / "README.md").read_text())
    assert squash(blocks[0]) == squash(name)
    if description.strip():
        assert squash(blocks[1]) == squash(description)

    # Free text never makes the rendered code fail its own lint.
    for tool in (["check", "--no-cache", "-q"], ["format", "--no-cache", "--check", "-q"]):
        result = subprocess.run(
            [BIN / "ruff", *tool, "."], cwd=project, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=free_text.filter(lambda s: s.strip() and usable(s)),
    description=free_text.filter(usable),
    author=free_text.filter(usable),
)
def test_free_text_round_trips(bake, name, description, author):
    answers = {"project_name": name, "description": description}
    assert check_free_text(answers, model(answers)) == []
    project = bake(project_name=name, description=description, author_name=author, **SLUG)
    check_render(project, name, description, author)


EXAMPLES = [
    ('Quote "me" \\ ünïcode 😀: #1 ${X} <b>&amp;', "- *not* a list, `nor` code"),
    ("# not a heading #", "1. not a list"),
    ("'''single'''", '"""; import os; os.system("touch {marker}") #'),
    (
        "\u0421\u0435\u0440\u0432\u0438\u0441 \uff21\uff30\uff29 \u2163 \u2013 " + "long " * 20,
        "> not a quote | nor | a table ~~struck~~ $math$",
    ),
    ("\tTabbed\tname ", "---"),
    ("a\\", "[link](http://x) ![img](y) <http://z> &copy;"),
]


def test_free_text_examples(bake, tmp_path):
    """Hand-picked cases (each is also a shape hypothesis may or may not find)."""
    marker = tmp_path / "pwned"
    for name, template in EXAMPLES:
        description = template.replace("{marker}", str(marker))
        project = bake(project_name=name, description=description, **SLUG)
        check_render(project, name, description, DEFAULTS["author_name"])
    assert not marker.exists()
