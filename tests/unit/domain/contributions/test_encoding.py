import struct
import zlib

import pytest

from citybus.domain.contributions import SCHEMES, PersonLedger, content_digest
from citybus.domain.contributions.encoding import RAW_UP_TO
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


def small_life():
    return working_life_of(run("440300", "2005-01", 10))


def working_life_of(records):
    ledger = PersonLedger(P)
    for record in records:
        ledger.apply(record)
    return ledger


@pytest.mark.parametrize(
    "data",
    [b"", b"\x03" + working_life().to_bytes()[1:], b"\x00" + small_life().to_bytes()[1:], b"\x01not zlib",
     working_life().to_bytes()[:-5], small_life().to_bytes()[:-5], small_life().to_bytes()[:40]],
    ids=["empty", "unknown-version", "version-0", "not-zlib", "truncated", "truncated-raw", "raw-cut-in-strings"],
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


def test_a_state_with_bytes_after_its_columns_is_refused():
    data = working_life().to_bytes()
    padded = data[:1] + zlib.compress(zlib.decompress(data[1:]) + b"\x00")
    with pytest.raises(CitybusError, match="trailing bytes"):
        PersonLedger.from_bytes(padded)
    with pytest.raises(CitybusError, match="trailing bytes"):
        PersonLedger.from_bytes(small_life().to_bytes() + b"\x00")


def test_small_bodies_are_kept_raw_and_large_ones_compressed():
    """Version 2 (the body as it is) up to RAW_UP_TO bytes of body, version 1 (zlib) past it; the
    boundary is found by adding records one at a time."""
    ledger, versions = PersonLedger(P), {}
    for record in run("440300", "2005-01", 200):
        ledger.apply(record)
        data = ledger.to_bytes()
        body = data[1:] if data[0] == 2 else zlib.decompress(data[1:])
        versions[len(body)] = data[0]
        assert PersonLedger.from_bytes(data) == ledger
    assert {v for n, v in versions.items() if n <= RAW_UP_TO} == {2}
    assert {v for n, v in versions.items() if n > RAW_UP_TO} == {1}
    assert max(n for n in versions if n <= RAW_UP_TO) > RAW_UP_TO - 100  # both sides were reached


def test_versions_1_and_2_are_the_layout_stores_and_changelogs_already_hold():
    """Kept state outlives the code that wrote it: the body written here by hand as laid out (the
    resident_id, the city table and the record_ids as counted strings, then columns in (city,
    record_id) order: city index, active, scheme index, kind rank (0 EMPLOYEE, 1 RESIDENT),
    revision, digest, month delta, base and employee cents) after version byte 2 is what the
    ledger writes for a small body, and read back under 2 as it is and under 1 in zlib (what the
    ledger wrote before version 2, and writes for large bodies)."""
    first = rec(month="2010-02", city="442000", record_id="b", revision=3, kind="RESIDENT", scheme="MEDICAL",
                base="5000.00", employee="100.50")
    second = rec(month="2010-01", city="440300", record_id="a", status="REVERSED")
    ledger = PersonLedger(P)
    ledger.apply(first)
    ledger.apply(second)

    def strings(*values):
        blobs = [v.encode() for v in values]
        return struct.pack(f"<I{len(blobs)}I", len(blobs), *map(len, blobs)) + b"".join(blobs)

    body = b"".join((
        strings(P), strings("440300", "442000"), strings("a", "b"),
        struct.pack("<2I", 0, 1),  # city index
        bytes([0, 1]), bytes([SCHEMES.index("PENSION"), SCHEMES.index("MEDICAL")]), bytes([0, 1]),
        struct.pack("<2I", 1, 3), struct.pack("<2I", content_digest(second), content_digest(first)),
        struct.pack("<2i", 2010 * 12, 1),  # months since 0000-01, delta-coded: 2010-01, then +1
        struct.pack("<2Q", 1_000_000, 500_000), struct.pack("<2Q", 80_000, 10_050),
    ))
    assert ledger.to_bytes() == b"\x02" + body
    assert PersonLedger.from_bytes(b"\x02" + body) == ledger
    assert PersonLedger.from_bytes(b"\x01" + zlib.compress(body)) == ledger
