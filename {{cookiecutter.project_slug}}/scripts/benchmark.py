{%- set m = cookiecutter | model -%}
{%- set options = ((["datastore=" ~ m.datastore.kind] if m.datastore.dynamodb else [])
    + (["secrets=" ~ m.secrets.store] if m.secrets.on else [])) | join(", ") -%}
"""Benchmark the Lambda artifact against the naive way, side by side in one run.

    python scripts/benchmark.py [--rounds 15] [--calls 2000]

Builds two artifacts with `sam build`:
- optimized: this project, built by src/Makefile (bytecode compiled with hash-based
  invalidation, runtime dependencies only), async endpoints, the Lambda handler of
  `{{ cookiecutter.package_name }}.main` with all of its observability on (JSON access log,
  route spans, EMF metrics: each warm call below writes its log and metric lines);
- naive: a bare FastAPI + Mangum app with a sync `GET /ping` endpoint, built by a plain
  `sam build` (pip, no bytecode); docs/performance.md says what it stands for.

Both are built for this machine's architecture so that they can run here (the optimized
one with `ARCHITECTURE=<this machine>` passed to src/Makefile). Each round runs each
artifact in a fresh `python{{ cookiecutter.python_version }} -I -S -B`: only the
artifact and the standard library on the import path, as on Lambda, and no bytecode
written, as on Lambda's read-only /var/task. It measures the cold import of the handler,
the first `GET /ping` invocation's peak RSS, then the time per warm invocation of
`GET /ping` through the handler. The import is timed in wall-clock and in CPU time (on a
machine shared with other work, CPU time is the steadier of the two). Medians over the
rounds are printed with the zipped artifact sizes and the ratios optimized/naive, as a
Markdown table, then what each observability piece adds to the cold import (each imported
on its own on top of FastAPI and Mangum, in CPU time). Needs `sam` and the runtime's Python
on PATH, and network access to PyPI.
{%- if m.datastore.dynamodb %}

With datastore=dynamodb it also measures the items resource on first use, on the optimized
artifact: in a fresh interpreter per round, the first `GET /api/v1/items/<id>` through the
handler (it imports the AWS SDK and makes the DynamoDB client) and the second one (warm);
in another, importing the SDK alone after the handler. As on Lambda, the SDK is not in the
artifact: boto3 and botocore at the versions of uv.lock (its dev group) are installed with
`uv pip install --target` into a directory put on the import path after the artifact, where
Lambda's /var/runtime is. DynamoDB is a stub on 127.0.0.1 that answers GetItem with no item
(the app answers 404), reached through AWS_ENDPOINT_URL with fake credentials: nothing
calls AWS.
{%- endif %}
"""

from __future__ import annotations

import argparse
{%- if m.datastore.dynamodb %}
import http.server
{%- endif %}
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
{%- if m.datastore.dynamodb %}
import threading
{%- endif %}
import tomllib
import zipfile
from pathlib import Path
{%- if m.datastore.dynamodb %}
from typing import Any
{%- endif %}

PROJECT = Path(__file__).resolve().parents[1]
PYTHON_VERSION = "{{ cookiecutter.python_version }}"
HANDLER_MODULE = "{{ cookiecutter.package_name }}.main"
EVENTS = PROJECT / "tests" / "events"
EVENT_FILE = EVENTS / "{% if m.rest %}rest_api_v1{% else %}http_api_v2{% endif %}.json"
ARCHITECTURE = "arm64" if platform.machine().lower() in {"aarch64", "arm64"} else "x86_64"
{%- if m.datastore.dynamodb %}
REGION = "{{ cookiecutter.aws_region }}"
{%- endif %}

NAIVE_APP = """\
from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/ping")
def ping():
    return {"ping": "pong!"}


handler = Mangum(app, lifespan="off")
"""

# Its requirements: these two at the versions of uv.lock; pip resolves the rest.
NAIVE_ONLY = {"fastapi", "mangum"}

