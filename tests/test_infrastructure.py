"""The rendered infrastructure as code: template.yml (SAM), samconfig.toml,
iam/deploy-policy.json and infra/bootstrap.yml, under the real tools (cfn-lint with
informational findings, `sam validate --lint`, parliament) and with the semantics that lint
cannot see. Each distinct set of answers is rendered once per worker and shared."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import tomllib
from pathlib import Path

import pytest
from cookiecutter.generate import generate_context
from cookiecutter.main import cookiecutter
from cookiecutter.prompt import prompt_for_config

from tests.helpers import (
    BIN,
    BOOLEANS,
    CHOICES,
    TEMPLATE,
    cfn_lint,
    load_cfn_yaml,
    parliament_findings,
    run,
    sam_transform,
)

SINGLE_OPTIONS = [
    (key, value) for key, values in {**CHOICES, **BOOLEANS}.items() for value in values
]

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

API_LIMIT = {"http": 30, "rest": 29}


@functools.cache
def _render(root: str, items: tuple) -> Path:
    extra = dict(items)
    output = Path(root) / f"render-{len(os.listdir(root))}"
    return Path(
        cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(output), extra_context=extra)
    )


@pytest.fixture(scope="module")
def render(tmp_path_factory):
    """render(**answers) -> project path, rendered once per distinct set of answers."""
    root = tmp_path_factory.mktemp("infra")

    def _r(**extra):
        return _render(str(root), tuple(sorted(extra.items())))

    yield _r
    _render.cache_clear()
    shutil.rmtree(root, ignore_errors=True)


def answers(**extra) -> dict:
    """The answers a render got, derived defaults resolved by cookiecutter itself."""
    return dict(_answers(tuple(sorted(extra.items()))))


@functools.cache
def _answers(items: tuple) -> tuple:
    context = generate_context(
        context_file=str(TEMPLATE / "cookiecutter.json"), extra_context=dict(items)
    )
    return tuple(prompt_for_config(context, no_input=True).items())


def policy(project: Path) -> dict:
    return json.loads((project / "iam" / "deploy-policy.json").read_text())


def bootstrap_policy(project: Path) -> dict:
    bootstrap = load_cfn_yaml(project / "infra" / "bootstrap.yml")
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


# --- the SAM template: semantics ------------------------------------------------------------


def check_sam_template(project: Path, a: dict) -> None:
    """What every render's template.yml must say, given its answers `a`."""
    template = load_cfn_yaml(project / "template.yml")
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    function_globals = template["Globals"]["Function"]
    function = template["Resources"]["ApiFunction"]
    assert function["Type"] == "AWS::Serverless::Function"
    props = {**function_globals, **function["Properties"]}

    assert props["Runtime"] == f"python{a['python_version']}"
    assert props["Architectures"] == [a["architecture"]]
    assert props["MemorySize"] == int(a["memory_size"])
    assert props["Timeout"] == int(a["timeout"])
    assert 1 <= props["Timeout"] <= API_LIMIT[a["api_type"]]
    assert props["Handler"] == f"{a['package_name']}.main.handler"
    # The app and its runtime dependencies only: never the project root (tests, tools, .venv).
    assert props["CodeUri"] == "src/"
    assert (project / "src" / "requirements.txt").is_file()
    assert props["FunctionName"] == a["function_name"]
    assert props["Role"] == {
        "Fn::Sub": f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{a['lambda_role_name']}"
    }
    assert "Policies" not in props  # no role made here: no CAPABILITY_IAM
    assert props["Tracing"] == "Active"
    assert props["LoggingConfig"] == {
        "LogFormat": "JSON",
        "LogGroup": {"Ref": "ApiFunctionLogGroup"},
    }
    log_group = template["Resources"]["ApiFunctionLogGroup"]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["LogGroupName"] == f"/aws/lambda/{a['function_name']}"
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert props["Environment"]["Variables"]["LOG_LEVEL"] == {"Ref": "LogLevel"}
    for name in ("LogLevel", "LogRetentionInDays"):
        assert "Default" in template["Parameters"][name]

    # SnapStart only when asked, and then on published versions behind an alias.
    if a["snapstart"]:
        assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"}
        assert props["AutoPublishAlias"]
    else:
        assert "SnapStart" not in props
        assert "AutoPublishAlias" not in props

    events = props["Events"]
    outputs = template["Outputs"]
    assert set(outputs) >= {"ApiUrl", "FunctionName", "FunctionArn"}
    assert outputs["FunctionName"]["Value"] == {"Ref": "ApiFunction"}
    assert outputs["FunctionArn"]["Value"] == {"Fn::GetAtt": ["ApiFunction", "Arn"]}
    url = outputs["ApiUrl"]["Value"]["Fn::Sub"]
    if a["api_type"] == "http":
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
        assert api["Properties"]["StageName"] == a["stage_name"]
        assert template["Globals"]["Api"]["OpenApiVersion"]
        assert api["Properties"]["BinaryMediaTypes"] == ["*~1*"]
        routes = {(e["Properties"]["Path"], e["Properties"]["Method"]) for e in events.values()}
        assert routes == {("/", "ANY"), ("/{proxy+}", "ANY")}
        assert all(e["Type"] == "Api" for e in events.values())
        assert all(e["Properties"]["RestApiId"] == {"Ref": "RestApi"} for e in events.values())
        assert url == (
            "https://${RestApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/"
            f"{a['stage_name']}/"
        )

    # What the SAM transform makes of it: the stages, and what the API invokes.
    resources = sam_transform(template, a["aws_region"])["Resources"]
    by_type: dict[str, list[dict]] = {}
    for resource in resources.values():
        by_type.setdefault(resource["Type"], []).append(resource)
    stage_type = "AWS::ApiGatewayV2::Stage" if a["api_type"] == "http" else "AWS::ApiGateway::Stage"
    stages = [stage["Properties"]["StageName"] for stage in by_type[stage_type]]
    assert stages == ["$default" if a["api_type"] == "http" else a["stage_name"]]  # no "Stage"
    # API Gateway's access log: JSON, to a log group of its own that expires.
    (stage,) = by_type[stage_type]
    setting = stage["Properties"][
        "AccessLogSettings" if a["api_type"] == "http" else "AccessLogSetting"
    ]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    access_format = json.loads(setting["Format"])
    assert access_format["requestId"] == "$context.requestId"
    assert {"status", "responseLatency", "httpMethod", "path", "sourceIp"} <= set(access_format)
    access_group = template["Resources"]["ApiAccessLogGroup"]["Properties"]
    assert access_group["LogGroupName"] == f"/aws/vendedlogs/apigateway/{a['stack_name']}-access"
    assert access_group["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    variables = props["Environment"]["Variables"]
    assert variables["SERVICE_NAME"] == variables["METRICS_NAMESPACE"] == a["project_slug"]
    assert not set(by_type) & {"AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}
    invoked = {
        json.dumps(p["Properties"]["FunctionName"]) for p in by_type["AWS::Lambda::Permission"]
    }
    if a["snapstart"]:
        (alias,) = [name for name, r in resources.items() if r["Type"] == "AWS::Lambda::Alias"]
        assert invoked == {json.dumps({"Ref": alias})}
        assert len(by_type["AWS::Lambda::Version"]) == 1
    else:
        assert "AWS::Lambda::Alias" not in by_type
        assert invoked == {json.dumps({"Ref": "ApiFunction"})}


# --- the deployment policy ---------------------------------------------------------------------


def check_policy(project: Path, a: dict) -> None:
    """The deploy policy: clean under parliament, scoped to this render's names, and the
    same document in iam/deploy-policy.json and in the bootstrap stack."""
    text = (project / "iam" / "deploy-policy.json").read_text()
    assert parliament_findings(text) == []
    document = json.loads(text)
    statements = document["Statement"]
    region, account = a["aws_region"], "*"

    def allowed(resource_arn: str) -> set[str]:
        return {
            action
            for s in statements
            if resource_arn in as_list(s["Resource"])
            for action in as_list(s["Action"])
        }

    for statement in statements:
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
            if a["api_type"] == "http":
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
                assert parts[3] == region, arn  # this region only

    stack = f"arn:aws:cloudformation:{region}:{account}:stack/{a['stack_name']}/*"
    assert {
        "cloudformation:CreateChangeSet",
        "cloudformation:DescribeChangeSet",
        "cloudformation:ExecuteChangeSet",
        "cloudformation:DescribeStacks",
        "cloudformation:DescribeStackEvents",
        "cloudformation:GetTemplateSummary",
    } <= allowed(stack)
    transform = f"arn:aws:cloudformation:{region}:aws:transform/Serverless-2016-10-31"
    assert allowed(transform) == {"cloudformation:CreateChangeSet"}

    bucket = f"arn:aws:s3:::{a['deployment_bucket']}"
    assert allowed(bucket) == {"s3:ListBucket"}
    assert allowed(f"{bucket}/{a['stack_name']}/*") == {
        "s3:DeleteObject",
        "s3:GetObject",
        "s3:PutObject",
    }

    function = f"arn:aws:lambda:{region}:{account}:function:{a['function_name']}"
    assert {
        "lambda:CreateFunction",
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
        "lambda:TagResource",
    } <= allowed(function)
    # Invoke permissions: only for API Gateway, and on what the API invokes (the alias with
    # SnapStart, else the function).
    (invoke,) = [s for s in statements if "lambda:AddPermission" in as_list(s["Action"])]
    assert invoke["Condition"] == {"StringEquals": {"lambda:Principal": "apigateway.amazonaws.com"}}
    assert set(invoke["Action"]) == {"lambda:AddPermission", "lambda:RemovePermission"}
    assert invoke["Resource"] == (f"{function}:*" if a["snapstart"] else function)
    if a["snapstart"]:
        assert {"lambda:PublishVersion", "lambda:CreateAlias", "lambda:UpdateAlias"} <= allowed(
            function
        )
        assert allowed(f"{function}:*") - allowed(function) == {
            "lambda:AddPermission",
            "lambda:RemovePermission",
        }
    else:
        assert not {a for a in allowed(function) if "Alias" in a or "Version" in a}
        assert allowed(f"{function}:*") == set()

    (pass_role,) = [s for s in statements if "iam:PassRole" in as_list(s["Action"])]
    assert pass_role["Action"] == "iam:PassRole"
    assert pass_role["Resource"] == f"arn:aws:iam::{account}:role/{a['lambda_role_name']}"
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}
    }

    apis, other = ("/apis", "/restapis") if a["api_type"] == "http" else ("/restapis", "/apis")
    for resource in (apis, apis + "/*"):
        assert "apigateway:POST" in allowed(f"arn:aws:apigateway:{region}::{resource}")
    assert not allowed(f"arn:aws:apigateway:{region}::{other}/*")

    log_group = f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{a['function_name']}"
    access_logs = f"log-group:/aws/vendedlogs/apigateway/{a['stack_name']}-access"
    access_log_group = f"arn:aws:logs:{region}:{account}:{access_logs}"
    assert {"logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:DeleteLogGroup"} <= allowed(
        access_log_group
    )
    assert {"logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:DeleteLogGroup"} <= allowed(
        log_group
    )

    # One source, two forms: the bootstrap's copy is this document with the account pinned.
    pinned = resolve_subs(
        bootstrap_policy(project), **{"AWS::Partition": "aws", "AWS::AccountId": "*"}
    )
    assert pinned == document
    resolved = resolve_subs(
        bootstrap_policy(project), **{"AWS::Partition": "aws", "AWS::AccountId": "111122223333"}
    )
    assert parliament_findings(json.dumps(resolved)) == []
    assert f"arn:aws:iam::111122223333:role/{a['lambda_role_name']}" in json.dumps(resolved)


