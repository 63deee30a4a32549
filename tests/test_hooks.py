"""The hooks: each pre-generation rule at the edge of its limit (imported, no bake), the
region list against botocore, answers as data, refusals through real bakes (every problem
at once, nothing left on disk), and the post-generation checks of what was rendered."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.utils import create_env_with_context
from hypothesis import given, settings
from hypothesis import strategies as st

from hooks import post_gen_project as post
from hooks import pre_gen_project as pre
from local_extensions import AWS_REGIONS, model, origin_list
from tests.helpers import (
    CONTEXT,
    DEFAULTS,
    TEMPLATE,
    locked_runtime,
    resolved_answers,
    settings_title,
)

SLUG_MAX = model(DEFAULTS)["limits"]["project_slug"]["max"]


def problems(**answers) -> list[pre.Problem]:
    """The pre-generation hook's problems with the answers, given their model as the hook
    gets it."""
    answers = {**DEFAULTS, **answers}
    return pre.collect_problems(answers, model(answers))


def fields(**answers) -> list[str]:
    return [problem.field for problem in problems(**answers)]


def test_defaults_pass():
    assert problems() == []
    assert set(DEFAULTS) == {k for k in CONTEXT if not k.startswith("_")}


# --- each rule, at the edge of its limits ----------------------------------------------------


def test_slug_limit():
    """The default bucket <slug>-artifacts-<14 hex digits> bounds the slug."""
    assert SLUG_MAX == 63 - len("-artifacts-") - 14 == 38


@pytest.mark.parametrize(
    ("slug", "ok"),
    [
        ("a" * 38, True),
        ("a" * 39, False),
        ("orders-api2", True),
        ("2orders", False),
        ("Orders", False),
        ("orders_api", False),
        ("orders-", False),
        ("-orders", False),
        ("", False),
        ("o", True),
    ],
)
def test_project_slug(slug, ok):
    assert ("project_slug" not in fields(project_slug=slug)) is ok


def test_slug_limit_keeps_every_default_valid():
    """At the slug's limit every default name is valid, in every region and with the options
    that lengthen names; one character more and the default bucket is too long."""
    for length in (SLUG_MAX, SLUG_MAX + 1):
        answers = resolved_answers(project_slug="a" * length)
        assert len(answers["deployment_bucket"]) == length + 25
        for region in AWS_REGIONS:
            for options in ({}, {"environments": "staging-production"}):
                found = fields(**{**answers, "aws_region": region, **options})
                assert found == (
                    [] if length == SLUG_MAX else ["project_slug", "deployment_bucket"]
                )


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("orders_api", True),
        ("_private", True),
        ("class", False),  # keyword
        ("match", False),  # soft keyword
        ("json", False),  # stdlib
        ("logging", False),
        ("typing", False),
        ("fastapi", False),
        ("mangum", False),
        ("pydantic", False),
        ("starlette", False),
        ("pydantic_settings", False),
        ("tests", False),
        ("deploy_policy", False),
        ("cfnlint", False),
        ("samtranslator", False),
        ("Orders", False),
        ("orders-api", False),
        ("1orders", False),
        ("", False),
    ],
)
def test_package_name(name, ok):
    assert ("package_name" not in fields(package_name=name)) is ok


def test_package_name_refuses_every_stdlib_module():
    for name in sys.stdlib_module_names:
        if pre.PACKAGE.fullmatch(name):
            assert "package_name" in fields(package_name=name), name


def requirement_names(lines) -> set[str]:
    names = set()
    for line in lines:
        line = line.split("#")[0].strip()
        if line:
            names.add(line.split("==")[0].split(">")[0].split("[")[0].strip().lower())
    return names


def test_shadowed_modules_follow_the_service_dependencies(render):
    """Every package the lock installs at runtime, and every direct dev dependency, is in
    SERVICE_IMPORTS (whose import names a package_name must not take)."""
    project = render()
    runtime = set(locked_runtime(project, DEFAULTS["python_version"], "aarch64"))
    text = (project / "pyproject.toml").read_text()
    dev_block = re.search(r"^dev = \[(.*?)^\]", text, re.M | re.S).group(1)
    dev = requirement_names(re.findall(r'"([^"]+)"', dev_block))
    assert {"pytest", "ruff", "mypy"} <= dev
    assert {"fastapi", "pydantic-core"} <= runtime
    assert runtime | dev <= set(pre.SERVICE_IMPORTS), (runtime | dev) - set(pre.SERVICE_IMPORTS)


@pytest.mark.parametrize(
    ("bucket", "ok"),
    [
        ("abc", True),
        ("ab", False),
        ("a" * 63, True),
        ("a" * 64, False),
        ("my.bucket-1", True),
        ("My-bucket", False),
        ("my_bucket", False),
        ("-bucket", False),
        ("bucket-", False),
        (".bucket", False),
        ("bucket.", False),
        ("my..bucket", False),
        ("192.168.5.4", False),
        ("192.168.5.4a", True),
        ("xn--bucket", False),
        ("sthree-bucket", False),
        ("sthree-configurator-x", False),
        ("amzn-s3-demo-bucket", False),
        ("bucket-s3alias", False),
        ("bucket--ol-s3", False),
        ("bucket.mrap", False),
        ("bucket--x-s3", False),
        ("bucket--table-s3", False),
        ("bucket-an", False),
        ("bucket-and", True),
    ],
)
def test_deployment_bucket(bucket, ok):
    assert ("deployment_bucket" not in fields(deployment_bucket=bucket)) is ok


def test_bucket_reports_every_broken_rule():
    errors = pre.bucket_name_errors("-My..bucket--ol-s3")
    assert len(errors) == 4, errors


def test_a_refused_bucket_gets_a_valid_example_of_its_own():
    """The example is the default's shape with a fresh random suffix: valid, and never one
    name that everyone who copies it would share."""
    examples = set()
    for _ in range(3):
        (problem,) = pre.check_deployment_bucket(
            {**DEFAULTS, "deployment_bucket": "Bad_Bucket"}, model(DEFAULTS)
        )
        assert re.fullmatch(r"fastapi-lambda-service-artifacts-[0-9a-f]{14}", problem.example)
        assert pre.bucket_name_errors(problem.example) == []
        examples.add(problem.example)
    assert len(examples) == 3


@pytest.mark.parametrize(
    ("region", "ok"),
    [
        ("eu-west-1", True),
        ("ap-southeast-7", True),
        ("mx-central-1", True),
        ("eu-west-9", False),
        ("EU-WEST-1", False),
        ("us-gov-west-1", False),
        ("cn-north-1", False),
        ("", False),
    ],
)
def test_aws_region(region, ok):
    assert ("aws_region" not in fields(aws_region=region)) is ok


def test_region_typo_suggests_the_nearest_code():
    (problem,) = pre.check_aws_region({"aws_region": "eu-wset-1"}, model(DEFAULTS))
    assert "did you mean 'eu-west-1'" in problem.rule
    assert problem.example == "eu-west-1"
    (problem,) = pre.check_aws_region({"aws_region": "us-gov-west-1"}, model(DEFAULTS))
    assert "aws-us-gov partition" in problem.rule


def test_region_list_matches_botocore():
    """The offline list is exactly botocore's `aws` partition (both of its bundled data
    files), and the other partitions' regions are known, so neither can go stale."""
    import botocore

    data = Path(botocore.__file__).parent / "data"
    endpoints = json.loads((data / "endpoints.json").read_text())["partitions"]
    partitions = json.loads((data / "partitions.json").read_text())["partitions"]
    aws, others = set(), {}
    for partition in endpoints:
        for region in partition["regions"]:
            if partition["partition"] == "aws":
                aws.add(region)
            else:
                others[region] = partition["partition"]
    for partition in partitions:
        for region in partition["regions"]:
            if region.endswith("-global"):
                continue
            if partition["id"] == "aws":
                aws.add(region)
            else:
                others[region] = partition["id"]
    assert set(AWS_REGIONS) == aws
    assert others == pre.OTHER_PARTITION_REGIONS


