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
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config

from hooks.pre_gen_project import bucket_name_errors
from tests.helpers import (
    BOOLEANS,
    CHOICES,
    CONTEXT,
    DEFAULTS,
    PIPELINE_FILES,
    SINGLE_OPTIONS,
    SWITCHES,
    TEMPLATE,
    credential_lookalikes,
    default_bucket,
    docs_problems,
    jinja_leftovers,
    load_yaml,
    locked_runtime,
    render_answers,
    ruff,
    settings_title,
    single_option,
)

# The rendered project's docs/, each linked from its README.
DOCS = [
    "api-edge.md",
    "deployment.md",
    "development.md",
    "event-sources.md",
    "observability.md",
    "operations.md",
    "performance.md",
    "updating.md",
]


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
    "travis": f"aws iam create-access-key --user-name {DEFAULTS['stack_name']}-deploy",
    "none": "No CI/CD pipeline was rendered",
}


def check_ci_provider(project: Path, value: str) -> None:
    """Exactly the chosen provider's pipeline file, none of the others, none for `none`;
    Dependabot with GitHub Actions only; docs/deployment.md says how to set the pipeline up."""
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
    deployment = (project / "docs" / "deployment.md").read_text()
    section = deployment.split("## Continuous deployment", 1)[1]
    assert " ".join(CI_README[value].split()) in " ".join(section.split())
    for other in set(CI_README) - {value}:
        assert " ".join(CI_README[other].split()) not in " ".join(section.split())


def check_snapstart(project: Path, value: bool) -> None:
    function = load_yaml(project / "template.yml")["Resources"]["ApiFunction"]["Properties"]
    actions: set[str] = set()
    for statement in json.loads((project / "iam" / "deploy-policy.json").read_text())["Statement"]:
        action = statement["Action"]
        actions.update([action] if isinstance(action, str) else action)
    if value:
        assert function["SnapStart"] == {"ApplyOn": "PublishedVersions"}
        assert function["AutoPublishAlias"] == "live"
        assert {"lambda:PublishVersion", "lambda:CreateAlias", "lambda:UpdateAlias"} <= actions
        deployment = (project / "docs" / "deployment.md").read_text()
        assert "alias\n`live`, which the API invokes" in deployment
    else:
        assert "SnapStart" not in function
        # The default canary deployments keep the alias; without them there is none.
        assert function["AutoPublishAlias"] == "live"
        assert "alias\n`live`, which the API invokes" not in (project / "README.md").read_text()


def check_environments(project: Path, value: str) -> None:
    """One stack, or a staging and a production stack with a policy each."""
    policies = sorted(p.name for p in (project / "iam").iterdir())
    config = tomllib.loads((project / "samconfig.toml").read_text())
    parameters = load_yaml(project / "template.yml")["Parameters"]
    if value == "single":
        assert policies == ["deploy-policy.json"]
        assert set(config) == {"version", "default"}
        assert "Environment" not in parameters
    else:
        assert policies == ["deploy-policy-production.json", "deploy-policy-staging.json"]
        assert {"staging", "production"} <= set(config)
        assert parameters["Environment"]["AllowedValues"] == ["staging", "production"]
    assert (project / "docs" / "operations.md").is_file()


def check_deployment_strategy(project: Path, value: str) -> None:
    function = load_yaml(project / "template.yml")["Resources"]["ApiFunction"]["Properties"]
    hook = project / "src" / "deploy_hooks" / "pre_traffic.py"
    if value == "canary":
        assert function["DeploymentPreference"]["Type"] == "Canary10Percent5Minutes"
        assert function["AutoPublishAlias"] == "live"
        assert hook.is_file()
        assert (project / "tests" / "test_pre_traffic.py").is_file()
    else:
        assert "DeploymentPreference" not in function
        assert "AutoPublishAlias" not in function  # SnapStart is off by default
        assert not hook.parent.exists()
        assert not (project / "tests" / "test_pre_traffic.py").exists()


