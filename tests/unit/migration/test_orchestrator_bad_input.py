"""The orchestrator fed real bad bytes on each of its inputs: a reply or a move it cannot take is
dead-lettered with its reason and the next record is still decided; a request that breaks a field
rule ends REJECTED naming the rule (migration.md), while one it cannot decode is dead-lettered."""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from aiokafka.structs import ConsumerRecord
from orchestrator_rig import OTHER, PERSON, Rig, consumed, request_record, sagas_of

from citybus.codec import encode
from citybus.codec.mapping.household import household_moved_record
from citybus.migration.orchestrator import SAGAS
from citybus.migration.subjects import SubjectSagas
from citybus.migration.wire import CLAIMED_TOPIC, CLAIMS_TOPIC
from citybus.streams.batch import partition_of
from citybus.streams.origin import ORIGIN_HEADER

REPLY, MOVE, REQUEST = ("citybus.migration.MigrationReply", "citybus.household.HouseholdMoved",
                        "citybus.migration.MigrationRequested")
CONTRIBUTION = "citybus.insurance.ContributionRecorded"
CONTRIBUTION_RECORD = {
    "record_id": "SZ-1", "revision": 1, "status": "ACTIVE", "resident_id": PERSON, "city": "440300",
    "scheme": "PENSION", "insured_kind": "EMPLOYEE", "month": "2020-01", "contribution_base": Decimal("10000.00"),
    "employer_amount": Decimal("1600.00"), "employee_amount": Decimal("800.00"), "recorded_at": 1_580_515_200_000}
REPLIES, MOVES, REQUESTS = "city.442000.replies", "city.442000.household.moves", "bus.migration.requests"
HOME = partition_of(PERSON.encode(), 6)
KEY = PERSON.encode()


def reply(**changes: object) -> dict:
    """442000's DONE to the PRECHECK of request_record("m-1", PERSON)."""
    return {"command_id": "m-1/PENSION/PRECHECK", "migration_id": "m-1", "scope": "PENSION", "step": "PRECHECK",
            "city": "442000", "outcome": "DONE", "reason": None, "package": {}, "replied_at": 6_000, **changes}


def move(**changes: object) -> dict:
    return {**household_moved_record("mv-1", PERSON, "440300", "442000", 1_000), **changes}


def request(**changes: object) -> dict:
    return {"migration_id": "m-2", "subject_type": "PERSON", "subject_id": PERSON, "from_city": "440300",
            "to_city": "442000", "scopes": ["PENSION"], "requested_at": 1_000, "requested_by": "portal", **changes}


def unknown_schema(value: bytes) -> bytes:
    return value[:2] + b"\xde\xad\xbe\xef\x00\x00\x00\x00" + value[10:]


GOOD_REPLY = encode(REPLY, reply())


async def _started(tmp_path: Path) -> Rig:
    """One worker with m-1 (PERSON, 440300 -> 442000, PENSION) waiting for its PRECHECK."""
    rig = Rig(tmp_path, set(range(6)))
    await rig.process(request_record("m-1", PERSON))
    assert [(c["command_id"], c["step"]) for c in rig.decoded("city.442000.commands")] == [
        ("m-1/PENSION/PRECHECK", "PRECHECK")]  # what reply() answers
    rig.sent.clear()
    return rig


def _dead_letter(rig: Rig, bad: ConsumerRecord, code: str, words: str) -> None:
    """Exactly one dead letter: `bad`, untouched, with its reason."""
    (dead,) = rig.decoded("bus.deadletter")
    assert (dead["reason_code"], dead["service"]) == (code, "test")
    assert words in dead["reason"], dead["reason"]
    assert (dead["source_topic"], dead["partition"], dead["offset"], dead["key"], dead["value"]) == (
        bad.topic, bad.partition, bad.offset, bad.key, bad.value)


