"""Stopping a service in bounded time, also when the broker is gone.

aiokafka waits for the broker at a stop: a commit retries until the group coordinator answers,
`producer.stop()` waits until every record is delivered, and `consumer.stop()` raises its own
CancelledError when a fetch was waiting to retry (its fetcher cancels that task and awaits it;
aiokafka 0.14). With the broker down, a SIGTERMed service then hung for good, or ended with a
traceback and unclosed clients. Here every step of a stop has a time limit: the batch in flight
and the last commit (`finish_within`), then the consumer, the producer and admin clients
(`stop_consumer`, `stop_producer`, `stop_admin`), closed by force past their limit. The limits
are settings: CITYBUS_STOP_TIMEOUT and CITYBUS_CLIENT_STOP_TIMEOUT. Nothing is lost by it: what
was not committed is replayed at the next start, which every consumer here is built for (outputs
are awaited before their offsets are committed, and handled idempotently downstream).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from citybus.settings import settings

__all__ = ["configured_stop_timeout", "finish_within", "stop_admin", "stop_consumer", "stop_producer"]

log = logging.getLogger(__name__)


def configured_stop_timeout() -> float:
    """What the batch in flight and the last commit get at a stop (`CITYBUS_STOP_TIMEOUT`, 10 s);
    then each client gets `CITYBUS_CLIENT_STOP_TIMEOUT` (5 s) and 1 s more to drop its connections
    when forced: about 22 s at most in all by default (a stream worker closes its consumer and its
    admin client side by side, then its producer), within the 30 s a service manager waits after
    SIGTERM."""
    return settings().stop_timeout


def _client_timeout(timeout_s: float | None) -> float:
    return settings().client_stop_timeout if timeout_s is None else timeout_s


async def finish_within(work: Coroutine[Any, Any, None], stop: asyncio.Event, grace_s: float) -> bool:
    """Run `work` (a loop that ends once `stop` is set, with its last commit); once `stop` is set
    it has `grace_s` more, then it is cancelled. True if it ended by itself; its error is raised."""
    task = asyncio.create_task(work)
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            await asyncio.wait({task}, timeout=grace_s)
    finally:
        stopping.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if task.cancelled():
        return False
    task.result()
    return True


async def stop_consumer(consumer: AIOKafkaConsumer, timeout_s: float | None = None) -> None:
    """`consumer.stop()` (leaves the group) within `timeout_s` (None: CITYBUS_CLIENT_STOP_TIMEOUT);
    past it, or when aiokafka raised its own CancelledError, the fetches are cancelled and the
    connections closed."""
    if await _stopped(consumer.stop(), _client_timeout(timeout_s), "consumer"):
        return
    fetcher = consumer._fetcher  # noqa: SLF001 - what its interrupted close left running
    if fetcher is not None:
        pending = list(fetcher._pending_tasks)  # noqa: SLF001
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    await _stopped(consumer._client.close(), 1.0, "consumer connections")  # noqa: SLF001


async def stop_producer(producer: AIOKafkaProducer, timeout_s: float | None = None) -> None:
    """`producer.stop()` (it waits until every record sent is delivered) within `timeout_s` (None:
    CITYBUS_CLIENT_STOP_TIMEOUT); past it the producer is closed without them: they belong to
    batches not committed, replayed."""
    if await _stopped(producer.stop(), _client_timeout(timeout_s), "producer"):
        return
    sender = producer._sender.sender_task  # noqa: SLF001
    if sender is not None and not sender.done():
        sender.cancel()
        await asyncio.wait({sender}, timeout=1.0)
    await _stopped(producer.client.close(), 1.0, "producer connections")


async def stop_admin(admin: AIOKafkaAdminClient, timeout_s: float | None = None) -> None:
    """`admin.close()` within `timeout_s` (None: CITYBUS_CLIENT_STOP_TIMEOUT); past it the close
    is abandoned (its connections are the process's own, gone with it)."""
    await _stopped(admin.close(), _client_timeout(timeout_s), "admin client")


async def _stopped(closing: Coroutine[Any, Any, None], timeout_s: float, what: str) -> bool:
    """True when `closing` ended within `timeout_s`; else one log line, False. A CancelledError
    that is not this task's own (aiokafka's, see the module's doc) counts as not ended."""
    try:
        await asyncio.wait_for(closing, timeout_s)
        return True
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
        log.info("the Kafka %s was interrupted while closing (broker unreachable?); closed by force", what)
    except (asyncio.TimeoutError, KafkaError, OSError) as exc:
        log.warning("the Kafka %s did not close within %gs (%r; broker unreachable?); closed by force",
                    what, timeout_s, exc)
    return False

