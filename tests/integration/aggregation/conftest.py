"""The catalog's topics on the session's real broker, and workers that are always stopped."""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from citybus.catalog import default_catalog
from citybus.kafka.topics import apply_topics

from .support import Worker


@pytest.fixture(scope="session")
async def bus(kafka_bootstrap: str) -> str:
    await apply_topics(kafka_bootstrap, default_catalog())
    return kafka_bootstrap


@pytest.fixture
async def workers(bus: str, tmp_path: Path) -> AsyncIterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(name: str = "w1", *options: str) -> Worker:
        worker = Worker(bus, tmp_path / name, None, *options).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
