"""Releases: CHANGELOG.md has an [Unreleased] section and semantic versions, newest first;
`_template_version` in cookiecutter.json is the latest release; every breaking change comes
with upgrade notes and the version bump that semantic versioning asks for."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

import pytest

from tests.helpers import CONTEXT, TEMPLATE

HEADING = re.compile(r"^## \[(?P<name>[^\]]+)\](?P<rest>.*)$", re.MULTILINE)
RELEASE = re.compile(r"(?P<version>\d+\.\d+\.\d+) - \d{4}-\d{2}-\d{2}")
BREAKING = re.compile(r"^- \*\*Breaking:\*\*", re.MULTILINE)
UPGRADE_NOTES = re.compile(r"^### Upgrade notes$", re.MULTILINE)


@dataclass
class Section:
    name: str  # "Unreleased" or a version
    version: tuple[int, int, int] | None
    body: str


def parse(text: str) -> tuple[list[Section], list[str]]:
    """The `## [...]` sections of a changelog, in file order, and the problems found."""
    sections, problems = [], []
    matches = list(HEADING.finditer(text))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        body = text[match.end() : following.start() if following else len(text)]
        name, rest = match["name"], match["rest"]
        if name == "Unreleased":
            sections.append(Section(name, None, body))
            continue
        release = RELEASE.fullmatch(name + rest)
        if release is None or release["version"] != name:
            problems.append(f"heading '## [{name}]{rest}' is not '## [X.Y.Z] - YYYY-MM-DD'")
            continue
        version = tuple(int(part) for part in name.split("."))
        sections.append(Section(name, version, body))
    return sections, problems


def breaking_bump_ok(new: tuple[int, int, int], old: tuple[int, int, int]) -> bool:
    """A breaking change bumps the major version, or the minor one before 1.0.0."""
    if old[0] == 0:
        return new[:2] > old[:2]
    return new[0] > old[0]


def changelog_problems(text: str) -> list[str]:
    sections, problems = parse(text)
    if not sections or sections[0].name != "Unreleased":
        problems.append("the first section must be ## [Unreleased]")
    if [s.name for s in sections].count("Unreleased") > 1:
        problems.append("more than one ## [Unreleased] section")
    releases = [s for s in sections if s.version is not None]
    if not releases:
        problems.append("no release section")
    for newer, older in pairwise(releases):
        if newer.version <= older.version:
            problems.append(f"{newer.name} is listed above {older.name} but is not newer")
    for index, section in enumerate(sections):
        if not BREAKING.search(section.body):
            continue
        if not UPGRADE_NOTES.search(section.body):
            problems.append(f"[{section.name}] has a breaking change but no ### Upgrade notes")
        older = next((s for s in sections[index + 1 :] if s.version is not None), None)
        if section.version and older and not breaking_bump_ok(section.version, older.version):
            problems.append(
                f"[{section.name}] has a breaking change but only a minor or patch bump "
                f"from {older.name}"
            )
    return problems


def latest_release(text: str) -> str:
    sections, _ = parse(text)
    return next(s.name for s in sections if s.version is not None)


CHANGELOG = (TEMPLATE / "CHANGELOG.md").read_text()


def test_changelog_is_well_formed():
    assert changelog_problems(CHANGELOG) == []


def test_template_version_is_the_latest_release():
    assert re.fullmatch(r"\d+\.\d+\.\d+", CONTEXT["_template_version"])
    assert CONTEXT["_template_version"] == latest_release(CHANGELOG)


def test_rendered_services_record_the_template_version(bake):
    project = bake()
    assert f'"template_version": "{CONTEXT["_template_version"]}"' in (
        (project / ".cookiecutter.json").read_text()
    )
    assert f"version {CONTEXT['_template_version']}" in (project / "README.md").read_text()


GOOD = """# Changelog

## [Unreleased]

## [1.0.0] - 2027-01-02

### Changed
- **Breaking:** `api_type` is now `api`.

### Upgrade notes
- Run `cruft update --variables-to-update '{"api": "http"}'`.

## [0.2.0] - 2026-12-01

### Removed
- **Breaking:** the `foo` prompt.

### Upgrade notes
- Nothing to do.

## [0.1.0] - 2026-11-27
"""


def test_a_good_changelog_passes():
    assert changelog_problems(GOOD) == []
    assert latest_release(GOOD) == "1.0.0"


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda t: t.replace("## [Unreleased]\n", ""), "first section must be ## [Unreleased]"),
        (lambda t: t.replace("[1.0.0] - 2027-01-02", "[1.0] - 2027-01-02"), "is not '## [X.Y.Z]"),
        (lambda t: t.replace("[1.0.0] - 2027-01-02", "[1.0.0]"), "is not '## [X.Y.Z]"),
        (lambda t: t.replace("[0.2.0]", "[1.1.0]"), "is not newer"),
        (lambda t: t.replace("[1.0.0]", "[0.2.1]"), "only a minor or patch bump"),
        (lambda t: t.replace("[0.2.0]", "[0.1.1]"), "only a minor or patch bump"),
        (lambda t: t.replace("### Upgrade notes\n- Nothing", "- Nothing"), "no ### Upgrade notes"),
        (
            lambda t: t.replace("## [Unreleased]\n", "## [Unreleased]\n- **Breaking:** x\n"),
            "[Unreleased] has a breaking change but no ### Upgrade notes",
        ),
    ],
)
def test_a_bad_changelog_is_caught(edit, problem):
    problems = changelog_problems(edit(GOOD))
    assert any(problem in p for p in problems), problems
