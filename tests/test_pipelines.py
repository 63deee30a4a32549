"""The rendered CI/CD pipelines: schema-valid for their provider, zizmor-clean (GitHub), test
jobs whose commands really pass in the rendered project, a build job that validates and
builds once (GitHub, GitLab), and deploy jobs that deploy that build only on main, only after
the tests, one at a time per stack, with short-lived credentials where the provider offers
them; no run waits for a production approval."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import (
    BUILD_COMMANDS,
    CONTEXT,
    DEPLOY_COMMANDS,
    MARKDOWN,
    PIPELINE_FILES,
    TEMPLATE,
    check_github_hardening,
    check_jsonschema,
    check_pipeline_schema,
    job_commands,
    job_python,
    load_yaml,
    pinned,
    pipeline_jobs,
    run,
    run_commands,
    stamp_by_content,
    uv,
    zizmor_findings,
)

PROVIDERS = list(PIPELINE_FILES)
UV = pinned("uv")  # the uv each pipeline installs: the suite's own
# The SAM CLI of the job that builds (with uv for src/Makefile; GitHub: astral-sh/setup-uv),
# and of GitHub's and GitLab's deploy jobs, which do not build.
SAM_INSTALL = {
    "github-actions": "python -m pip install aws-sam-cli==1.170.0",
    "gitlab": f"python -m pip install aws-sam-cli==1.170.0 uv=={UV}",
    "travis": f"python -m pip install aws-sam-cli==1.170.0 uv=={UV}",
}
DEPLOY_INSTALL = {
    "github-actions": "python -m pip install aws-sam-cli==1.170.0",
    "gitlab": "python -m pip install awscli==1.46.3 aws-sam-cli==1.170.0",
}
# GitHub: the build job packs what `sam build` wrote into one file (a tar keeps file modes and
# the hidden files the artifact's zip would drop), the deploy jobs unpack it and check that
# `sam deploy` will find the built template rather than fall back to template.yml.
PACK = "tar -cf sam-build.tar .aws-sam/build"
UNPACK = "tar -xf sam-build.tar && test -f .aws-sam/build/template.yaml"
BUILT_TEMPLATE_CHECK = "test -f .aws-sam/build/template.yaml"  # GitLab's deploy jobs
MAIN_PUSH = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
GITLAB_MAIN_PUSH = '$CI_COMMIT_BRANCH == "main" && $CI_PIPELINE_SOURCE == "push"'

UV_INSTALL = f"python -m pip install uv=={UV}"  # GitLab and Travis; GitHub: setup-uv
LOCKED_COMMANDS = [
    "uv lock --check",
    "uv sync --locked",
    "uv run ruff check .",
    "uv run ruff format --check .",
    "uv run mypy",
    "uv run pytest",
]
TEST_COMMANDS = {
    "github-actions": LOCKED_COMMANDS,
    "gitlab": [UV_INSTALL, *LOCKED_COMMANDS],
    "travis": [UV_INSTALL, *LOCKED_COMMANDS],
}
# Answers that differ from the defaults, so that the assertions see them arrive.
ANSWERS = {"python_version": "3.12", "aws_region": "us-east-2", "stack_name": "orders-api"}


# --- schemas --------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_pipeline_is_schema_valid(bake, provider):
    project = bake(ci_provider=provider, **ANSWERS)
    expected = [PIPELINE_FILES[provider]]
    if provider == "github-actions":
        expected.append(".github/dependabot.yml")
    assert sorted(check_pipeline_schema(project)) == sorted(expected)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_answers_that_yaml_would_retype(bake, provider):
    """A stack named `yes` or `null` stays a string (YAML 1.1 reads them as a boolean and a
    null); Python 3.14 stays "3.14", not the float 3.14."""
    for stack_name in ("yes", "null"):
        project = bake(ci_provider=provider, stack_name=stack_name, python_version="3.14")
        check_pipeline_schema(project)
        deploy = pipeline_jobs(project, provider)["deploy"]
        assert job_python(deploy, provider) == "3.14"
        if provider == "github-actions":
            assert deploy["concurrency"]["group"] == f"deploy-{stack_name}"
        elif provider == "gitlab":
            assert deploy["resource_group"] == stack_name


def test_schemas_reject_broken_pipelines(tmp_path):
    """The validation can fail, offline: the seed article's Travis placeholders, a misspelt
    GitLab keyword and a GitHub job without a runner are refused."""
    seed_travis = tmp_path / "seed.travis.yml"
    seed_travis.write_text(
        "language: python\nenv:\n  global:\n  - AWS_DEFAULT_REGION=eu-west-1\n"
        "  - secure: your-encrypted-aws-access-key-id\n"
    )
    gitlab = tmp_path / "gitlab-ci.yml"
    gitlab.write_text("deploy:\n  script: [sam deploy]\n  resource_grop: prod\n")
    github = tmp_path / "workflow.yml"
    github.write_text("on: push\njobs:\n  test:\n    steps:\n      - run: pytest\n")
    for path, schema in [
        (seed_travis, "vendor.travis"),
        (gitlab, "vendor.gitlab-ci"),
        (github, "vendor.github-workflows"),
    ]:
        result = check_jsonschema(path, schema)
        assert result.returncode == 1, (path, result.stdout, result.stderr)
        assert "Schema validation errors" in result.stdout, result.stdout


def test_travis_file_stays_valid_with_encrypted_keys(bake, tmp_path):
    """`travis encrypt --add env.global` appends base64 RSA ciphertexts (512 bytes for a
    4096-bit key): the file must stay valid with them."""
    project = bake(ci_provider="travis")
    text = (project / ".travis.yml").read_text()
    assert "secure" not in text
    secure = [base64.b64encode(os.urandom(512)).decode() for _ in range(2)]
    encrypted = tmp_path / ".travis.yml"
    encrypted.write_text(
        text + "env:\n  global:\n" + "".join(f'    - secure: "{s}"\n' for s in secure)
    )
    result = check_jsonschema(encrypted, "vendor.travis")
    assert result.returncode == 0, result.stdout


# --- GitHub Actions hardening ---------------------------------------------------------------


def test_rendered_workflow_is_zizmor_clean(bake):
    project = bake(**ANSWERS)
    assert zizmor_findings(project / ".github") == []
    # Stricter than required: nothing at any severity, pedantic findings included.
    assert zizmor_findings(project / ".github", min_severity="informational") == []


def test_zizmor_catches_an_unhardened_workflow(bake, tmp_path):
    """The zizmor check can fail: actions by tag instead of commit SHA, and event data
    interpolated into a script. (zizmor knows that checkout v6+ keeps no token in .git, so
    persist-credentials is asserted by check_github_hardening instead.)"""
    workflow = bake() / ".github" / "workflows" / "deploy.yml"
    text = re.sub(r"@[0-9a-f]{40} # (v[\d.]+)", r"@\1", workflow.read_text())
    test_step = "        run: uv run pytest\n"
    assert text.count(test_step) == 1
    injected = '        run: uv run pytest -k "${{ github.event.pull_request.title }}"\n'
    broken = tmp_path / "deploy.yml"
    broken.write_text(text.replace(test_step, injected))
    idents = {finding["ident"] for finding in zizmor_findings(broken)}
    assert {"unpinned-uses", "template-injection"} <= idents


def test_rendered_workflow_is_hardened(bake):
    project = bake(**ANSWERS)
    workflow = project / ".github" / "workflows" / "deploy.yml"
    check_github_hardening(workflow)
    data = load_yaml(workflow)
    assert data["permissions"] == {}
    jobs = data["jobs"]
    assert jobs["test"]["permissions"] == {"contents": "read"}
    assert jobs["build"]["permissions"] == {"contents": "read"}  # builds with no AWS credentials
    assert jobs["deploy"]["permissions"] == {"contents": "read", "id-token": "write"}
    assert jobs["template-check"]["permissions"] == {"contents": "read"}
    (credentials,) = [
        step
        for step in jobs["deploy"]["steps"]
        if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    ]
    assert credentials["with"] == {
        "role-to-assume": "${{ vars.AWS_DEPLOY_ROLE_ARN }}",
        "aws-region": "us-east-2",
    }
    # No stored AWS keys anywhere.
    assert "AWS_SECRET_ACCESS_KEY" not in workflow.read_text()
    assert "secrets." not in workflow.read_text()

    dependabot = load_yaml(project / ".github" / "dependabot.yml")
    ecosystems = {u["package-ecosystem"]: u for u in dependabot["updates"]}
    assert set(ecosystems) == {"github-actions", "uv"}  # uv: uv.lock and pyproject.toml
    assert ecosystems["uv"]["directory"] == "/"
    # uv, pinned, in every job that runs it: the test job (cached) and the build job
    # (src/Makefile; not cached, what ships is downloaded afresh). The deploy job builds
    # nothing and runs no uv.
    for name, python in (("test", "3.12"), ("build", None)):
        (setup,) = [s for s in jobs[name]["steps"] if s.get("uses", "").startswith(SETUP_UV)]
        assert setup["with"]["version"] == UV, name
        assert setup["with"].get("python-version") == python, name
        assert setup["with"]["enable-cache"] is (name == "test"), name
    assert not [s for s in jobs["deploy"]["steps"] if s.get("uses", "").startswith(SETUP_UV)]


def test_template_own_workflow():
    """The template repository's CI: `make test` on pushes and pull requests, hardened."""
    workflow = TEMPLATE / ".github" / "workflows" / "test.yml"
    result = check_jsonschema(workflow, "vendor.github-workflows")
    assert result.returncode == 0, result.stdout
    assert zizmor_findings(workflow) == []
    assert zizmor_findings(workflow, min_severity="informational") == []
    check_github_hardening(workflow)
    data = load_yaml(workflow)
    assert set(data[True]) == {"push", "pull_request"}  # YAML 1.1 reads `on` as True
    (job,) = data["jobs"].values()
    assert [step["run"] for step in job["steps"] if "run" in step] == ["make test"]
    # A matrix of every Lambda runtime the template offers, each required in its job.
    assert job["strategy"]["matrix"]["runtime"] == sorted(CONTEXT["python_version"])
    assert job["env"]["LAMBDA_RUNTIMES"] == "${{ matrix.runtime }}"
    (setup,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python@")]
    assert setup["with"]["python-version"].split() == ["${{", "matrix.runtime", "}}", "3.11"]


def test_actions_pinned_alike(bake):
    """An action has one SHA and version across the rendered workflow and the template's own,
    so that a bump cannot miss one of them."""
    pins: dict[str, set[str]] = {}
    for workflow in (
        bake() / ".github" / "workflows" / "deploy.yml",
        TEMPLATE / ".github" / "workflows" / "test.yml",
    ):
        for action, pin in re.findall(
            r"uses: ([\w.-]+/[\w./-]+)@(\S+ # \S+)", workflow.read_text()
        ):
            pins.setdefault(action, set()).add(pin)
    assert {"actions/checkout", "actions/setup-python"} <= set(pins)
    assert all(len(found) == 1 for found in pins.values()), pins


# --- triggers, and the deploy job -----------------------------------------------------------


def triggers(project: Path, provider: str) -> dict:
    """The conditions that start the test and deploy jobs, per provider."""
    data = load_yaml(project / PIPELINE_FILES[provider])
    names = ("test", "build", "deploy")
    if provider == "github-actions":
        return {"on": data[True], **{n: data["jobs"][n].get("if") for n in names}}
    if provider == "gitlab":
        return {n: data[n]["rules"] for n in names} | {"stages": data["stages"]}
    return {"stages": data["stages"]}


SETUP_UV = "astral-sh/setup-uv@"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_test_job_runs_on_every_push_and_pull_request(bake, provider):
    project = bake(ci_provider=provider, **ANSWERS)
    jobs = pipeline_jobs(project, provider)
    assert job_commands(jobs["test"], provider) == TEST_COMMANDS[provider]
    assert job_python(jobs["test"], provider) == "3.12"
    found = triggers(project, provider)
    if provider == "github-actions":
        # Every branch: no branch filters on push or pull_request.
        assert found["on"]["push"] is None
        assert found["on"]["pull_request"] is None
        assert found["test"] == "github.event_name == 'push' || github.event_name == 'pull_request'"
    elif provider == "gitlab":
        assert found["test"] == [
            {"if": '$CI_PIPELINE_SOURCE == "push" || $CI_PIPELINE_SOURCE == "merge_request_event"'}
        ]
    else:
        assert found["stages"][0] == {"name": "test", "if": "type IN (push, pull_request)"}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_deploy_job(bake, tmp_path, provider):
    """GitHub, GitLab: a build job validates and builds after the tests, the deploy job
    deploys that build. Travis: its deploy job validates, builds and deploys (one build, one
    deploy). A pinned SAM CLI on the runtime's Python; only on a push to main, one at a time."""
    project = bake(ci_provider=provider, **ANSWERS)
    text = (project / PIPELINE_FILES[provider]).read_text()
    jobs = pipeline_jobs(project, provider)
    deploy = jobs["deploy"]
    commands = job_commands(deploy, provider)
    assert job_python(deploy, provider) == "3.12"
    found = triggers(project, provider)
    if provider == "travis":
        assert commands[-3:] == DEPLOY_COMMANDS
        assert [c for c in commands if c.startswith("sam ")] == DEPLOY_COMMANDS
    else:
        build = job_commands(jobs["build"], provider)
        assert build[: len(BUILD_COMMANDS) + 1] == [SAM_INSTALL[provider], *BUILD_COMMANDS]
        assert job_python(jobs["build"], provider) == "3.12"  # sam build: the runtime's Python
        assert [c for c in commands if c.startswith("sam ")] == ["sam deploy"]

    if provider == "github-actions":
        assert build == [SAM_INSTALL[provider], *BUILD_COMMANDS, PACK]
        assert commands == [DEPLOY_INSTALL[provider], UNPACK, "sam deploy"]
        assert jobs["build"]["needs"] == "test"
        assert deploy["needs"] == "build"
        assert found["build"] == found["deploy"] == MAIN_PUSH
        assert deploy["concurrency"] == {"group": "deploy-orders-api", "cancel-in-progress": False}
        # The credentials come before the first AWS call, after the build is unpacked.
        steps = [s.get("run") or s["uses"].split("@")[0] for s in deploy["steps"]]
        assert steps.index(UNPACK) < steps.index("aws-actions/configure-aws-credentials")
        assert steps.index("aws-actions/configure-aws-credentials") < steps.index("sam deploy")
    elif provider == "gitlab":
        assert build == [SAM_INSTALL[provider], *BUILD_COMMANDS]
        assert commands[0] == DEPLOY_INSTALL[provider]
        assert commands[2:] == [BUILT_TEMPLATE_CHECK, "sam deploy"]
        assume = commands[1]
        assert assume.startswith("export $(")
        assert "aws sts assume-role-with-web-identity" in assume
        assert '--role-arn "$AWS_DEPLOY_ROLE_ARN"' in assume
        assert '--web-identity-token "$AWS_ID_TOKEN"' in assume
        assert deploy["id_tokens"] == {"AWS_ID_TOKEN": {"aud": "sts.amazonaws.com"}}
        # `sam build` runs src/Makefile: the -slim images have no make, the full ones do;
        # `sam deploy` needs no make (every dependency of the two CLIs has a wheel).
        assert jobs["build"]["image"] == "python:3.12"
        assert deploy["image"] == "python:3.12-slim"
        assert jobs["build"]["needs"] == ["test"]
        assert deploy["needs"] == ["build"]
        stages = found["stages"]
        assert stages.index("test") < stages.index("build") < stages.index("deploy")
        assert found["build"] == found["deploy"] == [{"if": GITLAB_MAIN_PUSH}]
        assert deploy["resource_group"] == "orders-api"
        assert deploy["variables"] == {"AWS_DEFAULT_REGION": "us-east-2"}
        assert "AWS_SECRET_ACCESS_KEY=%s" in assume  # exported from STS, never stored
        # The line really exports what STS answers (a stand-in `aws` answers here).
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        (bin_dir / "aws").write_text(
            f'#!/bin/sh\nprintf "%s\\n" "$@" > "{tmp_path}/aws-args"\n'
            'printf "ASIAEXAMPLE\\tsecret/key+1\\tsession-token\\n"\n'
        )
        (bin_dir / "aws").chmod(0o755)
        env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "AWS_DEPLOY_ROLE_ARN": "arn:aws:iam::111122223333:role/orders-api-deploy",
            "AWS_ID_TOKEN": "id.token.jwt",
            "CI_PROJECT_ID": "42",
            "CI_PIPELINE_ID": "7",
        }
        script = f'{assume}\necho "$AWS_ACCESS_KEY_ID|$AWS_SECRET_ACCESS_KEY|$AWS_SESSION_TOKEN"'
        out = run(["sh", "-ec", script], tmp_path, env).stdout
        assert out.splitlines()[-1] == "ASIAEXAMPLE|secret/key+1|session-token"
        args = (tmp_path / "aws-args").read_text().splitlines()
        assert args[:2] == ["sts", "assume-role-with-web-identity"]
        assert args[args.index("--role-arn") + 1] == env["AWS_DEPLOY_ROLE_ARN"]
        assert args[args.index("--web-identity-token") + 1] == "id.token.jwt"
        assert args[args.index("--role-session-name") + 1] == "gitlab-42-7"
    else:
        assert commands == [SAM_INSTALL[provider], *DEPLOY_COMMANDS]
        assert "workspaces" not in deploy  # one build, one deploy: nothing to share
        names = [stage["name"] for stage in found["stages"]]
        assert names.index("test") < names.index("deploy")  # stages run in order
        assert found["stages"][names.index("deploy")]["if"] == "branch = main AND type = push"
        assert deploy["env"] == ["AWS_DEFAULT_REGION=us-east-2", "SAM_CLI_TELEMETRY=0"]
        assert "secure" not in text  # keys go in as encrypted variables, see docs/deployment.md
    assert "--use-container" not in text
    assert "--resolve-s3" not in text


