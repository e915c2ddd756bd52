"""What every benchmark of a run shares: its size, the broker, a scratch directory, the children."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from citybus.bench.procs import Children
from citybus.catalog import Catalog, default_catalog

__all__ = ["BenchConfig", "BenchContext", "BENCHES", "QUIX_PYTHON"]

BENCHES = ("publish", "aggregate", "recovery", "migration")
QUIX_PYTHON = Path(".citybus") / "bench" / "quix-venv" / "bin" / "python"


@dataclass(frozen=True)
class BenchConfig:
    persons: int = 100_000
    events: int = 1_000_000
    only: tuple[str, ...] = BENCHES
    quick: bool = False
    seed: int = 7
    migration_rate: float = 200.0
    migration_hold_s: float = 60.0
    migration_max_steps: int = 4
    migration_search_from: float = 5.0  # the search's first rate, doubled at each step
    migration_drain_s: float = 60.0
    verify_sample: int = 300
    quix_python: Path | None = None


@dataclass
class BenchContext:
    config: BenchConfig
    bootstrap: str
    home: Path
    catalog: Catalog = field(default_factory=default_catalog)
    children: Children = field(default_factory=Children)
    results: dict = field(default_factory=dict)
    published: int = 0  # contribution events on the city topics so far
    broker_pids: tuple[int, ...] = ()  # the broker this run started (none when it uses another)

    @property
    def contribution_topics(self) -> list[str]:
        return [t.name for t in self.catalog.city_topics("insurance.contributions")]

    def env(self, data_dir: Path | None = None, **extra: str) -> dict[str, str]:
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
               "CITYBUS_DATA_DIR": str(data_dir or self.home / "data"), "CITYBUS_LOG_LEVEL": "WARNING"}
        env.update(extra)
        return env

    @property
    def logs(self) -> Path:
        return self.home / "logs"