NAIVE_TEMPLATE = f"""\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  ApiFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python{PYTHON_VERSION}
      Architectures: [{ARCHITECTURE}]
"""

# Runs in the fresh interpreter: argv = artifact, handler module, event file, calls.
PROBE = """\
import importlib, json, resource, sys, time
artifact, module, event_file, calls = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
event = json.load(open(event_file))
sys.path.insert(0, artifact)
start, cpu_start = time.perf_counter(), time.process_time()
handler = importlib.import_module(module).handler
import_s, import_cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
response = handler(event, None)
if response["statusCode"] != 200 or json.loads(response["body"]) != {"ping": "pong!"}:
    sys.exit(f"GET /ping answered {response!r}")
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
times = []
for _ in range(calls):
    start = time.perf_counter()
    handler(event, None)
    times.append(time.perf_counter() - start)
times.sort()
print()  # the results go on the last line, after the service's own log and EMF lines
print(json.dumps({
    "import_ms": import_s * 1000,
    "import_cpu_ms": import_cpu_s * 1000,
    "p50_us": times[len(times) // 2] * 1e6,
    "p95_us": times[int(len(times) * 0.95)] * 1e6,
    "rss_mb": rss_mb,
}))
"""


# Runs in a fresh interpreter too: what each observability piece adds to the cold import
# (CPU time), imported one after the other on top of what the app needs anyway (FastAPI,
# Mangum, pydantic-settings). argv = artifact, then (label, module) pairs.
PIECES = """\
import importlib, json, sys, time
sys.path.insert(0, sys.argv[1])
for module in ("fastapi", "mangum", "pydantic_settings"):
    importlib.import_module(module)
costs = {}
for label, module in zip(sys.argv[2::2], sys.argv[3::2]):
    start = time.process_time()
    importlib.import_module(module)
    costs[label] = (time.process_time() - start) * 1000
print(json.dumps(costs))
"""
PIECE_MODULES = {
    # The package's __init__ imports Logger and Metrics (and Tracer, whose X-Ray SDK import
    # is deferred) whichever is asked for: one row for both.
    "Powertools Logger and Metrics (JSON logs, EMF)": "aws_lambda_powertools.metrics",
    "OpenTelemetry SDK (tracer provider)": "opentelemetry.sdk.trace",
    "X-Ray propagator (and core/xray.py's exporter)": "opentelemetry.propagators.aws",
}
{%- if m.datastore.dynamodb %}

# The AWS SDK is the Lambda runtime's, not the artifact's (pyproject.toml): these two at the
# versions of uv.lock (its dev group), installed outside the artifact; uv resolves the rest.
SDK = {"boto3", "botocore"}
ITEM_PATH = "/api/v1/items/benchmark-item"

# Runs in a fresh interpreter, the SDK's directory on the import path after the artifact
# (where Lambda's /var/runtime is). argv = artifact, SDK directory, handler module, items
# event file, then what to time: "requests" (the first two GETs of an item DynamoDB does not
# have) or "sdk" (importing the SDK alone, as the first of them does).
ITEMS_PROBE = """\
import importlib, json, sys, time
artifact, sdk, module, event_file, what = sys.argv[1:]
event = json.load(open(event_file))
sys.path.insert(0, artifact)
sys.path.append(sdk)
handler = importlib.import_module(module).handler
if "boto3" in sys.modules:
    sys.exit("importing the handler imported boto3")
measured = {}
def timed(name, work):
    start, cpu_start = time.perf_counter(), time.process_time()
    result = work()
    measured[name + "_ms"] = (time.perf_counter() - start) * 1000
    measured[name + "_cpu_ms"] = (time.process_time() - cpu_start) * 1000
    return result
if what == "sdk":
    timed("sdk", lambda: [importlib.import_module(m) for m in ("boto3", "botocore.config")])
else:
    for name in ("first", "warm"):
        response = timed(name, lambda: handler(event, None))
        if response["statusCode"] != 404:
            sys.exit(f"GET of an absent item answered {response!r}")
boto3 = sys.modules.get("boto3")
if boto3 is None or not boto3.__file__.startswith(sdk):
    sys.exit(f"boto3 is not the SDK directory's: {boto3!r}")
print()  # the results go on the last line, after the service's own log and EMF lines
print(json.dumps(measured))
"""


