"""The collector on the real broker's edge cases: topics deleted while a round reads them."""
import asyncio

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CoordinatorLoadInProgressError
from aiokafka.protocol.offset import OffsetRequest

from citybus.domain.lag import LagBook
from citybus.lag import LagCollector
from lag_support import commit_offset, create_topic, produce, unique

pytestmark = pytest.mark.integration


class DeletesAfterMetadata(LagCollector):
    """Deletes `doomed` on the broker once a round has read the metadata (that still lists it) and
    before it asks for log offsets: the window in which a real deletion lands now and then."""

    doomed: str | None = None

    async def _partitions(self, consumer, topics):  # noqa: ANN001, ANN202
        found = await LagCollector._partitions(consumer, topics)
        if self.doomed is not None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
            await admin.start()
            try:
                await admin.delete_topics([self.doomed])
                await _until_no_broker_answers_its_offsets(admin, self.doomed)
            finally:
                await admin.close()
            self.doomed = None
        return found


async def _until_no_broker_answers_its_offsets(admin: AIOKafkaAdminClient, topic: str) -> None:
    """Until the deletion is applied where ListOffsets is served. The metadata drops a topic first
    and the partition is stopped after it (KRaft applies the image to the metadata cache, then to the
    replica manager), so between the two a broker no longer lists the topic yet still answers its
    end offset: waiting on `list_topics` alone left that window open (the round then read it)."""
    client = admin._client  # noqa: SLF001
    request = OffsetRequest(-1, 0, [(topic, [(0, -1)])])
    while True:
        await client.force_metadata_update()
        answers = [await client.send(broker.nodeId, request) for broker in client.cluster.brokers()]
        if all(error for response in answers for _, parts in response.topics for _, error, *_ in parts):
            return
        await asyncio.sleep(0.05)


@pytest.mark.timeout(150)
async def test_a_topic_deleted_during_a_round_leaves_only_itself_out(kafka_bootstrap):
    kept, gone = unique("kept"), unique("gone")
    kept_group, gone_group = unique("kept-group"), unique("gone-group")
    for topic, group in ((kept, kept_group), (gone, gone_group)):
        await create_topic(kafka_bootstrap, topic)
        await produce(kafka_bootstrap, topic, 5)
        await commit_offset(kafka_bootstrap, group, topic, 2)
    groups = {kept_group, gone_group}
    collector = DeletesAfterMetadata(kafka_bootstrap, book=LagBook(window=5), include_group=groups.__contains__,
                                     watch_commits=False)
    collector.offsets_timeout_s = 3.0
    async with collector:
        first = await collector.sample_once()
        assert {s.group for s in first} == groups
        await produce(kafka_bootstrap, kept, 3)

        collector.doomed = gone
        second = await collector.sample_once()  # used to wait out aiokafka's 40 s and fail whole
        assert [(s.group, s.topic, s.end) for s in second] == [(kept_group, kept, 8)]
        report = collector.report()
        assert report.group(kept_group).partitions[0].at_ms == second[0].at_ms
        # not read this round: kept as the first round saw it, not forgotten
        assert report.group(gone_group).partitions[0].at_ms == first[0].at_ms

        third = await collector.sample_once()  # gone from the metadata now: forgotten
        assert {s.group for s in third} == {kept_group}
        assert [g.group for g in collector.report().groups] == [kept_group]


class OneGroupUnreadable(LagCollector):
    """The committed offsets of `failing` cannot be read (its coordinator loading, say); the broker
    answers every other call."""

    failing: str | None = None

    async def _committed_offsets(self, admin, group):  # noqa: ANN001, ANN202
        if group == self.failing:
            raise CoordinatorLoadInProgressError()
        return await LagCollector._committed_offsets(admin, group)


@pytest.mark.timeout(120)
async def test_a_group_whose_offsets_cannot_be_read_leaves_only_itself_out(kafka_bootstrap):
    topic = unique("grp")
    good, bad = unique("good-group"), unique("bad-group")
    await create_topic(kafka_bootstrap, topic)
    await produce(kafka_bootstrap, topic, 5)
    for group in (good, bad):
        await commit_offset(kafka_bootstrap, group, topic, 2)
    collector = OneGroupUnreadable(kafka_bootstrap, book=LagBook(window=5), include_group={good, bad}.__contains__,
                                   watch_commits=False)
    async with collector:
        first = await collector.sample_once()
        assert {s.group for s in first} == {good, bad}
        collector.failing = bad
        second = await collector.sample_once()  # used to fail the whole round: nobody sampled
        assert {s.group for s in second} == {good}
        report = collector.report()
        assert report.group(good).partitions[0].at_ms == second[0].at_ms
        assert report.group(bad).partitions[0].at_ms == first[0].at_ms  # kept as last seen, not forgotten
