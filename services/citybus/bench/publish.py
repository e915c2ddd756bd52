"""Publishing: CityPublisher.prepare (validate, encode, headers) and an acks=all send, many in flight,
against aiokafka sending pre-encoded messages of the same size (the client's ceiling)."""
from __future__ import annotations

import itertools
import time
from collections.abc import Iterable

from citybus.bench.broker import count_messages, create_topics
from citybus.bench.context import BenchContext
from citybus.bench.history import CONTRIBUTION, history
from citybus.bus.publisher import CityPublisher, PreparedEvent, city_producer
from citybus.streams.runtime import tune_gc

__all__ = ["run_publish", "load_events", "BASELINE_TOPIC", "BATCH_BASELINE_TOPIC"]

BASELINE_TOPIC = "bench.publish-baseline"
BATCH_BASELINE_TOPIC = "bench.publish-batch-baseline"
_SAMPLE = 5000


def _publishers(ctx: BenchContext, producer) -> dict[str, CityPublisher]:  # noqa: ANN001
    return {code: CityPublisher(ctx.catalog, code, producer, system="bench") for code in ctx.catalog.city_codes}


async def _publish(ctx: BenchContext, records: Iterable[dict], sample: list[PreparedEvent] | None = None) -> tuple[int, float]:
    """Prepare and send every record through the city's publisher; (sent, seconds)."""
    producer = city_producer(ctx.bootstrap)
    await producer.start()
    try:
        publishers = _publishers(ctx, producer)
        one = next(iter(publishers.values()))

        def prepared():
            for record in records:
                event = publishers[record["city"]].prepare(CONTRIBUTION, record)
                if sample is not None and len(sample) < _SAMPLE:
                    sample.append(event)
                yield event

        started = time.perf_counter()
        sent = await one.publish_many(prepared())
        return sent, time.perf_counter() - started
    finally:
        await producer.stop()


async def _baseline(ctx: BenchContext, sample: list[PreparedEvent], count: int) -> float:
    """The same number of messages, same keys, values and headers, already encoded."""
    await create_topics(ctx.bootstrap, [BASELINE_TOPIC])
    producer = city_producer(ctx.bootstrap)
    await producer.start()
    try:
        started = time.perf_counter()
        pending = []
        for _, key, value, headers in itertools.islice(itertools.cycle(sample), count):
            pending.append(await producer.send(BASELINE_TOPIC, value, key=key, headers=headers))
            if len(pending) >= 20000:
                for future in pending:
                    await future
                pending.clear()
        for future in pending:
            await future
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def _batch_baseline(ctx: BenchContext, sample: list[PreparedEvent], count: int) -> float:
    """The same pre-encoded messages through `publish_many` (the producer's batch API that the
    publisher uses): what is left of a publish once nothing is validated or encoded."""
    await create_topics(ctx.bootstrap, [BATCH_BASELINE_TOPIC])
    producer = city_producer(ctx.bootstrap)
    await producer.start()
    try:
        one = CityPublisher(ctx.catalog, min(ctx.catalog.city_codes), producer, system="bench")
        events = [PreparedEvent(BATCH_BASELINE_TOPIC, key, value, headers) for _, key, value, headers in sample]
        started = time.perf_counter()
        await one.publish_many(itertools.islice(itertools.cycle(events), count))
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def run_publish(ctx: BenchContext) -> None:
    conf = ctx.config
    records = list(history(conf.seed, conf.persons, conf.events))  # the city's own system made these: untimed
    tune_gc()  # as `citybus publish` does: the records above frozen, young collections every 1,000,000
    sample: list[PreparedEvent] = []
    sent, seconds = await _publish(ctx, records, sample)
    del records
    ctx.published += sent
    base_seconds = await _baseline(ctx, sample, sent)
    batch_seconds = await _batch_baseline(ctx, sample, sent)
    landed = await count_messages(ctx.bootstrap, ctx.contribution_topics)
    base_landed = await count_messages(ctx.bootstrap, [BASELINE_TOPIC])
    batch_landed = await count_messages(ctx.bootstrap, [BATCH_BASELINE_TOPIC])
    rate, base, batch = sent / seconds, sent / base_seconds, sent / batch_seconds
    ctx.results["publish"] = {
        "publish_events_per_s": round(rate),
        "publish_baseline_events_per_s": round(base),
        "ratio_to_baseline": round(rate / base, 3),
        "publish_batch_baseline_events_per_s": round(batch),
        "ratio_to_batch_baseline": round(rate / batch, 3),
        "events": sent,
        "seconds": round(seconds, 2),
        "baseline_seconds": round(base_seconds, 2),
        "mean_value_bytes": round(sum(len(e[2]) for e in sample) / len(sample)),
        "on_topics": landed,
        "baseline_on_topic": base_landed,
        "batch_baseline_on_topic": batch_landed,
        "verified": landed == ctx.published and base_landed == sent and batch_landed == sent,
        "how": "one process (garbage collector tuned as `citybus publish` tunes it), one idempotent acks=all "
               "producer (city_producer: 512 KiB batches), "
               "CityPublisher.prepare per event, publish_many filling one record batch per partition "
               "(create_batch/send_batch, murmur2 partitions as Java's); baseline: the same producer sending "
               "pre-encoded key/value/headers cycled from a sample of the same events with send() per event "
               "(20,000 in flight); batch baseline: the same pre-encoded events through publish_many",
    }


async def load_events(ctx: BenchContext) -> None:
    """Put the run's events on the city topics when the publish benchmark did not (untimed)."""
    if ctx.published:
        return
    sent, _ = await _publish(ctx, history(ctx.config.seed, ctx.config.persons, ctx.config.events))
    ctx.published += sent