def check_alarm_email(project: Path, value: str) -> None:
    """The address is subscribed to the alarms' topic, and the policy lets the deploy
    subscribe exactly that address."""
    template = load_yaml(project / "template.yml")
    assert template["Parameters"]["AlarmEmail"]["Default"] == value
    assert template["Resources"]["AlarmEmailSubscription"]["Properties"]["Endpoint"] == {
        "Ref": "AlarmEmail"
    }
    assert f'"sns:Endpoint": "{value}"' in (project / "iam" / "deploy-policy.json").read_text()
    assert f"`{value}` is subscribed" in (project / "docs" / "operations.md").read_text()


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
    assert DEFAULTS["author_name"] in text
    assert pyproject(project)["project"]["license"] == expression


def check_auth(project: Path, value: str) -> None:
    """auth=jwt renders the dependency, its endpoint and tests, and the authorizer; none
    renders none of them."""
    package = project / "src" / DEFAULTS["package_name"]
    jwt_files = [package / "core" / "auth.py", package / "api" / "v1" / "endpoints" / "me.py"]
    jwt_files.append(project / "tests" / "test_auth.py")
    http_api = load_yaml(project / "template.yml")["Resources"]["HttpApi"]["Properties"]
    main = (package / "main.py").read_text()
    if value == "jwt":
        assert all(path.is_file() for path in jwt_files)
        assert http_api["Auth"]["DefaultAuthorizer"] == "JwtAuthorizer"
        assert "dependencies=[Depends(current_principal)]" in main
    else:
        assert not any(path.exists() for path in jwt_files)
        assert "Auth" not in http_api
        assert "current_principal" not in main


def check_datastore(project: Path, value: str) -> None:
    """dynamodb renders the table, the repository, the items resource, their tests and doc;
    none renders none of them (and the app has no items routes)."""
    package = project / "src" / DEFAULTS["package_name"]
    files = [
        package / "repositories" / "items.py",
        package / "models" / "items.py",
        package / "api" / "v1" / "endpoints" / "items.py",
        project / "tests" / "test_items.py",
        project / "docs" / "datastore.md",
    ]
    template = load_yaml(project / "template.yml")
    contract = json.loads((project / "openapi.json").read_text())
    if value == "dynamodb":
        assert all(path.is_file() for path in files)
        assert template["Resources"]["ItemsTable"]["Type"] == "AWS::DynamoDB::Table"
        assert "/api/v1/items/{item_id}" in contract["paths"]
        assert (project / "tests" / "aws.py").is_file()
    else:
        assert not any(path.exists() for path in files)
        assert not (package / "repositories").exists()
        assert "ItemsTable" not in template["Resources"]
        assert not [path for path in contract["paths"] if "items" in path]


def check_secrets(project: Path, value: str) -> None:
    """A store renders core/secrets.py, its tests and doc, the prefix and the role's read of
    it, and keeps Powertools' parameters utility in the build; none renders none of it."""
    package = project / "src" / DEFAULTS["package_name"]
    files = [package / "core" / "secrets.py", project / "tests" / "test_secrets.py"]
    files.append(project / "docs" / "secrets.md")
    function = load_yaml(project / "template.yml")["Resources"]["ApiFunction"]["Properties"]
    variables = function["Environment"]["Variables"]
    bootstrap = (project / "infra" / "bootstrap.yml").read_text()
    makefile = (project / "src" / "Makefile").read_text()
    read = {"parameter-store": "ssm:GetParameter", "secrets-manager": "GetSecretValue"}
    if value == "none":
        assert not any(path.exists() for path in files)
        assert "SECRETS_PREFIX" not in variables
        assert "ssm:" not in bootstrap
        assert "secretsmanager:" not in bootstrap
        assert " parameters " in makefile  # pruned: nothing reads parameters
        return
    assert all(path.is_file() for path in files)
    stack = DEFAULTS["stack_name"]
    prefix = {"parameter-store": f"/{stack}/", "secrets-manager": f"{stack}/"}
    assert variables["SECRETS_PREFIX"] == prefix[value]
    assert read[value] in bootstrap
    assert " parameters " not in makefile


