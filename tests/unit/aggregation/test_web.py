"""The Query API (contributions.md) of a worker, over aiohttp's test client: a real StateWorker (never
started: no broker) given the stores and partitions an assignment would give it, and an Aggregator that
applied real encoded events. Expected figures come from the plain reference, not from the service."""
from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from citybus.aggregation.process import INDEX_TOPIC
from citybus.aggregation.service import medical_policies
from citybus.aggregation.web import AggregationWeb
from citybus.catalog import default_catalog
from citybus.domain.ids import resident_id_check_char
from citybus.simulate import WORKED_EXAMPLE_ID, WORKED_EXAMPLE_REQUEST
from citybus.simulate.contributions import CONTRIBUTION, SimulatedEvent, worked_example
from citybus.streams.worker import StateWorker, WorkerConfig
from tests.unit.aggregation.harness import PARTITIONS, as_records, record
from tests.unit.domain.contributions.reference import reference_figures

EXAMPLE = worked_example()
REQUEST = EXAMPLE[-1].record


def resident(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


VOIDED = resident("44030519700101001")  # one record, then its reversal: no effective record
NOBODY = resident("44030519700101002")  # never seen
BAD_CHECK = WORKED_EXAMPLE_ID[:17] + ("0" if WORKED_EXAMPLE_ID[17] != "0" else "1")


def voided() -> list[SimulatedEvent]:
    first = EXAMPLE[0]
    active = {**first.record, "resident_id": VOIDED, "record_id": "V-1"}
    return [SimulatedEvent(first.city, CONTRIBUTION, VOIDED, active),
            SimulatedEvent(first.city, CONTRIBUTION, VOIDED, {**active, "revision": 2, "status": "REVERSED"})]


@pytest.fixture
async def client(harness, tmp_path):
    await harness.run_through(as_records(EXAMPLE + voided()))
    # the statement index is stored when the worker reads back what it sent (INDEX_TOPIC is an input)
    index = harness.of_topic(INDEX_TOPIC)
    await harness.run([record(topic, key, value, headers, offset, partition)
                       for offset, (topic, key, value, headers, partition) in enumerate(index)])
    worker = StateWorker("127.0.0.1:9", WorkerConfig(
        group="test", topics=[], changelog="unused", data_dir=tmp_path / "worker", url="http://127.0.0.1:1",
        partitions=PARTITIONS), harness.aggregator)
    worker.stores, worker.ready = harness.stores, set(range(PARTITIONS))  # what an assignment leaves
    site = AggregationWeb(worker, harness.aggregator)
    async with TestClient(TestServer(site.app)) as client:
        client.worker = worker
        yield client


async def test_a_person_with_effective_records_is_answered_with_every_scheme(client):
    response = await client.get(f"/contributions/{WORKED_EXAMPLE_ID}")
    assert response.status == 200
    figures = reference_figures([e.record for e in EXAMPLE if e.full_name == CONTRIBUTION])
    assert await response.json() == {"resident_id": WORKED_EXAMPLE_ID, "schemes": figures["schemes"]}


@pytest.mark.parametrize("rid", [VOIDED, NOBODY], ids=["only-reversed-records", "unknown"])
async def test_a_person_without_an_effective_record_is_404(client, rid):
    response = await client.get(f"/contributions/{rid}")
    assert response.status == 404
    assert rid in (await response.json())["error"]


@pytest.mark.parametrize("rid", [BAD_CHECK, WORKED_EXAMPLE_ID[:17], "44030519650315002A"],
                         ids=["check-character", "too-short", "letter"])
async def test_an_invalid_resident_id_is_400_with_the_reason(client, rid):
    response = await client.get(f"/contributions/{rid}")
    assert response.status == 400
    body = await response.json()
    assert body["reason_code"] == "INVALID_FIELD" and "GB 11643" in body["error"]


async def test_a_retirement_statement_is_answered_by_request_id(client):
    response = await client.get(f"/retirements/{WORKED_EXAMPLE_REQUEST}")
    assert response.status == 200
    body = await response.json()
    events = [e.record for e in EXAMPLE if e.full_name == CONTRIBUTION]
    figures = reference_figures(events, REQUEST, medical_policies(default_catalog()))
    assert {k: body[k] for k in ("request_id", "resident_id", "city", "hukou_city", "revision")} == {
        k: REQUEST[k] for k in ("request_id", "resident_id", "city", "hukou_city")} | {"revision": 1}
    assert (body["pension"], body["medical"]) == (figures["pension"], figures["medical"])


async def test_an_unknown_request_id_is_404(client):
    response = await client.get("/retirements/R-nobody")
    assert response.status == 404
    assert "R-nobody" in (await response.json())["error"]


async def test_a_partition_nobody_owns_yet_is_503_with_retry_after(client):
    client.worker.ready = set()
    response = await client.get(f"/contributions/{WORKED_EXAMPLE_ID}")
    assert response.status == 503 and response.headers["Retry-After"] == "1"
