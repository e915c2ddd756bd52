import zlib

import pytest

from citybus.domain.contributions import SCHEMES, PersonLedger
from citybus.errors import CitybusError

from .factories import P, rec, run


def working_life(schemes=("PENSION",)):
    """240 months in 2 cities per scheme: 2005-2014 in Shenzhen, 2015-2024 in Zhongshan."""
    ledger = PersonLedger(P)
    for scheme in schemes:
        for record in run("440300", "2005-01", 120, scheme=scheme, base="8000.00", employee="640.00") + run(
            "442000", "2015-01", 120, scheme=scheme, base="6000.00", employee="480.00"
        ):
            ledger.apply(record)
    return ledger


@pytest.mark.parametrize(("schemes", "limit"), [(("PENSION",), 2_100), (SCHEMES, 10_000)])
def test_state_size_per_person(schemes, limit):
    ledger = working_life(schemes)
    data = ledger.to_bytes()
    assert len(ledger.records) == 240 * len(schemes)
    assert len(data) < limit  # measured 1,972 and 9,350 bytes (zlib level 1); see the encoding module's docstring
    assert PersonLedger.from_bytes(data) == ledger


def test_bytes_do_not_depend_on_arrival_order():
    records = run("440300", "2005-01", 30) + [rec(month="2005-03", city="442000", status="REVERSED", revision=7)]
    forward, backward = PersonLedger(P), PersonLedger(P)
    for record in records:
        forward.apply(record)
    for record in reversed(records):
        backward.apply(record)
    assert forward.to_bytes() == backward.to_bytes()


def test_an_empty_ledger_round_trips():
    empty = PersonLedger(P)
    assert PersonLedger.from_bytes(empty.to_bytes()) == empty
    assert not PersonLedger.from_bytes(empty.to_bytes()).has_effective_records()


def test_a_non_ascii_record_id_round_trips():
    ledger = PersonLedger(P)
    ledger.apply(rec(record_id="深圳-记录-1"))
    assert PersonLedger.from_bytes(ledger.to_bytes()).summary("PENSION") == ledger.summary("PENSION")


@pytest.mark.parametrize(
    "data",
    [b"", b"\x02" + working_life().to_bytes()[1:], b"\x01not zlib", working_life().to_bytes()[:-5]],
    ids=["empty", "unknown-version", "not-zlib", "truncated"],
)
def test_undecodable_state_raises_a_citybus_error(data):
    with pytest.raises(CitybusError, match="ledger state"):
        PersonLedger.from_bytes(data)


def test_state_written_with_the_default_zlib_window_still_decodes():
    """Changelogs and stores written before the window was sized to the body hold zlib streams
    with the default 32 KiB window: a restarted worker must read them as they are."""
    ledger = working_life()
    body = zlib.decompress(ledger.to_bytes()[1:])
    old_style = ledger.to_bytes()[:1] + zlib.compress(body, 1)
    assert old_style != ledger.to_bytes()
    assert PersonLedger.from_bytes(old_style) == ledger
