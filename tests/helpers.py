"""Helpers shared by the template's tests: the answers (read from cookiecutter.json, never
copied), the option matrix, and the tools. Where the post-generation hook already checks a
thing (Jinja leftovers, YAML with short-form tags, the files of a render), the tests use the
hook's own function."""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config
from markdown_it import MarkdownIt

from hooks.post_gen_project import find_jinja_leftovers, project_files
from hooks.post_gen_project import load_yaml as _load_yaml_text
from local_extensions import BUCKET_SUFFIX_LENGTH, DEFAULT_NAMES, environment, model

TEMPLATE = Path(__file__).resolve().parents[1]
CONTEXT = json.loads((TEMPLATE / "cookiecutter.json").read_text())

# --- the answers and the option matrix ---------------------------------------------------------

# Every choice variable and its values (lists in cookiecutter.json), plus the booleans.
CHOICES = {key: value for key, value in CONTEXT.items() if isinstance(value, list)}
CHOICES.pop("_extensions")
BOOLEANS = {key: [False, True] for key, value in CONTEXT.items() if isinstance(value, bool)}
# Free-text answers that are empty by default and switch something on when given: baked
# with a value too (test_generation checks that every empty default is here).
SWITCHES = {"alarm_email": ["on-call+alarms@example.com"]}
# Every value of every choice as a single-option override (cookiecutter-django's way).
SINGLE_OPTIONS = [
    (key, value) for key, values in {**CHOICES, **BOOLEANS, **SWITCHES}.items() for value in values
]

# Answers a choice's value cannot go without (the pre-gen hook refuses it alone): a single-
# option render of auth=jwt needs an issuer and an audience.
EXAMPLE_ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
REQUIRED_WITH = {
    ("auth", "jwt"): {"jwt_issuer": EXAMPLE_ISSUER, "jwt_audience": "1example23456789"},
}


def single_option(key: str, value: object) -> dict:
    """The extra context of a single-option render of `key=value`."""
    return {key: value, **REQUIRED_WITH.get((key, value), {})}


def resolved_answers(**extra) -> dict:
    """The answers a render with `extra` gets, derived defaults resolved by cookiecutter
    itself (as `cookiecutter --no-input` resolves them); private `_` keys left out. The
    default bucket's suffix is random: one resolution per `extra` (cached), which no render
    shares; `render_answers` gives a render's own."""
    return dict(_resolved(tuple(sorted(extra.items()))))


def default_bucket(slug: str) -> re.Pattern:
    """The default `deployment_bucket` of a slug: `<slug>-artifacts-` and random hex."""
    before, _, after = DEFAULT_NAMES["deployment_bucket"].partition("{suffix}")
    suffix = f"[0-9a-f]{{{BUCKET_SUFFIX_LENGTH}}}"
    return re.compile(re.escape(before.format(slug=slug)) + suffix + re.escape(after))


def render_answers(project: Path, **extra) -> dict:
    """The answers of a render made with `extra`: `resolved_answers(**extra)`, but for the
    random suffix of the default bucket, which is the render's own (as its
    .cookiecutter.json records it, checked to be the default's shape)."""
    answers = resolved_answers(**extra)
    if "deployment_bucket" not in extra:
        recorded = json.loads((project / ".cookiecutter.json").read_text())["default_context"]
        bucket = recorded["deployment_bucket"]
        assert default_bucket(answers["project_slug"]).fullmatch(bucket), bucket
        answers["deployment_bucket"] = bucket
    return answers


@functools.cache
def _resolved(items: tuple) -> tuple:
    context = generate_context(
        context_file=str(TEMPLATE / "cookiecutter.json"), extra_context=dict(items)
    )
    answers = prompt_for_config(context, no_input=True)
    return tuple((key, value) for key, value in answers.items() if not key.startswith("_"))


DEFAULTS = resolved_answers()

rendered_files = project_files  # the post-gen hook's listing of a render's files


def render_facts(project: Path) -> dict:
    """The model of a render's answers (local_extensions.model), as the templates and the
    hooks saw it: from the answers its .cookiecutter.json records."""
    answers = json.loads((project / ".cookiecutter.json").read_text())["default_context"]
    return model(answers)


