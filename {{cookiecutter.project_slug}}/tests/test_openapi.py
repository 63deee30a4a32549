"""The API contract: `openapi.json` (committed) is the app's OpenAPI schema, so a change to
the API shows up in review as a change to that file. After changing an endpoint or a model
on purpose, regenerate it, and commit it with the change:

    uv run python -m tests.test_openapi
"""

import json
from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }}.main import app

CONTRACT = Path(__file__).resolve().parents[1] / "openapi.json"
REGENERATE = "uv run python -m tests.test_openapi"


def schema() -> dict[str, Any]:
    """The app's schema as served at /openapi.json (without a stage's `servers`)."""
    return app.openapi()


def test_openapi_json_is_the_apps_schema() -> None:
    committed = json.loads(CONTRACT.read_text())
    assert committed == schema(), f"the API changed: run `{REGENERATE}` and commit openapi.json"


if __name__ == "__main__":
    CONTRACT.write_text(json.dumps(schema(), indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {CONTRACT}")