# --- the bootstrap stack -----------------------------------------------------------------------


def check_bootstrap(project: Path, a: dict) -> None:
    bootstrap = load_cfn_yaml(project / "infra" / "bootstrap.yml")
    resources = bootstrap["Resources"]
    deploy_name = f"{a['stack_name']}-deploy"

    bucket = resources["DeploymentBucket"]["Properties"]
    assert bucket["BucketName"] == a["deployment_bucket"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == {"Ref": "ArtifactExpirationInDays"}
    assert bootstrap["Parameters"]["ArtifactExpirationInDays"]["Default"] == 90
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0
    (tls,) = resources["DeploymentBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert tls["Effect"] == "Deny"
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}

    role = resources["LambdaExecutionRole"]["Properties"]
    assert role["RoleName"] == a["lambda_role_name"]
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
    assert (
        f"log-group:/aws/lambda/{a['function_name']}:*" in granted["logs:PutLogEvents"]["Fn::Sub"]
    )

    assert resources["DeployPolicy"]["Properties"]["ManagedPolicyName"] == deploy_name

    # REST API access logs go through API Gateway's account-level CloudWatch role.
    if a["api_type"] == "rest":
        account = resources["ApiGatewayAccount"]
        assert account["Type"] == "AWS::ApiGateway::Account"
        assert account["Properties"]["CloudWatchRoleArn"] == {
            "Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]
        }
        logging_role = resources["ApiGatewayCloudWatchRole"]["Properties"]
        (trust,) = logging_role["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
        assert logging_role["ManagedPolicyArns"] == [
            {
                "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs"
            }
        ]
        assert account["Condition"] == "SetApiGatewayLoggingRole"
        assert bootstrap["Parameters"]["ApiGatewayLoggingRole"]["Default"] == "set"
    else:
        assert not {"ApiGatewayAccount", "ApiGatewayCloudWatchRole"} & set(resources)
    outputs = bootstrap["Outputs"]
    assert outputs["DeploymentBucketName"]["Value"] == {"Ref": "DeploymentBucket"}
    assert outputs["LambdaExecutionRoleArn"]["Value"] == {
        "Fn::GetAtt": ["LambdaExecutionRole", "Arn"]
    }
    identities = {"DeployRole", "DeployUser", "OidcProvider"} & set(resources)
    ci = a["ci_provider"]
    if ci in ("github-actions", "gitlab"):
        host, subject = {
            "github-actions": (
                "token.actions.githubusercontent.com",
                f"repo:{a['repository']}:ref:refs/heads/main",
            ),
            "gitlab": ("gitlab.com", f"project_path:{a['repository']}:ref_type:branch:ref:main"),
        }[ci]
        assert identities == {"DeployRole", "OidcProvider"}
        provider = resources["OidcProvider"]
        assert provider["Condition"] == "CreateOidcProvider"  # an existing one can be passed in
        assert provider["Properties"]["Url"] == f"https://{host}"
        assert bootstrap["Parameters"]["OidcProviderArn"]["Default"] == ""
        assert bootstrap["Parameters"]["OidcAudience"]["Default"] == "sts.amazonaws.com"
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
    assert outputs["DeployPolicyArn"]["Value"] == {"Ref": "DeployPolicy"}
    # Access keys are made afterwards, never by the stack or in its outputs.
    assert not [r for r in resources.values() if r["Type"] == "AWS::IAM::AccessKey"]


def check_samconfig(project: Path, a: dict) -> None:
    text = (project / "samconfig.toml").read_text()
    assert re.search(r"^version = 0\.1$", text, re.MULTILINE)  # a float, not "0.1"
    config = tomllib.loads(text)
    assert config["version"] == 0.1
    default = config["default"]
    settings = {**default["global"]["parameters"], **default["deploy"]["parameters"]}
    assert settings["stack_name"] == a["stack_name"]
    assert settings["region"] == a["aws_region"]
    assert settings["s3_bucket"] == a["deployment_bucket"]
    assert settings["s3_prefix"] == a["stack_name"]
    assert "CAPABILITY_IAM" not in settings["capabilities"]
    assert settings["confirm_changeset"] is False
    assert settings["fail_on_empty_changeset"] is False
    assert settings["on_failure"] == "DELETE"  # a failed first deploy leaves no stack behind
    assert "resolve_s3" not in settings
    assert default["validate"]["parameters"]["lint"] is True


def check_readme(project: Path, a: dict) -> None:
    readme = (project / "README.md").read_text()
    deployment = readme[readme.index("## Deployment") :]
    if "\n## " in deployment[3:]:
        deployment = deployment[: deployment.index("\n## ", 3)]  # this section only
    assert "See the sections below (filled in by" not in deployment
    assert f"--stack-name {a['stack_name']}-bootstrap" in deployment
    assert f"--region {a['aws_region']}" in deployment
    assert "--capabilities CAPABILITY_NAMED_IAM" in deployment
    assert "sam validate && sam build && sam deploy" in deployment
    assert "INVALID_ARN" in deployment  # the parliament false positive, explained
    expected = {
        "github-actions": ["DeployRoleArn", "AWS_DEPLOY_ROLE_ARN", "OidcProviderArn"],
        "gitlab": ["DeployRoleArn", "AWS_DEPLOY_ROLE_ARN", "OidcProviderArn"],
        "travis": ["DeployUserName", "aws iam create-access-key", "AWS_SECRET_ACCESS_KEY"],
        "none": ["DeployPolicyArn", "aws iam attach-role-policy"],
    }[a["ci_provider"]]
    for text in expected:
        assert text in deployment, text
    for other, texts in {
        "github-actions": ["GitHub"],
        "gitlab": ["GitLab"],
        "travis": ["Travis"],
    }.items():
        if other != a["ci_provider"]:
            assert not any(text in deployment for text in texts), other


def check_everything(project: Path, a: dict) -> None:
    check_sam_template(project, a)
    check_policy(project, a)
    check_bootstrap(project, a)
    check_samconfig(project, a)
    check_readme(project, a)


# --- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "value"), SINGLE_OPTIONS, ids=lambda v: str(v))
def test_every_option_lints_clean(render, key, value):
    """cfn-lint, informational findings included, no suppressions: both templates, for every
    value of every choice; then the semantics."""
    project = render(**{key: value})
    a = answers(**{key: value})
    region = a["aws_region"]
    findings = cfn_lint(project / "template.yml", region)
    findings += cfn_lint(project / "infra" / "bootstrap.yml", region)
    assert findings == []
    check_everything(project, a)


@pytest.mark.parametrize(
    ("api_type", "snapstart", "ci_provider"),
    [
        ("http", False, "github-actions"),
        ("http", True, "gitlab"),
        ("rest", False, "travis"),
        ("rest", True, "none"),
    ],
)
def test_custom_answers_reach_every_file(render, api_type, snapstart, ci_provider):
    """Names unlike the defaults land in every ARN, setting and trust policy."""
    extra = {**CUSTOM, "api_type": api_type, "snapstart": snapstart, "ci_provider": ci_provider}
    project = render(**extra)
    a = answers(**extra)
    assert project.name == "orders-api"
    findings = cfn_lint(project / "template.yml", a["aws_region"])
    findings += cfn_lint(project / "infra" / "bootstrap.yml", a["aws_region"])
    assert findings == []
    check_everything(project, a)
    text = (project / "iam" / "deploy-policy.json").read_text()
    for name in ("acme-orders-artifacts", "acme-orders", "acme-orders-fn", "acme-orders-exec"):
        assert name in text
    assert "fastapi-lambda-service" not in text
    assert "eu-west-1" not in text


def test_a_check_can_fail(render):
    """The checks above notice a policy that grants too much or names the wrong function."""
    project = render(**CUSTOM)
    a = answers(**CUSTOM)
    with pytest.raises(AssertionError):
        check_policy(project, {**a, "function_name": "someone-else"})
    broad = policy(project)
    broad["Statement"].append({"Effect": "Allow", "Action": "lambda:*", "Resource": "*"})
    assert parliament_findings(json.dumps(broad)) != []
    with pytest.raises(AssertionError):
        check_sam_template(project, {**a, "python_version": "3.13"})


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
    """cruft renders with cookiecutter.generate.generate_files, not cookiecutter(): the
    bootstrap's `{% include %}` of the policy must resolve there too."""
    from cookiecutter.generate import generate_files

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
