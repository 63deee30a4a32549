"""The rendered infrastructure as code: template.yml (SAM), samconfig.toml,
iam/deploy-policy.json and infra/bootstrap.yml, under the real tools (cfn-lint with
informational findings, `sam validate --lint`, parliament) and with the semantics that lint
cannot see. Each check is a short function of (project, answers) and runs as a test of its
own on every render of RENDERS (every value of every choice, and answers unlike every
default); each render is baked once per worker (the `render` fixture) and shared."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path

import pytest
from cookiecutter.generate import generate_context, generate_files
from cookiecutter.prompt import prompt_for_config

from hooks import post_gen_project as post
from tests.helpers import (
    BIN,
    CHOICES,
    SINGLE_OPTIONS,
    TEMPLATE,
    cfn_lint,
    load_yaml,
    parliament_findings,
    rendered_files,
    resolved_answers,
    run,
    sam_transform,
    single_option,
)

# Answers unlike every default, so that an assertion on a name can fail.
CUSTOM = {
    "project_name": 'Orders "API" \\ ünïcode: #1 ${X}',
    "project_slug": "orders-api",
    "description": 'Takes orders: "all" of them \\ #2 ${AWS::Region} <b>&',
    "aws_region": "ap-southeast-2",
    "deployment_bucket": "acme-orders-artifacts",
    "lambda_role_name": "acme-orders-exec",
    "stack_name": "acme-orders",
    "function_name": "acme-orders-fn",
    "stage_name": "v1",
    "repository": "acme/orders-service",
    "python_version": "3.12",
    "architecture": "x86_64",
    "memory_size": "2048",
    "timeout": "20",
}

CUSTOM_COMBINATIONS = [
    ("http", False, "github-actions"),
    ("http", True, "gitlab"),
    ("rest", False, "travis"),
    ("rest", True, "none"),
]
RENDERS = {f"{key}={value}": single_option(key, value) for key, value in SINGLE_OPTIONS}
for api_type, snapstart, ci_provider in CUSTOM_COMBINATIONS:
    RENDERS[f"custom-{api_type}-snapstart={snapstart}-{ci_provider}"] = {
        **CUSTOM,
        "api_type": api_type,
        "snapstart": snapstart,
        "ci_provider": ci_provider,
    }

API_LIMIT = {"http": 30, "rest": 29}


def policy(project: Path) -> dict:
    return json.loads((project / "iam" / "deploy-policy.json").read_text())


def bootstrap_policy(project: Path) -> dict:
    bootstrap = load_yaml(project / "infra" / "bootstrap.yml")
    return bootstrap["Resources"]["DeployPolicy"]["Properties"]["PolicyDocument"]


def resolve_subs(node, **values):
    """Replace every {"Fn::Sub": "..."} by the string with ${Name} values filled in."""
    if isinstance(node, dict):
        if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
            text = node["Fn::Sub"]
            for name, value in values.items():
                text = text.replace("${" + name + "}", value)
            assert "${" not in text, text
            return text
        return {key: resolve_subs(value, **values) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve_subs(value, **values) for value in node]
    return node


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


# --- the SAM template ---------------------------------------------------------------------------


def sam_template(project: Path) -> dict:
    return load_yaml(project / "template.yml")


def function_properties(template: dict) -> dict:
    """The function's properties, Globals.Function merged in (as SAM merges them)."""
    return {**template["Globals"]["Function"], **template["Resources"]["ApiFunction"]["Properties"]}


def check_function(project: Path, answers: dict) -> None:
    """The post-gen hook's own checks of the SAM template pass, and the function is what
    the answers ask for."""
    assert post.check_sam_template(project, answers) == []
    template = sam_template(project)
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert template["Resources"]["ApiFunction"]["Type"] == "AWS::Serverless::Function"
    props = function_properties(template)
    assert props["Runtime"] == f"python{answers['python_version']}"
    assert props["Architectures"] == [answers["architecture"]]
    assert props["MemorySize"] == int(answers["memory_size"])
    assert props["Timeout"] == int(answers["timeout"])
    assert 1 <= props["Timeout"] <= API_LIMIT[answers["api_type"]]
    assert props["Handler"] == f"{answers['package_name']}.main.handler"
    # The app and its runtime dependencies only: never the project root (tests, tools, .venv).
    assert props["CodeUri"] == "src/"
    assert (project / "src" / "requirements.txt").is_file()
    assert props["FunctionName"] == answers["function_name"]
    role = answers["lambda_role_name"]
    assert props["Role"] == {
        "Fn::Sub": f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{role}"
    }
    assert "Policies" not in props  # no role made here: no CAPABILITY_IAM
    assert props["Tracing"] == "Active"


