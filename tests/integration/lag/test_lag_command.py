"""`citybus lag` (lag.md: the terminal command that prints the table once) against the real
broker, for a group that committed 10 of 40 messages and went away while the log keeps growing."""
import asyncio
import contextlib
import os
import re
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from lag_support import commit_offset, create_topic, produce, unique

pytestmark = pytest.mark.integration

CITYBUS = str(Path(sys.executable).with_name("citybus"))
_NO_COLUMNS = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TTY_COMPATIBLE", "FORCE_COLOR")}


@pytest.mark.timeout(120)
async def test_lag_prints_the_lagging_group_with_its_lag_in_messages_and_time(kafka_bootstrap):
    topic, group = unique("command"), unique("command-group")
    await create_topic(kafka_bootstrap, topic)
    await produce(kafka_bootstrap, topic, 40)
    await commit_offset(kafka_bootstrap, group, topic, 10)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()

    produced = [40]

    async def keep_producing() -> None:  # the log end moves between the command's two samples
        while True:
            await producer.send_and_wait(topic, b"more", partition=0)
            produced[0] += 1
            await asyncio.sleep(0.1)

    writing = asyncio.create_task(keep_producing())
    try:
        command = await asyncio.create_subprocess_exec(
            CITYBUS, "lag", "--group", group, "--interval", "1",
            env={**_NO_COLUMNS, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap},  # a pipe: rows whole all the same
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(command.communicate(), 90)
    finally:
        writing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writing
        await producer.stop()
    output = out.decode()
    assert command.returncode == 0, err.decode() + output
    assert "citybus consumer lag" in output
    rows = {cells[0]: cells[1:] for cells in (
        [c.strip() for c in line.strip("│ ").split("│")] for line in output.splitlines() if "│" in line)}
    status, messages, seconds = rows[group][:3]
    assert status == "OK", rows[group]  # behind, but two samples are no full window to judge
    assert 30 <= int(messages.replace(",", "")) <= produced[0] - 10, (rows[group], produced)
    assert re.fullmatch(r"\d+\.\d s|\d+ m \d\d s", seconds), rows[group]  # known: the log end moved
    partition = rows[f"{topic}[0]"]
    assert partition[:3] == ["OK", messages, seconds], (partition, rows[group])
    assert "window filling (2/10)" in partition[-1], partition  # lag.md's default window of 10 samples


@pytest.mark.timeout(120)
async def test_lag_for_a_group_that_does_not_exist_is_one_error_naming_it(kafka_bootstrap):
    """It printed an empty table captioned "sampled no samples yet" and exited 0."""
    topic, group = unique("command"), unique("command-group")
    await create_topic(kafka_bootstrap, topic)
    await produce(kafka_bootstrap, topic, 1)
    await commit_offset(kafka_bootstrap, group, topic, 1)
    typo = group + "-typo"
    command = await asyncio.create_subprocess_exec(
        CITYBUS, "lag", "--group", typo, "--group", group, "--interval", "0.1",
        env={**_NO_COLUMNS, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL)
    out, err = await asyncio.wait_for(command.communicate(), 90)
    assert command.returncode == 2, (out.decode(), err.decode())
    assert out == b""
    [line] = err.decode().splitlines()
    assert line.startswith(f"error: no consumer group '{typo}' on {kafka_bootstrap} (groups there: "), line
