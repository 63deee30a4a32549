"""The rendered CI/CD pipelines: schema-valid for their provider, zizmor-clean (GitHub), test
jobs whose commands really pass in the rendered project, and deploy jobs that validate, build
and deploy only on main, only after the tests, with short-lived credentials where the
provider offers them."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import (
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
    uv,
    zizmor_findings,
)

PROVIDERS = list(PIPELINE_FILES)
UV = pinned("uv")  # the uv each pipeline installs: the suite's own
SAM_INSTALL = {
    "github-actions": "python -m pip install aws-sam-cli==1.170.0",  # uv: astral-sh/setup-uv
    "travis": f"python -m pip install aws-sam-cli==1.170.0 uv=={UV}",
}
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
    # uv, pinned, in every job that runs it: the test job (cached) and the deploy job
    # (src/Makefile; not cached, what ships is downloaded afresh).
    for name, python in (("test", "3.12"), ("deploy", None)):
        (setup,) = [s for s in jobs[name]["steps"] if s.get("uses", "").startswith(SETUP_UV)]
        assert setup["with"]["version"] == UV, name
        assert setup["with"].get("python-version") == python, name
        assert setup["with"]["enable-cache"] is (name == "test"), name


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
    if provider == "github-actions":
        return {"on": data[True], **{n: data["jobs"][n].get("if") for n in ("test", "deploy")}}
    if provider == "gitlab":
        return {n: data[n]["rules"] for n in ("test", "deploy")} | {"stages": data["stages"]}
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
    """validate, build, deploy in that order, with a pinned SAM CLI on the runtime's Python;
    only on a push to main, only after the tests, one at a time."""
    project = bake(ci_provider=provider, **ANSWERS)
    text = (project / PIPELINE_FILES[provider]).read_text()
    deploy = pipeline_jobs(project, provider)["deploy"]
    commands = job_commands(deploy, provider)
    assert commands[-3:] == DEPLOY_COMMANDS
    assert [c for c in commands if c.startswith("sam ")] == DEPLOY_COMMANDS
    assert job_python(deploy, provider) == "3.12"  # sam build needs the runtime's Python
    found = triggers(project, provider)

    if provider == "github-actions":
        assert commands == [SAM_INSTALL[provider], *DEPLOY_COMMANDS]
        assert deploy["needs"] == "test"
        assert found["deploy"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
        assert deploy["concurrency"] == {"group": "deploy-orders-api", "cancel-in-progress": False}
        # The credentials come before the first AWS call.
        steps = [s.get("run") or s["uses"].split("@")[0] for s in deploy["steps"]]
        assert steps.index("aws-actions/configure-aws-credentials") < steps.index(
            DEPLOY_COMMANDS[0]
        )
    elif provider == "gitlab":
        assert commands[0] == f"python -m pip install awscli==1.46.3 aws-sam-cli==1.170.0 uv=={UV}"
        assume = commands[1]
        assert assume.startswith("export $(")
        assert "aws sts assume-role-with-web-identity" in assume
        assert '--role-arn "$AWS_DEPLOY_ROLE_ARN"' in assume
        assert '--web-identity-token "$AWS_ID_TOKEN"' in assume
        assert deploy["id_tokens"] == {"AWS_ID_TOKEN": {"aud": "sts.amazonaws.com"}}
        # `sam build` runs src/Makefile: the -slim images have no make, the full ones do.
        assert deploy["image"] == "python:3.12"
        assert deploy["needs"] == ["test"]
        assert found["stages"].index("test") < found["stages"].index("deploy")
        assert found["deploy"] == [
            {"if": '$CI_COMMIT_BRANCH == "main" && $CI_PIPELINE_SOURCE == "push"'}
        ]
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
        return {env: data[f"deploy-{env}"] for env in ("staging", "production")}
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
        assert sam == ["sam validate --lint", "sam build", f"sam deploy --config-env {env}"]
        assert job_python(job, provider) == "3.12"

    if provider == "github-actions":
        staging, production = jobs["staging"], jobs["production"]
        assert staging["needs"] == "test"
        assert production["needs"] == "deploy-staging"
        main_push = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
        assert staging["if"] == production["if"] == main_push
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
        assert data["stages"] == ["test", "staging", "production", "maintenance"]
        assert staging["stage"] == "staging"
        assert production["stage"] == "production"
        assert staging["needs"] == ["test"]
        assert production["needs"] == ["deploy-staging"]
        assert staging["rules"] == [
            {"if": '$CI_COMMIT_BRANCH == "main" && $CI_PIPELINE_SOURCE == "push"'}
        ]
        # A manual job that blocks the pipeline: somebody allowed on the protected
        # environment must run it.
        assert production["rules"] == [
            {
                "if": '$CI_COMMIT_BRANCH == "main" && $CI_PIPELINE_SOURCE == "push"',
                "when": "manual",
            }
        ]
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
