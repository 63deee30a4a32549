{%- set m = cookiecutter | model -%}
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
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
PYTHON_VERSION = "{{ cookiecutter.python_version }}"
HANDLER_MODULE = "{{ cookiecutter.package_name }}.main"
EVENTS = PROJECT / "tests" / "events"
EVENT_FILE = EVENTS / "{% if m.rest %}rest_api_v1{% else %}http_api_v2{% endif %}.json"
ARCHITECTURE = "arm64" if platform.machine().lower() in {"aarch64", "arm64"} else "x86_64"

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

        samples: dict[str, list[dict[str, float]]] = {name: [] for name in artifacts}
        piece_samples: list[dict[str, float]] = []
        for round_no in range(args.rounds):
            order = list(artifacts) if round_no % 2 == 0 else list(reversed(artifacts))
            for name in order:
                samples[name].append(
                    probe(python, artifacts[name], modules[name], event, args.calls)
                )
            piece_samples.append(pieces(python, artifacts["optimized"]))
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
    print()
    print(json.dumps(results | {"pieces_ms": piece_costs}, indent=2))


if __name__ == "__main__":
    main()
