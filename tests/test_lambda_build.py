"""`sam build` of renders for every Lambda Python runtime the template offers (src/Makefile
via SAM's makefile build method), then the artifact: only runtime dependencies and the
package, bytecode of the runtime's own Python with hash-based invalidation, and a handler
that answers events printed by `sam local generate-event` in a fresh interpreter of that
runtime whose import path holds only the build output and the standard library, as on
Lambda. Plus the default answers' own build: Python 3.13 on arm64, cross-built on any
machine (its wheels are aarch64: checked, not run, unless this machine is arm64).

Each build downloads wheels from PyPI. Interpreters are found on PATH or under pyenv
(tests/helpers.py `runtime_python`); a missing one skips its build, unless LAMBDA_RUNTIMES
(set by .ci/run and the template's workflow) lists it: then it fails."""

from __future__ import annotations

import base64
import json
import os
import platform
import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers import (
    BIN,
    CHOICES,
    DEFAULTS,
    locked_runtime,
    render_facts,
    run,
    runtime_python,
    uv_bin,
)

PACKAGE = DEFAULTS["package_name"]
ARCHITECTURE = "arm64" if platform.machine().lower() in {"aarch64", "arm64"} else "x86_64"
NOT_SHIPPED = {"bin", "tests", "pytest", "_pytest", "ruff", "uvicorn", "httpx"}
NOT_SHIPPED |= {"hypothesis", "schemathesis", "pip", "setuptools", "requirements.txt", "Makefile"}
NOT_SHIPPED |= {"mypy", "boto3", "botocore", "requirements.lock.txt", ".lock"}
MACHINE = {"arm64": "aarch64", "x86_64": "x86_64"}

# One build per runtime, the API types alternating (both run on this machine's runtimes).
BUILDS = {
    version: CHOICES["api_type"][index % len(CHOICES["api_type"])]
    for index, version in enumerate(sorted(CHOICES["python_version"]))
}
# The build that also stores data and reads secrets: it keeps Powertools' parameters
# utility, and its handler still imports, and answers, without the AWS SDK (which only the
# Lambda runtime has: the artifact does not ship it, and `python -I -S` cannot find one).
STATEFUL = {"datastore": "dynamodb", "secrets": "parameter-store"}
STATEFUL_BUILD = "3.12"

# Runs in `python -I -S`: no site-packages, no current directory; the stdlib stays. A UDP
# socket stands in for Lambda's X-Ray daemon; the service's log and EMF lines go to stdout
# before the answers (the last line), the daemon's datagrams after them.
INVOKE = f"""
import json, os, socket, sys, types
artifact, events = sys.argv[1], json.load(open(sys.argv[2]))
daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
daemon.bind(("127.0.0.1", 0))
daemon.settimeout(2)
os.environ["AWS_XRAY_DAEMON_ADDRESS"] = "127.0.0.1:%d" % daemon.getsockname()[1]
os.environ["_X_AMZN_TRACE_ID"] = (
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
)
sys.path.insert(0, artifact)
from {PACKAGE}.main import handler
import fastapi, pydantic_core
outside = [m.__name__ for m in (fastapi, pydantic_core) if not m.__file__.startswith(artifact)]
assert not outside and "site" not in sys.modules, (outside, sys.path)
context = types.SimpleNamespace(aws_request_id="lambda-request-1")
answers = {{name: handler(event, context) for name, event in events.items()}}
# Clients made once: a route that calls out through the shared HTTP client (to a mock
# transport), invoked twice; the second invocation must reuse the same, working client.
import httpx2
from {PACKAGE}.core.clients import ClientsDep, clients
from {PACKAGE}.main import app
clients.http_transport = httpx2.MockTransport(lambda request: httpx2.Response(200, text="up"))
@app.get("/_outbound")
async def outbound(shared: ClientsDep) -> dict:
    client = shared.http()
    return {{"client": id(client), "upstream": (await client.get("https://upstream/")).text}}
outbound_event = json.loads(json.dumps(events["ping"]).replace("/ping", "/_outbound"))
outbound_event["requestContext"]["requestId"] = "outbound-request"
answers["clients"] = [handler(outbound_event, context) for _ in range(2)]
print(json.dumps(answers))
datagrams = []
try:
    while True:
        datagrams.append(daemon.recv(65536).decode())
except TimeoutError:
    pass
print(json.dumps(datagrams))
"""


