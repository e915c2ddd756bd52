"""Lag in seconds against the truth: the age of the oldest message a stopped group has not consumed.

The producer writes 20 messages a second for 4 s while the collector samples every 0.25 s.
Each group stops at a known committed offset c; at every sampling round the estimate is
compared with `sampled_at - timestamp(message c)`, the age of the first unconsumed message.

- `from-start` committed 0 on the empty log: c is read at the end of a flat run.
- `at-25` ... `at-46` committed 0, are sampled from the start, then commit c half-way through:
  c is interpolated between two rounds of the end-offset table.
- `late` is first seen after committing 40: c is older than its table, extrapolated back.

Tolerance, from how the estimate is made:
- interpolated or extrapolated at a steady rate: within 0.15 s (the method reads when the end
  offset *reached* c, i.e. just before message c arrived: one message period, 0.05 s, of bias,
  plus jitter of the producer's rate between two rounds);
- at the end of a flat run: up to one sampling interval late (0.25 s + 0.25 s margin = 0.5 s),
  never early by more than 0.1 s.
"""
import asyncio

import pytest

from citybus.domain.lag import LagBook
from citybus.lag import LagCollector
from lag_support import SteadyProducer, commit_offset, create_topic, unique

pytestmark = pytest.mark.integration

INTERVAL = 0.25
RATE_PERIOD = 0.05  # 20 messages a second
TOLERANCE = 0.15
FLAT_RUN_LATE = INTERVAL + 0.25
EARLY = 0.1


@pytest.mark.timeout(60)
async def test_lag_seconds_tracks_the_age_of_the_oldest_unconsumed_message(kafka_bootstrap):
    topic, start_group, late_group = unique("seconds"), unique("from-start"), unique("late")
    inside = {unique(f"at-{c}"): c for c in (25, 32, 39, 46)}
    stops = {start_group: 0, late_group: 40, **inside}
    await create_topic(kafka_bootstrap, topic)
    for group in (start_group, *inside):
        await commit_offset(kafka_bootstrap, group, topic, 0)
    rounds = []
    collector = LagCollector(kafka_bootstrap, book=LagBook(window=5), interval_s=INTERVAL,
                             include_group=stops.__contains__)

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
            pending = {g: c for g, c in stops.items() if c}
            while pending:  # each group consumed up to c, committed and went away
                for group, c in list(pending.items()):
                    if len(producer.sent) > c:
                        await commit_offset(kafka_bootstrap, group, topic, c)
                        del pending[group]
                await asyncio.sleep(0.01)
            await asyncio.sleep(4.0 - len(producer.sent) * RATE_PERIOD)
        await sampling

    checked = {g: [] for g in stops}
    for report in rounds:
        for group in report.groups:
            c, p = stops[group.group], group.partitions[0]
            assert p.committed in (0, c)
            if p.committed != c:
                continue
            if p.lag_messages == 0:
                assert p.lag_seconds == 0.0
                continue
            checked[group.group].append((p.lag_seconds, (p.at_ms - producer.timestamp_of(c)) / 1000))

    assert all(len(pairs) >= 8 for pairs in checked.values()), checked
    # the late group's first round has a one-point table: nothing to read c off yet
    if checked[late_group][0][0] is None:
        checked[late_group].pop(0)
    for group, pairs in checked.items():
        errors = [estimate - truth for estimate, truth in pairs]
        name = group.rsplit("-", 1)[0].removeprefix("lagtest-")
        print(f"{name}: lag_seconds - truth in [{min(errors):.3f}, {max(errors):.3f}] s over {len(errors)} rounds")
        for estimate, truth in pairs:
            assert estimate is not None, group
            if group == start_group:
                assert -EARLY <= estimate - truth <= FLAT_RUN_LATE, (group, estimate, truth)
            else:
                assert abs(estimate - truth) <= TOLERANCE, (group, estimate, truth)
    # the lag keeps growing after the producer stops: the oldest message only gets older
    assert checked[start_group][-1][0] > 4.0
