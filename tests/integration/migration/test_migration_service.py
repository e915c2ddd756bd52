"""The orchestrator and the simulated cities as real processes on a real broker: hundreds of
migrations through refusals, failures, lost, late and duplicated replies and a SIGKILLed
orchestrator; then every migration is final and every relation is in exactly one city."""
from __future__ import annotations

import asyncio
import random
import time
import uuid

import aiohttp
import pytest
from aiokafka import AIOKafkaProducer

from citybus.bus.publisher import CityPublisher, city_producer
from citybus.catalog import default_catalog
from citybus.cities.ledger_file import LedgerJournal
from citybus.codec import decode
from citybus.codec.mapping.household import household_moved_record
from citybus.domain.ids import enterprise_id_check_char, resident_id_check_char
from citybus.domain.migration import MigrationRequested
from citybus.errors import CitybusError
from citybus.migration.wire import CLAIMS_TOPIC, request_out
from citybus.streams.batch import partition_of

from ..records import read_to_end
from .conftest import REFUSED_AT_CLEARANCE, MigrationRig

CITIES = sorted(default_catalog().city_codes)
PERSON_SCOPES = ["HOUSEHOLD", "PENSION", "MEDICAL", "PROVIDENT_FUND"]
PARTITIONS = default_catalog().topic("bus.migration.requests").partitions


def person(rng: random.Random) -> str:
    first = f"{rng.choice(CITIES)[:4]}01{rng.randint(1960, 2004)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}" \
            f"{rng.randint(0, 999):03d}"
    return first + resident_id_check_char(first)


def enterprise(rng: random.Random) -> str:
    first = "9144" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(13))
    return first + enterprise_id_check_char(first)


async def post(session: aiohttp.ClientSession, url: str, body: dict) -> tuple[int, dict]:
    async with session.post(f"{url}/migrations", json=body) as response:
        return response.status, await response.json()


async def get(session: aiohttp.ClientSession, url: str, migration_id: str) -> dict | None:
    async with session.get(f"{url}/migrations/{migration_id}") as response:
        if response.status in (404, 503):
            return None
        assert response.status == 200, await response.text()
        return await response.json()


async def wait_final(url: str, ids: list[str], timeout: float) -> dict[str, dict]:
    views: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            pending = [m for m in ids if m not in views]
            if not pending:
                return views
            for start in range(0, len(pending), 20):
                batch = pending[start:start + 20]
                try:
                    answers = await asyncio.gather(*(get(session, url, m) for m in batch))
                except aiohttp.ClientError:
                    break  # the orchestrator is restarting
                for migration_id, view in zip(batch, answers, strict=True):
                    if view is not None and view["status"] != "IN_PROGRESS":
                        views[migration_id] = view
            await asyncio.sleep(0.5)
    missing = [m for m in ids if m not in views]
    raise AssertionError(f"{len(missing)} migrations not final after {timeout} s, e.g. {missing[:5]}")


async def in_progress(url: str, ids: list[str]) -> int:
    async with aiohttp.ClientSession() as session:
        views = await asyncio.gather(*(get(session, url, m) for m in ids))
    return sum(1 for v in views if v is None or v["status"] == "IN_PROGRESS")


async def read_topic(bootstrap: str, topics: list[str]) -> list:
    return await read_to_end(bootstrap, topics)


async def post_all(url: str, requests: list[dict]) -> None:
    """POST every request, twenty at a time; each must be taken: 202 with its id, IN_PROGRESS (migration.md).
    A 503 naming the id (the bus did not take the request: a cluster just started, or losing a broker) is
    retried after its Retry-After with the same migration_id, as a portal would, until it is taken."""
    async with aiohttp.ClientSession() as session:
        for start in range(0, len(requests), 20):
            batch = requests[start:start + 20]
            answers = await asyncio.gather(*(_taken(session, url, r) for r in batch))
            assert answers == [(202, {"migration_id": r["migration_id"], "status": "IN_PROGRESS"}) for r in batch]


async def _taken(session: aiohttp.ClientSession, url: str, body: dict, attempts: int = 5) -> tuple[int, dict]:
    for _ in range(attempts - 1):
        status, answer = await post(session, url, body)
        if status != 503:
            return status, answer
        assert answer["migration_id"] == body["migration_id"] and answer["error"], answer
        await asyncio.sleep(1)
    return await post(session, url, body)


def person_requests(seed: int, count: int, prefix: str) -> list[dict]:
    """`count` person migrations between two random cities, 1 to 4 scopes each, under unique ids."""
    rng = random.Random(seed)
    requests = []
    for index in range(count):
        from_city, to_city = rng.sample(CITIES, 2)
        requests.append({"subject_type": "PERSON", "subject_id": person(rng), "from_city": from_city,
                         "to_city": to_city, "scopes": rng.sample(PERSON_SCOPES, rng.randint(1, 4)),
                         "migration_id": f"{prefix}-{index}-{uuid.uuid4().hex[:6]}"})
    return requests