# --- the pipelines really work --------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_test_job_commands_pass(bake, service_python, tmp_path, provider):
    """The test job's commands, as parsed from the rendered file, run in the rendered project:
    they check the lock, sync, lint, type-check and test. uv's project environment is the
    service venv (its dependencies are there already, so the sync only installs this render,
    editable); the pipeline's own install of uv is the pinned uv this suite runs."""
    project = bake(ci_provider=provider)
    commands = job_commands(pipeline_jobs(project, provider)["test"], provider)
    assert commands == TEST_COMMANDS[provider]
    commands = [command for command in commands if command != UV_INSTALL]
    venv = service_python.parents[1]
    mypy_cache = tmp_path.parent / "mypy-cache"  # the worker's, as in test_toolchain
    stamp_by_content(project)
    env = {"UV_PROJECT_ENVIRONMENT": str(venv), "MYPY_CACHE_DIR": str(mypy_cache)}
    # The service venv is shared by the xdist workers: one sync at a time in it, and nobody
    # else's between ours and our pytest. (Other tests put their render's src/ first on
    # PYTHONPATH, so the editable install they find does not matter to them.)
    with open(venv.with_name("service-venv.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run_commands(commands, project, venv, env)
        # What was installed, linted and tested is this render.
        show = uv("pip", "show", "--python", service_python, project.name, cwd=project)
    assert f"Editable project location: {project}" in show.stdout


@pytest.mark.parametrize("provider", PROVIDERS)
def test_template_check_job(bake, tmp_path, provider):
    """The cruft check runs only on a schedule (or by hand on GitHub), pins cruft, passes
    without running anything when the service has no .cruft.json, and fails when
    `cruft check` reports the service stale."""
    project = bake(ci_provider=provider)
    data = load_yaml(project / PIPELINE_FILES[provider])
    if provider == "github-actions":
        job = data["jobs"]["template-check"]
        assert (
            job["if"]
            == "github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'"
        )
        assert data[True]["schedule"]
        assert "workflow_dispatch" in data[True]
        (script,) = [step["run"] for step in job["steps"] if "run" in step]
    elif provider == "gitlab":
        job = data["template-check"]
        assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
        assert job["image"] == "python:3.13"  # with git, which cruft needs
        (script,) = job["script"]
    else:
        (stage,) = [s for s in data["stages"] if s["name"] == "template check"]
        assert stage["if"] == "type = cron"
        (job,) = [j for j in data["jobs"]["include"] if j["stage"] == "template check"]
        (script,) = job["script"]
    assert "python -m pip install cruft==2.16.0" in script
    assert "cruft check" in script

    # Stand-ins for python and cruft: the first records its call, the second reports stale.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    (bin_dir / "python").write_text(f'#!/bin/sh\necho "python $*" >> "{log}"\n')
    (bin_dir / "cruft").write_text(f'#!/bin/sh\necho "cruft $*" >> "{log}"\nexit 1\n')
    for stub in bin_dir.iterdir():
        stub.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}

    def job_run():
        return subprocess.run(
            ["bash", "-eo", "pipefail", "-c", script],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert not (project / ".cruft.json").exists()
    skipped = job_run()
    assert skipped.returncode == 0, skipped.stderr
    assert "No .cruft.json" in skipped.stdout
    assert not log.exists()  # nothing installed, nothing checked

    (project / ".cruft.json").write_text("{}")
    stale = job_run()
    assert stale.returncode == 1
    assert log.read_text().splitlines() == ["python -m pip install cruft==2.16.0", "cruft check"]


# --- staging, then production after an approval (environments=staging-production) ---------

STAGED = {**ANSWERS, "environments": "staging-production"}


def staged_jobs(project: Path, provider: str) -> dict[str, dict]:
    """The staging and production deploy jobs, in the provider's own shape."""
    data = load_yaml(project / PIPELINE_FILES[provider])
    if provider == "github-actions":
        return {env: data["jobs"][f"deploy-{env}"] for env in ("staging", "production")}
    if provider == "gitlab":
        image = data["default"]["image"]
        return {env: {"image": image, **data[f"deploy-{env}"]} for env in ("staging", "production")}
    jobs = {}
    for job in data["jobs"]["include"]:
        if job["stage"].startswith("deploy "):
            jobs[job["stage"].removeprefix("deploy ")] = job
    return jobs


@pytest.mark.parametrize("provider", PROVIDERS)
def test_staged_pipeline_is_schema_valid_and_hardened(bake, provider):
    project = bake(ci_provider=provider, **STAGED)
    checked = check_pipeline_schema(project)
    assert PIPELINE_FILES[provider] in checked
    if provider == "github-actions":
        workflow = project / PIPELINE_FILES[provider]
        assert zizmor_findings(workflow, min_severity="informational") == []
        check_github_hardening(workflow)
    data = load_yaml(project / PIPELINE_FILES[provider])
    names = set(data["jobs"]) if provider == "github-actions" else set(data)
    assert "deploy" not in names  # no deploy that bypasses staging


@pytest.mark.parametrize("provider", PROVIDERS)
def test_production_deploys_only_after_staging_and_approval(bake, provider):
    """Each environment's job deploys its own samconfig section with its own credentials;
    staging needs the tests, production needs staging and a human decision."""
    project = bake(ci_provider=provider, **STAGED)
    data = load_yaml(project / PIPELINE_FILES[provider])
    jobs = staged_jobs(project, provider)
    assert set(jobs) == {"staging", "production"}
    for env, job in jobs.items():
        commands = job_commands(job, provider)
        sam = [c for c in commands if c.startswith("sam ")]
        if provider == "travis":  # production runs in the tag's own build: it builds again
            assert sam == [*BUILD_COMMANDS, f"sam deploy --config-env {env}"]
        else:  # both deploy the build job's artifact
            assert sam == [f"sam deploy --config-env {env}"]
        assert job_python(job, provider) == "3.12"

    if provider == "github-actions":
        staging, production = jobs["staging"], jobs["production"]
        assert staging["needs"] == "build"
        assert production["needs"] == ["build", "deploy-staging"]
        assert staging["if"] == production["if"] == MAIN_PUSH
        # The GitHub environment: its required reviewers approve; its variable names the
        # role whose trust admits only this environment's jobs (check_bootstrap_environment).
        assert staging["environment"] == "staging"
        assert production["environment"] == "production"
        for job in jobs.values():
            (credentials,) = [
                s for s in job["steps"] if "configure-aws-credentials@" in s.get("uses", "")
            ]
            assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
        assert staging["concurrency"]["group"] != production["concurrency"]["group"]
    elif provider == "gitlab":
        staging, production = jobs["staging"], jobs["production"]
        assert data["stages"] == ["test", "build", "staging", "production", "maintenance"]
        assert staging["stage"] == "staging"
        assert production["stage"] == "production"
        assert staging["needs"] == ["build"]
        assert production["needs"] == ["build", "deploy-staging"]
        assert staging["rules"] == [{"if": GITLAB_MAIN_PUSH}]
        # A manual job that blocks the pipeline: somebody allowed on the protected
        # environment must run it.
        assert production["rules"] == [{"if": GITLAB_MAIN_PUSH, "when": "manual"}]
        assert production["allow_failure"] is False
        assert staging["environment"] == "staging"
        assert production["environment"] == "production"
        assert staging["resource_group"] == "orders-api-staging"
        assert production["resource_group"] == "orders-api-production"
    else:
        stages = {stage["name"]: stage["if"] for stage in data["stages"]}
        names = list(stages)
        assert (
            names.index("test") < names.index("deploy staging") < names.index("deploy production")
        )
        assert stages["deploy staging"] == "branch = main AND type = push AND tag IS blank"
        # Travis has no approvals: a pushed release tag is the approval.
        assert stages["deploy production"] == "tag =~ ^v[0-9] AND type = push"
        # That tag's build is not staging's: its job builds again, as the docs say.
        assert not [job for job in jobs.values() if "workspaces" in job]
        deployment = (project / "docs" / "deployment.md").read_text()
        assert "the production job builds the tagged commit again" in " ".join(deployment.split())
        for env, job in jobs.items():
            prefix = env.upper()
            export = (
                f'export AWS_ACCESS_KEY_ID="${prefix}_AWS_ACCESS_KEY_ID" '
                f'AWS_SECRET_ACCESS_KEY="${prefix}_AWS_SECRET_ACCESS_KEY"'
            )
            assert job["script"][0] == export


def test_travis_production_refuses_a_commit_not_on_main(bake, tmp_path):
    """The production job's guard, run in a real clone: a tag on main passes, a tag on a
    commit that never reached main (so never reached staging) stops the job."""
    project = bake(ci_provider="travis", **STAGED)
    production = staged_jobs(project, "travis")["production"]
    guard = [c for c in production["install"] if c.startswith("git ")]
    assert guard == [
        "git fetch --quiet origin main",
        'git merge-base --is-ancestor "$TRAVIS_COMMIT" FETCH_HEAD',
    ]
    origin, clone = tmp_path / "origin", tmp_path / "clone"
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    run(["git", "init", "-q", "-b", "main", origin], tmp_path, env)
    run(["git", "commit", "-q", "--allow-empty", "-m", "on main"], origin, env)
    run(["git", "clone", "-q", origin, clone], tmp_path, env)
    run(["git", "checkout", "-q", "-b", "side"], clone, env)
    run(["git", "commit", "-q", "--allow-empty", "-m", "never merged"], clone, env)

    def guard_passes(ref: str) -> bool:
        commit = run(["git", "rev-parse", ref], clone, env).stdout.strip()
        script = "\n".join(guard)
        result = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", script],
            cwd=clone,
            env={**env, "TRAVIS_COMMIT": commit},
            capture_output=True,
            text=True,
            timeout=60,
        )
        return result.returncode == 0

    assert guard_passes("main")
    assert not guard_passes("side")


# --- no run waits for an approval; deploys wait per stack (issue #19, item 1) -----------------

EXPRESSION = re.compile(r"\$\{\{((?:(?!\}\}).)*)\}\}", re.DOTALL)
EXPRESSION_TOKEN = re.compile(r"\s*(==|!=|&&|\|\||\(|\)|'(?:[^']|'')*'|[A-Za-z_][\w.-]*)")


def truthy(value) -> bool:
    """GitHub's truthiness: false, 0, '' and null are falsy."""
    return not (value is None or value is False or value == "" or value == 0)


def evaluate_expression(source: str, context: dict):
    """A GitHub Actions expression of the forms the rendered workflow uses: context
    properties (`github.ref`), string literals, `true`/`false`/`null`, `==`, `!=`, `&&`,
    `||` and parentheses, by GitHub's rules: `==` ignores the case of strings, `a && b` is
    `a` when `a` is falsy and `b` otherwise, `a || b` is `a` when `a` is truthy and `b`
    otherwise, `==` binds tighter than `&&`, `&&` than `||`. Anything else (a function, a
    number) fails the test rather than being guessed."""
    source = source.strip()
    tokens, position = [], 0
    while position < len(source):
        match = EXPRESSION_TOKEN.match(source, position)
        assert match, f"not an expression this evaluator reads: {source[position:]!r}"
        tokens.append(match.group(1))
        position = match.end()
    index = 0

    def take():
        nonlocal index
        assert index < len(tokens), f"incomplete expression: {source!r}"
        index += 1
        return tokens[index - 1]

    def peek():
        return tokens[index] if index < len(tokens) else None

    def primary():
        token = take()
        if token == "(":
            value = either()
            assert take() == ")", source
            return value
        if token.startswith("'"):
            return token[1:-1].replace("''", "'")
        if token in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[token]
        assert re.fullmatch(r"[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)+", token), token
        value = context
        for part in token.split("."):
            value = value[part]
        return value

    def comparison():
        left = primary()
        while peek() in ("==", "!="):
            operator, right = take(), primary()
            if isinstance(left, str) and isinstance(right, str):
                same = left.casefold() == right.casefold()
            else:
                same = left == right
            left = same if operator == "==" else not same
        return left

    def chain(operator, operand, pick):
        """A left-associative run of `operator` over `operand`s; `pick(left, right)`."""
        left = operand()
        while peek() == operator:
            take()
            left = pick(left, operand())
        return left

    def both():  # `a && b`: b if a is truthy, else a
        return chain("&&", comparison, lambda left, right: right if truthy(left) else left)

    def either():  # `a || b`: a if a is truthy, else b
        return chain("||", both, lambda left, right: left if truthy(left) else right)

    value = either()
    assert index == len(tokens), f"unread: {tokens[index:]}"
    return value


def interpolate(value, context: dict):
    """A workflow value as GitHub evaluates it: a lone `${{ }}` gives the expression's own
    value (a boolean for `cancel-in-progress`), text around `${{ }}` a string."""
    if not isinstance(value, str):
        return value
    whole = EXPRESSION.fullmatch(value.strip())
    if whole:
        return evaluate_expression(whole.group(1), context)

    def text(match):
        found = evaluate_expression(match.group(1), context)
        if isinstance(found, bool):
            return "true" if found else "false"
        return "" if found is None else str(found)

    return EXPRESSION.sub(text, value)


# The runs a workflow of this template sees: every push (main or a branch), pull requests,
# the weekly schedule and a manual run.
GITHUB_RUNS = {
    "push to main": {"event_name": "push", "ref": "refs/heads/main"},
    "push to a branch": {"event_name": "push", "ref": "refs/heads/feature"},
    "pull request 7": {"event_name": "pull_request", "ref": "refs/pull/7/merge"},
    "pull request 8": {"event_name": "pull_request", "ref": "refs/pull/8/merge"},
    "schedule": {"event_name": "schedule", "ref": "refs/heads/main"},
    "manual run": {"event_name": "workflow_dispatch", "ref": "refs/heads/main"},
}
OLD_CONCURRENCY = {  # the workflow-level group before issue #19: one per event and branch
    "group": "${{ github.workflow }}-${{ github.event_name }}-${{ github.ref }}",
    "cancel-in-progress": "${{ github.event_name == 'pull_request' }}",
}


def workflow_concurrency(workflow: dict, event: dict, run_id: int) -> tuple[str, bool]:
    """The workflow-level concurrency group and cancel-in-progress of the run `run_id` of
    `event` (its github.event_name and github.ref)."""
    context = {"github": {"workflow": workflow["name"], "run_id": str(run_id), **event}}
    concurrency = workflow["concurrency"]
    return (
        interpolate(concurrency["group"], context),
        interpolate(concurrency["cancel-in-progress"], context),
    )


def shared_groups(workflow: dict) -> list[list[str]]:
    """The runs that share a workflow-level group, when every run of GITHUB_RUNS happens
    twice (two run ids each)."""
    seen: dict[str, list[str]] = {}
    runs = [*GITHUB_RUNS.items(), *GITHUB_RUNS.items()]
    for run_id, (name, event) in enumerate(runs, start=1):
        group, cancel = workflow_concurrency(workflow, event, run_id)
        assert cancel is (event["event_name"] == "pull_request"), name
        seen.setdefault(group, []).append(name)
    return sorted(names for names in seen.values() if len(names) > 1)


def test_expression_evaluator_follows_github():
    """The evaluator above, on GitHub's documented rules, and on the group that froze main:
    two pushes to main shared it, so a run waiting for a reviewer held every later run."""
    context = {"github": {"event_name": "push", "ref": "refs/heads/main", "head_ref": ""}}
    assert evaluate_expression("github.event_name == 'PUSH'", context) is True
    assert evaluate_expression("github.event_name != 'push'", context) is False
    pick = "github.event_name == '{}' && github.{} || 'other'"
    assert evaluate_expression(pick.format("push", "ref"), context) == "refs/heads/main"
    assert evaluate_expression(pick.format("pull_request", "ref"), context) == "other"
    assert evaluate_expression(pick.format("push", "head_ref"), context) == "other"  # '' falls
    assert evaluate_expression("('a' || 'b') == 'A' && 'it''s'", context) == "it's"
    text = interpolate("x-${{ github.ref }}-${{ github.event_name == 'push' }}", context)
    assert text == "x-refs/heads/main-true"
    for unread in ("format('{0}', github.ref)", "github.run_number == 1", "github.ref =="):
        with pytest.raises((AssertionError, KeyError)):
            evaluate_expression(unread, context)
    old = {"name": "CI/CD", "concurrency": OLD_CONCURRENCY}
    assert ["push to main", "push to main"] in shared_groups(old)


@pytest.mark.parametrize("answers", [ANSWERS, STAGED], ids=["one-stack", "staging-production"])
def test_no_run_waits_for_another(render, answers):
    """The workflow-level group: only two runs of one pull request share one (the newer
    cancels the older); every push, schedule or manual run has a group of its own, so a run
    whose production deploy waits for a reviewer holds up no later run's tests or staging
    deploy."""
    workflow = load_yaml(render(**answers) / PIPELINE_FILES["github-actions"])
    twice = ["pull request 7", "pull request 7"], ["pull request 8", "pull request 8"]
    assert shared_groups(workflow) == sorted(twice)


DEPLOY_GROUPS = {
    "one-stack": {"deploy": "deploy-orders-api"},
    "staging-production": {
        "deploy-staging": "deploy-orders-api-staging",
        "deploy-production": "deploy-orders-api-production",
    },
}


@pytest.mark.parametrize(
    ("answers", "groups"),
    [(ANSWERS, DEPLOY_GROUPS["one-stack"]), (STAGED, DEPLOY_GROUPS["staging-production"])],
    ids=list(DEPLOY_GROUPS),
)
def test_deploys_wait_per_stack_and_never_cancel(render, answers, groups):
    """Each deploy job is in its own stack's group and never cancels the running deploy (a
    queued one waits; GitHub lets a newer pending one replace an older pending one). No
    other job is in a group of its own, and no group that a deploy of one push to main is in
    (its run's, its job's) holds a job of the next push, or of any other run: nothing that
    tests or builds waits for a deploy or for a production approval."""
    workflow = load_yaml(render(**answers) / PIPELINE_FILES["github-actions"])
    jobs = workflow["jobs"]
    in_groups = {name: job["concurrency"] for name, job in jobs.items() if "concurrency" in job}
    assert in_groups == {
        name: {"group": group, "cancel-in-progress": False} for name, group in groups.items()
    }
    assert len(set(groups.values())) == len(groups)
    push = GITHUB_RUNS["push to main"]
    held = {workflow_concurrency(workflow, push, 1)[0], *groups.values()}  # run 1's deploys
    for run_id, event in enumerate(GITHUB_RUNS.values(), start=2):  # run 2: the next push
        assert workflow_concurrency(workflow, event, run_id)[0] not in held, event
    # The check can fail: with the group before issue #19, the next push waits.
    old = {**workflow, "concurrency": OLD_CONCURRENCY}
    assert workflow_concurrency(old, push, 2)[0] in {
        workflow_concurrency(old, push, 1)[0],
        *groups.values(),
    }


# --- build once, deploy that build (issue #19, item 2) --------------------------------------


def uses(job: dict, action: str) -> list[dict]:
    """The steps of a GitHub job that use `action` (owner/name)."""
    return [step for step in job["steps"] if step.get("uses", "").startswith(f"{action}@")]


def step_index(job: dict, step: dict) -> int:
    return job["steps"].index(step)


def run_step(job: dict, command: str) -> dict:
    (step,) = [step for step in job["steps"] if step.get("run") == command]
    return step


@pytest.mark.parametrize("answers", [ANSWERS, STAGED], ids=["one-stack", "staging-production"])
def test_github_deploys_the_build_jobs_artifact(render, answers):
    """One build job, after the tests and only on a push to main, validates and builds
    (no AWS credentials) and uploads what `sam build` wrote; every deploy job downloads that
    artifact and deploys it, and none validates, builds or sets up uv."""
    jobs = load_yaml(render(**answers) / PIPELINE_FILES["github-actions"])["jobs"]
    build = jobs["build"]
    assert build["needs"] == "test"
    assert build["if"] == MAIN_PUSH
    assert job_commands(build, "github-actions") == [
        SAM_INSTALL["github-actions"],
        *BUILD_COMMANDS,
        PACK,
    ]
    assert build["permissions"] == {"contents": "read"}
    assert not uses(build, "aws-actions/configure-aws-credentials")
    (upload,) = uses(build, "actions/upload-artifact")
    assert upload["with"] == {
        "name": "sam-build",
        "path": "sam-build.tar",
        "if-no-files-found": "error",
        "retention-days": 7,
    }
    assert step_index(build, run_step(build, PACK)) < step_index(build, upload)
    deploys = [name for name in jobs if name.startswith("deploy")]
    assert deploys == list(
        DEPLOY_GROUPS["staging-production" if answers == STAGED else "one-stack"]
    )
    for name in deploys:
        job = jobs[name]
        needs = job["needs"] if isinstance(job["needs"], list) else [job["needs"]]
        assert "build" in needs, name
        commands = job_commands(job, "github-actions")
        assert not [c for c in commands if re.search(r"\bsam (build|validate)\b", c)], name
        assert [c for c in commands if c.startswith("sam ")] == [
            "sam deploy" + (f" --config-env {name.removeprefix('deploy-')}" if "-" in name else "")
        ]
        assert not uses(job, "astral-sh/setup-uv"), name
        (download,) = uses(job, "actions/download-artifact")
        # Into the workspace, where the build job made the file (no path: $GITHUB_WORKSPACE).
        assert download["with"] == {"name": upload["with"]["name"]}, name
        unpack = run_step(job, UNPACK)
        (deploy,) = [step for step in job["steps"] if step.get("run", "").startswith("sam deploy")]
        assert step_index(job, download) < step_index(job, unpack) < step_index(job, deploy)


LOOKUP = """
import types
from samcli.commands._utils.options import (
    _TEMPLATE_OPTION_DEFAULT_VALUE,
    get_or_default_template_file_name,
)
from samcli.lib.config.samconfig import SamConfig

ctx = types.SimpleNamespace(default_map={})
template = get_or_default_template_file_name(
    ctx, None, _TEMPLATE_OPTION_DEFAULT_VALUE, include_build=True
)
config = SamConfig(ctx.samconfig_dir).get_all(["deploy"], "parameters", env="production")
print(template, ctx.samconfig_dir, config["stack_name"])
"""


def file_tree(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under `root`: its mode and its bytes, by relative path."""
    return {
        path.relative_to(root).as_posix(): (path.stat().st_mode, path.read_bytes())
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_the_artifact_is_what_sam_build_wrote_and_what_sam_deploy_reads(render, tmp_path):
    """The GitHub build job's pack command on what `sam build` writes (SAM CLI's own build
    directory, with a hidden file and an executable, which the artifact's zip would drop or
    change), the artifact's file carried to a fresh checkout as download-artifact leaves it,
    the deploy job's unpack command there: the same files with the same modes, and SAM CLI's
    own template lookup (as `sam deploy` runs it) takes the built template, with the
    checkout's samconfig.toml. Without the artifact, or with a build that lacks the
    template, the unpack step fails instead of letting `sam deploy` fall back to the
    template.yml of the source."""
    from samcli.commands._utils.constants import DEFAULT_BUILD_DIR, DEFAULT_BUILT_TEMPLATE_PATH

    project = render(**STAGED)
    jobs = load_yaml(project / PIPELINE_FILES["github-actions"])["jobs"]
    pack = job_commands(jobs["build"], "github-actions")[-1]
    (upload,) = uses(jobs["build"], "actions/upload-artifact")
    artifact = upload["with"]["path"]
    (unpack,) = [c for c in job_commands(jobs["deploy-production"], "github-actions") if "tar" in c]
    assert DEFAULT_BUILD_DIR in pack.split()
    assert DEFAULT_BUILT_TEMPLATE_PATH in unpack.split()

    def checkout(name: str) -> Path:
        path = tmp_path / name
        shutil.copytree(project, path)
        return path

    def shell(command: str, cwd: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-eo", "pipefail", "-c", command], cwd=cwd, capture_output=True, text=True
        )

    builder, deployer = checkout("builder"), checkout("deployer")
    built = builder / DEFAULT_BUILD_DIR
    (built / "ApiFunction" / "fastapi" / ".agents").mkdir(parents=True)
    (built / "template.yaml").write_text("Resources: {}\n")
    (built / "ApiFunction" / "fastapi" / ".agents" / "skill.md").write_text("hidden\n")
    native = built / "ApiFunction" / "_native.so"
    native.write_bytes(b"\x7fELF")
    native.chmod(0o755)
    assert shell(pack, builder).returncode == 0
    shutil.copy(builder / artifact, deployer / artifact)
    result = shell(unpack, deployer)
    assert result.returncode == 0, result.stderr
    assert file_tree(deployer / DEFAULT_BUILD_DIR) == file_tree(built)
    found = run([sys.executable, "-c", LOOKUP], deployer).stdout.split()
    assert found == [
        str(deployer / DEFAULT_BUILT_TEMPLATE_PATH),
        str(deployer),
        "orders-api-production",
    ]

    # No artifact: the unpack fails; without it, `sam deploy` would take the source.
    bare = checkout("bare")
    assert shell(unpack, bare).returncode != 0
    source = run([sys.executable, "-c", LOOKUP], bare).stdout.split()[0]
    assert source == str(bare / "template.yml")
    # A build without its template: the unpack step fails too.
    (built / "template.yaml").unlink()
    assert shell(pack, builder).returncode == 0
    empty = checkout("empty")
    shutil.copy(builder / artifact, empty / artifact)
    assert shell(unpack, empty).returncode != 0


@pytest.mark.parametrize("answers", [ANSWERS, STAGED], ids=["one-stack", "staging-production"])
def test_gitlab_deploys_the_build_jobs_artifact(render, answers):
    """The build job (after the tests, on a push to main, no ID token) keeps what
    `sam build` wrote as its artifact; each deploy job needs it, so GitLab hands it the
    artifact, checks the built template is there and deploys it; none validates or builds.
    Deploy jobs hold their stack's resource group, are never interruptible (auto-cancel
    spares them) and the pipeline opts into no other auto-cancel."""
    from samcli.commands._utils.constants import DEFAULT_BUILD_DIR, DEFAULT_BUILT_TEMPLATE_PATH

    data = load_yaml(render(ci_provider="gitlab", **answers) / PIPELINE_FILES["gitlab"])
    build = data["build"]
    assert build["needs"] == ["test"]
    assert build["rules"] == [{"if": GITLAB_MAIN_PUSH}]
    assert job_commands(build, "gitlab") == [SAM_INSTALL["gitlab"], *BUILD_COMMANDS]
    assert "id_tokens" not in build
    assert build["artifacts"] == {"paths": [DEFAULT_BUILD_DIR], "expire_in": "7 days"}
    stacks = DEPLOY_GROUPS["staging-production" if answers == STAGED else "one-stack"]
    deploys = {name: data[name] for name in data if name.startswith("deploy")}
    assert list(deploys) == list(stacks)
    for name, job in deploys.items():
        assert job["needs"][0] == "build", name  # needs hands over its artifacts by default
        assert all(isinstance(need, str) for need in job["needs"]), name  # no artifacts: false
        assert "dependencies" not in job, name
        commands = job_commands(job, "gitlab")
        assert not [c for c in commands if re.search(r"\bsam (build|validate)\b", c)], name
        env = name.removeprefix("deploy-") if "-" in name else ""
        assert commands[-2:] == [
            f"test -f {DEFAULT_BUILT_TEMPLATE_PATH}",
            "sam deploy" + (f" --config-env {env}" if env else ""),
        ]
        assert job["resource_group"] == stacks[name].removeprefix("deploy-"), name
        assert job["interruptible"] is False, name
    jobs = {name: job for name, job in data.items() if isinstance(job, dict) and "stage" in job}
    assert {name for name, job in jobs.items() if "resource_group" in job} == set(deploys)
    assert "auto_cancel" not in data["workflow"]
    assert not any(job.get("interruptible") for job in jobs.values())


# --- each environment's protection, from the docs (issue #19, item 3) -----------------------

# Every kind of character a GitHub repository's owner and name may hold.
ODD_REPOSITORY = "Acme-1/.orders_api-v2.x"
STUB = """#!{python}
import json, os, sys
tool, args = os.path.basename(sys.argv[0]), sys.argv[1:]
stdin = sys.stdin.read() if "--input" in args else None
with open({log!r}, "a") as log:
    log.write(json.dumps({{"tool": tool, "args": args, "stdin": stdin}}) + "\\n")
