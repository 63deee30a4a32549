"""Fixtures of the template's test suite."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import TEMPLATE, run, service_tests

# Nothing in this suite may call AWS: keep SAM CLI's telemetry off.
os.environ["SAM_CLI_TELEMETRY"] = "0"


@pytest.fixture
def bake(cookies):
    """Bake the template with `extra_context`, assert success, return the project path."""

    def _bake(**extra_context):
        result = cookies.bake(extra_context=extra_context)
        assert result.exception is None, result.exception
        assert result.exit_code == 0
        return result.project_path

    return _bake


@pytest.fixture(scope="session")
def service_python(tmp_path_factory) -> Path:
    """A virtual environment made the way the rendered README says: a default render,
    installed with `python -m pip install -e ".[dev]"`. Shared by every xdist worker
    (built once, under a file lock); other renders run their tests in it with their own
    `src/` first on PYTHONPATH."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's base directory, shared by its workers
    venv = shared / "service-venv"
    with open(shared / "service-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / "ok").exists():
            project = shared / "service-venv-render"
            subprocess.run(["rm", "-rf", str(project)], check=True)
            from cookiecutter.main import cookiecutter

            path = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(project)))
            run([sys.executable, "-m", "venv", venv], cwd=shared)
            run([venv / "bin/python", "-m", "pip", "install", "-q", "-e", ".[dev]"], cwd=path)
            (venv / "ok").write_text(str(path))
    return venv / "bin" / "python"


@pytest.fixture
def run_service_tests(service_python):
    """Run a rendered project's own test suite, as its README says (`pytest`)."""

    def _run(project: Path):
        return service_tests(project, service_python)

    return _run