def policy_path(project: Path, environment_name: str = "") -> Path:
    """The rendered deploy policy of an environment ("" with one stack): the model's file."""
    return project / environment(render_facts(project), environment_name)["policy_file"]


BIN = Path(sys.executable).parent


def load_yaml(path: Path):
    """A YAML file as plain data, with the post-gen hook's loader: short-form tags such as
    `!Ref` become their full form (`{"Ref": ...}`), as CloudFormation reads them."""
    return _load_yaml_text(path.read_text(encoding="utf-8"))


def jinja_leftovers(project: Path) -> list[str]:
    """The post-gen hook's check: files (file:line) that still hold Jinja markup."""
    return find_jinja_leftovers(project)


# What secret scanners (GitHub push protection, gitleaks, checkov) take for a credential: an
# AWS access key id (AWS's documentation example included) or a private key.
CREDENTIAL_LOOKALIKES = re.compile(
    r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b|-----BEGIN [A-Z ]*PRIVATE KEY-----"
)


def credential_lookalikes(project: Path) -> list[str]:
    """Files (file:line) of a render with something a secret scanner would flag."""
    found = []
    for path in project_files(project):
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if CREDENTIAL_LOOKALIKES.search(line):
                found.append(f"{path.relative_to(project)}:{number}")
    return found


# --- Markdown, as a reader sees it ---------------------------------------------------------

MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def shown(markdown: str) -> list[str]:
    """The visible text of each top-level block of a Markdown document."""
    return [
        "".join(child.content for child in token.children or [])
        for token in MARKDOWN.parse(markdown)
        if token.type == "inline"
    ]


def squash(text: str) -> str:
    """What a browser shows: runs of white space collapse, ends are trimmed."""
    return " ".join(text.split())


def docs_problems(project: Path) -> list[str]:
    """What is wrong with a render's README and docs/*.md as a reader's documents: each is
    a Markdown document under an H1 title with no unclosed code fence, every relative link
    leads to a file of the render, and the README links every doc."""
    documents = [project / "README.md", *sorted((project / "docs").glob("*.md"))]
    problems, linked = [], set()
    for path in documents:
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(project).as_posix()
        tokens = MARKDOWN.parse(text)
        if not (tokens and tokens[0].type == "heading_open" and tokens[0].tag == "h1"):
            problems.append(f"{name}: does not start with an H1 title")
        fences = [line for line in text.splitlines() if line.lstrip().startswith("```")]
        if len(fences) % 2:
            problems.append(f"{name}: a code fence is not closed")
        links = [
            token.attrGet("href")
            for block in tokens
            for token in block.children or []
            if token.type == "link_open"
        ]
        for href in links:
            if re.match(r"[a-z]+:|#", href):
                continue  # a URL or an anchor
            target = (path.parent / href.split("#")[0]).resolve()
            if not target.is_file():
                problems.append(f"{name}: link to {href}, which is not a file of the render")
            elif path.name == "README.md":
                linked.add(target)
    problems += [
        f"README.md: no link to {doc.relative_to(project).as_posix()}"
        for doc in documents[1:]
        if doc.resolve() not in linked
    ]
    return problems


def runtime_python(version: str) -> Path:
    """The interpreter of a Lambda runtime version (`python3.13`), to build and run its
    artifacts: on PATH, else under pyenv (`$(pyenv root)/versions/3.13.*`). Missing, the
    test skips, unless LAMBDA_RUNTIMES (space-separated, set by .ci/run and the template's
    workflow) lists the version: then it fails."""
    import pytest

    name = f"python{version}"
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    # pyenv's shims answer for every version but fail for one that is not selected.
    candidates = [shutil.which(name), *sorted(root.glob(f"versions/{version}.*/bin/{name}"))]
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2], sys.executable)"],
            capture_output=True,
            text=True,
        )
        found, _, executable = probe.stdout.strip().partition(" ")
        if probe.returncode == 0 and found == version:
            # The interpreter, not a shim: pip through a pyenv shim runs a rehash, which
            # fails while another process rehashes.
            return Path(executable)
    reason = f"no {name} on PATH or under pyenv: the Python {version} runtime is not built here"
    if version in os.environ.get("LAMBDA_RUNTIMES", "").split():
        pytest.fail(f"{reason}, and LAMBDA_RUNTIMES requires it")
    pytest.skip(reason)


