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


def bootstrap_policy(project: Path, logical_suffix: str = "") -> dict:
    bootstrap = load_cfn_yaml(project / "infra" / "bootstrap.yml")
    policy_ = bootstrap["Resources"][f"DeployPolicy{logical_suffix}"]
    return policy_["Properties"]["PolicyDocument"]


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


def environments(a: dict) -> list[tuple[str, str, str]]:
    """(name suffix, environment, logical id suffix) of each environment a render deploys."""
    if a["environments"] == "staging-production":
        return [("-staging", "staging", "Staging"), ("-production", "production", "Production")]
    return [("", "", "")]


def named(a: dict, base: str, tail: str = ""):
    """How template.yml names a per-environment resource: `base` + `tail`, or
    `!Sub base-${Environment}tail` (`<function>-staging-pre-traffic`, as the bootstrap's
    roles and the deploy policy name it)."""
    if a["environments"] == "staging-production":
        return {"Fn::Sub": base + "-${Environment}" + tail}
    return base + tail


def policy_files(a: dict) -> dict[str, str]:
    """The rendered deploy policy of each environment suffix."""
    if a["environments"] == "staging-production":
        return {suffix: f"iam/deploy-policy{suffix}.json" for suffix, _, _ in environments(a)}
    return {"": "iam/deploy-policy.json"}


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
    assert props["FunctionName"] == named(a, a["function_name"])
    env = "-${Environment}" if a["environments"] == "staging-production" else ""
    assert props["Role"] == {
        "Fn::Sub": (
            f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{a['lambda_role_name']}{env}"
        )
    }
    assert "Policies" not in props  # no role made here: no CAPABILITY_IAM
    assert props["Tracing"] == "Active"
    assert props["LoggingConfig"] == {
        "LogFormat": "JSON",
        "LogGroup": {"Ref": "ApiFunctionLogGroup"},
    }
    log_group = template["Resources"]["ApiFunctionLogGroup"]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["LogGroupName"] == named(a, f"/aws/lambda/{a['function_name']}")
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert props["Environment"]["Variables"]["LOG_LEVEL"] == {"Ref": "LogLevel"}
    for name in ("LogLevel", "LogRetentionInDays"):
        assert "Default" in template["Parameters"][name]

    # SnapStart only when asked, and then on published versions behind an alias; canary
    # deployments shift that alias too.
    alias = a["snapstart"] or a["deployment_strategy"] == "canary"
    if a["snapstart"]:
        assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    else:
        assert "SnapStart" not in props
    if alias:
        assert props["AutoPublishAlias"] == "live"
    else:
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
    assert not set(by_type) & {"AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}
    invoked = {
        json.dumps(p["Properties"]["FunctionName"]) for p in by_type["AWS::Lambda::Permission"]
    }
    if alias:
        (alias_id,) = [name for name, r in resources.items() if r["Type"] == "AWS::Lambda::Alias"]
        assert invoked == {json.dumps({"Ref": alias_id})}
        assert len(by_type["AWS::Lambda::Version"]) == 1
    else:
        assert "AWS::Lambda::Alias" not in by_type
        assert invoked == {json.dumps({"Ref": "ApiFunction"})}
    check_release(template, resources, a)


ALARMS = {
    "ErrorsAlarm": ("AWS/Lambda", "Errors", "ErrorsAlarmThreshold"),
    "ThrottlesAlarm": ("AWS/Lambda", "Throttles", "ThrottlesAlarmThreshold"),
    "Api5xxAlarm": ("AWS/ApiGateway", None, "Api5xxRateAlarmThreshold"),
    "LatencyP99Alarm": ("AWS/ApiGateway", "Latency", "LatencyP99AlarmThresholdMs"),
}


def check_release(template: dict, resources: dict, a: dict) -> None:
    """Alarms (thresholds as parameters) notify an encrypted topic; with canary, they are the
    rollback triggers of a CodeDeploy deployment run by the bootstrap's role, after the
    pre-traffic hook; production goes 10 % for 5 minutes, staging at once."""
    multi = a["environments"] == "staging-production"
    canary = a["deployment_strategy"] == "canary"
    sam = template["Resources"]
    env = "-${Environment}" if multi else ""
    role_arn = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"

    for name, (namespace, metric, threshold) in ALARMS.items():
        props = sam[name]["Properties"]
        assert sam[name]["Type"] == "AWS::CloudWatch::Alarm"
        assert props["Namespace"] == namespace
        if metric:
            assert props["MetricName"] == metric
        assert props["Threshold"] == {"Ref": threshold}
        assert "Default" in template["Parameters"][threshold]
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert props["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-")
        assert props["Period"] == 60
        assert props["TreatMissingData"] == "notBreaching"
        dimensions = {d["Name"]: d["Value"] for d in props["Dimensions"]}
        if namespace == "AWS/Lambda":
            assert dimensions == {"FunctionName": {"Ref": "ApiFunction"}}
        elif a["api_type"] == "http":
            assert dimensions == {"ApiId": {"Ref": "HttpApi"}}
        else:
            stack = {"Ref": "AWS::StackName"}
            assert dimensions == {"ApiName": stack, "Stage": a["stage_name"]}
            assert sam["RestApi"]["Properties"]["Name"] == stack
    five_xx = sam["Api5xxAlarm"]["Properties"]
    assert five_xx["MetricName"] == ("5xx" if a["api_type"] == "http" else "5XXError")
    assert five_xx["Statistic"] == "Average"  # the share of requests, not a count
    assert sam["LatencyP99Alarm"]["Properties"]["ExtendedStatistic"] == "p99"

    topic = sam["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == f"alias/{a['stack_name']}-alarms"
    subscriptions = [r for r in sam.values() if r["Type"] == "AWS::SNS::Subscription"]
    if a["alarm_email"]:
        (subscription,) = subscriptions
        assert subscription["Properties"]["Protocol"] == "email"
        assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
        assert template["Parameters"]["AlarmEmail"]["Default"] == a["alarm_email"]
    else:
        assert subscriptions == []
        assert "AlarmEmail" not in template["Parameters"]
    assert sam["Dashboard"]["Properties"]["DashboardName"] == {"Ref": "AWS::StackName"}
    body = sam["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    for name in ALARMS:
        assert "${" + name + ".Arn}" in body[0]

    function = sam["ApiFunction"]["Properties"]
    groups = [r for r in resources.values() if r["Type"] == "AWS::CodeDeploy::DeploymentGroup"]
    if not canary:
        assert "DeploymentPreference" not in function
        assert "PreTrafficHook" not in sam
        assert groups == []
        return
    preference = function["DeploymentPreference"]
    assert preference["Role"] == {"Fn::Sub": f"{role_arn}{a['stack_name']}{env}-codedeploy"}
    assert preference["Alarms"] == [{"Ref": name} for name in ALARMS]
    assert preference["Hooks"] == {"PreTraffic": {"Ref": "PreTrafficHook"}}
    if multi:
        assert preference["Type"] == {
            "Fn::If": ["IsProduction", "Canary10Percent5Minutes", "AllAtOnce"]
        }
    else:
        assert preference["Type"] == "Canary10Percent5Minutes"
    hook = sam["PreTrafficHook"]["Properties"]
    assert hook["FunctionName"] == named(a, a["function_name"], "-pre-traffic")
    log_group = sam["PreTrafficHookLogGroup"]["Properties"]["LogGroupName"]
    assert log_group == named(a, f"/aws/lambda/{a['function_name']}", "-pre-traffic")
    assert hook["Role"] == {"Fn::Sub": f"{role_arn}{a['stack_name']}{env}-pre-traffic"}
    assert hook["CodeUri"] == "src/deploy_hooks/"
    assert hook["Handler"] == "pre_traffic.handler"
    assert hook["Environment"]["Variables"] == {
        "TARGET_VERSION_ARN": {"Ref": "ApiFunction.Version"}
    }
    assert "DeploymentPreference" not in hook
    assert "AutoPublishAlias" not in hook

    # What the transform makes of it: the alarms wired to the deployment group, automatic
    # rollback, the hook before traffic, and no IAM role of SAM's own.
    (group,) = groups
    alarms = group["Properties"]["AlarmConfiguration"]
    assert alarms["Enabled"] is True
    assert alarms["Alarms"] == [{"Name": {"Ref": name}} for name in ALARMS]
    rollback = group["Properties"]["AutoRollbackConfiguration"]
    assert rollback["Enabled"] is True
    assert "DEPLOYMENT_STOP_ON_ALARM" in rollback["Events"]
    assert group["Properties"]["ServiceRoleArn"] == preference["Role"]
    (alias_resource,) = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Alias"]
    update = alias_resource["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
    assert update["BeforeAllowTrafficHook"] == {"Ref": "PreTrafficHook"}
    assert "CodeDeployServiceRole" not in resources


# --- the deployment policy ---------------------------------------------------------------------


# Actions that have no resource-level permissions at all, so only "*" grants them.
STAR_ONLY = {
    # Reads of log groups.
    frozenset(
        {"logs:DescribeLogGroups", "logs:DescribeIndexPolicies", "logs:DescribeResourcePolicies"}
    ),
    frozenset({"codedeploy:StopDeployment"}),
    frozenset(
        {"sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes", "sns:Unsubscribe"}
    ),
}


def check_policy(project: Path, a: dict) -> None:
    """Each environment's deploy policy: clean under parliament, scoped to this render's
    names for that environment, and the same document in iam/ and in the bootstrap stack."""
    files = policy_files(a)
    present = {p.relative_to(project).as_posix() for p in (project / "iam").glob("*.json")}
    assert present == set(files.values())
    for suffix, _, logical in environments(a):
        check_environment_policy(project, a, files[suffix], suffix, logical)


def check_environment_policy(project: Path, a: dict, rel: str, sfx: str, logical: str) -> None:
    text = (project / rel).read_text()
    assert parliament_findings(text) == []
    document = json.loads(text)
    statements = document["Statement"]
    region, account = a["aws_region"], "*"
    stack_name, fn = a["stack_name"] + sfx, a["function_name"] + sfx
    canary = a["deployment_strategy"] == "canary"
    alias = a["snapstart"] or canary

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
            assert frozenset(as_list(statement["Action"])) in STAR_ONLY, statement
        for arn in as_list(statement["Resource"]):
            parts = arn.split(":")
            if arn != "*" and parts[2] not in ("s3", "iam") and "dashboard/" not in arn:
                assert parts[3] == region, arn  # this region only
            # Another environment's names never appear.
            if sfx:
                other = "-production" if sfx == "-staging" else "-staging"
                assert other not in arn, arn

    stack = f"arn:aws:cloudformation:{region}:{account}:stack/{stack_name}/*"
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
    assert allowed(f"{bucket}/{stack_name}/*") == {
        "s3:DeleteObject",
        "s3:GetObject",
        "s3:PutObject",
    }

    function = f"arn:aws:lambda:{region}:{account}:function:{fn}"
    assert {
        "lambda:CreateFunction",
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
        "lambda:TagResource",
    } <= allowed(function)
    # Invoke permissions: only for API Gateway, and on what the API invokes (the alias when
    # there is one, else the function).
    (invoke,) = [s for s in statements if "lambda:AddPermission" in as_list(s["Action"])]
    assert invoke["Condition"] == {"StringEquals": {"lambda:Principal": "apigateway.amazonaws.com"}}
    assert set(invoke["Action"]) == {"lambda:AddPermission", "lambda:RemovePermission"}
    assert invoke["Resource"] == (f"{function}:*" if alias else function)
    if alias:
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

    passed = {
        s["Condition"]["StringEquals"]["iam:PassedToService"]: as_list(s["Resource"])
        for s in statements
        if "iam:PassRole" in as_list(s["Action"])
    }
    assert all(
        s["Action"] == "iam:PassRole" for s in statements if "iam:PassRole" in as_list(s["Action"])
    )
    role = f"arn:aws:iam::{account}:role/"
    lambda_roles = [f"{role}{a['lambda_role_name']}{sfx}"]
    log_group = f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{fn}"
    for group in [log_group, f"{log_group}-pre-traffic"] if canary else [log_group]:
        assert {
            "logs:CreateLogGroup",
            "logs:PutRetentionPolicy",
            "logs:DeleteLogGroup",
        } <= allowed(group)
    if canary:
        lambda_roles.append(f"{role}{stack_name}-pre-traffic")
        assert passed == {
            "lambda.amazonaws.com": lambda_roles,
            "codedeploy.amazonaws.com": [f"{role}{stack_name}-codedeploy"],
        }
        hook = f"{function}-pre-traffic"
        assert {"lambda:CreateFunction", "lambda:UpdateFunctionConfiguration"} <= allowed(hook)
        codedeploy = f"arn:aws:codedeploy:{region}:{account}:"
        application = f"{codedeploy}application:{stack_name}-ServerlessDeploymentApplication-*"
        assert {"codedeploy:CreateApplication", "codedeploy:DeleteApplication"} <= allowed(
            application
        )
        group = f"{codedeploy}deploymentgroup:{stack_name}-ServerlessDeploymentApplication-*/*"
        assert {
            "codedeploy:CreateDeploymentGroup",
            "codedeploy:CreateDeployment",
            "codedeploy:GetDeployment",
        } <= allowed(group)
        configs = {
            arn
            for statement in statements
            if "codedeploy:GetDeploymentConfig" in as_list(statement["Action"])
            for arn in as_list(statement["Resource"])
        }
        expected = {"CodeDeployDefault.LambdaCanary10Percent5Minutes"}
        if sfx:
            expected.add("CodeDeployDefault.LambdaAllAtOnce")
        assert configs == {f"{codedeploy}deploymentconfig:{c}" for c in expected}
    else:
        assert passed == {"lambda.amazonaws.com": lambda_roles}
        assert "codedeploy" not in text

    alarms = f"arn:aws:cloudwatch:{region}:{account}:alarm:{stack_name}-*"
    assert {"cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"} <= allowed(alarms)
    dashboard = f"arn:aws:cloudwatch::{account}:dashboard/{stack_name}"
    assert {"cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"} <= allowed(dashboard)
    topic = f"arn:aws:sns:{region}:{account}:{stack_name}-alarms"
    assert {"sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes"} <= allowed(topic)
    subscribe = [s for s in statements if "sns:Subscribe" in as_list(s["Action"])]
    if a["alarm_email"]:
        (statement,) = subscribe
        assert statement["Resource"] == topic
        assert statement["Condition"] == {
            "StringEquals": {"sns:Protocol": "email", "sns:Endpoint": a["alarm_email"]}
        }
    else:
        assert subscribe == []
        assert "sns:Unsubscribe" not in text

    # One source, two forms: the bootstrap's copy is this document with the account pinned.
    pinned = resolve_subs(
        bootstrap_policy(project, logical), **{"AWS::Partition": "aws", "AWS::AccountId": "*"}
    )
    assert pinned == document
    resolved = resolve_subs(
        bootstrap_policy(project, logical),
        **{"AWS::Partition": "aws", "AWS::AccountId": "111122223333"},
    )
    assert parliament_findings(json.dumps(resolved)) == []
    assert f"arn:aws:iam::111122223333:role/{a['lambda_role_name']}{sfx}" in json.dumps(resolved)


# --- the bootstrap stack -----------------------------------------------------------------------


def check_bootstrap(project: Path, a: dict) -> None:
    bootstrap = load_cfn_yaml(project / "infra" / "bootstrap.yml")
    resources = bootstrap["Resources"]
    outputs = bootstrap["Outputs"]

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
    assert outputs["DeploymentBucketName"]["Value"] == {"Ref": "DeploymentBucket"}

    # The alarm topics' key: CloudWatch of this account may use it to publish.
    key = resources["AlarmTopicKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    (cloudwatch,) = [st for st in key["KeyPolicy"]["Statement"] if st["Principal"].get("Service")]
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert cloudwatch["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }
    alias = resources["AlarmTopicKeyAlias"]["Properties"]
    assert alias["AliasName"] == f"alias/{a['stack_name']}-alarms"

    ci = a["ci_provider"]
    kinds = {"DeployRole", "DeployUser", "LambdaExecutionRole", "DeployPolicy"}
    kinds |= {"CodeDeployRole", "PreTrafficHookRole"}
    expected_ids = set()
    for sfx, env, logical in environments(a):
        expected_ids |= check_bootstrap_environment(bootstrap, a, sfx, env, logical)
    per_environment = {name for name in resources if any(name.startswith(kind) for kind in kinds)}
    assert per_environment == expected_ids
    if ci in ("github-actions", "gitlab"):
        provider = resources["OidcProvider"]
        assert provider["Condition"] == "CreateOidcProvider"  # an existing one can be passed in
        host = "token.actions.githubusercontent.com" if ci == "github-actions" else "gitlab.com"
        assert provider["Properties"]["Url"] == f"https://{host}"
        assert bootstrap["Parameters"]["OidcProviderArn"]["Default"] == ""
        assert bootstrap["Parameters"]["OidcAudience"]["Default"] == "sts.amazonaws.com"
    else:
        assert "OidcProvider" not in resources
    # Access keys are made afterwards, never by the stack or in its outputs.
    assert not [r for r in resources.values() if r["Type"] == "AWS::IAM::AccessKey"]


def check_bootstrap_environment(bootstrap: dict, a: dict, sfx: str, env: str, logical: str):
    """One environment's roles, policy and deploy identity; returns their logical ids."""
    resources, outputs = bootstrap["Resources"], bootstrap["Outputs"]
    stack, fn = a["stack_name"] + sfx, a["function_name"] + sfx
    deploy_name = f"{stack}-deploy"
    ids = {f"LambdaExecutionRole{logical}", f"DeployPolicy{logical}"}

    role = resources[f"LambdaExecutionRole{logical}"]["Properties"]
    assert role["RoleName"] == a["lambda_role_name"] + sfx
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
    assert granted["logs:PutLogEvents"]["Fn::Sub"].endswith(f"log-group:/aws/lambda/{fn}:*")
    assert outputs[f"LambdaExecutionRoleArn{logical}"]["Value"] == {
        "Fn::GetAtt": [f"LambdaExecutionRole{logical}", "Arn"]
    }
    assert resources[f"DeployPolicy{logical}"]["Properties"]["ManagedPolicyName"] == deploy_name
    assert outputs[f"DeployPolicyArn{logical}"]["Value"] == {"Ref": f"DeployPolicy{logical}"}

    if a["deployment_strategy"] == "canary":
        ids |= {f"CodeDeployRole{logical}", f"PreTrafficHookRole{logical}"}
        codedeploy = resources[f"CodeDeployRole{logical}"]["Properties"]
        assert codedeploy["RoleName"] == f"{stack}-codedeploy"
        (trust,) = codedeploy["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "codedeploy.amazonaws.com"}
        grants = {
            action: statement["Resource"]["Fn::Sub"]
            for policy_ in codedeploy["Policies"]
            for statement in policy_["PolicyDocument"]["Statement"]
            for action in as_list(statement["Action"])
        }
        assert grants["lambda:UpdateAlias"].endswith(f":function:{fn}:*")
        assert grants["lambda:InvokeFunction"].endswith(f":function:{fn}-pre-traffic")
        assert grants["cloudwatch:DescribeAlarms"].endswith(f":alarm:{stack}-*")
        hook = resources[f"PreTrafficHookRole{logical}"]["Properties"]
        assert hook["RoleName"] == f"{stack}-pre-traffic"
        grants = {
            action: statement["Resource"]
            for policy_ in hook["Policies"]
            for statement in policy_["PolicyDocument"]["Statement"]
            for action in as_list(statement["Action"])
        }
        assert grants["lambda:InvokeFunction"]["Fn::Sub"].endswith(f":function:{fn}:*")
        assert grants["codedeploy:PutLifecycleEventHookExecutionStatus"]["Fn::Sub"].endswith(
            f":deploymentgroup:{stack}-ServerlessDeploymentApplication-*/*"
        )

    ci = a["ci_provider"]
    if ci in ("github-actions", "gitlab"):
        ids.add(f"DeployRole{logical}")
        if ci == "github-actions":
            host = "token.actions.githubusercontent.com"
            where = f"environment:{env}" if env else "ref:refs/heads/main"
            subject = f"repo:{a['repository']}:{where}"
        else:
            # GitLab's subject names project and branch only (docs/operations.md).
            host = "gitlab.com"
            subject = f"project_path:{a['repository']}:ref_type:branch:ref:main"
        deploy_role = resources[f"DeployRole{logical}"]["Properties"]
        assert deploy_role["RoleName"] == deploy_name
        assert deploy_role["ManagedPolicyArns"] == [{"Ref": f"DeployPolicy{logical}"}]
        (trust,) = deploy_role["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert trust["Principal"]["Federated"] == {
            "Fn::If": ["CreateOidcProvider", {"Ref": "OidcProvider"}, {"Ref": "OidcProviderArn"}]
        }
        assert trust["Condition"] == {
            "StringEquals": {f"{host}:aud": {"Ref": "OidcAudience"}, f"{host}:sub": subject}
        }
        assert outputs[f"DeployRoleArn{logical}"]["Value"] == {
            "Fn::GetAtt": [f"DeployRole{logical}", "Arn"]
        }
        assert f"DeployUserName{logical}" not in outputs
    elif ci == "travis":
        ids.add(f"DeployUser{logical}")
        user = resources[f"DeployUser{logical}"]["Properties"]
        assert user["UserName"] == deploy_name
        assert user["ManagedPolicyArns"] == [{"Ref": f"DeployPolicy{logical}"}]
        assert outputs[f"DeployUserName{logical}"]["Value"] == {"Ref": f"DeployUser{logical}"}
        assert f"DeployRoleArn{logical}" not in outputs
    else:
        assert not {f"DeployRoleArn{logical}", f"DeployUserName{logical}"} & set(outputs)
    return ids


def check_samconfig(project: Path, a: dict) -> None:
    text = (project / "samconfig.toml").read_text()
    assert re.search(r"^version = 0\.1$", text, re.MULTILINE)  # a float, not "0.1"
    config = tomllib.loads(text)
    assert config["version"] == 0.1
    default = config["default"]
    assert default["validate"]["parameters"]["lint"] is True
    multi = a["environments"] == "staging-production"
    # With environments, a bare `sam deploy` has no stack: only --config-env deploys.
    assert ("deploy" in default) is not multi
    assert set(config) == (
        {"version", "default", "staging", "production"} if multi else {"version", "default"}
    )
    for sfx, env, _ in environments(a):
        # A config env does not inherit from [default]: every deploy setting is in its own.
        section = config[env] if env else default
        settings = {
            **(default["global"]["parameters"] if not env else {}),
            **section["deploy"]["parameters"],
        }
        assert settings["stack_name"] == a["stack_name"] + sfx
        assert settings["region"] == a["aws_region"]
        assert settings["s3_bucket"] == a["deployment_bucket"]
        assert settings["s3_prefix"] == a["stack_name"] + sfx
        assert "CAPABILITY_IAM" not in settings["capabilities"]
        assert settings["confirm_changeset"] is False
        assert settings["fail_on_empty_changeset"] is False
        assert settings["on_failure"] == "DELETE"  # a failed first deploy leaves no stack behind
        assert "resolve_s3" not in settings
        if env:
            assert settings["parameter_overrides"] == f"Environment={env}"
        else:
            assert "parameter_overrides" not in settings


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


RELEASE = [
    {"environments": env, "deployment_strategy": strategy, "alarm_email": email}
    for env in CHOICES["environments"]
    for strategy in CHOICES["deployment_strategy"]
    for email in ("", "on-call+orders@example.com")
]
EXISTING = [(api, snap) for api in CHOICES["api_type"] for snap in (False, True)]
# Every combination of the release answers with api_type and snapstart (what template.yml
# depends on); ci_provider rotates so that each release combination meets every provider
# (the bootstrap depends on it) in as many renders.
MATRIX = [
    {
        **release,
        "api_type": api,
        "snapstart": snap,
        "ci_provider": CHOICES["ci_provider"][(i + j) % len(CHOICES["ci_provider"])],
        "python_version": "3.12",  # SnapStart needs 3.12+
    }
    for i, release in enumerate(RELEASE)
    for j, (api, snap) in enumerate(EXISTING)
]


@pytest.mark.parametrize("extra", MATRIX, ids=lambda e: "-".join(str(v) for v in e.values()))
def test_release_combinations_lint_clean(render, extra, monkeypatch):
    """cfn-lint (informational findings included) on both templates and every semantic check,
    for each combination of environments, deployment_strategy and alarm_email with the
    existing answers."""
    monkeypatch.setenv("FASTAPI_LAMBDA_SKIP_CFN_LINT", "1")  # linted below, in-process
    project = render(**extra)
    a = answers(**extra)
    findings = cfn_lint(project / "template.yml", a["aws_region"])
    findings += cfn_lint(project / "infra" / "bootstrap.yml", a["aws_region"])
    assert findings == []
    check_everything(project, a)


def test_release_matrix_covers_every_combination():
    seen = {
        tuple(
            e[k]
            for k in ("environments", "deployment_strategy", "alarm_email", "api_type", "snapstart")
        )
        for e in MATRIX
    }
    assert len(seen) == len(MATRIX) == 32
    pairs = {
        (e["environments"], e["deployment_strategy"], e["alarm_email"], e["ci_provider"])
        for e in MATRIX
    }
    assert len(pairs) == len(RELEASE) * len(CHOICES["ci_provider"])


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


# An orthogonal array of strength 2: every pair of values of these five answers appears in
# some render, in 8 renders instead of 32 (`sam validate` is a process of its own, ~5 s).
# ci_provider does not reach template.yml.
VALIDATE_FACTORS = ("api_type", "snapstart", "environments", "deployment_strategy", "alarm_email")
VALIDATE_VALUES = {
    "api_type": CHOICES["api_type"],
    "snapstart": [False, True],
    "environments": CHOICES["environments"],
    "deployment_strategy": CHOICES["deployment_strategy"],
    "alarm_email": ["", "on-call@example.com"],
}
VALIDATE = [
    {
        name: VALIDATE_VALUES[name][bit]
        for name, bit in zip(VALIDATE_FACTORS, (a, b, c, a ^ b, a ^ c), strict=True)
    }
    for a in (0, 1)
    for b in (0, 1)
    for c in (0, 1)
]


def test_validate_sample_covers_every_pair():
    for i, first in enumerate(VALIDATE_FACTORS):
        for second in VALIDATE_FACTORS[i + 1 :]:
            seen = {(e[first], e[second]) for e in VALIDATE}
            assert len(seen) == len(VALIDATE_VALUES[first]) * len(VALIDATE_VALUES[second])


@pytest.mark.slow
@pytest.mark.parametrize("extra", VALIDATE, ids=lambda e: "-".join(str(v) for v in e.values()))
def test_sam_validate_lint(render, extra):
    """`sam validate --lint`, as the README and the pipelines run it: offline, no flags."""
    project = render(**extra, python_version="3.12")
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
