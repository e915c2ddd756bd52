"""A city's events, checked before they leave the city; JSON Lines with bad lines reported."""
import io
import json

import pytest

from citybus.bus.jsonl import BadLine, read_events
from citybus.bus.publisher import CityPublisher
from citybus.catalog import default_catalog
from citybus.codec import decode, parse_cloudevent_headers
from citybus.errors import ValidationError

from .events import RESIDENT, contribution, contribution_json, household_moved, migration_reply, retirement


def publisher(city="440300"):
    return CityPublisher(default_catalog(), city, producer=None, system="hr")


def test_prepare_routes_keys_and_heads_an_event_per_bus_md():
    topic, key, value, headers = publisher().prepare("ContributionRecorded", contribution())
    assert topic == "city.440300.insurance.contributions" and key == RESIDENT.encode()
    assert decode(value)[1]["record_id"] == "SZ-1"
    meta = parse_cloudevent_headers(headers)
    assert meta["type"] == "citybus.insurance.ContributionRecorded"
    assert meta["source"] == "/cities/440300/hr" and meta["specversion"] == "1.0"
    assert dict(headers)["content-type"] == b"application/avro"


def test_a_city_cannot_publish_for_another_city_or_write_commands():
    with pytest.raises(ValidationError) as err:
        publisher().prepare("ContributionRecorded", contribution(city="442000"))
    assert err.value.reason_code == "WRONG_CITY"
    with pytest.raises(ValidationError, match="does not write"):
        publisher().topic_for("citybus.migration.MigrationCommand")


def test_jsonl_reports_every_bad_line_and_keeps_the_good():
    lines = [
        contribution_json(),
        {"record_id": "no type"},
        contribution_json(record_id="SZ-2", resident_id="440301199001011235"),
        "not json at all",
        contribution_json(record_id="SZ-3", contribution_base=12.5),
        contribution_json(record_id="SZ-4", month="2030-01"),
        contribution_json(record_id="SZ-5", colour="red"),
        contribution_json(record_id="SZ-6"),
    ]
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    out = list(read_events(io.StringIO(text), publisher()))
    bad = {b.line: b for b in out if isinstance(b, BadLine)}
    assert sorted(bad) == [2, 3, 4, 5, 6, 7]
    assert bad[2].field == "type"
    assert bad[3].field == "resident_id" and "check character" in bad[3].rule
    assert "not JSON" in bad[4].rule
    assert bad[5].field == "contribution_base"
    assert bad[6].field == "month"
    assert bad[7].field == "colour"
    good = [decode(e[2])[1]["record_id"] for e in out if not isinstance(e, BadLine)]
    assert good == ["SZ-1", "SZ-6"]


# publish_many: the producer's batch API, partitions as Kafka's default partitioner puts them

import asyncio  # noqa: E402

from aiokafka.partitioner import DefaultPartitioner  # noqa: E402
from aiokafka.producer.message_accumulator import BatchBuilder  # noqa: E402
from aiokafka.record.default_records import DefaultRecordBatch  # noqa: E402

from citybus.bus.publisher import default_partition  # noqa: E402
from citybus.domain.ids import resident_id_check_char  # noqa: E402


def test_default_partition_is_javas_murmur2():
    # org.apache.kafka.common.utils.UtilsTest#testMurmur2
    for text, java in [("21", -973932308), ("foobar", -790332482), ("a-little-bit-long-string", -985981536),
                       ("a-little-bit-longer-string", -1486304829), ("abc", 479470107),
                       ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971)]:
        for partitions in (1, 6, 7, 36):
            assert default_partition(text.encode(), partitions) == (java & 0x7FFFFFFF) % partitions


class BatchProducer:
    """Just enough of AIOKafkaProducer for publish_many; keeps what was submitted, per partition."""

    def __init__(self, partitions=6, batch_size=4096, partitioner=None):
        self._partitioner = partitioner or DefaultPartitioner()
        self.partitions, self.batch_size = partitions, batch_size
        self.submitted = []  # (topic, partition, records)
        self.sent = []

    async def partitions_for(self, topic):
        return set(range(self.partitions))

    def create_batch(self):
        return BatchBuilder(self.batch_size, 0)

    async def send_batch(self, batch, topic, *, partition):
        assert batch.closed()
        records = list(DefaultRecordBatch(bytearray(batch._build())))
        self.submitted.append((topic, partition, records))
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    async def send(self, topic, value, key=None, headers=None):
        partition = self._partitioner(key, list(range(self.partitions)), list(range(self.partitions)))
        self.sent.append((topic, partition, key, value, headers))
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


def residents(count):
    ids = [f"4403011990{i:07d}" for i in range(count)]
    return [first17 + resident_id_check_char(first17) for first17 in ids]