def settings_title(project: Path, package: str):
    """The default `title` of the rendered Settings, read from the source with `ast`."""
    config = ast.parse((project / "src" / package / "core" / "config.py").read_text())
    (title,) = [
        node.value
        for node in ast.walk(config)
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "title"
    ]
    return ast.literal_eval(title)


# --- uv: the rendered project's package manager ------------------------------------------


def pinned(tool: str) -> str:
    """The version of `tool` that requirements-test.txt pins (and `make test` installs)."""
    lines = (TEMPLATE / "requirements-test.txt").read_text().splitlines()
    return dict(line.split("==") for line in lines if "==" in line)[tool]


@functools.cache
def uv_bin() -> Path:
    """The venv's uv (requirements-test.txt pins it), else the one on PATH; either way the
    pinned version."""
    found = BIN / "uv" if (BIN / "uv").exists() else shutil.which("uv")
    assert found, "uv is not installed: `make test` installs it into .venv"
    version = subprocess.run([found, "--version"], capture_output=True, text=True).stdout
    assert version.split()[1] == pinned("uv"), (found, version)
    return Path(found)


# uv must never download an interpreter: the suite uses the runtimes on this machine.
UV_ENV = {"UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}


def uv(*args: str | Path, cwd: Path, env: dict | None = None, check: bool = True):
    """Run the pinned uv; `check=False` returns the failed result instead of failing."""
    full_env = {**os.environ, **UV_ENV, **(env or {})}
    full_env.pop("VIRTUAL_ENV", None)
    if check:
        return run([uv_bin(), *args], cwd, full_env)
    cmd = [str(uv_bin()), *map(str, args)]
    return subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True)


def stamp_by_content(project: Path) -> None:
    """Give each Python file of a render an mtime derived from its content, before mypy runs
    there with the worker's shared cache. mypy trusts a cached module whose relative path,
    size and mtime (whole seconds) match without reading the file: two renders made in the
    same second, with a file of the same size (package names of one length), would share a
    verdict. With these mtimes, equal mtimes mean equal contents."""
    for path in project.rglob("*.py"):
        if ".venv" not in path.parts:
            seconds = 1_000_000_000 + int.from_bytes(
                hashlib.sha256(path.read_bytes()).digest()[:4], "big"
            )
            os.utime(path, (seconds, seconds))


def lock_check(project: Path, check: bool = True):
    """`uv lock --check --offline`: the render's uv.lock is current for its pyproject.toml,
    decided from the lock alone (no index, no cache)."""
    return uv("lock", "--check", "--offline", cwd=project, check=check)


def locked_runtime(project: Path, python_version: str, machine: str) -> dict[str, str]:
    """{name: version} of what uv.lock installs at runtime on Lambda (linux, `machine`,
    CPython `python_version`): the project's dependencies and theirs, markers evaluated,
    the dev group left out. Read from uv.lock itself, not through uv."""
    import tomllib

    from packaging.markers import Marker

    environment = {
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": machine,
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "python_version": python_version,
        "python_full_version": f"{python_version}.0",
    }
    lock = tomllib.loads((project / "uv.lock").read_text())
    packages = {p["name"]: p for p in lock["package"]}
    (root,) = [p for p in lock["package"] if p.get("source") == {"editable": "."}]
    found: dict[str, str] = {}
    todo = list(root.get("dependencies", []))
    while todo:
        dependency = todo.pop()
        marker = dependency.get("marker")
        if marker and not Marker(marker).evaluate(environment):
            continue
        if dependency["name"] not in found:
            package = packages[dependency["name"]]
            found[package["name"]] = package["version"]
            todo += package.get("dependencies", [])
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


