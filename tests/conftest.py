"""Fixtures of the template's test suite. Every render goes through pytest-cookies:

- `bake(**extra_context) -> Path`: a fresh render for one test, which it may change;
- `render(**extra_context) -> Path`: a render shared by every test of a worker that asks
  for the same answers (baked once, on `cookies_session`); read it, never change it;
- `service_python`: a venv with the rendered service's dependencies, shared by the workers.

The cookiecutter CLI is run only where the command line itself is under test (presets,
command-line answers, the refusal message, cruft)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.helpers import TEMPLATE, UV_ENV, service_tests, uv

# Nothing in this suite may call AWS: keep SAM CLI's telemetry off. And uv (the rendered
# project's package manager, src/Makefile's too) must not download interpreters.
os.environ["SAM_CLI_TELEMETRY"] = "0"
os.environ.update(UV_ENV)


def baked(cookies, **extra_context) -> Path:
    result = cookies.bake(extra_context=extra_context, template=str(TEMPLATE))
    assert result.exception is None, result.exception
    assert result.exit_code == 0
    return result.project_path


@pytest.fixture
def bake(cookies):
    """Bake the template with `extra_context`, assert success, return the project path."""

    def _bake(**extra_context) -> Path:
        return baked(cookies, **extra_context)

    return _bake


@pytest.fixture(scope="session")
def render(cookies_session):
    """render(**extra_context) -> project path, baked once per distinct set of answers in a
    worker and shared by its tests: read only."""
    projects: dict[str, Path] = {}

    def _render(**extra_context) -> Path:
        key = json.dumps(extra_context, sort_keys=True)
        if key not in projects:
            projects[key] = baked(cookies_session, **extra_context)
        return projects[key]

    return _render


@pytest.fixture(scope="session")
def service_python(tmp_path_factory, cookies_session) -> Path:
    """A virtual environment with the rendered service's dependencies, installed the way the
    rendered README says: `uv sync --locked` (the lock must be current), here from a default
    render, without the project itself, so that the venv outlives the render. Shared by
    every xdist worker (built once, under a file lock); each render runs its tests in it
    with its own `src/` first on PYTHONPATH."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's base directory, shared by its workers
    venv = shared / "service-venv"
    with open(shared / "service-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / "ok").exists():
            shutil.rmtree(venv, ignore_errors=True)
            project = baked(cookies_session)
            sync = ["sync", "--locked", "--no-install-project", "--python", sys.executable]
            uv(*sync, cwd=project, env={"UV_PROJECT_ENVIRONMENT": str(venv)})
            (venv / "ok").write_text("")
    return venv / "bin" / "python"


@pytest.fixture
def run_service_tests(service_python):
    """Run a rendered project's own test suite, as its README says (`pytest`)."""

    def _run(project: Path):
        return service_tests(project, service_python)

    return _run
