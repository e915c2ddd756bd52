"""The orchestrator in-process, on real stores: a deadline's commands and status changes are filed
to go out after its state is kept (`Batch.send_after`), the status sent again after a restart
until a later tick has seen it out; a household move read late counts its deadlines from when
the bus read it."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from aiokafka.structs import ConsumerRecord
from orchestrator_rig import OTHER, PERSON, POLICY, Rig, consumed, request_record, sagas_of

from citybus.bus import default_intake
from citybus.bus.publisher import CityPublisher
from citybus.catalog import default_catalog
from citybus.codec import decode
from citybus.codec.mapping.household import household_moved_record
from citybus.domain.migration import MigrationRequested
from citybus.migration.orchestrator import INDEX, MIGRATION_ID_TAKEN, SAGAS, Orchestrator, now_ms
from citybus.migration.subjects import SUBJECT_BUDGET, SubjectSagas
from citybus.migration.wire import CLAIMED_TOPIC, CLAIMS_TOPIC, request_out
from citybus.streams.store import Stores
from citybus.streams.batch import partition_of


async def test_a_deadline_files_its_commands_and_its_status_after_the_state(tmp_path: Path) -> None:
    """A status sent before the state was kept, then lost with it in a crash, showed a decision
    the restarted worker could make otherwise (found by the chaos audit: FAILED on the bus, then
    a late reply replayed first, IN_PROGRESS and PARTIAL)."""
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
        stores[0].write(first.state[0], None)

        now[0] = 20_000  # attempt 2 expired too: the scope fails, which the status shows once kept
        second = await orchestrator.tick(frozenset({0}), stores, send)
        assert sent == []
        assert [decode(value)[1]["status"] for topic, _, value, *_ in second.after] == ["FAILED"]
        kept = SubjectSagas.from_bytes(second.state[0][SAGAS + PERSON.encode()])
        assert kept.unannounced == ("m-1",)  # until it is on the broker
        stores[0].write(second.state[0], None)

        third = await orchestrator.tick(frozenset({0}), stores, send)  # the second settled: unmarked
        assert third.after == []
        assert SubjectSagas.from_bytes(third.state[0][SAGAS + PERSON.encode()]).unannounced == ()
    finally:
        stores.close_all()


async def test_a_status_a_crash_may_have_lost_is_sent_again_after_the_restart(tmp_path: Path) -> None:
    request = MigrationRequested("m-1", "PERSON", PERSON, "440300", "442000", ("PENSION",), 1_000, "test")
    subject = SubjectSagas(PERSON, 0).on_request(request, POLICY).subject
    stores = Stores(tmp_path)
    stores.open(0).write({SAGAS + PERSON.encode(): subject.to_bytes()}, None)
    clock = [20_000]
    before = Orchestrator(intake=default_intake(), policy=POLICY, service="test", clock=lambda: clock[0])

    async def lost(*args) -> None:  # noqa: ANN002
        raise AssertionError("a tick sends nothing before its state is kept")

    try:
        clock[0] = 10_000
        stores[0].write((await before.tick(frozenset({0}), stores, lost)).state[0], None)
        clock[0] = 20_000
        failed = await before.tick(frozenset({0}), stores, lost)
        stores[0].write(failed.state[0], None)  # kept; the process dies before its `after` is sent

        restarted = Orchestrator(intake=default_intake(), policy=POLICY, service="test", clock=lambda: 21_000)
        again = await restarted.tick(frozenset({0}), stores, lost)
        assert [(topic, decode(value)[1]["status"]) for topic, _, value, *_ in again.after] == [
            ("bus.migration.status", "FAILED")]
    finally:
        stores.close_all()


async def test_a_partition_that_becomes_ready_later_has_its_deadlines_fired(tmp_path: Path) -> None:
    """The worker ticks a partition only once it has caught up; the deadline index is read again
    when the set of ready partitions changes, so the sagas of the one that caught up are asked again."""
    request = MigrationRequested("m-1", "PERSON", PERSON, "440300", "442000", ("PENSION",), 1_000, "test")
    subject = SubjectSagas(PERSON, 1).on_request(request, POLICY).subject  # PRECHECK sent, due at 2,500
    stores = Stores(tmp_path)
    stores.open(0)
    stores.open(1).write({SAGAS + PERSON.encode(): subject.to_bytes()}, None)
    orchestrator = Orchestrator(intake=default_intake(), policy=POLICY, service="test", clock=lambda: 10_000)

    async def send(*args) -> None:  # noqa: ANN002
        pass

    try:
        assert (await orchestrator.tick(frozenset({0}), stores, send)).after == []  # 1 still catching up
        (resend,) = (await orchestrator.tick(frozenset({0, 1}), stores, send)).after
        assert (resend[0], decode(resend[2])[1]["attempt"]) == ("city.442000.commands", 2)
    finally:
        stores.close_all()


async def test_after_a_rebalance_the_deadlines_are_read_again_even_for_the_same_partitions(tmp_path: Path) -> None:
    """Partitions that went away and came back may have been decided by another worker meanwhile:
    the stores, not the index of before, say what is due."""
    request = MigrationRequested("m-1", "PERSON", PERSON, "440300", "442000", ("PENSION",), 1_000, "test")
    stores = Stores(tmp_path)
    stores.open(0)
    orchestrator = Orchestrator(intake=default_intake(), policy=POLICY, service="test", clock=lambda: 10_000)

    async def send(*args) -> None:  # noqa: ANN002
        pass

    try:
        assert (await orchestrator.tick(frozenset({0}), stores, send)).after == []
        orchestrator.forget({0})  # revoked, then assigned again: another worker started m-1 meanwhile
        subject = SubjectSagas(PERSON, 0).on_request(request, POLICY).subject  # PRECHECK due at 2,500
        stores[0].write({SAGAS + PERSON.encode(): subject.to_bytes()}, None)
        (resend,) = (await orchestrator.tick(frozenset({0}), stores, send)).after
        assert decode(resend[2])[1]["attempt"] == 2
    finally:
        stores.close_all()


async def test_a_partition_still_catching_up_is_not_ticked(tmp_path: Path) -> None:
    """Its inputs are not all re-read yet: a deadline there may belong to a decision already
    made before a crash (module doc), so it waits until the partition is ready."""
    rig = Rig(tmp_path, set(range(6)))
    home = partition_of(PERSON.encode(), 6)
    catching_up = frozenset(range(6)) - {home}
    try:
        await rig.orchestrator.tick(catching_up, rig.stores, rig.send)
        await rig.process(request_record("m-1", PERSON))  # read while catching up: PRECHECK due at 6,500
        rig.orchestrator.clock = lambda: 10_000
        assert (await rig.orchestrator.tick(catching_up, rig.stores, rig.send)).after == []
        assert len((await rig.orchestrator.tick(frozenset(range(6)), rig.stores, rig.send)).after) == 1
    finally:
        rig.stores.close_all()


async def test_a_household_move_read_late_counts_its_deadlines_from_when_the_bus_read_it(tmp_path: Path) -> None:
    moved_at = 1_700_000_000_000
    read_at = moved_at + 40 * 86_400_000  # published (and read) 40 days after the household moved
    publisher = CityPublisher(default_catalog(), "442000", None)
    topic, key, value, headers = publisher.prepare(
        "citybus.household.HouseholdMoved", household_moved_record("mv-1", PERSON, "440300", "442000", moved_at))
    partition = partition_of(key, 6)
    record = ConsumerRecord(topic, partition, 0, read_at, 0, key, value, None, len(key), len(value), tuple(headers))
    stores = Stores(tmp_path)
    for owned in range(6):  # one worker: the move's migration_id is claimed in the same batch
        stores.open(owned)
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


# ---- a migration_id is claimed once, for one subject ------------------------------------------

async def test_an_id_already_claimed_for_another_subject_starts_nothing_and_is_dead_lettered(tmp_path: Path) -> None:
    rig = Rig(tmp_path, set(range(6)))  # one worker: claims are made in the batch itself
    first, second = request_record("m-7", PERSON), request_record("m-7", OTHER)
    try:
        await rig.process(first)
        assert Orchestrator.subject_of("m-7", rig.stores, partition_of(b"m-7", 6)) == PERSON
        await rig.process(second, request_record("m-7", PERSON, offset=1))  # and the first again: a no-op
        assert set(sagas_of(rig, PERSON)) == {"m-7"}
        assert sagas_of(rig, OTHER) == {}
        assert [decode(v)[1]["subject_id"] for t, _, v, *_ in rig.to("city.442000.commands")] == [PERSON]
        (dead,) = [decode(v)[1] for t, _, v, *_ in rig.to("bus.deadletter")]
        assert dead["reason_code"] == MIGRATION_ID_TAKEN
        assert (dead["source_topic"], dead["partition"], dead["offset"]) == (second.topic, second.partition, 0)
        assert dead["value"] == second.value
        assert Orchestrator.subject_of("m-7", rig.stores, partition_of(b"m-7", 6)) == PERSON
    finally:
        rig.stores.close_all()


async def test_a_claim_kept_in_the_store_counts_after_a_restart(tmp_path: Path) -> None:
    """A restarted orchestrator remembers no claim of its own: the stores are the truth, for the
    claim (MIGRATION_ID_TAKEN) and for the saga HTTP shows."""
    rig = Rig(tmp_path, set(range(6)))
    try:
        await rig.process(request_record("m-12", PERSON))
        rig.orchestrator = Orchestrator(intake=default_intake(), policy=POLICY, service="test", clock=lambda: 5_000)
        await rig.process(request_record("m-12", OTHER))
        assert [decode(v)[1]["reason_code"] for _, _, v, *_ in rig.to("bus.deadletter")] == [MIGRATION_ID_TAKEN]
        assert sagas_of(rig, OTHER) == {}
        assert Orchestrator.subject_of("m-12", rig.stores, partition_of(b"m-12", 6)) == PERSON
        saga = Orchestrator.saga(PERSON, "m-12", rig.stores, partition_of(PERSON.encode(), 6))
        assert saga is not None and (saga.subject_id, saga.status) == (PERSON, "IN_PROGRESS")
        assert Orchestrator.saga(OTHER, "m-12", rig.stores, partition_of(OTHER.encode(), 6)) is None
    finally:
        rig.stores.close_all()


async def test_two_subjects_claiming_one_id_in_one_batch_start_one_saga(tmp_path: Path) -> None:
    rig = Rig(tmp_path, set(range(6)))
    try:
        await rig.process(request_record("m-8", OTHER), request_record("m-8", PERSON))
        assert set(sagas_of(rig, OTHER)) == {"m-8"} and sagas_of(rig, PERSON) == {}
        assert [decode(v)[1]["reason_code"] for _, _, v, *_ in rig.to("bus.deadletter")] == [MIGRATION_ID_TAKEN]
    finally:
        rig.stores.close_all()


async def test_a_claim_of_the_batch_still_settling_counts(tmp_path: Path) -> None:
    rig = Rig(tmp_path, set(range(6)))
    try:
        await rig.process(request_record("m-11", PERSON), stored=False)
        await rig.process(request_record("m-11", OTHER))
        assert [decode(v)[1]["reason_code"] for _, _, v, *_ in rig.to("bus.deadletter")] == [MIGRATION_ID_TAKEN]
        assert sagas_of(rig, OTHER) == {}
    finally:
        rig.stores.close_all()


async def test_an_id_owned_by_another_worker_is_claimed_there_before_its_saga_starts(tmp_path: Path) -> None:
    home = partition_of(b"m-9", 6)
    subject_partition = partition_of(PERSON.encode(), 6)
    other_partition = partition_of(OTHER.encode(), 6)
    assert home not in {subject_partition, other_partition}
    subjects = Rig(tmp_path / "subjects", {subject_partition, other_partition})  # not the id's partition
    ids = Rig(tmp_path / "ids", {home})  # the worker that owns the id's partition
    original = request_record("m-9", PERSON)
    try:
        await subjects.process(original)
        assert sagas_of(subjects, PERSON) == {} and subjects.to("city.442000.commands") == []
        ((topic, key, value, headers, partition),) = subjects.to(CLAIMS_TOPIC)
        assert (key, value, partition) == (b"m-9", original.value, home)

        claimed = await ids.process(consumed(topic, partition, 0, key, value, headers), stored=False)
        assert ids.sent == []  # filed to go out only once the claim is kept
        assert claimed.state[home] == {INDEX + b"m-9": PERSON.encode()}
        ((topic, key, value, headers, partition),) = claimed.after
        assert (topic, key, partition) == (CLAIMED_TOPIC, PERSON.encode(), subject_partition)
        await ids.keep(claimed)

        await subjects.process(consumed(topic, partition, 0, key, value, headers))
        assert set(sagas_of(subjects, PERSON)) == {"m-9"}
        assert len(subjects.to("city.442000.commands")) == 1

        # the same id for another subject, forwarded the same way: refused by the id's owner,
        # dead-lettered with where it was first published
        late = request_record("m-9", OTHER, offset=3)
        await subjects.process(late)
        ((topic, key, value, headers, partition),) = subjects.to(CLAIMS_TOPIC)[1:]
        refused = await ids.process(consumed(topic, partition, 1, key, value, headers))
        assert refused.after == [] and refused.state == {}
        (dead,) = [decode(v)[1] for t, _, v, *_ in ids.to("bus.deadletter")]
        assert dead["reason_code"] == MIGRATION_ID_TAKEN
        assert (dead["source_topic"], dead["partition"], dead["offset"], dead["key"]) == (
            late.topic, late.partition, 3, OTHER.encode())
        assert "citybus-origin" not in dead["headers"]
    finally:
        subjects.stores.close_all()
        ids.stores.close_all()


async def test_a_forwarded_request_without_its_origin_is_dead_lettered(tmp_path: Path) -> None:
    rig = Rig(tmp_path, set(range(6)))
    original = request_record("m-10", PERSON)
    try:
        await rig.process(consumed(CLAIMS_TOPIC, partition_of(b"m-10", 6), 4, b"m-10", original.value, ()))
        (dead,) = [decode(v)[1] for t, _, v, *_ in rig.to("bus.deadletter")]
        assert (dead["reason_code"], dead["source_topic"], dead["offset"]) == ("UNDECODABLE", CLAIMS_TOPIC, 4)
        assert sagas_of(rig, PERSON) == {}
    finally:
        rig.stores.close_all()


# ---- a city's or a portal's clock ahead of the bus does not push the saga's deadlines out -------
YEAR_2100 = 4_102_444_800_000


async def test_a_reply_stamped_in_the_future_counts_the_next_deadline_from_the_bus_clock(tmp_path: Path) -> None:
    """The rig's clock reads 5,000; 442000 stamps its PRECHECK DONE in the year 2100. The
    TRANSFER_OUT it leads to is due 15 working days (PENSION; 100 ms each) after the bus sent it,
    so a silent source city is asked again at 6,500, not in 2100."""
    from citybus.codec import encode

    rig = Rig(tmp_path, set(range(6)))
    home = partition_of(PERSON.encode(), 6)
    reply = {"command_id": "m-1/PENSION/PRECHECK", "migration_id": "m-1", "scope": "PENSION", "step": "PRECHECK",
             "city": "442000", "outcome": "DONE", "reason": None, "package": {}, "replied_at": YEAR_2100}
    try:
        await rig.process(request_record("m-1", PERSON))
        await rig.process(consumed("city.442000.replies", home, 1, PERSON.encode(),
                                   encode("citybus.migration.MigrationReply", reply)))
        (transfer_out,) = rig.decoded("city.440300.commands")
        assert round(transfer_out["deadline"].timestamp() * 1000) == 5_000 + 15 * 100
        saga = sagas_of(rig, PERSON)["m-1"]
        assert saga.updated_at == 5_000 and saga.next_deadline() == (6_500, "m-1/PENSION/TRANSFER_OUT")
    finally:
        rig.stores.close_all()


async def test_a_portal_request_read_late_keeps_its_requested_at(tmp_path: Path) -> None:
    """Only a household move's migration counts from when the bus read it; a portal's request
    (requested at 1,000, read at 5,000) is the request it says."""
    rig = Rig(tmp_path, set(range(6)))
    try:
        await rig.process(request_record("m-1", PERSON))
        assert sagas_of(rig, PERSON)["m-1"].requested_at == 1_000
    finally:
        rig.stores.close_all()


async def test_a_request_stamped_in_the_future_counts_its_deadlines_from_the_bus_clock(tmp_path: Path) -> None:
    rig = Rig(tmp_path, set(range(6)))
    request = MigrationRequested("m-1", "PERSON", PERSON, "440300", "442000", ("PENSION",), YEAR_2100, "portal")
    try:
        await rig.process(consumed("bus.migration.requests", partition_of(PERSON.encode(), 6), 0, PERSON.encode(),
                                   request_out(request).value))
        (precheck,) = rig.decoded("city.442000.commands")
        assert round(precheck["deadline"].timestamp() * 1000) == 5_000 + 15 * 100
        assert sagas_of(rig, PERSON)["m-1"].requested_at == 5_000
    finally:
        rig.stores.close_all()


async def test_a_subject_asked_again_and_again_under_new_ids_keeps_a_value_that_fits(tmp_path: Path) -> None:
    """A portal retrying a request under a new id each time: each ends REJECTED (CONFLICT) and is
    kept, so the subject's one value grew by ~740 bytes a request, without end, until the changelog
    (4 MiB records) refused it and the orchestrator stopped. Past SUBJECT_BUDGET its oldest finished
    migrations are forgotten; the one in progress stays."""
    rig = Rig(tmp_path, set(range(6)))
    count = 1_600
    try:
        await rig.process(*(request_record(f"again-{i:04d}", PERSON, offset=i) for i in range(count)))
        raw = rig.stores[partition_of(PERSON.encode(), 6)].get(SAGAS + PERSON.encode())
        assert len(raw) <= SUBJECT_BUDGET
        kept = SubjectSagas.from_bytes(raw)
        assert kept.held == {"PENSION": "again-0000"} and kept.sagas["again-0000"].status == "IN_PROGRESS"
        assert f"again-{count - 1:04d}" in kept.sagas and "again-0001" not in kept.sagas
        statuses = [s["migration_id"] for s in rig.decoded("bus.migration.status")]
        assert len(statuses) == count  # every request was answered, the forgotten ones too
    finally:
        rig.stores.close_all()


async def test_a_request_keyed_by_something_else_is_filed_again_under_its_subject(tmp_path: Path) -> None:
    """bus.md keys bus.migration.requests by subject_id, so that one subject's events meet on one
    partition; a portal that keys a request otherwise has it re-filed there, and it starts there."""
    rig = Rig(tmp_path, set(range(6)))
    request = MigrationRequested("m-14", "PERSON", PERSON, "440300", "442000", ("PENSION",), 1_000, "portal")
    value = request_out(request).value
    try:
        await rig.process(consumed("bus.migration.requests", partition_of(b"m-14", 6), 0, b"m-14", value))
        assert sagas_of(rig, PERSON) == {} and rig.to("city.442000.commands") == []
        ((topic, key, refiled, _, _),) = rig.to("bus.migration.requests")
        assert (topic, key, refiled) == ("bus.migration.requests", PERSON.encode(), value)
        await rig.process(consumed(topic, partition_of(key, 6), 0, key, refiled))
        assert set(sagas_of(rig, PERSON)) == {"m-14"} and len(rig.to("city.442000.commands")) == 1
    finally:
        rig.stores.close_all()


# ---- the bus's clock and the counters of /status -------------------------------------------------

def test_the_bus_clock_is_the_wall_clock_in_epoch_milliseconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time_ns", lambda: 1_795_334_400_123_999_999)  # 2026-11-22T08:00:00.123999999Z
    assert now_ms() == 1_795_334_400_123


async def test_the_status_counters_count_from_zero(tmp_path: Path) -> None:
    """README: /status shows the orchestrator's counters; one request is one event, its PRECHECK
    and its status record two commands, one deadline awaited."""
    rig = Rig(tmp_path, set(range(6)))
    try:
        assert rig.orchestrator.status() == {
            "events": 0, "rejected": 0, "commands": 0, "ticks": 0, "deadlines": 0, "pending": 0}
        await rig.process(request_record("m-13", PERSON))
        assert rig.orchestrator.status() == {
            "events": 1, "rejected": 0, "commands": 2, "ticks": 0, "deadlines": 1, "pending": 0}
        await rig.process(consumed("city.442000.replies", 0, 0, PERSON.encode(), b"\xc3\x01not a reply"))
        await rig.process(request_record("m-13", OTHER))  # MIGRATION_ID_TAKEN
        rig.orchestrator.clock = lambda: 6_500  # the PRECHECK's deadline: sent again
        await rig.orchestrator.tick(frozenset(range(6)), rig.stores, rig.send)
        assert rig.orchestrator.status() == {
            "events": 3, "rejected": 2, "commands": 3, "ticks": 1, "deadlines": 1, "pending": 0}
    finally:
        rig.stores.close_all()


async def test_a_replayed_request_claims_its_id_again_when_a_crash_kept_the_saga_but_lost_the_claim(
        tmp_path: Path) -> None:
    """A batch's changelog goes to several partitions: a broker lost mid-write can acknowledge the
    subject's saga and not the id's claim (another partition). Restored, the saga is there and the
    claim is not; the replayed request found its saga known and skipped the claim, so GET
    /migrations/{id} answered 404 for ever while the migration ran to COMPLETED (found by the
    SIGTERM-with-the-broker-gone test on the broker)."""
    first = Rig(tmp_path / "first", set(range(6)))
    record = request_record("m-21", PERSON)
    subject_key = SAGAS + PERSON.encode()
    try:
        await first.process(record)
        saga_only = first.stores[record.partition].get(subject_key)  # what the restore brought back
    finally:
        first.stores.close_all()
    home = partition_of(b"m-21", 6)
    assert home != record.partition  # two partitions, so the half-written case is this one
    again = Rig(tmp_path / "again", set(range(6)))
    try:
        again.stores[record.partition].write({subject_key: saga_only}, None)
        assert Orchestrator.subject_of("m-21", again.stores, home) is None
        await again.process(record)  # the replay
        assert Orchestrator.subject_of("m-21", again.stores, home) == PERSON
        assert again.to("city.442000.commands") == []  # a known saga: nothing started again
    finally:
        again.stores.close_all()


async def _replies_to_completion(tmp_path: Path, migration_id: str = "m-1",
                                 subject: str = PERSON) -> list[ConsumerRecord]:
    """The replies that take a migration (PENSION) from its request to COMPLETED, each DONE, as
    the orchestrator's own commands ask for them (a scratch run; the same clock, the same ids)."""
    from citybus.codec import encode

    scratch = Rig(tmp_path / f"scratch-{migration_id}", set(range(6)))
    home = partition_of(subject.encode(), 6)
    replies: list[ConsumerRecord] = []
    try:
        await scratch.process(request_record(migration_id, subject))
        while sagas_of(scratch, subject)[migration_id].status == "IN_PROGRESS":
            topic, _, value, *_ = [s for s in scratch.sent if s[0].endswith(".commands")][-1]
            command = decode(value)[1]
            reply = {"command_id": command["command_id"], "migration_id": migration_id, "scope": command["scope"],
                     "step": command["step"], "city": topic.split(".")[1], "outcome": "DONE", "reason": None,
                     "package": {}, "replied_at": 5_000}
            replies.append(consumed(f"city.{topic.split('.')[1]}.replies", home, len(replies) + 1,
                                    subject.encode(), encode("citybus.migration.MigrationReply", reply)))
            await scratch.process(replies[-1])
        assert sagas_of(scratch, subject)[migration_id].status == "COMPLETED" and len(replies) >= 2
        return replies
    finally:
        scratch.stores.close_all()