# Actions IAM enforces that the linters' action databases lack. CloudFormation's own resource
# handlers call them (cfn-lint's provider schemas list them; test_deploy_policy checks that
# they still do): AWS::ApiGatewayV2::Stage create/update, which tags the HTTP API's stage
# (the AccessDenied "not authorized to perform: apigateway:TagResource on resource:
# arn:aws:apigateway:REGION::/apis/ID/stages" is public: aws-amplify/amplify-cli#12316), and
# AWS::Lambda::Function read. parliament 1.6.4 reports all three as UNKNOWN_ACTION (filtered
# below); cfn-lint 1.58's W3037 the two apigateway ones, which the render's own setting hides
# (CFN_LINT_SETTING). Exactly those findings are accepted, nothing else.
NEWER_ACTIONS = frozenset(
    {"apigateway:TagResource", "apigateway:UntagResource", "lambda:GetFunctionScalingConfig"}
)

# The one cfn-lint setting a render may carry (docs/deploy-policy.md): W3037 off on the
# bootstrap's deploy policy (one per environment), only where it holds those apigateway actions.
CFN_LINT_SETTING = {"config": {"ignore_checks": ["W3037"]}}
CFN_LINT_SETTING_ON = re.compile(r"DeployPolicy(Staging|Production)?")


@functools.cache
def _cfn_lint_runner(region: str):
    """One cfn-lint runner per region and process: building one loads every rule (~1 s)."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    # include_checks=["I"]: informational findings too, on top of errors and warnings.
    return Runner(ConfigMixIn(include_checks=["I"], regions=[region]))


def _is_newer_action_warning(match, template: dict) -> bool:
    """cfn-lint's W3037 on one of NEWER_ACTIONS: its IAM action data (the Service
    Authorization Reference) lacks them as parliament's does, yet IAM enforces them (see
    NEWER_ACTIONS). Only that finding, on a policy Action that holds the action."""
    if match.rule.id != "W3037":
        return False
    node = template
    for key in match.path:
        node = node[key]
    actions = node if isinstance(node, list) else [node]
    return any(
        action in actions and match.message.startswith(f"'{action.split(':')[1].lower()}' is not")
        for action in NEWER_ACTIONS
    )


def cfn_lint_settings(template: dict) -> dict[str, object]:
    """The cfn-lint settings a template carries where cfn-lint reads them: its own Metadata
    (key "") and each resource's (key: the logical ID)."""
    places = {"": template, **(template.get("Resources") or {})}
    return {
        name: node["Metadata"]["cfn-lint"]
        for name, node in places.items()
        if isinstance(node, dict)
        and isinstance(node.get("Metadata"), dict)
        and "cfn-lint" in node["Metadata"]
    }


def _resource_of(match) -> str | None:
    """The logical ID of the resource a cfn-lint finding is on, if any."""
    path = list(match.path or [])
    return path[1] if len(path) > 1 and path[0] == "Resources" else None


def _setting_problems(template: dict, settings: dict, shown: list, runner) -> list[str]:
    """What is wrong with a template's cfn-lint settings: any but CFN_LINT_SETTING on a deploy
    policy, a finding it hides that is not W3037 on one of NEWER_ACTIONS, or one that hides
    nothing. What they hide is what cfn-lint reports once they are removed."""
    import copy

    problems = []
    for name, setting in settings.items():
        resource = template["Resources"].get(name) if name else None
        if not (
            CFN_LINT_SETTING_ON.fullmatch(name)
            and resource["Type"] == "AWS::IAM::ManagedPolicy"
            and setting == CFN_LINT_SETTING
        ):
            problems.append(f"cfn-lint setting on {name or 'the template'}: {setting}")
    lifted = copy.deepcopy(template)
    for name in settings:
        node = lifted["Resources"][name] if name else lifted
        del node["Metadata"]["cfn-lint"]
        if not node["Metadata"]:
            del node["Metadata"]
    seen = {str(match) for match in shown}
    hidden = [m for m in runner.validate_template(lifted) if str(m) not in seen]
    hidden_on = {_resource_of(match) for match in hidden}
    for match in hidden:
        if not (_resource_of(match) in settings and _is_newer_action_warning(match, template)):
            problems.append(f"hidden by a cfn-lint setting: {match}")
    for name in settings:
        if name not in hidden_on:
            problems.append(f"the cfn-lint setting on {name or 'the template'} hides nothing")
    return problems


