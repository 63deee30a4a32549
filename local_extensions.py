"""The template's local extension: the model of the answers, the deploy policy as data,
and the escaping filters.

Cookiecutter loads it through `_extensions` in cookiecutter.json (its documented local
extensions, made with `simple_filter` at the end of this file); cruft loads it too
(docs/updating.md). It imports nothing beyond the standard library and cookiecutter.

- `model(answers)` computes every fact derived from the answers, once: the flags, the
  environments and every name each of them gives, the API's kind, the edge (public routes,
  Cognito pool, origins), the CI identity and the name-length limits. The templates get it
  as `{%- set m = cookiecutter | model -%}`, both hooks as JSON data (`| model | tojson`),
  the tests with `from local_extensions import model`. It never raises on answers the
  pre-generation hook refuses: that hook reports them.
- `deploy_policy(facts, environment, cfn)` is the deploy policy of one environment, built
  from the model; `iam/deploy-policy*.json` and the bootstrap's `DeployPolicy` render it
  (`| deploy_policy_json`).
- The escaping filters write free text into each target format: each is a plain function of
  the answer as typed that returns it ready to paste where the format expects a value
  (`{{ cookiecutter.description | toml_str }}`). The pre-generation hook has already refused
  line breaks and control characters in free text (tab excepted); the filters escape them
  anyway, so that no value can break out. tests/test_filters.py tests each on its own.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path

from cookiecutter.utils import simple_filter
from jinja2 import Environment
from jinja2.ext import Extension

# --- the model of the answers -----------------------------------------------------------------

# Region codes of the commercial `aws` partition, kept offline so that a render needs no
# network: the pre-generation hook accepts exactly these (its `aws_region` rule).
# tests/test_hooks.py compares them with the endpoint data bundled in botocore.
AWS_REGIONS = (
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "me-west-1",
    "mx-central-1",
    "sa-east-1",
    "sa-west-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
)

# The choices the model knows, each with what it means (a test holds them equal to
# cookiecutter.json's lists). environments: the environments each value deploys, as
# (name, logical id suffix); "single" deploys one, unnamed.
ENVIRONMENTS = {
    "single": (("", ""),),
    "staging-production": (("staging", "Staging"), ("production", "Production")),
}
# Environments whose alarms notify nobody: `alarm_email` is production's on-call
# (docs/operations.md, "Notifications").
QUIET_ENVIRONMENTS = ("staging",)
DEPLOYMENT_STRATEGIES = ("canary", "all-at-once")
API_TYPES = {
    "http": {
        "title": "HTTP API",
        "id": "HttpApi",  # the logical id of the API in template.yml
        "event": "HttpApi",  # the function's event type
        "ref_key": "ApiId",  # how an event names its API
        "timeout_max": 30,  # the integration timeout, in seconds
        "arn_path": "/apis",  # API Gateway's resource path of the flavour
    },
    "rest": {
        "title": "REST API",
        "id": "RestApi",
        "event": "Api",
        "ref_key": "RestApiId",
        "timeout_max": 29,
        "arn_path": "/restapis",
    },
}
AUTH = ("none", "jwt")
DATASTORES = ("none", "dynamodb")
# The item operations the rendered repository makes (repositories/items.py): the execution
# role may make exactly these, on exactly the environment's table (the rendered
# tests/test_items.py records the calls and compares).
ITEM_ACTIONS = ("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan")
# Where the service reads its secrets (docs/secrets.md of a render): the store's name prefix
# of one environment (`{stack}`: the environment's stack), the ARN of what it may read
# there, and the one call core/secrets.py makes per secret.
SECRET_STORES = {
    "none": None,
    "parameter-store": {
        "title": "SSM Parameter Store",
        "service": "ssm",
        "prefix": "/{stack}/",
        "resource": "parameter/{stack}/*",
        "actions": ["ssm:GetParameter"],
    },
    "secrets-manager": {
        "title": "AWS Secrets Manager",
        "service": "secretsmanager",
        "prefix": "{stack}/",
        "resource": "secret:{stack}/*",
        "actions": ["secretsmanager:GetSecretValue"],
    },
}
# Parameter Store refuses names that start with these, case-insensitively: the stack name
# starts the service's parameter names with secrets=parameter-store.
SSM_RESERVED_PREFIXES = ("aws", "ssm")
CI_PROVIDERS = {
    "github-actions": {
        "title": "GitHub Actions",
        "oidc_host": "token.actions.githubusercontent.com",
    },
    "gitlab": {"title": "GitLab CI", "oidc_host": "gitlab.com"},
    "travis": {"title": "Travis CI", "oidc_host": ""},
    "none": {"title": "", "oidc_host": ""},
}

# Every name the template derives, as a suffix or prefix of an answer: the one place each
# is spelled. Per environment, the environment's suffix (-staging, -production) comes
# first: <stack>-production-pre-traffic.
SUFFIXES = {
    "codedeploy_role": "-codedeploy",  # <stack><env>-codedeploy: CodeDeploy's service role
    "pre_traffic": "-pre-traffic",  # <stack><env>-pre-traffic role, <function><env>-pre-traffic
    "deploy_identity": "-deploy",  # <stack><env>-deploy: the CI role or user, the policy
    "bootstrap_stack": "-bootstrap",  # <stack>-bootstrap: the bootstrap stack
    "alarms": "-alarms",  # <stack><env>-alarms topic, alias/<stack>-alarms key
    "access_log": "-access",  # /aws/vendedlogs/apigateway/<stack><env>-access
    "codedeploy_app": "-ServerlessDeploymentApplication-*",  # what SAM names the application
    "companion_stack": "-CompanionStack",  # SAM CLI's ECR companion stack (SAM_CLI_STACKS)
    "code_bucket_stack": "-WebFunctionCode",  # SAM CLI's Web Function code-bucket stack
    "items_table": "-items",  # <stack><env>-items: the DynamoDB table (datastore=dynamodb)
}
# The defaults cookiecutter.json derives from the slug (a test holds them equal). S3 bucket
# names are global: the default bucket ends in a random suffix, drawn once when the answers
# are resolved (`bucket_suffix()`) and kept as the answer (docs/prompts.md, "The artifact
# bucket's name").
DEFAULT_NAMES = {
    "deployment_bucket": "{slug}-artifacts-{suffix}",
    "lambda_role_name": "{slug}-lambda-role",
    "stack_name": "{slug}",
    "function_name": "{slug}",
}
FUNCTION_LOG_GROUP = "/aws/lambda/"
ACCESS_LOG_GROUP = "/aws/vendedlogs/apigateway/"
POLICY_FILE = "iam/deploy-policy{suffix}.json"
# The stacks SAM CLI makes beside a stack when it needs them, which `sam delete` describes
# after deleting it: <stack[:prefix]>-<md5(stack)[:8]><suffix>, as aws-sam-cli 1.170 names
# them (samcli's CompanionStack, ECR repositories; WebFunctionCodeBucketStack, Web Function
# code). The policy names each exactly (docs/deploy-policy.md).
SAM_CLI_STACKS = {"companion_stack": 104, "code_bucket_stack": 100}

# Name limits: IAM role and user names, Lambda function names, CloudFormation stack names,
# S3 bucket names, API Gateway stage names.
IAM_NAME_MAX = 64
FUNCTION_MAX = 64
STACK_MAX = 128
BUCKET_MAX = 63
STAGE_MAX = 128
# Hex digits of the default bucket's random suffix (56 bits): with `-artifacts-`, a slug of
# 38 characters fills S3's 63 (the slug's limit).
BUCKET_SUFFIX_LENGTH = 14

# Routes that stay public when the versioned API needs a token: the health check and the
# interactive docs (what FastAPI serves for them), as (event name, path).
PUBLIC_ROUTES = (
    ("Ping", "/ping"),
    ("Docs", "/docs"),
    ("DocsOAuth2Redirect", "/docs/oauth2-redirect"),
    ("OpenApi", "/openapi.json"),
)
# CORS preflight requests carry no token: with JWT and CORS, OPTIONS stays public. `/{proxy+}`
# does not match `/` on the REST API, which needs a route of its own.
PREFLIGHT_ROUTES = {
    "http": (("Preflight", "/{proxy+}"),),
    "rest": (("RootPreflight", "/"), ("Preflight", "/{proxy+}")),
}
# API Gateway's access log: one JSON object per request, written over lines in template.yml
# (a folded scalar: each line break becomes a space). The first lines are each API's own,
# the rest are shared; `principal` is the caller the authorizer verified.
ACCESS_LOG_HEAD = {
    "http": (
        ("requestId", "requestTime"),
        ("httpMethod", "routeKey"),
        ("path", "status"),
        ("responseLatency",),
    ),
    "rest": (
        ("requestId", "extendedRequestId"),
        ("requestTime", "httpMethod"),
        ("resourcePath", "path"),
        ("status", "responseLatency"),
    ),
}
ACCESS_LOG_TAIL = (
    ("integrationLatency",),
    ("responseLength", "protocol"),
    ("sourceIp", "userAgent"),
    ("principal",),
    ("errorMessage",),
    ("integrationError",),
)
# The $context variable of each field whose name is not the variable's own.
ACCESS_LOG_VARIABLES = {
    "sourceIp": "identity.sourceIp",
    "userAgent": "identity.userAgent",
    "principal": "authorizer.claims.sub",
    "errorMessage": "error.message",
    "integrationError": "integrationErrorMessage",
}


def access_log_lines(api_type: str, jwt: bool) -> list[str]:
    """The lines of the API's access log format (a JSON object once folded)."""
    lines = ACCESS_LOG_HEAD.get(api_type, ACCESS_LOG_HEAD["http"]) + ACCESS_LOG_TAIL
    lines = [line for line in lines if jwt or line != ("principal",)]
    text = [
        ",".join(f'"{f}":"$context.{ACCESS_LOG_VARIABLES.get(f, f)}"' for f in line) + ","
        for line in lines
    ]
    return ["{" + text[0], *text[1:-1], text[-1][:-1] + "}"]


