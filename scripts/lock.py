"""Regenerate the rendered project's lock, `{{cookiecutter.project_slug}}/uv.lock`: the one
place its dependencies are pinned (with hashes). Run it after changing the rendered
pyproject.toml's dependencies, or to upgrade them (`make lock` runs it with the venv's uv):

    .venv/bin/python scripts/lock.py                           # keep every pin that still fits
    .venv/bin/python scripts/lock.py --upgrade                 # the newest versions of everything
    .venv/bin/python scripts/lock.py --upgrade-package fastapi

It renders the defaults (the current lock comes with them), runs `uv lock` in the render, and
writes the result back as a template. Only the project's own entry depends on the answers: its
name, the slug (PEP 503-normalised). uv sorts the entries by name, so the template places that
entry where the slug sorts among the dependencies' names. No dependency varies by answer.
tests/test_lock.py renders every preset and single-option override and fails when the lock is
stale (`uv lock --check`) or misplaced."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
LOCK = TEMPLATE / "{{cookiecutter.project_slug}}" / "uv.lock"
DEFAULT_SLUG = "fastapi-lambda-service"

HEADER = (
    "{#- Written by scripts/lock.py of the template: regenerate it there, never by hand. uv"
    " sorts the entries by name; this service's own entry goes where its name sorts. -#}\n"
    '{%- set name = cookiecutter.project_slug.split("-") | select | join("-") %}'
)


def uv() -> str:
    """The venv's uv (requirements-test.txt pins it), else the one on PATH."""
    local = Path(sys.executable).with_name("uv")
    found = str(local) if local.exists() else shutil.which("uv")
    if not found:
        sys.exit("uv not found: `make lock` installs it into .venv")
    return found


def blocks(lock: str) -> tuple[str, list[tuple[str, str]]]:
    """The lock's header and its `[[package]]` entries as (name, text), in file order. Each
    text starts with the blank line that separates it from what comes before."""
    header, *rest = re.split(r"\n(?=\[\[package\]\]\n)", lock)
    entries = []
    for text in rest:
        match = re.match(r'\[\[package\]\]\nname = "([^"]+)"\n', text)
        assert match, text[:80]
        entries.append((match.group(1), "\n" + text))
    return header, entries


def templated(lock: str, slug: str) -> str:
    """The lock as a Jinja template: the dependencies verbatim, the project's entry in a macro
    that each gap between two names emits when the slug sorts there."""
    for marker in ("{{", "{%", "{#", "#}", "%}", "}}"):
        assert marker not in lock, f"{marker} in the lock: it would need escaping"
    header, entries = blocks(lock)
    names = [name for name, _ in entries]
    assert names == sorted(names), "uv writes the entries sorted by name"
    (project,) = [text for name, text in entries if name == slug]
    others = [(name, text) for name, text in entries if name != slug]
    project = project.replace(f'name = "{slug}"\n', 'name = "{{ name }}"\n', 1)
    out = [HEADER, "{% macro project() %}", project, "{% endmacro %}", header]
    names = [name for name, _ in others]
    gaps = zip([None, *names], [*names, None], strict=True)
    for (low, high), text in zip(gaps, [*(text for _, text in others), ""], strict=True):
        if low is None:
            condition = f'name < "{high}"'
        elif high is None:
            condition = f'name > "{low}"'
        else:
            condition = f'"{low}" < name < "{high}"'
        out += [f"{{% if {condition} %}}{{{{ project() }}}}{{% endif %}}", text]
    return "".join(out)


def render_defaults(out: Path) -> Path:
    from cookiecutter.main import cookiecutter

    return Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(out)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upgrade", action="store_true", help="newest versions of everything")
    parser.add_argument("--upgrade-package", action="append", default=[], metavar="NAME")
    args = parser.parse_args()
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    with tempfile.TemporaryDirectory() as tmp:
        project = render_defaults(Path(tmp))
        slug = json.loads((project / ".cookiecutter.json").read_text())["default_context"][
            "project_slug"
        ]
        assert slug == DEFAULT_SLUG, slug
        command = [uv(), "lock", "--python", sys.executable]
        command += ["--upgrade"] if args.upgrade else []
        command += [f"--upgrade-package={name}" for name in args.upgrade_package]
        subprocess.run(command, cwd=project, env=env, check=True)
        lock = (project / "uv.lock").read_text()
    LOCK.write_text(templated(lock, slug))
    print(f"wrote {LOCK.relative_to(TEMPLATE)}")


if __name__ == "__main__":
    main()