def test_publish_many_batches_land_where_the_default_partitioner_puts_each_key():
    producer = BatchProducer()
    pub = CityPublisher(default_catalog(), "440300", producer, system="hr")
    people = residents(40)
    events = [pub.prepare("ContributionRecorded", contribution(record_id=f"SZ-{i}", resident_id=people[i % 40],
                                                               month=f"2019-{i % 12 + 1:02d}"))
              for i in range(600)]
    assert asyncio.run(pub.publish_many(iter(events))) == 600
    assert len(producer.submitted) > 6  # small batches: several per partition
    landed = []
    for topic, partition, records in producer.submitted:
        assert topic == "city.440300.insurance.contributions"
        for record in records:
            expected = DefaultPartitioner()(record.key, list(range(6)), list(range(6)))
            assert partition == expected == default_partition(record.key, 6)
            landed.append((partition, record.key, record.value, list(record.headers)))
    assert sorted(landed) == sorted((default_partition(k, 6), k, v, h) for _, k, v, h in events)
    for partition in range(6):  # the order of the events is kept within each partition
        assert [e for e in landed if e[0] == partition] == [
            (partition, k, v, h) for _, k, v, h in events if default_partition(k, 6) == partition]
    ids = [dict(h)["ce_id"] for *_, h in landed]
    assert len(set(ids)) == 600
    for *_, headers in landed[:5]:
        assert parse_cloudevent_headers(headers)["source"] == "/cities/440300/hr"


def test_publish_many_lets_the_producers_sender_run_while_it_fills_batches():
    """Filling batches never waits, so publish_many must hand the loop over now and then: the
    producer's sender (a task on the same loop) reads the broker's answers and sends the next
    request only when it runs."""
    from citybus.bus import publisher as module

    producer = BatchProducer()
    pub = CityPublisher(default_catalog(), "440300", producer)
    event = pub.prepare("ContributionRecorded", contribution())
    count = 10 * module._YIELD_EVERY
    seen = []  # how often the other task had run when each event was taken

    async def run():
        turns = 0

        async def sender():
            nonlocal turns
            while True:
                await asyncio.sleep(0)
                turns += 1

        task = asyncio.create_task(sender())
        await asyncio.sleep(0)

        def events():
            for _ in range(count):
                seen.append(turns)
                yield event

        try:
            return await pub.publish_many(events())
        finally:
            task.cancel()

    assert asyncio.run(run()) == count
    assert seen[-1] >= 9  # once per _YIELD_EVERY events (the fake's send_batch never suspends)
    assert seen[module._YIELD_EVERY - 2] == seen[0]  # and not on every event


def test_publish_many_with_another_partitioner_sends_each_event():
    producer = BatchProducer(partitioner=lambda key, all_partitions, available: all_partitions[-1])
    pub = CityPublisher(default_catalog(), "440300", producer)
    events = [pub.prepare("ContributionRecorded", contribution(record_id=f"SZ-{i}")) for i in range(10)]
    assert asyncio.run(pub.publish_many(events, in_flight=3)) == 10
    assert not producer.submitted and [s[1] for s in producer.sent] == [5] * 10


@pytest.mark.parametrize("changes", [
    {}, {"record_id": ""}, {"revision": 0}, {"revision": True}, {"status": "CANCELLED"},
    {"resident_id": RESIDENT[:17] + "0"}, {"city": "4403"}, {"scheme": "HOUSING_FUND"}, {"insured_kind": "RETIRED"},
    {"month": "2010-13"}, {"month": "1989-12"}, {"month": "2020-03"}, {"recorded_at": "yesterday"},
    {"recorded_at": 10**20}, {"recorded_at": __import__("datetime").datetime(2020, 2, 1)}, {"contribution_base": __import__("decimal").Decimal("1.001")},
    {"employer_amount": __import__("decimal").Decimal("NaN")}, {"employee_amount": 80.0},
])
def test_the_publishers_field_check_is_the_intakes(changes):
    """The publisher checks contributions on the dict (no domain record): same verdict, same field
    and rule as the consumers' intake, which builds the record."""
    from citybus.bus.validators import PUBLISH_CHECKS, VALIDATORS

    name, catalog, record = "citybus.insurance.ContributionRecorded", default_catalog(), contribution(**changes)

    def verdict(check):
        try:
            check(record, catalog)
        except ValidationError as exc:
            return exc.field, exc.rule, exc.reason_code
        return "passes"

    assert verdict(PUBLISH_CHECKS[name]) == verdict(VALIDATORS[name])
    assert (verdict(VALIDATORS[name]) == "passes") == (changes == {})


@pytest.mark.parametrize(("name", "city", "record", "missing"), [
    ("ContributionRecorded", "440300", contribution(), "record_id"),
    ("ContributionRecorded", "440300", contribution(), "resident_id"),
    ("RetirementRequested", "440300", retirement(), "hukou_city"),
    ("HouseholdMoved", "442000", household_moved(), "from_city"),
    ("MigrationReply", "442000", migration_reply(), "outcome"),
])
def test_a_record_missing_a_required_field_is_refused_naming_it(name, city, record, missing):
    """`prepare` checks an event before it leaves the city: a missing field is a ValidationError
    naming it (it was a bare KeyError from the field rules)."""
    del record[missing]
    with pytest.raises(ValidationError) as err:
        publisher(city).prepare(name, record)
    assert err.value.field == missing and err.value.reason_code == "INVALID_FIELD"


