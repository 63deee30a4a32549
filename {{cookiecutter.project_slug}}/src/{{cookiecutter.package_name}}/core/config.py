"""Typed settings, read from the environment (and a local `.env` file)."""

from functools import lru_cache
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Service settings. Each field can be set with an environment variable of
    the same name in upper case, e.g. ``LOG_LEVEL=DEBUG``."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    title: str = {{ cookiecutter.__project_name_py }}
    api_prefix: str = "/api/v1"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"


@lru_cache
def get_settings() -> Settings:
    """Return the settings, read once per process."""
    return Settings()
