"""Records on the aggregation's inputs that stopped it at every replay ("poison pills"), each now a
dead letter naming why; and a small fuzz of every input field with extreme, schema-valid values (the
heavier exploration ran outside the suite): nothing escapes `process`, and every record it sends
fits the broker's limit of its topic."""
from __future__ import annotations

import asyncio
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from citybus.aggregation.process import BY_PERSON_TOPIC, CLAIMS_TOPIC, INDEX_TOPIC, ORIGIN_HEADER, STATEMENT
from citybus.catalog import default_catalog
from citybus.codec import default_codec, encode
from citybus.codec.mapping.household import household_moved_record
from citybus.simulate import WORKED_EXAMPLE_ID
from citybus.simulate.contributions import worked_example
from citybus.streams.batch import partition_of
from tests.unit.aggregation.harness import PARTITIONS, Harness, as_records, record

CONTRIBUTION, RETIREMENT = "citybus.insurance.ContributionRecorded", "citybus.insurance.RetirementRequested"
GOOD = as_records(worked_example())
FIRST = next(r for r in GOOD if "contributions" in r.topic)
REQUEST = next(r for r in GOOD if "retirements" in r.topic)
KEY = WORKED_EXAMPLE_ID.encode()
BROKER_DEFAULT = 1_048_588  # a topic without max_message_bytes
SERVICE_TOPICS = 4_194_304  # the services' own topics (and bus.deadletter's max_message_bytes)
LIMITS = {t.name: t.max_message_bytes or BROKER_DEFAULT for t in default_catalog().topics}


def _strip(schema: Any) -> Any:
    """The schema without logical types: decimals as their bytes, timestamps and dates as numbers."""
    if isinstance(schema, dict):
        return {k: _strip(v) for k, v in schema.items() if k != "logicalType"}
    return [_strip(s) for s in schema] if isinstance(schema, list) else schema


def _raw(full_name: str) -> Any:
    stored = default_codec().store.get(full_name)
    return stored.header, fastavro.parse_schema(_strip(stored.schema))


def raw_encode(full_name: str, record: dict) -> bytes:
    """What a city's writer may put on the wire, schema-valid, past what the logical types check
    (fastavro's writer refuses a decimal beyond its precision; the reader takes any length)."""
    header, schema = _raw(full_name)
    out = BytesIO(header)
    out.seek(len(header))
    fastavro.schemaless_writer(out, schema, record)
    return out.getvalue()


def raw_decode(full_name: str, value: bytes) -> dict:
    header, schema = _raw(full_name)
    return fastavro.schemaless_reader(BytesIO(value[len(header):]), schema)


