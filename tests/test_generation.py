"""Bake the template: the defaults, then every value of every choice as a single-option
override (the way cookiecutter-django does), asserting on the content that matters for
that option, leftover Jinja, ruff, and the rendered project's own test suite."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.helpers import (
    BOOLEANS,
    CHOICES,
    CONTEXT,
    PIPELINE_FILES,
    TEMPLATE,
    jinja_leftovers,
    load_cfn_yaml,
    ruff,
    settings_title,
)

DEFAULT_SLUG = "fastapi-lambda-service"
DEFAULT_PACKAGE = "fastapi_lambda_service"


def pyproject(project: Path) -> dict:
    return tomllib.loads((project / "pyproject.toml").read_text())


# --- what each option must change in the rendered project ------------------------------


def check_python_version(project: Path, value: str) -> None:
    assert pyproject(project)["tool"]["ruff"]["target-version"] == "py" + value.replace(".", "")
    assert (
        f"Python\n{value}" in (project / "README.md").read_text()
        or f"Python {value}" in (project / "README.md").read_text()
    )


def check_architecture(project: Path, value: str) -> None:
    assert value in (project / "README.md").read_text()


def check_api_type(project: Path, value: str) -> None:
    readme = (project / "README.md").read_text()
    if value == "http":
        assert "HTTP API" in readme
        assert "REST API (stage" not in readme
    else:
        assert "REST API (stage `prod`)" in readme


CI_README = {
    "github-actions": "repository variable**, name `AWS_DEPLOY_ROLE_ARN`",
    "gitlab": "`AWS_DEPLOY_ROLE_ARN`, value the ARN from step 2, with **Protect variable**",
    "travis": "aws iam create-access-key --user-name fastapi-lambda-service-deploy",
    "none": "No CI/CD pipeline was rendered",
}


def check_ci_provider(project: Path, value: str) -> None:
    """Exactly the chosen provider's pipeline file, none of the others, none for `none`;
    Dependabot with GitHub Actions only; the README says how to set the pipeline up."""
    pipelines = {rel for rel in PIPELINE_FILES.values() if (project / rel).exists()}
    if value == "none":
        assert pipelines == set()
    else:
        assert pipelines == {PIPELINE_FILES[value]}
    if value == "github-actions":
        assert sorted(p.name for p in (project / ".github").rglob("*") if p.is_file()) == [
            "dependabot.yml",
            "deploy.yml",
        ]
    else:
        assert not (project / ".github").exists()
    readme = (project / "README.md").read_text()
    section = readme.split("## Continuous deployment", 1)[1]
    assert " ".join(CI_README[value].split()) in " ".join(section.split())
    for other in set(CI_README) - {value}:
        assert " ".join(CI_README[other].split()) not in " ".join(section.split())


def check_snapstart(project: Path, value: bool) -> None:
    function = load_cfn_yaml(project / "template.yml")["Resources"]["ApiFunction"]["Properties"]
    actions: set[str] = set()
    for statement in json.loads((project / "iam" / "deploy-policy.json").read_text())["Statement"]:
        action = statement["Action"]
        actions.update([action] if isinstance(action, str) else action)
    if value:
        assert function["SnapStart"] == {"ApplyOn": "PublishedVersions"}
        assert function["AutoPublishAlias"] == "live"
        assert {"lambda:PublishVersion", "lambda:CreateAlias", "lambda:UpdateAlias"} <= actions
        assert "alias\n`live`, which the API invokes" in (project / "README.md").read_text()
    else:
        assert "SnapStart" not in function
        assert "AutoPublishAlias" not in function
        assert not {a for a in actions if "Alias" in a or "Version" in a}


LICENSE_FIRST_LINES = {
    "MIT": ("MIT License", "MIT"),
    "Apache-2.0": ("Apache License", "Apache-2.0"),
    "BSD-3-Clause": ("BSD 3-Clause License", "BSD-3-Clause"),
    "Proprietary": ("Copyright (c)", "LicenseRef-Proprietary"),
}


def check_license(project: Path, value: str) -> None:
    text = (project / "LICENSE").read_text()
    first_line, expression = LICENSE_FIRST_LINES[value]
    assert text.strip().startswith(first_line)
    assert "Your Name" in text
    assert pyproject(project)["project"]["license"] == expression


OPTION_CHECKS = {
    "python_version": check_python_version,
    "architecture": check_architecture,
    "api_type": check_api_type,
    "ci_provider": check_ci_provider,
    "snapstart": check_snapstart,
    "license": check_license,
}

SINGLE_OPTIONS = [
    (key, value) for key, values in {**CHOICES, **BOOLEANS}.items() for value in values
]


def test_every_option_has_a_check():
    assert set(OPTION_CHECKS) == set(CHOICES) | set(BOOLEANS)


# --- the default render -------------------------------------------------------------------


def test_default_bake(bake, run_service_tests):
    project = bake()
    assert project.name == DEFAULT_SLUG
    assert jinja_leftovers(project) == []

    meta = pyproject(project)["project"]
    assert meta["name"] == DEFAULT_SLUG
    assert meta["description"] == CONTEXT["description"]
    assert meta["authors"] == [{"name": "Your Name", "email": "you@example.com"}]
    assert meta["dynamic"] == ["dependencies"]
    assert "dev" in meta["optional-dependencies"]

    main = (project / "src" / DEFAULT_PACKAGE / "main.py").read_text()
    assert "handler = make_handler(app, base_path=settings.base_path)" in main
    root_path = (project / "src" / DEFAULT_PACKAGE / "core" / "root_path.py").read_text()
    assert 'Mangum(RootPath(app, base_path), lifespan="off")' in root_path
    assert "async def ping" in main
    example = project / "src" / DEFAULT_PACKAGE / "api" / "v1" / "endpoints" / "example.py"
    assert "async def multiply" in example.read_text()

    # Runtime pins: exact versions, and nothing meant for development.
    requirements = [
        line
        for line in (project / "src" / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert all("==" in line for line in requirements), requirements
    names = {line.split("==")[0] for line in requirements}
    assert {"fastapi", "mangum", "pydantic", "pydantic-settings"} <= names
    assert {"aws-lambda-powertools", "opentelemetry-sdk", "httpx2"} <= names  # telemetry, clients
    assert not names & {"pytest", "ruff", "httpx", "uvicorn", "hypothesis", "schemathesis"}
    # Tests and tools stay outside the directory that ships to Lambda.
    assert not any(p.name.startswith("test") for p in (project / "src").rglob("*"))

    ruff(project)
    output = run_service_tests(project).stdout
    assert " passed" in output
    assert "failed" not in output


# --- every value of every choice ----------------------------------------------------------


@pytest.mark.parametrize(("key", "value"), SINGLE_OPTIONS, ids=lambda v: str(v))
def test_single_option(bake, run_service_tests, key, value):
    project = bake(**{key: value})
    assert jinja_leftovers(project) == []
    OPTION_CHECKS[key](project, value)
    ruff(project)
    run_service_tests(project)


def test_free_text_reaches_python_and_toml(bake, run_service_tests):
    name = 'Quote "me" \\ ünïcode 😀: #1 ${X} <b>&'
    project = bake(project_name=name, description=name, author_name=name, project_slug="odd")
    meta = pyproject(project)["project"]
    assert meta["description"] == name
    assert meta["authors"][0]["name"] == name
    assert settings_title(project, "odd") == name
    ruff(project)
    run_service_tests(project)


# --- command-line answers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("no", False), ("false", False), ("n", False), ("yes", True), ("true", True)],
)
def test_boolean_answer_on_the_command_line(tmp_path, answer, expected):
    """`cookiecutter --no-input . snapstart=no` must mean no (a non-empty string is truthy)."""
    config = tmp_path / "config.yaml"
    config.write_text(f"replay_dir: {json.dumps(str(tmp_path / 'replay'))}\n")
    subprocess.run(
        [
            Path(sys.executable).parent / "cookiecutter",
            "--no-input",
            "--config-file",
            config,
            "--output-dir",
            tmp_path / "out",
            TEMPLATE,
            f"snapstart={answer}",
        ],
        check=True,
        capture_output=True,
    )
    (replay,) = (tmp_path / "replay").iterdir()
    assert json.loads(replay.read_text())["cookiecutter"]["snapstart"] is expected


def test_template_code_is_ruff_clean():
    """The hooks and this suite follow the same lint rules as the code they render."""
    for tool in (["check", "--no-cache"], ["format", "--no-cache", "--check"]):
        subprocess.run(
            [Path(sys.executable).parent / "ruff", *tool, "hooks", "tests"],
            cwd=TEMPLATE,
            check=True,
        )