@pytest.mark.parametrize(
    ("role", "ok"),
    [("r" * 64, True), ("r" * 65, False), ("a+=,.@_-b", True), ("a b", False), ("", False)],
)
def test_lambda_role_name(role, ok):
    assert ("lambda_role_name" not in fields(lambda_role_name=role)) is ok


ALL_AT_ONCE = {"deployment_strategy": "all-at-once"}
STAGING_PRODUCTION = {"environments": "staging-production"}


@pytest.mark.parametrize(
    ("stack", "answers", "ok"),
    [
        ("s" * 118, {"ci_provider": "none", **ALL_AT_ONCE}, True),  # <stack>-bootstrap: 128
        ("s" * 119, {"ci_provider": "none", **ALL_AT_ONCE}, False),
        ("s" * 57, {"ci_provider": "github-actions", **ALL_AT_ONCE}, True),  # <stack>-deploy
        ("s" * 58, {"ci_provider": "github-actions", **ALL_AT_ONCE}, False),
        ("s" * 58, {"ci_provider": "travis", **ALL_AT_ONCE}, False),
        ("s" * 52, {"ci_provider": "none"}, True),  # canary: <stack>-pre-traffic role
        ("s" * 53, {"ci_provider": "none"}, False),
        ("s" * 46, {"ci_provider": "travis", **ALL_AT_ONCE, **STAGING_PRODUCTION}, True),
        ("s" * 47, {"ci_provider": "travis", **ALL_AT_ONCE, **STAGING_PRODUCTION}, False),
        ("s" * 41, STAGING_PRODUCTION, True),  # <stack>-production-pre-traffic: 64
        ("s" * 42, STAGING_PRODUCTION, False),
        ("My-Stack-2", {"ci_provider": "none"}, True),
        ("2stack", {"ci_provider": "none"}, False),
        ("my_stack", {"ci_provider": "none"}, False),
        ("", {"ci_provider": "none"}, False),
        # Parameter Store names begin with the stack: not with its reserved prefixes.
        ("aws-orders", {"secrets": "parameter-store"}, False),
        ("SSMOrders", {"secrets": "parameter-store"}, False),
        ("orders-aws", {"secrets": "parameter-store"}, True),
        ("aws-orders", {"secrets": "secrets-manager"}, True),
        ("aws-orders", {}, True),
    ],
)
def test_stack_name(stack, answers, ok):
    assert ("stack_name" not in fields(stack_name=stack, **answers)) is ok


