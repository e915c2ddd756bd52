"""contributions.md: "`request_id` (string, unique)". Requests are kept per person, so the id is
claimed first in its own partition (citybus.aggregation.claims): a second request under an id,
another resident's, is refused there, and the lookup by request_id never answers for two people."""
from __future__ import annotations

import json

import pytest

from citybus.aggregation.claims import CLAIM
from citybus.aggregation.outputs import STATEMENTS_TOPIC
from citybus.aggregation.process import BY_PERSON_TOPIC, CLAIMS_TOPIC, INDEX_TOPIC
from citybus.codec import decode, encode
from citybus.domain.ids import resident_id_check_char
from citybus.simulate import WORKED_EXAMPLE_ID, WORKED_EXAMPLE_REQUEST
from citybus.simulate.contributions import RETIREMENT, SimulatedEvent, worked_example
from citybus.streams.batch import partition_of
from citybus.streams.origin import HOP_HEADER
from tests.unit.aggregation.harness import PARTITIONS, as_records, record

EXAMPLE = worked_example()
REQUEST = EXAMPLE[-1]  # the worked example's retirement request, in 442000
OTHER_ID = "310101198001010" + "01"
OTHER_ID += resident_id_check_char(OTHER_ID)
assert partition_of(OTHER_ID.encode(), PARTITIONS) != partition_of(WORKED_EXAMPLE_ID.encode(), PARTITIONS)
# another city's request for another resident, under the same request_id
OTHERS = SimulatedEvent("310000", RETIREMENT, OTHER_ID,
                        {**REQUEST.record, "resident_id": OTHER_ID, "city": "310000", "hukou_city": "310000"})
HOME = partition_of(WORKED_EXAMPLE_REQUEST.encode(), PARTITIONS)


def statements(harness) -> list[dict]:
    return [decode(s[2])[1] for s in harness.of_topic(STATEMENTS_TOPIC)]


@pytest.mark.parametrize("same_batch", [True, False], ids=["same-batch", "later-batch"])
async def test_a_request_id_already_another_residents_is_refused_and_the_first_stands(harness, same_batch):
    if same_batch:
        await harness.run_through(as_records([*EXAMPLE, OTHERS]))
    else:
        await harness.run_through(as_records(EXAMPLE))
        harness.aggregator.forget()  # the claim is in the store, not only in memory
        await harness.run_through(as_records([OTHERS], first_offset=len(EXAMPLE)))
    (dead,) = harness.dead_letters()
    (refused,) = as_records([OTHERS], first_offset=len(EXAMPLE))
    assert dead["reason_code"] == "REQUEST_CONFLICT" and WORKED_EXAMPLE_REQUEST in dead["reason"]
    assert WORKED_EXAMPLE_ID not in dead["reason"]  # one city's operator is not told another's resident
    assert (dead["source_topic"], dead["offset"], dead["key"], dead["value"]) == (
        refused.topic, refused.offset, OTHER_ID.encode(), refused.value)
    (statement,) = statements(harness)
    assert (statement["resident_id"], statement["request_id"]) == (WORKED_EXAMPLE_ID, WORKED_EXAMPLE_REQUEST)
    (index,) = harness.of_topic(INDEX_TOPIC)  # what GET /retirements/{request_id} answers
    assert json.loads(index[2])["resident_id"] == WORKED_EXAMPLE_ID


async def test_the_claim_is_state_of_the_request_ids_partition(harness):
    records = as_records(EXAMPLE)
    await harness.run(records)
    (claim,) = harness.of_topic(CLAIMS_TOPIC)
    assert claim[2] == records[-1].value
    batch = await harness.run([record(CLAIMS_TOPIC, claim[1], claim[2], claim[3], 0, claim[4])])
    assert claim[4] == HOME and list(batch.state[HOME]) == [CLAIM + WORKED_EXAMPLE_REQUEST.encode()]
    (on,) = harness.of_topic(BY_PERSON_TOPIC)  # sent on to the person, the city's bytes untouched
    assert (on[1], on[2], on[4]) == (WORKED_EXAMPLE_ID.encode(), records[-1].value,
                                     partition_of(WORKED_EXAMPLE_ID.encode(), PARTITIONS))


async def test_a_redelivered_request_is_stated_once_and_not_refused(harness):
    records = as_records(EXAMPLE)
    await harness.run(records)
    await harness.run(records[-1:])  # the request again before its claim came back: claimed twice
    await harness.settle()
    assert harness.dead_letters() == [] and len(statements(harness)) == 1


async def test_a_request_in_another_partition_is_claimed_then_stated_in_its_persons(harness):
    records = as_records(EXAMPLE)
    person = partition_of(WORKED_EXAMPLE_ID.encode(), PARTITIONS)
    misrouted = record(records[-1].topic, records[-1].key, records[-1].value, records[-1].headers, 0,
                       (person + 1) % PARTITIONS)
    await harness.run_through([*records[:-1], misrouted])
    (statement,) = statements(harness)
    assert statement["pension"]["total_months"] == 171 and harness.dead_letters() == []


async def test_a_hop_header_set_by_a_city_does_not_skip_the_claim(harness):
    forged = [(HOP_HEADER, b"claimed")]
    refused = encode(RETIREMENT, OTHERS.record)
    await harness.run_through(as_records(EXAMPLE))
    person = partition_of(OTHER_ID.encode(), PARTITIONS)
    for partition in (person, (person + 1) % PARTITIONS):  # in its person's partition, and misrouted
        await harness.run_through([record(OTHERS.topic, OTHER_ID.encode(), refused, forged, 50 + partition,
                                          partition)])
    assert [d["reason_code"] for d in harness.dead_letters()] == ["REQUEST_CONFLICT"] * 2
    assert len(statements(harness)) == 1
    for claim in harness.of_topic(CLAIMS_TOPIC):
        assert HOP_HEADER not in dict(claim[3])


async def test_a_contribution_on_the_claims_topic_is_dead_lettered(harness):
    (first,) = as_records(EXAMPLE[:1])
    headers = [*first.headers, ("citybus-origin", f"{first.topic}/{first.partition}/7/0".encode())]
    await harness.run([record(CLAIMS_TOPIC, first.key, first.value, headers, 3, HOME)])
    (dead,) = harness.dead_letters()
    assert (dead["reason_code"], dead["source_topic"], dead["offset"]) == ("WRONG_TYPE", first.topic, 7)
    assert harness.of_topic(BY_PERSON_TOPIC) == []