def check_function_logging(project: Path, answers: dict) -> None:
    template = sam_template(project)
    props = function_properties(template)
    assert props["LoggingConfig"] == {
        "LogFormat": "JSON",
        "LogGroup": {"Ref": "ApiFunctionLogGroup"},
    }
    log_group = template["Resources"]["ApiFunctionLogGroup"]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["LogGroupName"] == f"/aws/lambda/{answers['function_name']}"
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert props["Environment"]["Variables"]["LOG_LEVEL"] == {"Ref": "LogLevel"}
    for name in ("LogLevel", "LogRetentionInDays"):
        assert "Default" in template["Parameters"][name]


def check_snapstart(project: Path, answers: dict) -> None:
    """SnapStart only when asked, and then on published versions behind an alias."""
    props = function_properties(sam_template(project))
    if answers["snapstart"]:
        assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"}
        assert props["AutoPublishAlias"]
    else:
        assert "SnapStart" not in props
        assert "AutoPublishAlias" not in props


def check_outputs(project: Path, answers: dict) -> None:
    outputs = sam_template(project)["Outputs"]
    assert set(outputs) >= {"ApiUrl", "FunctionName", "FunctionArn"}
    assert outputs["FunctionName"]["Value"] == {"Ref": "ApiFunction"}
    assert outputs["FunctionArn"]["Value"] == {"Fn::GetAtt": ["ApiFunction", "Arn"]}


def check_api(project: Path, answers: dict) -> None:
    """The API of the chosen flavour, its routes, and the URL it prints."""
    template = sam_template(project)
    events = dict(function_properties(template)["Events"])
    if answers["auth"] == "jwt":  # its public and preflight routes: tests/test_api_edge.py
        public = {"Ping", "Docs", "DocsOAuth2Redirect", "OpenApi"}
        assert public <= set(events)
        for name in public | {"Preflight", "RootPreflight"}:
            events.pop(name, None)
    url = template["Outputs"]["ApiUrl"]["Value"]["Fn::Sub"]
    if answers["api_type"] == "http":
        api = template["Resources"]["HttpApi"]
        assert api["Type"] == "AWS::Serverless::HttpApi"
        assert "RestApi" not in template["Resources"]
        assert api["Properties"]["StageName"] == "$default"
        # One event with neither path nor method: the $default route, `/` included.
        assert events == {
            "Default": {"Type": "HttpApi", "Properties": {"ApiId": {"Ref": "HttpApi"}}}
        }
        assert url == "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/"
    else:
        api = template["Resources"]["RestApi"]
        assert api["Type"] == "AWS::Serverless::Api"
        assert "HttpApi" not in template["Resources"]
        assert api["Properties"]["StageName"] == answers["stage_name"]
        assert template["Globals"]["Api"]["OpenApiVersion"]
        assert api["Properties"]["BinaryMediaTypes"] == ["*~1*"]
        routes = {(e["Properties"]["Path"], e["Properties"]["Method"]) for e in events.values()}
        assert routes == {("/", "ANY"), ("/{proxy+}", "ANY")}
        assert all(e["Type"] == "Api" for e in events.values())
        assert all(e["Properties"]["RestApiId"] == {"Ref": "RestApi"} for e in events.values())
        assert url == (
            "https://${RestApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/"
            f"{answers['stage_name']}/"
        )


