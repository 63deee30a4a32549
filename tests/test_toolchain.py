"""The rendered project's toolchain (uv, mypy, the OpenAPI contract) on every render that
can differ: the defaults, every preset and every single-option override.

- `uv lock --check --offline`: the rendered uv.lock is current for the rendered
  pyproject.toml, decided from the lock alone; its entries sorted as uv writes them, the
  project's own named by its slug;
- the template's lock is what `scripts/lock.py` writes (regenerate it there);
- `mypy` (strict, configured in pyproject.toml) is clean on src/, tests/ and scripts/;
- the rendered OpenAPI contract test fails when an endpoint changes without regenerating
  `openapi.json`, and passes once the documented command has regenerated it."""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.helpers import (
    DEFAULTS,
    SINGLE_OPTIONS,
    TEMPLATE,
    lock_check,
    run,
    service_tests,
    single_option,
    stamp_by_content,
)
from tests.test_presets import PRESET_NAMES, preset_answers

RENDERS = {
    "defaults": {},
    **{f"preset:{name}": preset_answers(name) for name in PRESET_NAMES},
    **{f"{key}={value}": single_option(key, value) for key, value in SINGLE_OPTIONS},
}
# Slugs that sort first, last, and collapse on normalisation (`my--svc` is `my-svc`).
SLUGS = ["a", "zzz-service", "my--svc", "mangum-orders"]


def script(name: str):
    """The template's scripts/<name>.py as a module."""
    path = TEMPLATE / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{name}_script", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lock_script():
    return script("lock")


def lock_names(project: Path) -> list[str]:
    return [p["name"] for p in tomllib.loads((project / "uv.lock").read_text())["package"]]


def normalised(slug: str) -> str:
    return re.sub(r"-+", "-", slug)


def assert_lock_fits(project: Path, slug: str) -> None:
    names = lock_names(project)
    assert names == sorted(names)  # where uv writes each entry
    assert names.count(normalised(slug)) == 1
    lock_check(project)


@pytest.mark.parametrize("answers", RENDERS.values(), ids=RENDERS.keys())
def test_the_lock_is_current(render, answers):
    project = render(**answers)
    slug = json.loads((project / ".cookiecutter.json").read_text())["default_context"][
        "project_slug"
    ]
    assert_lock_fits(project, slug)


@pytest.mark.parametrize("slug", SLUGS)
def test_the_projects_entry_sorts_with_its_slug(render, slug):
    assert_lock_fits(render(project_slug=slug), slug)


def test_a_stale_lock_fails_the_check(bake):
    """The check this file relies on can fail: a dependency added to pyproject.toml alone."""
    project = bake()
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text.replace('  "fastapi>=', '  "idna>=3",\n  "fastapi>=', 1))
    result = lock_check(project, check=False)
    assert result.returncode != 0
    assert "needs to be updated" in result.stderr or "No solution" in result.stderr, result


def test_the_template_lock_is_what_the_script_writes(render):
    """`{{cookiecutter.project_slug}}/uv.lock` is `scripts/lock.py`'s template of a default
    render's lock: edited by hand, or written by something else, it differs."""
    project = render()
    template = (TEMPLATE / "{{cookiecutter.project_slug}}" / "uv.lock").read_text()
    lock = (project / "uv.lock").read_text()
    assert lock_script().templated(lock, DEFAULTS["project_slug"]) == template


# --- mypy --strict on every render ----------------------------------------------------------

CHECKED: dict[str, str] = {}  # content of a render's typed files -> mypy's output, per worker


