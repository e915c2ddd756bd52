"""A worker that cannot restore its partitions says why in one line naming every partition
concerned; a traceback only for what nobody foresaw."""
from __future__ import annotations

import logging

import pytest

from citybus.errors import BrokerError
from citybus.streams.restore import check_not_ahead
from citybus.streams.store import Stores
from citybus.streams.worker import _Listener


def test_every_store_ahead_of_its_changelog_is_named_at_once(tmp_path):
    stores = Stores(tmp_path)
    for partition, position in {0: 10, 1: 3, 2: 7}.items():
        stores.open(partition).write({b"k": b"v"}, {"changelog": position})
    with pytest.raises(BrokerError) as failed:
        check_not_ahead("changelog", stores, {0: 0, 1: 3, 2: 5})
    message = str(failed.value)
    assert "partition 0 ends at offset 0, its store in" in message and "up to 10" in message
    assert "partition 2 ends at offset 5, its store in" in message and "up to 7" in message
    assert "partition 1 " not in message and "\n" not in message
    check_not_ahead("changelog", stores, {0: 10, 1: 4, 2: 7})  # caught up or behind: restored, no error
    stores.close_all()


class FailingWorker:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.failed: list[BaseException] = []

    async def on_assigned(self, assigned: set) -> None:
        raise self.error

    def fail(self, exc: BaseException) -> None:
        self.failed.append(exc)


@pytest.mark.parametrize("error, traceback", [
    (BrokerError("changelog is behind the stores (partition 0 ...; partition 2 ...)"), False),
    (RuntimeError("a bug"), True),
])
async def test_a_failed_assignment_stops_the_worker_with_a_traceback_only_for_the_unforeseen(
        error: Exception, traceback: bool, caplog: pytest.LogCaptureFixture) -> None:
    worker = FailingWorker(error)
    with caplog.at_level(logging.ERROR, logger="citybus.streams.worker"):
        await _Listener(worker).on_partitions_assigned({"tp"})  # type: ignore[arg-type]
    assert worker.failed == [error]
    [record] = caplog.records
    assert record.getMessage().startswith("restoring partitions failed")
    assert (record.exc_info is not None) is traceback
