"""The simulated cities' consume loop (`AdapterRunner`) on the real broker, fed real bad bytes on
`city.<code>.commands`: each is dead-lettered with its reason and the next good command is still
answered on `city.<code>.replies`."""
from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from citybus.catalog import default_catalog
from citybus.cities.kit import CityAdapter, Verdict
from citybus.cities.runner import AdapterRunner
from citybus.codec import decode, encode
from citybus.domain.ids import resident_id_check_char
from citybus.domain.migration import SendCommand, command_id_for
from citybus.kafka.topics import apply_topics
from citybus.migration.wire import outbound

from ..records import read_to_end

CITY = "442000"
COMMANDS, REPLIES = f"city.{CITY}.commands", f"city.{CITY}.replies"


async def _start_group_at_the_end(bootstrap: str, group: str) -> None:
    """The group's offsets at the log end: the topic holds other tests' commands, which this
    runner must not answer."""
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await probe.start()
    try:
        partitions = [TopicPartition(COMMANDS, p) for p in range(default_catalog().topic(COMMANDS).partitions)]
        probe.assign(partitions)
        await probe.commit(await probe.end_offsets(partitions))
    finally:
        await probe.stop()


def test_bad_bytes_on_the_commands_topic_are_dead_lettered_and_the_next_command_is_answered(
        kafka_bootstrap: str) -> None:
    run = uuid.uuid4().hex[:8]
    digits17 = f"4403011990{int(run, 16) % 10**7:07d}"
    subject = digits17 + resident_id_check_char(digits17)
    migration_id = f"runner-{run}"
    command = SendCommand(command_id_for(migration_id, "PENSION", "PRECHECK"), migration_id, "PENSION", "PRECHECK",
                          "PERSON", subject, "440300", CITY, 1, int(time.time() * 1000) + 60_000, {}, CITY)
    topic, key, good, headers = outbound(command)
    assert (topic, key) == (COMMANDS, subject.encode())
    bad = {
        b"\x00not avro at all": "UNDECODABLE",
        good[:20]: "UNDECODABLE",
        good[:2] + b"\xde\xad\xbe\xef\x00\x00\x00\x00" + good[10:]: "UNKNOWN_SCHEMA",
        encode("citybus.migration.MigrationReply", {
            "command_id": command.command_id, "migration_id": migration_id, "scope": "PENSION", "step": "PRECHECK",
            "city": CITY, "outcome": "DONE", "reason": None, "package": {}, "replied_at": 0}): "WRONG_TYPE",
    }

    async def scenario() -> tuple[list[dict], list[dict]]:
        await apply_topics(kafka_bootstrap, default_catalog())
        group = f"test-runner-{run}"
        await _start_group_at_the_end(kafka_bootstrap, group)
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:  # one key, so one partition: the bad records come before the good command
            for value in bad:
                await producer.send_and_wait(COMMANDS, value, key=key)
            await producer.send_and_wait(COMMANDS, good, key=key, headers=list(headers))
        finally:
            await producer.stop()
        adapter = CityAdapter(CITY).register({("PENSION", "PRECHECK"): lambda cmd: Verdict.done()})
        runner = AdapterRunner({CITY: adapter}, kafka_bootstrap, group)
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        try:
            for _ in range(120):
                replies = [decode(r.value)[1] for r in await read_to_end(kafka_bootstrap, [REPLIES]) if r.key == key]
                dead = [decode(r.value)[1] for r in await read_to_end(kafka_bootstrap, ["bus.deadletter"])
                        if r.key == key]
                if replies and len(dead) >= len(bad):
                    return replies, dead
                assert not task.done(), task  # the runner must not stop on bad bytes
                await asyncio.sleep(0.5)
            return replies, dead
        finally:
            stop.set()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(task, 30)

    replies, dead = asyncio.run(scenario())
    assert sorted((d["value"], d["reason_code"]) for d in dead) == sorted(bad.items())
    assert {(d["source_topic"], d["service"]) for d in dead} == {(COMMANDS, "cities")}
    assert [(r["command_id"], r["outcome"], r["city"]) for r in replies] == [(command.command_id, "DONE", CITY)]