OPTION_CHECKS = {
    "python_version": check_python_version,
    "architecture": check_architecture,
    "api_type": check_api_type,
    "ci_provider": check_ci_provider,
    "snapstart": check_snapstart,
    "environments": check_environments,
    "deployment_strategy": check_deployment_strategy,
    "alarm_email": check_alarm_email,
    "license": check_license,
    "auth": check_auth,
    "datastore": check_datastore,
    "secrets": check_secrets,
}


def test_every_option_has_a_check():
    assert set(OPTION_CHECKS) == set(CHOICES) | set(BOOLEANS) | set(SWITCHES)
    assert all(CONTEXT[key] == "" for key in SWITCHES)  # empty by default: off


# --- the default render -------------------------------------------------------------------


def test_default_render_is_clean(render):
    project = render()
    assert project.name == DEFAULTS["project_slug"]
    assert jinja_leftovers(project) == []
    assert credential_lookalikes(project) == []
    assert docs_problems(project) == []
    assert sorted(p.name for p in (project / "docs").iterdir()) == DOCS


def test_credential_lookalikes_are_found(bake):
    """AWS's documentation key, as the function URL event carried it, is reported."""
    project = bake()
    event = project / "tests" / "events" / "function_url.json"
    event.write_text(event.read_text().replace("example-access-key-id", "AKIAIOSFODNN7EXAMPLE"))
    assert credential_lookalikes(project) == ["tests/events/function_url.json:27"]


def test_default_metadata(render):
    meta = pyproject(render())["project"]
    assert meta["name"] == DEFAULTS["project_slug"]
    assert meta["description"] == DEFAULTS["description"]
    assert meta["authors"] == [{"name": DEFAULTS["author_name"], "email": DEFAULTS["author_email"]}]
    assert "dynamic" not in meta  # the dependencies are in pyproject.toml, pinned in uv.lock
    assert "optional-dependencies" not in meta
    assert "dev" in pyproject(render())["dependency-groups"]


def _resolved_afresh(**extra) -> dict:
    """The answers as cookiecutter resolves them, each call anew (no cache)."""
    context = generate_context(str(TEMPLATE / "cookiecutter.json"), extra_context=extra)
    return prompt_for_config(context, no_input=True)


def test_the_default_bucket_is_unique_valid_and_the_renders_own(render):
    """S3 bucket names are global (docs/prompts.md, "The artifact bucket's name"): every
    resolution of the defaults draws a bucket of its own, `<slug>-artifacts-<14 hex
    digits>`, valid for S3 up to the slug's limit, and a render uses its own everywhere."""
    project = render()
    bucket = render_answers(project)["deployment_bucket"]  # of the default's shape
    drawn = {_resolved_afresh()["deployment_bucket"] for _ in range(20)}
    assert len(drawn | {bucket, DEFAULTS["deployment_bucket"]}) == 22
    assert all(default_bucket(DEFAULTS["project_slug"]).fullmatch(b) for b in drawn)
    assert f's3_bucket = "{bucket}"' in (project / "samconfig.toml").read_text()
    assert f"BucketName: {bucket}\n" in (project / "infra" / "bootstrap.yml").read_text()
    assert f'"arn:aws:s3:::{bucket}"' in (project / "iam" / "deploy-policy.json").read_text()
    longest = _resolved_afresh(project_slug="a" * 38)["deployment_bucket"]
    assert len(longest) == 63
    assert bucket_name_errors(longest) == []


def test_default_app_and_handler(render):
    package = render() / "src" / DEFAULTS["package_name"]
    main = (package / "main.py").read_text()
    assert "handler = make_handler(app, base_path=settings.base_path)" in main
    root_path = (package / "core" / "root_path.py").read_text()
    assert 'Mangum(RootPath(app, base_path), lifespan="off")' in root_path
    assert "async def ping" in main
    assert "async def multiply" in (package / "api" / "v1" / "endpoints" / "example.py").read_text()


