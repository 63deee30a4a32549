"""A deploy, end to end, offline: renders deployed to a local AWS emulator (ministack, see
tests/emulator.py) the way their docs say. The bootstrap command of docs/deployment.md with
the AWS CLI, then the README's `sam validate && sam build && sam deploy` with the rendered
samconfig.toml; then `GET /ping` and `POST /api/v1/example` through the API's URL, a code
change deployed again, and its new answer. With datastore=dynamodb, the items table as the
emulator's DynamoDB describes it and an item written and read back through the API. Only
the endpoint and fake credentials are set.

What the emulator lacks is worked around here, never in the template: docs/contributing.md,
"Deploying to the emulator", lists each workaround and what it leaves unproven."""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import shutil
import time
import tomllib
from pathlib import Path

import pytest

from tests.emulator import Emulator, add_api_routes, emulator_venv, python_on_path, start
from tests.helpers import BIN, DEFAULTS, resolved_answers, run, runtime_python

# The combinations deployed, each a test of its own (one emulator each).
COMBINATIONS = {
    "defaults": {},
    "staging-production": {"environments": "staging-production"},
    "all-at-once": {"deployment_strategy": "all-at-once"},
    "rest": {"api_type": "rest"},
    "stateful": {"datastore": "dynamodb", "secrets": "parameter-store"},
}
# The emulator runs the functions on this machine: build for its architecture.
ARCHITECTURE = "arm64" if platform.machine().lower() in {"aarch64", "arm64"} else "x86_64"
# SAM CLI's documented polling interval (5 s by default): the emulator answers at once.
POLL_DELAY = "0.5"
LOG_WAIT = 10  # seconds for the function's log lines to reach its log group
ITEM = {"name": "Widget", "description": "A blue widget"}


