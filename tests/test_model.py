"""The model of the answers (`model` in local_extensions.py), on its own: what it derives
for given answers, written out here by hand so that a wrong name or limit fails; that its
choices and default names are cookiecutter.json's; that it never raises, whatever the
answers; and that docs/prompts.md states its limits. (The rendered tests/test_auth.py
holds the app's routes outside the versioned API equal to the model's public routes.) The
templates, both hooks and the other tests take their facts from it."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from local_extensions import (
    ACCESS_LOG_HEAD,
    DEFAULT_NAMES,
    deploy_policy,
    environment,
    model,
)
from tests.helpers import CHOICES, CONTEXT, DEFAULTS, EXAMPLE_ISSUER

CUSTOM = {
    **DEFAULTS,
    "stack_name": "acme-orders",
    "function_name": "acme-orders-fn",
    "lambda_role_name": "acme-orders-exec",
    "deployment_bucket": "acme-orders-artifacts",
}


def test_choices_are_cookiecutter_jsons():
    """Every choice the model gives a meaning has exactly cookiecutter.json's values."""
    for key, values in model(DEFAULTS)["choices"].items():
        assert values == CHOICES[key], key


def test_default_names_are_cookiecutter_jsons():
    """The defaults the slug limit is computed from are the ones cookiecutter.json derives."""
    for key, shape in DEFAULT_NAMES.items():
        jinja = shape.replace("{slug}", "{{ cookiecutter.project_slug }}").replace(
            "{suffix}", "{{ bucket_suffix() }}"
        )
        assert CONTEXT[key] == jinja, key


def test_names_of_one_stack():
    facts = model(CUSTOM)
    assert not facts["multi"]
    (env,) = facts["environments"]
    assert env == facts["sam"] == facts["any_env"]
    assert {key: env[key] for key in env if key not in ("hook_log_group",)} == {
        "name": "",
        "id": "",
        "config_env": "default",
        "deploy_job": "deploy",
        "deploy_stage": "deploy",
        "suffix": "",
        "stack": "acme-orders",
        "function": "acme-orders-fn",
        "hook_function": "acme-orders-fn-pre-traffic",
        "lambda_role": "acme-orders-exec",
        "codedeploy_role": "acme-orders-codedeploy",
        "pre_traffic_role": "acme-orders-pre-traffic",
        "deploy_identity": "acme-orders-deploy",
        "function_log_group": "/aws/lambda/acme-orders-fn",
        "access_log_group": "/aws/vendedlogs/apigateway/acme-orders-access",
        "alarm_topic": "acme-orders-alarms",
        "codedeploy_app": "acme-orders-ServerlessDeploymentApplication-*",
        "companion_stack": "acme-orders-e3c3ec62-CompanionStack",  # md5("acme-orders")
        "code_bucket_stack": "acme-orders-e3c3ec62-WebFunctionCode",
        "artifact_prefix": "acme-orders",
        "policy_file": "iam/deploy-policy.json",
        "items_table": "acme-orders-items",
        "secrets_prefix": "",
        "secrets_resource": "",
        "alarm_email": "",
    }
    assert env["hook_log_group"] == "/aws/lambda/acme-orders-fn-pre-traffic"
    assert facts["bootstrap_stack"] == "acme-orders-bootstrap"
    assert facts["alarm_key_alias"] == "alias/acme-orders-alarms"


def test_names_of_two_environments():
    facts = model({**CUSTOM, "environments": "staging-production"})
    assert facts["multi"]
    staging, production = facts["environments"]
    assert (staging["name"], staging["id"], staging["config_env"]) == (
        "staging",
        "Staging",
        "staging",
    )
    assert production["stack"] == "acme-orders-production"
    assert production["hook_function"] == "acme-orders-fn-production-pre-traffic"
    assert production["lambda_role"] == "acme-orders-exec-production"
    assert production["pre_traffic_role"] == "acme-orders-production-pre-traffic"
    assert production["codedeploy_role"] == "acme-orders-production-codedeploy"
    assert production["deploy_identity"] == "acme-orders-production-deploy"
    assert production["deploy_job"] == "deploy-production"
    assert production["deploy_stage"] == "deploy production"
    assert production["policy_file"] == "iam/deploy-policy-production.json"
    assert production["code_bucket_stack"] == "acme-orders-production-5b6f0813-WebFunctionCode"
    # SAM CLI hashes the real stack name: no such name for a placeholder
    assert "companion_stack" not in facts["sam"]
    assert staging["access_log_group"] == "/aws/vendedlogs/apigateway/acme-orders-staging-access"
    # template.yml names with the Environment parameter; the docs with a placeholder.
    assert facts["sam"]["hook_function"] == "acme-orders-fn-${Environment}-pre-traffic"
    assert facts["sam"]["lambda_role"] == "acme-orders-exec-${Environment}"
    assert facts["any_env"]["hook_log_group"] == "/aws/lambda/acme-orders-fn-<env>-pre-traffic"
    assert facts["base"]["deploy_identity"] == "acme-orders-deploy"
    # One key for both environments' topics, named after the stack answer.
    assert facts["alarm_key_alias"] == "alias/acme-orders-alarms"
    assert environment(facts, "staging") is staging
    # Only production's alarms notify the address; staging's notify nobody.
    paged = model({**CUSTOM, "environments": "staging-production", "alarm_email": "a@b.example"})
    assert [env["alarm_email"] for env in paged["environments"]] == ["", "a@b.example"]
    assert model({**CUSTOM, "alarm_email": "a@b.example"})["environments"][0]["alarm_email"] == (
        "a@b.example"
    )
    with pytest.raises(KeyError):
        environment(facts, "")


