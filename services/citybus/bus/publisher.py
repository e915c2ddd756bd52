"""Publishing for city systems: validated, single-object encoded, CloudEvents headers, acks=all."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaProducer

from citybus.bus.intake import CITY_FIELD
from citybus.bus.validators import VALIDATORS
from citybus.catalog import Catalog, TopicSpec
from citybus.codec import cloudevent_headers, encode
from citybus.domain.ids import validate_city_code
from citybus.errors import ValidationError

__all__ = ["CityPublisher", "PreparedEvent", "city_producer"]

# the short names a city may use (`type` in JSON Lines) for the records it writes
CITY_RECORDS = {
    "ContributionRecorded": "citybus.insurance.ContributionRecorded",
    "RetirementRequested": "citybus.insurance.RetirementRequested",
    "HouseholdMoved": "citybus.household.HouseholdMoved",
    "MigrationReply": "citybus.migration.MigrationReply",
    "MigrationRequested": "citybus.migration.MigrationRequested",
}


def city_producer(bootstrap: str, **overrides: Any) -> AIOKafkaProducer:
    """Idempotent, acks=all: a retried send is written once, and only once it is replicated."""
    options = dict(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=10,
                   max_batch_size=512 * 1024, max_request_size=4 * 1024 * 1024)
    return AIOKafkaProducer(**{**options, **overrides})


class PreparedEvent(tuple):
    """(topic, key, value, headers), ready to send."""

    __slots__ = ()

    def __new__(cls, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> PreparedEvent:
        return super().__new__(cls, (topic, key, value, headers))


class CityPublisher:
    """A city's system publishing its own events: checks them first, so a bad one never leaves the city.

    `prepare` validates and encodes without I/O; `publish` sends one; `publish_many` keeps many
    sends in flight and waits for every acknowledgement.
    """

    def __init__(self, catalog: Catalog, city: str, producer: AIOKafkaProducer, system: str = "registry") -> None:
        validate_city_code(city, catalog.city_codes)
        self.catalog = catalog
        self.city = city
        self.producer = producer
        self.source = f"/cities/{city}/{system}"
        self._topics = {t.record: t for t in catalog.topics if t.city == city and f"city {city}" in t.writers}
        self._bus_topics = {t.record: t for t in catalog.topics if t.city is None}

    def topic_for(self, full_name: str) -> TopicSpec:
        spec = self._topics.get(full_name) or (
            self._bus_topics.get(full_name) if full_name == CITY_RECORDS["MigrationRequested"] else None)
        if spec is None:
            raise ValidationError("type", f"city {self.city} does not write {full_name} records")
        return spec

    def prepare(self, full_name: str, record: dict[str, Any]) -> PreparedEvent:
        full_name = CITY_RECORDS.get(full_name, full_name)
        spec = self.topic_for(full_name)
        field = CITY_FIELD.get(full_name)
        if field and record.get(field) != self.city:
            raise ValidationError(field, f"must be the publishing city {self.city}", record.get(field),
                                  reason_code="WRONG_CITY")
        validator = VALIDATORS.get(full_name)
        if validator:
            validator(record, self.catalog)
        key = record[spec.key]
        value = encode(full_name, record)
        return PreparedEvent(spec.name, key.encode(), value, cloudevent_headers(full_name, self.source,
                                                                               id=str(uuid.uuid4())))

    async def publish(self, full_name: str, record: dict[str, Any]) -> None:
        topic, key, value, headers = self.prepare(full_name, record)
        await self.producer.send_and_wait(topic, value, key=key, headers=headers)

    async def publish_many(self, events: Iterable[PreparedEvent], in_flight: int = 20000) -> int:
        """Send prepared events with bounded memory; return how many were acknowledged."""
        pending: list[asyncio.Future] = []
        sent = 0
        for topic, key, value, headers in events:
            pending.append(await self.producer.send(topic, value, key=key, headers=headers))
            if len(pending) >= in_flight:
                await asyncio.gather(*pending)
                sent += len(pending)
                pending.clear()
        await asyncio.gather(*pending)
        return sent + len(pending)
