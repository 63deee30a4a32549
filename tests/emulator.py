"""The local AWS emulator that tests/test_emulator_deploy.py deploys renders to: ministack,
pinned in tests/requirements-emulator.txt, in a virtual environment of the Lambda runtime's
Python (it runs the functions with its own interpreter), on 127.0.0.1 only. Its gaps and
the workarounds here: docs/contributing.md, "Deploying to the emulator"."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import run

REQUIREMENTS = Path(__file__).with_name("requirements-emulator.txt")
SERVER = Path(__file__).with_name("emulator_server.py")
# Fake credentials: the emulator accepts any, and nothing here may reach AWS.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
START_TIMEOUT = 60  # seconds for the emulator to answer its health check
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1: no proxy
EXECUTE_API = re.compile(r"https://([a-z0-9]+\.execute-api\.[a-z0-9-]+\.amazonaws\.com)(/.*)")


def emulator_venv(shared: Path, python: Path) -> Path:
    """A venv of `python` with tests/requirements-emulator.txt, built once in `shared` under a
    file lock (every xdist worker asks for the same one); returns its bin/ directory."""
    venv = shared / "emulator-venv"
    with open(shared / "emulator-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / "ok").exists():
            run(["rm", "-rf", venv], cwd=shared)
            run([python, "-m", "venv", venv], cwd=shared)
            run([venv / "bin/python", "-m", "pip", "install", "-q", "-r", REQUIREMENTS], shared)
            (venv / "ok").write_text("")
    return venv / "bin"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def no_proxy() -> str:
    """NO_PROXY with 127.0.0.1 added: the emulator is reached directly, also through a proxy
    this machine may set."""
    return ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1"]))


def clean_environment() -> dict:
    """This process's environment without any AWS setting of its own (profiles, regions,
    endpoints, keys): only what a test sets reaches the tools."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAM_CLI_"))}