# A Cognito user pool's issuer: https://cognito-idp.<region>.amazonaws.com/<region>_<id>.
COGNITO_ISSUER = re.compile(
    r"https://cognito-idp\.([a-z0-9-]+)\.amazonaws\.com/(([a-z0-9-]+)_[A-Za-z0-9]+)"
)

TRUE_WORDS = {"1", "true", "t", "yes", "y", "on"}


def _text(answers: Mapping, key: str) -> str:
    value = answers.get(key, "")
    return value if isinstance(value, str) else str(value)


def _bool(value: object) -> bool:
    """A boolean answer, typed (`yes`, `off`, ...) or given as a boolean."""
    if isinstance(value, str):
        return value.strip().lower() in TRUE_WORDS
    return bool(value)


def environment_names(answers: Mapping, suffix: str) -> dict[str, str]:
    """Every name of one environment whose names end in `suffix` ("" with one stack,
    "-staging", or a placeholder such as "-${Environment}" for template.yml)."""
    stack = _text(answers, "stack_name") + suffix
    function = _text(answers, "function_name") + suffix
    hook = function + SUFFIXES["pre_traffic"]
    store = SECRET_STORES.get(_text(answers, "secrets"))
    return {
        "suffix": suffix,
        "stack": stack,
        "function": function,
        "hook_function": hook,
        "lambda_role": _text(answers, "lambda_role_name") + suffix,
        "codedeploy_role": stack + SUFFIXES["codedeploy_role"],
        "pre_traffic_role": stack + SUFFIXES["pre_traffic"],
        "deploy_identity": stack + SUFFIXES["deploy_identity"],
        "function_log_group": FUNCTION_LOG_GROUP + function,
        "hook_log_group": FUNCTION_LOG_GROUP + hook,
        "access_log_group": ACCESS_LOG_GROUP + stack + SUFFIXES["access_log"],
        "alarm_topic": stack + SUFFIXES["alarms"],
        "codedeploy_app": stack + SUFFIXES["codedeploy_app"],
        "artifact_prefix": stack,
        "policy_file": POLICY_FILE.format(suffix=suffix),
        "items_table": stack + SUFFIXES["items_table"],
        # What the environment's secret names start with, and the store's resource (in its
        # ARN) of every name under it ("" without a secret store).
        "secrets_prefix": store["prefix"].format(stack=stack) if store else "",
        "secrets_resource": store["resource"].format(stack=stack) if store else "",
    }


