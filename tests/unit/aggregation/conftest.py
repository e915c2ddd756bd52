import pytest

from tests.unit.aggregation.harness import Harness


@pytest.fixture
def harness(tmp_path):
    h = Harness(tmp_path / "stores")
    yield h
    h.stores.close_all()