def cents(amount: int) -> bytes:
    """A decimal(14,2)'s bytes: the amount in cents, two's complement, big-endian."""
    return amount.to_bytes((amount.bit_length() + 8) // 8, "big", signed=True)


def _only_dead_letter(harness: Harness) -> dict:
    (dead,) = harness.dead_letters()
    return dead


async def test_a_statement_index_record_nested_too_deep_for_json_is_dead_lettered(harness):
    """100,000 '[': json.loads raised RecursionError (not a ValueError), out of `process`."""
    deep = b"[" * 100_000
    await harness.run([record(INDEX_TOPIC, b"RR-1", deep, (), 0),
                       record(INDEX_TOPIC, b"RR-2", b'{"request_id":"RR-2","revision":1}', (), 1)])
    dead = _only_dead_letter(harness)
    assert (dead["reason_code"], dead["value"]) == ("UNDECODABLE", deep)
    assert "not a JSON statement" in dead["reason"]
    assert harness.stores[partition_of(b"RR-2", PARTITIONS)].get(STATEMENT + b"RR-2") is not None


async def test_a_forwarded_record_whose_origin_offset_is_beyond_a_long_is_dead_lettered_as_forwarded(harness):
    """Its dead letter named the origin's offset, which RejectedEvent (a long) cannot hold: encoding it raised."""
    origin = f"{FIRST.topic}/1/{2**63}/0".encode()
    bad = record(BY_PERSON_TOPIC, KEY, FIRST.value[:20], [(ORIGIN_HEADER, origin)], 3)
    await harness.run([bad])
    dead = _only_dead_letter(harness)
    assert (dead["reason_code"], dead["source_topic"], dead["offset"]) == ("UNDECODABLE", BY_PERSON_TOPIC, 3)
    assert ORIGIN_HEADER in dead["reason"]


async def test_a_forwarded_record_of_another_services_type_is_dead_lettered_wrong_type(harness):
    """The origin header names any topic: a household move's made the intake decode a move, which
    has no ledger (AttributeError out of `process`)."""
    move = encode("citybus.household.HouseholdMoved",
                  household_moved_record("mv-1", WORKED_EXAMPLE_ID, "440300", "442000", 1_000))
    for topic in (BY_PERSON_TOPIC, CLAIMS_TOPIC):
        harness.sent.clear()
        await harness.run([record(topic, KEY, move, [(ORIGIN_HEADER, b"city.442000.household.moves/1/5/0")], 3),
                           FIRST])
        dead = _only_dead_letter(harness)
        assert (dead["reason_code"], dead["source_topic"], dead["offset"]) == (
            "WRONG_TYPE", "city.442000.household.moves", 5)
        assert "MigrationRequested" in dead["reason"]
    assert harness.ledger(WORKED_EXAMPLE_ID).records  # the good record next to it applied


async def test_an_amount_with_thirty_digits_is_dead_lettered_too_large(harness):
    """decimal(14,2) is bytes on the wire: any length decodes; quantize raised InvalidOperation."""
    huge = cents(int("1" * 30))
    bad = record(FIRST.topic, KEY, raw_encode(CONTRIBUTION, {**raw_decode(CONTRIBUTION, FIRST.value),
                                                             "employee_amount": huge}), FIRST.headers, 1)
    await harness.run([bad, FIRST])
    dead = _only_dead_letter(harness)
    assert dead["reason_code"] == "INVALID_FIELD" and "employee_amount: exceeds decimal(14,2)" in dead["reason"]
    assert harness.ledger(WORKED_EXAMPLE_ID).records


# ---- the fuzz: small, deterministic (derandomize), so `make test` stays stable -----------------
# Each field in turn carries every value that matters (ids just past 64 and 128 bytes, past 1,000 and
# 65,536, ~700 kB and ~1 MB; amounts of 15 to 40 digits; longs at and past their range) in an otherwise
# well-formed record, next to drawn ones: so the few examples `make test` affords reach every limit.
# The own topics' origin header likewise: at and past the partitions and a long, naming another type.
_SIZES = ("中" * 22, "x" * 65, "x" * 129, "x" * 1_001, "x" * 65_537, "x" * 700_000, "x" * 1_000_000)
_EXTREME_TEXT = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["", "\x00", "\x00" * 64, "\x00" * 65, "𝕏" * 16, "𝕏" * 17]),
    st.sampled_from([300_000, 900_000]).map(lambda n: "x" * n),
)
_LONGS = (0, -1, 2**63 - 1, -2**63, 253_402_300_799_999, 253_402_300_800_000)
_EXTREME_LONG = st.sampled_from(_LONGS)
_AMOUNTS = tuple(cents(sign * int(digits * "9")) for digits in (14, 15, 20, 29, 30, 40) for sign in (1, -1))
_EXTREME_MONEY = st.sampled_from([0, 99_999_999_999_999, -99_999_999_999_999, 10**14, 10**30, -10**300]).map(cents)
_CONTRIBUTION_FIELDS = {
    "record_id": _EXTREME_TEXT, "resident_id": _EXTREME_TEXT, "city": _EXTREME_TEXT, "month": _EXTREME_TEXT,
    "revision": st.sampled_from([0, 1, 2**31 - 1, -2**31]), "recorded_at": _EXTREME_LONG,
    "contribution_base": _EXTREME_MONEY, "employer_amount": _EXTREME_MONEY, "employee_amount": _EXTREME_MONEY,
}
_RETIREMENT_FIELDS = {
    "request_id": _EXTREME_TEXT, "resident_id": _EXTREME_TEXT, "city": _EXTREME_TEXT, "hukou_city": _EXTREME_TEXT,
    "retirement_date": st.sampled_from([0, -1, 2**31 - 1, -2**31, 2_932_896]), "requested_at": _EXTREME_LONG,
}
_EXTREMES_OF = {name: _SIZES for name in ("record_id", "request_id", "resident_id", "city", "hukou_city", "month")}
_EXTREMES_OF |= {name: _AMOUNTS for name in ("contribution_base", "employer_amount", "employee_amount")}
_EXTREMES_OF |= {name: _LONGS for name in ("recorded_at", "requested_at")}
_EXTREMES_OF |= {"revision": (0, -2**31, 2, 2**31 - 1),  # rising: a lower revision later is a no-op
                 "retirement_date": (0, -1, 2**31 - 1, -2**31, 2_932_896)}