def sam_cli_stack(stack: str, kind: str) -> str:
    """The name of the stack of `kind` (a key of SAM_CLI_STACKS) SAM CLI makes for `stack`."""
    digest = hashlib.md5(stack.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{stack[: SAM_CLI_STACKS[kind]]}-{digest}{SUFFIXES[kind]}"


def _environments(answers: Mapping) -> list[dict]:
    """Each environment the answers deploy, with its names; an unknown `environments`
    answer (the hook refuses it) deploys one."""
    choice = ENVIRONMENTS.get(_text(answers, "environments"), ENVIRONMENTS["single"])
    found = []
    for name, logical_id in choice:
        names = environment_names(answers, f"-{name}" if name else "")
        found.append(
            {
                "name": name,
                "id": logical_id,  # the suffix of the bootstrap's logical ids: DeployRoleStaging
                "config_env": name or "default",  # samconfig.toml's section
                "deploy_job": "deploy" + (f"-{name}" if name else ""),  # GitHub's, GitLab's job
                "deploy_stage": "deploy" + (f" {name}" if name else ""),  # Travis CI's stage
                **names,
                # hashed from the real stack name: not in the placeholder names (`sam`, ...)
                **{kind: sam_cli_stack(names["stack"], kind) for kind in SAM_CLI_STACKS},
                # The address its alarm topic subscribes ("" for none).
                "alarm_email": (
                    "" if name in QUIET_ENVIRONMENTS else _text(answers, "alarm_email")
                ),
            }
        )
    return found


def _longest(suffixes: list[str]) -> str:
    return max(suffixes, key=len) if suffixes else ""


def name_limits(answers: Mapping) -> dict[str, dict]:
    """For each name answer, its longest length and why: the longest name the template
    derives from it (`name`, with its placeholder), and the limit that name must fit."""
    env = _longest([f"-{name}" if name else "" for name, _ in _choice_environments(answers)])
    canary = _text(answers, "deployment_strategy") == "canary"
    ci = _text(answers, "ci_provider") != "none"
    iam = [SUFFIXES["deploy_identity"]] if ci else []
    iam += [SUFFIXES["codedeploy_role"], SUFFIXES["pre_traffic"]] if canary else []
    if iam:
        stack_tail = env + _longest(iam)
        stack = {
            "max": IAM_NAME_MAX - len(stack_tail),
            "name": f"<stack>{stack_tail}",
            "fits": IAM_NAME_MAX,
            "of": "IAM names",
            "what": "the bootstrap's IAM role",
        }
    else:
        stack = {
            "max": STACK_MAX - len(SUFFIXES["bootstrap_stack"]),
            "name": "<stack>" + SUFFIXES["bootstrap_stack"],
            "fits": STACK_MAX,
            "of": "stack names",
            "what": "its bootstrap stack",
        }
    function_tail = env + (SUFFIXES["pre_traffic"] if canary else "")
    return {
        "project_slug": slug_limit(),
        "lambda_role_name": {
            "max": IAM_NAME_MAX - len(env),
            "name": f"<role>{env}",
            "fits": IAM_NAME_MAX,
            "of": "IAM names",
            "what": "the Lambda role",
        },
        "stack_name": stack,
        "function_name": {
            "max": FUNCTION_MAX - len(function_tail),
            "name": f"<function>{function_tail}",
            "fits": FUNCTION_MAX,
            "of": "Lambda function names",
            "what": "the Lambda function",
        },
        "stage_name": {
            "max": STAGE_MAX,
            "name": "<stage>",
            "fits": STAGE_MAX,
            "of": "stage names",
            "what": "the stage",
        },
    }


def _choice_environments(answers: Mapping) -> tuple:
    return ENVIRONMENTS.get(_text(answers, "environments"), ENVIRONMENTS["single"])


def slug_limit() -> dict:
    """The slug's limit: every default derived from it stays valid with every option (the
    longest environment, the pre-traffic names, the bootstrap)."""
    env = _longest([f"-{name}" for envs in ENVIRONMENTS.values() for name, _ in envs if name])
    role = DEFAULT_NAMES["lambda_role_name"].removeprefix("{slug}")
    bucket = DEFAULT_NAMES["deployment_bucket"].removeprefix("{slug}").removesuffix("{suffix}")
    room = {
        f"<slug>{bucket}<suffix>": BUCKET_MAX - len(bucket) - BUCKET_SUFFIX_LENGTH,  # 38
        f"<slug>{role}": IAM_NAME_MAX - len(role),
        "<slug>" + SUFFIXES["deploy_identity"]: IAM_NAME_MAX - len(SUFFIXES["deploy_identity"]),
        f"<slug>{env}" + SUFFIXES["pre_traffic"]: min(IAM_NAME_MAX, FUNCTION_MAX)
        - len(env + SUFFIXES["pre_traffic"]),
        f"<slug>{env}{role}": IAM_NAME_MAX - len(env + role),
        "<slug>" + SUFFIXES["bootstrap_stack"]: STACK_MAX - len(SUFFIXES["bootstrap_stack"]),
    }
    name = min(room, key=room.get)
    return {
        "max": room[name],
        "name": name,
        "fits": BUCKET_MAX,
        "of": "S3 bucket names",
        "what": "the default bucket",
    }


def cognito_pool(issuer: str) -> dict | None:
    """The user pool of a Cognito issuer URL (its region and id), or None."""
    match = COGNITO_ISSUER.fullmatch(issuer)
    if not match:
        return None
    return {"host_region": match.group(1), "region": match.group(3), "id": match.group(2)}


def origin_list(value: str) -> list[str]:
    """The origins of the `cors_origins` answer: comma-separated, spaces around the commas
    allowed, empty for none (the pre-generation hook checks each origin)."""
    return [origin.strip() for origin in str(value).split(",")] if str(value).strip() else []


def model(answers: Mapping) -> dict:
    """Every fact the templates, the hooks and the tests derive from the answers, as plain
    data (JSON-ready). Unknown or refused answers give a model too (the pre-generation hook
    reports them)."""
    api_type = _text(answers, "api_type")
    api = API_TYPES.get(api_type, API_TYPES["http"])
    canary = _text(answers, "deployment_strategy") == "canary"
    snapstart = _bool(answers.get("snapstart", False))
    multi = _text(answers, "environments") == "staging-production"
    provider = _text(answers, "ci_provider")
    ci = CI_PROVIDERS.get(provider, CI_PROVIDERS["none"])
    jwt = _text(answers, "auth") == "jwt"
    dynamodb = _text(answers, "datastore") == "dynamodb"
    store = SECRET_STORES.get(_text(answers, "secrets"))
    origins = origin_list(_text(answers, "cors_origins"))
    domain = _text(answers, "domain_name")
    stack = _text(answers, "stack_name")
    environments = _environments(answers)
    # How template.yml and the docs name a per-environment resource: with one stack, the
    # environment's own names; with two, a placeholder for the environment.
    sam = environment_names(answers, "-${Environment}") if multi else environments[0]
    any_env = environment_names(answers, "-<env>") if multi else environments[0]
    # The names without an environment (those of the one stack; with two environments no
    # resource has them: what docs/deployment.md still names, issue #19).
    base = environment_names(answers, "")
    return {
        "multi": multi,
        "environments": environments,
        "sam": sam,
        "any_env": any_env,
        "base": base,
        "canary": canary,
        # template.yml's IsProduction: production's canary, its alarm subscription and the
        # deletion protection of its table.
        "production_condition": multi
        and (canary or bool(_text(answers, "alarm_email")) or dynamodb),
        "snapstart": snapstart,
        # Every deployment publishes a version behind the alias `live` when CodeDeploy
        # shifts it or SnapStart restores versions.
        "alias": canary or snapstart,
        "http": api_type == "http",
        "rest": api_type == "rest",
        "api": {"kind": api_type, **api},
        "jwt": jwt,
        "access_log": access_log_lines(api_type, jwt),
        "public_routes": [list(route) for route in PUBLIC_ROUTES],
        "preflight_routes": [list(route) for route in PREFLIGHT_ROUTES.get(api_type, ())],
        "cognito": cognito_pool(_text(answers, "jwt_issuer")) if jwt else None,
        "origins": origins,
        # The request headers a browser may send and the response headers it may read (CORS):
        # the items resource's conditional writes add If-Match and ETag.
        "cors_allow_headers": ["authorization", "content-type", "x-correlation-id"]
        + (["if-match"] if dynamodb else []),
        "cors_expose_headers": ["x-correlation-id"] + (["etag"] if dynamodb else []),
        "datastore": {
            "kind": _text(answers, "datastore"),
            "dynamodb": dynamodb,
            "item_actions": list(ITEM_ACTIONS) if dynamodb else [],
        },
        "secrets": {
            "store": _text(answers, "secrets"),
            "on": store is not None,
            "ssm": store is not None and store["service"] == "ssm",
            "secretsmanager": store is not None and store["service"] == "secretsmanager",
            "title": store["title"] if store else "",
            "service": store["service"] if store else "",
            "actions": list(store["actions"]) if store else [],
        },
        # The service stores or reads something through the AWS SDK (the runtime's boto3).
        "aws_sdk": dynamodb or store is not None,
        "domain": domain,
        # The output with the URL clients call: with a domain, the execute-api one is off.
        "url_output": "DomainUrl" if domain else "ApiUrl",
        "dns": bool(domain and _text(answers, "hosted_zone_id")),
        "alarm_email": _text(answers, "alarm_email"),
        "hosted_zone_id": _text(answers, "hosted_zone_id"),
        "region": _text(answers, "aws_region"),
        "ci": {
            "provider": provider,
            "title": ci["title"],
            "github": provider == "github-actions",
            "gitlab": provider == "gitlab",
            "travis": provider == "travis",
            "pipeline": provider in CI_PROVIDERS and provider != "none",
            "oidc": bool(ci["oidc_host"]),
            "oidc_host": ci["oidc_host"],
        },
        "bucket": _text(answers, "deployment_bucket"),
        "bootstrap_stack": stack + SUFFIXES["bootstrap_stack"],
        "alarm_key_alias": "alias/" + stack + SUFFIXES["alarms"],
        "suffixes": dict(SUFFIXES),
        "limits": name_limits(answers),
        "default_names": dict(DEFAULT_NAMES),
        "bucket_suffix_length": BUCKET_SUFFIX_LENGTH,
        "choices": {
            "environments": list(ENVIRONMENTS),
            "deployment_strategy": list(DEPLOYMENT_STRATEGIES),
            "api_type": list(API_TYPES),
            "auth": list(AUTH),
            "ci_provider": list(CI_PROVIDERS),
            "datastore": list(DATASTORES),
            "secrets": list(SECRET_STORES),
        },
        "ssm_reserved_prefixes": list(SSM_RESERVED_PREFIXES),
        "regions": list(AWS_REGIONS),
    }


def environment(facts: dict, name: str = "") -> dict:
    """The environment `name` of a model ("" with one stack)."""
    for env in facts["environments"]:
        if env["name"] == name:
            return env
    raise KeyError(f"no environment {name!r}: {[e['name'] for e in facts['environments']]}")


# --- the deploy policy, as data ---------------------------------------------------------------

TRANSFORM = "transform/Serverless-2016-10-31"
# What CloudFormation's AWS::DynamoDB::Table handlers call for the items table with the
# deploy identity's credentials: no item operations, no replicas (docs/deploy-policy.md).
TABLE_ACTIONS = (
    "CreateTable",
    "DeleteTable",
    "DescribeContinuousBackups",
    "DescribeContributorInsights",
    "DescribeKinesisStreamingDestination",
    "DescribeTable",
    "DescribeTimeToLive",
    "GetResourcePolicy",
    "ListTagsOfResource",
    "TagResource",
    "UntagResource",
    "UpdateContinuousBackups",
    "UpdateTable",
)


def deploy_policy(facts: dict, env_name: str = "", cfn: bool = False) -> dict:
    """The deploy policy of one environment: what `sam deploy` of template.yml needs, and no
    more. `cfn`: as the bootstrap writes it, every ARN {"Fn::Sub": ...} pinned to
    ${AWS::Partition} and ${AWS::AccountId}; else as iam/deploy-policy*.json, where the
    account is `*` (an identity policy only reaches its own account's resources)."""
    env = environment(facts, env_name)
    region = facts["region"]
    partition = "${AWS::Partition}" if cfn else "aws"

    def arn(service: str, resource: str, region: str = region, account: object = True):
        account = ("${AWS::AccountId}" if cfn else "*") if account is True else account or ""
        text = f"arn:{partition}:{service}:{region}:{account}:{resource}"
        return {"Fn::Sub": text} if cfn else text

    def allow(sid: str, actions: list[str], resources, condition: dict | None = None) -> dict:
        statement = {
            "Sid": sid,
            "Effect": "Allow",
            "Action": actions[0] if len(actions) == 1 else actions,
            "Resource": resources,
        }
        if condition:
            statement["Condition"] = condition
        return statement

    stack, fn, hook = env["stack"], env["function"], env["hook_function"]
    canary, alias = facts["canary"], facts["alias"]
    lambda_actions = [
        "CreateFunction",
        "DeleteFunction",
        "GetFunction",
        "GetFunctionCodeSigningConfig",
        "GetFunctionRecursionConfig",
        "GetFunctionScalingConfig",
        "GetPolicy",
        "GetRuntimeManagementConfig",
        "ListTags",
        "TagResource",
        "UntagResource",
        "UpdateFunctionCode",
        "UpdateFunctionConfiguration",
    ]
    if alias:  # versions and the alias `live`
        lambda_actions += [
            "CreateAlias",
            "DeleteAlias",
            "GetAlias",
            "GetFunctionConfiguration",
            "GetProvisionedConcurrencyConfig",
            "ListVersionsByFunction",
            "PublishVersion",
            "UpdateAlias",
        ]
    functions = [arn("lambda", f"function:{fn}")]
    functions += [arn("lambda", f"function:{fn}:*")] if alias else []
    functions += [arn("lambda", f"function:{hook}")] if canary else []
    lambda_roles = [arn("iam", f"role/{env['lambda_role']}", region="")]
    lambda_roles += [arn("iam", f"role/{env['pre_traffic_role']}", region="")] if canary else []
    statements = [
        allow(
            "DeployTheStackThroughChangeSets",
            [
                "cloudformation:CreateChangeSet",
                "cloudformation:DeleteStack",
                "cloudformation:DescribeChangeSet",
                "cloudformation:DescribeStackEvents",
                "cloudformation:DescribeStacks",
                "cloudformation:ExecuteChangeSet",
                "cloudformation:GetTemplate",
                "cloudformation:GetTemplateSummary",
            ],
            arn("cloudformation", f"stack/{stack}/*"),
        ),
        allow(
            "LetSamDeleteLookForTheStacksSamCliMakesBesideIt",
            ["cloudformation:DescribeStacks"],
            [arn("cloudformation", f"stack/{env[kind]}/*") for kind in SAM_CLI_STACKS],
        ),
        allow(
            "UseTheSamTransform",
            ["cloudformation:CreateChangeSet"],
            arn("cloudformation", TRANSFORM, account="aws"),
        ),
        allow(
            "ListArtifactsUnderThePrefix",
            ["s3:ListBucket"],
            arn("s3", facts["bucket"], region="", account=False),
            {"StringLike": {"s3:prefix": [env["artifact_prefix"] + "/*"]}},
        ),
        allow(
            "UploadReadAndDeleteArtifacts",
            ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            arn("s3", f"{facts['bucket']}/{env['artifact_prefix']}/*", region="", account=False),
        ),
        allow("ManageTheFunction", [f"lambda:{a}" for a in sorted(lambda_actions)], functions),
        allow(
            "LetOnlyApiGatewayInvokeTheFunction",
            ["lambda:AddPermission", "lambda:RemovePermission"],
            arn("lambda", f"function:{fn}" + (":*" if alias else "")),
            {"StringEquals": {"lambda:Principal": "apigateway.amazonaws.com"}},
        ),
        allow(
            "PassTheExecutionRoleToLambdaOnly",
            ["iam:PassRole"],
            lambda_roles if len(lambda_roles) > 1 else lambda_roles[0],
            {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
        ),
    ]
    if canary:
        configs = ["LambdaAllAtOnce"] if facts["multi"] else []  # staging deploys at once
        configs.append("LambdaCanary10Percent5Minutes")
        statements += [
            allow(
                "PassTheCodeDeployRoleToCodeDeployOnly",
                ["iam:PassRole"],
                arn("iam", f"role/{env['codedeploy_role']}", region=""),
                {"StringEquals": {"iam:PassedToService": "codedeploy.amazonaws.com"}},
            ),
            allow(
                "ManageTheCodeDeployApplication",
                [
                    "codedeploy:CreateApplication",
                    "codedeploy:DeleteApplication",
                    "codedeploy:GetApplication",
                    "codedeploy:GetApplicationRevision",
                    "codedeploy:ListTagsForResource",
                    "codedeploy:RegisterApplicationRevision",
                    "codedeploy:TagResource",
                    "codedeploy:UntagResource",
                ],
                arn("codedeploy", f"application:{env['codedeploy_app']}"),
            ),
            allow(
                "ManageTheDeploymentGroupAndDeploy",
                [
                    "codedeploy:CreateDeployment",
                    "codedeploy:CreateDeploymentGroup",
                    "codedeploy:DeleteDeploymentGroup",
                    "codedeploy:GetDeployment",
                    "codedeploy:GetDeploymentGroup",
                    "codedeploy:ListDeployments",
                    "codedeploy:ListTagsForResource",
                    "codedeploy:TagResource",
                    "codedeploy:UntagResource",
                    "codedeploy:UpdateDeploymentGroup",
                ],
                arn("codedeploy", f"deploymentgroup:{env['codedeploy_app']}/*"),
            ),
            allow(
                "ReadTheDeploymentConfigs",
                ["codedeploy:GetDeploymentConfig"],
                [arn("codedeploy", f"deploymentconfig:CodeDeployDefault.{c}") for c in configs],
            ),
            allow(
                "StopADeploymentWhichHasNoResourceLevelPermissions",
                ["codedeploy:StopDeployment"],
                "*",
            ),
        ]
    tagging = ["ListTagsForResource", "TagResource", "UntagResource"]
    statements += [
        allow(
            "ManageTheAlarms",
            sorted(
                f"cloudwatch:{a}"
                for a in ["DeleteAlarms", "DescribeAlarms", "PutMetricAlarm", *tagging]
            ),
            arn("cloudwatch", f"alarm:{stack}-*"),
        ),
        allow(
            "ManageTheDashboard",
            sorted(
                f"cloudwatch:{a}"
                for a in ["DeleteDashboards", "GetDashboard", "PutDashboard", *tagging]
            ),
            arn("cloudwatch", f"dashboard/{stack}", region=""),
        ),
        allow(
            "ManageTheAlarmTopic",
            [
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:GetDataProtectionPolicy",
                "sns:GetTopicAttributes",
                "sns:ListSubscriptionsByTopic",
                "sns:ListTagsForResource",
                "sns:PutDataProtectionPolicy",
                "sns:SetTopicAttributes",
                "sns:TagResource",
                "sns:UntagResource",
            ],
            arn("sns", env["alarm_topic"]),
        ),
    ]
    if env["alarm_email"]:
        statements += [
            allow(
                "SubscribeTheAlarmEmailOnly",
                ["sns:Subscribe"],
                arn("sns", env["alarm_topic"]),
                {"StringEquals": {"sns:Protocol": "email", "sns:Endpoint": env["alarm_email"]}},
            ),
            allow(
                "ManageTheSubscriptionWhichHasNoResourceLevelPermissions",
                [
                    "sns:GetSubscriptionAttributes",
                    "sns:SetSubscriptionAttributes",
                    "sns:Unsubscribe",
                ],
                "*",
            ),
        ]
    methods = [f"apigateway:{m}" for m in ["DELETE", "GET", "PATCH", "POST", "PUT"]]
    apis = facts["api"]["arn_path"]
    statements.append(
        allow(
            "ManageThisRegionsApis",
            methods
            + (["apigateway:TagResource", "apigateway:UntagResource"] if facts["http"] else []),
            [
                arn("apigateway", apis, account=False),
                arn("apigateway", apis + "/*", account=False),
                arn("apigateway", _tags_path(partition, region, apis + "/*"), account=False),
            ],
        )
    )
    domain = facts["domain"]
    if domain:
        statements.append(
            allow(
                "ManageTheCustomDomainAndItsMapping",
                methods,
                [
                    arn("apigateway", "/domainnames", account=False),
                    arn("apigateway", f"/domainnames/{domain}", account=False),
                    arn("apigateway", f"/domainnames/{domain}/*", account=False),
                    arn(
                        "apigateway",
                        _tags_path(partition, region, f"/domainnames/{domain}"),
                        account=False,
                    ),
                ],
            )
        )
    if facts["dns"]:
        zone = arn("route53", f"hostedzone/{facts['hosted_zone_id']}", region="", account=False)
        statements += [
            allow(
                "ChangeOnlyTheDomainsAliasRecord",
                ["route53:ChangeResourceRecordSets"],
                zone,
                {
                    "ForAllValues:StringEquals": {
                        "route53:ChangeResourceRecordSetsNormalizedRecordNames": [domain],
                        "route53:ChangeResourceRecordSetsRecordTypes": ["A"],
                    }
                },
            ),
            allow(
                "ReadTheHostedZone",
                ["route53:GetHostedZone", "route53:ListResourceRecordSets"],
                zone,
            ),
            allow(
                "WaitForTheRecordChange",
                ["route53:GetChange"],
                arn("route53", "change/*", region="", account=False),
            ),
            allow(
                "ListHostedZonesWhichHasNoResourceLevelPermissions",
                ["route53:ListHostedZones"],
                "*",
            ),
        ]
    if facts["datastore"]["dynamodb"]:
        statements.append(
            allow(
                "ManageTheItemsTableButNotItsItems",
                [f"dynamodb:{a}" for a in TABLE_ACTIONS],
                arn("dynamodb", f"table/{env['items_table']}"),
            )
        )
    groups = [env["function_log_group"]] + ([env["hook_log_group"]] if canary else [])
    groups.append(env["access_log_group"])
    access = [arn("logs", f"log-group:{env['access_log_group']}{tail}") for tail in ("", ":*")]
    statements += [
        allow(
            "ManageTheLogGroup",
            [
                "logs:CreateLogGroup",
                "logs:DeleteDataProtectionPolicy",
                "logs:DeleteLogGroup",
                "logs:DeleteRetentionPolicy",
                "logs:GetDataProtectionPolicy",
                "logs:ListTagsForResource",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
                "logs:UntagResource",
            ],
            [arn("logs", f"log-group:{group}{tail}") for group in groups for tail in ("", ":*")],
        ),
        allow(
            "ReadLogGroupsWhichHasNoResourceLevelPermissions",
            [
                "logs:DescribeIndexPolicies",
                "logs:DescribeLogGroups",
                "logs:DescribeResourcePolicies",
            ],
            "*",
        ),
    ]
    if facts["http"]:
        statements += [
            allow(
                "EnableHttpApiAccessLogsWhichHaveNoResourceLevelPermissions",
                [
                    "logs:CreateLogDelivery",
                    "logs:DeleteLogDelivery",
                    "logs:GetLogDelivery",
                    "logs:ListLogDeliveries",
                    "logs:PutResourcePolicy",
                    "logs:UpdateLogDelivery",
                ],
                "*",
            ),
            allow(
                "ReadTheAccessLogGroupWhenEnablingHttpApiAccessLogs",
                ["logs:DescribeLogStreams", "logs:FilterLogEvents", "logs:GetLogEvents"],
                access,
            ),
        ]
    return {"Version": "2012-10-17", "Statement": statements}


def _tags_path(partition: str, region: str, path: str) -> str:
    """API Gateway's tagging path of the resources under `path` (the ARN, URL-encoded)."""
    return f"/tags/arn%3A{partition}%3Aapigateway%3A{region}%3A%3A" + path.replace("/", "%2F")


def _json_string(text: str) -> str:
    """A JSON string as Jinja's `tojson` writes it (HTML-safe: <, >, & and ' escaped)."""
    return (
        json.dumps(text)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
    )


def _policy_json(node: object, indent: str = "", inline: bool = False) -> str:
    """An IAM policy as the template writes it: two-space indents, one item per line, except
    {"Fn::Sub": ...} and the lists of a Condition, which stay on one line."""
    if isinstance(node, str):
        return _json_string(node)
    if isinstance(node, dict) and set(node) == {"Fn::Sub"}:
        return '{"Fn::Sub": ' + _json_string(node["Fn::Sub"]) + "}"
    inner = indent + "  "
    if isinstance(node, list) and inline:
        return "[" + ", ".join(_policy_json(item, inner, inline) for item in node) + "]"
    if isinstance(node, list):
        items = [inner + _policy_json(item, inner, inline) for item in node]
        return "[\n" + ",\n".join(items) + "\n" + indent + "]"
    if isinstance(node, dict):
        items = [
            f"{inner}{_json_string(key)}: "
            + _policy_json(value, inner, inline or key == "Condition")
            for key, value in node.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    return json.dumps(node)


def deploy_policy_json(facts: dict, env_name: str = "", cfn: bool = False) -> str:
    """The deploy policy of one environment as JSON text (see `deploy_policy`)."""
    return _policy_json(deploy_policy(facts, env_name, cfn))


# --- TOML -----------------------------------------------------------------------------------

# TOML basic strings: `"` and `\` escaped, control characters other than tab as escapes
# (toml.io/en/v1.0.0#string); everything else, non-ASCII included, stays as typed.
_TOML_ESCAPES = {code: f"\\u{code:04X}" for code in [*range(0x20), 0x7F]}
_TOML_ESCAPES.update({0x09: "\\t", 0x22: '\\"', 0x5C: "\\\\"})


def toml_str(value: str) -> str:
    """A TOML basic string (with its quotes) holding `value` exactly."""
    return '"' + str(value).translate(_TOML_ESCAPES) + '"'


# --- JSON that YAML reads the same ------------------------------------------------------------

# Only `"`, `\`, control characters, the C1 range and the characters YAML will not take
# literally (line and paragraph separators, BOM, non-characters) are escaped. Unlike
# `tojson`/`jsonify`, non-ASCII text stays readable, and no surrogate pair is written
# (PyYAML decodes an escaped surrogate pair wrongly).
_JSON_ESCAPES = {
    code: f"\\u{code:04x}"
    for code in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF]
}
_JSON_ESCAPES.update({0x09: "\\t", 0x22: '\\"', 0x5C: "\\\\"})


def json_str(value: str) -> str:
    """A JSON string (with its quotes) holding `value` exactly, that reads the same as a
    YAML double-quoted scalar (`.cookiecutter.json` is both a record and a config file)."""
    return '"' + str(value).translate(_JSON_ESCAPES) + '"'


# --- Python ---------------------------------------------------------------------------------

# The literal lands after `    title: str = ` (17 columns) in a project whose ruff
# line-length is 100: on one line it may take 83 columns. Longer, it goes inside
# parentheses, indented 8, where a line holds 92 columns: one literal if it fits there
# (ruff format would join shorter pieces into it), else implicitly concatenated literals
# of at most 92 columns each, one per line, which ruff check and ruff format leave as
# they are (joined, they could not fit).
PY_ONE_LINE = 83
PY_CHUNK = 92


def _py_literal(text: str) -> str:
    """One ASCII-only Python string literal of `text`, quoted the way ruff's formatter
    prefers (double quotes unless the text holds more double than single quotes)."""
    text = text.replace("\\", "\\\\")
    quote = "'" if text.count('"') > text.count("'") else '"'
    body = text.replace(quote, "\\" + quote)
    # Everything but printable ASCII as a \t, \x, \u or \U escape.
    return (
        quote
        + "".join(c if c.isascii() and c.isprintable() else ascii(c)[1:-1] for c in body)
        + quote
    )


def py_str(value: str) -> str:
    """A Python expression for the string `value`: one literal if it fits the line, else
    a parenthesised run of literals, each line within the project's line length."""
    value = str(value)
    one = _py_literal(value)
    if len(one) <= PY_ONE_LINE:
        return one
    chunks, current = [], ""
    for char in value:
        if current and len(_py_literal(current + char)) > PY_CHUNK:
            chunks.append(current)
            current = char
        else:
            current += char
    lines = "".join(f"        {_py_literal(chunk)}\n" for chunk in [*chunks, current])
    return f"(\n{lines}    )"


# --- Markdown -------------------------------------------------------------------------------

# Characters that start or end Markdown inline syntax (emphasis, code, links, HTML, entities,
# tables, strikethrough, math, headings), escaped wherever they are; `+ - =` only first
# (list item, setext underline), and `.` or `)` after leading digits (ordered list).
MD_SPECIALS = frozenset("\\`*_[]<>&|~$#!{}")


def md_text(value: str) -> str:
    """`value` as Markdown inline text that shows exactly as typed (trimmed), in a heading
    or a paragraph of its own."""
    text = str(value).strip()
    out = []
    for index, char in enumerate(text):
        if (
            char in MD_SPECIALS
            or (index == 0 and char in "+-=")
            or (char in ".)" and text[:index].isdigit())
        ):
            out.append("\\")
        out.append(char)
    return "".join(out)


ESCAPES = [json_str, md_text, py_str, toml_str]


# --- answers with a structure -----------------------------------------------------------------


def answer_forms(context: dict) -> list[str]:
    """Every string answer that holds a `{`, as typed and as each filter above writes it,
    line by line: the post-generation hook takes these for data, not for Jinja leftovers."""
    forms = set()
    for key, value in context.items():
        if isinstance(value, str) and "{" in value and not key.startswith("_"):
            for form in [value, *(escape(value) for escape in ESCAPES)]:
                forms.update(line.strip() for line in form.splitlines() if "{" in line)
    return sorted(forms, key=len, reverse=True)


# --- the default bucket's random suffix ----------------------------------------------------------


def bucket_suffix() -> str:
    """A fresh random suffix for the default bucket name: BUCKET_SUFFIX_LENGTH lowercase hex
    digits, from the operating system's randomness (unguessable, so nobody can take the name
    first)."""
    return secrets.token_hex(BUCKET_SUFFIX_LENGTH // 2)


class BucketSuffix(Extension):
    """`bucket_suffix()` for cookiecutter.json's `deployment_bucket` default. Cookiecutter
    renders that default once, when it resolves the answers; the answer then holds the
    suffix: `.cookiecutter.json` and `.cruft.json` record it, and `cruft update` and a render
    from `.cookiecutter.json` replay it instead of drawing another (a private `_` variable
    would not do: cruft takes those from the template, afresh)."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["bucket_suffix"] = bucket_suffix


# The Jinja extensions that cookiecutter.json's `_extensions` names, one filter each.
JsonStr, MdText, PyStr, TomlStr, AnswerForms, OriginList = map(
    simple_filter, [*ESCAPES, answer_forms, origin_list]
)
Model, DeployPolicyJson = map(simple_filter, [model, deploy_policy_json])


class LoadAfresh(Extension):
    """Last in `_extensions`: once the filters are registered, forget this module and its
    bytecode, so that the next Jinja environment reads the file again. `cruft update`
    renders the service's template version and the new one in one process, from one
    directory; without this the new render would get the old version's filters, or fail
    on a filter the old version lacks (cruft/cruft#253, open)."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        module = sys.modules.pop(__name__, None)
        if module is not None and module.__file__:
            Path(importlib.util.cache_from_source(module.__file__)).unlink(missing_ok=True)
