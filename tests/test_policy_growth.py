"""The deploy policy grows with the service: a render's own `scripts/deploy_policy.py`
tells, before any deploy, what a new resource needs, and writes it.

Against a render of the defaults and of the production preset (two environments), add in
turn a DynamoDB table, an SQS queue, an S3 bucket, an SNS topic and a type the tool has no
ARN model for (a Kinesis stream): `check` fails naming what the new resource's handlers
need; `apply`; `check` passes; every new grant is needed; parliament finds nothing new; each
policy file and its bootstrap DeployPolicy are still the same document and the bootstrap is
cfn-lint-clean; the render's own tests pass. Bad input (a template that does not parse, a
policy file that is not JSON, a policy edited so that the two copies differ) gives a one-line
error naming the file, exit 2, and changes nothing on disk."""

from __future__ import annotations

import difflib
import io
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests import deploy_permissions as dp
from tests.helpers import TEMPLATE, cfn_lint, parliament_findings, service_tests

PRODUCTION = yaml.safe_load((TEMPLATE / "presets" / "production.yaml").read_text())[
    "default_context"
]

# (logical id, type, its YAML under Resources, an action its create handler needs)
RESOURCES = [
    (
        "Orders",
        "AWS::DynamoDB::Table",
        "  Orders:\n    Type: AWS::DynamoDB::Table\n    Properties:\n"
        "      BillingMode: PAY_PER_REQUEST\n"
        "      AttributeDefinitions:\n        - AttributeName: id\n          AttributeType: S\n"
        "      KeySchema:\n        - AttributeName: id\n          KeyType: HASH\n",
        "dynamodb:CreateTable",
    ),
    ("Jobs", "AWS::SQS::Queue", "  Jobs:\n    Type: AWS::SQS::Queue\n", "sqs:CreateQueue"),
    ("Uploads", "AWS::S3::Bucket", "  Uploads:\n    Type: AWS::S3::Bucket\n", "s3:CreateBucket"),
    (
        "Events",
        "AWS::SNS::Topic",
        "  Events:\n    Type: AWS::SNS::Topic\n    Properties:\n"
        '      TopicName: !Sub "${AWS::StackName}-events"\n',
        "sns:CreateTopic",
    ),
    (
        "Clicks",
        "AWS::Kinesis::Stream",
        "  Clicks:\n    Type: AWS::Kinesis::Stream\n    Properties:\n      ShardCount: 1\n",
        "kinesis:CreateStream",
    ),
]


OWN_TEST = "tests/test_deploy_policy.py"  # the render's: runs `check`


def add_resource(project: Path, snippet: str) -> None:
    template = project / "template.yml"
    text = template.read_text()
    assert "\nOutputs:\n" in text
    template.write_text(text.replace("\nOutputs:\n", f"\n{snippet}\nOutputs:\n", 1))