# ---- replies: dead-lettered, the next reply still decides its step ----------------------------
BAD_REPLIES = [
    (REPLIES, b"\xff\xfe", GOOD_REPLY, "INVALID_FIELD", "key: must be a UTF-8 subject_id"),
    (REPLIES, None, GOOD_REPLY, "INVALID_FIELD", "key: a reply must be keyed by subject_id"),
    (REPLIES, b"", GOOD_REPLY, "INVALID_FIELD", "key: a reply must be keyed by subject_id"),
    (REPLIES, b"m-1", GOOD_REPLY, "INVALID_FIELD", "key: must be a subject_id"),
    (REPLIES, KEY, GOOD_REPLY[:20], "UNDECODABLE", "truncated"),
    (REPLIES, KEY, b"\x00not avro", "UNDECODABLE", "c3 01"),
    (REPLIES, KEY, unknown_schema(GOOD_REPLY), "UNKNOWN_SCHEMA", "fingerprint"),
    (REPLIES, KEY, encode(MOVE, move()), "WRONG_TYPE", "HouseholdMoved"),
    (REPLIES, KEY, None, "UNDECODABLE", "value"),
    (REPLIES, KEY, encode(REPLY, reply(command_id="")), "INVALID_FIELD", "command_id: must be a non-empty"),
    (REPLIES, KEY, encode(REPLY, reply(migration_id="")), "INVALID_FIELD", "migration_id: must be a non-empty"),
    (REPLIES, KEY, encode(REPLY, reply(city="440300")), "WRONG_CITY", "city: must equal the topic's city 442000"),
    ("city.110000.replies", KEY, encode(REPLY, reply(city="110000")), "UNKNOWN_CITY", "city: not a city"),
    ("city.44200.replies", KEY, encode(REPLY, reply(city="44200")), "INVALID_FIELD", "city: must be a 6-digit"),
    # kept in the saga and quoted in statuses and TRANSFER_IN: bounded, so they always fit in a record
    (REPLIES, KEY, encode(REPLY, reply(reason="拒" * 334)), "INVALID_FIELD", "reason: must be at most 1000 bytes"),
    (REPLIES, KEY, encode(REPLY, reply(package={"doc": "x" * 65_534})), "INVALID_FIELD",
     "package: must be at most 65536 bytes"),
    # a valid reply no saga of its key's subject can take: m-1 is PERSON's, keyed by OTHER; an id never requested
    (REPLIES, OTHER.encode(), GOOD_REPLY, "UNKNOWN_MIGRATION", f"m-1 is no migration of the key's subject {OTHER}"),
    (REPLIES, KEY, encode(REPLY, reply(migration_id="m-404", command_id="m-404/PENSION/PRECHECK")),
     "UNKNOWN_MIGRATION", "m-404 is no migration of the key's subject"),
]


@pytest.mark.parametrize("topic, key, value, code, words", BAD_REPLIES, ids=[case[-1] for case in BAD_REPLIES])
async def test_a_bad_reply_is_dead_lettered_and_the_next_reply_is_decided(
        tmp_path: Path, topic: str, key: bytes | None, value: bytes | None, code: str, words: str) -> None:
    rig = await _started(tmp_path)
    bad = consumed(topic, HOME, 7, key, value)
    try:
        await rig.process(bad, consumed(REPLIES, HOME, 8, KEY, GOOD_REPLY))
        _dead_letter(rig, bad, code, words)
        assert [(c["step"], c["migration_id"]) for c in rig.decoded("city.440300.commands")] == [
            ("TRANSFER_OUT", "m-1")]  # the good reply's PRECHECK DONE, decided
        assert sagas_of(rig, PERSON)["m-1"].scopes[0].steps[0].status == "DONE"
    finally:
        rig.stores.close_all()


async def test_a_repeated_or_late_reply_to_a_migration_the_subject_has_is_no_dead_letter(tmp_path: Path) -> None:
    """migration.md: a city may reply twice, and a late reply changes no decision. Neither is bad
    input: only a reply no saga of its subject can take is dead-lettered."""
    rig = await _started(tmp_path)
    try:
        for offset in (8, 9, 10):  # the reply, its duplicate, and the same again after TRANSFER_OUT was sent
            await rig.process(consumed(REPLIES, HOME, offset, KEY, GOOD_REPLY))
        assert rig.to("bus.deadletter") == []
        assert [c["step"] for c in rig.decoded("city.440300.commands")] == ["TRANSFER_OUT"]
    finally:
        rig.stores.close_all()


