"""One frozen settings object, read from the environment (prefix `CITYBUS_`)."""
from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from citybus.errors import ConfigurationError

__all__ = ["Settings", "settings", "REPO_ROOT"]

REPO_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Every setting; each is listed in the README."""

    model_config = SettingsConfigDict(env_prefix="CITYBUS_", frozen=True, extra="ignore")

    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "CITYBUS_KAFKA_BOOTSTRAP_SERVERS"),
        description="host:port[,host:port]; unset means the local jar broker (`citybus kafka up`).",
    )
    data_dir: Path = Field(default=REPO_ROOT / ".citybus", description="state: the services' RocksDB stores, the local broker")
    schemas_dir: Path = Field(default=REPO_ROOT / "schemas")
    topics_dir: Path = Field(default=REPO_ROOT / "topics")
    kafka_lib_dir: Path = Field(default=REPO_ROOT / "deploy" / "kafka" / "target" / "lib")
    kafka_heap: str = Field(default="768m", description="-Xmx of each local broker JVM")
    working_day: float | None = Field(default=None, gt=0,
                                      description="seconds per working day; unset: real working days")
    max_attempts: int = Field(default=3, ge=1)
    step_days: dict[str, int] = Field(
        default_factory=dict,
        description='saga service levels in working days overriding the spec defaults, as JSON: '
                    '{"PENSION.PRECHECK": 20, ...}')
    lag_interval: float = Field(default=5.0, gt=0)
    lag_window: int = Field(default=10, ge=2)
    stop_timeout: float = Field(default=10.0, gt=0, description=(
        "seconds a stopping service gives its batch in flight and last commit (the broker may be gone); "
        "past them they are abandoned and replayed at the next start"))
    client_stop_timeout: float = Field(default=5.0, gt=0, description=(
        "seconds each Kafka client (consumer, producer, admin) gets to close at a stop before it is closed by force"))
    web_host: str = "127.0.0.1"
    log_level: str = "WARNING"

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _host_ports(cls, value: str | None) -> str | None:
        """host:port[,host:port]: a port that is no number failed deep in the Kafka client."""
        for entry in (value or "").split(",") if value else ():
            host, colon, port = entry.strip().rpartition(":")
            if not entry.strip() or (colon and not (host and port.isdigit() and 0 < int(port) < 65536)):
                raise ValueError(f"{entry.strip()!r} is not host:port (a list is host:port,host:port)")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in logging.getLevelNamesMapping():
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value


def _variable(field: object) -> str:
    """The environment variable a field is read from (its alias, else the prefix and its name)."""
    name = str(field)
    info = Settings.model_fields.get(name)
    alias = info.validation_alias if info is not None else None
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return name if name.isupper() else f"{Settings.model_config.get('env_prefix', '')}{name.upper()}"


def _explain(exc: ValidationError | SettingsError) -> str:
    """Which variable is wrong and why, in one line."""
    if isinstance(exc, SettingsError):  # a JSON-valued setting that is not JSON
        found = re.search(r'field "(\w+)"', str(exc))
        cause = f": {exc.__cause__}" if exc.__cause__ else ""
        return f"{_variable(found.group(1) if found else '?')} is not valid JSON{cause}"
    return "; ".join(f"{_variable(e['loc'][0]) if e['loc'] else 'settings'}={e['input']!r}: {e['msg']}"
                     for e in exc.errors())


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The settings; a bad value is a ConfigurationError naming its variable (no pydantic traceback)."""
    try:
        return Settings()
    except (ValidationError, SettingsError) as exc:
        raise ConfigurationError(_explain(exc)) from None