if tool == "gh" and args[:2] == ["api", "users/<login>"]:
    print(4242)
if tool == "aws":
    query = args[args.index("--query") + 1]
    print("arn-of-" + query.split("'")[1])
"""


def test_docs_protect_both_github_environments(render, tmp_path):
    """docs/operations.md of a two-environment GitHub render gives the commands that protect
    each environment, for this render's repository: deployments from `main` only (both),
    required reviewers with self-review prevented (production), each environment's role ARN
    as its variable. Run as they stand, with stand-ins for gh and aws that record them."""
    project = render(**STAGED, repository=ODD_REPOSITORY)
    text = (project / "docs" / "operations.md").read_text()
    (block,) = [
        token.content
        for token in MARKDOWN.parse(text)
        if token.type == "fence" and "gh api" in token.content
    ]
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.jsonl"
    bin_dir.mkdir()
    for tool in ("gh", "aws"):
        (bin_dir / tool).write_text(STUB.format(python=sys.executable, log=str(log)))
        (bin_dir / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    run(["bash", "-euo", "pipefail", "-c", block], tmp_path, env)
    calls = [json.loads(line) for line in log.read_text().splitlines()]

    repo, branch_policy = (
        ODD_REPOSITORY,
        {"protected_branches": False, "custom_branch_policies": True},
    )
    environments = f"repos/{repo}/environments"
    expected = [("gh", ["api", "users/<login>", "--jq", ".id"], None)]
    for env_name, body in [
        ("staging", {"deployment_branch_policy": branch_policy}),
        (
            "production",
            {
                "prevent_self_review": True,
                "reviewers": [{"type": "User", "id": 4242}],
                "deployment_branch_policy": branch_policy,
            },
        ),
    ]:
        output = f"DeployRoleArn{env_name.capitalize()}"
        expected += [
            ("gh", ["api", "--method", "PUT", f"{environments}/{env_name}", "--input", "-"], body),
            (
                "gh",
                [
                    *("api", "--method", "POST"),
                    f"{environments}/{env_name}/deployment-branch-policies",
                    *("-f", "name=main", "-f", "type=branch"),
                ],
                None,
            ),
            (
                "aws",
                [
                    *("cloudformation", "describe-stacks", "--stack-name", "orders-api-bootstrap"),
                    *("--region", "us-east-2", "--query"),
                    f"Stacks[0].Outputs[?OutputKey=='{output}'].OutputValue",
                    *("--output", "text"),
                ],
                None,
            ),
            (
                "gh",
                [
                    *("variable", "set", "AWS_DEPLOY_ROLE_ARN", "--repo", repo),
                    *("--env", env_name, "--body", f"arn-of-{output}"),
                ],
                None,
            ),
        ]
    found = [
        (call["tool"], call["args"], json.loads(call["stdin"]) if call["stdin"] else None)
        for call in calls
    ]
    assert found == expected