def post_half_then_the_rest(url: str, requests: list[dict], final_first: int) -> None:
    """The first half POSTed, then, once `final_first` of them are final, the rest: a test that then
    kills something does so mid-run by construction, however fast the services (some migrations
    final, the rest taken, 202: requested on the bus, and none of them final yet: each needs
    replies from the cities, every one delayed by their --latency)."""
    ids = [r["migration_id"] for r in requests]
    half = len(requests) // 2
    asyncio.run(post_all(url, requests[:half]))
    deadline = time.monotonic() + 60
    while asyncio.run(in_progress(url, ids[:half])) > half - final_first:
        assert time.monotonic() < deadline, "no migration became final"
        time.sleep(0.2)
    asyncio.run(post_all(url, requests[half:]))


def assert_invariant(rig: MigrationRig, views: dict[str, dict]) -> None:
    ledger = LedgerJournal.read(rig.data_dir / "cities")
    broken = []
    for view in views.values():
        if view["status"] == "REJECTED":
            continue
        for scope, body in view["scopes"].items():
            want = {view["to_city"]} if body["status"] == "COMPLETED" else {view["from_city"]}
            held = ledger.holders(view["subject_id"], scope)
            if held != want:
                broken.append((view["migration_id"], scope, body["status"], held, want))
    assert not broken, broken[:10]


def test_hundreds_of_migrations_survive_chaos_and_a_killed_orchestrator(rig: MigrationRig) -> None:
    rng = random.Random(2026)
    requests = []
    for index in range(260):
        from_city, to_city = rng.sample(CITIES, 2)
        if index % 5 == 4:
            body = {"subject_type": "ENTERPRISE", "subject_id": enterprise(rng), "from_city": from_city,
                    "to_city": to_city}
        else:
            scopes = rng.sample(PERSON_SCOPES, rng.randint(0, 4))
            body = {"subject_type": "PERSON", "subject_id": person(rng), "from_city": from_city,
                    "to_city": to_city, "scopes": scopes}
        requests.append({**body, "migration_id": f"bulk-{index}-{uuid.uuid4().hex[:6]}"})

    ids = [r["migration_id"] for r in requests]
    post_half_then_the_rest(rig.url, requests, final_first=10)  # commands out, replies in flight
    rig.kill_orchestrator()
    time.sleep(1.0)
    rig.start_orchestrator()
    views = asyncio.run(wait_final(rig.url, ids, timeout=150))

    statuses = {v["status"] for v in views.values()}
    assert statuses <= {"COMPLETED", "PARTIAL", "FAILED"}
    assert "COMPLETED" in statuses and ({"PARTIAL", "FAILED"} & statuses)
    scope_statuses = {s["status"] for v in views.values() for s in v["scopes"].values()}
    assert scope_statuses <= {"COMPLETED", "REJECTED", "FAILED", "REVERTED"}
    assert {"COMPLETED", "REVERTED"} <= scope_statuses
    assert any(step["attempts"] > 1 for v in views.values() for s in v["scopes"].values() for step in s["steps"])
    assert_invariant(rig, views)


def test_tax_refused_at_clearance_ends_rejected_with_the_reason(rig: MigrationRig) -> None:
    migration_id = f"tax-{uuid.uuid4().hex[:8]}"

    async def run() -> dict:
        async with aiohttp.ClientSession() as session:
            status, _ = await post(session, rig.url, {
                "migration_id": migration_id, "subject_type": "ENTERPRISE", "subject_id": REFUSED_AT_CLEARANCE,
                "from_city": "440300", "to_city": "442000"})
            assert status == 202
        return (await wait_final(rig.url, [migration_id], 60))[migration_id]

    view = asyncio.run(run())
    tax = view["scopes"]["TAX_REGISTRATION"]
    assert tax["status"] == "REJECTED"
    assert tax["steps"][0] == {"step": "PRECHECK", "city": "440300", "status": "REJECTED",
                               "attempts": tax["steps"][0]["attempts"]}
    assert view["status"] == "FAILED"
    assert LedgerJournal.read(rig.data_dir / "cities").holders(REFUSED_AT_CLEARANCE, "TAX_REGISTRATION") == {"440300"}


def same_partition_person(subject: str, rng: random.Random) -> str:
    """Another person whose requests share `subject`'s partition (so are read after its own)."""
    home = partition_of(subject.encode(), PARTITIONS)
    while partition_of((other := person(rng)).encode(), PARTITIONS) != home or other == subject:
        pass
    return other