def sam(*args: str, cwd: Path, python: Path | None = None) -> str:
    """Run `sam` with the venv's tools, the pinned uv, and the runtime's Python (`python3.X`;
    src/Makefile calls both) first on PATH."""
    tools = [str(BIN), str(uv_bin().parent), *([str(python.parent)] if python else [])]
    path = [*tools, os.environ["PATH"]]
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PATH": os.pathsep.join(path)}
    return run([BIN / "sam", *args], cwd=cwd, env=env).stdout


def generate(cwd: Path, *args: str) -> dict:
    return json.loads(sam("local", "generate-event", *args, cwd=cwd))


def build(bake, python: Path, **answers) -> tuple[Path, Path]:
    project = bake(**answers)
    # What a developer's src/ holds after `pip install -e .` and a test run: none of it ships.
    src = project / "src"
    (src / f"{PACKAGE}.egg-info").mkdir()
    (src / f"{PACKAGE}.egg-info" / "PKG-INFO").write_text("Name: x\n")
    (src / PACKAGE / "__pycache__").mkdir()
    (src / PACKAGE / "__pycache__" / "gone.cpython-311.pyc").write_bytes(b"stale")
    sam("build", cwd=project, python=python)
    return project, project / ".aws-sam" / "build" / "ApiFunction"


# Runs in the runtime's own Python: the magic number and the source-hash key are its own.
BYTECODE = """
import importlib.util, json, marshal, pathlib, sys
artifact, package = pathlib.Path(sys.argv[1]), sys.argv[2]
tag, bad, checked = sys.implementation.cache_tag, [], 0
for source in artifact.rglob("*.py"):
    pyc = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
    data = pyc.read_bytes() if pyc.exists() else b""
    checked += 1
    if not (
        data[:4] == importlib.util.MAGIC_NUMBER
        and int.from_bytes(data[4:8], "little") == 0b01  # hash-based, unchecked
        and data[8:16] == importlib.util.source_hash(source.read_bytes())
    ):
        bad.append(str(pyc))
orphans = [str(p) for p in artifact.rglob("*.pyc")
           if not (p.parent.parent / (p.name.split(".")[0] + ".py")).exists()]
main = marshal.loads((artifact / package / "__pycache__" / f"main.{tag}.pyc").read_bytes()[16:])
print(json.dumps({"tag": tag, "checked": checked, "bad": bad, "orphans": orphans,
                  "main": main.co_filename}))
"""


def installed(artifact: Path) -> dict[str, str]:
    """{normalised name: version} of the distributions in the artifact, from their
    .dist-info METADATA."""
    found = {}
    for metadata in artifact.glob("*.dist-info/METADATA"):
        fields = dict(
            line.split(": ", 1) for line in metadata.read_text().splitlines() if ": " in line
        )
        found[re.sub(r"[-_.]+", "-", fields["Name"]).lower()] = fields["Version"]
    return found


def assert_contents(
    project: Path, artifact: Path, python: Path, runtime: str, architecture: str
) -> None:
    names = {p.name for p in artifact.iterdir()}
    # Exactly the lock's runtime set for the Lambda platform, at the lock's versions.
    locked = locked_runtime(project, runtime, MACHINE[architecture])
    assert {"fastapi", "mangum", "pydantic-core", "aws-lambda-powertools"} <= set(locked)
    assert installed(artifact) == locked
    assert PACKAGE in names
    everything = {p.relative_to(artifact) for p in artifact.rglob("*")}
    assert not [p for p in everything if p.parts[0] in NOT_SHIPPED]
    assert not [p for p in everything if "egg-info" in str(p) or p.name in {"tests", "test"}]
    assert not (artifact / "pydantic" / "v1").exists()  # pruned: see src/Makefile
    assert not (artifact / "aws_lambda_powertools" / "event_handler").exists()
    assert (artifact / "aws_lambda_powertools" / "utilities" / "jmespath_utils").is_dir()
    parameters = artifact / "aws_lambda_powertools" / "utilities" / "parameters"
    assert parameters.is_dir() == render_facts(project)["secrets"]["on"]
    assert not (artifact / PACKAGE / "__pycache__" / "gone.cpython-311.pyc").exists()

    report = json.loads(
        run([python, "-I", "-S", "-c", BYTECODE, artifact, PACKAGE], artifact).stdout
    )
    assert report["tag"] == f"cpython-{runtime.replace('.', '')}"  # the runtime's bytecode
    assert report["checked"] > 200
    assert report["bad"] == []
    assert report["orphans"] == []
    assert report["main"] == f"/var/task/{PACKAGE}/main.py"  # tracebacks name Lambda's paths