def check_sam_transform(project: Path, answers: dict) -> None:
    """What the SAM transform makes of it: the stages, and what the API invokes."""
    resources = sam_transform(sam_template(project), answers["aws_region"])["Resources"]
    by_type: dict[str, list[dict]] = {}
    for resource in resources.values():
        by_type.setdefault(resource["Type"], []).append(resource)
    http = answers["api_type"] == "http"
    stage_type = "AWS::ApiGatewayV2::Stage" if http else "AWS::ApiGateway::Stage"
    stages = [stage["Properties"]["StageName"] for stage in by_type[stage_type]]
    assert stages == ["$default" if http else answers["stage_name"]]  # no "Stage"
    assert not set(by_type) & {"AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}
    invoked = {
        json.dumps(p["Properties"]["FunctionName"]) for p in by_type["AWS::Lambda::Permission"]
    }
    if answers["snapstart"]:
        (alias,) = [name for name, r in resources.items() if r["Type"] == "AWS::Lambda::Alias"]
        assert invoked == {json.dumps({"Ref": alias})}
        assert len(by_type["AWS::Lambda::Version"]) == 1
    else:
        assert "AWS::Lambda::Alias" not in by_type
        assert invoked == {json.dumps({"Ref": "ApiFunction"})}


# --- the deployment policy ----------------------------------------------------------------------


def allowed(project: Path, resource_arn: str) -> set[str]:
    """The actions the deploy policy allows on exactly `resource_arn`."""
    return {
        action
        for s in policy(project)["Statement"]
        if resource_arn in as_list(s["Resource"])
        for action in as_list(s["Action"])
    }


def check_policy_is_least_privilege(project: Path, answers: dict) -> None:
    """Clean under parliament; no wildcard actions; `*` resources only for the reads that
    have no resource-level permissions; everything regional in this region only."""
    assert parliament_findings((project / "iam" / "deploy-policy.json").read_text()) == []
    for statement in policy(project)["Statement"]:
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            assert action != "*", action
            assert not action.endswith(":*"), action
        if "*" in as_list(statement["Resource"]):
            # Only actions that have no resource-level permissions at all: reads, and for
            # an HTTP API the log delivery its stage's access logging sets up.
            star_only = {
                "logs:DescribeLogGroups",
                "logs:DescribeIndexPolicies",
                "logs:DescribeResourcePolicies",
            }
            if answers["api_type"] == "http":
                star_only |= {
                    "logs:CreateLogDelivery",
                    "logs:DeleteLogDelivery",
                    "logs:GetLogDelivery",
                    "logs:ListLogDeliveries",
                    "logs:PutResourcePolicy",
                    "logs:UpdateLogDelivery",
                }
            assert set(as_list(statement["Action"])) <= star_only, statement
        for arn in as_list(statement["Resource"]):
            parts = arn.split(":")
            if arn != "*" and parts[2] not in ("s3", "iam"):
                assert parts[3] == answers["aws_region"], arn  # this region only


def check_policy_stack_and_artifacts(project: Path, answers: dict) -> None:
    region, stack = answers["aws_region"], answers["stack_name"]
    assert {
        "cloudformation:CreateChangeSet",
        "cloudformation:DescribeChangeSet",
        "cloudformation:ExecuteChangeSet",
        "cloudformation:DescribeStacks",
        "cloudformation:DescribeStackEvents",
        "cloudformation:GetTemplateSummary",
    } <= allowed(project, f"arn:aws:cloudformation:{region}:*:stack/{stack}/*")
    transform = f"arn:aws:cloudformation:{region}:aws:transform/Serverless-2016-10-31"
    assert allowed(project, transform) == {"cloudformation:CreateChangeSet"}
    bucket = f"arn:aws:s3:::{answers['deployment_bucket']}"
    assert allowed(project, bucket) == {"s3:ListBucket"}
    assert allowed(project, f"{bucket}/{stack}/*") == {
        "s3:DeleteObject",
        "s3:GetObject",
        "s3:PutObject",
    }


def check_policy_function(project: Path, answers: dict) -> None:
    function = f"arn:aws:lambda:{answers['aws_region']}:*:function:{answers['function_name']}"
    actions = allowed(project, function)
    assert {
        "lambda:CreateFunction",
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
        "lambda:TagResource",
    } <= actions
    # Invoke permissions: only for API Gateway, and on what the API invokes (the alias with
    # SnapStart, else the function).
    statements = policy(project)["Statement"]
    (invoke,) = [s for s in statements if "lambda:AddPermission" in as_list(s["Action"])]
    assert invoke["Condition"] == {"StringEquals": {"lambda:Principal": "apigateway.amazonaws.com"}}
    assert set(invoke["Action"]) == {"lambda:AddPermission", "lambda:RemovePermission"}
    assert invoke["Resource"] == (f"{function}:*" if answers["snapstart"] else function)
    if answers["snapstart"]:
        assert {"lambda:PublishVersion", "lambda:CreateAlias", "lambda:UpdateAlias"} <= actions
        assert allowed(project, f"{function}:*") - actions == {
            "lambda:AddPermission",
            "lambda:RemovePermission",
        }
    else:
        assert not {action for action in actions if "Alias" in action or "Version" in action}
        assert allowed(project, f"{function}:*") == set()


def check_policy_passes_only_the_lambda_role(project: Path, answers: dict) -> None:
    statements = policy(project)["Statement"]
    (pass_role,) = [s for s in statements if "iam:PassRole" in as_list(s["Action"])]
    assert pass_role["Action"] == "iam:PassRole"
    assert pass_role["Resource"] == f"arn:aws:iam::*:role/{answers['lambda_role_name']}"
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}
    }