def test_a_reserved_parameter_prefix_is_refused_with_a_valid_example():
    (problem,) = problems(stack_name="AWS-orders", secrets="parameter-store")
    assert problem.field == "stack_name"
    assert "'aws' or 'ssm'" in problem.rule
    assert problems(stack_name=problem.example, secrets="parameter-store") == []


@pytest.mark.parametrize(
    ("name", "answers", "ok"),
    [
        ("f" * 64, ALL_AT_ONCE, True),
        ("f" * 65, ALL_AT_ONCE, False),
        ("f" * 52, {}, True),  # canary: <function>-pre-traffic, the hook
        ("f" * 53, {}, False),
        ("f" * 53, {**ALL_AT_ONCE, **STAGING_PRODUCTION}, True),  # <function>-production
        ("f" * 54, {**ALL_AT_ONCE, **STAGING_PRODUCTION}, False),
        ("f" * 41, STAGING_PRODUCTION, True),
        ("f" * 42, STAGING_PRODUCTION, False),
        ("My_func-1", {}, True),
        ("my.func", {}, False),
        ("", {}, False),
    ],
)
def test_function_name(name, answers, ok):
    assert ("function_name" not in fields(function_name=name, **answers)) is ok


@pytest.mark.parametrize(
    ("role", "answers", "ok"),
    [("r" * 53, STAGING_PRODUCTION, True), ("r" * 54, STAGING_PRODUCTION, False)],
)
def test_lambda_role_name_per_environment(role, answers, ok):
    assert ("lambda_role_name" not in fields(lambda_role_name=role, **answers)) is ok


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("environments", "single", True),
        ("environments", "staging-production", True),
        ("environments", "production", False),
        ("environments", "", False),
        ("deployment_strategy", "canary", True),
        ("deployment_strategy", "all-at-once", True),
        ("deployment_strategy", "blue-green", False),
        ("datastore", "none", True),
        ("datastore", "dynamodb", True),
        ("datastore", "DynamoDB", False),
        ("secrets", "none", True),
        ("secrets", "parameter-store", True),
        ("secrets", "secrets-manager", True),
        ("secrets", "ssm", False),
        ("secrets", "", False),
        ("alarm_email", "", True),
        ("alarm_email", "oncall+api@example.com", True),
        ("alarm_email", "oncall", False),
        ("alarm_email", "a@b.com, c@d.com", False),
        ("alarm_email", 'x"@y.com', False),
    ],
)
def test_release_answers(field, value, ok):
    assert (field not in fields(**{field: value})) is ok


@pytest.mark.parametrize(
    ("stage", "ok"),
    [("s" * 128, True), ("s" * 129, False), ("v1_prod-2", True), ("$default", False), ("", False)],
)
def test_stage_name(stage, ok):
    assert ("stage_name" not in fields(stage_name=stage, api_type="rest")) is ok


@pytest.mark.parametrize(
    ("memory", "ok"),
    [
        ("128", True),
        ("127", False),
        ("10240", True),
        ("10241", False),
        (1024, True),
        ("1024.0", False),
        ("01024", False),
        (" 1024", False),
        ("-128", False),
        ("lots", False),
    ],
)
def test_memory_size(memory, ok):
    assert ("memory_size" not in fields(memory_size=memory)) is ok


@pytest.mark.parametrize(
    ("timeout", "api_type", "ok"),
    [
        ("29", "rest", True),
        ("30", "rest", False),
        ("30", "http", True),
        ("31", "http", False),
        ("1", "rest", True),
        ("0", "http", False),
        ("ten", "http", False),
    ],
)
def test_timeout(timeout, api_type, ok):
    assert ("timeout" not in fields(timeout=timeout, api_type=api_type)) is ok


@pytest.mark.parametrize(
    ("snapstart", "python", "ok"),
    [
        (True, "3.12", True),
        (True, "3.14", True),
        (True, "3.11", False),
        (False, "3.11", True),
        ("yes", "3.11", False),
        ("no", "3.11", True),
    ],
)
def test_snapstart(snapstart, python, ok):
    assert ("snapstart" not in fields(snapstart=snapstart, python_version=python)) is ok


@pytest.mark.parametrize(
    ("email", "ok"),
    [
        ("", True),
        ("a.b+c@mail.example.co", True),
        ("x@y", False),
        ("x@@y.com", False),
        ("x y@y.com", False),
        ('x"@y.com', False),
        ("x@y.com\\", False),
        ("x..y@z.com", False),
        ("no-at.example.com", False),
    ],
)
def test_author_email(email, ok):
    assert ("author_email" not in fields(author_email=email)) is ok


@pytest.mark.parametrize(
    ("repo", "ci", "ok"),
    [
        ("my-org/orders.api_2", "github-actions", True),
        ("my-org/orders", "travis", True),
        ("my-org", "github-actions", False),
        ("a/b/c", "github-actions", False),
        ("-org/x", "github-actions", False),
        ("o" * 39 + "/x", "github-actions", True),
        ("o" * 40 + "/x", "github-actions", False),
        ("org/x*", "github-actions", False),
        ("group/sub/project", "gitlab", True),
        ("group/project", "gitlab", True),
        ("group", "gitlab", False),
        ("group/project.git", "gitlab", False),
        ("group//project", "gitlab", False),
    ],
)
def test_repository(repo, ci, ok):
    assert ("repository" not in fields(repository=repo, ci_provider=ci)) is ok


