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