def test_repeated_request_starts_nothing_and_a_conflicting_one_is_rejected(rig: MigrationRig) -> None:
    subject = person(random.Random(7))
    first, second = f"rep-{uuid.uuid4().hex[:8]}", f"conf-{uuid.uuid4().hex[:8]}"
    sentinel = f"sentinel-{uuid.uuid4().hex[:8]}"
    body = {"subject_type": "PERSON", "subject_id": subject, "from_city": "441900", "to_city": "310000"}

    async def records_of(migration_id: str) -> tuple[int, int]:
        """How many commands and status records of `migration_id` are on the bus."""
        commands = await read_topic(rig.bootstrap, [f"city.{c}.commands" for c in CITIES])
        statuses = await read_topic(rig.bootstrap, ["bus.migration.status"])
        # other tests of the session put bad bytes on the command topics (dead-letter tests): skipped
        return (sum(1 for r in commands if _migration_id(r.value) == migration_id),
                sum(1 for r in statuses if r.key == migration_id.encode()))

    async def run() -> None:
        async with aiohttp.ClientSession() as session:
            assert (await post(session, rig.url, {**body, "migration_id": first}))[0] == 202
            status, again = await post(session, rig.url, {**body, "migration_id": first})
            assert status == 200 and again["migration_id"] == first
            status, _ = await post(session, rig.url, {**body, "migration_id": second, "scopes": ["PENSION"]})
            assert status == 202
            views = await wait_final(rig.url, [first, second], 90)
            assert views[second]["status"] == "REJECTED"
            assert views[second]["reason"] == f"CONFLICT: {first}"
            sent = await records_of(first)
            assert sent[0] > 0 and sent[1] > 0
            status, known = await post(session, rig.url, {**body, "migration_id": first})
            assert status == 200 and known["status"] == views[first]["status"]
        # the same request again straight onto the bus, then a sentinel request for another subject
        # on the same partition: once the sentinel is decided, so is the repeat read before it
        repeat = MigrationRequested(first, "PERSON", subject, "441900", "310000", (), int(time.time() * 1000), "portal")
        other = same_partition_person(subject, random.Random(8))
        marker = MigrationRequested(sentinel, "PERSON", other, "441900", "310000", ("PENSION",),
                                    int(time.time() * 1000), "portal")
        producer = AIOKafkaProducer(bootstrap_servers=rig.bootstrap, acks="all")
        await producer.start()
        try:
            for request in (repeat, marker):
                topic, key, value, headers = request_out(request)
                await producer.send_and_wait(topic, value, key=key, headers=headers,
                                             partition=partition_of(key, PARTITIONS))
        finally:
            await producer.stop()
        deadline = time.monotonic() + 60
        while (await records_of(sentinel))[1] == 0:
            assert time.monotonic() < deadline, "the sentinel request was never decided"
            await asyncio.sleep(0.3)
        assert await records_of(first) == sent
        assert await records_of(second) == (0, 1)  # its REJECTED status, no command

    asyncio.run(run())


def test_a_household_move_starts_its_migration_by_itself(rig: MigrationRig) -> None:
    resident = person(random.Random(99))
    move_id = uuid.uuid4().hex[:10]

    async def run() -> dict:
        producer = city_producer(rig.bootstrap)
        await producer.start()
        try:
            publisher = CityPublisher(default_catalog(), "320500", producer, system="household")
            record = household_moved_record(move_id, resident, "330400", "320500", int(time.time() * 1000))
            await publisher.publish("HouseholdMoved", record)
            await publisher.publish("HouseholdMoved", record)  # redelivered: nothing new
        finally:
            await producer.stop()
        return (await wait_final(rig.url, [f"move-{move_id}"], 60))[f"move-{move_id}"]

    view = asyncio.run(run())
    assert view["subject_id"] == resident and (view["from_city"], view["to_city"]) == ("330400", "320500")
    assert sorted(view["scopes"]) == ["MEDICAL", "PENSION", "PROVIDENT_FUND"]
    assert view["status"] in {"COMPLETED", "PARTIAL", "FAILED"}
    assert_invariant(rig, {view["migration_id"]: view})


