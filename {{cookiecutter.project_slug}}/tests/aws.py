{%- set m = cookiecutter | model -%}
"""AWS answered in-process by moto: no account, no network, no server. Every test runs in
it (the autouse fixture `aws`, loaded by conftest.py): fake credentials, the service's
region{% if m.datastore.dynamodb %}, the items table as template.yml defines it{% endif %}, and the execution
environment's clients made afresh inside it. `calls(service)` records the operations the
service's code makes."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from {{ cookiecutter.package_name }}.core.clients import clients
{%- if m.datastore.dynamodb %}
from {{ cookiecutter.package_name }}.core.config import get_settings
{%- endif %}
{%- if m.secrets.on %}
from {{ cookiecutter.package_name }}.core.secrets import _provider
{%- endif %}

from tests.test_deploy_policy import deploy_policy_tool

ROOT = Path(__file__).resolve().parents[1]
REGION = "{{ cookiecutter.aws_region }}"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def template_resource(logical_id: str, template: str = "template.yml") -> dict[str, object]:
    """A resource of one of the service's CloudFormation templates, as plain data."""
    data = deploy_policy_tool().load_cloudformation(ROOT, ROOT / template)
    resource: dict[str, object] = data["Resources"][logical_id]
    return resource


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        clients._aws.clear()
{%- if m.secrets.on %}
        _provider.cache_clear()
{%- endif %}
{%- if m.datastore.dynamodb %}
        create_items_table()
{%- endif %}
        yield
    clients._aws.clear()
{%- if m.secrets.on %}
    _provider.cache_clear()
{%- endif %}
{%- if m.datastore.dynamodb %}


def create_items_table() -> None:
    """The items table, with the keys and billing mode template.yml gives it."""
    properties = template_resource("ItemsTable")["Properties"]
    assert isinstance(properties, dict)
    clients.aws("dynamodb").create_table(
        TableName=get_settings().items_table,
        **{key: properties[key] for key in ("AttributeDefinitions", "KeySchema", "BillingMode")},
    )
{%- endif %}


def calls(service: str) -> list[str]:
    """The operations the service's client of `service` makes from now on, by name (a list
    that grows as they happen)."""
    made: list[str] = []

    def record(model: object, **_: object) -> None:
        made.append(str(getattr(model, "name", model)))

    client = clients.aws(service)
    event = "before-call." + client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(event, record)
    return made


def role_statement(policy_name: str) -> dict[str, object]:
    """The statement of the execution role's policy `policy_name` in infra/bootstrap.yml (of
    {% if m.multi %}the first environment's role{% else %}the role{% endif %})."""
    role = template_resource("LambdaExecutionRole{{ m.environments[0].id }}", "infra/bootstrap.yml")
    properties = role["Properties"]
    assert isinstance(properties, dict)
    (policy,) = [p for p in properties["Policies"] if p["PolicyName"] == policy_name]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert isinstance(statement, dict)
    return statement