ALL_AT_ONCE = {"deployment_strategy": "all-at-once"}
TWO = {"environments": "staging-production"}


@pytest.mark.parametrize(
    ("answers", "limits"),
    [
        ({}, {"stack_name": 52, "function_name": 52, "lambda_role_name": 64}),
        (TWO, {"stack_name": 41, "function_name": 41, "lambda_role_name": 53}),
        ({**ALL_AT_ONCE, "ci_provider": "none"}, {"stack_name": 118, "function_name": 64}),
        ({**ALL_AT_ONCE, "ci_provider": "travis"}, {"stack_name": 57}),
        ({**ALL_AT_ONCE, **TWO}, {"stack_name": 46, "function_name": 53}),
        ({"ci_provider": "none", **TWO}, {"stack_name": 41}),
    ],
)
def test_name_limits(answers, limits):
    """The limits the pre-generation hook enforces, for the options that move them."""
    found = model({**DEFAULTS, **answers})["limits"]
    assert {key: found[key]["max"] for key in limits} == limits
    assert found["project_slug"]["max"] == 38
    assert found["project_slug"]["name"] == "<slug>-artifacts-<suffix>"
    assert found["stage_name"]["max"] == 128


def test_the_longest_names_fit_exactly():
    """At its limit, each answer's longest derived name is exactly as long as allowed."""
    for answers in [{}, TWO, ALL_AT_ONCE, {**ALL_AT_ONCE, **TWO, "ci_provider": "none"}]:
        limits = model({**DEFAULTS, **answers})["limits"]
        longest = {
            "stack_name": (
                "s",
                ["stack", "codedeploy_role", "pre_traffic_role", "deploy_identity"],
            ),
            "function_name": ("f", ["function", "hook_function"]),
            "lambda_role_name": ("r", ["lambda_role"]),
        }
        names = {key: letter * limits[key]["max"] for key, (letter, _) in longest.items()}
        facts = model({**DEFAULTS, **answers, **names})
        canary = facts["canary"]
        ci = facts["ci"]["pipeline"]
        for key, (_, derived) in longest.items():
            used = [
                name
                for name in derived
                if name not in ("codedeploy_role", "pre_traffic_role", "hook_function") or canary
            ]
            used = [name for name in used if name != "deploy_identity" or ci]
            if key == "stack_name" and not (canary or ci):
                assert len(facts["bootstrap_stack"]) == limits[key]["fits"] == 128
                continue
            length = max(len(env[name]) for env in facts["environments"] for name in used)
            assert length == limits[key]["fits"], (answers, key)


def test_edge_facts():
    facts = model(
        {
            **DEFAULTS,
            "api_type": "rest",
            "auth": "jwt",
            "jwt_issuer": EXAMPLE_ISSUER,
            "cors_origins": " https://a.example.com ,http://localhost:3000",
            "domain_name": "api.example.com",
            "hosted_zone_id": "Z1",
        }
    )
    assert facts["cognito"] == {
        "host_region": "eu-west-1",
        "region": "eu-west-1",
        "id": "eu-west-1_AbCdEf123",
    }
    assert facts["origins"] == ["https://a.example.com", "http://localhost:3000"]
    assert facts["dns"]
    assert facts["domain"] == "api.example.com"
    assert facts["preflight_routes"] == [["RootPreflight", "/"], ["Preflight", "/{proxy+}"]]
    assert facts["api"]["id"] == "RestApi"
    assert facts["api"]["timeout_max"] == 29
    assert (
        model({**DEFAULTS, "auth": "jwt", "jwt_issuer": "https://idp.example.com"})["cognito"]
        is None
    )
    assert not model({**DEFAULTS, "hosted_zone_id": "Z1"})["dns"]  # no domain, no record


