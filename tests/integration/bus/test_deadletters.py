"""Dead letters on the real broker: bad bytes among good ones, each rejected with its reason, none lost."""
import asyncio
import json
import os
import subprocess
import sys
import uuid

import pytest
from aiokafka import AIOKafkaConsumer

from citybus.bus import DEADLETTER_TOPIC, Intake, VALIDATORS
from citybus.bus.consumer import GuardedConsumer
from citybus.bus.publisher import city_producer
from citybus.catalog import default_catalog
from citybus.codec import decode, encode
from citybus.kafka.topics import apply_topics
from tests.unit.bus.events import contribution, contribution_json, retirement

from ..records import read_to_end

pytestmark = pytest.mark.integration
TOPIC = "city.440300.insurance.contributions"
CR = "citybus.insurance.ContributionRecorded"


async def test_bad_bytes_go_to_the_deadletter_topic_and_good_ones_are_processed(kafka_bootstrap):
    await apply_topics(kafka_bootstrap, default_catalog())
    run = uuid.uuid4().hex[:8]
    good = [encode(CR, contribution(record_id=f"{run}-{i}")) for i in range(3)]
    bad = {
        "truncated": (good[0][:30], "UNDECODABLE"),
        "wrong magic": (b"\x00\x00" + good[0][2:], "UNDECODABLE"),
        "unknown fingerprint": (good[0][:2] + b"\x01" * 8 + good[0][10:], "UNKNOWN_SCHEMA"),
        "another record type": (encode("citybus.insurance.RetirementRequested", retirement()), "WRONG_TYPE"),
        "bad check character": (encode(CR, contribution(record_id=f"{run}-x", resident_id="440301199001011230")),
                                "INVALID_FIELD"),
        "wrong city": (encode(CR, contribution(record_id=f"{run}-y", city="442000")), "WRONG_CITY"),
    }
    stream = [good[0], *[v for v, _ in bad.values()][:3], good[1], *[v for v, _ in bad.values()][3:], good[2]]
    producer = city_producer(kafka_bootstrap)  # as the cities' loop has it (takes a dead letter of any record)
    await producer.start()
    for value in stream:  # one partition, so the order is kept
        await producer.send_and_wait(TOPIC, value, key=run.encode(), partition=0,
                                     headers=[("ce_id", run.encode())])

    processed = []

    async def handle(accepted, send):
        processed.append(accepted.record["record_id"])

    group = f"test-dlq-{run}"
    consumer = GuardedConsumer(kafka_bootstrap, [TOPIC], group, Intake(default_catalog(), VALIDATORS), producer, handle,
                               service="test-intake")
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    for _ in range(200):
        await asyncio.sleep(0.1)
        if len([p for p in processed if p.startswith(run)]) == 3 and consumer.rejected >= len(bad):
            break
    stop.set()
    await task
    await producer.flush()
    await producer.stop()

    assert [p for p in processed if p.startswith(run)] == [f"{run}-{i}" for i in range(3)]
    letters = [m for m in await read_to_end(kafka_bootstrap, [DEADLETTER_TOPIC]) if m.key == run.encode()]
    records = [decode(m.value, "citybus.bus.RejectedEvent")[1] for m in letters]
    assert len(records) == len(bad)
    by_value = {r["value"]: r for r in records}
    for name, (value, code) in bad.items():
        letter = by_value[value]  # the original bytes, untouched
        assert letter["reason_code"] == code, name
        assert letter["source_topic"] == TOPIC and letter["service"] == "test-intake"
        assert letter["headers"]["ce_id"] == run
        assert letter["reason"]
    assert by_value[bad["bad check character"][0]]["reason"].startswith("resident_id")
    # and the consumer committed past every one of them
    resumed = AIOKafkaConsumer(TOPIC, bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False)
    await resumed.start()
    from aiokafka import TopicPartition
    committed = await resumed.committed(TopicPartition(TOPIC, 0))
    end = (await resumed.end_offsets([TopicPartition(TOPIC, 0)]))[TopicPartition(TOPIC, 0)]
    await resumed.stop()
    assert committed == end


def test_publish_command_sends_good_lines_reports_bad_ones_and_fails(kafka_bootstrap, tmp_path):
    asyncio.run(apply_topics(kafka_bootstrap, default_catalog()))  # alone too (a traceback also exits 1)
    run = uuid.uuid4().hex[:8]
    lines = [contribution_json(record_id=f"{run}-a"), contribution_json(record_id=f"{run}-b", month="2020-13"),
             contribution_json(record_id=f"{run}-c"), contribution_json(record_id="R" * 100)]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n{broken\n", encoding="utf-8")
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    done = subprocess.run([sys.executable, "-m", "citybus", "publish", "--city", "440300", str(path)],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    # results on stdout, diagnostics on stderr; a pipe gets each whole (rich wrapped at 80 columns)
    assert done.stdout.splitlines() == [f"published 2 events from {path.name} to the bus as city 440300; "
                                        "3 bad lines"], (done.stdout, done.stderr)
    reports = done.stderr.splitlines()
    assert len(reports) == 3, done.stderr
    assert "line 2: month" in reports[0] and "line 5: line: not JSON" in reports[2]
    assert "line 4: record_id" in reports[1] and "R" * 100 in reports[1], reports[1]
    sent = [decode(m.value)[1]["record_id"] for m in asyncio.run(read_to_end(kafka_bootstrap, [TOPIC]))
            if m.key == b"440301199001011234" and m.value.startswith(b"\xc3\x01")]
    assert {f"{run}-a", f"{run}-c"} <= set(sent) and f"{run}-b" not in sent