def invoke(
    artifact: Path, events: dict, tmp_path: Path, python: Path
) -> tuple[dict, list[dict], list[dict]]:
    """The answers, the JSON lines the service wrote (logs and EMF), the X-Ray documents."""
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events))
    out = run([python, "-I", "-S", "-c", INVOKE, artifact, path], cwd=tmp_path).stdout
    *lines, answers, datagrams = out.splitlines()
    documents = [json.loads(d.split("\n", 1)[1]) for d in json.loads(datagrams)]
    return json.loads(answers), [json.loads(line) for line in lines if line], documents


def assert_observed(events: dict, lines: list[dict], documents: list[dict]) -> None:
    """The ping request through the built handler: a correlated access log line, its EMF
    metrics, the cold start once, and the route's span at the X-Ray daemon."""
    access = [line for line in lines if line.get("message") == "request"]
    (ping,) = [line for line in access if line.get("apigw_request_id") == "ping-request"]
    assert ping["route"] == "GET /ping"
    assert ping["status"] == 200
    assert ping["lambda_request_id"] == "lambda-request-1"
    assert ping["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert ping["correlation_id"]
    assert len(access) == len(events) + 2  # and the two calls through the shared client
    latency = [line for line in lines if "Latency" in line and line["route"] == "GET /ping"]
    assert latency
    assert latency[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "fastapi-lambda-service"
    assert [line["ColdStart"] for line in lines if "ColdStart" in line] == [[1.0]]
    (span,) = [d for d in documents if d["id"] == ping["span_id"]]
    assert span["name"].endswith("/ping")
    assert span["trace_id"] == ping["trace_id"]
    assert span["parent_id"] == "53995c3f42cd8ad8"


def body(response: dict) -> str:
    assert response["statusCode"] == 200, response
    if response.get("isBase64Encoded"):
        return base64.b64decode(response["body"]).decode()
    return response["body"]


@pytest.mark.slow
@pytest.mark.parametrize(("version", "api_type"), BUILDS.items())
def test_sam_build_artifact(bake, tmp_path, version, api_type):
    """Built for this machine's architecture, so that the runtime's Python runs it."""
    python = runtime_python(version)
    answers = {"python_version": version, "architecture": ARCHITECTURE, "api_type": api_type}
    answers |= STATEFUL if version == STATEFUL_BUILD else {}
    project, artifact = build(bake, python, **answers)
    assert_contents(project, artifact, python, version, ARCHITECTURE)

    example = ["--method", "POST", "--path", "api/v1/example", "--body", '{"a": 6, "b": 7}']
    if api_type == "rest":
        kind = ["apigateway", "aws-proxy", "--stage", "prod"]
        events = {
            "ping": generate(project, *kind, "--method", "GET", "--path", "ping", "--body", ""),
            "docs": generate(project, *kind, "--method", "GET", "--path", "docs", "--body", ""),
            "example": generate(project, *kind, *example),
        }
        events["openapi"] = json.loads(json.dumps(events["docs"]).replace("/docs", "/openapi.json"))
    else:
        kind = ["apigateway", "http-api-proxy"]
        function_url = json.loads((project / "tests" / "events" / "function_url.json").read_text())
        function_url.update(rawPath="/ping", rawQueryString="", body="")
        function_url["requestContext"]["http"].update(method="GET", path="/ping")
        events = {
            "ping": generate(project, *kind, "--method", "GET", "--path", "ping", "--body", ""),
            "docs": generate(project, *kind, "--method", "GET", "--path", "docs", "--body", ""),
            "example": generate(project, *kind, *example),
            "alb": generate(project, "alb", "request", "--method", "GET", "--path", "ping"),
            "function_url": function_url,
        }
        events["openapi"] = json.loads(json.dumps(events["docs"]).replace("/docs", "/openapi.json"))
        events["alb"].update(body="", isBase64Encoded=False)

    events["ping"]["requestContext"]["requestId"] = "ping-request"
    # A client posting JSON says so; the generated events carry no Content-Type.
    events["example"]["headers"]["Content-Type"] = "application/json"
    if api_type == "rest":
        events["example"]["multiValueHeaders"]["Content-Type"] = ["application/json"]
    answers, lines, documents = invoke(artifact, events, tmp_path, python)
    assert_observed(events, lines, documents)
    first, second = (json.loads(body(answer)) for answer in answers.pop("clients"))
    assert first == second == {"client": first["client"], "upstream": "up"}  # made once, reused
    prefix = "/prod" if api_type == "rest" else ""
    assert json.loads(body(answers["ping"])) == {"ping": "pong!"}
    assert json.loads(body(answers["example"])) == {"product": 42}
    assert f"url: '{prefix}/openapi.json'" in body(answers["docs"])
    spec = json.loads(body(answers["openapi"]))
    assert spec.get("servers") == ([{"url": "/prod"}] if prefix else None)
    assert ("/api/v1/items/{item_id}" in spec["paths"]) is (version == STATEFUL_BUILD)
    for flavour in ("alb", "function_url"):
        if flavour in answers:
            assert json.loads(body(answers[flavour])) == {"ping": "pong!"}, flavour


def test_the_stateful_build_is_built():
    assert STATEFUL_BUILD in BUILDS


# ELF e_machine of the compiled extension modules, by architecture.
ELF_MACHINE = {"arm64": 183, "x86_64": 62}


@pytest.mark.slow
def test_the_default_answers_build(bake, tmp_path):
    """The default render as is (Python 3.13 on arm64, HTTP API): `sam build` cross-builds
    it on any machine. Its contents, its 3.13 bytecode, aarch64 extension modules; invoked
    too where this machine can run them (arm64)."""
    python = runtime_python("3.13")
    assert (DEFAULTS["python_version"], DEFAULTS["architecture"]) == ("3.13", "arm64")
    project, artifact = build(bake, python)
    assert_contents(project, artifact, python, "3.13", "arm64")
    extensions = list(artifact.rglob("*.so"))
    assert any(p.name.startswith("_pydantic_core.cpython-313-aarch64") for p in extensions)
    for extension in extensions:
        header = extension.read_bytes()[:20]
        assert header[:4] == b"\x7fELF", extension
        assert int.from_bytes(header[18:20], "little") == ELF_MACHINE["arm64"], extension
    if ARCHITECTURE == "arm64":
        kind = ["apigateway", "http-api-proxy", "--method", "GET", "--path", "ping", "--body", ""]
        events = {"ping": generate(project, *kind)}
        events["ping"]["requestContext"]["requestId"] = "ping-request"
        answers, lines, documents = invoke(artifact, events, tmp_path, python)
        assert json.loads(body(answers["ping"])) == {"ping": "pong!"}
        assert_observed(events, lines, documents)


def test_makefile_cross_builds_for_the_lambda_platform(render, tmp_path):
    """Without building: the default render (Python 3.13 on arm64) exports the lock's
    runtime part (not the dev group, not the project) and asks uv for aarch64 wheels of
    CPython 3.13, binary only, every one checked against the lock's hashes, then compiles
    with the runtime's Python."""
    project = render()
    env = {**os.environ, "ARTIFACTS_DIR": str(tmp_path / "artifact")}
    env.pop("ARCHITECTURE", None)
    dry_run = run(["make", "-n", "build-ApiFunction"], cwd=project / "src", env=env).stdout
    assert "export --quiet --frozen --no-dev --no-emit-project" in dry_run
    assert f'--project "{project}"' in dry_run
    assert "pip install --quiet --require-hashes --no-deps" in dry_run
    assert "--python python3.13 --python-platform aarch64-manylinux2014" in dry_run
    assert "--python-version 3.13" in dry_run
    assert "--only-binary :all:" in dry_run
    assert "python3.13 -m compileall" in dry_run
    assert "--invalidation-mode unchecked-hash" in dry_run
    x86 = run(["make", "-n", "build-ApiFunction", "ARCHITECTURE=x86_64"], project / "src", env)
    assert "--python-platform x86_64-manylinux2014" in x86.stdout
    template = (project / "template.yml").read_text()
    assert "BuildMethod: makefile" in template


@pytest.mark.slow
def test_the_build_installs_nothing_whose_hash_is_not_the_locks(bake, tmp_path):
    """The lock's hashes are required at install time: with starlette's hashes changed in
    uv.lock, src/Makefile stops at starlette's wheel (from PyPI or uv's cache alike) and the
    artifact is not made."""
    python = runtime_python("3.13")
    project = bake()
    lock = project / "uv.lock"
    text = lock.read_text()
    start = text.index('\nname = "starlette"\n')
    end = text.index("[[package]]", start)
    forged = re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, text[start:end])
    lock.write_text(text[:start] + forged + text[end:])
    path = os.pathsep.join([str(uv_bin().parent), str(python.parent), os.environ["PATH"]])
    env = {**os.environ, "ARTIFACTS_DIR": str(tmp_path / "artifact"), "PATH": path}
    result = subprocess.run(
        ["make", "build-ApiFunction"], cwd=project / "src", env=env, capture_output=True, text=True
    )
    assert result.returncode != 0, result.stdout
    assert "Hash mismatch for `starlette==" in result.stderr, result.stderr
    assert not (tmp_path / "artifact" / PACKAGE).exists()
