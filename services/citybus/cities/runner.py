"""The Kafka side of the adapter kit: commands in through the intake, replies out, dead letters.

One consumer for the `city.<code>.commands` topics of the adapters given; each command goes to
its city's adapter and the reply is sent on `city.<code>.replies`, keyed by subject_id, with
CloudEvents headers from `/cities/<code>/adapter`. `delivery` (default: once, now) lets a
simulation lose, delay or duplicate replies. A handler that raises answers nothing: the error is
logged, the runner goes on, and the saga sends the command again at its deadline (as after a
lost reply), when the handler runs again.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from citybus.bus import Accepted, default_intake
from citybus.bus.consumer import GuardedConsumer, Send
from citybus.bus.publisher import city_producer
from citybus.catalog import default_catalog
from citybus.cities.kit import CityAdapter
from citybus.codec import CloudEventHeaders, default_codec
from citybus.codec.mapping.migration import reply_to_avro
from citybus.domain.migration import ReplyReceived, SendCommand
from citybus.errors import ConfigurationError
from citybus.kafka.closing import stop_producer

__all__ = ["AdapterRunner", "Delivery", "REPLY_RECORD", "once"]

log = logging.getLogger(__name__)

REPLY_RECORD = "citybus.migration.MigrationReply"
Delivery = Callable[[SendCommand, ReplyReceived], list[float]]  # seconds from now of each send; [] = lost


def once(command: SendCommand, reply: ReplyReceived) -> list[float]:
    return [0.0]


class AdapterRunner:
    def __init__(self, adapters: Mapping[str, CityAdapter], bootstrap: str, group_id: str,
                 delivery: Delivery = once, service: str = "cities") -> None:
        self.catalog = default_catalog()
        self.adapters = {code: self._checked(code, adapter) for code, adapter in adapters.items()}
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.delivery = delivery
        self.service = service
        self.handled = 0
        self.unanswered = 0  # commands whose handler raised
        self.sent = 0
        self._later: set[asyncio.Task] = set()
        self._encode = default_codec().encoder(REPLY_RECORD)
        # per city: the constant CloudEvents headers built once, ce_id a prefix and a counter
        self._headers = {code: CloudEventHeaders(REPLY_RECORD, f"/cities/{code}/adapter") for code in self.adapters}

    def _checked(self, code: str, adapter: CityAdapter) -> CityAdapter:
        """An adapter under another city's code would answer that city's commands as its own
        (replies on its own replies topic, which the saga does not wait on); an unknown code has
        no commands topic, so the runner would wait on nothing."""
        if code not in self.catalog.city_codes:
            raise ConfigurationError(f"an adapter is given for {code!r}, not a city in the participant registry")
        if adapter.city != code:
            raise ConfigurationError(f"the adapter of city {adapter.city} is given for city {code}")
        return adapter.check()

    async def run(self, stop: asyncio.Event) -> None:
        # A reply is on a saga's path. No linger (batches grow with the load anyway; numbers in
        # citybus.migration.service). Fetches return as soon as a command is there: waiting up to
        # 5 ms for 32 KiB added those 5 ms to each of a scope's three steps (p50 at 5/s 48-60 ms vs
        # 43-44, `citybus bench --quick --only migration`, 2 cores; at 200/s within the noise).
        producer = city_producer(self.bootstrap, linger_ms=0)
        try:
            await producer.start()  # inside: a producer that could not reach the broker is closed too
            self._producer = producer
            consumer = GuardedConsumer(
                self.bootstrap, [f"city.{code}.commands" for code in self.adapters], self.group_id,
                default_intake(), producer, self._handle, service=self.service,
                fetch_min_bytes=1, fetch_max_wait_ms=100)
            await consumer.run(stop)
            for task in list(self._later):
                task.cancel()
        finally:
            await stop_producer(producer)  # what it could not deliver was not committed: asked again

    async def _handle(self, accepted: Accepted, send: Send) -> None:
        city = self.catalog.city_of_topic(accepted.topic)
        assert city is not None, accepted.topic  # subscribed to city.<code>.commands topics only
        command: SendCommand = accepted.value  # checked by the intake (citybus.bus.validators)
        try:
            reply = self.adapters[city].answer(command)
        except Exception:  # noqa: BLE001 - the city's own code: raised out, it would stop the loop at every replay
            self.unanswered += 1
            log.exception("city %s: the %s %s handler raised on command %s (attempt %d); not answered, the saga "
                          "sends it again at its deadline", city, command.scope, command.step, command.command_id,
                          command.attempt)
            return
        self.handled += 1
        for delay in self.delivery(command, reply):
            if delay <= 0:  # committed past once delivered
                await self._send(command, reply, send)
            else:
                task = asyncio.create_task(self._send_later(delay, command, reply))
                self._later.add(task)
                task.add_done_callback(self._later.discard)

    async def _send_later(self, delay: float, command: SendCommand, reply: ReplyReceived) -> None:
        """A late reply (a simulation's `delivery`): not awaited before the commit, so a crash may
        lose it like a late answer is lost; the saga's deadline asks again."""
        await asyncio.sleep(delay)

        async def enqueue(topic: str, key: bytes | None, value: bytes, headers) -> None:  # noqa: ANN001
            await self._producer.send(topic, value, key=key, headers=list(headers))

        await self._send(command, reply, enqueue)

    async def _send(self, command: SendCommand, reply: ReplyReceived, send: Send) -> None:
        value = self._encode(reply_to_avro(reply))
        make = self._headers.get(reply.city) or self._headers.setdefault(
            reply.city, CloudEventHeaders(REPLY_RECORD, f"/cities/{reply.city}/adapter"))
        headers = make()
        await send(f"city.{reply.city}.replies", command.subject_id.encode(), value, headers)
        self.sent += 1