def test_a_field_with_a_default_may_be_left_out():
    """A reply without `reason` is a valid MigrationReply (the schema's default, null): it was
    refused with KeyError('reason')."""
    record = migration_reply()
    del record["reason"]
    topic, key, value, _ = publisher("442000").prepare("MigrationReply", record, key=RESIDENT)
    assert topic == "city.442000.replies"
    assert decode(value)[1]["reason"] is None


def test_a_reply_is_keyed_by_the_subject_id_it_is_given():
    """bus.md: `city.<code>.replies` is keyed by subject_id, a field MigrationReply does not have;
    every reply failed with KeyError('subject_id'), so a city could not publish one at all."""
    topic, key, value, _ = publisher("442000").prepare("MigrationReply", migration_reply(), key=RESIDENT)
    assert (topic, key) == ("city.442000.replies", RESIDENT.encode())
    assert decode(value)[1]["command_id"] == "m-1/PENSION/PRECHECK"
    for bad in (None, "", "m-1", RESIDENT[:17] + "0"):
        with pytest.raises(ValidationError) as err:
            publisher("442000").prepare("MigrationReply", migration_reply(), key=bad)
        assert err.value.field == "key"
    with pytest.raises(ValidationError) as err:  # a record that holds its key: another key is refused
        publisher().prepare("ContributionRecorded", contribution(), key="110105194912310029")
    assert err.value.field == "key"


def test_jsonl_replies_name_their_key_by_the_topics_key_field():
    """A JSON Lines reply carries `subject_id` beside its fields (the key the table names); the
    import crashed with KeyError on the first reply line, the lines after it unread."""
    reply = {"type": "MigrationReply", "subject_id": RESIDENT, "command_id": "m-1/PENSION/PRECHECK",
             "migration_id": "m-1", "scope": "PENSION", "step": "PRECHECK", "city": "442000", "outcome": "DONE",
             "reason": None, "package": {}, "replied_at": "2025-03-01T00:00:00Z"}
    no_key = {k: v for k, v in reply.items() if k != "subject_id"}
    text = "\n".join(json.dumps(line) for line in (reply, no_key, reply))
    out = list(read_events(io.StringIO(text), publisher("442000")))
    assert [type(e).__name__ for e in out] == ["PreparedEvent", "BadLine", "PreparedEvent"]
    assert out[0][1] == RESIDENT.encode() and out[1].field == "key"



@pytest.mark.parametrize("change, field, rule", [
    ({"type": ["ContributionRecorded"]}, "type", "record type name"),       # TypeError: unhashable
    ({"type": {"name": "ContributionRecorded"}}, "type", "record type name"),
    ({"contribution_base": "1" * 29}, "contribution_base", "too large"),    # decimal.InvalidOperation
    ({"contribution_base": "1e999999999"}, "contribution_base", "too large"),
    ({"contribution_base": 10 ** 40}, "contribution_base", "too large"),
    ({"contribution_base": "NaN"}, "contribution_base", "finite"),          # was "at most 2 decimal places"
    ({"recorded_at": "9999-12-31T23:59:59-05:00"}, "recorded_at", "range"),  # OverflowError past year 9999
])
def test_jsonl_a_line_with_a_value_out_of_bounds_is_a_bad_line_not_a_crash(change, field, rule):
    """Each of these lines raised out of read_events, so `citybus publish` stopped with a traceback
    and the lines after it were never read."""
    line = {"type": "ContributionRecorded", **contribution_json(record_id="SZ-9"), **change}
    text = "\n".join(json.dumps(x) for x in (line, {"type": "ContributionRecorded", **contribution_json()}))
    out = list(read_events(io.StringIO(text), publisher()))
    assert isinstance(out[0], BadLine) and out[0].field == field and rule in out[0].rule
    assert decode(out[1][2])[1]["record_id"] == "SZ-1"


def test_jsonl_a_line_that_is_not_utf8_is_a_bad_line_and_the_next_lines_still_go():
    """`citybus publish` decoded the whole file as UTF-8 text: the first Latin-1 or GBK line raised
    UnicodeDecodeError out of the import (a traceback, every later line unread)."""
    good = json.dumps(contribution_json()).encode()
    gbk = json.dumps(contribution_json(record_id="深圳-2"), ensure_ascii=False).encode("gbk")
    later = json.dumps(contribution_json(record_id="SZ-3")).encode()
    out = list(read_events(io.BytesIO(b"\n".join((good, gbk, later))), publisher()))
    assert isinstance(out[1], BadLine) and (out[1].line, out[1].field) == (2, "line") and "UTF-8" in out[1].rule
    assert [decode(e[2])[1]["record_id"] for e in (out[0], out[2])] == ["SZ-1", "SZ-3"]
