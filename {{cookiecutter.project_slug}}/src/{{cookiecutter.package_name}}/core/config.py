"""Typed settings, read from environment variables.

Plain pydantic rather than pydantic-settings: the settings are a few strings from the
environment (set by template.yml on Lambda), and pydantic-settings with python-dotenv
would add about 18 ms to every cold start and 0.2 MB to the zipped artifact.
"""

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, field_validator


class Settings(BaseModel):
    """Service settings. Each field can be set with an environment variable of
    the same name in upper case, e.g. ``LOG_LEVEL=DEBUG``."""

    model_config = ConfigDict(frozen=True)

    title: str = {{ cookiecutter.__project_name_py }}
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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Self:
        """The settings given by `environ`, defaults for the rest."""
        names = (name for name in cls.model_fields if name.upper() in environ)
        return cls.model_validate({name: environ[name.upper()] for name in names})


@lru_cache
def get_settings() -> Settings:
    """Return the settings, read once per process."""
    return Settings.from_env()
