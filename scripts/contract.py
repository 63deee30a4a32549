"""Regenerate the rendered project's API contract, `{{cookiecutter.project_slug}}/openapi.json`,
as a template: run it after changing an endpoint or a model of the rendered app (`make
contract` runs it with the venv's tools):

    .venv/bin/python scripts/contract.py

The app's OpenAPI schema depends on the answers that add operations (VARIANTS: JWT
authentication, the items resource). The script renders every combination of them, has each
render write its own schema (`python -m tests.test_openapi`, in one venv made with the
render's locked dependencies), and merges the schemas, line by line, into one Jinja template:
a line all of them share is written as it is, any other under the condition that selects
the renders that have it. Everything else in a schema is the same for every answer, but the
title, which the template writes from `project_name`. tests/test_toolchain.py renders the
combinations and fails when a render's openapi.json is not its app's schema."""

from __future__ import annotations

import difflib
import itertools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
CONTRACT = TEMPLATE / "{{cookiecutter.project_slug}}" / "openapi.json"
ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
# Each answer that changes the schema: its condition in the template (on the model `m`),
# and the answers that turn it on.
VARIANTS = {
    "m.jwt": {"auth": "jwt", "jwt_issuer": ISSUER, "jwt_audience": "contract"},
    "m.datastore.dynamodb": {"datastore": "dynamodb"},
}
TITLE = '    "title": "{title}",'
HEADER = "{%- set m = cookiecutter | model -%}"


def uv() -> str:
    local = Path(sys.executable).with_name("uv")
    return str(local) if local.exists() else "uv"


def schemas(out: Path) -> dict[tuple[bool, ...], list[str]]:
    """{which VARIANTS are on: the lines of that render's openapi.json, as its app makes it}."""
    from cookiecutter.main import cookiecutter

    venv = out / "venv"
    found = {}
    for index, flags in enumerate(itertools.product((False, True), repeat=len(VARIANTS))):
        answers = {"project_name": "Contract"}
        for on, extra in zip(flags, VARIANTS.values(), strict=True):
            answers |= extra if on else {}
        output = str(out / str(index))
        project = Path(
            cookiecutter(str(TEMPLATE), no_input=True, output_dir=output, extra_context=answers)
        )
        if not venv.exists():
            env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
            sync = [uv(), "sync", "--quiet", "--locked", "--no-install-project"]
            sync += ["--python", sys.executable]
            subprocess.run(sync, cwd=project, env=env, check=True)
        env = {**os.environ, "PYTHONPATH": str(project / "src")}
        write = [str(venv / "bin" / "python"), "-m", "tests.test_openapi"]
        subprocess.run(write, cwd=project, env=env, check=True, stdout=subprocess.DEVNULL)
        lines = (project / "openapi.json").read_text().splitlines()
        assert lines[3] == TITLE.format(title="Contract"), lines[3]
        found[flags] = lines
    return found


def condition(members: set[tuple[bool, ...]]) -> str:
    """The simplest Jinja condition true for exactly the combinations of `members`: one
    conjunction of the VARIANTS' conditions (some negated) if one fits, else a disjunction
    of one conjunction per combination."""
    names = list(VARIANTS)
    # Each variant in a conjunction: required on (True), off (False) or free (None).
    shapes = sorted(
        itertools.product((None, True, False), repeat=len(names)),
        key=lambda shape: sum(value is not None for value in shape),
    )
    every = set(itertools.product((False, True), repeat=len(names)))

    def holds(shape: tuple[bool | None, ...], flags: tuple[bool, ...]) -> bool:
        return all(want is None or want == on for want, on in zip(shape, flags, strict=True))

    def text(shape: tuple[bool | None, ...]) -> str:
        terms = [
            name if want else f"not {name}"
            for name, want in zip(names, shape, strict=True)
            if want is not None
        ]
        return " and ".join(terms)

    for shape in shapes:  # a conjunction
        if {flags for flags in every if holds(shape, flags)} == members:
            return text(shape)
    for shape in shapes:  # a disjunction
        if {flags for flags in every if not holds(_negated(shape), flags)} == members:
            return text(shape).replace(" and ", " or ")
    return " or ".join(f"({text(flags)})" for flags in sorted(members))


def _negated(shape: tuple[bool | None, ...]) -> tuple[bool | None, ...]:
    return tuple(None if want is None else not want for want in shape)


def merged(found: dict[tuple[bool, ...], list[str]]) -> list[tuple[str, set]]:
    """The lines of every schema in one sequence, each with the combinations that have it."""
    entries: list[tuple[str, set]] = []
    for flags, lines in found.items():
        texts = [text for text, _ in entries]
        matcher = difflib.SequenceMatcher(a=texts, b=lines, autojunk=False)
        result: list[tuple[str, set]] = []
        for tag, a0, a1, b0, b1 in matcher.get_opcodes():
            if tag == "equal":
                result += [(text, members | {flags}) for text, members in entries[a0:a1]]
            else:
                result += entries[a0:a1]
                result += [(line, {flags}) for line in lines[b0:b1]]
        entries = result
    return entries


def templated(found: dict[tuple[bool, ...], list[str]]) -> str:
    everyone = set(found)
    out = [HEADER]
    for members, group in itertools.groupby(merged(found), key=lambda entry: entry[1]):
        lines = [text for text, _ in group]
        if members == everyone:
            out += lines
        else:
            out.append("{%- if " + condition(members) + " %}")
            out += lines
            out.append("{%- endif %}")
    text = "\n".join(out) + "\n"
    title = TITLE.format(title="Contract")
    assert text.count(title) == 1
    return text.replace(title, '    "title": {{ cookiecutter.project_name | json_str }},')


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        found = schemas(Path(tmp))
    for lines in found.values():
        json.loads("\n".join(lines))
    CONTRACT.write_text(templated(found))
    print(f"wrote {CONTRACT.relative_to(TEMPLATE)}")


if __name__ == "__main__":
    main()
