"""Keeping services in step with the template, through cruft's CLI as docs/updating.md says,
with the template's local Jinja extension (local_extensions.py) at every step:

- a service made with `cruft create` passes `cruft check`; once the template moves on,
  `cruft check` reports it stale and `cruft update` merges the change into a service that
  has local changes of its own, without conflicts; the files that the post-gen hook removed
  stay removed, and the recorded answers and template version follow; a filter that the
  new release adds is there when cruft renders it (cruft loads local extensions once per
  process, cruft/cruft#253: see LoadAfresh in local_extensions.py);
- a service made with plain cookiecutter is linked with `cruft link`, using the answers it
  recorded in `.cookiecutter.json` and the release tag of the version it was made from, and
  `cruft diff` then finds nothing to change (the record is complete), and `cruft update`
  follows the template from there.

The template is copied into a temporary git repository, since cruft works from git."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from cookiecutter.environment import StrictEnvironment
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.helpers import (
    BIN,
    CONTEXT,
    TEMPLATE,
    default_bucket,
    jinja_leftovers,
    rendered_files,
    run,
)

pytestmark = pytest.mark.slow

SLUG_DIR = "{{cookiecutter.project_slug}}"
VERSION = CONTEXT["_template_version"]
NEXT_VERSION = "99.0.0"
LOCAL_ONLY = [".git", ".venv", "rendered", "__pycache__", "*.pyc", ".*_cache", ".hypothesis"]
GIT_IDENTITY = ["-c", "user.name=Template Tests", "-c", "user.email=tests@example.com"]

# Files of the CI providers that a gitlab service must not have. The post-gen hook removes
# them; the copy of the template gets placeholders where the real ones have not landed yet,
# so that the hook has something to remove and the template change something to change.
REMOVED_FOR_GITLAB = [".github/workflows/deploy.yml", ".travis.yml"]


def git(cwd: Path, *args: str):
    return run(["git", *GIT_IDENTITY, *args], cwd=cwd)


def commit_all(cwd: Path, message: str) -> None:
    git(cwd, "add", "-A")
    git(cwd, "commit", "-q", "-m", message)


def cruft(cwd: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    """Run cruft's CLI; the caller checks the exit code."""
    return subprocess.run(
        [str(BIN / "cruft"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture
def env(tmp_path) -> dict:
    """cookiecutter writes replay files under HOME: keep them in the test's directory."""
    home = tmp_path / "home"
    home.mkdir()
    return {**os.environ, "HOME": str(home)}


@pytest.fixture
def template_repo(tmp_path) -> Path:
    """A git copy of the template, without the checkout's own git data, virtual environment,
    renders and caches, whose first commit is tagged as the current release,
    v<_template_version>."""
    repo = tmp_path / "template"
    ignore = shutil.ignore_patterns(*LOCAL_ONLY)
    shutil.copytree(TEMPLATE, repo, ignore=ignore)
    for rel in REMOVED_FOR_GITLAB:
        path = repo / SLUG_DIR / rel
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("# placeholder of the test: a file the post-gen hook removes\n")
    git(repo, "init", "-q")
    commit_all(repo, "template")
    git(repo, "tag", f"v{VERSION}")
    return repo


# A filter that the new release adds to local_extensions.py and uses at once.
NEW_FILTER = """

def runbook_title(value: str) -> str:
    return "Runbook of " + md_text(value)


RunbookTitle = simple_filter(runbook_title)
"""


def change_template(repo: Path) -> None:
    """A new template release: a line added to the rendered README, a new file rendered with
    a new escaping filter, changes to the files of the CI providers not chosen, and a new
    template version."""
    project = repo / SLUG_DIR
    with (project / "README.md").open("a") as readme:
        readme.write("\nTemplate change: see RUNBOOK.md.\n")
    (project / "RUNBOOK.md").write_text("# {{ cookiecutter.project_name | runbook_title }}\n")
    with (repo / "local_extensions.py").open("a") as extensions:
        extensions.write(NEW_FILTER)
    for rel in REMOVED_FOR_GITLAB:
        with (project / rel).open("a") as file:
            file.write("# changed by the template\n")
    (project / ".github" / "new-in-template.yml").write_text("new: true\n")
    context = repo / "cookiecutter.json"
    text = context.read_text()
    assert f'"_template_version": "{VERSION}"' in text
    text = text.replace(
        f'"_template_version": "{VERSION}"', f'"_template_version": "{NEXT_VERSION}"'
    )
    last = '"local_extensions.LoadAfresh"'
    assert text.count(last) == 1
    context.write_text(text.replace(last, f'"local_extensions.RunbookTitle",\n    {last}'))
    commit_all(repo, "template: a new release")


def recorded(project: Path) -> dict:
    return json.loads((project / ".cookiecutter.json").read_text())


def changed_paths(project: Path) -> set[str]:
    status = git(project, "status", "--porcelain", "--untracked-files=all").stdout
    return {line[3:] for line in status.splitlines()}


RECORD_TEMPLATE = (TEMPLATE / SLUG_DIR / ".cookiecutter.json").read_text()


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.characters(blacklist_categories=("Cs",))))
@example(text='a\tb "c" \\ d\x00\x1f\x7f\x85\xa0\u2028\u2029\ufeff\ufffe\uffff 😀 👩\u200d💻')
@example(text="  leading and trailing spaces  ")
def test_recorded_answers_are_exact_as_json_and_yaml(text):
    """Whatever a string answer holds (control characters, line separators, quotes,
    backslashes, emoji), `.cookiecutter.json` is valid JSON and reads the same as YAML."""
    answers = {
        key: value[0] if isinstance(value, list) else value
        for key, value in CONTEXT.items()
        if not key.startswith("_")
    }
    answers.update(project_name=text, description=text, author_name=text, project_slug=text)
    private = {"_template_version": VERSION, "_extensions": CONTEXT["_extensions"]}
    context = {"cookiecutter": {**answers, **private}}
    env = StrictEnvironment(context=context, keep_trailing_newline=True)
    rendered = env.from_string(RECORD_TEMPLATE).render(**context)
    record = json.loads(rendered)
    assert yaml.safe_load(rendered) == record
    assert record["default_context"] == answers
    assert record["template_version"] == VERSION


def test_recorded_answers_render_the_same_service(tmp_path, env):
    """`.cookiecutter.json` is JSON and a cookiecutter config file (YAML) with the same
    content, even for free text that needs escaping, and it renders the same service again:
    the basis of the plain-cookiecutter diff and of `cruft link --config-file`."""
    name = 'Quote "me" \\ ünïcode 😀 👩\u200d💻: #1 ${X} <b>&\tend'
    answers = [f"project_name={name}", f"description={name}", "project_slug=odd"]
    answers += ["api_type=rest", "snapstart=yes", "license=BSD-3-Clause", "timeout=20"]
    first, second = tmp_path / "first", tmp_path / "second"
    run(
        [BIN / "cookiecutter", "--no-input", "--output-dir", first, TEMPLATE, *answers],
        TEMPLATE,
        env,
    )
    record = first / "odd" / ".cookiecutter.json"
    text = record.read_text()
    assert "😀" in text  # readable, not escaped
    assert json.loads(text) == yaml.safe_load(text)
    context = json.loads(text)["default_context"]
    assert context["project_name"] == context["description"] == name
    assert context["snapstart"] is True
    assert context["timeout"] == "20"
    # A random default is replayed, not drawn again: the second render is byte-equal.
    assert default_bucket("odd").fullmatch(context["deployment_bucket"])
    assert list(context) == [key for key in CONTEXT if not key.startswith("_")]

    again = ["--no-input", "--config-file", record, "--output-dir", second, TEMPLATE]
    run([BIN / "cookiecutter", *again], TEMPLATE, env)
    files = [path.relative_to(first) for path in rendered_files(first)]
    assert files == [path.relative_to(second) for path in rendered_files(second)]
    for rel in files:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel


ANSWERS = {"project_name": "Round Trip", "ci_provider": "gitlab", "api_type": "rest"}


def test_cruft_create_check_update(tmp_path, env, template_repo):
    ok(
        cruft(
            tmp_path,
            env,
            "create",
            "--no-input",
            "--output-dir",
            str(tmp_path / "out"),
            "--extra-context",
            json.dumps(ANSWERS),
            str(template_repo),
        )
    )
    project = tmp_path / "out" / "round-trip"
    for rel in REMOVED_FOR_GITLAB:
        assert not (project / rel).exists(), rel
    assert jinja_leftovers(project) == []
    before = recorded(project)
    assert before["template_version"] == VERSION
    assert {key: before["default_context"][key] for key in ANSWERS} == ANSWERS
    cruft_state = json.loads((project / ".cruft.json").read_text())
    assert cruft_state["context"]["cookiecutter"]["_template_version"] == VERSION
    # The default bucket's random suffix is drawn once and recorded as the answer.
    bucket = before["default_context"]["deployment_bucket"]
    assert default_bucket("round-trip").fullmatch(bucket), bucket
    assert cruft_state["context"]["cookiecutter"]["deployment_bucket"] == bucket
    samconfig = (project / "samconfig.toml").read_text()
    assert f's3_bucket = "{bucket}"' in samconfig

    # The service's own repository, with a change of its own.
    git(project, "init", "-q")
    commit_all(project, "service")
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("## Quick start", "## Quick start (local)", 1))
    commit_all(project, "service: a local change")

    ok(cruft(project, env, "check"))

    change_template(template_repo)
    stale = cruft(project, env, "check")
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "out of date" in stale.stdout

    ok(cruft(project, env, "update", "--skip-apply-ask"))

    # Applied without conflicts: only the expected files changed, no rejects.
    assert not list(project.rglob("*.rej"))
    assert changed_paths(project) == {
        ".cookiecutter.json",
        ".cruft.json",
        "README.md",
        "RUNBOOK.md",
        "docs/updating.md",  # it names the template version
    }
    text = readme.read_text()
    assert "Template change: see RUNBOOK.md." in text
    assert "## Quick start (local)" in text
    assert (project / "RUNBOOK.md").read_text() == "# Runbook of Round Trip\n"
    # What the post-gen hook removed stays removed, even where the template changed it.
    for rel in [*REMOVED_FOR_GITLAB, ".github"]:
        assert not (project / rel).exists(), rel
    # The answers still hold (the bucket too: samconfig.toml and the bootstrap did not
    # change); the template version follows the template.
    after = recorded(project)
    assert after["default_context"] == before["default_context"]
    assert (project / "samconfig.toml").read_text() == samconfig
    assert after["template_version"] == NEXT_VERSION
    cruft_state = json.loads((project / ".cruft.json").read_text())
    assert cruft_state["context"]["cookiecutter"]["_template_version"] == NEXT_VERSION
    assert cruft_state["context"]["cookiecutter"]["ci_provider"] == "gitlab"
    assert jinja_leftovers(project) == []

    commit_all(project, "update from the template")
    ok(cruft(project, env, "check"))


