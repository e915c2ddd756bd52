"""The contribution aggregation written as a quixstreams app: the peer the Faust service is compared with.

Same input (the six `city.<code>.insurance.contributions` topics, concatenated, co-partitioned
by resident_id), same checks (decode, WRONG_CITY, field rules), the same pure domain
(`PersonLedger` per resident, kept as its own bytes in quixstreams' RocksDB state with a
changelog topic), and the same output: every changed summary, Avro-encoded, to a topic.
It is written the quixstreams way, one message at a time. Bad events are counted and skipped
(the peer has no dead-letter topic; the benchmark's events are all valid).

Runs in its own virtualenv, because quixstreams pins pydantic below the project's version:

    .citybus/bench/quix-venv/bin/python -m citybus.bench.quix_peer --bootstrap HOST:PORT \\
        --group bench-quixstreams --state-dir DIR --output bench.quix-summaries
"""
from __future__ import annotations

import argparse
import functools
import logging
import time

from quixstreams import Application, message_context
from quixstreams.state.rocksdb import RocksDBOptions

from citybus.catalog import default_catalog
from citybus.codec import decode, encode
from citybus.codec.mapping import contribution_from_avro
from citybus.domain.contributions import ApplyOutcome, PersonLedger, check_topic_city, validate_contribution
from citybus.errors import CitybusError

CONTRIBUTION = "citybus.insurance.ContributionRecorded"
SUMMARY = "citybus.insurance.ContributionSummary"
_LEDGER = b"ledger"


def _raw(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def _summary_record(resident_id: str, scheme: str, summary, now: int) -> dict:  # noqa: ANN001
    """ContributionSummary v1; a scheme left without effective records has 0 months and null months."""
    return {
        "resident_id": resident_id, "scheme": scheme,
        "total_months": summary.total_months if summary else 0,
        "months_by_city": dict(summary.months_by_city) if summary else {},
        "first_month": summary.first_month if summary else None,
        "last_month": summary.last_month if summary else None,
        "last_city": summary.last_city if summary else None,
        "duplicate_months": summary.duplicate_months if summary else 0,
        "refunds": [{"city": r.city, "record_id": r.record_id, "month": r.month, "amount": r.amount}
                    for r in (summary.refunds if summary else ())],
        "updated_at": now,
    }


def aggregator(catalog):  # noqa: ANN001, ANN201
    cities = catalog.city_codes
    skipped = 0

    def aggregate(value: bytes, state) -> list[bytes]:  # noqa: ANN001
        nonlocal skipped
        try:
            _, record = decode(value, CONTRIBUTION)
            contribution = validate_contribution(contribution_from_avro(record), cities)
            check_topic_city(contribution.city, catalog.city_of_topic(message_context().topic))
        except CitybusError:
            skipped += 1
            return []
        stored = state.get(_LEDGER)
        ledger = PersonLedger.from_bytes(stored) if stored else PersonLedger(contribution.resident_id)
        result = ledger.apply(contribution)
        if result.outcome is not ApplyOutcome.APPLIED:
            return []
        state.set(_LEDGER, ledger.to_bytes())
        now = int(time.time() * 1000)
        out = []
        for scheme in result.changed_schemes:
            out.append(encode(SUMMARY, _summary_record(contribution.resident_id, scheme, ledger.summary(scheme), now)))
        return out

    return aggregate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--group", default="bench-quixstreams")
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--output", default="bench.quix-summaries")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    catalog = default_catalog()
    app = Application(
        broker_address=args.bootstrap, consumer_group=args.group, auto_offset_reset="earliest",
        state_dir=args.state_dir, commit_interval=1.0, loglevel="WARNING", use_changelog_topics=True,
        rocksdb_options=RocksDBOptions(dumps=_raw, loads=bytes),
        producer_extra_config={"enable.idempotence": True, "acks": "all", "linger.ms": 5},
    )
    frames = [app.dataframe(app.topic(t.name, key_deserializer="bytes", value_deserializer="bytes"))
              for t in catalog.city_topics("insurance.contributions")]
    stream = functools.reduce(lambda left, right: left.concat(right), frames)
    # The merged stream's id joins the six topic names, and quixstreams names the changelog
    # after it: past Kafka's 255 characters. The same stream under a short id.
    stream = stream.__dataframe_clone__(stream=stream.stream, stream_id="contributions")
    stream = stream.apply(aggregator(catalog), stateful=True, expand=True)
    stream.to_topic(app.topic(args.output, key_serializer="bytes", value_serializer="bytes"))
    app.run()


if __name__ == "__main__":
    main()
