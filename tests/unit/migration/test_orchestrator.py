"""The orchestrator in-process, on real stores: a deadline's commands are filed to go out after
its state is kept (`Batch.send_after`) while its status changes go out with the tick; a household
move read late counts its deadlines from when the bus read it."""
from __future__ import annotations

from pathlib import Path

from aiokafka.structs import ConsumerRecord

from citybus.bus import default_intake
from citybus.bus.publisher import CityPublisher
from citybus.catalog import default_catalog
from citybus.codec import decode
from citybus.codec.mapping.household import household_moved_record
from citybus.domain.ids import resident_id_check_char
from citybus.domain.migration import MigrationRequested, SagaPolicy
from citybus.migration.orchestrator import SAGAS, Orchestrator
from citybus.migration.subjects import SubjectSagas
from citybus.streams.store import Stores
from citybus.streams.worker import partition_of

POLICY = SagaPolicy(max_attempts=2, working_day_ms=100, known_cities=frozenset({"440300", "442000"}))
PERSON = "44030119850607123" + resident_id_check_char("44030119850607123")


async def test_a_deadline_files_its_commands_after_the_state_and_sends_its_status(tmp_path: Path) -> None:
    request = MigrationRequested("m-1", "PERSON", PERSON, "440300", "442000", ("PENSION",), 1_000, "test")
    subject = SubjectSagas(PERSON, 0).on_request(request, POLICY).subject  # PRECHECK sent, due at 2,500
    stores = Stores(tmp_path)
    stores.open(0).write({SAGAS + PERSON.encode(): subject.to_bytes()}, None)
    now = [10_000]
    orchestrator = Orchestrator(intake=default_intake(), policy=POLICY, service="test", clock=lambda: now[0])
    sent: list[tuple] = []

    async def send(*args) -> None:  # noqa: ANN002
        sent.append(args)

    try:
        first = await orchestrator.tick(frozenset({0}), stores, send)  # attempt 1 expired: sent again
        assert sent == []
        assert [topic for topic, *_ in first.after] == ["city.442000.commands"]
        _, command = decode(first.after[0][2])
        assert (command["step"], command["attempt"]) == ("PRECHECK", 2)
        assert first.state[0][SAGAS + PERSON.encode()]  # the decision, changelogged before the command

        now[0] = 20_000  # attempt 2 expired too: the scope fails, which the status shows
        second = await orchestrator.tick(frozenset({0}), stores, send)
        assert second.after == []
        assert [decode(value)[1]["status"] for topic, _, value, *_ in sent] == ["FAILED"]
    finally:
        stores.close_all()


async def test_a_household_move_read_late_counts_its_deadlines_from_when_the_bus_read_it(tmp_path: Path) -> None:
    moved_at = 1_700_000_000_000
    read_at = moved_at + 40 * 86_400_000  # published (and read) 40 days after the household moved
    publisher = CityPublisher(default_catalog(), "442000", None)
    topic, key, value, headers = publisher.prepare(
        "citybus.household.HouseholdMoved", household_moved_record("mv-1", PERSON, "440300", "442000", moved_at))
    partition = partition_of(key, 6)
    record = ConsumerRecord(topic, partition, 0, read_at, 0, key, value, None, len(key), len(value), tuple(headers))
    stores = Stores(tmp_path)
    stores.open(partition)
    orchestrator = Orchestrator(intake=default_intake(), policy=POLICY, service="test", clock=lambda: read_at)
    sent: list[tuple] = []

    async def send(*args) -> None:  # noqa: ANN002
        sent.append(args)

    try:
        await orchestrator.process([record], stores, send)
    finally:
        stores.close_all()
    commands = [decode(v)[1] for t, _, v, *_ in sent if t.endswith(".commands")]
    assert sorted(c["scope"] for c in commands) == ["MEDICAL", "PENSION", "PROVIDENT_FUND"]
    assert {c["scope"]: round(c["deadline"].timestamp() * 1000) - read_at for c in commands} == {
        "PENSION": 15 * 100, "MEDICAL": 10 * 100, "PROVIDENT_FUND": 10 * 100}  # not 40 days in the past
    saga = orchestrator._subjects[PERSON.encode()].sagas["move-mv-1"]  # noqa: SLF001
    assert saga.requested_at == read_at