@pytest.mark.parametrize("field", pre.FREE_TEXT_FIELDS)
@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ('Tab\tquote " colon: #', True),
        ("line\nbreak", False),
        ("cr\rhere", False),
        ("nul\x00", False),
        ("sep\u2028", False),
        ("nel\x85", False),
    ],
)
def test_free_text_is_one_line(field, text, ok):
    assert (field not in fields(**{field: text})) is ok


def test_project_name_is_not_blank():
    assert fields(project_name="  ") == ["project_name"]


def test_every_problem_at_once():
    found = fields(
        project_slug="Bad",
        aws_region="mars-1",
        deployment_bucket="x",
        memory_size="64",
        timeout="300",
        snapstart=True,
        python_version="3.11",
        datastore="postgres",
        secrets="vault",
    )
    assert found == [
        "project_slug",
        "aws_region",
        "deployment_bucket",
        "memory_size",
        "timeout",
        "snapstart",
        "datastore",
        "secrets",
    ]


def test_message_shows_field_value_rule_and_example():
    text = pre.format_problems(problems(memory_size="64"))
    assert "memory_size = '64'" in text
    assert "rule: Lambda memory in MB: an integer from 128 to 10240" in text
    assert "e.g.: 1024" in text


# --- the API's edge: auth, CORS, custom domain ---------------------------------------------

COGNITO = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
JWT = {"auth": "jwt", "jwt_issuer": COGNITO, "jwt_audience": "1example23456789"}
DOMAIN = {"domain_name": "api.example.com", "certificate_arn": CERT}


@pytest.mark.parametrize(
    ("issuer", "api_type", "ok"),
    [
        (COGNITO, "http", True),
        (COGNITO, "rest", True),
        ("https://example.eu.auth0.com/", "http", True),
        ("https://login.microsoftonline.com/0000-aaaa/v2.0", "http", True),
        ("https://idp.example.com:8443/realms/main", "http", True),
        ("https://example.eu.auth0.com/", "rest", False),  # REST: Cognito only
        ("http://idp.example.com", "http", False),
        ("https://idp.example.com/?x=1", "http", False),
        ("https://user@idp.example.com", "http", False),
        ("https://idp.example.com/#f", "http", False),
        ("https://IDP.example.com", "http", False),
        ("https://idp", "http", False),
        ("idp.example.com", "http", False),
        ('https://idp.example.com/"x', "http", False),
        ("https://cognito-idp.eu-west-1.amazonaws.com/us-east-1_AbCdEf123", "http", False),
        ("", "http", False),  # required with auth=jwt
    ],
)
def test_jwt_issuer(issuer, api_type, ok):
    found = fields(**{**JWT, "jwt_issuer": issuer, "api_type": api_type})
    assert ("jwt_issuer" not in found) is ok, found


@pytest.mark.parametrize(
    ("audience", "ok"),
    [
        ("1example23456789", True),
        ("https://api.example.com", True),
        ("api://0000-aaaa", True),
        ("a" * 256, True),
        ("a" * 257, False),
        ("", False),
        ("two words", False),
        ('quote"', False),
        ("back\\slash", False),
    ],
)
def test_jwt_audience(audience, ok):
    assert ("jwt_audience" not in fields(**{**JWT, "jwt_audience": audience})) is ok


def test_jwt_answers_need_auth_jwt():
    """An issuer or audience with auth=none would silently protect nothing."""
    found = problems(jwt_issuer=COGNITO, jwt_audience="x")
    assert [(p.field, p.rule) for p in found] == [
        ("jwt_issuer", "only with auth=jwt (leave it empty)"),
        ("jwt_audience", "only with auth=jwt (leave it empty)"),
    ]
    assert fields(auth="jwt") == ["jwt_issuer", "jwt_audience"]


@pytest.mark.parametrize(
    ("origins", "ok"),
    [
        ("", True),
        ("*", True),
        ("https://app.example.com", True),
        ("https://app.example.com, http://localhost:3000", True),
        ("http://127.0.0.1:8080,https://a.example.org:443", True),
        ("https://app.example.com/", False),  # a path, even /
        ("https://app.example.com/app", False),
        ("app.example.com", False),
        ("ftp://app.example.com", False),
        ("https://App.example.com", False),  # browsers send lowercase
        ("https://app.example.com:0", False),
        ("https://app.example.com:65536", False),
        ("https://app.example.com:080", False),
        ("*,https://app.example.com", False),  # * stands alone
        ("https://a.example.com,https://a.example.com", False),
        ("https://*.example.com", False),
        ("https://app.example.com,", False),
    ],
)
def test_cors_origins(origins, ok):
    assert ("cors_origins" not in fields(cors_origins=origins)) is ok


def test_cors_origins_lists_every_bad_origin():
    (problem,) = problems(cors_origins="https://a.example.com/,ftp://b.example.com")
    assert "'https://a.example.com/'" in problem.rule
    assert "'ftp://b.example.com'" in problem.rule


