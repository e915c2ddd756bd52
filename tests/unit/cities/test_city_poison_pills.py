"""Commands on `city.<code>.commands` that stopped the city adapters at every replay ("poison
pills"), each now a dead letter naming why, through the runner's consume path (intake, dead
letters, handler) with real bytes."""
from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from io import BytesIO

import fastavro
import pytest
from aiokafka.structs import ConsumerRecord
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from citybus.bus import default_intake
from citybus.bus.consumer import GuardedConsumer
from citybus.catalog import default_catalog
from citybus.cities.runner import AdapterRunner
from citybus.cities.simulated import Chaos, SimulatedCities
from citybus.codec import decode, default_codec
from citybus.domain.migration import SendCommand, command_id_for
from citybus.migration.wire import outbound

SUBJECT = "440301198506071238"
COMMANDS = "city.440300.commands"
LIMITS = {t.name: t.max_message_bytes or 1_048_588 for t in default_catalog().topics}


def command(step: str = "TRANSFER_OUT", **changes: object) -> SendCommand:
    return replace(SendCommand(command_id_for("m-1", "PENSION", step), "m-1", "PENSION", step, "PERSON", SUBJECT,
                               "440300", "442000", 1, 10**12, {}, "440300"), **changes)


class _Producer:
    """What the consume loop hands to the broker, by topic (no broker: the loop's own path)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes, list]] = []

    async def send(self, topic, value, key=None, headers=()):  # noqa: ANN001, ANN201
        self.sent.append((topic, key, value, list(headers)))
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def _consume(*values: bytes) -> _Producer:
    """Each value as a record of COMMANDS through the adapters' consume loop, one simulated city behind."""
    simulation = SimulatedCities(["440300", "442000"], chaos=Chaos(seed=1), persist_replies=False)
    runner = AdapterRunner(simulation.adapters(), "127.0.0.1:9", "g", simulation.delivery)
    producer = _Producer()
    loop = GuardedConsumer("127.0.0.1:9", [COMMANDS], "g", default_intake(), producer, runner._handle,
                           service="cities")
    try:
        for offset, value in enumerate(values):
            await loop._one(ConsumerRecord(COMMANDS, 0, offset, 9_000, 0, SUBJECT.encode(), value, None, 18,
                                           len(value), ()))
    finally:
        await loop.consumer.stop()
    return producer


def _fit(producer: _Producer) -> None:
    for topic, key, value, headers in producer.sent:
        size = len(key or b"") + len(value) + sum(len(k) + len(v) for k, v in headers)
        assert size + 512 <= LIMITS[topic], (topic, size)


async def test_a_command_whose_subject_id_is_quoted_past_the_replies_limit_is_dead_lettered() -> None:
    """A TRANSFER_OUT's reply quotes the subject_id in its key and its package (refused: in its reason):
    a 600 kB subject_id (a command the broker took) made a 1.2 MB reply, refused by the broker, and
    the adapters stopped on that command at every replay."""
    bad = outbound(command(subject_id="4" * 600_000)).value
    producer = await _consume(bad, outbound(command("PRECHECK")).value)
    _fit(producer)
    (dead,) = [decode(value)[1] for topic, _, value, _ in producer.sent if topic == "bus.deadletter"]
    assert (dead["reason_code"], dead["value"]) == ("INVALID_FIELD", bad)
    assert "subject_id: must be at most 128 bytes" in dead["reason"], dead["reason"]
    replies = [decode(value)[1] for topic, _, value, _ in producer.sent if topic == "city.440300.replies"]
    assert [(r["step"], r["outcome"]) for r in replies] == [("PRECHECK", "DONE")]  # the next command answered


# ---- a small deterministic fuzz (the heavier exploration ran outside the suite) ---------------
# Each string field in turn carries every size that matters (just past the 128-byte ids, past a
# reason's 1,000 and a package's 65,536 bytes, ~700 kB, and at the broker's 1 MB for the command) in
# commands otherwise well-formed, of drawn steps (each quotes other fields in its reply), among drawn
# ones: so the few examples `make test` affords always reach every limit.
_TEXT = st.sampled_from(["", "\x00", "m-1", "中" * 43, "x" * 159, "x" * 600_000]) | st.text(max_size=4)
_EXTREMES = ("中" * 43, "x" * 1_001, "x" * 65_537, "x" * 700_000, "x" * 1_048_000)
_COMMAND = st.fixed_dictionaries({
    "command_id": st.just("m-1/PENSION/TRANSFER_OUT") | _TEXT, "migration_id": st.just("m-1") | _TEXT,
    "scope": st.sampled_from(["PENSION", "MEDICAL", "TAX_REGISTRATION"]),
    "step": st.sampled_from(["PRECHECK", "TRANSFER_OUT", "TRANSFER_IN", "REVERT_OUT", "REVERT_IN"]),
    "subject_type": st.sampled_from(["PERSON", "ENTERPRISE"]), "subject_id": st.just(SUBJECT) | _TEXT,
    "from_city": st.just("440300") | _TEXT, "to_city": st.just("442000") | _TEXT,
    "attempt": st.sampled_from([1, 0, -2**31, 2**31 - 1]),
    "deadline": st.sampled_from([10**12, 0, -1, 253_402_300_800_000, 2**63 - 1, -2**63]),
    "package": st.dictionaries(_TEXT, _TEXT, max_size=2)})
_STRING_FIELDS = ("command_id", "migration_id", "subject_id", "from_city", "to_city", "package key", "package value")


def _raw_command(record: dict) -> bytes:
    """Schema-valid bytes past what the logical types check (a deadline any long)."""
    stored = default_codec().store.get("citybus.migration.MigrationCommand")
    schema = json.loads(json.dumps(stored.schema).replace('"logicalType": "timestamp-millis"', '"x": 0'))
    out = BytesIO(stored.header)
    out.seek(len(stored.header))
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), record)
    return out.getvalue()


def _well_formed(scope: str, step: str) -> dict:
    return {"command_id": command_id_for("m-1", scope, step), "migration_id": "m-1", "scope": scope, "step": step,
            "subject_type": "PERSON", "subject_id": SUBJECT, "from_city": "440300", "to_city": "442000",
            "attempt": 1, "deadline": 10**12, "package": {}}


def _with_extreme(field: str, extreme: str) -> st.SearchStrategy[bytes]:
    def put(scope: str, step: str) -> bytes:
        record = _well_formed(scope, step)
        if field.startswith("package"):
            return _raw_command({**record, "package": {extreme: "v"} if field == "package key" else {"k": extreme}})
        return _raw_command({**record, field: extreme})
    return st.builds(put, st.sampled_from(["PENSION", "MEDICAL", "TAX_REGISTRATION"]),
                     st.sampled_from(["TRANSFER_OUT", "PRECHECK", "TRANSFER_IN", "REVERT_OUT", "REVERT_IN"]))


@pytest.mark.parametrize("field", _STRING_FIELDS)
@given(data=st.data())
@settings(max_examples=4, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.generate])  # no shrinking: the failing example is printed as drawn, in seconds
def test_fuzzed_commands_are_answered_or_dead_lettered_and_every_reply_fits(field: str, data: st.DataObject) -> None:
    drawn = st.lists(_COMMAND.map(_raw_command) | st.binary(max_size=24), max_size=2)
    values = [value for extreme in _EXTREMES for value in (*data.draw(drawn), data.draw(_with_extreme(field, extreme)))]
    producer = asyncio.run(_consume(*values))
    _fit(producer)
    assert len(producer.sent) >= len(values)  # a reply (simulated cities lose none) or a dead letter each
