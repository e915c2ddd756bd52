"""What a processor of the state worker deals in: the batch it returns, the `send` it is
given, where a key's partition is, and the two processor protocols (see citybus.streams.worker
for the order in which a batch's outputs, changelog, stores and commit happen)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import ConsumerRecord

from citybus.kafka.partitioning import partition_of
from citybus.streams.store import Stores

__all__ = ["Batch", "Processor", "Recovering", "Send", "Ticking", "partition_of", "remembered_partitioner"]

# (topic, key, value, headers, partition or None) -> awaits enqueueing, not delivery
Send = Callable[..., Awaitable[None]]


def remembered_partitioner(key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
    """aiokafka's default partitioner (a producer's `partitioner=`) with `partition_of`'s
    remembered murmur2: the same partition for a key, without hashing it again per send."""
    if key is None:
        return DefaultPartitioner()(key, all_partitions, available)
    return all_partitions[partition_of(key, len(all_partitions))]


@dataclass
class Batch:
    """What a processed batch changed: `state` is changelogged and stored, `local` only stored
    (its input topic is its log), both as partition -> key -> value."""

    state: dict[int, dict[bytes, bytes]] = field(default_factory=dict)
    local: dict[int, dict[bytes, bytes]] = field(default_factory=dict)
    # (topic, key, value, headers, partition): sent once `state` is changelogged and stored
    after: list[tuple[str, bytes | None, bytes, Sequence[tuple[str, bytes]], int | None]] = field(
        default_factory=list)

    def put(self, partition: int, key: bytes, value: bytes) -> None:
        self.state.setdefault(partition, {})[key] = value

    def put_local(self, partition: int, key: bytes, value: bytes) -> None:
        self.local.setdefault(partition, {})[key] = value

    def send_after(self, topic: str, key: bytes | None, value: bytes, headers: Sequence[tuple[str, bytes]] = (),
                   partition: int | None = None) -> None:
        """Send this output only once the batch's state is durable (an action on a decision
        that replaying the inputs would not make again, e.g. one taken on the clock)."""
        self.after.append((topic, key, value, headers, partition))


class Processor(Protocol):
    async def process(self, records: Sequence[ConsumerRecord], stores: Stores, send: Send) -> Batch: ...

    def forget(self, partitions: Iterable[int]) -> None:
        """State of these partitions may change elsewhere now: drop what is cached of them."""


class Ticking(Protocol):
    """A processor that also acts on time (e.g. deadlines): `tick` runs every `tick_interval`
    seconds under the worker's lock, between batches, on the partitions in `ready` (restored
    and caught up with the input they had when assigned); its sends and state go through the
    same order as a batch's (outputs, changelog, stores, `send_after` outputs), without commit."""

    async def tick(self, ready: frozenset[int], stores: Stores, send: Send) -> Batch: ...


class Recovering(Protocol):
    """A processor some of whose outputs are also its memory (`WorkerConfig.recovered`): at an
    assignment, after the restore and before any event, it gets what those topics hold past the
    stores' positions (what a batch sent before a crash lost its state); its batch settles like a
    tick's."""

    async def recover(self, records: Sequence[ConsumerRecord], stores: Stores, send: Send) -> Batch: ...
