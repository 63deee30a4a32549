"""The rendered infrastructure as code: template.yml (SAM), samconfig.toml, the deploy
policies iam/deploy-policy*.json (one per environment) and infra/bootstrap.yml, under the
real tools (cfn-lint with informational findings, `sam validate --lint`, parliament) and
with the semantics that lint cannot see. Each check is a short function of (project,
answers) and runs as a test of its own on every render of RENDERS (every value of every
choice, answers unlike every default, and every combination of the release answers with
the API and SnapStart); each render is baked once per worker (the `render` fixture) and
shared."""

from __future__ import annotations

import functools
import json
import os
import re
import tomllib
from pathlib import Path

import pytest
from cookiecutter.generate import generate_context, generate_files
from cookiecutter.prompt import prompt_for_config

from hooks import post_gen_project as post
from local_extensions import model
from tests import stacks
from tests.helpers import (
    BIN,
    CHOICES,
    DEFAULTS,
    SINGLE_OPTIONS,
    TEMPLATE,
    cfn_lint,
    load_yaml,
    parliament_findings,
    policy_path,
    render_answers,
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
for extra in MATRIX:
    RENDERS["release-" + "-".join(str(value) for value in extra.values())] = extra
# State with two environments: the table's deletion protection needs IsProduction even with
# neither a canary nor an alarm address (which otherwise bring it); and every option at once.
STATE = {
    "state-all-at-once-staging-production": {
        "datastore": "dynamodb",
        "secrets": "secrets-manager",
        "environments": "staging-production",
        "deployment_strategy": "all-at-once",
    },
    "state-custom-rest-snapstart": {
        **CUSTOM,
        "datastore": "dynamodb",
        "secrets": "parameter-store",
        "environments": "staging-production",
        "api_type": "rest",
        "snapstart": True,
        "alarm_email": "on-call+orders@example.com",
    },
}
RENDERS.update(STATE)

API_LIMIT = {"http": 30, "rest": 29}


def environments(answers: dict) -> list[tuple[str, str, str]]:
    """(name suffix, environment, logical id suffix) of each environment a render deploys:
    the model's (tests/test_model.py spells them out)."""
    return [(env["suffix"], env["name"], env["id"]) for env in model(answers)["environments"]]


def named(answers: dict, name: str):
    """How template.yml names a per-environment resource: the model's name of it
    (`function`, `hook_log_group`, ...), as `!Sub` when it holds ${Environment}."""
    facts = model(answers)
    return {"Fn::Sub": facts["sam"][name]} if facts["multi"] else facts["sam"][name]


def policy_file(answers: dict, suffix: str = "") -> str:
    """The deploy policy file of an environment's name suffix ("" with one stack), for the
    answers: the model's."""
    (env,) = [env for env in model(answers)["environments"] if env["suffix"] == suffix]
    return env["policy_file"]


def policy(project: Path, suffix: str = "") -> dict:
    """The rendered deploy policy of an environment of the render."""
    return json.loads(policy_path(project, suffix.removeprefix("-")).read_text())


def bootstrap_policy(project: Path, logical: str = "") -> dict:
    bootstrap = load_yaml(project / "infra" / "bootstrap.yml")
    return bootstrap["Resources"][f"DeployPolicy{logical}"]["Properties"]["PolicyDocument"]


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
    assert (project / "uv.lock").is_file()  # src/Makefile ships its runtime part
    assert props["FunctionName"] == named(answers, "function")
    role = answers["lambda_role_name"]
    env = "-${Environment}" if answers["environments"] == "staging-production" else ""
    assert props["Role"] == {
        "Fn::Sub": f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{role}{env}"
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
    assert log_group["Properties"]["LogGroupName"] == named(answers, "function_log_group")
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert props["Environment"]["Variables"]["LOG_LEVEL"] == {"Ref": "LogLevel"}
    for name in ("LogLevel", "LogRetentionInDays"):
        assert "Default" in template["Parameters"][name]


def has_alias(answers: dict) -> bool:
    """SnapStart and canary deployments both publish versions behind the alias `live`."""
    return answers["snapstart"] or answers["deployment_strategy"] == "canary"


def check_snapstart(project: Path, answers: dict) -> None:
    """SnapStart only when asked, and then on published versions behind an alias, which
    canary deployments shift too."""
    props = function_properties(sam_template(project))
    if answers["snapstart"]:
        assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    else:
        assert "SnapStart" not in props
    if has_alias(answers):
        assert props["AutoPublishAlias"] == "live"
    else:
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
        assert api["Properties"]["TracingEnabled"] is True  # the HTTP API has no tracing
        (stage,) = [
            r
            for r in transformed(project, answers).values()
            if r["Type"] == "AWS::ApiGateway::Stage"
        ]
        assert stage["Properties"]["TracingEnabled"] is True
        routes = {(e["Properties"]["Path"], e["Properties"]["Method"]) for e in events.values()}
        assert routes == {("/", "ANY"), ("/{proxy+}", "ANY")}
        assert all(e["Type"] == "Api" for e in events.values())
        assert all(e["Properties"]["RestApiId"] == {"Ref": "RestApi"} for e in events.values())
        assert url == (
            "https://${RestApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/"
            f"{answers['stage_name']}/"
        )


@functools.cache
def _transformed(project: str, region: str) -> dict:
    return sam_transform(load_yaml(Path(project) / "template.yml"), region)["Resources"]


def transformed(project: Path, answers: dict) -> dict:
    """The resources the SAM transform makes of a render's template.yml (once per render)."""
    return _transformed(str(project), answers["aws_region"])


def check_sam_transform(project: Path, answers: dict) -> None:
    """What the SAM transform makes of it: the stages, and what the API invokes."""
    resources = transformed(project, answers)
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
    if has_alias(answers):
        (alias,) = [name for name, r in resources.items() if r["Type"] == "AWS::Lambda::Alias"]
        assert invoked == {json.dumps({"Ref": alias})}
        assert len(by_type["AWS::Lambda::Version"]) == 1
    else:
        assert "AWS::Lambda::Alias" not in by_type
        assert invoked == {json.dumps({"Ref": "ApiFunction"})}


# --- alarms, dashboard and canary deployments --------------------------------------------------

ALARMS = {
    "ErrorsAlarm": ("AWS/Lambda", "Errors", "ErrorsAlarmThreshold"),
    "ThrottlesAlarm": ("AWS/Lambda", "Throttles", "ThrottlesAlarmThreshold"),
    "Api5xxAlarm": ("AWS/ApiGateway", None, "Api5xxRateAlarmThreshold"),
    "LatencyP99Alarm": ("AWS/ApiGateway", "Latency", "LatencyP99AlarmThresholdMs"),
}
# A canary's rollback alarms: (namespace, metric, threshold) of the version being deployed.
ROLLBACK_ALARMS = {
    "NewVersionErrorsAlarm": ("AWS/Lambda", "Errors", "ErrorsAlarmThreshold"),
    "NewVersion5xxAlarm": (None, "Errors", "Api5xxRateAlarmThreshold"),  # the app's namespace
    "NewVersionLatencyP99Alarm": (None, "Latency", "LatencyP99AlarmThresholdMs"),
}
ROLE_ARN = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"
VERSION = {"Fn::GetAtt": ["ApiFunction", "Version.Version"]}


def check_alarms(project: Path, answers: dict) -> None:
    """Four alarms, each threshold a parameter, each notifying the topic."""
    template = sam_template(project)
    resources = template["Resources"]
    for name, (namespace, metric, threshold) in ALARMS.items():
        props = resources[name]["Properties"]
        assert resources[name]["Type"] == "AWS::CloudWatch::Alarm"
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
        elif answers["api_type"] == "http":
            assert dimensions == {"ApiId": {"Ref": "HttpApi"}}
        else:
            stack = {"Ref": "AWS::StackName"}
            assert dimensions == {"ApiName": stack, "Stage": answers["stage_name"]}
            assert resources["RestApi"]["Properties"]["Name"] == stack
    five_xx = resources["Api5xxAlarm"]["Properties"]
    assert five_xx["MetricName"] == ("5xx" if answers["api_type"] == "http" else "5XXError")
    assert five_xx["Statistic"] == "Average"  # the share of requests, not a count
    assert resources["LatencyP99Alarm"]["Properties"]["ExtendedStatistic"] == "p99"


def check_rollback_alarms(project: Path, answers: dict) -> None:
    """A canary's rollback alarms watch the version being deployed only (Lambda's metrics of
    the alias's executed version, the app's metrics of its function version), notify nobody
    (CodeDeploy acts on them), and share the paging alarms' thresholds."""
    template = sam_template(project)
    resources = template["Resources"]
    if answers["deployment_strategy"] != "canary":
        assert not set(ROLLBACK_ALARMS) & set(resources)
        return
    variables = function_properties(template)["Environment"]["Variables"]
    for name, (namespace, metric, threshold) in ROLLBACK_ALARMS.items():
        props = resources[name]["Properties"]
        assert resources[name]["Type"] == "AWS::CloudWatch::Alarm"
        assert props["Namespace"] == (namespace or variables["METRICS_NAMESPACE"])
        assert props["MetricName"] == metric
        assert props["Threshold"] == {"Ref": threshold}
        assert props["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-new-version-")
        assert "AlarmActions" not in props
        assert "OKActions" not in props
        assert (props["Period"], props["EvaluationPeriods"]) == (60, 1)
        assert props["TreatMissingData"] == "notBreaching"
        dimensions = {d["Name"]: d["Value"] for d in props["Dimensions"]}
        if namespace == "AWS/Lambda":
            assert dimensions == {
                "FunctionName": {"Ref": "ApiFunction"},
                "Resource": {"Fn::Sub": "${ApiFunction}:live"},
                "ExecutedVersion": VERSION,
            }
        else:  # the second dimension set of the app's metrics (core/observability.py)
            assert dimensions == {
                "function_name": {"Ref": "ApiFunction"},
                "function_version": VERSION,
            }
    assert resources["NewVersion5xxAlarm"]["Properties"]["Statistic"] == "Average"
    assert resources["NewVersionLatencyP99Alarm"]["Properties"]["ExtendedStatistic"] == "p99"
    observability = project / "src" / answers["package_name"] / "core" / "observability.py"
    text = observability.read_text()
    assert '"function_name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")' in text
    assert '"function_version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "")' in text


def check_alarm_topic_and_dashboard(project: Path, answers: dict) -> None:
    """The topic is encrypted with the bootstrap's key; the e-mail subscription only when an
    address was given; the dashboard shows every alarm."""
    template = sam_template(project)
    resources = template["Resources"]
    topic = resources["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == f"alias/{answers['stack_name']}-alarms"
    subscriptions = [r for r in resources.values() if r["Type"] == "AWS::SNS::Subscription"]
    if answers["alarm_email"]:
        (subscription,) = subscriptions
        assert subscription["Properties"]["Protocol"] == "email"
        assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
        assert template["Parameters"]["AlarmEmail"]["Default"] == answers["alarm_email"]
        # Staging pages nobody: the address is production's on-call (docs/operations.md).
        if answers["environments"] == "staging-production":
            assert subscription["Condition"] == "IsProduction"
            assert template["Conditions"]["IsProduction"] == {
                "Fn::Equals": [{"Ref": "Environment"}, "production"]
            }
        else:
            assert "Condition" not in subscription
    else:
        assert subscriptions == []
        assert "AlarmEmail" not in template["Parameters"]
    assert resources["Dashboard"]["Properties"]["DashboardName"] == {"Ref": "AWS::StackName"}
    body = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    canary = answers["deployment_strategy"] == "canary"
    for name in [*ALARMS, *(ROLLBACK_ALARMS if canary else [])]:
        assert "${" + name + ".Arn}" in body[0]
    json.loads(re.sub(r"\$\{[^}]+\}", "0", body[0]))  # the body is JSON once substituted


def check_deployment_preference(project: Path, answers: dict) -> None:
    """Canary: CodeDeploy, run by the bootstrap's role, rolls back on the alarms, after the
    pre-traffic hook; production 10 % for 5 minutes, staging at once. All at once: none."""
    resources = sam_template(project)["Resources"]
    function = resources["ApiFunction"]["Properties"]
    if answers["deployment_strategy"] != "canary":
        assert "DeploymentPreference" not in function
        assert "PreTrafficHook" not in resources
        return
    multi = answers["environments"] == "staging-production"
    env = "-${Environment}" if multi else ""
    preference = function["DeploymentPreference"]
    assert preference["Role"] == {"Fn::Sub": f"{ROLE_ARN}{answers['stack_name']}{env}-codedeploy"}
    assert preference["Alarms"] == [{"Ref": name} for name in ROLLBACK_ALARMS]
    assert preference["Hooks"] == {"PreTraffic": {"Ref": "PreTrafficHook"}}
    if multi:
        assert preference["Type"] == {
            "Fn::If": ["IsProduction", "Canary10Percent5Minutes", "AllAtOnce"]
        }
    else:
        assert preference["Type"] == "Canary10Percent5Minutes"


def check_pre_traffic_hook(project: Path, answers: dict) -> None:
    """The hook function tests the new version; it is no canary itself."""
    resources = sam_template(project)["Resources"]
    if answers["deployment_strategy"] != "canary":
        assert not (project / "src" / "deploy_hooks").exists()
        return
    env = "-${Environment}" if answers["environments"] == "staging-production" else ""
    hook = resources["PreTrafficHook"]["Properties"]
    assert hook["FunctionName"] == named(answers, "hook_function")
    log_group = resources["PreTrafficHookLogGroup"]["Properties"]["LogGroupName"]
    assert log_group == named(answers, "hook_log_group")
    assert hook["Role"] == {"Fn::Sub": f"{ROLE_ARN}{answers['stack_name']}{env}-pre-traffic"}
    assert hook["CodeUri"] == "src/deploy_hooks/"
    assert hook["Handler"] == "pre_traffic.handler"
    assert (project / "src" / "deploy_hooks" / "pre_traffic.py").is_file()
    assert hook["Environment"]["Variables"] == {
        "TARGET_VERSION_ARN": {"Ref": "ApiFunction.Version"}
    }
    assert "DeploymentPreference" not in hook
    assert "AutoPublishAlias" not in hook


def check_rollback_wiring(project: Path, answers: dict) -> None:
    """What the transform makes of it: the alarms wired to the deployment group, automatic
    rollback, the hook before traffic, and no IAM role of SAM's own."""
    resources = transformed(project, answers)
    groups = [r for r in resources.values() if r["Type"] == "AWS::CodeDeploy::DeploymentGroup"]
    if answers["deployment_strategy"] != "canary":
        assert groups == []
        return
    (group,) = groups
    alarms = group["Properties"]["AlarmConfiguration"]
    assert alarms["Enabled"] is True
    assert alarms["Alarms"] == [{"Name": {"Ref": name}} for name in ROLLBACK_ALARMS]
    rollback = group["Properties"]["AutoRollbackConfiguration"]
    assert rollback["Enabled"] is True
    assert "DEPLOYMENT_STOP_ON_ALARM" in rollback["Events"]
    preference = function_properties(sam_template(project))["DeploymentPreference"]
    assert group["Properties"]["ServiceRoleArn"] == preference["Role"]
    (alias_resource,) = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Alias"]
    update = alias_resource["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
    assert update["BeforeAllowTrafficHook"] == {"Ref": "PreTrafficHook"}
    assert "CodeDeployServiceRole" not in resources


# --- the deployment policy ----------------------------------------------------------------------


def allowed(document: dict, resource_arn: str) -> set[str]:
    """The actions a policy document allows on exactly `resource_arn`."""
    return {
        action
        for s in document["Statement"]
        if resource_arn in as_list(s["Resource"])
        for action in as_list(s["Action"])
    }


def environment_policies(project: Path, answers: dict):
    """(suffix, logical id suffix, policy document) of each environment's deploy policy, and
    the names it is about: the stack and the function of that environment."""
    for suffix, _, logical in environments(answers):
        names = {
            "stack": answers["stack_name"] + suffix,
            "function": answers["function_name"] + suffix,
        }
        yield suffix, logical, policy(project, suffix), names


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
# The log delivery an HTTP API stage's access logging sets up (no resource-level permissions).
LOG_DELIVERY = frozenset(
    {
        "logs:CreateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:GetLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:UpdateLogDelivery",
    }
)


def check_policy_files(project: Path, answers: dict) -> None:
    """One deploy policy per environment, and no other."""
    present = {p.relative_to(project).as_posix() for p in (project / "iam").glob("*.json")}
    assert present == {policy_file(answers, suffix) for suffix, _, _ in environments(answers)}


def check_policy_is_least_privilege(project: Path, answers: dict) -> None:
    """Clean under parliament; no wildcard actions; `*` resources only for the actions that
    have no resource-level permissions; everything regional in this region only; another
    environment's names never appear."""
    star_only = STAR_ONLY | ({LOG_DELIVERY} if answers["api_type"] == "http" else set())
    for suffix, _, document, _ in environment_policies(project, answers):
        assert parliament_findings((project / policy_file(answers, suffix)).read_text()) == []
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow"
            for action in as_list(statement["Action"]):
                assert action != "*", action
                assert not action.endswith(":*"), action
            if "*" in as_list(statement["Resource"]):
                assert frozenset(as_list(statement["Action"])) in star_only, statement
            for arn in as_list(statement["Resource"]):
                parts = arn.split(":")
                if arn != "*" and parts[2] not in ("s3", "iam") and "dashboard/" not in arn:
                    assert parts[3] == answers["aws_region"], arn  # this region only
                if suffix:
                    other = "-production" if suffix == "-staging" else "-staging"
                    assert other not in arn, arn


def check_policy_stack_and_artifacts(project: Path, answers: dict) -> None:
    region = answers["aws_region"]
    for _, _, document, names in environment_policies(project, answers):
        stack = names["stack"]
        assert {
            "cloudformation:CreateChangeSet",
            "cloudformation:DescribeChangeSet",
            "cloudformation:ExecuteChangeSet",
            "cloudformation:DescribeStacks",
            "cloudformation:DescribeStackEvents",
            "cloudformation:GetTemplateSummary",
        } <= allowed(document, f"arn:aws:cloudformation:{region}:*:stack/{stack}/*")
        transform = f"arn:aws:cloudformation:{region}:aws:transform/Serverless-2016-10-31"
        assert allowed(document, transform) == {"cloudformation:CreateChangeSet"}
        bucket = f"arn:aws:s3:::{answers['deployment_bucket']}"
        assert allowed(document, bucket) == {"s3:ListBucket"}
        assert allowed(document, f"{bucket}/{stack}/*") == {
            "s3:DeleteObject",
            "s3:GetObject",
            "s3:PutObject",
        }


def check_policy_function(project: Path, answers: dict) -> None:
    for _, _, document, names in environment_policies(project, answers):
        function = f"arn:aws:lambda:{answers['aws_region']}:*:function:{names['function']}"
        actions = allowed(document, function)
        assert {
            "lambda:CreateFunction",
            "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration",
            "lambda:TagResource",
        } <= actions
        # Invoke permissions: only for API Gateway, and on what the API invokes (the alias
        # when there is one, else the function).
        statements = document["Statement"]
        (invoke,) = [s for s in statements if "lambda:AddPermission" in as_list(s["Action"])]
        assert invoke["Condition"] == {
            "StringEquals": {"lambda:Principal": "apigateway.amazonaws.com"}
        }
        assert set(invoke["Action"]) == {"lambda:AddPermission", "lambda:RemovePermission"}
        assert invoke["Resource"] == (f"{function}:*" if has_alias(answers) else function)
        if has_alias(answers):
            assert {"lambda:PublishVersion", "lambda:CreateAlias", "lambda:UpdateAlias"} <= actions
            assert allowed(document, f"{function}:*") - actions == {
                "lambda:AddPermission",
                "lambda:RemovePermission",
            }
        else:
            assert not {action for action in actions if "Alias" in action or "Version" in action}
            assert allowed(document, f"{function}:*") == set()


def check_policy_passes_only_its_roles(project: Path, answers: dict) -> None:
    """iam:PassRole of the environment's execution role (and, with canary, the hook's role)
    to Lambda only, and of its CodeDeploy role to CodeDeploy only."""
    canary = answers["deployment_strategy"] == "canary"
    for suffix, _, document, names in environment_policies(project, answers):
        passing = [s for s in document["Statement"] if "iam:PassRole" in as_list(s["Action"])]
        assert all(s["Action"] == "iam:PassRole" for s in passing)
        passed = {
            s["Condition"]["StringEquals"]["iam:PassedToService"]: as_list(s["Resource"])
            for s in passing
        }
        role = "arn:aws:iam::*:role/"
        lambda_roles = [f"{role}{answers['lambda_role_name']}{suffix}"]
        if canary:
            lambda_roles.append(f"{role}{names['stack']}-pre-traffic")
            assert passed == {
                "lambda.amazonaws.com": lambda_roles,
                "codedeploy.amazonaws.com": [f"{role}{names['stack']}-codedeploy"],
            }
        else:
            assert passed == {"lambda.amazonaws.com": lambda_roles}


def check_policy_api_and_logs(project: Path, answers: dict) -> None:
    region = answers["aws_region"]
    http = answers["api_type"] == "http"
    apis, other = ("/apis", "/restapis") if http else ("/restapis", "/apis")
    canary = answers["deployment_strategy"] == "canary"
    for _, _, document, names in environment_policies(project, answers):
        for resource in (apis, apis + "/*"):
            assert "apigateway:POST" in allowed(
                document, f"arn:aws:apigateway:{region}::{resource}"
            )
        assert not allowed(document, f"arn:aws:apigateway:{region}::{other}/*")
        log_group = f"arn:aws:logs:{region}:*:log-group:/aws/lambda/{names['function']}"
        for group in [log_group, f"{log_group}-pre-traffic"] if canary else [log_group]:
            assert {
                "logs:CreateLogGroup",
                "logs:PutRetentionPolicy",
                "logs:DeleteLogGroup",
            } <= allowed(document, group)


def check_policy_codedeploy(project: Path, answers: dict) -> None:
    """Canary: the hook function, the CodeDeploy application, group and the deployment
    configurations used; nothing of CodeDeploy without canary."""
    region = answers["aws_region"]
    for suffix, _, document, names in environment_policies(project, answers):
        if answers["deployment_strategy"] != "canary":
            assert "codedeploy" not in json.dumps(document)
            continue
        function = f"arn:aws:lambda:{region}:*:function:{names['function']}"
        assert {"lambda:CreateFunction", "lambda:UpdateFunctionConfiguration"} <= allowed(
            document, f"{function}-pre-traffic"
        )
        codedeploy = f"arn:aws:codedeploy:{region}:*:"
        application = f"{codedeploy}application:{names['stack']}-ServerlessDeploymentApplication-*"
        assert {"codedeploy:CreateApplication", "codedeploy:DeleteApplication"} <= allowed(
            document, application
        )
        group = f"{codedeploy}deploymentgroup:{names['stack']}-ServerlessDeploymentApplication-*/*"
        assert {
            "codedeploy:CreateDeploymentGroup",
            "codedeploy:CreateDeployment",
            "codedeploy:GetDeployment",
        } <= allowed(document, group)
        configs = {
            arn
            for statement in document["Statement"]
            if "codedeploy:GetDeploymentConfig" in as_list(statement["Action"])
            for arn in as_list(statement["Resource"])
        }
        expected = {"CodeDeployDefault.LambdaCanary10Percent5Minutes"}
        if suffix:
            expected.add("CodeDeployDefault.LambdaAllAtOnce")
        assert configs == {f"{codedeploy}deploymentconfig:{c}" for c in expected}


def check_policy_alarms_and_topic(project: Path, answers: dict) -> None:
    """The alarms, dashboard and topic of the environment's stack; subscribing only the
    address given, by e-mail."""
    region = answers["aws_region"]
    for _, _, document, names in environment_policies(project, answers):
        stack = names["stack"]
        alarms = f"arn:aws:cloudwatch:{region}:*:alarm:{stack}-*"
        assert {"cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"} <= allowed(document, alarms)
        dashboard = f"arn:aws:cloudwatch::*:dashboard/{stack}"
        assert {"cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"} <= allowed(
            document, dashboard
        )
        topic = f"arn:aws:sns:{region}:*:{stack}-alarms"
        assert {"sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes"} <= allowed(
            document, topic
        )
        statements = document["Statement"]
        subscribe = [s for s in statements if "sns:Subscribe" in as_list(s["Action"])]
        # Staging's stack subscribes nobody, so its deploy identity may not subscribe anyone.
        if answers["alarm_email"] and names["stack"] != answers["stack_name"] + "-staging":
            (statement,) = subscribe
            assert statement["Resource"] == topic
            assert statement["Condition"] == {
                "StringEquals": {"sns:Protocol": "email", "sns:Endpoint": answers["alarm_email"]}
            }
        else:
            assert subscribe == []
            assert "sns:Unsubscribe" not in json.dumps(document)


def check_access_logs(project: Path, answers: dict) -> None:
    """API Gateway's access log: JSON, to a log group of its own (one per environment) that
    expires, and each environment's deploy policy grants for its own group only; the
    function's telemetry names from the answers."""
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
    base = f"/aws/vendedlogs/apigateway/{answers['stack_name']}"
    assert group["LogGroupName"] == named(answers, "access_log_group")
    assert group["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    region = answers["aws_region"]
    for suffix, _, document, names in environment_policies(project, answers):
        name = f"/aws/vendedlogs/apigateway/{names['stack']}-access"
        arn = f"arn:aws:logs:{region}:*:log-group:{name}"
        assert {
            "logs:CreateLogGroup",
            "logs:PutRetentionPolicy",
            "logs:DeleteLogGroup",
        } <= allowed(document, arn)
        if http:
            assert {"logs:GetLogEvents", "logs:DescribeLogStreams"} <= allowed(document, arn)
        else:
            assert not LOG_DELIVERY & allowed(document, "*")
        for other, _, _ in environments(answers):
            if other != suffix:
                stranger = f"arn:aws:logs:{region}:*:log-group:{base}{other}-access"
                assert not {"logs:CreateLogGroup", "logs:DeleteLogGroup"} & allowed(
                    document, stranger
                )
    variables = function_properties(template)["Environment"]["Variables"]
    assert variables["SERVICE_NAME"] == variables["METRICS_NAMESPACE"] == answers["project_slug"]


def check_policy_in_bootstrap(project: Path, answers: dict) -> None:
    """One source, two forms: the bootstrap's copy is this document with the account
    pinned."""
    for suffix, logical, document, _ in environment_policies(project, answers):
        pinned = resolve_subs(
            bootstrap_policy(project, logical), **{"AWS::Partition": "aws", "AWS::AccountId": "*"}
        )
        assert pinned == document
        resolved = resolve_subs(
            bootstrap_policy(project, logical),
            **{"AWS::Partition": "aws", "AWS::AccountId": "111122223333"},
        )
        assert parliament_findings(json.dumps(resolved)) == []
        role = answers["lambda_role_name"] + suffix
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


def check_bootstrap_alarm_key(project: Path, answers: dict) -> None:
    """The alarm topics' key: CloudWatch of this account may use it to publish."""
    resources = bootstrap(project)["Resources"]
    key = resources["AlarmTopicKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    (cloudwatch,) = [st for st in key["KeyPolicy"]["Statement"] if st["Principal"].get("Service")]
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert cloudwatch["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }
    alias = resources["AlarmTopicKeyAlias"]["Properties"]
    assert alias["AliasName"] == f"alias/{answers['stack_name']}-alarms"


def check_bootstrap_lambda_role(project: Path, answers: dict) -> None:
    template = bootstrap(project)
    for suffix, _, logical in environments(answers):
        role = template["Resources"][f"LambdaExecutionRole{logical}"]["Properties"]
        assert role["RoleName"] == answers["lambda_role_name"] + suffix
        (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
        granted = {
            action: statement["Resource"]
            for policy_ in role["Policies"]
            for statement in policy_["PolicyDocument"]["Statement"]
            for action in as_list(statement["Action"])
        }
        items = {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"}
        secrets = SECRET_READS.get(answers["secrets"], {})
        assert set(granted) == {
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "xray:PutTraceSegments",
            "xray:PutTelemetryRecords",
            *(items if answers["datastore"] == "dynamodb" else ()),
            *secrets,
        }
        log_group = f"log-group:/aws/lambda/{answers['function_name']}{suffix}:*"
        assert granted["logs:PutLogEvents"]["Fn::Sub"].endswith(log_group)
        region_account = f":{answers['aws_region']}:${{AWS::AccountId}}:"
        stack = answers["stack_name"] + suffix
        for action in items & set(granted):
            table = f"arn:${{AWS::Partition}}:dynamodb{region_account}table/{stack}-items"
            assert granted[action] == {"Fn::Sub": table}
        for action, resource in secrets.items():
            service = action.split(":")[0]
            arn = f"arn:${{AWS::Partition}}:{service}{region_account}{resource.format(stack)}"
            assert granted[action] == {"Fn::Sub": arn}
        assert template["Outputs"][f"LambdaExecutionRoleArn{logical}"]["Value"] == {
            "Fn::GetAtt": [f"LambdaExecutionRole{logical}", "Arn"]
        }


# What the function may read of each secret store: the action, on what (`{}`: the stack).
SECRET_READS = {
    "parameter-store": {"ssm:GetParameter": "parameter/{}/*"},
    "secrets-manager": {"secretsmanager:GetSecretValue": "secret:{}/*"},
}


def check_items_table(project: Path, answers: dict) -> None:
    """With datastore=dynamodb, the table of each environment: on demand, point-in-time
    recovery, encrypted, kept (Retain) and deletion-protected in production; the function
    is told its name. Without, none of it."""
    template = sam_template(project)
    variables = function_properties(template)["Environment"]["Variables"]
    table = template["Resources"].get("ItemsTable")
    if answers["datastore"] != "dynamodb":
        assert table is None
        assert "ITEMS_TABLE" not in variables
        assert "ItemsTableName" not in template["Outputs"]
        return
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
    props = table["Properties"]
    env = "-${Environment}" if answers["environments"] == "staging-production" else ""
    name = f"{answers['stack_name']}{env}-items"
    assert props["TableName"] == ({"Fn::Sub": name} if env else name)
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    if answers["environments"] == "staging-production":
        assert props["DeletionProtectionEnabled"] == {"Fn::If": ["IsProduction", True, False]}
        assert template["Conditions"]["IsProduction"] == {
            "Fn::Equals": [{"Ref": "Environment"}, "production"]
        }
    else:
        assert props["DeletionProtectionEnabled"] is True
    assert variables["ITEMS_TABLE"] == {"Ref": "ItemsTable"}
    assert template["Outputs"]["ItemsTableName"]["Value"] == {"Ref": "ItemsTable"}


def check_secrets_prefix(project: Path, answers: dict) -> None:
    """With a secret store, the function learns its environment's prefix; no secret value,
    nor a secret resource, is in the template."""
    template = sam_template(project)
    variables = function_properties(template)["Environment"]["Variables"]
    types = {resource["Type"] for resource in template["Resources"].values()}
    assert not {t for t in types if t.startswith(("AWS::SecretsManager::", "AWS::SSM::"))}
    if answers["secrets"] == "none":
        assert "SECRETS_PREFIX" not in variables
        return
    stack = answers["stack_name"]
    env = "-${Environment}" if answers["environments"] == "staging-production" else ""
    prefix = {"parameter-store": f"/{stack}{env}/", "secrets-manager": f"{stack}{env}/"}
    expected = prefix[answers["secrets"]]
    assert variables["SECRETS_PREFIX"] == ({"Fn::Sub": expected} if env else expected)
    assert template["Outputs"]["SecretsPrefix"]["Value"] == variables["SECRETS_PREFIX"]


def check_bootstrap_release_roles(project: Path, answers: dict) -> None:
    """Canary: per environment, the CodeDeploy role (moves the alias, invokes the hook,
    reads the stack's alarms) and the hook's role (invokes the new version, reports)."""
    resources = bootstrap(project)["Resources"]
    canary = answers["deployment_strategy"] == "canary"
    for suffix, _, logical in environments(answers):
        stack, fn = answers["stack_name"] + suffix, answers["function_name"] + suffix
        if not canary:
            assert f"CodeDeployRole{logical}" not in resources
            assert f"PreTrafficHookRole{logical}" not in resources
            continue
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
    """The CI's identity per environment: an OIDC role (GitHub, GitLab), an IAM user
    (Travis), or none; each with its environment's deploy policy, and no access keys made by
    the stack. GitHub's role trusts only its environment's jobs on main (the subject names
    the environment, the `ref` claim the branch); GitLab's subject names the branch and no
    environment (docs/operations.md)."""
    template = bootstrap(project)
    resources, outputs = template["Resources"], template["Outputs"]
    ci = answers["ci_provider"]
    expected = {"OidcProvider"} if ci in OIDC else set()
    for suffix, env, logical in environments(answers):
        deploy_name = f"{answers['stack_name']}{suffix}-deploy"
        deploy_policy = f"DeployPolicy{logical}"
        assert resources[deploy_policy]["Properties"]["ManagedPolicyName"] == deploy_name
        assert outputs[f"DeployPolicyArn{logical}"]["Value"] == {"Ref": deploy_policy}
        if ci in OIDC:
            expected.add(f"DeployRole{logical}")
            host, subject = OIDC[ci][0], OIDC[ci][1].format(answers["repository"])
            if ci == "github-actions" and env:
                subject = f"repo:{answers['repository']}:environment:{env}"
            deploy_role = resources[f"DeployRole{logical}"]["Properties"]
            assert deploy_role["RoleName"] == deploy_name
            assert deploy_role["ManagedPolicyArns"] == [{"Ref": deploy_policy}]
            (trust,) = deploy_role["AssumeRolePolicyDocument"]["Statement"]
            assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
            assert trust["Principal"]["Federated"] == {
                "Fn::If": [
                    "CreateOidcProvider",
                    {"Ref": "OidcProvider"},
                    {"Ref": "OidcProviderArn"},
                ]
            }
            condition = {f"{host}:aud": {"Ref": "OidcAudience"}, f"{host}:sub": subject}
            if ci == "github-actions" and env:
                # The environment's subject names no branch: AWS STS checks GitHub's `ref`.
                condition["token.actions.githubusercontent.com:ref"] = "refs/heads/main"
            assert trust["Condition"] == {"StringEquals": condition}
            assert outputs[f"DeployRoleArn{logical}"]["Value"] == {
                "Fn::GetAtt": [f"DeployRole{logical}", "Arn"]
            }
            assert f"DeployUserName{logical}" not in outputs
        elif ci == "travis":
            expected.add(f"DeployUser{logical}")
            user = resources[f"DeployUser{logical}"]["Properties"]
            assert user["UserName"] == deploy_name
            assert user["ManagedPolicyArns"] == [{"Ref": deploy_policy}]
            assert outputs[f"DeployUserName{logical}"]["Value"] == {"Ref": f"DeployUser{logical}"}
            assert f"DeployRoleArn{logical}" not in outputs
        else:
            assert not {f"DeployRoleArn{logical}", f"DeployUserName{logical}"} & set(outputs)
    identities = {
        name for name in resources if name.startswith(("DeployRole", "DeployUser", "Oidc"))
    }
    assert identities == expected
    if ci in OIDC:
        provider = resources["OidcProvider"]
        assert provider["Condition"] == "CreateOidcProvider"  # an existing one can be passed in
        assert provider["Properties"]["Url"] == f"https://{OIDC[ci][0]}"
        assert template["Parameters"]["OidcProviderArn"]["Default"] == ""
        assert template["Parameters"]["OidcAudience"]["Default"] == "sts.amazonaws.com"
    # Access keys are made afterwards, never by the stack or in its outputs.
    assert not [r for r in resources.values() if r["Type"] == "AWS::IAM::AccessKey"]


def check_bootstrap_per_environment(project: Path, answers: dict) -> None:
    """Exactly the per-environment resources of the environments rendered."""
    resources = bootstrap(project)["Resources"]
    kinds = ["LambdaExecutionRole", "DeployPolicy", "CodeDeployRole", "PreTrafficHookRole"]
    kinds += ["DeployRole", "DeployUser"]
    canary = answers["deployment_strategy"] == "canary"
    ci = answers["ci_provider"]
    expected = set()
    for _, _, logical in environments(answers):
        expected |= {f"LambdaExecutionRole{logical}", f"DeployPolicy{logical}"}
        if canary:
            expected |= {f"CodeDeployRole{logical}", f"PreTrafficHookRole{logical}"}
        if ci in OIDC:
            expected.add(f"DeployRole{logical}")
        elif ci == "travis":
            expected.add(f"DeployUser{logical}")
    assert {name for name in resources if name.startswith(tuple(kinds))} == expected


def check_samconfig(project: Path, answers: dict) -> None:
    text = (project / "samconfig.toml").read_text()
    assert re.search(r"^version = 0\.1$", text, re.MULTILINE)  # a float, not "0.1"
    config = tomllib.loads(text)
    assert config["version"] == 0.1
    default = config["default"]
    assert default["validate"]["parameters"]["lint"] is True
    multi = answers["environments"] == "staging-production"
    # With environments, a bare `sam deploy` has no stack: only --config-env deploys.
    assert ("deploy" in default) is not multi
    assert set(config) == (
        {"version", "default", "staging", "production"} if multi else {"version", "default"}
    )
    for suffix, env, _ in environments(answers):
        # A config env does not inherit from [default]: every deploy setting is in its own.
        section = config[env] if env else default
        settings = {
            **(default["global"]["parameters"] if not env else {}),
            **section["deploy"]["parameters"],
        }
        assert settings["stack_name"] == answers["stack_name"] + suffix
        assert settings["region"] == answers["aws_region"]
        assert settings["s3_bucket"] == answers["deployment_bucket"]
        assert settings["s3_prefix"] == answers["stack_name"] + suffix
        assert "CAPABILITY_IAM" not in settings["capabilities"]
        assert settings["confirm_changeset"] is False
        assert settings["fail_on_empty_changeset"] is False
        assert settings["on_failure"] == "DELETE"  # a failed first deploy leaves no stack behind
        assert "resolve_s3" not in settings
        if env:
            assert settings["parameter_overrides"] == f"Environment={env}"
        else:
            assert "parameter_overrides" not in settings


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
    if answers["environments"] == "staging-production":
        assert f"`{answers['stack_name']}-staging`" in deployment
        assert "--config-env production" in deployment
        assert "[operations.md](operations.md)" in deployment
    if answers["deployment_strategy"] == "canary":
        assert "Releases are canary deployments" in deployment
    for other, texts in {
        "github-actions": ["GitHub"],
        "gitlab": ["GitLab"],
        "travis": ["Travis"],
    }.items():
        if other != answers["ci_provider"]:
            assert not any(text in deployment for text in texts), other


def check_cloudformation_lints_clean(project: Path, answers: dict) -> None:
    """What CloudFormation receives for each stack (the SAM transform with the deploy's
    region, account, stack name and overrides) lints clean: no cycle, no dangling reference."""
    assert stacks.cloudformation_findings(project) == []


def check_stacks_fit(project: Path, answers: dict) -> None:
    """Each name the service stacks expect from the bootstrap stack is created there, and
    samconfig.toml overrides only parameters template.yml has."""
    assert stacks.fit_problems(project) == []


CHECKS = [
    check_cloudformation_lints_clean,
    check_stacks_fit,
    check_function,
    check_function_logging,
    check_snapstart,
    check_items_table,
    check_secrets_prefix,
    check_outputs,
    check_api,
    check_sam_transform,
    check_alarms,
    check_rollback_alarms,
    check_alarm_topic_and_dashboard,
    check_deployment_preference,
    check_pre_traffic_hook,
    check_rollback_wiring,
    check_policy_files,
    check_policy_is_least_privilege,
    check_policy_stack_and_artifacts,
    check_policy_function,
    check_policy_passes_only_its_roles,
    check_policy_api_and_logs,
    check_policy_codedeploy,
    check_policy_alarms_and_topic,
    check_access_logs,
    check_policy_in_bootstrap,
    check_bootstrap_bucket,
    check_bootstrap_alarm_key,
    check_bootstrap_lambda_role,
    check_bootstrap_release_roles,
    check_bootstrap_api_gateway_logging_role,
    check_bootstrap_deploy_identity,
    check_bootstrap_per_environment,
    check_samconfig,
    check_deployment_doc,
]


# --- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", RENDERS)
def test_lints_clean(render, name):
    """cfn-lint, informational findings included, no suppressions: both templates, for every
    value of every choice, for the custom answers, and for every combination of the release
    answers with the API and SnapStart."""
    project, region = render(**RENDERS[name]), resolved_answers(**RENDERS[name])["aws_region"]
    findings = cfn_lint(project / "template.yml", region)
    findings += cfn_lint(project / "infra" / "bootstrap.yml", region)
    assert findings == []


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__.removeprefix("check_"))
@pytest.mark.parametrize("name", RENDERS)
def test_semantics(render, name, check):
    """What lint cannot see: each check of what the answers must make of the templates."""
    project = render(**RENDERS[name])
    check(project, render_answers(project, **RENDERS[name]))


@pytest.mark.parametrize("name", [name for name in RENDERS if name.startswith("custom-")])
def test_custom_names_reach_the_policy(render, name):
    """Names unlike the defaults land in every ARN of the policy; no default is left."""
    text = (render(**RENDERS[name]) / "iam" / "deploy-policy.json").read_text()
    for value in ("acme-orders-artifacts", "acme-orders", "acme-orders-fn", "acme-orders-exec"):
        assert value in text
    assert "fastapi-lambda-service" not in text
    assert "eu-west-1" not in text


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
    project, answers = render(**CUSTOM), resolved_answers(**CUSTOM)
    with pytest.raises(AssertionError):
        check_policy_function(project, {**answers, "function_name": "someone-else"})
    broad = policy(project)
    broad["Statement"].append({"Effect": "Allow", "Action": "lambda:*", "Resource": "*"})
    assert parliament_findings(json.dumps(broad)) != []
    with pytest.raises(AssertionError):
        check_function(project, {**answers, "python_version": "3.13"})
    # A render with one stack does not pass for one with two, nor canary for all at once.
    with pytest.raises(AssertionError):
        check_policy_files(project, {**answers, "environments": "staging-production"})
    with pytest.raises(AssertionError):
        check_deployment_preference(project, {**answers, "deployment_strategy": "all-at-once"})


def test_the_transformed_stack_shows_a_cycle(bake):
    """The lint of what CloudFormation receives catches the cycle that the lint of
    template.yml cannot see: a rollback alarm that names the HTTP API (HttpApi -> alias ->
    deployment group -> alarm -> HttpApi)."""
    project = bake()
    assert cfn_lint(project / "template.yml", DEFAULTS["aws_region"]) == []
    assert stacks.cloudformation_findings(project) == []
    template = project / "template.yml"
    text = template.read_text()
    marker = "      Dimensions:\n        - Name: FunctionName\n          Value: !Ref ApiFunction\n"
    assert text.count(marker) >= 1
    start = text.index("  NewVersionErrorsAlarm:")
    head, tail = text[:start], text[start:]
    tail = tail.replace(
        marker, marker + "        - Name: ApiId\n          Value: !Ref HttpApi\n", 1
    )
    template.write_text(head + tail)
    stacks._transformed.cache_clear()
    assert cfn_lint(template, DEFAULTS["aws_region"]) == []  # the source still lints clean
    findings = stacks.cloudformation_findings(project)
    assert findings
    assert all("E3004" in finding for finding in findings), findings


def test_stacks_fit_can_fail(bake):
    """A role the bootstrap names differently, or an override of a parameter the service
    template lacks, is reported with the environment it breaks."""
    project = bake(environments="staging-production")
    assert stacks.fit_problems(project) == []
    bootstrap = project / "infra" / "bootstrap.yml"
    role = f"RoleName: {DEFAULTS['stack_name']}-production-codedeploy"
    assert role in bootstrap.read_text()
    bootstrap.write_text(bootstrap.read_text().replace(role, role + "-renamed"))
    samconfig = project / "samconfig.toml"
    samconfig.write_text(
        samconfig.read_text().replace('"Environment=staging"', '"Environment=staging Stage=x"')
    )
    problems = stacks.fit_problems(project)
    assert problems == [
        "[staging] samconfig overrides Stage, no parameter",
        f"[production] role 'arn:aws:iam::123456789012:role/{DEFAULTS['stack_name']}"
        "-production-codedeploy' is not created by infra/bootstrap.yml",
    ], problems


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
