{%- set m = cookiecutter | model -%}
"""Secrets from {{ m.secrets.title }} (core/secrets.py), answered in-process by moto
(tests/aws.py): a read under the prefix, its cache, a missing secret stopping the start with
its name, no value in an error or a log line, and the execution role's grant (exactly the
call the code makes, under the prefix only)."""

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any, cast

import boto3
import pytest

from {{ cookiecutter.package_name }}.core.clients import clients
from {{ cookiecutter.package_name }}.core.config import get_settings
from {{ cookiecutter.package_name }}.core.secrets import (
    MissingSecretError,
    SecretError,
    _provider,
    full_name,
    get_secret,
    require_secrets,
)

from tests.aws import FAKE_CREDENTIALS, REGION, role_statement

VALUE = "s3cr3t-v4lue-that-must-not-leak"
SERVICE = {{ m.secrets.service | tojson }}


Calls = Callable[[str], list[str]]


@cache
def admin(service: str) -> Any:
    """A client of the test's own, as the administrator's who stores secrets (made once)."""
    # boto3-stubs types each client by its service's literal name; this takes any.
    client = cast("Callable[..., Any]", boto3.client)
    return client(service, region_name=REGION)


def store(name: str, value: str) -> None:
    """Put a secret `name` (under the prefix) in {{ m.secrets.title }}, as docs/secrets.md
    does: with a client of the test's own (the service's records its calls)."""
{%- if m.secrets.ssm %}
    admin("ssm").put_parameter(
        Name=full_name(name), Value=value, Type="SecureString", Overwrite=True
    )
{%- else %}
    client = admin("secretsmanager")
    try:
        client.create_secret(Name=full_name(name), SecretString=value)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=full_name(name), SecretString=value)
{%- endif %}


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[dict[str, str]], None]]:
    """Set the service's settings through its environment variables, as Lambda does."""

    def set_(variables: dict[str, str]) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield set_
    get_settings.cache_clear()


def test_a_secret_is_read_under_the_prefix_and_cached(calls: Calls) -> None:
    store("api-key", VALUE)
    made = calls(SERVICE)
    assert full_name("api-key") == "{{ m.base.secrets_prefix }}api-key"
    assert get_secret("api-key") == VALUE
    store("api-key", "rotated")
    assert get_secret("api-key") == VALUE  # from the cache: one call for both
    assert len(made) == 1
    assert get_secret("api-key", force_fetch=True) == "rotated"  # after a rotation
    assert len(made) == 2


def test_the_cache_expires_after_max_age(
    settings: Callable[[dict[str, str]], None], calls: Calls
) -> None:
    settings({"SECRETS_MAX_AGE": "0"})
    store("api-key", VALUE)
    made = calls(SERVICE)
    get_secret("api-key")
    get_secret("api-key")
    assert len(made) == 2


def test_a_missing_secret_is_named_and_no_value_leaks(
    settings: Callable[[dict[str, str]], None], service_logs: Callable[[], list[dict[str, Any]]]
) -> None:
    store("present", VALUE)
    settings({"SECRET_NAMES": json.dumps(["present", "absent", "gone"])})
    with pytest.raises(MissingSecretError) as missing:
        require_secrets()
    message = str(missing.value)
    assert full_name("absent") in message
    assert full_name("gone") in message
    assert full_name("present") not in message
    assert VALUE not in message
    assert VALUE not in json.dumps(service_logs())
    assert VALUE not in json.dumps(dict(os.environ))


def test_required_secrets_are_read_at_start_up(
    settings: Callable[[dict[str, str]], None], calls: Calls
) -> None:
    store("api-key", VALUE)
    settings({"SECRET_NAMES": '["api-key"]'})
    made = calls(SERVICE)
    require_secrets()
    get_secret("api-key")  # already in the cache
    assert len(made) == 1


def test_other_errors_are_not_missing_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setattr(clients, "_aws", {})  # a client made now, for this test only
    _provider.cache_clear()
    with pytest.raises(SecretError) as error:
        get_secret("api-key")
    assert not isinstance(error.value, MissingSecretError)
    assert full_name("api-key") in str(error.value)
    _provider.cache_clear()


def test_the_service_does_not_start_without_its_secrets() -> None:
    """Importing the app (what Lambda's init does) with a secret missing fails, naming it."""
    program = "\n".join(
        [
            "from moto import mock_aws",
            "with mock_aws():",
            "    import {{ cookiecutter.package_name }}.main",
        ]
    )
    env = {
        **os.environ,
        **FAKE_CREDENTIALS,
        "AWS_DEFAULT_REGION": REGION,
        "SECRET_NAMES": '["api-key"]',
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    started = subprocess.run(  # noqa: S603 (this interpreter, a fixed program)
        [sys.executable, "-c", program], env=env, capture_output=True, text=True
    )
    assert started.returncode != 0
    assert "MissingSecretError" in started.stderr
    assert full_name("api-key") in started.stderr


def test_the_execution_role_reads_only_under_the_prefix(calls: Calls) -> None:
    store("api-key", VALUE)
    made = calls(SERVICE)
    get_secret("api-key")
    statement = role_statement("secrets")
    assert sorted(f"{SERVICE}:{name}" for name in set(made)) == statement["Action"]
    resource = statement["Resource"]
    assert isinstance(resource, dict)
    assert resource["Fn::Sub"].endswith(":{{ m.environments[0].secrets_resource }}"), resource
