"""Lag in seconds against the truth: the age of the oldest message a stopped group has not consumed.

The producer writes 20 messages a second for 4 s while the collector samples every 0.25 s, and
sampling goes on after it stops until every group has been judged in enough rounds. Each group
stops at a known committed offset c; the topic stamps LogAppendTime, so the record timestamp of
message c is when the broker appended it.

- `from-start` committed 0 on the empty log: c is read at the end of a flat run.
- `at-25` ... `at-46` committed 0, are sampled from the start, then commit c half-way through:
  c is interpolated between two rounds of the end-offset table.
- `late` is first seen after committing 40: c is older than its table, extrapolated back.

Nothing here depends on how fast the machine is: the bounds come from the rounds the collector
reports itself (when each round was taken, `at_ms`, and the log end offset it saw). Let k be the
last round whose end offset was at most c, and k+1 the next one (past c):
- the rounds tell the truth: message c was appended after round k-1 (round k read the end
  offsets after it) and before round k+1 read them;
- the estimate is `at_ms` minus when the end offset reached c, interpolated (lag.md) between
  rounds k and k+1; at the end of a flat run that is t(k), the run's last time. So a stopped group
  falls behind one second per second of the rounds' clock. Older than its table (`late`): before
  the group's first round.
How far the estimates are from the record timestamps is printed, not asserted: it measures how
steady the producer and the rounds were, not the estimator.
"""
import asyncio

import pytest

from citybus.domain.lag import LagBook, PartitionReport
from citybus.lag import LagCollector
from lag_support import SteadyProducer, commit_offset, create_topic, unique

pytestmark = pytest.mark.integration

INTERVAL = 0.25
RATE_PERIOD = 0.05  # 20 messages a second
ROUNDS_JUDGED = 8
MS = 0.001  # times are whole milliseconds


@pytest.mark.timeout(90)
async def test_lag_seconds_tracks_the_age_of_the_oldest_unconsumed_message(kafka_bootstrap):
    topic, start_group, late_group = unique("seconds"), unique("from-start"), unique("late")
    inside = {unique(f"at-{c}"): c for c in (25, 32, 39, 46)}
    stops = {start_group: 0, late_group: 40, **inside}
    await create_topic(kafka_bootstrap, topic, configs={"message.timestamp.type": "LogAppendTime"})
    for group in (start_group, *inside):
        await commit_offset(kafka_bootstrap, group, topic, 0)
    rounds = []
    collector = LagCollector(kafka_bootstrap, book=LagBook(window=5), interval_s=INTERVAL,
                             include_group=stops.__contains__)

    def judged(group: str) -> list[PartitionReport]:
        """The group's rounds once stopped at c and behind (the late group's first is None: a one-point table)."""
        found = [p for r in rounds for g in r.groups if g.group == group
                 for p in g.partitions if p.committed == stops[group] and p.lag_messages > 0]
        return found[1:] if group == late_group and found and found[0].lag_seconds is None else found

    async def sample_while(going) -> None:  # noqa: ANN001
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while going():
            assert loop.time() < deadline, f"rounds judged: {({g: len(judged(g)) for g in stops})}"
            started = loop.time()
            await collector.sample_once()
            rounds.append(collector.report())
            await asyncio.sleep(max(0.0, INTERVAL - (loop.time() - started)))

    producing = True
    async with collector:
        await sample_while(lambda: len(rounds) < 4)  # the empty log, a flat run
        sampling = asyncio.create_task(sample_while(lambda: producing))
        async with SteadyProducer(kafka_bootstrap, topic, period_s=RATE_PERIOD) as producer:
            pending = {g: c for g, c in stops.items() if c}
            while pending:  # each group consumed up to c, committed and went away
                for group, c in list(pending.items()):
                    if len(producer.sent) > c:
                        await commit_offset(kafka_bootstrap, group, topic, c)
                        del pending[group]
                await asyncio.sleep(0.01)
            await asyncio.sleep(max(0.0, 4.0 - len(producer.sent) * RATE_PERIOD))
        producing = False
        await sampling
        await sample_while(lambda: any(len(judged(g)) < ROUNDS_JUDGED for g in stops))

    for report in rounds:
        for group in report.groups:
            p = group.partitions[0]
            assert p.committed in (0, stops[group.group])
            if p.lag_messages == 0:
                assert p.lag_seconds == 0.0
    timeline = [(r.groups[0].partitions[0].at_ms, r.groups[0].partitions[0].end) for r in rounds if r.groups]
    for group, c in stops.items():
        k = max(i for i, (_, end) in enumerate(timeline) if end <= c)
        (before, end_before), (after, end_after) = timeline[k], timeline[k + 1]
        reached = before + (c - end_before) / (end_after - end_before) * (after - before)  # interpolated
        appended = producer.timestamp_of(c)
        assert timeline[k - 1][0] <= appended <= after, (group, timeline[k - 1:k + 2], appended)
        pairs = judged(group)
        name = group.rsplit("-", 1)[0].removeprefix("lagtest-")
        errors = [p.lag_seconds - (p.at_ms - appended) / 1000 for p in pairs if p.lag_seconds is not None]
        print(f"{name}: lag_seconds - age of message {c} in [{min(errors):.3f}, {max(errors):.3f}] s "
              f"over {len(errors)} rounds")
        first_seen = _first_round(rounds, group)
        for p in pairs:
            assert p.lag_seconds is not None, (group, p)
            if group == late_group:  # c is older than its table, whose first point is its first round
                assert p.lag_seconds >= (p.at_ms - first_seen) / 1000 - MS, (group, p, first_seen)
                continue
            assert p.lag_seconds == pytest.approx((p.at_ms - reached) / 1000, abs=MS), (group, p, reached)


def _first_round(rounds: list, group: str) -> int:
    return next(g.partitions[0].at_ms for r in rounds for g in r.groups if g.group == group)
