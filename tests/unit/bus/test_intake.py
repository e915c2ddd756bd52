"""The intake gate with real bad bytes: every kind of refusal names its reason."""
import pytest

from citybus.bus import Accepted, Rejection, default_intake
from citybus.bus.deadletter import REJECTED_EVENT, rejected_event
from citybus.codec import encode

from .events import contribution, retirement

TOPIC = "city.440300.insurance.contributions"
GOOD = encode("citybus.insurance.ContributionRecorded", contribution())


def check(value, topic=TOPIC):
    return default_intake().check(topic, 3, 42, b"440301199001011234", value, [("ce_id", b"x")])


def test_a_good_event_passes_as_a_domain_record():
    accepted = check(GOOD)
    assert isinstance(accepted, Accepted)
    assert accepted.value.recorded_at == 1580515200000 and accepted.value.city == "440300"


@pytest.mark.parametrize("value, code, words", [
    (GOOD[:25], "UNDECODABLE", "truncated"),
    (b"\x00\x01" + GOOD[2:], "UNDECODABLE", "expected c3 01"),
    (b"{\"json\": true}", "UNDECODABLE", "expected c3 01"),
    (GOOD[:2] + b"\xde\xad\xbe\xef\x00\x00\x00\x00" + GOOD[10:], "UNKNOWN_SCHEMA", "fingerprint"),
    (encode("citybus.insurance.RetirementRequested", retirement()), "WRONG_TYPE", "RetirementRequested"),
    (encode("citybus.insurance.ContributionRecorded", contribution(resident_id="440301199001011235")),
     "INVALID_FIELD", "resident_id"),
    (encode("citybus.insurance.ContributionRecorded", contribution(city="442000")), "WRONG_CITY", "city"),
    (encode("citybus.insurance.ContributionRecorded", contribution(month="1989-12")), "INVALID_FIELD", "month"),
    (None, "UNDECODABLE", "value"),
])
def test_bad_bytes_are_refused_with_the_reason(value, code, words):
    rejection = check(value)
    assert isinstance(rejection, Rejection)
    assert rejection.reason_code == code
    assert words in rejection.reason
    assert rejection.value == value and (rejection.partition, rejection.offset) == (3, 42)


def test_unknown_city_in_the_registry():
    bad = encode("citybus.insurance.ContributionRecorded", contribution(city="110000"))
    assert check(bad, "city.110000.insurance.contributions").reason_code == "UNKNOWN_CITY"
    assert check(bad).reason_code == "WRONG_CITY"


def test_a_huge_bad_field_is_named_in_the_reason_not_copied_into_it():
    """The dead letter keeps the event's bytes; the reason must not carry the field a second time
    (a record near the broker's size limit would make a dead letter beyond it)."""
    huge = "4" * 600_000
    bad = encode("citybus.insurance.ContributionRecorded", contribution(city=huge))
    rejection = check(bad)
    assert rejection.reason_code == "WRONG_CITY" and rejection.reason.startswith("city: ")
    assert huge not in rejection.reason and "600002 characters" in rejection.reason
    dead_letter = encode(REJECTED_EVENT, rejected_event(rejection, "test"))
    assert len(dead_letter) < len(bad) + 1000


@pytest.mark.parametrize("raw, text", [(b"\xff" * 500_000, "?" * 500_000), (b"ok\xe4\xb8", "ok?"),
                                       ("f\u00fcr \ufffd".encode(), "f\u00fcr \ufffd"), (None, "")],
                         ids=["500k-invalid", "cut-sequence", "valid", "none"])
def test_a_dead_letter_header_takes_no_more_bytes_than_the_original(raw, text):
    """A record the broker took must make a dead letter it takes: non-UTF-8 header bytes must not
    grow (U+FFFD is 3 bytes each) beyond what the city sent."""
    rejection = default_intake().check(TOPIC, 3, 42, b"k", b"not avro", [("x", raw)])
    assert rejected_event(rejection, "test")["headers"] == {"x": text}
    dead_letter = encode(REJECTED_EVENT, rejected_event(rejection, "test"))
    assert len(dead_letter) < len(raw or b"") + 1000
