"""Smoke renders: every preset in presets/ renders through the cookiecutter CLI exactly as
the README says (`cookiecutter --no-input --config-file presets/NAME.yaml .`), lints clean
(`lint_rendered`), records its answers, and shows the options it picks."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.helpers import BIN, CONTEXT, TEMPLATE, lint_rendered, load_yaml, run

PRESETS = TEMPLATE / "presets"
PRESET_NAMES = sorted(path.stem for path in PRESETS.glob("*.yaml"))
CI_FILES = {
    "github-actions": ".github",
    "gitlab": ".gitlab-ci.yml",
    "travis": ".travis.yml",
}


def preset_answers(name: str) -> dict:
    return yaml.safe_load((PRESETS / f"{name}.yaml").read_text())["default_context"]


def render_preset(name: str, tmp_path: Path) -> Path:
    """Render a preset with the cookiecutter CLI from the template's root, as documented.
    HOME points into tmp_path so that cookiecutter's replay file stays out of the real one."""
    out = tmp_path / "out"
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    config = f"presets/{name}.yaml"
    cmd = [BIN / "cookiecutter", "--no-input", "--config-file", config, "--output-dir", out, "."]
    run(cmd, cwd=TEMPLATE, env=env)
    (project,) = out.iterdir()
    return project


def readme(project: Path) -> str:
    return (project / "README.md").read_text()


def performance_doc(project: Path) -> str:
    return (project / "docs" / "performance.md").read_text()


def assert_ci_files(project: Path, provider: str) -> None:
    """The chosen provider's pipeline is there, and only it (the post-gen hook removes the
    others)."""
    for other, path in CI_FILES.items():
        if other == provider:
            assert (project / path).exists(), f"{path} missing for ci_provider={provider}"
        else:
            assert not (project / path).exists(), f"{path} left for ci_provider={provider}"


def sam_template(project: Path) -> dict:
    return load_yaml(project / "template.yml")


# --- what each preset must show in the rendered project -----------------------------------


def check_minimal(project: Path) -> None:
    assert project.name == "minimal-service"
    assert "API Gateway\nHTTP API" in readme(project)
    assert_ci_files(project, "none")


def check_rest_api(project: Path) -> None:
    assert "REST API (stage `v1`)" in readme(project)
    resources = sam_template(project)["Resources"]
    assert resources["RestApi"]["Properties"]["StageName"] == "v1"
    assert "HttpApi" not in resources
    assert "**Timeout: 29 s.**" in performance_doc(project)
    assert_ci_files(project, "github-actions")


def check_gitlab(project: Path) -> None:
    assert_ci_files(project, "gitlab")


def check_travis(project: Path) -> None:
    assert_ci_files(project, "travis")


