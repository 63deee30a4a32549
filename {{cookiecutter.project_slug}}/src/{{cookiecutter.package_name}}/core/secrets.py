{%- set m = cookiecutter | model -%}
"""Secrets read at runtime from {{ m.secrets.title }}, cached in the execution environment.

    from {{ cookiecutter.package_name }}.core.secrets import get_secret

    api_key = get_secret("api-key")  # {{ m.base.secrets_prefix }}api-key here

A name is relative to the environment's prefix (`settings.secrets_prefix`, which template.yml
sets per environment); the execution role may read nothing else. A value is read with
Powertools parameters on the execution environment's one client (core/clients.py), kept
`settings.secrets_max_age` seconds, and never put in an environment variable, a log line or
an error. The names the service needs (`settings.secret_names`) are read at start-up by
`require_secrets`. Why Powertools, and how to add or rotate a secret: docs/secrets.md.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from {{ cookiecutter.package_name }}.core.clients import clients
from {{ cookiecutter.package_name }}.core.config import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import {{ "SSMProvider" if m.secrets.ssm else "SecretsProvider" }}

# The error codes that say the secret does not exist (as opposed to access or the network).
MISSING = {{ ("ParameterNotFound" if m.secrets.ssm else "ResourceNotFoundException") | tojson }}


class SecretError(RuntimeError):
    """A secret could not be read. The message names it and says why; it never holds a
    value."""


class MissingSecretError(SecretError):
    """Secrets the service needs are not in {{ m.secrets.title }}."""


@cache
def _provider() -> {{ "SSMProvider" if m.secrets.ssm else "SecretsProvider" }}:
    """The Powertools provider, made on first use: importing it imports boto3."""
    from aws_lambda_powertools.utilities.parameters import {{ "SSMProvider" if m.secrets.ssm else "SecretsProvider" }}

    return {{ "SSMProvider" if m.secrets.ssm else "SecretsProvider" }}(boto3_client=clients.aws({{ m.secrets.service | tojson }}))


def full_name(name: str) -> str:
    """The name in {{ m.secrets.title }} of the secret `name`."""
    return get_settings().secrets_prefix + name


def get_secret(name: str, *, force_fetch: bool = False) -> str:
    """The value of the secret `name` (under the prefix): from the cache while it is younger
    than `secrets_max_age` seconds, else read afresh (`force_fetch`: read afresh now, after a
    rotation)."""
    from aws_lambda_powertools.utilities.parameters import GetParameterError

    settings = get_settings()
    try:
        value = _provider().get(
            full_name(name),
            max_age=settings.secrets_max_age,
            force_fetch=force_fetch,
{%- if m.secrets.ssm %}
            decrypt=True,
{%- endif %}
        )
    except GetParameterError as error:
        raise _error(name, error) from None
    if not isinstance(value, str):
        raise SecretError(f"secret {full_name(name)!r} is not a string{% if m.secrets.secretsmanager %} (SecretBinary){% endif %}")
    return value


def _error(name: str, error: Exception) -> SecretError:
    """Why `name` could not be read, from the SDK's error (Powertools keeps it as the
    context): its code and message, which name the secret, never its value."""
    cause = error.__context__
    code = getattr(cause, "response", {}).get("Error", {}).get("Code", type(cause).__name__)
    kind = MissingSecretError if code == MISSING else SecretError
    return kind(f"secret {full_name(name)!r} could not be read: {code}")


def require_secrets() -> None:
    """Read every secret of `settings.secret_names` (which fills the cache): one missing or
    unreadable stops the start, and the error lists every such name."""
    problems = []
    for name in get_settings().secret_names:
        try:
            get_secret(name)
        except SecretError as error:
            problems.append(error)
    if problems:
        kind = (
            MissingSecretError
            if all(isinstance(p, MissingSecretError) for p in problems)
            else SecretError
        )
        raise kind("; ".join(map(str, problems)))