def cfn_lint(path: Path, region: str = "us-east-1") -> list[str]:
    """Every cfn-lint finding on a template (errors, warnings AND informational findings)
    that the render's own pre-commit hook reports too, the template's settings honoured as
    cfn-lint honours them; plus what is wrong with those settings (only CFN_LINT_SETTING,
    hiding only W3037 on NEWER_ACTIONS). Uses the Python API: no process start-up per
    template."""
    from cfnlint.decode import decode_str

    template, errors = decode_str(path.read_text())
    if errors:
        return [f"{path.name}: {match}" for match in errors]
    runner = _cfn_lint_runner(region)
    matches = list(runner.validate_template(template))
    findings = [f"{path.name}: {match}" for match in matches]
    if settings := cfn_lint_settings(template):
        problems = _setting_problems(template, settings, matches, runner)
        findings += [f"{path.name}: {problem}" for problem in problems]
    return findings


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


def _is_newer_action(finding) -> bool:
    location = finding.location.get("string") if isinstance(finding.location, dict) else None
    return (
        finding.issue == "UNKNOWN_ACTION"
        and location in NEWER_ACTIONS
        and finding.detail == f"Unknown action {location}"
    )


# Actions IAM takes on one of several resource types (each marked required in the Service
# Authorization Reference, one per request), which parliament 1.6.4 reads as all required at
# once: dynamodb:GetResourcePolicy names a table or a stream, and the AWS::DynamoDB::Table
# read handler calls it on the table, so parliament asks for the stream's format too. That
# RESOURCE_MISMATCH, on exactly that format, is accepted; test_deploy_policy checks the
# reading against parliament's data.
ALTERNATIVE_RESOURCE_TYPES = {"dynamodb:GetResourcePolicy": "arn:*:dynamodb:*:*:table/*/stream/*"}


def _is_alternative_resource_type(finding) -> bool:
    """RESOURCE_MISMATCH on exactly one action of ALTERNATIVE_RESOURCE_TYPES, at the format
    of the resource type the statement does not name."""
    return finding.issue == "RESOURCE_MISMATCH" and any(
        finding.detail == [{"action": action, "required_format": other}]
        for action, other in ALTERNATIVE_RESOURCE_TYPES.items()
    )


def parliament_findings(policy_text: str) -> list[str]:
    """parliament's findings on an IAM policy (community auditors included), minus exactly
    the SAM transform ARN's INVALID_ARN false positive, the UNKNOWN_ACTION of the
    NEWER_ACTIONS and the RESOURCE_MISMATCH of the ALTERNATIVE_RESOURCE_TYPES."""
    import parliament

    policy = parliament.analyze_policy_string(policy_text, include_community_auditors=True)
    return [
        f"{f.issue}: {f.detail} at {f.location}"
        for f in policy.findings
        if not (
            _is_transform_false_positive(f)
            or _is_newer_action(f)
            or _is_alternative_resource_type(f)
        )
    ]


def sam_transform(
    template: dict,
    region: str,
    parameter_values: dict | None = None,
    code_uri: str = "s3://artifact-bucket/artifact.zip",
) -> dict:
    """The plain CloudFormation that the AWS::Serverless transform makes of a SAM template,
    offline, with `parameter_values` (parameters and pseudo parameters, as the change set
    passes them); each function's code at `code_uri`, where `sam deploy` would upload it."""
    import copy
    import os

    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self):
            return {}

    template = copy.deepcopy(template)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = code_uri
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region
    try:
        return transform(template, dict(parameter_values or {}), NoManagedPolicies())
    finally:
        if previous is None:
            del os.environ["AWS_DEFAULT_REGION"]
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous


# --- CI/CD pipelines ----------------------------------------------------------------------

# The one pipeline file each CI provider renders (the post-gen hook removes the others).
PIPELINE_FILES = {
    "github-actions": ".github/workflows/deploy.yml",
    "gitlab": ".gitlab-ci.yml",
    "travis": ".travis.yml",
}
# check-jsonschema's bundled (vendored SchemaStore) schema for each file.
PIPELINE_SCHEMAS = {
    ".github/workflows/deploy.yml": "vendor.github-workflows",
    ".github/dependabot.yml": "vendor.dependabot",
    ".gitlab-ci.yml": "vendor.gitlab-ci",
    ".travis.yml": "vendor.travis",
}
# What the build job (GitHub, GitLab) runs with SAM; Travis CI's deploy job runs both and
# `sam deploy` (DEPLOY_COMMANDS). GitHub's and GitLab's deploy jobs only deploy.
BUILD_COMMANDS = ["sam validate --lint", "sam build"]
DEPLOY_COMMANDS = [*BUILD_COMMANDS, "sam deploy"]
# A full commit SHA and the version it is, e.g. `actions/checkout@<40 hex> # v7.0.1`.
PINNED_USES = re.compile(r"^\s*(?:-\s+)?uses:\s+[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")