def check_snapstart(project: Path) -> None:
    function = sam_template(project)["Resources"]["ApiFunction"]["Properties"]
    assert function["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert function["AutoPublishAlias"]
    assert "Python\n3.12" in readme(project) or "Python 3.12" in readme(project)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["tool"]["ruff"]["target-version"] == "py312"


def check_x86_apache(project: Path) -> None:
    assert project.name == "inventory-sync"
    assert (project / "src" / "inventory" / "main.py").is_file()
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "Apache-2.0"
    assert pyproject["project"]["authors"] == [
        {"name": "Platform Team", "email": "platform@example.com"}
    ]
    assert pyproject["tool"]["ruff"]["target-version"] == "py311"
    assert "x86_64" in readme(project)
    assert "**Memory: 2048 MB.**" in performance_doc(project)
    assert (project / "LICENSE").read_text().strip().startswith("Apache License")


def check_production(project: Path) -> None:
    """Two stacks, canary deployments rolled back by the alarms, e-mail notifications,
    production after staging and the reviewers of the GitHub environment."""
    template = sam_template(project)
    resources = template["Resources"]
    function = resources["ApiFunction"]["Properties"]
    preference = function["DeploymentPreference"]
    assert preference["Type"] == {
        "Fn::If": ["IsProduction", "Canary10Percent5Minutes", "AllAtOnce"]
    }
    assert preference["Alarms"] == [
        {"Ref": name}
        for name in ("NewVersionErrorsAlarm", "NewVersion5xxAlarm", "NewVersionLatencyP99Alarm")
    ]
    assert preference["Hooks"] == {"PreTraffic": {"Ref": "PreTrafficHook"}}
    assert function["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert function["AutoPublishAlias"] == "live"
    assert template["Parameters"]["AlarmEmail"]["Default"] == "orders-oncall@example.com"
    assert resources["AlarmEmailSubscription"]["Properties"]["Protocol"] == "email"
    assert (project / "src" / "deploy_hooks" / "pre_traffic.py").is_file()
    assert (project / "tests" / "test_pre_traffic.py").is_file()
    assert sorted(p.name for p in (project / "iam").iterdir()) == [
        "deploy-policy-production.json",
        "deploy-policy-staging.json",
    ]
    config = tomllib.loads((project / "samconfig.toml").read_text())
    assert config["production"]["deploy"]["parameters"]["stack_name"] == "orders-api-production"
    jobs = load_yaml(project / ".github" / "workflows" / "deploy.yml")["jobs"]
    assert jobs["deploy-production"]["needs"] == ["build", "deploy-staging"]
    assert jobs["deploy-production"]["environment"] == "production"
    assert "Required reviewers" in (project / "docs" / "operations.md").read_text()
    assert_ci_files(project, "github-actions")


def check_api_edge(project: Path) -> None:
    """Protected, callable from the front end's origin, served on its domain, deployable."""
    resources = sam_template(project)["Resources"]
    api = resources["HttpApi"]["Properties"]
    assert api["Auth"]["DefaultAuthorizer"] == "JwtAuthorizer"
    assert api["CorsConfiguration"]["AllowOrigins"] == ["https://app.example.com"]
    assert resources["ApiDomainName"]["Properties"]["DomainName"] == "api.example.com"
    assert resources["ApiDnsRecord"]["Properties"]["HostedZoneId"] == "Z0123456789ABCDEFGHIJ"
    policy = (project / "iam" / "deploy-policy.json").read_text()
    assert "/domainnames/api.example.com" in policy
    assert "hostedzone/Z0123456789ABCDEFGHIJ" in policy
    assert (project / "tests" / "test_auth.py").is_file()
    assert (project / "tests" / "test_cors.py").is_file()
    assert "docs/api-edge.md" in readme(project)
    edge = (project / "docs" / "api-edge.md").read_text()
    assert "https://api.example.com/" in edge
    assert "LOCAL_DEV_SUBJECT" in edge


def check_stateful(project: Path) -> None:
    """A table per environment behind the items resource, secrets under each environment's
    prefix, and the tests that run both against moto."""
    resources = sam_template(project)["Resources"]
    table = resources["ItemsTable"]["Properties"]
    assert table["TableName"] == {"Fn::Sub": "orders-api-${Environment}-items"}
    assert table["DeletionProtectionEnabled"] == {"Fn::If": ["IsProduction", True, False]}
    package = project / "src" / "orders_api"
    assert (package / "repositories" / "items.py").is_file()
    assert (package / "core" / "secrets.py").is_file()
    for test in ("aws.py", "test_items.py", "test_secrets.py"):
        assert (project / "tests" / test).is_file(), test
    bootstrap = (project / "infra" / "bootstrap.yml").read_text()
    for env in ("staging", "production"):
        assert f":table/orders-api-{env}-items" in bootstrap
        assert f":secret:orders-api-{env}/*" in bootstrap
        policy = (project / "iam" / f"deploy-policy-{env}.json").read_text()
        assert f":table/orders-api-{env}-items" in policy
        assert "dynamodb:PutItem" not in policy  # the deployer never writes items
    assert "docs/datastore.md" in readme(project)
    assert "docs/secrets.md" in readme(project)


PRESET_CHECKS = {
    "production": check_production,
    "minimal": check_minimal,
    "rest-api": check_rest_api,
    "gitlab": check_gitlab,
    "travis": check_travis,
    "snapstart": check_snapstart,
    "x86-apache": check_x86_apache,
    "api-edge": check_api_edge,
    "stateful": check_stateful,
}


def test_every_preset_has_a_check():
    assert set(PRESET_CHECKS) == set(PRESET_NAMES)


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_preset_answers_are_prompts(name):
    """cookiecutter silently ignores an unknown key in default_context: a misspelt answer
    would render the default without a word. Every key must be a prompt, every value valid."""
    prompts = {key: value for key, value in CONTEXT.items() if not key.startswith("_")}
    for key, value in preset_answers(name).items():
        assert key in prompts, f"{name}: {key} is not a prompt of cookiecutter.json"
        default = prompts[key]
        if isinstance(default, list):
            assert value in default, f"{name}: {key}={value!r} is not one of {default}"
        else:
            assert type(value) is type(default), f"{name}: {key}={value!r}"


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_preset_renders_lint_clean(name, tmp_path, service_python):
    project = render_preset(name, tmp_path)
    lint_rendered(project, service_python)
    PRESET_CHECKS[name](project)

    # The service records the preset's answers, resolved, and the template version.
    record = json.loads((project / ".cookiecutter.json").read_text())
    assert record["template_version"] == CONTEXT["_template_version"]
    answers = preset_answers(name)
    assert {key: record["default_context"][key] for key in answers} == answers


def test_readme_lists_every_preset():
    """The README's preset table and presets/ agree: no preset undocumented, none stale."""
    text = (TEMPLATE / "README.md").read_text()
    listed = re.findall(r"^\| `([a-z0-9-]+)` \|", text, flags=re.MULTILINE)
    assert sorted(listed) == PRESET_NAMES