@pytest.mark.parametrize(
    ("domain", "ok"),
    [
        ("api.example.com", True),
        ("a-b.c1.example.co.uk", True),
        ("xn--bcher-kva.example", True),
        ("example", False),
        ("API.example.com", False),
        ("*.example.com", False),
        ("https://api.example.com", False),
        ("api.example.com/v1", False),
        ("-api.example.com", False),
        ("api..example.com", False),
        ("api.example.123", False),
        ("a" * 64 + ".example.com", False),
    ],
)
def test_domain_name(domain, ok):
    assert ("domain_name" not in fields(**{**DOMAIN, "domain_name": domain})) is ok


@pytest.mark.parametrize(
    ("arn", "region", "ok"),
    [
        (CERT, "eu-west-1", True),
        (CERT, "us-east-1", False),  # a regional endpoint needs its own region's certificate
        (CERT.replace("123456789012", "12345"), "eu-west-1", False),
        (CERT.replace("acm", "iam"), "eu-west-1", False),
        (CERT[:-1], "eu-west-1", False),
        ("", "eu-west-1", False),  # required with domain_name
    ],
)
def test_certificate_arn(arn, region, ok):
    found = fields(**{**DOMAIN, "certificate_arn": arn, "aws_region": region})
    assert ("certificate_arn" not in found) is ok, found


def test_certificate_region_named_in_the_refusal():
    (problem,) = problems(**DOMAIN, aws_region="us-east-1")
    assert "aws_region (us-east-1)" in problem.rule
    assert "this one is in eu-west-1" in problem.rule
    assert problem.example.startswith("arn:aws:acm:us-east-1:")


@pytest.mark.parametrize(
    ("zone", "ok"),
    [
        ("", True),
        ("Z0123456789ABCDEFGHIJ", True),
        ("Z1", True),
        ("z0123456789", False),
        ("/hostedzone/Z0123456789", False),
        ("Z" + "A" * 32, False),
    ],
)
def test_hosted_zone_id(zone, ok):
    assert ("hosted_zone_id" not in fields(**DOMAIN, hosted_zone_id=zone)) is ok


EDGE_FIELDS = {
    "jwt_issuer": JWT,
    "jwt_audience": JWT,
    "cors_origins": {},
    "domain_name": DOMAIN,
    "certificate_arn": DOMAIN,
    "hosted_zone_id": DOMAIN,
}
# Characters that would need escaping in one of the files these answers reach (YAML, JSON,
# Python, Markdown tables and code spans) or that could start Jinja.
UNSAFE = set("\"'\\`{}<>| \t\r\n") | {chr(c) for c in range(32)}


# Near-valid answers (a valid prefix) followed by URL characters and unsafe ones.
EDGE_TEXT = st.sampled_from(
    ["", "https://", "https://idp.example.com", "https://idp.example.com/", "api.example.", "Z1"]
).flatmap(
    lambda prefix: st.text(
        alphabet=st.sampled_from(sorted(UNSAFE | set("az09.:/-_~?#[]@!$&()*+,;=%é😀"))),
        max_size=8,
    ).map(lambda tail: prefix + tail)
)


@settings(max_examples=500, deadline=None)
@given(field=st.sampled_from(sorted(EDGE_FIELDS)), text=EDGE_TEXT)
def test_accepted_edge_answers_need_no_escaping(field, text):
    """The edge answers are rendered into YAML, JSON, Python and Markdown as they are:
    whatever a rule accepts is free of every character that would need escaping there."""
    answers = {**EDGE_FIELDS[field], field: text}
    if field not in fields(**answers):
        # The origins are rendered one by one, without the spaces around the commas.
        rendered = origin_list(text) if field == "cors_origins" else [text]
        assert not set("".join(rendered)) & UNSAFE, text


def test_domain_name_needs_a_single_environment():
    """One custom domain cannot be created by both the staging and the production stack."""
    (problem,) = problems(**DOMAIN, environments="staging-production")
    assert problem.field == "domain_name"
    assert "staging-production" in problem.rule
    assert problems(**DOMAIN) == []


def test_domain_answers_need_domain_name():
    found = problems(certificate_arn=CERT, hosted_zone_id="Z0123456789")
    assert [(p.field, p.rule.split(" (")[0]) for p in found] == [
        ("certificate_arn", "only with domain_name"),
        ("hosted_zone_id", "only with domain_name"),
    ]


# --- answers are data ------------------------------------------------------------------------

HOSTILE = [
    '"""; import os; os.system("touch {marker}") #',
    "'''; import os; os.system('touch {marker}') #",
    '\\"""\\\\"""; __import__("os").system("touch {marker}")',
    "trailing backslash \\",
    "\\",
    '"',
    '""',
    'x\n"""\nimport os; os.system(\'touch {marker}\')\n#',
    "</script><b>&amp;",
]


