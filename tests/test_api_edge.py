"""The API's edge: authentication, CORS, the custom domain and throttling (issue 13).

Every combination of the edge answers on both API types renders a template.yml and a deploy
policy that lint clean (cfn-lint with informational findings, parliament) and say what the
answers ask for, checked on the SAM template and on the plain CloudFormation the transform
makes of it. The matrix renders only the infrastructure files, with cookiecutter's own
environment (a full bake per combination would cost ten times as much); full bakes of a
sample, with the rendered project's own tests, `sam validate --lint` and every linter, cover
every value (here and in presets/api-edge.yaml, tests/test_presets.py). Every combination's
deploy policy is checked to be enough, and all of it needed (the rendered
scripts/deploy_policy.py)."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import pytest
from cookiecutter.environment import StrictEnvironment
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config
from jinja2 import FileSystemLoader

from local_extensions import PUBLIC_ROUTES as MODEL_PUBLIC_ROUTES
from tests import deploy_permissions as dp
from tests import stacks
from tests.helpers import (
    BIN,
    EXAMPLE_ISSUER,
    TEMPLATE,
    cfn_lint,
    lint_rendered,
    load_yaml,
    parliament_findings,
    run,
    sam_transform,
)

CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
ORIGINS = ["https://app.example.com", "http://localhost:3000"]
EDGE = {
    "auth": {
        "none": {},
        "jwt": {"auth": "jwt", "jwt_issuer": EXAMPLE_ISSUER, "jwt_audience": "1example23456789"},
    },
    "cors": {
        "none": {},
        "any": {"cors_origins": "*"},
        "list": {"cors_origins": ", ".join(ORIGINS)},
    },
    "domain": {
        "none": {},
        "domain": {"domain_name": "api.example.com", "certificate_arn": CERT},
        "dns": {
            "domain_name": "api.example.com",
            "certificate_arn": CERT,
            "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
        },
    },
}
COMBINATIONS = list(itertools.product(["http", "rest"], *(EDGE[k] for k in EDGE)))
# The routes that stay public with auth=jwt (the model's; tests/test_model.py holds them equal
# to the app's routes outside the versioned API).
PUBLIC_ROUTES = dict(MODEL_PUBLIC_ROUTES)


def edge_answers(api_type: str, auth: str, cors: str, domain: str) -> dict:
    return {
        "api_type": api_type,
        **EDGE["auth"][auth],
        **EDGE["cors"][cors],
        **EDGE["domain"][domain],
    }


def render_files(directory: Path, extra: dict, *relative: str) -> dict:
    """Render files of the project template with cookiecutter's environment and the answers
    `extra` (every other answer at its default); write them under `directory`."""
    context = generate_context(
        context_file=str(TEMPLATE / "cookiecutter.json"), extra_context=extra
    )
    context["cookiecutter"] = prompt_for_config(context, no_input=True)
    env = StrictEnvironment(context=context, keep_trailing_newline=True)
    # As cookiecutter loads them: the project's files, then templates/ beside it.
    env.loader = FileSystemLoader(
        [str(TEMPLATE / "{{cookiecutter.project_slug}}"), str(TEMPLATE / "templates")]
    )
    for rel in relative:
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(env.get_template(rel).render(**context))
    return context["cookiecutter"]


def statements(policy: dict) -> dict:
    return {statement["Sid"]: statement for statement in policy["Statement"]}


# --- what the answers must change ---------------------------------------------------------


def check_throttling(template: dict, plain: dict, api_type: str) -> None:
    parameters = template["Parameters"]
    assert parameters["ThrottlingRateLimit"]["Default"] == 100
    assert parameters["ThrottlingBurstLimit"]["Default"] == 200
    limits = {
        "ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"},
    }
    stages = [r for r in plain["Resources"].values() if r["Type"].endswith("::Stage")]
    (stage,) = stages
    if api_type == "http":
        assert stage["Properties"]["DefaultRouteSettings"] == limits
    else:
        (setting,) = stage["Properties"]["MethodSettings"]
        assert setting == {"ResourcePath": "/*", "HttpMethod": "*", **limits}


def check_access_log(plain: dict, a: dict) -> None:
    """The stage that has the throttling also writes the access log, naming the caller
    the authorizer verified when there is one (docs/observability.md)."""
    http = a["api_type"] == "http"
    (stage,) = [r for r in plain["Resources"].values() if r["Type"].endswith("::Stage")]
    setting = stage["Properties"]["AccessLogSettings" if http else "AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    access_format = json.loads(setting["Format"])
    assert access_format["requestId"] == "$context.requestId"
    if a["auth"] == "jwt":
        assert access_format["principal"] == "$context.authorizer.claims.sub"
    else:
        assert "principal" not in access_format


def routes(plain: dict, api_type: str) -> dict:
    """{(path, method): security} of the API the transform made."""
    api = plain["Resources"]["HttpApi" if api_type == "http" else "RestApi"]
    found = {}
    for path, operations in api["Properties"]["Body"]["paths"].items():
        for method, operation in operations.items():
            method = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
            found[path, method] = operation.get("security")
    return found


def check_auth(template: dict, plain: dict, a: dict) -> None:
    http = a["api_type"] == "http"
    api = template["Resources"]["HttpApi" if http else "RestApi"]["Properties"]
    events = template["Resources"]["ApiFunction"]["Properties"]["Events"]
    found = routes(plain, a["api_type"])
    catch_all = [("/$default", "ANY")] if http else [("/", "ANY"), ("/{proxy+}", "ANY")]
    if a["auth"] == "none":
        assert "Auth" not in api
        assert not set(PUBLIC_ROUTES) & set(events)
        assert all(security is None for security in found.values()), found
        return
    if http:
        assert api["Auth"]["DefaultAuthorizer"] == "JwtAuthorizer"
        jwt = api["Auth"]["Authorizers"]["JwtAuthorizer"]
        assert jwt["IdentitySource"] == "$request.header.Authorization"
        assert jwt["JwtConfiguration"] == {
            "issuer": a["jwt_issuer"],
            "audience": [a["jwt_audience"]],
        }
        authorizer = "JwtAuthorizer"
    else:
        assert api["Auth"]["DefaultAuthorizer"] == "CognitoAuthorizer"
        cognito = api["Auth"]["Authorizers"]["CognitoAuthorizer"]
        pool = a["jwt_issuer"].rsplit("/", 1)[1]
        assert cognito["UserPoolArn"] == {
            "Fn::Sub": "arn:${AWS::Partition}:cognito-idp:eu-west-1:${AWS::AccountId}:userpool/"
            + pool
        }
        authorizer = "CognitoAuthorizer"
    # The catch-all routes need the token; the health check and the docs do not.
    for route in catch_all:
        assert found[route] == [{authorizer: []}], route
    for name, path in PUBLIC_ROUTES.items():
        assert events[name]["Properties"]["Auth"] == {"Authorizer": "NONE"}
        assert found[path, "GET"] == [{"NONE": []}], path


def check_cors(template: dict, plain: dict, a: dict) -> None:
    http = a["api_type"] == "http"
    api = template["Resources"]["HttpApi" if http else "RestApi"]["Properties"]
    origins = [o.strip() for o in a["cors_origins"].split(",")] if a["cors_origins"] else []
    found = routes(plain, a["api_type"])
    preflight = {route for route in found if route[1] == "OPTIONS"}
    if not origins:
        assert "CorsConfiguration" not in api
        assert "Cors" not in api
        assert preflight == set()
        return
    if http:
        cors = api["CorsConfiguration"]
        assert cors["AllowOrigins"] == origins
        assert "authorization" in cors["AllowHeaders"]
        # The app's correlation id, sent by browsers and read back (docs/observability.md).
        assert "x-correlation-id" in cors["AllowHeaders"]
        assert cors["ExposeHeaders"] == ["x-correlation-id"]
        assert "AllowCredentials" not in cors
    else:
        assert "Cors" not in api  # the function answers, for every allowed origin
        # The gateway's own errors carry the header when there is one value to give.
        responses = plain["Resources"]["RestApi"]["Properties"]["Body"].get(
            "x-amazon-apigateway-gateway-responses", {}
        )
        header = "gatewayresponse.header.Access-Control-Allow-Origin"
        expected = {f"'{origins[0]}'"} if len(origins) == 1 else set()
        assert {r["responseParameters"][header] for r in responses.values()} == expected
        assert set(responses) == ({"DEFAULT_4XX", "DEFAULT_5XX"} if expected else set())
    if a["auth"] == "jwt":
        # Preflight requests carry no token: their routes have no authorizer.
        expected = {("/{proxy+}", "OPTIONS")} | ({("/", "OPTIONS")} if not http else set())
        assert preflight == expected
        assert all(found[route] == [{"NONE": []}] for route in preflight)
    else:
        assert preflight == set()  # the catch-all routes carry OPTIONS, unauthenticated


def check_domain(template: dict, plain: dict, policy: dict, a: dict) -> None:
    resources = template["Resources"]
    function = resources["ApiFunction"]["Properties"]
    sids = statements(policy)
    text = json.dumps(policy)
    api_id, api_type = {
        "http": ("HttpApi", "AWS::ApiGatewayV2::Api"),
        "rest": ("RestApi", "AWS::ApiGateway::RestApi"),
    }[a["api_type"]]
    (plain_api,) = [r for r in plain["Resources"].values() if r["Type"] == api_type]
    # The transform writes the property into the API's OpenAPI body, as API Gateway reads it.
    disabled = [
        server.get("x-amazon-apigateway-endpoint-configuration", {}).get(
            "disableExecuteApiEndpoint"
        )
        for server in plain_api["Properties"]["Body"].get("servers", [])
    ]
    outputs = template["Outputs"]
    if not a["domain_name"]:
        assert "DisableExecuteApiEndpoint" not in resources[api_id]["Properties"]
        assert not any(disabled)
        assert "ApiUrl" in outputs
        assert "DomainUrl" not in outputs
        assert not {"ApiDomainName", "ApiMapping", "ApiBasePathMapping", "ApiDnsRecord"} & set(
            resources
        )
        assert "DomainBasePath" not in template["Parameters"]
        assert "BASE_PATH" not in function["Environment"]["Variables"]
        assert "domainnames" not in text
        assert "route53" not in text
        return
    # Clients reach the API through the domain only (its base path, its certificate): the
    # execute-api endpoint answers nothing, and the stack prints no URL of it.
    assert resources[api_id]["Properties"]["DisableExecuteApiEndpoint"] is True
    assert disabled == [True]
    assert "ApiUrl" not in outputs
    http = a["api_type"] == "http"
    domain = resources["ApiDomainName"]
    assert domain["Properties"]["DomainName"] == a["domain_name"]
    base_path = {
        "Fn::If": ["HasDomainBasePath", {"Ref": "DomainBasePath"}, {"Ref": "AWS::NoValue"}]
    }
    if http:
        assert domain["Type"] == "AWS::ApiGatewayV2::DomainName"
        (configuration,) = domain["Properties"]["DomainNameConfigurations"]
        assert configuration == {
            "CertificateArn": a["certificate_arn"],
            "EndpointType": "REGIONAL",
            "SecurityPolicy": "TLS_1_2",
        }
        mapping = plain["Resources"]["ApiMapping"]["Properties"]
        assert mapping["Stage"] == {"Ref": "HttpApiApiGatewayDefaultStage"}
        assert mapping["ApiMappingKey"] == base_path
    else:
        assert domain["Type"] == "AWS::ApiGateway::DomainName"
        assert domain["Properties"]["RegionalCertificateArn"] == a["certificate_arn"]
        assert domain["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
        mapping = plain["Resources"]["ApiBasePathMapping"]["Properties"]
        assert mapping["Stage"] == {"Ref": "RestApiprodStage"}
        assert mapping["BasePath"] == base_path
    # The mapping's base path and the app's BASE_PATH are one parameter.
    assert function["Environment"]["Variables"]["BASE_PATH"] == {"Ref": "DomainBasePath"}
    assert template["Parameters"]["DomainBasePath"]["Default"] == ""
    assert outputs["DomainUrl"]["Value"] == {
        "Fn::If": [
            "HasDomainBasePath",
            {"Fn::Sub": f"https://{a['domain_name']}/${{DomainBasePath}}/"},
            f"https://{a['domain_name']}/",
        ]
    }
    domains = "arn:aws:apigateway:eu-west-1::/domainnames"
    assert sids["ManageTheCustomDomainAndItsMapping"]["Resource"] == [
        domains,
        f"{domains}/{a['domain_name']}",
        f"{domains}/{a['domain_name']}/*",
        "arn:aws:apigateway:eu-west-1::/tags/arn%3Aaws%3Aapigateway%3Aeu-west-1%3A%3A"
        f"%2Fdomainnames%2F{a['domain_name']}",
    ]
    if not a["hosted_zone_id"]:
        assert "ApiDnsRecord" not in resources
        assert "route53" not in text
        return
    record = resources["ApiDnsRecord"]["Properties"]
    assert record["HostedZoneId"] == a["hosted_zone_id"]
    assert (record["Name"], record["Type"]) == (a["domain_name"], "A")
    assert record["AliasTarget"]["DNSName"] == {
        "Fn::GetAtt": ["ApiDomainName", "RegionalDomainName"]
    }
    zone = f"arn:aws:route53:::hostedzone/{a['hosted_zone_id']}"
    change = sids["ChangeOnlyTheDomainsAliasRecord"]
    assert (change["Action"], change["Resource"]) == ("route53:ChangeResourceRecordSets", zone)
    assert change["Condition"] == {
        "ForAllValues:StringEquals": {
            "route53:ChangeResourceRecordSetsNormalizedRecordNames": [a["domain_name"]],
            "route53:ChangeResourceRecordSetsRecordTypes": ["A"],
        }
    }
    assert sids["ReadTheHostedZone"]["Resource"] == zone


# --- the tests -------------------------------------------------------------------------------


@pytest.mark.parametrize(("api_type", "auth", "cors", "domain"), COMBINATIONS, ids=lambda v: str(v))
def test_every_edge_combination(tmp_path, api_type, auth, cors, domain):
    a = render_files(
        tmp_path,
        edge_answers(api_type, auth, cors, domain),
        "template.yml",
        "iam/deploy-policy.json",
        "samconfig.toml",
        "infra/bootstrap.yml",
        ".cookiecutter.json",
        "scripts/deploy_policy.py",
    )
    assert cfn_lint(tmp_path / "template.yml", a["aws_region"]) == []
    assert stacks.cloudformation_findings(tmp_path) == []
    assert stacks.fit_problems(tmp_path) == []
    policy_text = (tmp_path / "iam" / "deploy-policy.json").read_text()
    assert parliament_findings(policy_text) == []
    template = load_yaml(tmp_path / "template.yml")
    plain = sam_transform(template, a["aws_region"])
    check_throttling(template, plain, api_type)
    check_access_log(plain, a)
    check_auth(template, plain, a)
    check_cors(template, plain, a)
    check_domain(template, plain, json.loads(policy_text), a)
    # Enough, and all of it needed: every handler call of every resource (the rendered tool).
    tool = dp.tool(tmp_path)
    calls, _ = tool.deploy_calls(tmp_path)
    assert tool.unmet(json.loads(policy_text), calls) == []
    assert tool.unused(json.loads(policy_text), calls) == []


@pytest.mark.parametrize(
    ("api_type", "domain"), list(itertools.product(["http", "rest"], EDGE["domain"]))
)
def test_bootstrap_with_the_domain_lints_clean(tmp_path, api_type, domain):
    """The bootstrap includes the deploy policy: the domain's statements lint there too."""
    extra = {"api_type": api_type, **EDGE["domain"][domain]}
    a = render_files(tmp_path, extra, "infra/bootstrap.yml", "iam/deploy-policy.json")
    assert cfn_lint(tmp_path / "infra" / "bootstrap.yml", a["aws_region"]) == []