# check-jsonschema 0.38.1 subclasses `click.ParamType[...]`, which needs click 8.2, while
# aws-sam-cli 1.170.0 pins click 8.1.8 (python-jsonschema/check-jsonschema#719: the missing
# lower bound). Until a release declares it, run its CLI with ParamType made subscriptable;
# nothing else changes.
_CHECK_JSONSCHEMA = (
    "import sys, click\n"
    "if not hasattr(click.ParamType, '__class_getitem__'):\n"
    "    click.ParamType.__class_getitem__ = classmethod(lambda cls, item: cls)\n"
    "from check_jsonschema import main\n"
    "sys.exit(main())\n"
)
# Any attempt to reach the network fails fast: the validators must work offline.
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}


def offline_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k.lower() not in {"http_proxy", "https_proxy"}}
    return {**env, **OFFLINE, "NO_PROXY": ""}


def check_jsonschema(path: Path, schema: str) -> subprocess.CompletedProcess:
    """Validate `path` with check-jsonschema's bundled `schema`, offline and uncached.
    Returns the completed process (exit code 0 means valid); never raises on invalid."""
    return subprocess.run(
        [sys.executable, "-c", _CHECK_JSONSCHEMA, "--no-cache", "--builtin-schema", schema, path],
        capture_output=True,
        text=True,
        env=offline_env(),
        timeout=120,
    )


def pipeline_files(project: Path) -> list[str]:
    """The CI files (pipelines and Dependabot) present in a rendered project."""
    return [rel for rel in PIPELINE_SCHEMAS if (project / rel).is_file()]


def check_pipeline_schema(project: Path) -> list[str]:
    """Every CI file of a render validates against its SchemaStore schema; returns the files
    checked."""
    checked = pipeline_files(project)
    for rel in checked:
        result = check_jsonschema(project / rel, PIPELINE_SCHEMAS[rel])
        assert result.returncode == 0, f"{rel}:\n{result.stdout}\n{result.stderr}"
    return checked


def zizmor_findings(*paths: Path, min_severity: str = "medium") -> list[dict]:
    """zizmor's findings (offline, no ignore comments honoured) at `min_severity` or above.
    Fails if zizmor could not audit an input (e.g. one that is not a valid workflow)."""
    result = subprocess.run(
        [
            *(BIN / "zizmor", "--offline", "--no-ignores", "--strict-collection"),
            *("--format", "json", "--min-severity", min_severity, *paths),
        ],
        capture_output=True,
        text=True,
        env=offline_env(),
        timeout=120,
    )
    # 0: no findings; 10 + the highest severity: findings; anything else: zizmor failed.
    assert result.returncode == 0 or 10 <= result.returncode <= 14, result.stderr
    findings = json.loads(result.stdout)
    assert (result.returncode == 0) == (findings == []), result.stderr
    return findings


