"""One frozen settings object, read from the environment (prefix `CITYBUS_`)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    data_dir: Path = Field(default=REPO_ROOT / ".citybus", description="state: Faust tables, local broker")
    schemas_dir: Path = Field(default=REPO_ROOT / "schemas")
    topics_dir: Path = Field(default=REPO_ROOT / "topics")
    kafka_lib_dir: Path = Field(default=REPO_ROOT / "deploy" / "kafka" / "target" / "lib")
    kafka_heap: str = Field(default="768m", description="-Xmx of each local broker JVM")
    working_day: float | None = Field(default=None, description="seconds per working day; unset: real working days")
    max_attempts: int = Field(default=3, ge=1)
    step_days: dict[str, int] = Field(
        default_factory=dict,
        description='saga service levels in working days overriding the spec defaults, as JSON: '
                    '{"PENSION.PRECHECK": 20, ...}')
    lag_interval: float = Field(default=5.0, gt=0)
    lag_window: int = Field(default=10, ge=2)
    web_host: str = "127.0.0.1"
    log_level: str = "WARNING"


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings()