def test_an_undecodable_request_lands_in_the_dead_letters(rig: MigrationRig) -> None:
    key = f"junk-{uuid.uuid4().hex[:8]}".encode()

    async def run() -> list[dict]:
        producer = AIOKafkaProducer(bootstrap_servers=rig.bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait("bus.migration.requests", b"\x00not avro at all", key=key)
        finally:
            await producer.stop()
        for _ in range(40):
            found = [decode(r.value)[1] for r in await read_topic(rig.bootstrap, ["bus.deadletter"]) if r.key == key]
            if found:
                return found
            await asyncio.sleep(0.5)
        return []

    found = asyncio.run(run())
    assert len(found) == 1
    assert found[0]["source_topic"] == "bus.migration.requests"
    assert found[0]["reason_code"] == "UNDECODABLE" and found[0]["service"] == "migration"
    assert found[0]["value"] == b"\x00not avro at all"


@pytest.mark.parametrize("change, field, reason_code, rule", [
    ({"subject_id": "440300199001011230"}, "subject_id", "INVALID_FIELD", "check character must be '8'"),
    ({"to_city": "440300"}, "to_city", "INVALID_FIELD", "must differ from from_city"),
    ({"from_city": "110000"}, "from_city", "UNKNOWN_CITY", "not a city in the participant registry"),
    ({"scopes": ["TAX_REGISTRATION"]}, "scopes", "INVALID_FIELD", "TAX_REGISTRATION is not a scope of PERSON"),
])
def test_http_validation_names_the_rule(rig: MigrationRig, change: dict, field: str, reason_code: str,
                                        rule: str) -> None:
    """One broken rule per request (the rest valid), so the answer must name that one."""
    valid = {"subject_type": "PERSON", "subject_id": person(random.Random(3)), "from_city": "440300",
             "to_city": "441900"}

    async def run() -> tuple[int, dict]:
        async with aiohttp.ClientSession() as session:
            return await post(session, rig.url, {**valid, **change})

    status, body = asyncio.run(run())
    assert status == 400, body
    assert (body["field"], body["reason_code"]) == (field, reason_code)
    assert rule in body["rule"], body


def test_two_workers_answer_for_every_id_whichever_is_asked_and_claim_each_id_once(rig: MigrationRig) -> None:
    second = rig.second_orchestrator()
    rng = random.Random(5)
    try:
        async def run() -> None:
            ids = []
            async with aiohttp.ClientSession() as session:
                for index in range(12):
                    first_url, other_url = (rig.url, second) if index % 2 else (second, rig.url)
                    body = {"migration_id": f"two-{index}-{uuid.uuid4().hex[:6]}", "subject_type": "PERSON",
                            "subject_id": person(rng), "from_city": "440300", "to_city": "441900"}
                    assert (await post(session, first_url, body))[0] == 202
                    assert (await post(session, other_url, body))[0] == 200  # known at once, on the id's owner
                    ids.append(body["migration_id"])
            views = await wait_final(second, ids, 90)
            async with aiohttp.ClientSession() as session:
                for migration_id in ids:
                    assert await get(session, rig.url, migration_id) == views[migration_id]
            # the same ids for other subjects, straight onto the bus: each id's owner (this worker
            # or the other) refuses them; nothing starts, and each lands in the dead letters
            producer = AIOKafkaProducer(bootstrap_servers=rig.bootstrap, acks="all")
            await producer.start()
            reused = {}
            try:
                for migration_id in ids:
                    request = MigrationRequested(migration_id, "PERSON", person(rng), "440300", "441900",
                                                 ("PENSION",), int(time.time() * 1000), "portal")
                    topic, key, value, headers = request_out(request)
                    await producer.send_and_wait(topic, value, key=key, headers=headers)
                    reused[key] = migration_id
            finally:
                await producer.stop()
            dead: list[dict] = []
            for _ in range(60):
                dead = [decode(r.value)[1] for r in await read_topic(rig.bootstrap, ["bus.deadletter"])
                        if r.key in reused]
                if len(dead) == len(ids):
                    break
                await asyncio.sleep(0.5)
            assert sorted((d["reason_code"], d["source_topic"]) for d in dead) == \
                [("MIGRATION_ID_TAKEN", "bus.migration.requests")] * len(ids)
            commands = await read_topic(rig.bootstrap, [f"city.{c}.commands" for c in CITIES])
            assert not [r for r in commands if r.key in reused]
            claimed_elsewhere = {r.key for r in await read_topic(rig.bootstrap, [CLAIMS_TOPIC])}
            assert claimed_elsewhere & {m.encode() for m in ids}  # some of these ids went through the other worker
            async with aiohttp.ClientSession() as session:
                for migration_id in ids:
                    assert (await get(session, second, migration_id))["subject_id"] == views[migration_id]["subject_id"]

        asyncio.run(run())
    finally:
        rig.stop_second()


def _migration_id(value: bytes) -> str | None:
    """The migration_id of a command on the bus, or None for bytes that are no command."""
    try:
        return decode(value, "citybus.migration.MigrationCommand")[1]["migration_id"]
    except CitybusError:
        return None
