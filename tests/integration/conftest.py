"""Integration tests run against a real Kafka: the `kafka_bootstrap` fixture of citybus's pytest plugin.
Every test collected under this folder is marked `integration` (`pytest -m "not integration"` skips them)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from citybus.kafka.local import LocalKafka
from citybus.settings import settings

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.integration)


def _kafka_of_its_own(directory: Path, nodes: int) -> Iterator[LocalKafka]:
    """Local KRaft nodes for one test that kills some of them; an external cluster cannot be."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        pytest.skip("a broker of its own is the local jar broker; an external cluster was given")
    kafka = LocalKafka(directory, settings().kafka_lib_dir, nodes=nodes, heap="512m")
    kafka.up()
    try:
        yield kafka
    finally:
        kafka.down()


@pytest.fixture
def cluster3_of_its_own(tmp_path: Path) -> Iterator[LocalKafka]:
    """Three local KRaft nodes for one test that kills one of them (the session's three-node
    cluster may already have lost a node to another test)."""
    yield from _kafka_of_its_own(tmp_path / "kafka3", nodes=3)


@pytest.fixture
def broker_of_its_own(tmp_path: Path) -> Iterator[LocalKafka]:
    """One local KRaft node for one test that stops it (`kill_node(0)`) and may start it again
    (`restart_node(0)`: same port, same data)."""
    yield from _kafka_of_its_own(tmp_path / "kafka", nodes=1)