async def test_a_reply_to_a_forgotten_migration_is_dead_lettered_saying_so(tmp_path: Path) -> None:
    rig = await _started(tmp_path)
    try:
        assert "m-1" in sagas_of(rig, PERSON)
        # what SubjectSagas.fitted leaves once m-1 (finished, say) and two older ones were forgotten
        stored = SubjectSagas.from_bytes(rig.stores[HOME].get(SAGAS + KEY))
        rig.stores[HOME].write({SAGAS + KEY: replace(stored, sagas={}, forgotten=3).to_bytes()}, None)
        rig.orchestrator.forget()  # as after a restart: read from the store
        bad = consumed(REPLIES, HOME, 8, KEY, GOOD_REPLY)
        await rig.process(bad)
        _dead_letter(rig, bad, "UNKNOWN_MIGRATION", "forgotten with the 3 oldest finished migrations")
    finally:
        rig.stores.close_all()


async def test_a_reply_request_and_move_at_the_size_limits_are_taken(tmp_path: Path) -> None:
    rig = await _started(tmp_path)
    package = {"doc": "x" * (65_536 - 3)}  # 65,536 bytes, key and value
    longest = "m" * 128
    try:
        await rig.process(consumed(REPLIES, HOME, 8, KEY, encode(REPLY, reply(reason="r" * 1_000, package=package))),
                          consumed(REQUESTS, HOME, 9, KEY, encode(REQUEST, request(
                              migration_id=longest, scopes=["MEDICAL"], requested_by="p" * 128))),
                          consumed(MOVES, HOME, 10, KEY, encode(MOVE, move(move_id="v" * 123))))
        assert rig.to("bus.deadletter") == []
        sagas = sagas_of(rig, PERSON)
        assert sagas["m-1"].scopes[0].steps[0].status == "DONE"
        assert {longest, "move-" + "v" * 123} <= set(sagas)
    finally:
        rig.stores.close_all()


# ---- household moves: dead-lettered, the next move still starts its migration ------------------
BAD_MOVES = [
    (MOVES, encode(MOVE, move())[:15], "UNDECODABLE", "truncated"),
    (MOVES, unknown_schema(encode(MOVE, move())), "UNKNOWN_SCHEMA", "fingerprint"),
    (MOVES, GOOD_REPLY, "WRONG_TYPE", "MigrationReply"),
    (MOVES, encode(MOVE, move(move_id="")), "INVALID_FIELD", "move_id: must be a non-empty"),
    (MOVES, encode(MOVE, move(resident_id=PERSON[:17] + "Y")), "INVALID_FIELD", "resident_id: GB 11643"),
    (MOVES, encode(MOVE, move(from_city="442000")), "INVALID_FIELD", "from_city: must differ from to_city"),
    (MOVES, encode(MOVE, move(from_city="110000")), "UNKNOWN_CITY", "from_city: not a city"),
    (MOVES, encode(MOVE, move(to_city="440300")), "WRONG_CITY", "to_city: must equal the topic's city 442000"),
    ("city.110000.household.moves", encode(MOVE, move(to_city="110000")), "UNKNOWN_CITY", "to_city: not a city"),
    (MOVES, encode(MOVE, move(move_id="v" * 124)), "INVALID_FIELD", "move_id: must be at most 123 bytes"),
]


@pytest.mark.parametrize("topic, value, code, words", BAD_MOVES, ids=[case[-1] for case in BAD_MOVES])
async def test_a_bad_move_is_dead_lettered_and_the_next_move_starts_its_migration(
        tmp_path: Path, topic: str, value: bytes, code: str, words: str) -> None:
    rig = Rig(tmp_path, set(range(6)))
    bad = consumed(topic, HOME, 3, KEY, value)
    try:
        await rig.process(bad, consumed(MOVES, HOME, 4, KEY, encode(MOVE, move(move_id="mv-2"))))
        _dead_letter(rig, bad, code, words)
        assert set(sagas_of(rig, PERSON)) == {"move-mv-2"}
        assert sorted(c["scope"] for c in rig.decoded("city.442000.commands")) == [
            "MEDICAL", "PENSION", "PROVIDENT_FUND"]
    finally:
        rig.stores.close_all()


# ---- requests: bytes it cannot read are dead-lettered; a broken field rule ends REJECTED ------
GOOD_REQUEST = encode(REQUEST, request())