@pytest.mark.parametrize("hook", ["pre_gen_project.py", "post_gen_project.py"])
def test_answers_enter_the_hooks_as_data(tmp_path, hook):
    """Render the hook as cookiecutter does, with hostile answers, and run it: the answers
    and their model (whose names carry them) come back exactly and nothing of them runs."""
    marker = tmp_path / "pwned"
    values = [h.format(marker=marker) for h in HOSTILE]
    answers = {
        **DEFAULTS,
        "project_name": values[0],
        "stack_name": values[1],
        "function_name": values[2],
        "extra": values,
    }
    context = {"cookiecutter": {**answers, "_extensions": CONTEXT["_extensions"]}}
    env = create_env_with_context(context)
    source = (TEMPLATE / "hooks" / hook).read_text()
    rendered = env.from_string(source).render(**context)
    script = tmp_path / hook
    # Run only the data lines: parse the rendered module and print ANSWERS_JSON, MODEL_JSON.
    script.write_text(
        rendered.replace('if __name__ == "__main__":', "if False:")
        + "\nprint(ANSWERS_JSON)\nprint(MODEL_JSON)\n"
    )
    out = subprocess.run(
        [sys.executable, script], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout
    answers_line, model_line = out.splitlines()
    answers = json.loads(answers_line)
    assert answers["extra"] == values
    assert answers["project_name"] == values[0]
    (env,) = json.loads(model_line)["environments"]
    assert env["stack"] == values[1]
    assert env["hook_function"] == values[2] + "-pre-traffic"
    assert not marker.exists()


# --- refusals through real bakes ---------------------------------------------------------


def write_config(tmp_path: Path) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"replay_dir: {json.dumps(str(tmp_path / 'replay'))}\n"
        f"cookiecutters_dir: {json.dumps(str(tmp_path / 'cookiecutters'))}\n"
    )
    return config


def bake_refused(cookies, tmp_path, capfd, template=TEMPLATE, **extra_context) -> str:
    """Bake (pytest-cookies); assert the hooks refused it and nothing was left on disk."""
    result = cookies.bake(extra_context=extra_context, template=str(template))
    assert isinstance(result.exception, FailedHookException), result.exception
    assert list((tmp_path / "cookies").glob("*/*")) == []  # no project in any bake dir
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err  # nothing of our hooks crashed
    return captured.err


BAD_ANSWERS = [
    ("project_name", {"project_name": "   ", "project_slug": "svc"}),
    # with a bucket of its own: the default bucket of a 39-character slug is too long
    ("project_slug", {"project_slug": "a" * 39, "deployment_bucket": "orders-artifacts"}),
    ("package_name", {"package_name": "json"}),
    ("aws_region", {"aws_region": "eu-wset-1"}),
    ("deployment_bucket", {"deployment_bucket": "Bad_Bucket"}),
    ("lambda_role_name", {"lambda_role_name": "role with spaces"}),
    ("stack_name", {"stack_name": "1stack"}),
    ("function_name", {"function_name": "f" * 65}),
    ("stage_name", {"stage_name": "$default", "api_type": "rest"}),
    ("memory_size", {"memory_size": "127"}),
    ("timeout", {"timeout": "30", "api_type": "rest"}),
    ("snapstart", {"snapstart": True, "python_version": "3.11"}),
    ("author_email", {"author_email": "not-an-email"}),
    ("repository", {"repository": "a/b/c"}),
    ("alarm_email", {"alarm_email": "pager"}),
    ("description", {"description": "two\nlines"}),
    ("jwt_issuer", {"auth": "jwt", "jwt_issuer": "http://idp.example.com", "jwt_audience": "a"}),
    ("jwt_audience", {"auth": "jwt", "jwt_issuer": "https://idp.example.com"}),
    ("cors_origins", {"cors_origins": "https://app.example.com/"}),
    ("domain_name", {"domain_name": "api", "certificate_arn": CERT}),
    ("certificate_arn", {"domain_name": "api.example.com"}),
    ("hosted_zone_id", {"hosted_zone_id": "Z0123456789"}),
]


@pytest.mark.parametrize(("field", "answers"), BAD_ANSWERS, ids=[b[0] for b in BAD_ANSWERS])
def test_bake_refuses_a_bad_answer(cookies, tmp_path, capfd, field, answers):
    err = bake_refused(cookies, tmp_path, capfd, **answers)
    assert "ERROR: 1 answer(s) cannot be used:" in err
    assert f"  - {field} = " in err


# Choice answers outside their list never reach the hook: cookiecutter refuses them first
# (the hook's rule still guards answers replayed from elsewhere).
CHOICE_RULES = {
    "environments": "prod",
    "deployment_strategy": "linear",
    "datastore": "postgres",
    "secrets": "vault",
}


@pytest.mark.parametrize(("field", "value"), CHOICE_RULES.items())
def test_cookiecutter_refuses_a_bad_choice(cookies, tmp_path, field, value):
    result = cookies.bake(extra_context={field: value}, template=str(TEMPLATE))
    assert isinstance(result.exception, ValueError), result.exception
    assert f"{value} provided for choice variable {field}" in str(result.exception)
    assert list((tmp_path / "cookies").glob("*/*")) == []  # no project in any bake dir
    assert [p.field for p in problems(**{field: value})] == [field]


def test_every_rule_has_a_refusing_bake():
    covered = {field for field, _ in BAD_ANSWERS} | set(CHOICE_RULES)
    rule_fields = {field for rule in pre.RULES for field in [rule.__name__.removeprefix("check_")]}
    assert rule_fields - {"free_text"} <= covered


