"""Fixtures for the codec tests: the repo's schema store and one realistic record per type."""
from __future__ import annotations

from typing import Any

import pytest

from citybus.codec import SchemaStore, SingleObjectCodec
from codec_samples import SAMPLES


@pytest.fixture(scope="session")
def store() -> SchemaStore:
    return SchemaStore()


@pytest.fixture(scope="session")
def codec(store: SchemaStore) -> SingleObjectCodec:
    return SingleObjectCodec(store)


@pytest.fixture(params=sorted(SAMPLES))
def sample(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return request.param, SAMPLES[request.param]