def run_cli(python: Path, project: Path, command: str) -> subprocess.CompletedProcess:
    """`python scripts/deploy_policy.py <command>` in the project, as its docs say."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [str(python), "scripts/deploy_policy.py", command],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def run_tool(project: Path, command: str, python: Path | None = None) -> tuple[int, str]:
    """(exit code, stdout and stderr) of a command of the render's tool: with `python`, its
    documented command line in a process of its own; else in this process (quicker)."""
    if python is not None:
        result = run_cli(python, project, command)
        return result.returncode, result.stdout + result.stderr
    out = io.StringIO()
    status = dp.tool(project).main([command, "--project", str(project)], out=out, err=out)
    return status, out.getvalue()


def files(project: Path) -> dict[str, bytes]:
    return {
        p.relative_to(project).as_posix(): p.read_bytes()
        for p in sorted(project.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def new_parliament_findings(tool, before: str, after: str) -> list[str]:
    """parliament's findings on `after` that it does not make on `before`, but for
    UNKNOWN_ACTION on actions cfn-lint 1.58's IAM reference lists (parliament 1.6.4's copy
    of the reference predates them: kinesis:TagResource, s3:GetBucketAbac, ...)."""
    old = set(parliament_findings(before))
    found = []
    for finding in parliament_findings(after):
        if finding in old:
            continue
        if finding.startswith("UNKNOWN_ACTION: Unknown action "):
            action = finding.split(" ")[3]
            if tool._action_entry(action) is not None:
                continue
        found.append(finding)
    return found


@pytest.mark.parametrize("answers", [{}, PRODUCTION], ids=["defaults", "preset:production"])
def test_the_policy_grows_with_the_template(bake, service_python, answers):
    project = bake(**answers)
    tool = dp.tool(project)
    environments = tool.environments(project)
    stacks = {env: tool.target(project, env).stack for env in environments}
    added = []
    for logical_id, rtype, snippet, action in RESOURCES:
        before = {env: tool.policy_path(project, env).read_text() for env in environments}
        add_resource(project, snippet)
        # The first time through the command line in the service's venv, then in-process.
        python = None if added else service_python
        status, report = run_tool(project, "check", python)
        assert status == 1, report
        for env in environments:
            assert f"{tool.policy_path(project, env).name} and " in report
        assert f"  {logical_id} ({rtype}): " in report, report
        assert f"    {action} (create" in report, report
        if rtype == "AWS::Kinesis::Stream":  # no ARN model: listed, and said to be unscoped
            assert "cannot scope these: no ARN model for AWS::Kinesis::Stream" in report
        for earlier in added:
            assert f"  {earlier} (" not in report, report
        if not added and not answers:
            # The service's own test fails the same way, with the list of what to add.
            env = {**os.environ, "PYTHONPATH": str(project / "src")}
            env.pop("PYTEST_XDIST_WORKER", None)
            own = subprocess.run(
                [service_python, *("-m", "pytest", "-q", "-p", "no:cacheprovider", OWN_TEST)],
                cwd=project,
                capture_output=True,
                text=True,
                env=env,
                timeout=300,
            )
            assert own.returncode == 1, own.stdout + own.stderr
            assert f"    {action} (create" in own.stdout

        status, output = run_tool(project, "apply", python)
        assert status == 0, output
        assert tool.check(project, io.StringIO()) == 0  # and in the template's venv too
        for env in environments:
            path = tool.policy_path(project, env)
            policy = json.loads(path.read_text())
            assert tool.bootstrap_policy(project, env) == policy
            assert dp.pinned_bootstrap_policy(project, env) == json.loads(
                json.dumps(policy).replace(":*:", f":{dp.ACCOUNT}:")
            )
            calls, _ = tool.deploy_calls(project, env)
            assert tool.unused(policy, calls) == []  # every new grant is needed
            assert new_parliament_findings(tool, before[env], path.read_text()) == []
            # apply adds lines: what it removes comes back with a comma (a statement that
            # is no longer the last one), so the diff is the new grants.
            diff = list(difflib.ndiff(before[env].splitlines(), path.read_text().splitlines()))
            removed = [line[2:] for line in diff if line.startswith("- ")]
            new_lines = [line[2:] for line in diff if line.startswith("+ ")]
            assert all(line + "," in new_lines for line in removed), removed
            for other in (s for e, s in stacks.items() if e != env):
                assert f"{other}-" not in "\n".join(new_lines)  # its own stack's names only
        region = tool.target(project, environments[0]).region
        assert cfn_lint(project / "infra" / "bootstrap.yml", region) == []
        added.append(logical_id)
    service_tests(project, service_python)


BAD_INPUTS = {
    "template-does-not-parse": (
        "template.yml",
        lambda text: text + "\n  Broken: [\n",
        "template.yml: does not parse: ",
    ),
    "policy-is-not-json": (
        "iam/deploy-policy.json",
        lambda text: text.rstrip()[:-1],
        "iam/deploy-policy.json: not JSON: ",
    ),
    "copies-differ": (
        "iam/deploy-policy.json",
        lambda text: text.replace('        "cloudformation:DeleteStack",\n', "", 1),
        "infra/bootstrap.yml: DeployPolicy differs from iam/deploy-policy.json at statement 1 "
        "(DeployTheStackThroughChangeSets)",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_exit_2_and_nothing_written(bake, case):
    project = bake()
    tool = dp.tool(project)
    add_resource(project, RESOURCES[1][2])  # a queue: apply would have something to write
    rel, breaks, message = BAD_INPUTS[case]
    path = project / rel
    good = path.read_text()
    path.write_text(breaks(good))
    assert path.read_text() != good
    snapshot = files(project)
    for command in ("check", "suggest", "apply"):
        out, err = io.StringIO(), io.StringIO()
        status = tool.main([command, "--project", str(project)], out=out, err=err)
        assert status == 2, (command, out.getvalue(), err.getvalue())
        assert out.getvalue() == ""
        (line,) = err.getvalue().splitlines()
        assert line.startswith(f"error: {message}"), line
        assert files(project) == snapshot, command
    # The same project with the file put back: apply writes, so "nothing written" above
    # is the error's doing.
    path.write_text(good)
    assert tool.main(["apply", "--project", str(project)], out=io.StringIO()) == 0
    assert files(project) != {**snapshot, rel: good.encode()}
