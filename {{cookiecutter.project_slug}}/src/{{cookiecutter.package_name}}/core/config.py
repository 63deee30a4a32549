"""Typed settings, read from the environment (and a local `.env` file)."""

from functools import lru_cache
from typing import Literal

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    @field_validator("base_path")
    @classmethod
    def _normalize_base_path(cls, value: str) -> str:
        """Accept `billing`, `/billing` or `/billing/` for `/billing`; `/` means none."""
        value = value.strip().strip("/")
        return f"/{value}" if value else ""


@lru_cache
def get_settings() -> Settings:
    """Return the settings, read once per process."""
    return Settings()