class DynamoDBStub(http.server.BaseHTTPRequestHandler):
    """DynamoDB's JSON protocol on 127.0.0.1, GetItem only, and no item is there."""

    protocol_version = "HTTP/1.1"  # keep-alive: the SDK reuses its connection, as with AWS
    disable_nagle_algorithm = True  # else the body waits for the client's delayed ACK (40 ms)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("X-Amz-Target") == "DynamoDB_20120810.GetItem":
            status, body = 200, b"{}"
        else:
            status, body = 400, b'{"__type": "UnknownOperationException"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""
{%- endif %}


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        sys.exit(f"{name} is not on PATH")
    return path


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def sam_build(template_dir: Path, build_dir: Path, env: dict[str, str]) -> Path:
    run([tool("sam"), "build", "--build-dir", str(build_dir)], template_dir, env)
    return build_dir / "ApiFunction"


def ping_event(work: Path) -> Path:
    event = json.loads(EVENT_FILE.read_text())
    event.update(body=None, isBase64Encoded=False)
    if "rawPath" in event:  # HTTP API, payload 2.0, $default stage
        event.update(rawPath="/ping", rawQueryString="")
        event.pop("queryStringParameters", None)
        event["requestContext"]["http"].update(method="GET", path="/ping")
    else:  # REST API, payload 1.0, with a stage
        stage = event["requestContext"]["stage"]
        event.update(httpMethod="GET", path="/ping", pathParameters={"proxy": "ping"})
        event.update(queryStringParameters=None, multiValueQueryStringParameters=None)
        event["requestContext"].update(httpMethod="GET", path=f"/{stage}/ping")
    path = work / "ping-event.json"
    path.write_text(json.dumps(event))
    return path


def zipped_size(artifact: Path, work: Path) -> int:
    target = work / f"{artifact.parent.name}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(artifact.rglob("*")):
            archive.write(path, path.relative_to(artifact))
    return target.stat().st_size


def probe(python: str, artifact: Path, module: str, event: Path, calls: int) -> dict[str, float]:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"}
    cmd = [python, "-I", "-S", "-B", "-c", PROBE, str(artifact), module, str(event), str(calls)]
    measured: dict[str, float] = json.loads(run(cmd, artifact, env).strip().splitlines()[-1])
    return measured


def pieces(python: str, artifact: Path) -> dict[str, float]:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"}
    pairs = [item for pair in PIECE_MODULES.items() for item in pair]
    cmd = [python, "-I", "-S", "-B", "-c", PIECES, str(artifact), *pairs]
    costs: dict[str, float] = json.loads(run(cmd, artifact, env))
    return costs
{%- if m.datastore.dynamodb %}