def test_default_runtime_pins(render):
    """The lock pins every package with its files' hashes; its runtime part holds nothing
    meant for development (the dev group), and no other list of dependencies exists: tests
    and tools stay outside the directory that ships to Lambda."""
    project = render()
    lock = tomllib.loads((project / "uv.lock").read_text())
    for package in lock["package"]:
        if package.get("source") != {"editable": "."}:
            assert package["version"], package["name"]
            files = [package.get("sdist"), *package.get("wheels", [])]
            assert all(f["hash"].startswith("sha256:") for f in files if f), package["name"]
    names = set(locked_runtime(project, DEFAULTS["python_version"], "aarch64"))
    assert {"fastapi", "mangum", "pydantic", "pydantic-settings"} <= names
    assert {"aws-lambda-powertools", "opentelemetry-sdk", "httpx2"} <= names  # telemetry, clients
    dev = {"pytest", "ruff", "httpx", "uvicorn", "hypothesis", "schemathesis", "mypy"}
    assert not names & (dev | {"boto3", "boto3-stubs", "botocore"})
    assert not list(project.rglob("requirements*.txt"))
    src = project / "src"
    assert not any(p.name.startswith("test") for p in src.rglob("*"))


def test_default_lints_and_passes_its_tests(bake, run_service_tests):
    project = bake()  # its own: ruff and pytest write caches into it
    ruff(project)
    output = run_service_tests(project).stdout
    assert " passed" in output
    assert "failed" not in output


# --- every value of every choice ----------------------------------------------------------


@pytest.mark.parametrize(("key", "value"), SINGLE_OPTIONS, ids=lambda v: str(v))
def test_single_option(bake, run_service_tests, key, value):
    project = bake(**single_option(key, value))
    assert jinja_leftovers(project) == []
    assert credential_lookalikes(project) == []
    assert docs_problems(project) == []
    OPTION_CHECKS[key](project, value)
    ruff(project)
    run_service_tests(project)


# Answers that render tests/test_auth.py and tests/test_cors.py too (they import `tests`).
EDGE = {
    "auth": "jwt",
    "jwt_issuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
    "jwt_audience": "abc",
    "cors_origins": "https://app.example.com",
}


@pytest.mark.parametrize("package_name", ["billing", "zebra_orders"])
def test_import_sorting_does_not_depend_on_the_package_name(bake, package_name):
    """The rendered tests import the package, then `deploy_hooks` and `tests`: ruff's isort
    must accept that order for a name sorting before both and for one sorting after both
    (the rendered pyproject.toml puts the package alone in the first-party section)."""
    slug = package_name.replace("_", "-")
    project = bake(project_slug=slug, package_name=package_name, **EDGE)
    assert (project / "tests" / "test_auth.py").is_file()
    assert (project / "tests" / "test_cors.py").is_file()
    isort = pyproject(project)["tool"]["ruff"]["lint"]["isort"]
    assert isort["known-first-party"] == [package_name]
    assert (project / "tests" / "test_pre_traffic.py").is_file()  # canary: the hook's test
    ruff(project)


def test_free_text_reaches_python_and_toml(bake, run_service_tests):
    name = 'Quote "me" \\ ünïcode 😀: #1 ${X} <b>&'
    project = bake(project_name=name, description=name, author_name=name, project_slug="odd")
    meta = pyproject(project)["project"]
    assert meta["description"] == name
    assert meta["authors"][0]["name"] == name
    assert settings_title(project, "odd") == name
    ruff(project)
    run_service_tests(project)


# --- command-line answers (the CLI itself is under test) ---------------------------------


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


def test_template_docs():
    """The template's own README and docs/ hold together as the rendered ones must: titles,
    closed fences, links that resolve, and the README links every doc."""
    assert docs_problems(TEMPLATE) == []
    assert sorted(p.name for p in (TEMPLATE / "docs").iterdir()) == [
        "contributing.md",
        "deploy-policy.md",
        "hooks.md",
        "prompts.md",
        "updating.md",
    ]


def test_template_code_is_ruff_clean():
    """The hooks and this suite follow the same lint rules as the code they render."""
    for tool in (["check", "--no-cache"], ["format", "--no-cache", "--check"]):
        subprocess.run(
            [Path(sys.executable).parent / "ruff", *tool, "hooks", "tests", "local_extensions.py"],
            cwd=TEMPLATE,
            check=True,
        )