def test_a_check_can_fail(tmp_path):
    """The checks notice a template whose authorizer, origins, domain or access log drifted."""
    a = render_files(
        tmp_path,
        edge_answers("http", "jwt", "list", "dns"),
        "template.yml",
        "iam/deploy-policy.json",
    )
    template = load_yaml(tmp_path / "template.yml")
    plain = sam_transform(template, a["aws_region"])
    policy = json.loads((tmp_path / "iam" / "deploy-policy.json").read_text())
    with pytest.raises(AssertionError):
        check_auth(template, plain, {**a, "jwt_audience": "another"})
    with pytest.raises(AssertionError):
        check_cors(template, plain, {**a, "cors_origins": "https://app.example.com"})
    with pytest.raises(AssertionError):
        check_domain(template, plain, policy, {**a, "hosted_zone_id": "Z999"})
    with pytest.raises(AssertionError):
        check_access_log(plain, {**a, "auth": "none"})
    plain["Resources"]["HttpApi"]["Properties"]["Body"]["paths"]["/ping"]["get"]["security"] = [
        {"JwtAuthorizer": []}
    ]
    with pytest.raises(AssertionError):
        check_auth(template, plain, a)


# --- full bakes: the rendered project's own tests, and the real SAM CLI ----------------------

REST_SAMPLE = edge_answers("rest", "jwt", "any", "domain")
HTTP_SAMPLE = edge_answers("http", "jwt", "list", "dns")


def test_rest_edge_bake_passes_its_own_tests(bake, service_python):
    """REST, Cognito authorizer, any origin, a custom domain: every linter, and the
    project's own tests (real signed JWTs through the handler, preflight, the domain's
    docs). The HTTP API's counterpart is presets/api-edge.yaml."""
    project = bake(**REST_SAMPLE)
    lint_rendered(project, service_python)
    tests = {path.name for path in (project / "tests").iterdir()}
    assert {"test_auth.py", "test_cors.py"} <= tests


@pytest.mark.slow
@pytest.mark.parametrize("sample", [HTTP_SAMPLE, REST_SAMPLE], ids=["http", "rest"])
def test_sam_validate_lint(tmp_path, sample):
    """`sam validate --lint` on a sample that, with the defaults' own run in
    test_infrastructure.py, covers every value of every edge answer."""
    render_files(tmp_path, sample, "template.yml")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    for variable in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(variable, None)
    result = run(
        [BIN / "sam", "validate", "--lint", "--region", "eu-west-1"], cwd=tmp_path, env=env
    )
    assert "is a valid SAM Template" in result.stdout + result.stderr