def dynamodb_stub() -> str:
    """Serve DynamoDBStub on a free port of 127.0.0.1 until the script ends: its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), DynamoDBStub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def install_sdk(python: str, pins: list[str], target: Path) -> Path:
    """The SDK for the runtime's Python in `target`, outside the artifact. Compiled to bytecode
    once here: a fresh `-B` interpreter would otherwise compile botocore in every round."""
    uv = [tool("uv"), "pip", "install", "--quiet", "--compile-bytecode", "--python", python]
    run([*uv, "--target", str(target), *pins], target.parent)
    return target


def items_event(ping: Path) -> Path:
    """The `GET /ping` event, made a GET of ITEM_PATH{% if m.jwt %} by a caller API Gateway verified{% endif %}."""
    event = json.loads(ping.read_text())
    if "rawPath" in event:  # HTTP API, payload 2.0
        event["rawPath"] = event["requestContext"]["http"]["path"] = ITEM_PATH
    else:  # REST API, payload 1.0, with a stage
        stage = event["requestContext"]["stage"]
        event.update(path=ITEM_PATH, pathParameters={"proxy": ITEM_PATH.lstrip("/")})
        event["requestContext"]["path"] = f"/{stage}{ITEM_PATH}"
{%- if m.jwt %}
    # The versioned API answers only callers whose claims match the settings' (core/auth.py).
    issuer = {{ cookiecutter.jwt_issuer | py_str }}
    audience = {{ cookiecutter.jwt_audience | py_str }}
    claims = {"iss": issuer, "aud": audience, "sub": "benchmark"}
    authorizer = event["requestContext"].setdefault("authorizer", {})
    if "rawPath" in event:
        authorizer["jwt"] = {"claims": claims, "scopes": []}
    else:
        authorizer["claims"] = claims
{%- endif %}
    path = ping.with_name("items-event.json")
    path.write_text(json.dumps(event))
    return path


def items_probe(
    python: str, artifact: Path, sdk: Path, event: Path, endpoint: str, what: str
) -> dict[str, float]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
        # DynamoDB is the stub, the credentials are fake, and no AWS configuration file is read.
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "benchmark",
        "AWS_SECRET_ACCESS_KEY": "benchmark",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    argv = [str(artifact), str(sdk), HANDLER_MODULE, str(event), what]
    cmd = [python, "-I", "-S", "-B", "-c", ITEMS_PROBE, *argv]
    measured: dict[str, float] = json.loads(run(cmd, artifact, env).strip().splitlines()[-1])
    return measured
{%- endif %}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="fresh interpreters per artifact")
    parser.add_argument("--calls", type=int, default=2000, help="warm invocations per round")
    args = parser.parse_args()
    python = tool(f"python{PYTHON_VERSION}")

    with tempfile.TemporaryDirectory(prefix="benchmark-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "ARCHITECTURE": ARCHITECTURE}
        print(f"building the optimized artifact (sam build, src/Makefile, {ARCHITECTURE})...")
        artifacts = {"naive": Path(), "optimized": sam_build(PROJECT, work / "optimized", env)}
        naive = work / "naive-project"
        (naive / "src").mkdir(parents=True)
        (naive / "template.yml").write_text(NAIVE_TEMPLATE)
        (naive / "src" / "app.py").write_text(NAIVE_APP)
        locked = tomllib.loads((PROJECT / "uv.lock").read_text())["package"]
        bare = [f"{p['name']}=={p['version']}" for p in locked if p["name"] in NAIVE_ONLY]
        (naive / "src" / "requirements.txt").write_text("\n".join(bare) + "\n")
        print("building the naive artifact (plain sam build)...")
        artifacts["naive"] = sam_build(naive, work / "naive", env)
        modules = {"naive": "app", "optimized": HANDLER_MODULE}
        event = ping_event(work)
{%- if m.datastore.dynamodb %}
        sdk_pins = [f"{p['name']}=={p['version']}" for p in locked if p["name"] in SDK]
        print(f"installing the runtime's AWS SDK outside the artifact ({', '.join(sdk_pins)})...")
        sdk = install_sdk(python, sdk_pins, work / "runtime")
        item_event = items_event(event)
        endpoint = dynamodb_stub()
        item_samples: list[dict[str, float]] = []
{%- endif %}

        samples: dict[str, list[dict[str, float]]] = {name: [] for name in artifacts}
        piece_samples: list[dict[str, float]] = []
        for round_no in range(args.rounds):
            order = list(artifacts) if round_no % 2 == 0 else list(reversed(artifacts))
            for name in order:
                samples[name].append(
                    probe(python, artifacts[name], modules[name], event, args.calls)
                )
            piece_samples.append(pieces(python, artifacts["optimized"]))
{%- if m.datastore.dynamodb %}
            item_samples.append(
                items_probe(python, artifacts["optimized"], sdk, item_event, endpoint, "requests")
                | items_probe(python, artifacts["optimized"], sdk, item_event, endpoint, "sdk")
            )
{%- endif %}
            print(f"round {round_no + 1}/{args.rounds} done")
        sizes = {name: zipped_size(path, work) / 1e6 for name, path in artifacts.items()}

    results = {
        name: {key: statistics.median(s[key] for s in runs) for key in runs[0]}
        | {"zip_mb": sizes[name]}
        for name, runs in samples.items()
    }
    rows = [
        ("cold import of the handler, wall (ms)", "import_ms", "<= 0.5x"),
        ("cold import of the handler, CPU (ms)", "import_cpu_ms", "<= 0.5x"),
        # Each optimized call also writes its log and metric lines and makes its span.
        ("warm GET /ping p50 (us)", "p50_us", ""),
        ("warm GET /ping p95 (us)", "p95_us", ""),
        ("zipped artifact (MB)", "zip_mb", ""),
        ("peak RSS after first request (MB)", "rss_mb", "well under 128 MB"),
    ]
    print()
    print(
        f"Python {PYTHON_VERSION} ({python}), {platform.machine()}, "
        f"{os.cpu_count()} CPUs, {args.rounds} rounds x {args.calls} calls, medians"
    )
{%- if options %}
    print("The optimized artifact is this render's: {{ options }}.")
{%- endif %}
    print("| metric | naive | optimized | optimized/naive | target |")
    print("|---|---:|---:|---:|---|")
    for label, key, target in rows:
        naive_value, optimized_value = results["naive"][key], results["optimized"][key]
        ratio = optimized_value / naive_value
        print(f"| {label} | {naive_value:.1f} | {optimized_value:.1f} | {ratio:.2f}x | {target} |")
    print()
    print("What each observability piece adds to the optimized cold import (CPU, medians):")
    print("| piece | import CPU (ms) |")
    print("|---|---:|")
    piece_costs = {
        label: statistics.median(s[label] for s in piece_samples) for label in PIECE_MODULES
    }
    for label, cost in piece_costs.items():
        print(f"| {label} | {cost:.1f} |")
{%- if m.datastore.dynamodb %}
    items = {key: statistics.median(s[key] for s in item_samples) for key in item_samples[0]}
    cold = results["optimized"]
    print()
    print(
        f"The items resource on first use (optimized; {', '.join(sdk_pins)} outside the "
        "artifact, DynamoDB a stub on 127.0.0.1), medians:"
    )
    print("| measure | wall (ms) | CPU (ms) | CPU / cold import |")
    print("|---|---:|---:|---:|")
    for label, key in [
        ("cold import of the handler (as above)", "import"),
        ("SDK import alone (boto3, botocore.config), after the handler", "sdk"),
        (f"first GET {ITEM_PATH} (SDK import, client, GetItem)", "first"),
        (f"second GET {ITEM_PATH} (warm)", "warm"),
    ]:
        wall, cpu = (cold | items)[f"{key}_ms"], (cold | items)[f"{key}_cpu_ms"]
        print(f"| {label} | {wall:.2f} | {cpu:.2f} | {cpu / cold['import_cpu_ms']:.2f}x |")
    cpu_ratio = items["first_cpu_ms"] / items["warm_cpu_ms"]
    wall_ratio = items["first_ms"] / items["warm_ms"]
    print(f"First/warm GET of an item: {cpu_ratio:.0f}x CPU time, {wall_ratio:.0f}x wall-clock")
{%- endif %}
    print()
    print(json.dumps(results | {"pieces_ms": piece_costs{% if m.datastore.dynamodb %}, "items_ms": items{% endif %}}, indent=2))


if __name__ == "__main__":
    main()
