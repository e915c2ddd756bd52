"""Lag in seconds against the truth: the age of the oldest message a stopped group has not consumed.

The producer writes 20 messages a second for 4 s while the collector samples every 0.25 s.
Group `from-start` committed offset 0 before the first message; group `from-middle` commits
offset 40 half-way through. At every sampling round, for each group, the estimate is compared
with `sampled_at - timestamp(first unconsumed message)`.

Tolerance, from how the estimate is made (end offsets interpolated between sampling rounds):
- interpolated inside the table (`from-middle`): within 0.25 s, one message period of bias
  (the table says when the end offset *reached* c, i.e. just before message c arrived) plus
  jitter of the producer's steady rate between two rounds;
- read at the end of a flat run (`from-start`: the log was empty until the first message):
  up to one sampling interval late, so 0.25 s + 0.25 s = 0.5 s over, never under by more than
  0.1 s.
"""
import asyncio

import pytest

from citybus.domain.lag import LagBook
from citybus.lag import LagCollector
from lag_support import SteadyProducer, commit_offset, create_topic, unique

pytestmark = pytest.mark.integration

INTERVAL = 0.25
RATE_PERIOD = 0.05  # 20 messages a second
INTERPOLATED_TOLERANCE = 0.25
FLAT_RUN_LATE = INTERVAL + 0.25
EARLY = 0.1


@pytest.mark.timeout(60)
async def test_lag_seconds_tracks_the_age_of_the_oldest_unconsumed_message(kafka_bootstrap):
    topic, start_group, middle_group = unique("seconds"), unique("from-start"), unique("from-middle")
    await create_topic(kafka_bootstrap, topic)
    await commit_offset(kafka_bootstrap, start_group, topic, 0)
    groups = {start_group: 0, middle_group: 40}
    rounds = []
    collector = LagCollector(kafka_bootstrap, book=LagBook(window=5), interval_s=INTERVAL,
                             include_group=groups.__contains__)

    async def sample(seconds: float) -> None:
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        while loop.time() < until:
            started = loop.time()
            await collector.sample_once()
            rounds.append(collector.report())
            await asyncio.sleep(max(0.0, INTERVAL - (loop.time() - started)))

    async with collector:
        await sample(1.0)  # the empty log, a flat run
        sampling = asyncio.create_task(sample(5.0))
        async with SteadyProducer(kafka_bootstrap, topic, period_s=RATE_PERIOD) as producer:
            while len(producer.sent) < 41:
                await asyncio.sleep(0.01)
            await commit_offset(kafka_bootstrap, middle_group, topic, 40)
            await asyncio.sleep(4.0 - len(producer.sent) * RATE_PERIOD)
        await sampling

    checked = {g: [] for g in groups}
    for report in rounds:
        for group in report.groups:
            c = groups[group.group]
            p = group.partitions[0]
            assert p.committed == c
            if p.lag_messages == 0:
                assert p.lag_seconds == 0.0
                continue
            truth = (p.at_ms - producer.timestamp_of(c)) / 1000
            checked[group.group].append((p.lag_seconds, truth))

    assert len(checked[start_group]) >= 15 and len(checked[middle_group]) >= 8, checked
    for estimate, truth in checked[start_group]:
        assert estimate is not None
        assert -EARLY <= estimate - truth <= FLAT_RUN_LATE, (estimate, truth)
    # the group's first round has a one-point table: nothing to interpolate on yet
    middle = checked[middle_group][1:] if checked[middle_group][0][0] is None else checked[middle_group]
    for estimate, truth in middle:
        assert estimate is not None
        assert abs(estimate - truth) <= INTERPOLATED_TOLERANCE, (estimate, truth)
    # the lag keeps growing after the producer stops: the oldest message only gets older
    assert checked[start_group][-1][0] > 4.0
    for name, pairs in (("from-start", checked[start_group]), ("from-middle", middle)):
        errors = [e - t for e, t in pairs]
        print(f"{name}: lag_seconds - truth in [{min(errors):.3f}, {max(errors):.3f}] s over {len(errors)} rounds")