@pytest.fixture(scope="session")
def emulator_bin(tmp_path_factory) -> Path:
    """The emulator's venv, of the default runtime's Python, shared by the xdist workers."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's base directory, shared by its workers
    return emulator_venv(shared, runtime_python(DEFAULTS["python_version"]))


@pytest.fixture
def emulator(emulator_bin, tmp_path):
    workdir = tmp_path / "emulator"
    workdir.mkdir()
    emulator = start(emulator_bin, workdir, DEFAULTS["aws_region"])
    yield emulator
    emulator.stop()


def shell_commands(block: str) -> list[list[str]]:
    """The commands of a shell block: continuations joined, `&&` chains split."""
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        if line.strip():
            commands += [shlex.split(part) for part in line.split("&&")]
    return commands


def readme_deploy(project: Path) -> list[list[str]]:
    """The README's deploy line (section "Deploy", first bash block)."""
    readme = (project / "README.md").read_text()
    section = readme.split("\n## Deploy\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    commands = shell_commands(block)
    assert [command[:2] for command in commands] == [
        ["sam", "validate"],
        ["sam", "build"],
        ["sam", "deploy"],
    ], commands
    return commands


def bootstrap_command(project: Path) -> list[str]:
    """docs/deployment.md's bootstrap deploy, "1. Bootstrap, once"."""
    docs = (project / "docs" / "deployment.md").read_text()
    section = docs.split("## 1. Bootstrap, once", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    (command,) = [c for c in shell_commands(block) if c[:3] == ["aws", "cloudformation", "deploy"]]
    return command


def for_this_machine(project: Path) -> None:
    """Build for this machine's architecture (the defaults are arm64): the emulator imports
    the artifact here. The test's copy only."""
    if DEFAULTS["architecture"] == ARCHITECTURE:
        return
    template = project / "template.yml"
    old, new = f"Architectures:\n      - {DEFAULTS['architecture']}\n", "Architectures:\n"
    assert template.read_text().count(old) == 1
    template.write_text(template.read_text().replace(old, f"{new}      - {ARCHITECTURE}\n"))
    makefile = project / "src" / "Makefile"
    old = f"ARCHITECTURE ?= {DEFAULTS['architecture']}\n"
    assert makefile.read_text().count(old) == 1
    makefile.write_text(makefile.read_text().replace(old, f"ARCHITECTURE ?= {ARCHITECTURE}\n"))


def config_env(deploy: list[str]) -> str:
    """The samconfig.toml environment of a `sam deploy` command line."""
    return deploy[deploy.index("--config-env") + 1] if "--config-env" in deploy else "default"


def change_the_code(project: Path, package: str) -> None:
    """The example endpoint answers the product plus one."""
    endpoint = project / "src" / package / "api" / "v1" / "endpoints" / "example.py"
    old = "return ExampleOutput(product=product)"
    assert endpoint.read_text().count(old) == 1
    endpoint.write_text(
        endpoint.read_text().replace(old, "return ExampleOutput(product=product + 1)")
    )


class Deployer:
    """Runs the docs' commands in a render, against one emulator, and records how long."""

    def __init__(self, project: Path, emulator: Emulator, answers: dict):
        self.project, self.emulator, self.answers = project, emulator, answers
        self.region = answers["aws_region"]
        self.python = runtime_python(answers["python_version"])
        self.samconfig = tomllib.loads((project / "samconfig.toml").read_text())
        self.timings: dict[str, float] = {}

    def env(self) -> dict:
        return self.emulator.environment(
            PATH=python_on_path(self.python), SAM_CLI_POLL_DELAY=POLL_DELAY
        )

    def timed(self, name: str, commands: list[list[str]]) -> None:
        """Run the commands; record each one's seconds under `name`."""
        for command in commands:
            tool = {"aws": self.emulator.bin / "aws", "sam": BIN / "sam"}[command[0]]
            start = time.monotonic()
            run([tool, *command[1:]], cwd=self.project, env=self.env(), timeout=600)
            self.timings[f"{name}: {command[1]}"] = round(time.monotonic() - start, 1)

    def bootstrap(self) -> None:
        """An account that already has GitHub's OIDC provider: the docs' override."""
        iam = self.emulator.client("iam", self.region)
        provider = iam.create_open_id_connect_provider(
            Url="https://token.actions.githubusercontent.com", ClientIDList=["sts.amazonaws.com"]
        )["OpenIDConnectProviderArn"]
        command = bootstrap_command(self.project)
        override = ["--parameter-overrides", f"OidcProviderArn={provider}"]
        self.timed("bootstrap", [[*command, *override]])
        outputs = self.outputs(command[command.index("--stack-name") + 1])
        for env in self.environments():
            assert outputs["DeploymentBucketName"] == self.deploy_settings(env)["s3_bucket"]
        roles = [value for key, value in outputs.items() if key.startswith("DeployRoleArn")]
        assert len(roles) == len(self.environments()), outputs
        for arn in roles:
            role = iam.get_role(RoleName=arn.rsplit("/", 1)[1])["Role"]
            (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
            assert statement["Principal"] == {"Federated": provider}

    def environments(self) -> list[str]:
        return [
            name
            for name, env in self.samconfig.items()
            if isinstance(env, dict) and "deploy" in env
        ]

    def deploy_settings(self, env: str) -> dict:
        return {
            **self.samconfig.get("default", {}).get("global", {}).get("parameters", {}),
            **self.samconfig[env]["deploy"]["parameters"],
        }

    def deploy(self, name: str, commands: list[list[str]]) -> str:
        """The README's commands; then the routes the emulator leaves out of the API (none
        after a redeploy: they are kept). Returns the stack deployed."""
        self.timed(name, commands)
        stack = self.deploy_settings(config_env(commands[-1]))["stack_name"]
        made = add_api_routes(self.emulator, stack, self.region)
        assert sorted(made) in ([], MISSING_ROUTES[self.answers["api_type"]]), made
        return stack

    def outputs(self, stack: str) -> dict:
        cloudformation = self.emulator.client("cloudformation", self.region)
        (described,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
        return {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}

    def answers_of(self, stack: str) -> tuple:
        url = self.outputs(stack)["ApiUrl"]
        ping = self.emulator.request(url, "GET", "ping")
        example = self.emulator.request(url, "POST", "api/v1/example", {"a": 6, "b": 7})
        return ping, example

    def function_configuration(self, stack: str) -> dict:
        function = self.outputs(stack)["FunctionName"]
        lambda_ = self.emulator.client("lambda", self.region)
        return lambda_.get_function_configuration(FunctionName=function)

    def request_lines(self, stack: str) -> list[dict]:
        """The app's access log lines (JSON, `"message": "request"`) in the log group its
        function's LoggingConfig names, waited for (at most LOG_WAIT s) until a line of a
        successful `POST /api/v1/example` is there."""
        config = self.function_configuration(stack)
        logs = self.emulator.client("logs", self.region)
        deadline = time.monotonic() + LOG_WAIT
        while True:
            events = logs.filter_log_events(logGroupName=config["LoggingConfig"]["LogGroup"])
            messages = [event["message"] for event in events["events"]]
            lines = [json.loads(m) for m in messages if m.startswith("{")]
            requests = [line for line in lines if line.get("message") == "request"]
            example = {"route": "POST /api/v1/example", "status": 200}
            found = any(example.items() <= line.items() for line in requests)
            if found or time.monotonic() > deadline:
                return requests
            time.sleep(0.2)

    def items_table(self, stack: str) -> None:
        """The table `ItemsTableName` names, as the emulator's DynamoDB describes it: on
        demand, backed up, encrypted, protected from deletion (one environment); the function
        is told its name and its secrets' prefix."""
        outputs = self.outputs(stack)
        name = outputs["ItemsTableName"]
        assert name == f"{stack}-items"
        dynamodb = self.emulator.client("dynamodb", self.region)
        table = dynamodb.describe_table(TableName=name)["Table"]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["DeletionProtectionEnabled"] is True
        assert table["SSEDescription"]["Status"] == "ENABLED", table.get("SSEDescription")
        backups = dynamodb.describe_continuous_backups(TableName=name)
        pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
        variables = self.function_configuration(stack)["Environment"]["Variables"]
        assert variables["ITEMS_TABLE"] == name
        assert variables["SECRETS_PREFIX"] == outputs["SecretsPrefix"]

    def item(self, stack: str, item_id: str, body: dict | None = None) -> tuple:
        """`PUT` (with a body) or `GET /api/v1/items/<id>` through the API: the function's
        boto3 reaches the table its ITEMS_TABLE names."""
        url, path = self.outputs(stack)["ApiUrl"], f"api/v1/items/{item_id}"
        return self.emulator.request(url, "PUT" if body else "GET", path, body)

    def servers(self, stack: str):
        """The OpenAPI `servers` the app answers through the API: a REST stage's prefix."""
        status, spec = self.emulator.request(self.outputs(stack)["ApiUrl"], "GET", "openapi.json")
        assert status == 200, spec
        return spec.get("servers")


PONG = (200, {"ping": "pong!"})
# What the emulator leaves out of each API type's Body (docs/contributing.md).
MISSING_ROUTES = {"http": ["$default"], "rest": ["ANY /", "ANY /{proxy+}"]}


@pytest.mark.slow
@pytest.mark.parametrize("combination", COMBINATIONS)
def test_deploy_to_the_emulator(render, emulator, tmp_path, combination):
    start = time.monotonic()
    answers = resolved_answers(**COMBINATIONS[combination])
    project = tmp_path / "project"
    shutil.copytree(render(**COMBINATIONS[combination]), project)
    for_this_machine(project)
    deployer = Deployer(project, emulator, answers)
    deployer.bootstrap()

    commands = readme_deploy(project)
    stack = deployer.deploy("deploy", commands)
    assert deployer.answers_of(stack) == (PONG, (200, {"product": 42}))
    stage = [{"url": f"/{answers['stage_name']}"}] if answers["api_type"] == "rest" else None
    assert deployer.servers(stack) == stage
    routes = {(line["route"], line["status"]) for line in deployer.request_lines(stack)}
    assert {("GET /ping", 200), ("POST /api/v1/example", 200)} <= routes
    item = None
    if answers["datastore"] == "dynamodb":
        deployer.items_table(stack)
        status, item = deployer.item(stack, "widget-1", ITEM)
        assert status == 201, item
        assert item == {"id": "widget-1", **ITEM, "version": 1, "updated_at": item["updated_at"]}
        assert deployer.item(stack, "widget-1") == (200, item)
    production = None
    if answers["environments"] == "staging-production":
        assert config_env(commands[-1]) == "staging"
        assert "(`--config-env production`)" in (project / "README.md").read_text()
        command = [*commands[-1][:2], "--config-env", "production"]
        production = deployer.deploy("deploy production", [command])
        assert production != stack
        assert deployer.answers_of(production) == (PONG, (200, {"product": 42}))

    change_the_code(project, answers["package_name"])
    # template.yml is as `sam validate` passed it: build and deploy again.
    again = [command for command in commands if command[:2] != ["sam", "validate"]]
    assert deployer.deploy("deploy a change", again) == stack
    assert deployer.answers_of(stack) == (PONG, (200, {"product": 43}))
    if item:
        # The redeploy kept the table, and its item.
        assert deployer.item(stack, "widget-1") == (200, item)
    if production:
        # Staging got the change; production still runs the code it was deployed with.
        assert deployer.answers_of(production) == (PONG, (200, {"product": 42}))
    deployer.timings["total"] = round(time.monotonic() - start, 1)
    print(f"\nemulator deploy timings (s), {combination}: {deployer.timings}")