@dataclass
class Emulator:
    process: subprocess.Popen
    port: int
    bin: Path

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self, **extra: str) -> dict:
        """What the deploy tools get: the endpoint and fake credentials, nothing else of AWS
        (no config or credentials file of this machine's either)."""
        return {
            **clean_environment(),
            **CREDENTIALS,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_ENDPOINT_URL": self.endpoint,
            "NO_PROXY": no_proxy(),
            "SAM_CLI_TELEMETRY": "0",
            **extra,
        }

    def client(self, service: str, region: str):
        import boto3

        return boto3.session.Session(
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=region,
        ).client(service, endpoint_url=self.endpoint)

    def request(self, url: str, method: str, path: str, body: dict | None = None):
        """(status, JSON answer) of a request to an `ApiUrl` output
        (`https://<id>.execute-api.<region>.amazonaws.com/<stage path>`), sent to the
        emulator with that URL's Host, by which it routes execute-api calls."""
        match = EXECUTE_API.fullmatch(url)
        assert match, f"not an execute-api URL: {url}"
        host, base = match.groups()
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Host": host}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            f"{self.endpoint}{base}{path.lstrip('/')}", data=data, headers=headers, method=method
        )
        try:
            with DIRECT.open(request, timeout=60) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def stop(self) -> None:
        """SIGTERM to the emulator (SIGKILL after 20 s), then SIGKILL to what is left of its
        process group (the Lambda workers it started): by the id of the process started here."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def start(bin: Path, workdir: Path, region: str) -> Emulator:
    """Start the emulator on a free port of 127.0.0.1 and wait (at most START_TIMEOUT s) for
    its health check; its log is `workdir/emulator.log`. It serves `region`'s execute-api
    hosts (`<id>.execute-api.<region>.amazonaws.com`, the ones the stacks' URLs name)."""
    port = free_port()
    env = {
        **clean_environment(),
        "GATEWAY_PORT": str(port),
        "BIND_HOST": "127.0.0.1",
        "MINISTACK_HOST": f"{region}.amazonaws.com",
        "TMPDIR": str(workdir),  # its pid file and the functions' unpacked code
        "NO_PROXY": no_proxy(),  # the functions' SDK calls come back to it (AWS_ENDPOINT_URL)
    }
    with open(workdir / "emulator.log", "w") as log:
        process = subprocess.Popen(
            [str(bin / "python"), str(SERVER)],
            env=env,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends its workers too
        )
    emulator = Emulator(process, port, bin)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            with DIRECT.open(f"{emulator.endpoint}/_ministack/health", timeout=5):
                return emulator
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                emulator.stop()
                raise RuntimeError(
                    f"the emulator did not start:\n{(workdir / 'emulator.log').read_text()}"
                ) from None
            time.sleep(0.2)


# --- the APIs' OpenAPI Body, which the emulator ignores (HTTP API) or half imports (REST) ----

SUB = re.compile(r"\$\{([^}]+)\}")
ANY = "x-amazon-apigateway-any-method"
OPERATION_KEYS = {"x-amazon-apigateway-integration", "isDefaultRoute", "responses"}


def _resolve_sub(text: str, resources: dict, emulator: Emulator, region: str) -> str:
    """Fn::Sub of an integration URI: pseudo parameters, a resource's Ref, a function's Arn."""

    def one(match: re.Match) -> str:
        name = match.group(1)
        if name == "AWS::Partition":
            return "aws"
        if name == "AWS::Region":
            return region
        if name.endswith(".Arn") and resources[name[:-4]]["type"] == "AWS::Lambda::Function":
            function = emulator.client("lambda", region).get_function(
                FunctionName=resources[name[:-4]]["id"]
            )
            return function["Configuration"]["FunctionArn"]
        assert "." not in name, f"attribute {name} of an integration URI is not resolved here"
        return resources[name]["id"]

    return SUB.sub(one, text)


def _operations(spec: dict):
    """(path, method, operation, its Lambda proxy integration) of an OpenAPI Body; anything
    this module does not make is refused."""
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            assert set(operation) <= OPERATION_KEYS, sorted(operation)
            integration = operation["x-amazon-apigateway-integration"]
            assert integration["type"] == "aws_proxy", integration
            yield path, method, operation, integration


def add_api_routes(emulator: Emulator, stack: str, region: str) -> list[str]:
    """What each API's `Body` (in the template CloudFormation processed) describes and the
    emulator did not make, made through its own API: an HTTP API's routes and Lambda
    integrations (where it has no route yet), a REST API's `ANY` methods (where missing).
    Returns what it made (`$default`, `ANY /{proxy+}`)."""
    cloudformation = emulator.client("cloudformation", region)
    template = cloudformation.get_template(StackName=stack, TemplateStage="Processed")
    body = template["TemplateBody"]
    template = json.loads(body) if isinstance(body, str) else body
    resources = {
        r["LogicalResourceId"]: {"id": r["PhysicalResourceId"], "type": r["ResourceType"]}
        for r in cloudformation.describe_stack_resources(StackName=stack)["StackResources"]
    }
    made = []
    for logical_id, resource in template["Resources"].items():
        spec = resource.get("Properties", {}).get("Body")
        if spec is None:
            continue
        api_id = resources[logical_id]["id"]
        if resource["Type"] == "AWS::ApiGatewayV2::Api":
            assert set(spec) <= {"openapi", "info", "paths", "tags"}, sorted(spec)
            made += _http_api_routes(emulator, region, api_id, spec, resources)
        elif resource["Type"] == "AWS::ApiGateway::RestApi":
            allowed = {"openapi", "info", "paths", "x-amazon-apigateway-binary-media-types"}
            assert set(spec) <= allowed, sorted(spec)
            made += _rest_api_methods(emulator, region, api_id, spec, resources)
    return made


def _http_api_routes(emulator, region, api_id, spec, resources) -> list[str]:
    apigatewayv2 = emulator.client("apigatewayv2", region)
    if apigatewayv2.get_routes(ApiId=api_id)["Items"]:
        return []  # made after an earlier deploy, and the API was kept
    made = []
    for path, method, operation, integration in _operations(spec):
        uri = integration["uri"]
        integration_id = apigatewayv2.create_integration(
            ApiId=api_id,
            IntegrationType="AWS_PROXY",
            IntegrationMethod=integration["httpMethod"],
            IntegrationUri=_resolve_sub(uri.get("Fn::Sub", uri), resources, emulator, region),
            PayloadFormatVersion=integration["payloadFormatVersion"],
        )["IntegrationId"]
        verb = "ANY" if method == ANY else method.upper()
        key = "$default" if operation.get("isDefaultRoute") else f"{verb} {path}"
        apigatewayv2.create_route(
            ApiId=api_id, RouteKey=key, Target=f"integrations/{integration_id}"
        )
        made.append(key)
    return made


def _rest_api_methods(emulator, region, api_id, spec, resources) -> list[str]:
    """The emulator imports a REST API's get/post/... operations, not `ANY` ones."""
    apigateway = emulator.client("apigateway", region)
    by_path = {r["path"]: r for r in apigateway.get_resources(restApiId=api_id)["items"]}
    made = []
    for path, method, _, integration in _operations(spec):
        if method != ANY or "ANY" in by_path[path].get("resourceMethods", {}):
            continue
        target = {"restApiId": api_id, "resourceId": by_path[path]["id"], "httpMethod": "ANY"}
        apigateway.put_method(**target, authorizationType="NONE")
        uri = integration["uri"]
        apigateway.put_integration(
            **target,
            type="AWS_PROXY",
            integrationHttpMethod=integration["httpMethod"],
            uri=_resolve_sub(uri.get("Fn::Sub", uri), resources, emulator, region),
        )
        made.append(f"ANY {path}")
    return made


def python_on_path(python: Path) -> str:
    """PATH with `python`'s directory (the runtime's `python3.X`, which src/Makefile calls)
    and this venv's tools (sam, cfn-lint) first."""
    return os.pathsep.join(
        [str(Path(sys.executable).parent), str(python.parent), os.environ["PATH"]]
    )
