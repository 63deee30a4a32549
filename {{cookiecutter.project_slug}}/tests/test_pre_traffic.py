{%- set m = cookiecutter | model -%}
"""The CodeDeploy pre-traffic hook (src/deploy_hooks/pre_traffic.py), invoked in-process with
the event CodeDeploy sends it. Its Lambda client runs the app's own handler in-process, so
the `GET /ping` event it sends is proven to be one the app answers; its CodeDeploy client
records the status reported."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import pytest
from mangum.types import LambdaContext

from {{ cookiecutter.package_name }}.main import handler as app_handler

from deploy_hooks import pre_traffic

if TYPE_CHECKING:
    from mypy_boto3_codedeploy import CodeDeployClient
    from mypy_boto3_lambda import LambdaClient

Function = Callable[[Any, Any], Any]

REGION = "{{ cookiecutter.aws_region }}"
FUNCTION = "{{ cookiecutter.function_name }}"
VERSION_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:{FUNCTION}:7"
# What CodeDeploy invokes a BeforeAllowTraffic hook with.
CODEDEPLOY_EVENT = {
    "DeploymentId": "d-ABCDEF123",
    "LifecycleEventHookExecutionId": (
        "eyJlbmNyeXB0ZWREYXRhIjoiY2hpZmVyIiwiaXZQYXJhbWV0ZXJTcGVjIjoiaXYifQ=="
    ),
}


class FakeLambda:
    """lambda.invoke, answered by `function(event, context)` in this process."""

    def __init__(self, function: Function, lambda_context: LambdaContext) -> None:
        self.function = function
        self.lambda_context = lambda_context
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        try:
            result = self.function(json.loads(kwargs["Payload"]), self.lambda_context)
        except Exception as error:  # how Lambda reports an unhandled exception
            payload = {"errorMessage": str(error), "errorType": type(error).__name__}
            return {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": io.BytesIO(json.dumps(payload).encode()),
            }
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(result).encode())}


class FakeCodeDeploy:
    def __init__(self) -> None:
        self.reports: list[dict[str, str]] = []

    def put_lifecycle_event_hook_execution_status(self, **kwargs: str) -> dict[str, str]:
        self.reports.append(kwargs)
        return {"lifecycleEventHookExecutionId": kwargs["lifecycleEventHookExecutionId"]}


@pytest.fixture
def target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TARGET_VERSION_ARN", VERSION_ARN)


def fakes(
    lambda_client: FakeLambda, codedeploy: FakeCodeDeploy
) -> tuple[LambdaClient, CodeDeployClient]:
    """The fakes in place of boto3's clients: they answer the calls the hook makes."""
    return cast("LambdaClient", lambda_client), cast("CodeDeployClient", codedeploy)


def run_hook(
    function: Function, lambda_context: LambdaContext
) -> tuple[str, FakeLambda, FakeCodeDeploy]:
    lambda_client, codedeploy = FakeLambda(function, lambda_context), FakeCodeDeploy()
    clients = fakes(lambda_client, codedeploy)
    status = pre_traffic.handler(CODEDEPLOY_EVENT, lambda_context, clients)
    (report,) = codedeploy.reports  # exactly one report, or CodeDeploy waits for an hour
    assert report == {
        "deploymentId": CODEDEPLOY_EVENT["DeploymentId"],
        "lifecycleEventHookExecutionId": CODEDEPLOY_EVENT["LifecycleEventHookExecutionId"],
        "status": status,
    }
    return status, lambda_client, codedeploy


@pytest.mark.usefixtures("target")
def test_a_healthy_version_succeeds(lambda_context: LambdaContext) -> None:
    status, lambda_client, _ = run_hook(app_handler, lambda_context)
    assert status == "Succeeded"
    (call,) = lambda_client.calls
    assert call["FunctionName"] == VERSION_ARN  # the new version, not the alias
    assert call["InvocationType"] == "RequestResponse"


def test_the_ping_event_is_what_api_gateway_sends(lambda_context: LambdaContext) -> None:
    response = app_handler(pre_traffic.PING_EVENT, lambda_context)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"ping": "pong!"}
{%- if m.http %}
    assert pre_traffic.PING_EVENT["version"] == "2.0"
    assert pre_traffic.PING_EVENT["requestContext"]["http"]["method"] == "GET"
{%- else %}
    assert "version" not in pre_traffic.PING_EVENT  # REST API, payload format 1.0
    assert pre_traffic.PING_EVENT["httpMethod"] == "GET"
{%- endif %}


def _answers(status_code: int) -> Function:
    def function(event: Any, context: Any) -> dict[str, Any]:
        return {"statusCode": status_code, "headers": {}, "body": "{}", "isBase64Encoded": False}

    return function


def _crashes(event: Any, context: Any) -> None:
    raise RuntimeError("cannot import settings")


def _not_api_gateway(event: Any, context: Any) -> str:
    return "pong"


@pytest.mark.usefixtures("target")
@pytest.mark.parametrize(
    ("function", "reason"),
    [
        (_answers(500), "answered 500"),
        (_answers(404), "answered 404"),
        (_crashes, "the function failed (Unhandled)"),
        (_not_api_gateway, "answered None"),
    ],
)
def test_a_broken_version_fails_the_deployment(
    function: Function,
    reason: str,
    lambda_context: LambdaContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    status, _, _ = run_hook(function, lambda_context)
    assert status == "Failed"
    assert reason in caplog.text


@pytest.mark.usefixtures("target")
def test_an_invoke_error_fails_the_deployment(
    lambda_context: LambdaContext, caplog: pytest.LogCaptureFixture
) -> None:
    class Unreachable(FakeLambda):
        def invoke(self, **kwargs: Any) -> dict[str, Any]:
            raise ConnectionError("endpoint unreachable")

    codedeploy = FakeCodeDeploy()
    clients = fakes(Unreachable(app_handler, lambda_context), codedeploy)
    assert pre_traffic.handler(CODEDEPLOY_EVENT, lambda_context, clients) == "Failed"
    assert [r["status"] for r in codedeploy.reports] == ["Failed"]
    assert "ConnectionError: endpoint unreachable" in caplog.text


def test_without_a_target_version_the_deployment_fails(
    monkeypatch: pytest.MonkeyPatch, lambda_context: LambdaContext
) -> None:
    monkeypatch.delenv("TARGET_VERSION_ARN", raising=False)
    status, lambda_client, _ = run_hook(app_handler, lambda_context)
    assert status == "Failed"
    assert lambda_client.calls == []