def _after_final(statuses: list[str]) -> list[str]:
    finals = [i for i, s in enumerate(statuses) if s in ("COMPLETED", "PARTIAL", "FAILED", "REJECTED")]
    return statuses[finals[0]:] if finals else []


async def test_a_batch_replayed_after_the_broker_lost_its_acknowledgements_never_shows_a_status_going_back(
        tmp_path: Path) -> None:
    """The broker wrote a batch's outputs and went away before acknowledging them: the state was
    not kept, and the restarted worker replays the batch. Its statuses had gone out with its
    commands, so the bus read IN_PROGRESS after COMPLETED (the SIGTERM-with-the-broker-gone test
    on the broker, once in about twenty runs). Statuses go out after the state: the lost batch
    sent none, the replay sends each once."""
    replies = await _replies_to_completion(tmp_path)
    rig = Rig(tmp_path / "rig", set(range(6)))
    try:
        await rig.process(request_record("m-1", PERSON))
        await rig.process(*replies, stored=False)  # outputs on the broker, then the crash: state not kept
        assert [t for t, *_ in rig.sent if t.endswith(".commands")][-1] == replies[-1].topic.replace(
            "replies", "commands")  # the commands did go out before the state
        rig.orchestrator = Orchestrator(intake=default_intake(), policy=POLICY, service="test", clock=lambda: 5_000)
        await rig.orchestrator.tick(frozenset(range(6)), rig.stores, rig.send)  # restarted: nothing to announce
        await rig.process(*replies)  # the replay
        statuses = [s["status"] for s in rig.decoded("bus.migration.status")]
        assert statuses[-1] == "COMPLETED"
        assert set(_after_final(statuses)) == {"COMPLETED"}, statuses
    finally:
        rig.stores.close_all()