@pytest.mark.parametrize("api_type", list(ACCESS_LOG_HEAD))
@pytest.mark.parametrize("auth", ["none", "jwt"])
def test_access_log_format(api_type, auth):
    """Folded (each line break a space), the access log lines are one JSON object."""
    lines = model({**DEFAULTS, "api_type": api_type, "auth": auth})["access_log"]
    fields = json.loads(" ".join(lines))
    assert fields["requestId"] == "$context.requestId"
    assert ("principal" in fields) is (auth == "jwt")
    assert ("routeKey" in fields) is (api_type == "http")
    assert ("resourcePath" in fields) is (api_type == "rest")
    assert all(value.startswith("$context.") for value in fields.values())


ANY_VALUE = st.one_of(
    st.text(max_size=40),
    st.booleans(),
    st.none(),
    st.integers(),
    st.sampled_from(["staging-production", "canary", "rest", "jwt", "gitlab", "*", "yes"]),
)


@settings(max_examples=300, deadline=None)
@given(answers=st.dictionaries(st.sampled_from(sorted(CONTEXT)), ANY_VALUE))
def test_the_model_never_raises(answers):
    """Whatever the answers (the pre-generation hook refuses the bad ones, and needs the
    model to do so), the model is computed, and is JSON data as the hooks receive it."""
    facts = model({**DEFAULTS, **answers})
    assert json.loads(json.dumps(facts)) == facts
    assert facts["environments"]


def test_every_policy_reaches_only_its_environment():
    """Each environment's deploy policy names its own stack and none of the other's."""
    facts = model({**CUSTOM, "environments": "staging-production"})
    for env, other in [("staging", "production"), ("production", "staging")]:
        text = json.dumps(deploy_policy(facts, env))
        assert f"acme-orders-{env}" in text
        assert f"acme-orders-{other}" not in text


# --- docs/prompts.md states the model's limits and cookiecutter.json's choices ----------------


def prompt_rows() -> dict[str, str]:
    """{answer: its row} of the table in docs/prompts.md."""
    from tests.helpers import TEMPLATE

    rows = {}
    for line in (TEMPLATE / "docs" / "prompts.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 4:
            rows[cells[0].strip("`")] = line
    return rows


def limit(field: str, **answers) -> int:
    return model({**DEFAULTS, **answers})["limits"][field]["max"]


def test_prompts_doc_has_a_row_per_answer():
    assert set(prompt_rows()) == {key for key in CONTEXT if not key.startswith("_")}


def test_prompts_doc_states_the_models_limits():
    """Each name limit docs/prompts.md writes is the one the model computes (and the
    pre-generation hook enforces), for the options the row names."""
    rows = prompt_rows()
    canary, once, none = {}, {"deployment_strategy": "all-at-once"}, {"ci_provider": "none"}
    expected = {
        "project_slug": [f"at most {limit('project_slug')} characters"],
        "lambda_role_name": [
            f"1 to {limit('lambda_role_name')} letters",
            f"({limit('lambda_role_name', **TWO)} with `staging-production`",
        ],
        "stack_name": [
            f"`<stack>-pre-traffic` with canary ({limit('stack_name', **canary)}; "
            f"{limit('stack_name', **canary, **TWO)} with `staging-production`)",
            f"`<stack>-deploy` with a CI provider ({limit('stack_name', **once)}; "
            f"{limit('stack_name', **once, **TWO)})",
            f"`<stack>-bootstrap` fits {limit('stack_name', **once, **none) + len('-bootstrap')}",
        ],
        "function_name": [
            f"1 to {limit('function_name', **once)} letters",
            f"{limit('function_name', **canary)} with canary",
            f"{limit('function_name', **once, **TWO)} with `staging-production`",
            f"{limit('function_name', **canary, **TWO)} with both",
        ],
        "stage_name": [f"1 to {limit('stage_name')} letters"],
        "timeout": [
            f"from 1 to {model({**DEFAULTS, 'api_type': 'rest'})['api']['timeout_max']} (REST) "
            f"or {model({**DEFAULTS, 'api_type': 'http'})['api']['timeout_max']} (HTTP API)"
        ],
    }
    for field, phrases in expected.items():
        for phrase in phrases:
            assert phrase in rows[field], (field, phrase)


def test_prompts_doc_lists_every_choice():
    """A choice's row names each of its values (cookiecutter.json's lists)."""
    rows = prompt_rows()
    for key, values in CHOICES.items():
        for value in values:
            assert re.search(rf"(?<![\w.-]){re.escape(value)}(?![\w.-])", rows[key]), (key, value)