def check_policy_api_and_logs(project: Path, answers: dict) -> None:
    region = answers["aws_region"]
    http = answers["api_type"] == "http"
    apis, other = ("/apis", "/restapis") if http else ("/restapis", "/apis")
    for resource in (apis, apis + "/*"):
        assert "apigateway:POST" in allowed(project, f"arn:aws:apigateway:{region}::{resource}")
    assert not allowed(project, f"arn:aws:apigateway:{region}::{other}/*")
    log_group = f"arn:aws:logs:{region}:*:log-group:/aws/lambda/{answers['function_name']}"
    assert {"logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:DeleteLogGroup"} <= allowed(
        project, log_group
    )


def check_access_logs(project: Path, answers: dict) -> None:
    """API Gateway's access log: JSON, to a log group of its own that expires, and the
    deploy policy's grants for it; the function's telemetry names from the answers."""
    template = sam_template(project)
    resources = sam_transform(template, answers["aws_region"])["Resources"]
    http = answers["api_type"] == "http"
    stage_type = "AWS::ApiGatewayV2::Stage" if http else "AWS::ApiGateway::Stage"
    (stage,) = [r for r in resources.values() if r["Type"] == stage_type]
    setting = stage["Properties"]["AccessLogSettings" if http else "AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    access_format = json.loads(setting["Format"])
    assert access_format["requestId"] == "$context.requestId"
    assert {"status", "responseLatency", "httpMethod", "path", "sourceIp"} <= set(access_format)
    group = template["Resources"]["ApiAccessLogGroup"]["Properties"]
    name = f"/aws/vendedlogs/apigateway/{answers['stack_name']}-access"
    assert group["LogGroupName"] == name
    assert group["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    arn = f"arn:aws:logs:{answers['aws_region']}:*:log-group:{name}"
    assert {"logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:DeleteLogGroup"} <= allowed(
        project, arn
    )
    variables = function_properties(template)["Environment"]["Variables"]
    assert variables["SERVICE_NAME"] == variables["METRICS_NAMESPACE"] == answers["project_slug"]


def check_policy_in_bootstrap(project: Path, answers: dict) -> None:
    """One source, two forms: the bootstrap's copy is this document with the account
    pinned."""
    pinned = resolve_subs(
        bootstrap_policy(project), **{"AWS::Partition": "aws", "AWS::AccountId": "*"}
    )
    assert pinned == policy(project)
    resolved = resolve_subs(
        bootstrap_policy(project), **{"AWS::Partition": "aws", "AWS::AccountId": "111122223333"}
    )
    assert parliament_findings(json.dumps(resolved)) == []
    role = answers["lambda_role_name"]
    assert f"arn:aws:iam::111122223333:role/{role}" in json.dumps(resolved)


# --- the bootstrap stack ------------------------------------------------------------------------


def bootstrap(project: Path) -> dict:
    return load_yaml(project / "infra" / "bootstrap.yml")


def check_bootstrap_bucket(project: Path, answers: dict) -> None:
    template = bootstrap(project)
    resources = template["Resources"]
    bucket = resources["DeploymentBucket"]["Properties"]
    assert bucket["BucketName"] == answers["deployment_bucket"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == {"Ref": "ArtifactExpirationInDays"}
    assert template["Parameters"]["ArtifactExpirationInDays"]["Default"] == 90
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0
    (tls,) = resources["DeploymentBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert tls["Effect"] == "Deny"
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    outputs = template["Outputs"]
    assert outputs["DeploymentBucketName"]["Value"] == {"Ref": "DeploymentBucket"}


def check_bootstrap_lambda_role(project: Path, answers: dict) -> None:
    template = bootstrap(project)
    role = template["Resources"]["LambdaExecutionRole"]["Properties"]
    assert role["RoleName"] == answers["lambda_role_name"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    granted = {
        action: statement["Resource"]
        for policy_ in role["Policies"]
        for statement in policy_["PolicyDocument"]["Statement"]
        for action in as_list(statement["Action"])
    }
    assert set(granted) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    log_group = f"log-group:/aws/lambda/{answers['function_name']}:*"
    assert log_group in granted["logs:PutLogEvents"]["Fn::Sub"]
    assert template["Outputs"]["LambdaExecutionRoleArn"]["Value"] == {
        "Fn::GetAtt": ["LambdaExecutionRole", "Arn"]
    }


OIDC = {
    "github-actions": ("token.actions.githubusercontent.com", "repo:{}:ref:refs/heads/main"),
    "gitlab": ("gitlab.com", "project_path:{}:ref_type:branch:ref:main"),
}


def check_bootstrap_api_gateway_logging_role(project: Path, answers: dict) -> None:
    """REST API access logs go through API Gateway's account-level CloudWatch role."""
    template = bootstrap(project)
    resources = template["Resources"]
    if answers["api_type"] != "rest":
        assert not {"ApiGatewayAccount", "ApiGatewayCloudWatchRole"} & set(resources)
        return
    account = resources["ApiGatewayAccount"]
    assert account["Type"] == "AWS::ApiGateway::Account"
    assert account["Condition"] == "SetApiGatewayLoggingRole"
    assert account["Properties"]["CloudWatchRoleArn"] == {
        "Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]
    }
    role = resources["ApiGatewayCloudWatchRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert role["ManagedPolicyArns"] == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs"
        }
    ]
    assert template["Parameters"]["ApiGatewayLoggingRole"]["Default"] == "set"


def check_bootstrap_deploy_identity(project: Path, answers: dict) -> None:
    """The CI's identity: an OIDC role (GitHub, GitLab), an IAM user (Travis), or none;
    each with the deploy policy, and no access keys made by the stack."""
    template = bootstrap(project)
    resources, outputs = template["Resources"], template["Outputs"]
    deploy_name = f"{answers['stack_name']}-deploy"
    assert resources["DeployPolicy"]["Properties"]["ManagedPolicyName"] == deploy_name
    assert outputs["DeployPolicyArn"]["Value"] == {"Ref": "DeployPolicy"}
    identities = {"DeployRole", "DeployUser", "OidcProvider"} & set(resources)
    ci = answers["ci_provider"]
    if ci in OIDC:
        host, subject = OIDC[ci][0], OIDC[ci][1].format(answers["repository"])
        assert identities == {"DeployRole", "OidcProvider"}
        provider = resources["OidcProvider"]
        assert provider["Condition"] == "CreateOidcProvider"  # an existing one can be passed in
        assert provider["Properties"]["Url"] == f"https://{host}"
        assert template["Parameters"]["OidcProviderArn"]["Default"] == ""
        assert template["Parameters"]["OidcAudience"]["Default"] == "sts.amazonaws.com"
        deploy_role = resources["DeployRole"]["Properties"]
        assert deploy_role["RoleName"] == deploy_name
        assert deploy_role["ManagedPolicyArns"] == [{"Ref": "DeployPolicy"}]
        (trust,) = deploy_role["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert trust["Principal"]["Federated"] == {
            "Fn::If": ["CreateOidcProvider", {"Ref": "OidcProvider"}, {"Ref": "OidcProviderArn"}]
        }
        assert trust["Condition"] == {
            "StringEquals": {f"{host}:aud": {"Ref": "OidcAudience"}, f"{host}:sub": subject}
        }
        assert outputs["DeployRoleArn"]["Value"] == {"Fn::GetAtt": ["DeployRole", "Arn"]}
        assert "DeployUserName" not in outputs
    elif ci == "travis":
        assert identities == {"DeployUser"}
        user = resources["DeployUser"]["Properties"]
        assert user["UserName"] == deploy_name
        assert user["ManagedPolicyArns"] == [{"Ref": "DeployPolicy"}]
        assert outputs["DeployUserName"]["Value"] == {"Ref": "DeployUser"}
        assert "DeployRoleArn" not in outputs
    else:
        assert identities == set()
        assert not {"DeployRoleArn", "DeployUserName"} & set(outputs)
    # Access keys are made afterwards, never by the stack or in its outputs.
    assert not [r for r in resources.values() if r["Type"] == "AWS::IAM::AccessKey"]


def check_samconfig(project: Path, answers: dict) -> None:
    text = (project / "samconfig.toml").read_text()
    assert re.search(r"^version = 0\.1$", text, re.MULTILINE)  # a float, not "0.1"
    config = tomllib.loads(text)
    assert config["version"] == 0.1
    default = config["default"]
    settings = {**default["global"]["parameters"], **default["deploy"]["parameters"]}
    assert settings["stack_name"] == answers["stack_name"]
    assert settings["region"] == answers["aws_region"]
    assert settings["s3_bucket"] == answers["deployment_bucket"]
    assert settings["s3_prefix"] == answers["stack_name"]
    assert "CAPABILITY_IAM" not in settings["capabilities"]
    assert settings["confirm_changeset"] is False
    assert settings["fail_on_empty_changeset"] is False
    assert settings["on_failure"] == "DELETE"  # a failed first deploy leaves no stack behind
    assert "resolve_s3" not in settings
    assert default["validate"]["parameters"]["lint"] is True


def check_deployment_doc(project: Path, answers: dict) -> None:
    """docs/deployment.md (linked from the README) takes the answers' names through the
    bootstrap and the deploy, for the chosen CI provider only."""
    deployment = (project / "docs" / "deployment.md").read_text()
    deployment = deployment[: deployment.index("\n## Continuous deployment")]  # not the CI
    assert "See the sections below (filled in by" not in deployment
    assert f"--stack-name {answers['stack_name']}-bootstrap" in deployment
    assert f"--region {answers['aws_region']}" in deployment
    assert "--capabilities CAPABILITY_NAMED_IAM" in deployment
    assert "sam validate && sam build && sam deploy" in deployment
    assert "INVALID_ARN" in deployment  # the parliament false positive, explained
    expected = {
        "github-actions": ["DeployRoleArn", "AWS_DEPLOY_ROLE_ARN", "OidcProviderArn"],
        "gitlab": ["DeployRoleArn", "AWS_DEPLOY_ROLE_ARN", "OidcProviderArn"],
        "travis": ["DeployUserName", "aws iam create-access-key", "AWS_SECRET_ACCESS_KEY"],
        "none": ["DeployPolicyArn", "aws iam attach-role-policy"],
    }[answers["ci_provider"]]
    for text in expected:
        assert text in deployment, text
    for other, texts in {
        "github-actions": ["GitHub"],
        "gitlab": ["GitLab"],
        "travis": ["Travis"],
    }.items():
        if other != answers["ci_provider"]:
            assert not any(text in deployment for text in texts), other


CHECKS = [
    check_function,
    check_function_logging,
    check_snapstart,
    check_outputs,
    check_api,
    check_sam_transform,
    check_policy_is_least_privilege,
    check_policy_stack_and_artifacts,
    check_policy_function,
    check_policy_passes_only_the_lambda_role,
    check_policy_api_and_logs,
    check_access_logs,
    check_policy_in_bootstrap,
    check_bootstrap_bucket,
    check_bootstrap_lambda_role,
    check_bootstrap_api_gateway_logging_role,
    check_bootstrap_deploy_identity,
    check_samconfig,
    check_deployment_doc,
]


# --- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", RENDERS)
def test_lints_clean(render, name):
    """cfn-lint, informational findings included, no suppressions: both templates, for every
    value of every choice and for the custom answers."""
    project, region = render(**RENDERS[name]), resolved_answers(**RENDERS[name])["aws_region"]
    findings = cfn_lint(project / "template.yml", region)
    findings += cfn_lint(project / "infra" / "bootstrap.yml", region)
    assert findings == []


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__.removeprefix("check_"))
@pytest.mark.parametrize("name", RENDERS)
def test_semantics(render, name, check):
    """What lint cannot see: each check of what the answers must make of the templates."""
    check(render(**RENDERS[name]), resolved_answers(**RENDERS[name]))


@pytest.mark.parametrize("name", [name for name in RENDERS if name.startswith("custom-")])
def test_custom_names_reach_the_policy(render, name):
    """Names unlike the defaults land in every ARN of the policy; no default is left."""
    text = (render(**RENDERS[name]) / "iam" / "deploy-policy.json").read_text()
    for value in ("acme-orders-artifacts", "acme-orders", "acme-orders-fn", "acme-orders-exec"):
        assert value in text
    assert "fastapi-lambda-service" not in text
    assert "eu-west-1" not in text


def test_a_check_can_fail(render):
    """The checks above notice a policy that grants too much or names the wrong function."""
    project, answers = render(**CUSTOM), resolved_answers(**CUSTOM)
    with pytest.raises(AssertionError):
        check_policy_function(project, {**answers, "function_name": "someone-else"})
    broad = policy(project)
    broad["Statement"].append({"Effect": "Allow", "Action": "lambda:*", "Resource": "*"})
    assert parliament_findings(json.dumps(broad)) != []
    with pytest.raises(AssertionError):
        check_function(project, {**answers, "python_version": "3.13"})


def test_cfn_lint_reports_informational_findings(tmp_path):
    """The lint helper sees what it must: an informational finding (I3011, a log group
    without a deletion policy) and an error, after clean templates went through it."""
    clean = tmp_path / "clean.yml"
    clean.write_text(
        "Resources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n"
        "    DeletionPolicy: Delete\n    UpdateReplacePolicy: Delete\n"
    )
    assert cfn_lint(clean) == []
    informational = tmp_path / "informational.yml"
    informational.write_text("Resources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n")
    assert any("I3011" in finding for finding in cfn_lint(informational))
    broken = tmp_path / "broken.yml"
    broken.write_text("Resources:\n  Logs:\n    Type: AWS::Logs::LogGroupe\n")
    assert any("E3006" in finding for finding in cfn_lint(broken))
    assert cfn_lint(clean) == []


def test_parliament_filters_only_the_transform_false_positive():
    wrong_account = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "cloudformation:CreateChangeSet",
                "Resource": [
                    "arn:aws:cloudformation:eu-west-1:aws:transform/Serverless-2016-10-31",
                    "arn:aws:cloudformation:eu-west-1:ACCOUNT_ID:stack/x/*",
                ],
            }
        ],
    }
    (finding,) = parliament_findings(json.dumps(wrong_account))
    assert finding.startswith("INVALID_ARN")
    assert "ACCOUNT_ID" in finding


