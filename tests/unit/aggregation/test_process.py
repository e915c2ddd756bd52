"""The service's batch step with plain dicts for tables and a list for the producer: what is sent,
what is written, and that a batch is answered once per person."""
from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest

from citybus.aggregation.outputs import STATEMENTS_TOPIC, SUMMARIES_TOPIC
from citybus.aggregation.process import Aggregator
from citybus.aggregation.service import medical_policies, source_topics
from citybus.bus import DEADLETTER_TOPIC, DeadLetterSink, default_intake
from citybus.bus.publisher import CityPublisher
from citybus.catalog import default_catalog
from citybus.codec import decode
from citybus.domain.contributions import PersonLedger
from citybus.simulate import WORKED_EXAMPLE_ID, WORKED_EXAMPLE_REQUEST
from citybus.simulate.contributions import bad_events, worked_example


class Event:  # what Faust hands the agent, as far as the service looks (weak-referenceable)
    def __init__(self, topic: str, key: bytes, value: bytes, headers, offset: int) -> None:
        self.message = SimpleNamespace(topic=topic, partition=0, offset=offset, key=key, value=value, headers=headers)


def as_events(simulated) -> list[Event]:
    catalog = default_catalog()
    publishers = {c: CityPublisher(catalog, c, None) for c in catalog.city_codes}
    out = []
    for offset, e in enumerate(simulated):
        if e.raw is None:
            topic, key, value, headers = publishers[e.city].prepare(e.full_name, e.record)
        else:
            topic, key, value, headers = e.topic, e.key.encode(), e.raw, []
        out.append(Event(topic, key, value, headers, offset))
    return out


@pytest.fixture
def service():
    sent: list[tuple] = []

    async def send(topic, key, value, headers):
        sent.append((topic, key, value))
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    aggregator = Aggregator(ledgers={}, retirements={}, index_topic="index", intake=default_intake(),
                            deadletters=DeadLetterSink(send, "aggregation"), send=send,
                            policies=medical_policies(default_catalog()))
    return aggregator, sent


def test_sources_are_every_citys_contributions_and_retirements():
    topics = source_topics(default_catalog())
    assert len(topics) == 12 and "city.442000.insurance.retirements" in topics


async def test_one_summary_and_one_statement_per_batch_and_one_write_per_person(service):
    aggregator, sent = service
    await aggregator.process(as_events(worked_example()))
    topics = [t for t, _, _ in sent]
    assert topics.count(SUMMARIES_TOPIC) == 1 and topics.count(STATEMENTS_TOPIC) == 1 and topics.count("index") == 1
    stored = PersonLedger.from_bytes(aggregator.ledgers[WORKED_EXAMPLE_ID.encode()])
    assert stored.summary("PENSION").total_months == 171
    (index,) = [v for t, _, v in sent if t == "index"]
    assert json.loads(index)["request_id"] == WORKED_EXAMPLE_REQUEST
    assert WORKED_EXAMPLE_ID.encode() in aggregator.retirements


async def test_replayed_batch_sends_nothing_but_writes_the_ledger_again(service):
    aggregator, sent = service
    events = as_events(worked_example())
    await aggregator.process(events)
    sent.clear()
    aggregator.ledgers.clear()
    aggregator.forget()  # as after a crash: state from the table
    aggregator.ledgers[WORKED_EXAMPLE_ID.encode()] = PersonLedger(WORKED_EXAMPLE_ID).to_bytes()
    await aggregator.process(events)
    assert sent  # the table lost the person, so the replay is a real change again
    sent.clear()
    await aggregator.process(events)
    assert sent == [] and WORKED_EXAMPLE_ID.encode() in aggregator.ledgers


async def test_bad_events_are_dead_lettered_with_their_bytes_and_the_rest_is_applied(service):
    aggregator, sent = service
    good = worked_example()
    bad = list(bad_events(1, good, []))
    events = as_events(good + bad)
    wrong_key = as_events(worked_example()[:1])[0]
    wrong_key.message.key = b"110101199001011237"
    await aggregator.process(events + [wrong_key])
    dead = [decode(v, "citybus.bus.RejectedEvent")[1] for t, _, v in sent if t == DEADLETTER_TOPIC]
    assert [d["reason_code"] for d in dead] == [e.reason_code for e in bad[:-1]] + ["WRONG_KEY", "REVISION_CONFLICT"]
    assert [d["value"] for d in dead][:len(bad) - 1] == [e.raw for e in bad[:-1]]
    assert PersonLedger.from_bytes(aggregator.ledgers[WORKED_EXAMPLE_ID.encode()]).summary("PENSION").total_months == 171
