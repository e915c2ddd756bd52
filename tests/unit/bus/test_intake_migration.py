"""The intake gate on the city-written topics other than contributions, with real bad bytes:
WRONG_CITY for every record type that names its city (bus.md), and every refusal of a household
move or a migration reply with its reason."""
import pytest

from citybus.bus import Accepted, Rejection, default_intake
from citybus.codec import encode

from .events import RESIDENT, household_moved, migration_reply, retirement

RETIREMENT, MOVE, REPLY = ("citybus.insurance.RetirementRequested", "citybus.household.HouseholdMoved",
                           "citybus.migration.MigrationReply")
MOVES, REPLIES = "city.442000.household.moves", "city.442000.replies"


def check(topic, value):
    return default_intake().check(topic, 2, 17, RESIDENT.encode(), value, [("ce_id", b"x")])


def refused(topic, value, code, words):
    rejection = check(topic, value)
    assert isinstance(rejection, Rejection), rejection
    assert rejection.reason_code == code
    assert words in rejection.reason, rejection.reason
    assert rejection.value == value and (rejection.source_topic, rejection.partition, rejection.offset) == (
        topic, 2, 17)


@pytest.mark.parametrize("topic, full_name, record", [
    ("city.440300.insurance.retirements", RETIREMENT, retirement()),
    (MOVES, MOVE, household_moved()),
    (REPLIES, REPLY, migration_reply()),
])
def test_the_good_events_pass(topic, full_name, record):
    assert isinstance(check(topic, encode(full_name, record)), Accepted)


WRONG_CITIES = [
    ("city.442000.insurance.retirements", RETIREMENT, retirement(), "city: must equal the topic's city 442000"),
    (MOVES, MOVE, household_moved(from_city="442000", to_city="440300"),
     "to_city: must equal the topic's city 442000"),
    (REPLIES, REPLY, migration_reply(city="440300"), "city: must equal the topic's city 442000"),
]


@pytest.mark.parametrize("topic, full_name, record, words", WRONG_CITIES, ids=[case[-1] for case in WRONG_CITIES])
def test_an_event_naming_another_city_than_its_topic_is_wrong_city(topic, full_name, record, words):
    """Each record passes every other rule: only its city field (intake.CITY_FIELD) refuses it."""
    refused(topic, encode(full_name, record), "WRONG_CITY", words)


GOOD_MOVE = encode(MOVE, household_moved())


BAD_MOVES = [
    (MOVES, GOOD_MOVE[:15], "UNDECODABLE", "truncated"),
    (MOVES, b"\x00\x01" + GOOD_MOVE[2:], "UNDECODABLE", "expected c3 01"),
    (MOVES, GOOD_MOVE[:2] + b"\xde\xad\xbe\xef\x00\x00\x00\x00" + GOOD_MOVE[10:], "UNKNOWN_SCHEMA", "fingerprint"),
    (MOVES, encode(REPLY, migration_reply()), "WRONG_TYPE", "MigrationReply"),
    (MOVES, None, "UNDECODABLE", "value"),
    (MOVES, encode(MOVE, household_moved(move_id="")), "INVALID_FIELD", "move_id: must be a non-empty"),
    (MOVES, encode(MOVE, household_moved(resident_id=RESIDENT[:17] + "5")), "INVALID_FIELD",
     "resident_id: GB 11643: check character"),
    (MOVES, encode(MOVE, household_moved(resident_id="44030119900101123")), "INVALID_FIELD",
     "resident_id: GB 11643: must be 18"),
    (MOVES, encode(MOVE, household_moved(from_city="442000")), "INVALID_FIELD", "from_city: must differ from to_city"),
    (MOVES, encode(MOVE, household_moved(from_city="110000")), "UNKNOWN_CITY", "from_city: not a city"),
    (MOVES, encode(MOVE, household_moved(from_city="4403")), "INVALID_FIELD", "from_city: must be a 6-digit"),
    ("city.110000.household.moves", encode(MOVE, household_moved(to_city="110000")), "UNKNOWN_CITY",
     "to_city: not a city"),
    ("city.4420.household.moves", encode(MOVE, household_moved(to_city="4420")), "INVALID_FIELD",
     "to_city: must be a 6-digit"),
]


@pytest.mark.parametrize("topic, value, code, words", BAD_MOVES, ids=[case[-1] for case in BAD_MOVES])
def test_a_bad_household_move_is_refused_with_the_reason(topic, value, code, words):
    refused(topic, value, code, words)


GOOD_REPLY = encode(REPLY, migration_reply())


BAD_REPLIES = [
    (REPLIES, GOOD_REPLY[:20], "UNDECODABLE", "truncated"),
    (REPLIES, b"{\"command_id\": \"m-1\"}", "UNDECODABLE", "expected c3 01"),
    (REPLIES, GOOD_REPLY[:2] + b"\xde\xad\xbe\xef\x00\x00\x00\x00" + GOOD_REPLY[10:], "UNKNOWN_SCHEMA", "fingerprint"),
    (REPLIES, GOOD_MOVE, "WRONG_TYPE", "HouseholdMoved"),
    (REPLIES, None, "UNDECODABLE", "value"),
    (REPLIES, encode(REPLY, migration_reply(command_id="")), "INVALID_FIELD", "command_id: must be a non-empty"),
    (REPLIES, encode(REPLY, migration_reply(migration_id="")), "INVALID_FIELD", "migration_id: must be a non-empty"),
    ("city.110000.replies", encode(REPLY, migration_reply(city="110000")), "UNKNOWN_CITY", "city: not a city"),
    ("city.4420.replies", encode(REPLY, migration_reply(city="4420")), "INVALID_FIELD", "city: must be a 6-digit"),
]


@pytest.mark.parametrize("topic, value, code, words", BAD_REPLIES, ids=[case[-1] for case in BAD_REPLIES])
def test_a_bad_migration_reply_is_refused_with_the_reason(topic, value, code, words):
    refused(topic, value, code, words)