def test_bake_reports_every_bad_answer_at_once(cookies, tmp_path, capfd):
    err = bake_refused(
        cookies,
        tmp_path,
        capfd,
        aws_region="mars-1",
        memory_size="99999",
        deployment_bucket="192.168.5.4",
        author_name="a\nb",
    )
    assert "ERROR: 4 answer(s) cannot be used:" in err
    for field in ("aws_region", "memory_size", "deployment_bucket", "author_name"):
        assert f"  - {field} = " in err


def test_cli_refusal_leaves_nothing(tmp_path):
    """The CLI itself, as a user sees it: our message on stderr, first, ending with a clear
    line; cookiecutter's own report (with its traceback) follows on stdout."""
    out = tmp_path / "out"
    result = subprocess.run(
        [
            Path(sys.executable).parent / "cookiecutter",
            "--no-input",
            "--config-file",
            write_config(tmp_path),
            "--output-dir",
            out,
            TEMPLATE,
            "timeout=31",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "  - timeout = '31'" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("Nothing was generated.")
    assert "Traceback" not in result.stderr
    assert not out.exists() or list(out.iterdir()) == []


# --- the post-generation checks -------------------------------------------------------------


def test_tagged_loader_reads_short_form_tags():
    data = post.load_yaml(
        textwrap.dedent(
            """
            A: !Ref Thing
            B: !GetAtt Fn.Arn
            C: !Sub "x-${AWS::Region}"
            D: !If [Cond, !Ref A, !Ref AWS::NoValue]
            E: !Join ["", [a, b]]
            F: !reference [.setup, script]
            """
        )
    )
    assert data["A"] == {"Ref": "Thing"}
    assert data["B"] == {"Fn::GetAtt": ["Fn", "Arn"]}
    assert data["C"] == {"Fn::Sub": "x-${AWS::Region}"}
    assert data["D"] == {"Fn::If": ["Cond", {"Ref": "A"}, {"Ref": "AWS::NoValue"}]}
    assert data["E"] == {"Fn::Join": ["", ["a", "b"]]}
    assert data["F"] == {"Fn::reference": [".setup", "script"]}


def make_project(tmp_path: Path, template: str, module: str = "handler = object()\n") -> Path:
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "main.py").write_text(module)
    (tmp_path / "template.yml").write_text(textwrap.dedent(template))
    return tmp_path


ANSWERS = {"python_version": "3.13", "architecture": "arm64"}

IN_GLOBALS = """
    Transform: AWS::Serverless-2016-10-31
    Globals:
      Function:
        Runtime: python3.13
        Architectures: [arm64]
        CodeUri: src/
    Resources:
      ApiFunction:
        Type: AWS::Serverless::Function
        Properties:
          Handler: pkg.main.handler
"""

IN_PROPERTIES = """
    Transform: AWS::Serverless-2016-10-31
    Parameters:
      Runtime: {Type: String, Default: python3.13}
    Resources:
      ApiFunction:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: src/
          Handler: pkg.main.handler
          Runtime: !Ref Runtime
          Architectures: [arm64]
"""


@pytest.mark.parametrize("template", [IN_GLOBALS, IN_PROPERTIES], ids=["globals", "properties"])
def test_sam_template_checks_pass(tmp_path, template):
    assert post.check_sam_template(make_project(tmp_path, template), ANSWERS) == []


@pytest.mark.parametrize(
    ("module", "ok"),
    [
        ("handler = object()\n", True),
        ("from mangum import Mangum as handler\n", True),
        ("def handler(event, context):\n    pass\n", True),
        ("async def handler(event, context):\n    pass\n", True),
        ("handler: object = None\n", True),
        ("app = object()\n", False),
        ("def f():\n    handler = 1\n", False),
        ("handler = (\n", False),
    ],
)
def test_handler_must_be_defined_at_module_level(tmp_path, module, ok):
    project = make_project(tmp_path, IN_GLOBALS, module)
    assert (post.check_sam_template(project, ANSWERS) == []) is ok


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("Runtime: python3.13", "Runtime: python3.12"), "Runtime is 'python3.12'"),
        (("[arm64]", "[x86_64]"), "Architectures is ['x86_64']"),
        (("pkg.main.handler", "pkg.nope.handler"), "no module 'pkg.nope'"),
        (("pkg.main.handler", "handler"), "not of the form module.attribute"),
        (("Serverless-2016-10-31", "Serverless-2099"), "Transform is"),
        (("ApiFunction", "Other"), "no AWS::Serverless::Function named ApiFunction"),
    ],
)
def test_sam_template_checks_fail(tmp_path, change, expected):
    project = make_project(tmp_path, IN_GLOBALS.replace(*change))
    assert any(expected in p for p in post.check_sam_template(project, ANSWERS)), expected


def test_deploy_policy_must_name_bucket_and_role(tmp_path):
    (tmp_path / "iam").mkdir()
    policy = tmp_path / "iam" / "deploy-policy.json"
    answers = {"deployment_bucket": "b-1", "lambda_role_name": "r-1"}
    statement = [{"Resource": ["arn:aws:s3:::b-1/*", "arn:aws:iam::*:role/r-1"], "Effect": "Allow"}]
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": statement}))
    assert post.check_deploy_policy(tmp_path, model(answers)) == []
    others = {"deployment_bucket": "other-b", "lambda_role_name": "r"}
    found = post.check_deploy_policy(tmp_path, model(others))
    assert len(found) == 2


