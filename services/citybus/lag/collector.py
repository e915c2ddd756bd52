"""Samples every consumer group on the cluster into a `LagBook`, every `interval_s` seconds.

One round: ListGroups, DescribeGroups (membership, and the topics assigned to members),
OffsetFetch per group (committed offsets; a group whose fetch fails is left out of the round and
kept as last seen), then log start and end offsets of every partition
of every topic a group has committed on or has assigned, read with a group-less consumer
(aiokafka's admin client has no ListOffsets), topic by topic, each within `offsets_timeout_s`:
a topic deleted between the metadata and ListOffsets makes aiokafka retry until its request
timeout (40 s) and fail, so such a topic is left out of the round (its partitions kept as they
were in the book) and the other topics are recorded. Partitions without a commit are sampled with
`committed=None`. The time of each group's last commit per partition comes from `CommitWatch`,
which reads `__consumer_offsets` in the background. A round that fails is logged and skipped, never half-recorded.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.errors import KafkaError

from citybus.domain.lag import LagBook, LagReport, PartitionSample
from citybus.errors import BrokerError
from citybus.kafka.closing import stop_admin, stop_consumer
from citybus.lag.commits import CommitWatch, cancel_and_wait

__all__ = ["LagCollector", "group_active"]

log = logging.getLogger(__name__)

_ACTIVE_STATES = {"Stable", "PreparingRebalance", "CompletingRebalance"}
_INACTIVE_STATES = {"Empty", "Dead"}


def group_active(state: str, members: int) -> bool | None:
    """Live members per DescribeGroups: True, False, or None when the state says nothing."""
    if state in _INACTIVE_STATES:
        return False
    if state in _ACTIVE_STATES:
        return members > 0
    return None


class LagCollector:
    """Feeds a `LagBook` from a live cluster; `report()` is what `make_lag_app` serves."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        book: LagBook | None = None,
        interval_s: float = 5.0,
        include_group: Callable[[str], bool] = lambda group: True,
        client_id: str = "citybus-lag",
        clock: Callable[[], float] = time.time,
        watch_commits: bool = True,
        offsets_timeout_s: float = 10.0,
    ) -> None:
        self.book = book or LagBook()
        self.interval_s = interval_s
        self.offsets_timeout_s = offsets_timeout_s
        self._bootstrap = bootstrap_servers
        self._include = include_group
        self._client_id = client_id
        self._clock = clock
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self.listed_groups: list[str] = []  # every consumer group on the cluster at the last round
        self.commits = CommitWatch(bootstrap_servers, client_id=f"{client_id}-commits", clock=clock) \
            if watch_commits else None

    def report(self) -> LagReport:
        return self.book.report()

    async def start(self) -> None:
        try:
            self._admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, client_id=self._client_id)
            await self._admin.start()
            self._offsets = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                client_id=self._client_id,
                group_id=None,
                enable_auto_commit=False,
            )
            await self._offsets.start()
            if self.commits is not None:
                await self.commits.start()
        except Exception as exc:
            await self.stop()
            raise BrokerError(f"lag collector cannot connect to {self._bootstrap}: {exc}") from exc

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        if self.commits is not None:
            await self.commits.stop()
        if self._offsets is not None:
            offsets, self._offsets = self._offsets, None
            await stop_consumer(offsets)  # bounded, also with the broker gone
        if self._admin is not None:
            admin, self._admin = self._admin, None
            await stop_admin(admin)  # bounded, also with the broker gone

    async def __aenter__(self) -> LagCollector:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def run_in_background(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self.run(), name="citybus-lag-collector")
        return self._task

    async def run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self.sample_once()
            except BrokerError as exc:
                log.warning("lag sampling round skipped: %s", exc)
            await asyncio.sleep(max(0.0, self.interval_s - (time.monotonic() - started)))

    async def sample_once(self) -> list[PartitionSample]:
        """Take one round and record it in the book; returns the samples."""
        try:
            samples, unread, unread_groups = await self._round()
        except BrokerError:
            raise
        except Exception as exc:
            raise BrokerError(f"lag sampling round failed on {self._bootstrap}: {exc!r}") from exc
        self.book.record(samples, unread_topics=unread, unread_groups=unread_groups)
        return samples

    async def _round(self) -> tuple[list[PartitionSample], set[str], set[str]]:
        admin, consumer = self._admin, self._offsets
        if admin is None or consumer is None:
            raise BrokerError("lag collector is not started")
        listed = await admin.list_consumer_groups()
        self.listed_groups = sorted({g[0] for g in listed if g[1] in ("consumer", "")})
        groups = [g for g in self.listed_groups if self._include(g)]
        if not groups:
            return [], set(), set()
        activity, assigned = await self._activity(admin, groups)
        committed: dict[str, dict[TopicPartition, int | None]] = {}
        unread_groups: set[str] = set()
        for group in groups:
            try:
                fetched = await self._committed_offsets(admin, group)
            except KafkaError as exc:  # this group's coordinator (loading, moving): the others are still read
                log.warning("lag of group %s not sampled this round (committed offsets unread): %r", group, exc)
                unread_groups.add(group)
                continue
            committed[group] = {tp: (om.offset if om.offset >= 0 else None) for tp, om in fetched.items()}
        if unread_groups and len(unread_groups) == len(groups):
            raise BrokerError(f"committed offsets of no group could be read on {self._bootstrap}")
        groups = [g for g in groups if g not in unread_groups]
        # every topic a group committed on or has assigned to a member (not committed on yet)
        topics = {group: {tp.topic for tp in committed[group]} | assigned.get(group, set()) for group in groups}
        partitions = await self._partitions(consumer, set().union(*topics.values()))
        if not partitions:
            return [], set(), unread_groups
        starts, ends, unread = await self._log_offsets(consumer, partitions)
        partitions = [tp for tp in partitions if tp.topic not in unread]
        at_ms = int(self._clock() * 1000)
        return (list(_samples(committed, topics, activity, partitions, starts, ends, at_ms, self.commits)), unread,
                unread_groups)

    @staticmethod
    async def _committed_offsets(admin: AIOKafkaAdminClient, group: str) -> dict[TopicPartition, Any]:
        return await admin.list_consumer_group_offsets(group)

    async def _log_offsets(self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> tuple[
            dict[TopicPartition, int], dict[TopicPartition, int], set[str]]:
        """Log start and end offsets, topic by topic; also the topics that could not be read (one
        deleted meanwhile fails only itself, after `offsets_timeout_s`). All unread: BrokerError."""
        by_topic: dict[str, list[TopicPartition]] = {}
        for tp in partitions:
            by_topic.setdefault(tp.topic, []).append(tp)

        async def read(tps: list[TopicPartition]) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
            # Awaited in this task, not handed to wait_for: wait_for cancelled from outside leaves
            # the gather's CancelledError unretrieved, and asyncio logs it at ERROR as we exit.
            async with asyncio.timeout(self.offsets_timeout_s):
                return await asyncio.gather(consumer.beginning_offsets(tps), consumer.end_offsets(tps))

        results = await asyncio.gather(*(read(tps) for tps in by_topic.values()), return_exceptions=True)
        starts: dict[TopicPartition, int] = {}
        ends: dict[TopicPartition, int] = {}
        unread: dict[str, BaseException] = {}
        for topic, result in zip(by_topic, results):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result  # cancelled: the collector is stopping
                unread[topic] = result
            else:
                starts.update(result[0])
                ends.update(result[1])
        if unread and len(unread) == len(by_topic):
            first = next(iter(unread.values()))
            raise BrokerError(f"log offsets of no topic could be read on {self._bootstrap}: {first!r}")
        for topic, exc in unread.items():
            log.warning("lag of topic %s not sampled this round (log offsets unread): %r", topic, exc)
        return starts, ends, set(unread)

    @staticmethod
    async def _activity(admin: AIOKafkaAdminClient,
                        groups: list[str]) -> tuple[dict[str, bool | None], dict[str, set[str]]]:
        """Per group: whether it has live members, and the topics assigned to them (so a group
        that has not committed yet is sampled too, from the log start)."""
        # One group per DescribeGroups request: aiokafka 0.14 misreads the second and later
        # groups of a multi-group response (seen against Kafka 3.x/4.x).
        activity: dict[str, bool | None] = {}
        assigned: dict[str, set[str]] = {}
        for group in groups:
            responses = await admin.describe_consumer_groups([group])
            described = [g for r in responses for g in r.groups if g[1] == group]
            if not described or described[0][0]:
                activity[group] = None
                continue
            members = described[0][5]
            activity[group] = group_active(described[0][2], len(members))
            assigned[group] = {topic for member in members for topic in _assigned_topics(member[-1])}
        return activity, assigned

    @staticmethod
    async def _partitions(consumer: AIOKafkaConsumer, topics: Iterable[str]) -> list[TopicPartition]:
        # every topic, new ones and new partitions too: set_topics(()) also undoes the fetcher's
        # add_topic of a topic deleted under a ListOffsets, which would narrow the metadata to it
        await consumer._client.set_topics(())  # noqa: SLF001
        found = []
        for topic in sorted(topics):
            for partition in sorted(consumer.partitions_for_topic(topic) or ()):
                found.append(TopicPartition(topic, partition))
        return found


def _assigned_topics(raw: bytes | None) -> list[str]:
    """The topics in a consumer-protocol member assignment; none when it cannot be read."""
    if not raw:
        return []
    try:
        return [topic for topic, _ in ConsumerProtocolMemberAssignment.decode(raw).assignment]
    except Exception:  # noqa: BLE001 - another protocol's bytes: the member's commits still show
        return []


def _samples(
    committed: Mapping[str, Mapping[TopicPartition, int | None]],
    topics_of: Mapping[str, set[str]],
    activity: Mapping[str, bool | None],
    partitions: list[TopicPartition],
    starts: Mapping[TopicPartition, Any],
    ends: Mapping[TopicPartition, Any],
    at_ms: int,
    commits: CommitWatch | None = None,
) -> Iterable[PartitionSample]:
    watched = None if commits is None else commits.since_ms
    for group, offsets in committed.items():
        topics = topics_of[group]
        for tp in partitions:
            if tp.topic not in topics:
                continue
            yield PartitionSample(
                group=group,
                topic=tp.topic,
                partition=tp.partition,
                committed=offsets.get(tp),
                log_start=int(starts[tp]),
                end=int(ends[tp]),
                at_ms=at_ms,
                group_active=activity.get(group),
                last_commit_ms=None if commits is None else commits.last_commit_ms.get((group, tp.topic, tp.partition)),
                commits_watched_since_ms=watched,
            )
