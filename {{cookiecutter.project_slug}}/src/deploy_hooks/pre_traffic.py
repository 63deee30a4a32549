{%- set m = cookiecutter | model -%}
"""CodeDeploy pre-traffic hook: before the alias `live` sends any traffic to the new
version, invoke that version with a real `GET /ping` API Gateway event and tell CodeDeploy
whether it answered 200. A failure (or no answer at all) stops the deployment and
CodeDeploy rolls it back: no request ever reaches a version that cannot start.

CodeDeploy invokes this function with its own event, `{"DeploymentId": ...,
"LifecycleEventHookExecutionId": ...}`, and waits (up to an hour) for exactly one
PutLifecycleEventHookExecutionStatus with those ids. template.yml sets
TARGET_VERSION_ARN to the version being deployed. boto3 is the Lambda runtime's own.
"""

from __future__ import annotations

import json
import logging
import os
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # boto3-stubs, a dev dependency: the runtime's boto3 is untyped
    from mypy_boto3_codedeploy import CodeDeployClient
    from mypy_boto3_codedeploy.literals import LifecycleEventStatusType
    from mypy_boto3_lambda import LambdaClient

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

# The request API Gateway would send for `GET /ping`{% if m.http %} (HTTP API, payload format 2.0,
# the $default stage){% else %} (REST API proxy integration, payload
# format 1.0, stage `{{ cookiecutter.stage_name }}`){% endif %}. Its host is not an execute-api host, so the app
# serves it without a stage prefix.
{%- if m.http %}
PING_EVENT: dict[str, Any] = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/ping",
    "rawQueryString": "",
    "headers": {
        "accept": "application/json",
        "host": "pre-traffic-hook.invalid",
        "user-agent": "codedeploy-pre-traffic-hook",
    },
    "requestContext": {
        "accountId": "anonymous",
        "apiId": "pre-traffic-hook",
        "domainName": "pre-traffic-hook.invalid",
        "domainPrefix": "pre-traffic-hook",
        "http": {
            "method": "GET",
            "path": "/ping",
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": "codedeploy-pre-traffic-hook",
        },
        "requestId": "pre-traffic-hook",
        "routeKey": "$default",
        "stage": "$default",
        "time": "01/Jan/2026:00:00:00 +0000",
        "timeEpoch": 1767225600000,
    },
    "isBase64Encoded": False,
}
{%- else %}
PING_EVENT: dict[str, Any] = {
    "resource": "/{proxy+}",
    "path": "/ping",
    "httpMethod": "GET",
    "headers": {
        "Accept": "application/json",
        "Host": "pre-traffic-hook.invalid",
        "User-Agent": "codedeploy-pre-traffic-hook",
    },
    "multiValueHeaders": {
        "Accept": ["application/json"],
        "Host": ["pre-traffic-hook.invalid"],
        "User-Agent": ["codedeploy-pre-traffic-hook"],
    },
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": {"proxy": "ping"},
    "stageVariables": None,
    "requestContext": {
        "accountId": "anonymous",
        "apiId": "pre-traffic-hook",
        "domainName": "pre-traffic-hook.invalid",
        "httpMethod": "GET",
        "identity": {"sourceIp": "127.0.0.1", "userAgent": "codedeploy-pre-traffic-hook"},
        "path": "/{{ cookiecutter.stage_name }}/ping",
        "protocol": "HTTP/1.1",
        "requestId": "pre-traffic-hook",
        "resourcePath": "/{proxy+}",
        "stage": "{{ cookiecutter.stage_name }}",
    },
    "body": None,
    "isBase64Encoded": False,
}
{%- endif %}


@cache
def aws_clients() -> tuple[LambdaClient, CodeDeployClient]:
    """The Lambda and CodeDeploy clients, made once per execution environment."""
    import boto3

    return boto3.client("lambda"), boto3.client("codedeploy")


def ping_problem(lambda_client: LambdaClient, version_arn: str) -> str | None:
    """None if the version answers `GET /ping` with 200, else what went wrong."""
    response = lambda_client.invoke(
        FunctionName=version_arn,
        InvocationType="RequestResponse",
        Payload=json.dumps(PING_EVENT).encode(),
    )
    payload = response["Payload"].read().decode(errors="replace")
    if response.get("FunctionError"):
        return f"the function failed ({response['FunctionError']}): {payload[:1000]}"
    try:
        answer = json.loads(payload)
    except json.JSONDecodeError:
        return f"not an API Gateway response: {payload[:1000]}"
    status = answer.get("statusCode") if isinstance(answer, dict) else None
    if status != 200:
        return f"GET /ping answered {status!r}, not 200: {payload[:1000]}"
    return None


def handler(
    event: dict[str, Any],
    context: Any,
    clients: tuple[LambdaClient, CodeDeployClient] | None = None,
) -> str:
    """Check the new version, report Succeeded or Failed to CodeDeploy, return the status."""
    lambda_client, codedeploy = clients or aws_clients()
    version_arn = os.environ.get("TARGET_VERSION_ARN", "")
    try:
        if version_arn:
            problem = ping_problem(lambda_client, version_arn)
        else:
            problem = "TARGET_VERSION_ARN is not set"
    except Exception as error:  # any failure must fail the deployment, never hang it
        problem = f"invoking {version_arn} raised {type(error).__name__}: {error}"
    status: LifecycleEventStatusType = "Failed" if problem else "Succeeded"
    if problem:
        logger.error("pre-traffic check of %s failed: %s", version_arn, problem)
    else:
        logger.info("pre-traffic check of %s passed: GET /ping answered 200", version_arn)
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=status,
    )
    return status