def test_each_environment_policy_must_name_its_role(tmp_path):
    (tmp_path / "iam").mkdir()
    answers = {
        "deployment_bucket": "b-1",
        "lambda_role_name": "r-1",
        "environments": "staging-production",
    }
    for env in ("staging", "production"):
        statement = [{"Resource": ["arn:aws:s3:::b-1/*", f"arn:aws:iam::*:role/r-1-{env}"]}]
        path = tmp_path / "iam" / f"deploy-policy-{env}.json"
        path.write_text(json.dumps({"Version": "2012-10-17", "Statement": statement}))
    assert post.check_deploy_policy(tmp_path, model(answers)) == []
    (tmp_path / "iam" / "deploy-policy-production.json").write_text(
        json.dumps({"Statement": [{"Resource": "arn:aws:s3:::b-1/*"}]})
    )
    assert post.check_deploy_policy(tmp_path, model(answers)) == [
        "iam/deploy-policy-production.json: does not name the Lambda role (...:role/r-1-production)"
    ]


def test_answers_are_not_jinja_leftovers(tmp_path):
    (tmp_path / "README.md").write_text("# {{ typed at the prompt }}\n")
    assert post.find_jinja_leftovers(tmp_path, ["{{ typed at the prompt }}"]) == []
    (tmp_path / "other.txt").write_text("{{ cookiecutter.project_name }}\n")
    assert post.find_jinja_leftovers(tmp_path, ["x"]) == ["README.md:1", "other.txt:1"]


def test_braces_typed_at_the_prompt_are_data(bake):
    """Jinja-like braces in free text (typed at the prompt; `{% raw %}` here, since
    cookiecutter renders --no-input answers as Jinja) land in every file as data, also in
    a Python title long enough to be wrapped over several lines: the render passes."""
    name = "Brace {{ name }} é " + "long " * 20 + "{{ end }}"
    raw = "{% raw %}" + name + "{% endraw %}"
    description = "{% raw %}{% not a tag %}{% endraw %}"
    project = bake(project_name=raw, description=description, project_slug="brace")
    assert settings_title(project, "brace") == name
    assert "{{ name }}" in (project / "src/brace/core/config.py").read_text()
    assert "{% not a tag %}" in (project / "pyproject.toml").read_text()


SAM_TRANSFORM = "Transform: AWS::Serverless-2016-10-31"
BREAKAGES = [
    (
        "template.yml",
        ("{{ cookiecutter.package_name }}.main.handler", "{{ cookiecutter.package_name }}.x.h"),
        "template.yml: ApiFunction: Handler",
    ),
    (
        "template.yml",
        (SAM_TRANSFORM, SAM_TRANSFORM + "  # {% raw %}{{ left }}{% endraw %}"),
        "Jinja markup left after rendering",
    ),
    (
        "iam/deploy-policy.json",
        ("deploy_policy_json }}", 'deploy_policy_json }} "oops"'),
        "deploy-policy.json: does",
    ),
]


@pytest.mark.parametrize(
    ("path", "change", "expected"), BREAKAGES, ids=["handler", "jinja", "json"]
)
def test_post_gen_refuses_a_broken_render(cookies, tmp_path, capfd, path, change, expected):
    """Break a rendered artifact through a copy of the template: the post-generation hook
    names the file and the problem, and cookiecutter removes the project."""
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE, template, ignore=shutil.ignore_patterns(".git", ".venv", "rendered"))
    target = template / "{{cookiecutter.project_slug}}" / path
    text = target.read_text()
    assert change[0] in text
    target.write_text(text.replace(change[0], change[1], 1))
    err = bake_refused(cookies, tmp_path, capfd, template=template)
    assert "ERROR: the rendered project failed" in err
    assert expected in err, err


@pytest.mark.parametrize(("architecture", "ok"), [("x86_64", True), ("arm64", False)])
def test_absent_architectures_mean_x86_64(tmp_path, architecture, ok):
    template = "".join(line for line in IN_GLOBALS.splitlines(True) if "Architectures" not in line)
    project = make_project(tmp_path, template)
    answers = {**ANSWERS, "architecture": architecture}
    assert (post.check_sam_template(project, answers) == []) is ok


def test_malformed_sections_are_reported_not_crashed(tmp_path):
    project = make_project(tmp_path, "Transform: 3\nGlobals: []\nResources: [x]\n")
    found = post.check_sam_template(project, ANSWERS)
    assert any("Transform is 3" in p for p in found)
    assert any("no AWS::Serverless::Function named ApiFunction" in p for p in found)


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.text(), st.text(alphabet="\"\\'\n\r\x00{}"), st.lists(st.text())))
def test_no_answer_can_end_the_raw_string(value):
    """Whatever the answer, `r\"\"\"{{ ... | tojson }}\"\"\"` is one Python string literal
    whose JSON gives the answer back."""
    context = {"cookiecutter": {"answer": value}}
    env = create_env_with_context(context)
    literal = env.from_string('r"""{{ cookiecutter | tojson }}"""').render(**context)
    assert json.loads(ast.literal_eval(literal)) == {"answer": value}
