"""Helpers shared by the template's tests."""

from __future__ import annotations

import functools
import json
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


# --- infrastructure linters (cfn-lint, parliament, the SAM transform), through their Python APIs


def load_cfn_yaml(path: Path) -> dict:
    """A CloudFormation/SAM template as plain data (short-form tags such as `!Ref` become
    `{"Ref": ...}`), parsed by the SAM translator's own loader."""
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse(path.read_text())


@functools.cache
def _cfn_lint_runner(region: str):
    """One cfn-lint runner per region and process: building one loads every rule (~1 s)."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    # include_checks=["I"]: informational findings too, on top of errors and warnings.
    return Runner(ConfigMixIn(include_checks=["I"], regions=[region]))


def cfn_lint(path: Path, region: str = "us-east-1") -> list[str]:
    """Every cfn-lint finding on a template (errors, warnings AND informational findings),
    with no suppressions. Uses the Python API: no process start-up per template."""
    from cfnlint.decode import decode_str

    text = path.read_text()
    assert "cfn-lint" not in text, f"{path}: cfn-lint settings or suppressions in the template"
    template, errors = decode_str(text)
    if errors:
        return [f"{path.name}: {match}" for match in errors]
    matches = _cfn_lint_runner(region).validate_template(template)
    return [f"{path.name}: {match}" for match in matches]


# parliament reads the account field `aws` of the SAM transform's ARN as a malformed account
# ID (it expects 12 digits). That ARN is AWS's own, documented for this very permission: the
# one known false positive, and the only finding filtered.
TRANSFORM_ARN = re.compile(r"arn:aws:cloudformation:[a-z0-9-]+:aws:transform/Serverless-2016-10-31")


def _is_transform_false_positive(finding) -> bool:
    location = finding.location.get("string") if isinstance(finding.location, dict) else None
    return (
        finding.issue == "INVALID_ARN"
        and finding.detail == "Account expected to be of form like 123456789012"
        and isinstance(location, str)
        and TRANSFORM_ARN.fullmatch(location) is not None
    )


def parliament_findings(policy_text: str) -> list[str]:
    """parliament's findings on an IAM policy (community auditors included), minus exactly
    the SAM transform ARN's INVALID_ARN false positive."""
    import parliament

    policy = parliament.analyze_policy_string(policy_text, include_community_auditors=True)
    return [
        f"{f.issue}: {f.detail} at {f.location}"
        for f in policy.findings
        if not _is_transform_false_positive(f)
    ]


def sam_transform(template: dict, region: str) -> dict:
    """The plain CloudFormation that the AWS::Serverless transform makes of a SAM template,
    offline (the local CodeUri stands in for the S3 location `sam deploy` would upload to)."""
    import copy
    import os

    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self):
            return {}

    template = copy.deepcopy(template)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://artifact-bucket/artifact.zip"
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region
    try:
        return transform(template, {}, NoManagedPolicies())
    finally:
        if previous is None:
            del os.environ["AWS_DEFAULT_REGION"]
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous
