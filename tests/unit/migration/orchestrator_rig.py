"""The orchestrator in-process on real stores, for its tests (a unique module name: this folder is
not a package): what it sends, by topic, and records as the broker would hand them over."""
from __future__ import annotations

from pathlib import Path

from aiokafka.structs import ConsumerRecord

from citybus.bus import default_intake
from citybus.codec import decode
from citybus.domain.ids import resident_id_check_char
from citybus.domain.migration import MigrationRequested, SagaPolicy
from citybus.migration.orchestrator import SAGAS, Orchestrator
from citybus.migration.subjects import SubjectSagas
from citybus.migration.wire import request_out
from citybus.streams.batch import Batch, partition_of
from citybus.streams.store import Stores

POLICY = SagaPolicy(max_attempts=2, working_day_ms=100, known_cities=frozenset({"440300", "442000"}))
PERSON = "44030119850607123" + resident_id_check_char("44030119850607123")
OTHER = "44030119900101123" + resident_id_check_char("44030119900101123")


def request_record(migration_id: str, subject_id: str, offset: int = 0) -> ConsumerRecord:
    request = MigrationRequested(migration_id, "PERSON", subject_id, "440300", "442000", ("PENSION",), 1_000, "portal")
    topic, key, value, headers = request_out(request)
    return ConsumerRecord(topic, partition_of(key, 6), offset, 5_000, 0, key, value, None, len(key), len(value),
                          tuple(headers))


def consumed(topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
             headers=()) -> ConsumerRecord:  # noqa: ANN001
    return ConsumerRecord(topic, partition, offset, 9_000, 0, key, value, None, len(key or b""), len(value or b""),
                          tuple(headers))


class Rig:
    """An orchestrator on real stores for the partitions it owns; what it sends, by topic."""

    def __init__(self, tmp_path: Path, owned: set[int]) -> None:
        self.stores = Stores(tmp_path)
        for partition in owned:
            self.stores.open(partition)
        self.orchestrator = Orchestrator(intake=default_intake(), policy=POLICY, service="test", clock=lambda: 5_000)
        self.sent: list[tuple] = []

    async def send(self, topic, key, value, headers=(), partition=None) -> None:  # noqa: ANN001
        self.sent.append((topic, key, value, list(headers), partition))

    async def process(self, *records: ConsumerRecord, stored: bool = True) -> Batch:
        """One batch; `stored=False`: it has not settled yet when the next one is decided
        (pipelined). Once stored, what it files to send after the state is sent, as the worker does."""
        batch = await self.orchestrator.process(list(records), self.stores, self.send)
        if stored:
            await self.keep(batch)
        return batch

    async def keep(self, batch: Batch) -> None:
        """The batch's state is stored; then what it filed with `send_after` goes out."""
        for partition, values in batch.state.items():
            self.stores[partition].write(values, None)
        for topic, key, value, headers, partition in batch.after:
            await self.send(topic, key, value, headers, partition)

    def to(self, topic: str) -> list[tuple]:
        return [s for s in self.sent if s[0] == topic]

    def decoded(self, topic: str) -> list[dict]:
        return [decode(value)[1] for _, _, value, *_ in self.to(topic)]


def sagas_of(rig: Rig, subject_id: str) -> dict:
    raw = rig.stores[partition_of(subject_id.encode(), 6)].get(SAGAS + subject_id.encode())
    return {} if raw is None else SubjectSagas.from_bytes(raw).sagas