def check_github_hardening(workflow: Path) -> None:
    """The hardening zizmor does not check in full: every action pinned to a full commit SHA
    with its version in a comment, persist-credentials off, timeouts, minimal permissions."""
    text = workflow.read_text()
    uses_lines = [line for line in text.splitlines() if re.match(r"^\s*(-\s+)?uses:", line)]
    assert uses_lines, "no actions used"
    for line in uses_lines:
        assert PINNED_USES.match(line), f"not pinned to a commit SHA with its version: {line}"
    data = load_yaml(workflow)
    assert data["permissions"] in ({}, {"contents": "read"})
    for name, job in data["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int), f"job {name} has no timeout"
        assert "id-token" not in job.get("permissions", {}) or name.startswith("deploy"), name
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, name
            # No expressions in scripts: event data would be interpolated into the shell.
            assert "${{" not in step.get("run", ""), f"expression in a run: script of {name}"


def _as_list(value) -> list[str]:
    if value is None or value == "skip":
        return []
    return [value] if isinstance(value, str) else list(value)


def pipeline_jobs(project: Path, provider: str) -> dict[str, dict]:
    """The test, build (GitHub, GitLab) and deploy jobs of a rendered pipeline with one
    stack, as {"test": job, "build": job, "deploy": job} in the provider's own shape."""
    data = load_yaml(project / PIPELINE_FILES[provider])
    names = ("test", "build", "deploy")
    if provider == "github-actions":
        return {name: data["jobs"][name] for name in names}
    if provider == "gitlab":
        image = data.get("default", {}).get("image")
        return {name: {"image": image, **data[name]} for name in names}
    jobs = {}
    for job in data["jobs"]["include"]:
        if job.get("stage") in ("test", "deploy"):
            assert job["stage"] not in jobs, f"two {job['stage']} jobs"
            jobs[job["stage"]] = job
    return jobs


def job_commands(job: dict, provider: str) -> list[str]:
    """The shell commands a job runs, in order (setup actions excluded)."""
    if provider == "github-actions":
        return [step["run"] for step in job["steps"] if "run" in step]
    if provider == "gitlab":
        return _as_list(job.get("before_script")) + _as_list(job.get("script"))
    return _as_list(job.get("install")) + _as_list(job.get("script"))


def job_python(job: dict, provider: str) -> str:
    """The Python version a job sets up."""
    if provider == "github-actions":
        (setup,) = [
            s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python@")
        ]
        return setup["with"]["python-version"]
    if provider == "gitlab":
        match = re.fullmatch(r"python:(\d+\.\d+)(-slim)?", job["image"])
        assert match, f"not an official Python image: {job['image']}"
        return match.group(1)
    return job["python"]


def run_commands(commands: list[str], cwd: Path, venv: Path, extra_env: dict | None = None) -> None:
    """Run pipeline commands the way a CI runner does (each in `bash -eo pipefail`), with the
    venv's bin first on PATH so that `python`, `pip` and the tools are the venv's, then the
    pinned uv; `extra_env` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))}
    env.pop("VIRTUAL_ENV", None)
    path = os.pathsep.join([str(venv / "bin"), str(uv_bin().parent), os.environ["PATH"]])
    env.update(VIRTUAL_ENV=str(venv), PATH=path, **UV_ENV, **(extra_env or {}))
    for command in commands:
        run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command], cwd, env)


def service_tests(project: Path, python: Path):
    """Run a rendered project's own test suite (`pytest`, as its README says) with `python`,
    the interpreter of a venv that has the service's dependencies (the `service_python`
    fixture), and the project's own `src/` first on PYTHONPATH."""
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    env.pop("PYTEST_XDIST_WORKER", None)
    result = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project, env)
    assert " passed" in result.stdout, result.stdout
    return result


def lint_rendered(project: Path, python: Path) -> None:
    """Everything a render must pass: no leftover Jinja, ruff under the project's own
    configuration, cfn-lint on both CloudFormation templates (every finding counts) and on
    what CloudFormation receives for each stack, the two stacks fitting together,
    parliament on the deploy policy, the CI file against its SchemaStore schema (and
    zizmor on a GitHub workflow), and the project's own test suite (run with `python`, see
    `service_tests`)."""
    assert jinja_leftovers(project) == []
    assert credential_lookalikes(project) == []
    ruff(project)
    region = json.loads((project / ".cookiecutter.json").read_text())["default_context"][
        "aws_region"
    ]
    findings = cfn_lint(project / "template.yml", region)
    findings += cfn_lint(project / "infra" / "bootstrap.yml", region)
    assert findings == []
    from tests import stacks

    assert stacks.cloudformation_findings(project) == []
    assert stacks.fit_problems(project) == []
    policies = sorted((project / "iam").glob("deploy-policy*.json"))  # one per environment
    assert policies
    for policy in policies:
        assert parliament_findings(policy.read_text()) == []
    for rel in check_pipeline_schema(project):
        if rel.startswith(".github/workflows/"):
            assert zizmor_findings(project / rel) == []
    service_tests(project, python)