UNREADABLE_REQUESTS = [
    (GOOD_REQUEST[:12], "UNDECODABLE", "truncated"),
    (b"{\"migration_id\": \"m-2\"}", "UNDECODABLE", "c3 01"),
    (unknown_schema(GOOD_REQUEST), "UNKNOWN_SCHEMA", "fingerprint"),
    (GOOD_REPLY, "WRONG_TYPE", "MigrationReply"),
    (None, "UNDECODABLE", "value"),
    # too long to keep or to quote in a REJECTED status (which must fit in one record): no migration
    (encode(REQUEST, request(migration_id="m" * 129)), "INVALID_FIELD", "migration_id: must be at most 128 bytes"),
    (encode(REQUEST, request(requested_by="p" * 129)), "INVALID_FIELD", "requested_by: must be at most 128 bytes"),
    # quoted in the REJECTED status: near the broker's 1 MB limit that status would pass it
    (encode(REQUEST, request(from_city="\x00" * 129)), "INVALID_FIELD", "from_city: must be at most 128 bytes"),
    (encode(REQUEST, request(to_city="4" * 1_000_000)), "INVALID_FIELD", "to_city: must be at most 128 bytes"),
]


@pytest.mark.parametrize("value, code, words", UNREADABLE_REQUESTS, ids=[case[-1] for case in UNREADABLE_REQUESTS])
async def test_an_unreadable_request_is_dead_lettered_and_starts_nothing(
        tmp_path: Path, value: bytes | None, code: str, words: str) -> None:
    rig = Rig(tmp_path, set(range(6)))
    bad = consumed(REQUESTS, HOME, 5, KEY, value)
    try:
        await rig.process(bad, consumed(REQUESTS, HOME, 6, KEY, encode(REQUEST, request(migration_id="m-3"))))
        _dead_letter(rig, bad, code, words)
        assert set(sagas_of(rig, PERSON)) == {"m-3"}
        assert [s["migration_id"] for s in rig.decoded("bus.migration.status")] == ["m-3"]
        assert [c["migration_id"] for c in rig.decoded("city.442000.commands")] == ["m-3"]
    finally:
        rig.stores.close_all()


async def test_a_misrouted_request_whose_subject_id_is_too_long_is_dead_lettered_not_sent_on(tmp_path: Path) -> None:
    """A request keyed otherwise is sent on keyed by its subject_id: with a 700 kB subject_id (a
    1 MB record the broker took) that was key + value 1.4 MB, refused by the broker: the orchestrator
    stopped at every replay."""
    rig = Rig(tmp_path, set(range(6)))
    bad = consumed(REQUESTS, 0, 5, b"portal-key", encode(REQUEST, request(subject_id="4" * 700_000)))
    try:
        await rig.process(bad)
        _dead_letter(rig, bad, "INVALID_FIELD", "subject_id: must be at most 128 bytes")
        assert rig.to(REQUESTS) == []
    finally:
        rig.stores.close_all()


# ---- the service's own topics: a record it could not have written there is dead-lettered -----
def _hop(topic: str, key: bytes, value: bytes, origin: bytes) -> ConsumerRecord:
    return consumed(topic, HOME, 11, key, value, [("ce_type", b"x"), (ORIGIN_HEADER, origin)])


OWN_TOPICS_BAD = [
    # coordinates no Kafka record has: its dead letter (partition an int, offset a long) could not be written
    (CLAIMED_TOPIC, GOOD_REQUEST[:12], REQUESTS.encode() + b"/1/9223372036854775808/0", "UNDECODABLE",
     "citybus-origin header"),
    # claimed, then sent on to CLAIMED in the origin's partition: one the topics (6 partitions) do not have
    (CLAIMS_TOPIC, GOOD_REQUEST, REQUESTS.encode() + b"/6/5/0", "UNDECODABLE", "citybus-origin header"),
    # an origin naming a topic of another record type: decoded as that type, which no saga takes
    (CLAIMED_TOPIC, encode(CONTRIBUTION, CONTRIBUTION_RECORD), b"city.440300.insurance.contributions/1/5/0",
     "WRONG_TYPE", "ContributionRecord"),
    (CLAIMS_TOPIC, encode(CONTRIBUTION, CONTRIBUTION_RECORD), b"somewhere/1/5/0", "WRONG_TYPE", "ContributionRecord"),
]


@pytest.mark.parametrize("topic, value, origin, code, words", OWN_TOPICS_BAD,
                         ids=[f"{case[0]}-{case[2].decode()[-30:]}" for case in OWN_TOPICS_BAD])
