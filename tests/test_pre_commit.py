"""The rendered project's own hooks pass on a fresh render: its `.pre-commit-config.yaml`,
run with real pre-commit on a git-initialised copy of the defaults and of every preset.

pre-commit would clone each hook's repository, which cannot work offline; so each rendered
hook becomes a `repo: local`, `language: system` hook with its manifest's entry, types and
files and the render's own args and files, run with the tools installed for these tests,
whose versions must be the rendered revs (docs/contributing.md)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

from tests.helpers import (
    BIN,
    TEMPLATE,
    cfn_lint,
    cfn_lint_settings,
    load_yaml,
    offline_env,
    rendered_files,
    stamp_by_content,
    uv_bin,
)
from tests.test_presets import PRESET_NAMES, preset_answers

# The hooks the render uses, as their repository's .pre-commit-hooks.yaml defines them (every
# key, verbatim), and the rev that holds them, keyed by repository. Read from the repositories:
# ruff-pre-commit at e602328bc581 (v0.16.4, the newest read; the manifest is unchanged since
# 39f54b73c72a, #124, later commits only bump the version); pre-commit-hooks at tag v6.0.0
# (3e8a8703264a); cfn-lint at 217397c819d2 (1.55.1, the newest read; unchanged since
# ae76d89ccabc, #2448). Bumping a rev: copy the entries again from the manifest at that tag.
MANIFESTS = {
    "https://github.com/astral-sh/ruff-pre-commit": {
        "rev": "v0.17.6",
        "tool": "ruff",
        "hooks": {
            "ruff-check": {
                "name": "ruff check",
                "description": "Run 'ruff check' for extremely fast Python linting",
                "entry": "ruff check --force-exclude",
                "language": "python",
                "types_or": ["python", "pyi", "jupyter"],
                "args": [],
                "require_serial": True,
                "additional_dependencies": [],
                "minimum_pre_commit_version": "2.9.2",
            },
            "ruff-format": {
                "name": "ruff format",
                "description": "Run 'ruff format' for extremely fast Python formatting",
                "entry": "ruff format --force-exclude",
                "language": "python",
                "types_or": ["python", "pyi", "jupyter"],
                "args": [],
                "require_serial": True,
                "additional_dependencies": [],
                "minimum_pre_commit_version": "2.9.2",
            },
        },
    },
    "https://github.com/pre-commit/pre-commit-hooks": {
        "rev": "v6.0.0",
        "tool": "pre-commit-hooks",
        "hooks": {
            "check-json": {
                "name": "check json",
                "description": "checks json files for parseable syntax.",
                "entry": "check-json",
                "language": "python",
                "types": ["json"],
            },
            "check-toml": {
                "name": "check toml",
                "description": "checks toml files for parseable syntax.",
                "entry": "check-toml",
                "language": "python",
                "types": ["toml"],
            },
            "check-yaml": {
                "name": "check yaml",
                "description": "checks yaml files for parseable syntax.",
                "entry": "check-yaml",
                "language": "python",
                "types": ["yaml"],
            },
            "end-of-file-fixer": {
                "name": "fix end of files",
                "description": "ensures that a file is either empty, or ends with one newline.",
                "entry": "end-of-file-fixer",
                "language": "python",
                "types": ["text"],
                "stages": ["pre-commit", "pre-push", "manual"],
                "minimum_pre_commit_version": "3.2.0",
            },
            "trailing-whitespace": {
                "name": "trim trailing whitespace",
                "description": "trims trailing whitespace.",
                "entry": "trailing-whitespace-fixer",
                "language": "python",
                "types": ["text"],
                "stages": ["pre-commit", "pre-push", "manual"],
                "minimum_pre_commit_version": "3.2.0",
            },
        },
    },
    "https://github.com/aws-cloudformation/cfn-lint": {
        "rev": "v1.58.0",
        "tool": "cfn-lint",
        "hooks": {
            "cfn-lint": {
                "name": "AWS CloudFormation Linter",
                "description": (
                    "cfn-lint is a tool for finding issues with CloudFormation templates"
                ),
                "entry": "cfn-lint",
                "language": "python",
                "files": r"\.(json|yaml|yml)$",
            },
        },
    },
}
# The render's `repo: local` hooks and their entries: mypy from the project's locked
# environment (here the service venv, which `uv sync --locked` made from a render's lock).
LOCAL_HOOKS = {"mypy": "uv run --frozen mypy"}
# What a render's hook may set on top of its manifest: what this test knows how to carry over.
OVERRIDES = {"id", "args", "files", "exclude", "types", "types_or", "exclude_types"}

RENDERS = {"defaults": {}, **{f"preset:{name}": preset_answers(name) for name in PRESET_NAMES}}


def pins() -> dict[str, str]:
    lines = (TEMPLATE / "requirements-test.txt").read_text().splitlines()
    return dict(line.split("==") for line in lines if "==" in line)


def local_config(project: Path) -> dict:
    """The render's .pre-commit-config.yaml with each hook made a local system hook: its
    manifest's keys, then the render's, language `system`. Asserts that each repo's rev is the
    version of the tool installed (and pinned) for these tests, that each hook is one of its
    manifest's, and that nothing configures cfn-lint outside the templates (no arguments, no
    .cfnlintrc, which cfn-lint reads from the working directory)."""
    assert version("pre-commit") == pins()["pre-commit"]
    rendered = load_yaml(project / ".pre-commit-config.yaml")
    assert set(rendered) == {"repos"}, "top-level pre-commit settings this test does not carry"
    hooks = []
    for repo in rendered["repos"]:
        if repo["repo"] == "local":  # the render's own hooks, run as they are
            assert set(repo) == {"repo", "hooks"}
            assert {hook["language"] for hook in repo["hooks"]} == {"system"}
            assert [hook["id"] for hook in repo["hooks"]] == list(LOCAL_HOOKS)
            for hook in repo["hooks"]:
                assert hook["entry"] == LOCAL_HOOKS[hook["id"]], hook["id"]
            hooks += repo["hooks"]
            continue
        manifest = MANIFESTS[repo["repo"]]
        assert repo["rev"] == manifest["rev"], f"{repo['repo']}: copy the manifest at its rev"
        tool = manifest["tool"]
        assert repo["rev"] == f"v{version(tool)}" == f"v{pins()[tool]}", tool
        for hook in repo["hooks"]:
            assert hook["id"] in manifest["hooks"], f"{hook['id']} is not a hook of {repo['repo']}"
            assert set(hook) <= OVERRIDES, f"{hook['id']}: {set(hook) - OVERRIDES}"
            defined = dict(manifest["hooks"][hook["id"]])
            assert defined.pop("additional_dependencies", []) == []
            hooks.append({**defined, **hook, "language": "system"})
    (lint,) = [hook for hook in hooks if hook["id"] == "cfn-lint"]
    assert "args" not in lint, "cfn-lint configured outside the templates"
    assert not [p for p in rendered_files(project) if p.name.startswith(".cfnlintrc")]
    return {"repos": [{"repo": "local", "hooks": hooks}]}


def git(copy: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    result = subprocess.run(["git", *args], cwd=copy, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def run_hooks(
    project: Path, work: Path, venv: Path, change=None
) -> tuple[subprocess.CompletedProcess, set]:
    """`pre-commit run --all-files` with the local config on a git-initialised copy of
    `project` (after `change(copy)`, if given): the completed process and the files the
    hooks changed. `uv run` runs in `venv`, the suite's locked environment, without syncing
    it (offline, and shared: it is never changed)."""
    copy = work / project.name
    shutil.copytree(project, copy)
    if change:
        change(copy)
    stamp_by_content(copy)  # the worker's mypy cache is shared
    git(copy, "init", "-q")
    git(copy, "add", "-A")
    config = work / "pre-commit-local.yaml"
    config.write_text(yaml.safe_dump(local_config(project), sort_keys=False))
    env = {k: v for k, v in offline_env().items() if not k.startswith(("PRE_COMMIT", "GIT_"))}
    env.pop("SKIP", None)  # pre-commit skips the hooks it names
    env.update(
        PATH=f"{BIN}{os.pathsep}{env['PATH']}",
        PRE_COMMIT_HOME=str(work / "pre-commit-home"),
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        UV_PROJECT_ENVIRONMENT=str(venv),
        UV_NO_SYNC="1",
        MYPY_CACHE_DIR=str(work.parent / "mypy-cache"),
    )
    env["PATH"] = f"{uv_bin().parent}{os.pathsep}{env['PATH']}"
    command = [BIN / "pre-commit", "run", "--all-files", "--config", config, "--color", "never"]
    result = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, timeout=300)
    return result, set(git(copy, "diff", "--name-only").split())


def failed_hooks(output: str) -> set[str]:
    return set(re.findall(r"^- hook id: (\S+)$", output, flags=re.MULTILINE))


# The one comment above each cfn-lint setting: the doc and section that say why.
SETTING_COMMENT = re.compile(r'^ +# .* \(W3037\): see (docs/[\w-]+\.md), "([^"]+)"\.$', re.M)


def check_the_setting_is_explained(project: Path) -> None:
    """Each cfn-lint setting of the bootstrap has its comment, and the section it points to
    names the check and the resource."""
    bootstrap = project / "infra" / "bootstrap.yml"
    settings = cfn_lint_settings(load_yaml(bootstrap))
    pointers = SETTING_COMMENT.findall(bootstrap.read_text())
    assert len(pointers) == len(settings)
    for doc, title in set(pointers):
        text = (project / doc).read_text()
        section = text[text.index(f"\n## {title}\n") :]
        section = section[: section.find("\n## ", 1)]
        assert "W3037" in section
        assert all(f"`{name}`" in section for name in settings), settings


@pytest.mark.parametrize("name", RENDERS)
def test_rendered_hooks_pass_on_a_fresh_render(render, tmp_path, service_python, name):
    """Every hook passes, none skipped for want of files, and the fixers change nothing."""
    project = render(**RENDERS[name])
    check_the_setting_is_explained(project)
    result, changed = run_hooks(project, tmp_path, service_python.parent.parent)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert failed_hooks(output) == set()
    assert "Skipped" not in output, output
    assert changed == set()


def test_rendered_hooks_fail_on_what_they_must_catch(render, tmp_path, service_python):
    """The same run notices, hook by hook, what each must: a trailing space, a blank last
    line, an unused import, unformatted code, broken YAML, JSON and TOML, a function without
    annotations (mypy), and cfn-lint's W3037 on a resource the render's cfn-lint setting does
    not cover."""
    project = render()
    package = next((project / "src").glob("*/main.py")).parent.relative_to(project)

    def spoil(copy: Path) -> None:
        readme = copy / "README.md"
        readme.write_text(readme.read_text().replace("\n", " \n", 1))
        doc = copy / "docs" / "development.md"
        doc.write_text(doc.read_text() + "\n")
        (copy / package / "unused.py").write_text("import os\n")
        (copy / package / "unformatted.py").write_text("x = ( 1 )\n")
        (copy / package / "untyped.py").write_text("def double(x):\n    return 2 * x\n")
        (copy / "broken.yaml").write_text("key: [\n")
        (copy / "broken.json").write_text("{\n")
        (copy / "broken.toml").write_text("key =\n")
        bootstrap = copy / "infra" / "bootstrap.yml"
        bootstrap.write_text(grant_the_execution_role(bootstrap.read_text()))

    result, changed = run_hooks(project, tmp_path, service_python.parent.parent, spoil)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert failed_hooks(output) == {
        hook["id"] for hook in local_config(project)["repos"][0]["hooks"]
    }
    assert "W3037 'tagresource' is not one of" in output
    assert "untyped.py:1: error: Function is missing a type annotation" in output
    assert changed == {
        "README.md",
        "docs/development.md",
        (package / "unused.py").as_posix(),
        (package / "unformatted.py").as_posix(),
    }


def grant_the_execution_role(bootstrap: str) -> str:
    """The bootstrap with apigateway:TagResource granted to the Lambda execution role, a
    resource that carries no cfn-lint setting."""
    first = "                  - logs:CreateLogStream\n"  # the execution role's first action
    assert bootstrap.index("  LambdaExecutionRole") < bootstrap.index(first)
    assert bootstrap.index(first) < bootstrap.index("  DeployPolicy")
    return bootstrap.replace(
        first, first + first.replace("logs:CreateLogStream", "apigateway:TagResource"), 1
    )


def test_cfn_lint_on_a_render_hides_only_the_newer_actions(render, tmp_path):
    """The render's one cfn-lint setting (W3037 off on the bootstrap's deploy policy) hides
    nothing but the findings on NEWER_ACTIONS: the suite still reports a misspelt action added
    to that policy, and the newer actions on any other resource, as the hook does."""
    source = render() / "infra" / "bootstrap.yml"
    text = source.read_text()
    assert cfn_lint(source) == []
    bootstrap = tmp_path / "bootstrap.yml"
    (newer,) = [line for line in text.splitlines() if line.strip() == '"apigateway:UntagResource"']
    misspelt = newer.replace("UntagResource", "TagResources")
    bootstrap.write_text(text.replace(newer, f"{newer},\n{misspelt}"))
    (finding,) = cfn_lint(bootstrap)
    assert "hidden by a cfn-lint setting" in finding
    assert "'tagresources' is not one of" in finding
    bootstrap.write_text(grant_the_execution_role(text))
    (finding,) = cfn_lint(bootstrap)
    assert "W3037" in finding
    assert "'tagresource' is not one of" in finding
    assert "hidden" not in finding