async def test_a_status_lost_after_its_state_was_kept_is_sent_again_by_the_replay(tmp_path: Path) -> None:
    """The other side: the batch's state kept, its statuses lost (the process died before they
    were on the broker; the worker had not committed its offsets, which waits for them). The
    restarted worker reads the replies again while the partition catches up: they change
    nothing, and the saga's current status goes out once, not once per reply. Once the
    partition has caught up (ticked), a reply that changes nothing sends nothing."""
    replies = await _replies_to_completion(tmp_path)
    others = await _replies_to_completion(tmp_path, "m-2", OTHER)
    rig = Rig(tmp_path / "rig", set(range(6)))
    try:
        await rig.process(request_record("m-2", OTHER))  # finished and seen out before the crash
        await rig.process(*others)
        await rig.process(request_record("m-1", PERSON))
        lost = await rig.process(*replies, stored=False)
        assert [decode(v)[1]["status"] for t, _, v, *_ in lost.after if t == "bus.migration.status"][-1] == "COMPLETED"
        for partition, values in lost.state.items():  # kept; the process dies before `after` is sent
            rig.stores[partition].write(values, None)

        rig.orchestrator = Orchestrator(intake=default_intake(), policy=POLICY, service="test", clock=lambda: 5_000)
        rig.orchestrator.forget(range(6))  # assigned
        before = len(rig.decoded("bus.migration.status"))
        before_m1 = len([s for s in rig.decoded("bus.migration.status") if s["migration_id"] == "m-1"])
        await rig.process(*replies[:1])  # the replay, over two batches
        await rig.process(*replies[1:])
        statuses = [s["status"] for s in rig.decoded("bus.migration.status") if s["migration_id"] == "m-1"]
        assert statuses[-1] == "COMPLETED" and len(statuses) == before_m1 + 1, statuses
        assert set(_after_final(statuses)) == {"COMPLETED"}

        await rig.keep(await rig.orchestrator.tick(frozenset(range(6)), rig.stores, rig.send))  # caught up
        await rig.process(replies[-1])  # cities sending their replies again
        await rig.process(others[-1])
        assert len(rig.decoded("bus.migration.status")) == before + 1
    finally:
        rig.stores.close_all()