async def test_a_record_on_its_own_topics_it_could_not_have_written_is_dead_lettered(
        tmp_path: Path, topic: str, value: bytes, origin: bytes, code: str, words: str) -> None:
    rig = Rig(tmp_path, set(range(6)))
    bad = _hop(topic, KEY, value, origin)
    try:
        await rig.process(bad, consumed(REQUESTS, HOME, 12, KEY, encode(REQUEST, request(migration_id="m-3"))))
        (dead,) = rig.decoded("bus.deadletter")
        assert (dead["reason_code"], dead["value"]) == (code, value) and words in dead["reason"], dead["reason"]
        assert set(sagas_of(rig, PERSON)) == {"m-3"}  # the next record still decided
    finally:
        rig.stores.close_all()


BAD_PERSON = PERSON[:17] + ("0" if PERSON[17] != "0" else "1")


BROKEN_RULES = [
    ({"subject_id": BAD_PERSON}, "INVALID_FIELD: subject_id: GB 11643"),
    ({"from_city": "110000"}, "UNKNOWN_CITY: from_city: not a city"),
    ({"to_city": "4420"}, "INVALID_FIELD: to_city: must be a 6-digit"),
    ({"to_city": "440300"}, "INVALID_FIELD: to_city: must differ from from_city"),
    ({"scopes": ["TAX_REGISTRATION"]}, "INVALID_FIELD: scopes: TAX_REGISTRATION is not a scope of PERSON"),
]


@pytest.mark.parametrize("changes, reason", BROKEN_RULES, ids=[case[-1] for case in BROKEN_RULES])
async def test_a_request_breaking_a_field_rule_ends_rejected_naming_it_not_in_the_dead_letters(
        tmp_path: Path, changes: dict, reason: str) -> None:
    rig = Rig(tmp_path, set(range(6)))
    broken = request(**changes)
    key = broken["subject_id"].encode()  # as a portal keys it (request_out)
    try:
        await rig.process(consumed(REQUESTS, partition_of(key, 6), 5, key, encode(REQUEST, broken)),
                          consumed(REQUESTS, HOME, 6, KEY, encode(REQUEST, request(migration_id="m-3"))))
        assert rig.to("bus.deadletter") == []
        statuses = {s["migration_id"]: s for s in rig.decoded("bus.migration.status")}
        assert statuses["m-2"]["status"] == "REJECTED"
        assert statuses["m-2"]["reason"].startswith(reason), statuses["m-2"]["reason"]
        assert statuses["m-3"]["status"] == "IN_PROGRESS"
        assert [c["migration_id"] for c in rig.decoded("city.442000.commands")] == ["m-3"]  # none for m-2
    finally:
        rig.stores.close_all()


async def test_every_request_without_a_migration_id_ends_rejected_naming_the_rule(tmp_path: Path) -> None:
    """A blank migration_id breaks a field rule: each such request, however many, from whichever
    subject, ends REJECTED naming it. It is no idempotency key: the first must not make the next
    ones "already known" (dropped without a word) nor "another subject's" (MIGRATION_ID_TAKEN)."""
    from orchestrator_rig import OTHER

    rig = Rig(tmp_path, set(range(6)))
    other = OTHER.encode()
    blanks = [consumed(REQUESTS, HOME, 5, KEY, encode(REQUEST, request(migration_id=""))),
              consumed(REQUESTS, HOME, 6, KEY, encode(REQUEST, request(migration_id=" ", scopes=["MEDICAL"]))),
              consumed(REQUESTS, HOME, 7, KEY, encode(REQUEST, request(migration_id=""))),
              consumed(REQUESTS, partition_of(other, 6), 8, other,
                       encode(REQUEST, request(migration_id="", subject_id=OTHER)))]
    try:
        await rig.process(*blanks[:2])
        await rig.process(*blanks[2:])
        assert rig.to("bus.deadletter") == []
        statuses = rig.decoded("bus.migration.status")
        assert [(s["subject_id"], s["status"]) for s in statuses] == [
            (PERSON, "REJECTED"), (PERSON, "REJECTED"), (PERSON, "REJECTED"), (OTHER, "REJECTED")]
        assert all(s["reason"].startswith("INVALID_FIELD: migration_id: must be a non-empty") for s in statuses)
        assert rig.to("city.442000.commands") == []
        assert sagas_of(rig, PERSON) == {} and sagas_of(rig, OTHER) == {}  # nothing kept under a blank id
    finally:
        rig.stores.close_all()
