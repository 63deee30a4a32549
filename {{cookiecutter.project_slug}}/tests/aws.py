{%- set m = cookiecutter | model -%}
"""AWS answered in-process by moto: no account, no network, no server. Every test runs in
a fresh, empty AWS of its own (the autouse fixture `aws`, loaded by conftest.py): fake
credentials, the service's region{% if m.datastore.dynamodb %}, the items table as template.yml defines it{% endif %}.
The execution environment's clients (core/clients.py) are made once and answered by each
test's AWS, as on Lambda they outlive invocations (making one costs about 0.1 s). The
fixture `calls` records the operations the service's code makes; `on_call` makes one fail."""

from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

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


@cache
def _resources(template: str) -> dict[str, dict[str, object]]:
    """The resources of one of the service's CloudFormation templates, read once."""
    data = deploy_policy_tool().load_cloudformation(ROOT, ROOT / template)
    resources: dict[str, dict[str, object]] = data["Resources"]
    return resources


def template_resource(logical_id: str, template: str = "template.yml") -> dict[str, object]:
    """A resource of one of the service's CloudFormation templates, as plain data (read
    only)."""
    return _resources(template)[logical_id]


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
{%- if m.secrets.on %}
        _provider.cache_clear()  # and so the secrets' cache
{%- endif %}
{%- if m.datastore.dynamodb %}
        create_items_table()
{%- endif %}
        yield
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


Handler = Callable[..., None]
OnCall = Callable[[str, str, Handler], None]


@pytest.fixture
def on_call() -> Iterator[OnCall]:
    """on_call(service, operation, handler): the service's client of `service` runs
    `handler` before each `operation` ("" for every one) for the rest of the test; a handler
    that raises makes the call fail with that error."""
    registered: list[tuple[Any, str, Handler]] = []

    def register(service: str, operation: str, handler: Handler) -> None:
        client = clients.aws(service)
        event = "before-call." + client.meta.service_model.service_id.hyphenize()
        event += f".{operation}" if operation else ""
        client.meta.events.register_first(event, handler)
        registered.append((client, event, handler))

    yield register
    for client, event, handler in registered:
        client.meta.events.unregister(event, handler)


@pytest.fixture
def calls(on_call: OnCall) -> Callable[[str], list[str]]:
    """calls(service): the operations the service's client of `service` makes from now on,
    by name (a list that grows as they happen)."""

    def record(service: str) -> list[str]:
        made: list[str] = []

        def recorder(model: object, **_: object) -> None:
            made.append(str(getattr(model, "name", model)))

        on_call(service, "", recorder)
        return made

    return record


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