_FIELDS = [(CONTRIBUTION, name) for name in _CONTRIBUTION_FIELDS] + [(RETIREMENT, name) for name in _RETIREMENT_FIELDS]
_FIELDS.append(("forwarded", ORIGIN_HEADER))  # the own topics' origin header: at and past a partition and a long
_ORIGINS = [f"{topic}/{partition}/{offset}/0".encode() for topic, partition, offset in (
    (FIRST.topic, 5, 2**63 - 1), (FIRST.topic, 1, 2**63), (FIRST.topic, PARTITIONS, 0), (REQUEST.topic, -1, 0),
    (REQUEST.topic, 0, -1), ("city.442000.household.moves", 1, 5), ("", 1, 5))]
_MOVE = encode("citybus.household.HouseholdMoved",
               household_moved_record("mv-1", WORKED_EXAMPLE_ID, "440300", "442000", 1_000))


def _mutated(full_name: str, template: Any, fields: dict) -> st.SearchStrategy[tuple[Any, bytes]]:
    base = raw_decode(full_name, template.value)
    return st.fixed_dictionaries({}, optional=fields).map(
        lambda changes: (template, raw_encode(full_name, {**base, **changes})))


_INPUTS = st.one_of(_mutated(CONTRIBUTION, FIRST, _CONTRIBUTION_FIELDS),
                    _mutated(RETIREMENT, REQUEST, _RETIREMENT_FIELDS))


def _input(template: Any, value: bytes) -> tuple[str, bytes, tuple, str]:
    """A record's topic, value, headers and the resident it names."""
    full_name = CONTRIBUTION if template.topic.endswith("contributions") else RETIREMENT
    return template.topic, value, template.headers, raw_decode(full_name, value)["resident_id"]


def _extremes(full_name: str, field: str) -> list[tuple[str, bytes, tuple, str]]:
    """The template of `full_name` with `field` at each of its extremes, every other field as it was;
    or, for "forwarded", a contribution, a request and a move on each own topic from each origin."""
    if full_name == "forwarded":
        return [(topic, value, ((ORIGIN_HEADER, origin),), WORKED_EXAMPLE_ID) for topic in (BY_PERSON_TOPIC, CLAIMS_TOPIC)
                for origin in _ORIGINS for value in (FIRST.value, REQUEST.value, _MOVE)]
    template = FIRST if full_name == CONTRIBUTION else REQUEST
    base = raw_decode(full_name, template.value)
    return [_input(template, raw_encode(full_name, {**base, field: extreme})) for extreme in _EXTREMES_OF[field]]


def _fits(sent: list[tuple]) -> None:
    for topic, key, value, headers, _ in sent:
        size = len(key or b"") + len(value) + sum(len(k) + len(v) for k, v in headers)
        assert size + 512 <= LIMITS.get(topic, SERVICE_TOPICS), (topic, size)


@pytest.mark.parametrize(("full_name", "field"), _FIELDS, ids=[field if kind != "forwarded" else kind for kind, field in _FIELDS])
@settings(max_examples=2, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # no shrinking: seconds
@given(st.lists(_INPUTS, max_size=2), st.sampled_from(["own", "home", "elsewhere"]))
def test_fuzzed_contributions_and_requests_never_escape_and_every_output_fits(full_name, field, drawn, where):
    """Each input (none twice: a redelivery is a no-op) has an effect or a dead letter; every record
    sent and every state value fits its topic."""
    extremes = [*_extremes(full_name, field), *(_input(template, value) for template, value in drawn)]
    inputs = list({(topic, value, headers): (topic, value, headers, rid) for topic, value, headers, rid in extremes}.values())

    async def run(harness: Harness) -> None:
        for offset, (topic, value, headers, resident_id) in enumerate(inputs):
            key = resident_id.encode() if where == "own" else KEY
            partition = (partition_of(key, PARTITIONS) + (where == "elsewhere")) % PARTITIONS
            before = len(harness.sent)
            batch = await harness.run([record(topic, key, value, headers, offset, partition)])
            await harness.settle()
            assert len(harness.sent) > before or batch.state, "neither an effect nor a dead letter"
            assert all(len(k) + len(v) + 512 <= SERVICE_TOPICS for p in batch.state.values() for k, v in p.items())
        _fits(harness.sent)

    with tempfile.TemporaryDirectory() as root:
        harness = Harness(Path(root))
        try:
            asyncio.run(run(harness))
        finally:
            harness.stores.close_all()
