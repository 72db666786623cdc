"""The service's settings: environment variables, a TOML file, and what the command line gives.

Every setting has an environment variable ``SERVICEGRID_<NAME>`` (``SERVICEGRID_API_KEYS``,
``SERVICEGRID_CORS_ORIGINS`` …) and a key of the same name (lower case) in a TOML file named by
``SERVICEGRID_SETTINGS_FILE`` or given to :func:`load_settings`. What is given in code or on the
command line wins over the environment, which wins over the file, which wins over the defaults.
Lists may be written as JSON (``["a", "b"]``) or comma-separated (``a,b``) in the environment.

``servicegrid serve --workers N`` starts N processes; each reads its settings from the
environment the command sets (``SERVICEGRID_WORKSPACE``, ``SERVICEGRID_NETWORK`` and the file), so
every worker runs with the same settings.

Examples
--------
>>> s = ApiSettings(api_keys="key-0001, key-0002", cors_origins="https://grid.example.cn")
>>> s.api_keys, s.cors_origins, s.read_only
(['key-0001', 'key-0002'], ['https://grid.example.cn'], False)
>>> ApiSettings().read_only
True
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ..errors import InputError

__all__ = ["SETTINGS_FILE_VARIABLE", "ApiSettings", "load_settings"]

SETTINGS_FILE_VARIABLE = "SERVICEGRID_SETTINGS_FILE"

_FILE: ContextVar[Path | None] = ContextVar("servicegrid_settings_file", default=None)

TextList = Annotated[list[str], NoDecode]


class ApiSettings(BaseSettings):
    """Settings of the HTTP service (see the module notes for where they come from)."""

    model_config = SettingsConfigDict(env_prefix="SERVICEGRID_", extra="ignore", frozen=True)

    workspace: Path | None = Field(None, description="Workspace GeoPackage the service answers from.")
    network: Path | None = Field(
        None, description="Walking network file (OSM or GraphML); default: the workspace's roads layer."
    )
    preset: str | None = Field(
        None, description="Standards preset name or YAML file; default the workspace's."
    )
    api_keys: TextList = Field(
        default_factory=list,
        description="Keys accepted in the X-API-Key header for updates; none configured: read-only service.",
    )
    cors_origins: TextList = Field(
        default_factory=list,
        description="Origins allowed to call the service from a browser (CORS allow-list; never '*').",
    )
    rate_limit_per_minute: int | None = Field(
        None,
        ge=1,
        description="Requests per minute per API key (or per client address without one); none: no limit.",
    )
    batch_max_rows: int = Field(10_000, ge=1, description="Most points in one batch request.")
    search_limit_m: float = Field(
        5_000.0,
        gt=0,
        description="How far a k-nearest or route search walks when max_m is not given (metres).",
    )
    lock_timeout_s: float = Field(
        30.0, gt=0, description="How long an update waits for another one to finish."
    )
    access_log: bool = Field(
        False, description="Write one JSON line per request to the 'servicegrid.api.access' log."
    )
    lang: Literal["zh", "en"] = Field("zh", description="Language of labels and reasons in answers.")

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard(cls, value: list[str]) -> list[str]:
        if any(origin.strip() == "*" for origin in value):
            msg = "cors_origins must list the origins allowed, one by one; '*' (every site) is refused"
            raise ValueError(msg)
        return [origin.rstrip("/") for origin in value]

    @field_validator("api_keys")
    @classmethod
    def _keys(cls, value: list[str]) -> list[str]:
        short = [k for k in value if len(k) < 8]
        if short:
            msg = "every API key needs at least 8 characters"
            raise ValueError(msg)
        return value

    @property
    def read_only(self) -> bool:
        """True when no API key is configured: the update endpoints refuse every request."""
        return not self.api_keys

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _FILE.get() or os.environ.get(SETTINGS_FILE_VARIABLE) or None
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(path)))
        return tuple(sources)


def load_settings(file: str | os.PathLike[str] | None = None, **given: Any) -> ApiSettings:
    """Settings from ``given`` (None values left out), the environment and the TOML ``file``.

    Raises
    ------
    InputError
        The file is missing or a setting is invalid (naming the setting).
    """
    from pydantic import ValidationError

    if file is not None and not Path(file).is_file():
        msg = "settings file not found"
        raise InputError(msg, source=file)
    token = _FILE.set(Path(file) if file is not None else None)
    try:
        return ApiSettings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "settings"
        msg = f"setting '{where}': {first['msg']}"
        raise InputError(msg, source=file) from None
    finally:
        _FILE.reset(token)
