"""The orchestrator's tick: a deadline's commands are filed to go out after its state is kept
(`Batch.send_after`), its status changes go out with the tick; both in-process, real stores."""
from __future__ import annotations

from pathlib import Path

from citybus.bus import default_intake
from citybus.codec import decode
from citybus.domain.ids import resident_id_check_char
from citybus.domain.migration import MigrationRequested, SagaPolicy
from citybus.migration.orchestrator import SAGAS, Orchestrator
from citybus.migration.subjects import SubjectSagas
from citybus.streams.store import Stores

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
