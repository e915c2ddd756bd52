"""A stop in bounded time: the work in flight ends by itself or is cancelled once its grace after
the stop is over, and its own error still comes out; the limits come from the environment and
every Kafka client, the admin client too, is closed within its own."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from citybus.errors import ConfigurationError
from citybus.kafka.closing import configured_stop_timeout, finish_within, stop_admin, stop_consumer, stop_producer
from citybus.lag.collector import LagCollector
from citybus.settings import settings
from citybus.streams.worker import WorkerConfig


async def test_work_that_ends_at_the_stop_is_finished_with_its_last_step() -> None:
    stop, steps = asyncio.Event(), []

    async def work() -> None:
        await stop.wait()
        await asyncio.sleep(0.01)  # the last commit
        steps.append("committed")

    asyncio.get_running_loop().call_later(0.01, stop.set)
    assert await finish_within(work(), stop, grace_s=5.0) is True
    assert steps == ["committed"]


async def test_work_stuck_after_the_stop_is_cancelled_once_its_grace_is_over() -> None:
    stop, cancelled = asyncio.Event(), []

    async def stuck() -> None:  # a commit waiting for a broker that is gone
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    asyncio.get_running_loop().call_later(0.01, stop.set)
    assert await finish_within(stuck(), stop, grace_s=0.05) is False
    assert cancelled == [True]


async def test_work_that_fails_raises_its_error() -> None:
    async def failing() -> None:
        raise ValueError("a batch failed")

    with pytest.raises(ValueError, match="a batch failed"):
        await finish_within(failing(), asyncio.Event(), grace_s=5.0)


# the limits come from the environment: CITYBUS_STOP_TIMEOUT, CITYBUS_CLIENT_STOP_TIMEOUT

@pytest.fixture
def stop_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("CITYBUS_STOP_TIMEOUT", "CITYBUS_CLIENT_STOP_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    settings.cache_clear()
    yield monkeypatch
    settings.cache_clear()


class Hanging:
    """A Kafka client whose close never ends (a broker that is gone); counts the attempts."""

    def __init__(self) -> None:
        self.closing = 0
        self._fetcher = None  # a consumer's, as stop_consumer cleans up after it
        self._client = self
        self.client = self  # a producer's
        self._sender = type("Sender", (), {"sender_task": None})()

    async def _hang(self) -> None:
        self.closing += 1
        await asyncio.Event().wait()

    stop = close = _hang


def test_the_defaults_are_10_and_5_seconds(stop_env: pytest.MonkeyPatch) -> None:
    assert configured_stop_timeout() == 10.0
    assert settings().client_stop_timeout == 5.0


def test_the_environment_sets_the_batch_limit_of_workers(stop_env: pytest.MonkeyPatch, tmp_path) -> None:
    stop_env.setenv("CITYBUS_STOP_TIMEOUT", "2.5")
    assert WorkerConfig("g", ["t"], "c", tmp_path, "http://x").stop_timeout_s == 2.5
    assert WorkerConfig("g", ["t"], "c", tmp_path, "http://x", stop_timeout_s=1.0).stop_timeout_s == 1.0


@pytest.mark.parametrize("name", ["CITYBUS_STOP_TIMEOUT", "CITYBUS_CLIENT_STOP_TIMEOUT"])
@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_bad_limit_is_refused_by_its_name(stop_env: pytest.MonkeyPatch, name: str, value: str) -> None:
    stop_env.setenv(name, value)
    with pytest.raises(ConfigurationError, match=name):
        settings()


async def test_each_client_gets_the_configured_time_to_close(stop_env: pytest.MonkeyPatch) -> None:
    # the default 5 s would outlast the 4 s given here: the environment's 0.05 s is what applies
    stop_env.setenv("CITYBUS_CLIENT_STOP_TIMEOUT", "0.05")
    consumer, producer, admin = Hanging(), Hanging(), Hanging()
    await asyncio.wait_for(stop_consumer(consumer), 4.0)  # type: ignore[arg-type]
    await asyncio.wait_for(stop_producer(producer), 4.0)  # type: ignore[arg-type]
    await asyncio.wait_for(stop_admin(admin), 4.0)  # type: ignore[arg-type]
    # the consumer and producer then get their connections closed (also bounded), the admin not
    assert (consumer.closing, producer.closing, admin.closing) == (2, 2, 1)


async def test_the_lag_monitor_stops_although_its_admin_client_cannot_close(stop_env: pytest.MonkeyPatch) -> None:
    stop_env.setenv("CITYBUS_CLIENT_STOP_TIMEOUT", "0.05")
    collector = LagCollector("127.0.0.1:1", watch_commits=False)
    admin = Hanging()
    collector._admin = admin  # type: ignore[assignment]  # started, its broker gone since
    await asyncio.wait_for(collector.stop(), 4.0)
    assert admin.closing == 1 and collector._admin is None


async def test_a_worker_closes_its_consumer_and_its_purgers_admin_client_side_by_side(
        stop_env: pytest.MonkeyPatch, tmp_path) -> None:
    """The consumer's stop here ends only once the admin client's close has begun: side by side it
    ends by itself; one after the other it would be forced at its limit (and closed twice)."""
    from citybus.streams.worker import StateWorker

    stop_env.setenv("CITYBUS_CLIENT_STOP_TIMEOUT", "0.3")
    admin, consumer, producer = Hanging(), Hanging(), Hanging()
    admin_closing = asyncio.Event()

    async def admin_close() -> None:
        admin_closing.set()
        await admin._hang()

    async def consumer_stop() -> None:
        consumer.closing += 1
        await admin_closing.wait()

    admin.close = admin_close  # type: ignore[method-assign]
    consumer.stop = consumer_stop  # type: ignore[method-assign]
    worker = StateWorker("127.0.0.1:9", WorkerConfig("g", [], "c", tmp_path / "worker", "http://127.0.0.1:1",
                                                     purged=frozenset({"hops"})), object())
    worker.consumer, worker.producer = consumer, producer  # type: ignore[assignment]  # started, broker gone
    worker.purger._admin = admin  # type: ignore[assignment]
    await asyncio.wait_for(worker.close(), 4.0)
    assert (consumer.closing, admin.closing, producer.closing) == (1, 1, 2)  # the producer forced, as before
    assert worker.consumer is None and worker.producer is None and worker.purger._admin is None
