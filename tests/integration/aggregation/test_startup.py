"""The aggregation service started before its broker answers (a real child process; the broker is the
session's real one, reached through a TCP relay the test opens only later)."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from citybus.kafka.local import free_port

from .support import Worker


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@asynccontextmanager
async def _relay(port: int, bootstrap: str) -> AsyncIterator[None]:
    """127.0.0.1:`port` -> the broker: the bootstrap address the service was given starts answering."""
    host, target = bootstrap.split(",")[0].rsplit(":", 1)

    async def connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, int(target))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    server = await asyncio.start_server(connect, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()


async def test_a_worker_started_before_its_broker_waits_for_it_and_then_serves(bus: str, tmp_path: Path) -> None:
    port = free_port()
    worker = Worker(f"127.0.0.1:{port}", tmp_path / "early").start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while "is not reachable" not in worker.log_path.read_text():
            assert worker.proc is not None and worker.proc.poll() is None, f"worker exited:\n{worker.tail()}"
            assert loop.time() < deadline, worker.tail()
            await asyncio.sleep(0.2)
        assert "Traceback" not in worker.log_path.read_text()
        async with _relay(port, bus):  # metadata then names the broker itself: the relay only bootstraps
            await worker.wait_ready(timeout=90)
    finally:
        worker.stop()