@pytest.mark.slow
@pytest.mark.parametrize("api_type", CHOICES["api_type"])
def test_sam_validate_lint(render, api_type):
    """`sam validate --lint`, as the README and the pipelines run it: offline, no flags."""
    project = render(api_type=api_type)
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    for variable in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(variable, None)
    result = run([BIN / "sam", "validate", "--lint"], cwd=project, env=env)
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_bootstrap_includes_the_policy_under_generate_files(tmp_path):
    """cruft renders with cookiecutter.generate.generate_files, not cookiecutter(), so this
    test does too: the bootstrap's `{% include %}` of the policy must resolve there."""
    context = generate_context(
        context_file=str(TEMPLATE / "cookiecutter.json"),
        extra_context={"stack_name": "via-generate-files"},
    )
    context["cookiecutter"] = prompt_for_config(context, no_input=True)
    context["cookiecutter"]["_template"] = str(TEMPLATE)
    project = Path(
        generate_files(repo_dir=str(TEMPLATE), context=context, output_dir=str(tmp_path))
    )
    document = resolve_subs(
        bootstrap_policy(project), **{"AWS::Partition": "aws", "AWS::AccountId": "*"}
    )
    assert document == policy(project)
    assert "stack/via-generate-files/*" in json.dumps(document)


def test_pre_commit_lints_both_templates(render):
    """The render's own pre-commit runs cfn-lint (the post-gen hook does not: docs/hooks.md),
    pinned to the version these tests lint with, on exactly the two CloudFormation
    templates."""
    project = render()
    config = load_yaml(project / ".pre-commit-config.yaml")
    (repo,) = [r for r in config["repos"] if r["repo"].endswith("/cfn-lint")]
    pins = dict(
        line.split("==")
        for line in (TEMPLATE / "requirements-test.txt").read_text().splitlines()
        if "==" in line
    )
    assert repo["rev"] == "v" + pins["cfn-lint"]
    (hook,) = repo["hooks"]
    assert hook["id"] == "cfn-lint"
    linted = [
        p
        for p in rendered_files(project)
        if re.search(hook["files"], p.relative_to(project).as_posix())
    ]
    assert sorted(p.relative_to(project).as_posix() for p in linted) == [
        "infra/bootstrap.yml",
        "template.yml",
    ]