# The default bucket up to 0.2.0, the same for everyone (docs/prompts.md): a service made
# then keeps its bucket through updates to the random default.
OLD_BUCKET_DEFAULT = "{{ cookiecutter.project_slug }}-artifacts-{{ cookiecutter.aws_region }}"


def test_plain_cookiecutter_service_links_with_its_recorded_answers(tmp_path, env, template_repo):
    context = template_repo / "cookiecutter.json"
    current = context.read_text()
    assert current.count(CONTEXT["deployment_bucket"]) == 1
    context.write_text(current.replace(CONTEXT["deployment_bucket"], OLD_BUCKET_DEFAULT))
    commit_all(template_repo, "template: the release with the old default bucket")
    git(template_repo, "tag", "-f", f"v{VERSION}")
    answers = ["project_name=Plain Service", "ci_provider=travis", "snapstart=yes"]
    out = tmp_path / "out"
    run(
        [BIN / "cookiecutter", "--no-input", "--output-dir", out, template_repo, *answers],
        tmp_path,
        env,
    )
    project = tmp_path / "out" / "plain-service"
    assert not (project / ".cruft.json").exists()
    assert recorded(project)["default_context"]["deployment_bucket"] == (
        "plain-service-artifacts-eu-west-1"
    )
    samconfig = (project / "samconfig.toml").read_text()
    git(project, "init", "-q")
    commit_all(project, "service")
    context.write_text(current)  # the new release draws a random suffix for new services
    change_template(template_repo)  # the template has moved on since the service was made

    record = project / ".cookiecutter.json"
    version = recorded(project)["template_version"]
    assert version == VERSION
    ok(
        cruft(
            project,
            env,
            "link",
            "--no-input",
            "--checkout",
            f"v{version}",
            "--config-file",
            str(record),
            str(template_repo),
        )
    )
    state = json.loads((project / ".cruft.json").read_text())
    assert state["context"]["cookiecutter"]["snapstart"] is True
    assert state["context"]["cookiecutter"]["ci_provider"] == "travis"
    # The recorded answers and version reproduce the service exactly.
    diff = ok(cruft(project, env, "diff", "--exit-code"))
    assert diff.stdout.strip() == ""

    commit_all(project, "link to the template with cruft")
    assert cruft(project, env, "check").returncode == 1
    ok(cruft(project, env, "update", "--skip-apply-ask"))
    assert not list(project.rglob("*.rej"))
    assert (project / ".travis.yml").read_text().endswith("# changed by the template\n")
    assert not (project / ".github").exists()
    assert recorded(project)["template_version"] == NEXT_VERSION
    # The bucket it was made with, still: the answer is replayed, not drawn again.
    assert recorded(project)["default_context"]["deployment_bucket"] == (
        "plain-service-artifacts-eu-west-1"
    )
    assert (project / "samconfig.toml").read_text() == samconfig

    # An answer changed later, as the rendered README says: the pipeline files follow.
    commit_all(project, "update from the template")
    switch = json.dumps({"ci_provider": "github-actions"})
    ok(cruft(project, env, "update", "--skip-apply-ask", "--variables-to-update", switch))
    assert not list(project.rglob("*.rej"))
    assert not (project / ".travis.yml").exists()
    assert (project / ".github" / "workflows" / "deploy.yml").is_file()
    assert recorded(project)["default_context"]["ci_provider"] == "github-actions"
    assert recorded(project)["default_context"]["snapstart"] is True
