"""The commit watchdog re-reads a partition that has events beyond its committed offset and made
no progress for a few looks; it leaves moving or caught-up partitions alone."""
from __future__ import annotations

from collections import namedtuple

from citybus.aggregation.watchdog import install_commit_watchdog

TP = namedtuple("TP", "topic partition")
STUCK = TP("city.440300.insurance.contributions", 0)


class FakeConsumer:
    def __init__(self, end: int = 1218) -> None:
        self._committed_offset = {STUCK: 755}
        self._acked = {STUCK: [785, 786, 787]}
        self._read_offset = {STUCK: 787}
        self.end = end
        self.seeks: list[tuple[TP, int]] = []

    def assignment(self) -> set[TP]:
        return {STUCK, TP("citybus-aggregation-ledgers-changelog", 0)}

    async def highwaters(self, *tps: TP) -> dict[TP, int]:
        return {tp: self.end for tp in tps}

    async def seek(self, tp: TP, offset: int) -> None:
        self.seeks.append((tp, offset))


class FakeApp:
    def __init__(self, consumer: FakeConsumer) -> None:
        self.consumer = consumer
        self.tick = None

    def timer(self, interval: float, name: str):
        def register(fun):
            self.tick = fun
            return fun
        return register


def watched(consumer: FakeConsumer) -> FakeApp:
    app = FakeApp(consumer)
    install_commit_watchdog(app, {STUCK.topic}, looks=3)
    return app


async def test_a_partition_without_progress_is_re_read_from_its_committed_offset():
    app = watched(FakeConsumer())
    for _ in range(2):
        await app.tick()
    assert app.consumer.seeks == []  # maybe busy with other partitions: look again
    await app.tick()
    assert app.consumer.seeks == [(STUCK, 755)]


async def test_a_partition_that_moves_or_has_caught_up_is_left_alone():
    app = watched(FakeConsumer())
    for offset in range(788, 794):
        app.consumer._acked[STUCK].append(offset)
        await app.tick()
    caught_up = watched(FakeConsumer(end=755))
    for _ in range(5):
        await caught_up.tick()
    assert app.consumer.seeks == [] and caught_up.consumer.seeks == []
