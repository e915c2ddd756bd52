"""Integration tests run against a real Kafka: the `kafka_bootstrap` fixture of citybus's pytest plugin.
Every test collected under this folder is marked `integration` (`pytest -m "not integration"` skips them)."""
from __future__ import annotations

from pathlib import Path

import pytest

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.integration)
