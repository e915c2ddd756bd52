"""POST /migrations when the bus does not take the request: 503 naming the migration_id to retry
with, and the id is not reported as accepted; with a body that is not JSON: 400, nothing written. The HTTP layer over a real (never started) StateWorker
and real stores; the producer is the worker's collaborator, here one that fails as aiokafka does
when it gives up (its retries and timeout spent) or one that records what it was given."""
from __future__ import annotations

from dataclasses import replace

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiokafka.errors import KafkaTimeoutError, NotLeaderForPartitionError

from citybus.codec import decode
from citybus.domain.migration import MigrationRequested
from citybus.migration.orchestrator import INDEX, SAGAS
from citybus.migration.subjects import SubjectSagas
from citybus.migration.web import MigrationWeb
from citybus.streams.batch import partition_of
from citybus.streams.store import Stores
from citybus.streams.worker import StateWorker, WorkerConfig
from orchestrator_rig import PERSON, POLICY, Rig

BODY = {"subject_type": "PERSON", "subject_id": PERSON, "from_city": "440300", "to_city": "442000",
        "scopes": ["PENSION"], "migration_id": "m-503"}


class Producer:
    def __init__(self, fails: Exception | None) -> None:
        self.fails = fails
        self.sent: list[tuple] = []

    async def send_and_wait(self, topic, value, key=None, headers=None):  # noqa: ANN001, ANN201
        if self.fails is not None:
            raise self.fails
        self.sent.append((topic, key, value))


@pytest.fixture
def site(tmp_path):
    rig = Rig(tmp_path / "rig", set())
    worker = StateWorker("127.0.0.1:9", WorkerConfig(
        group="test", topics=[], changelog="unused", data_dir=tmp_path / "worker", url="http://127.0.0.1:1"),
        rig.orchestrator)
    worker.stores = Stores(tmp_path / "stores")
    for partition in range(6):
        worker.stores.open(partition)
    worker.ready = set(range(6))  # what an assignment leaves
    yield worker, MigrationWeb(worker, rig.orchestrator, POLICY)
    worker.stores.close_all()


@pytest.mark.parametrize("error", [KafkaTimeoutError(), NotLeaderForPartitionError()], ids=["timeout", "not-leader"])
async def test_a_request_the_bus_did_not_take_is_503_with_its_id_and_not_accepted(site, error):
    worker, web = site
    worker.producer = Producer(error)
    async with TestClient(TestServer(web.app)) as client:
        response = await client.post("/migrations", json=BODY)
        assert response.status == 503 and response.headers["Retry-After"] == "1"
        body = await response.json()
        assert body["migration_id"] == "m-503" and type(error).__name__ in body["error"]
        assert (await client.get("/migrations/m-503")).status == 404  # not reported as taken

        worker.producer = Producer(None)  # the bus is back: the retry with the same id is taken
        response = await client.post("/migrations", json=BODY)
        assert response.status == 202
        assert await response.json() == {"migration_id": "m-503", "status": "IN_PROGRESS"}
        [(topic, key, value)] = worker.producer.sent
        assert topic == "bus.migration.requests" and key == PERSON.encode()
        assert decode(value, "citybus.migration.MigrationRequested")[1]["migration_id"] == "m-503"
        again = await client.post("/migrations", json=BODY)  # known now: 200, nothing written twice
        assert again.status == 200 and len(worker.producer.sent) == 1


@pytest.mark.parametrize("body", [b"nope", b"\xff\xfe{}", b"[" * 100_000 + b"]" * 100_000],
                         ids=["not-json", "not-utf8", "nested-too-deep"])
async def test_a_body_that_is_not_json_is_400_and_nothing_is_written(site, body):
    worker, web = site
    worker.producer = Producer(None)
    async with TestClient(TestServer(web.app)) as client:
        response = await client.post("/migrations", data=body, headers={"Content-Type": "application/json"})
        assert response.status == 400
        assert await response.json() == {"error": "body: must be JSON"}
        assert worker.producer.sent == []


async def test_a_forgotten_migration_is_unknown_and_one_on_its_way_in_progress(site):
    """A subject past SUBJECT_BUDGET forgets its oldest finished migrations: their ids, still claimed
    for it, must read as unknown (404; 410 to a worker asking the subject's owner), not as a request
    on its way to its saga (IN_PROGRESS, for ever)."""
    worker, web = site
    request = MigrationRequested("m-kept", "PERSON", PERSON, "440300", "442000", ("PENSION",), 1_000, "test")
    subject = SubjectSagas(PERSON).on_request(request, POLICY).subject
    for migration_id in ("m-old", "m-kept"):
        worker.stores[partition_of(migration_id.encode(), 6)].write({INDEX + migration_id.encode(): PERSON.encode()})
    home = worker.stores[partition_of(PERSON.encode(), 6)]
    async with TestClient(TestServer(web.app)) as client:
        home.write({SAGAS + PERSON.encode(): subject.to_bytes()})  # nothing forgotten: m-old is on its way
        response = await client.get("/migrations/m-old")
        assert response.status == 200 and (await response.json())["status"] == "IN_PROGRESS"

        home.write({SAGAS + PERSON.encode(): replace(subject, forgotten=1).to_bytes()})
        assert (await client.get("/migrations/m-old")).status == 404
        assert (await client.get("/migrations/m-old", params={"subject": PERSON})).status == 410
        kept = await client.get("/migrations/m-kept")
        assert kept.status == 200 and (await kept.json())["migration_id"] == "m-kept"
