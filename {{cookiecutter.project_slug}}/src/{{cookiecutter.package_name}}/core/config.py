{%- set m = cookiecutter | model -%}
"""Typed settings, read from the environment (and a local `.env` file)."""
{% if m.jwt %}
import os
{%- endif %}
from functools import lru_cache
from typing import Literal

from pydantic import {% if m.secrets.on %}Field, {% endif %}field_validator{% if m.jwt %}, model_validator{% endif %}
from pydantic_settings import BaseSettings, SettingsConfigDict
{%- if m.jwt %}

# Set in every Lambda execution environment (and never by uvicorn on a workstation).
LAMBDA_ENVIRONMENT = ("AWS_LAMBDA_FUNCTION_NAME", "AWS_EXECUTION_ENV", "LAMBDA_TASK_ROOT")


def on_lambda() -> bool:
    """True inside a Lambda execution environment."""
    return any(os.environ.get(name) for name in LAMBDA_ENVIRONMENT)
{%- endif %}


class Settings(BaseSettings):
    """Service settings. Each field can be set with an environment variable of
    the same name in upper case, e.g. ``LOG_LEVEL=DEBUG``."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    title: str = {{ cookiecutter.project_name | py_str }}
    api_prefix: str = "/api/v1"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    # The base path of a custom domain's API mapping (e.g. "/billing" when the API is
    # served at https://api.example.com/billing/). The stage of an execute-api URL is
    # read from each event instead; see core/root_path.py.
    base_path: str = ""
    # Observability (docs/observability.md). The service names the logs, the metrics'
    # `service` dimension and the traces; the namespace groups the CloudWatch metrics.
    service_name: str = "{{ cookiecutter.project_slug }}"
    metrics_namespace: str = "{{ cookiecutter.project_slug }}"
    # The request header that carries a caller's correlation id (one is made if absent);
    # the response carries it back under the same name.
    correlation_id_header: str = "x-correlation-id"
    # Spans for FastAPI's dependencies, endpoint and serialization under each request's
    # span: off by default, they cost more per request than all the rest of the telemetry
    # (docs/performance.md).
    trace_operations: bool = False
{%- if m.origins %}
    # Browser origins allowed to call the API (CORS); API Gateway has the same list.
    cors_origins: list[str] = [
{%- for origin in m.origins %}
        {{ origin | tojson }},
{%- endfor %}
    ]
{%- endif %}
{%- if m.datastore.dynamodb %}
    # The DynamoDB table of the items (template.yml sets ITEMS_TABLE per environment;
    # docs/datastore.md says how to run against a local table).
    items_table: str = {{ m.base.items_table | tojson }}
{%- endif %}
{%- if m.secrets.on %}
    # Secrets (docs/secrets.md): the names this service reads, relative to `secrets_prefix`
    # (template.yml sets SECRETS_PREFIX per environment), e.g. SECRET_NAMES='["api-key"]'.
    # Each is read at start-up, so that a missing one stops the service, naming it; a value
    # stays cached `secrets_max_age` seconds.
    secrets_prefix: str = {{ m.base.secrets_prefix | tojson }}
    secret_names: tuple[str, ...] = ()
    secrets_max_age: int = Field(default=300, ge=0)
{%- endif %}
{%- if m.jwt %}
    # What API Gateway verified the token against; checked again on the claims (core/auth.py).
    jwt_issuer: str = {{ cookiecutter.jwt_issuer | tojson }}
    jwt_audience: str = {{ cookiecutter.jwt_audience | tojson }}
    # Local development only (uvicorn): every request is made by this subject. Refused on
    # Lambda, and ignored for any request that came through API Gateway (docs/api-edge.md).
    local_dev_subject: str = ""
{%- endif %}

    @field_validator("base_path")
    @classmethod
    def _normalize_base_path(cls, value: str) -> str:
        """Accept `billing`, `/billing` or `/billing/` for `/billing`; `/` means none."""
        value = value.strip().strip("/")
        return f"/{value}" if value else ""
{%- if m.jwt %}

    @model_validator(mode="after")
    def _no_local_subject_on_lambda(self) -> "Settings":
        """LOCAL_DEV_SUBJECT would make every caller somebody: refuse to start with it on Lambda."""
        if self.local_dev_subject and on_lambda():
            raise ValueError("LOCAL_DEV_SUBJECT is for local development and is refused on Lambda")
        return self
{%- endif %}


@lru_cache
def get_settings() -> Settings:
    """Return the settings, read once per process."""
    return Settings()
