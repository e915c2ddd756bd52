"""The aggregation's batch step against real partition stores (RocksDB in a temp dir) and a list for
the producer, fed with events encoded as the cities encode them."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiokafka.structs import ConsumerRecord

from citybus.aggregation.process import BY_PERSON_TOPIC, CLAIMS_TOPIC, LEDGER, Aggregator
from citybus.aggregation.service import aggregation_intake, medical_policies
from citybus.bus import DEADLETTER_TOPIC
from citybus.bus.publisher import CityPublisher
from citybus.catalog import default_catalog
from citybus.codec import decode
from citybus.domain.contributions import PersonLedger
from citybus.simulate.contributions import SimulatedEvent
from citybus.streams.batch import Batch, partition_of
from citybus.streams.store import Stores

PARTITIONS = 6


def record(topic: str, key: bytes, value: bytes, headers=(), offset: int = 0, partition: int | None = None):
    partition = partition_of(key, PARTITIONS) if partition is None else partition
    return ConsumerRecord(topic, partition, offset, 0, 0, key, value, None, len(key), len(value or b""),
                          tuple(headers))


def as_records(simulated: Iterable[SimulatedEvent], first_offset: int = 0) -> list[ConsumerRecord]:
    """Good events through each city's publisher (validated, encoded, CloudEvents headers); bad ones as raw bytes."""
    catalog = default_catalog()
    publishers = {c: CityPublisher(catalog, c, None) for c in catalog.city_codes}
    out = []
    for offset, e in enumerate(simulated, first_offset):
        if e.raw is None:
            topic, key, value, headers = publishers[e.city].prepare(e.full_name, e.record)
        else:
            topic, key, value, headers = e.topic, e.key.encode(), e.raw, []
        out.append(record(topic, key, value, headers, offset))
    return out


class Harness:
    def __init__(self, root) -> None:
        self.stores = Stores(root)
        for p in range(PARTITIONS):
            self.stores.open(p)
        self.sent: list[tuple] = []
        self._read, self._offset = 0, 1_000_000  # what `settle` has read back, and its next offset
        self.aggregator = Aggregator(intake=aggregation_intake(), service="aggregation",
                                     policies=medical_policies(default_catalog()), partitions=PARTITIONS)

    async def send(self, topic, key, value, headers=(), partition=None):
        self.sent.append((topic, key, value, list(headers), partition))

    async def run(self, records) -> Batch:
        batch = await self.aggregator.process(records, self.stores, self.send)
        for partition in set(batch.state) | set(batch.local):  # as the worker does after the sends
            self.stores[partition].write({**batch.local.get(partition, {}), **batch.state.get(partition, {})})
        return batch

    async def run_through(self, records) -> None:
        """`run`, then `settle`."""
        await self.run(records)
        await self.settle()

    async def settle(self) -> None:
        """Read back what was sent to be claimed and sent on, as the worker reads its own topics,
        until nothing more is sent there."""
        while True:
            self._read = min(self._read, len(self.sent))  # a test may have cleared `sent`
            hops = [s for s in self.sent[self._read:] if s[0] in (CLAIMS_TOPIC, BY_PERSON_TOPIC)]
            self._read = len(self.sent)
            if not hops:
                return
            await self.run([record(t, k, v, h, self._offset + i, p) for i, (t, k, v, h, p) in enumerate(hops)])
            self._offset += len(hops)

    def topics(self) -> list[str]:
        return [s[0] for s in self.sent]

    def of_topic(self, topic: str) -> list[tuple]:
        return [s for s in self.sent if s[0] == topic]

    def dead_letters(self) -> list[dict[str, Any]]:
        """The RejectedEvent records sent, decoded."""
        return [decode(s[2], "citybus.bus.RejectedEvent")[1] for s in self.of_topic(DEADLETTER_TOPIC)]

    def ledger(self, rid: str) -> PersonLedger:
        stored = self.stores[partition_of(rid.encode(), PARTITIONS)].get(LEDGER + rid.encode())
        assert stored is not None, rid
        return PersonLedger.from_bytes(stored)