def typed_content(project: Path) -> str:
    """What mypy's verdict depends on: every Python file and mypy's settings (not the rest
    of pyproject.toml: a license or a description changes nothing mypy reads)."""
    tool = tomllib.loads((project / "pyproject.toml").read_text())["tool"]
    settings = {key: tool[key] for key in ("mypy", "pydantic-mypy")}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for path in sorted(project.glob("**/*.py")):
        digest.update(str(path.relative_to(project)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def mypy(project: Path, python: Path, cache: Path) -> str:
    """mypy as the project runs it (`uv run mypy`: its pyproject.toml's settings and
    files), from the service venv; renders with the same typed files are checked once."""
    key = typed_content(project)
    if key not in CHECKED:
        stamp_by_content(project)
        command = [python, "-m", "mypy", "--cache-dir", cache, "--no-error-summary"]
        CHECKED[key] = run(command, project).stdout
    return CHECKED[key]


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory) -> Path:
    """The worker's mypy cache, shared with test_pre_commit and test_pipelines."""
    return tmp_path_factory.getbasetemp() / "mypy-cache"


@pytest.mark.parametrize("answers", RENDERS.values(), ids=RENDERS.keys())
def test_mypy_is_clean(render, service_python, mypy_cache, answers):
    project = render(**answers)
    config = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["mypy"]
    assert config["strict"] is True
    assert config["files"] == ["src", "tests", "scripts"]
    assert mypy(project, service_python, mypy_cache) == ""


def test_a_shared_mypy_cache_tells_renders_apart(bake, service_python, tmp_path):
    """Two renders whose files have the same sizes (package names of one length) and, made in
    the same second, the same mtimes: with one mypy cache, the second is judged by the first's
    verdicts (its modules import a package that is not there), unless each file's mtime comes
    from its content (stamp_by_content), as the suite's shared caches do."""
    first, second = bake(package_name="aaaa_service"), bake(package_name="bbbb_service")
    for path in [*first.rglob("*.py"), *second.rglob("*.py")]:
        os.utime(path, (1_700_000_000, 1_700_000_000))
    for name, stamp in (("as made", False), ("stamped", True)):
        cache = tmp_path / name
        command = [service_python, "-m", "mypy", "--cache-dir", cache, "--no-error-summary"]
        for project in (first, second):
            if stamp:
                stamp_by_content(project)
            result = subprocess.run(
                [str(c) for c in command], cwd=project, capture_output=True, text=True
            )
            confused = 'named "aaaa_service' in result.stdout
            assert (result.stdout == "") is (project is first or stamp), result.stdout
            assert confused is (project is second and not stamp), result.stdout


def test_mypy_finds_an_untyped_function(bake, service_python, mypy_cache):
    """The check above can fail: strict mode refuses a function without annotations."""
    project = bake()
    (project / "tests" / "test_untyped.py").write_text("def test_it(client):\n    pass\n")
    command = [service_python, "-m", "mypy", "--cache-dir", mypy_cache]
    result = subprocess.run([str(c) for c in command], cwd=project, capture_output=True, text=True)
    assert result.returncode == 1
    assert "tests/test_untyped.py:1: error: Function is missing a type annotation" in result.stdout


# --- the OpenAPI contract ------------------------------------------------------------------


def contract_combinations() -> dict[str, dict]:
    """Every combination of the answers that change the app's schema (scripts/contract.py's
    VARIANTS), as the template's openapi.json merges them."""
    variants = script("contract").VARIANTS
    found = {}
    for flags in itertools.product((False, True), repeat=len(variants)):
        chosen = [name for on, name in zip(flags, variants, strict=True) if on]
        answers = {key: value for name in chosen for key, value in variants[name].items()}
        found["+".join(chosen) or "none"] = answers
    return found


@pytest.mark.parametrize("answers", contract_combinations().values(), ids=contract_combinations())
def test_the_contract_is_the_apps_schema_in_every_combination(render, service_python, answers):
    """openapi.json, one template of several schemas, is each combination's own: the
    rendered contract test passes there."""
    project = render(**answers)
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    env.pop("PYTEST_XDIST_WORKER", None)
    command = [service_python, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    run([*command, "tests/test_openapi.py"], project, env)


def test_openapi_contract_catches_an_endpoint_change(bake, service_python):
    """An endpoint changed without regenerating openapi.json fails the rendered contract
    test; the documented command regenerates the file, then the test passes, and the
    change is in the file (what a reviewer sees)."""
    project = bake()
    endpoint = project / "src" / DEFAULTS["package_name"] / "api" / "v1" / "endpoints"
    example = endpoint / "example.py"
    text = example.read_text()
    assert '"""Return the product of `a` and `b`."""' in text
    example.write_text(text.replace("Return the product of", "Multiply", 1))
    contract = project / "openapi.json"
    before = contract.read_text()

    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    env.pop("PYTEST_XDIST_WORKER", None)
    pytest_ = [str(service_python), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    failed = subprocess.run(
        [*pytest_, "tests/test_openapi.py"], cwd=project, env=env, capture_output=True, text=True
    )
    assert failed.returncode == 1, failed.stdout
    assert "the API changed: run `uv run python -m tests.test_openapi`" in failed.stdout

    run([service_python, "-m", "tests.test_openapi"], project, env)
    assert "Multiply `a` and `b`." in contract.read_text()
    assert contract.read_text() != before
    assert " passed" in service_tests(project, service_python).stdout
