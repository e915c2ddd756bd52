"""How the services log: aiokafka capped at WARNING in every service (the simulated cities logged
its INFO), and its repeated errors summarised (about 30 ERROR lines a second with the broker down)."""
from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citybus.cli import app
from citybus.service_logging import RepeatedErrors
from citybus.settings import settings


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Kept(logging.Handler):
    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.addFilter(RepeatedErrors(interval_s=30.0, clock=clock))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")


def record(name: str, level: int, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


UNABLE = "Unable connect to node with id %s: %s"


def test_the_first_error_passes_and_the_repeats_come_back_as_one_count_per_interval() -> None:
    clock = FakeClock()
    kept = Kept(clock)
    for i in range(30):  # one second of a broker that is down
        clock.now += 1 / 30
        kept.handle(record("aiokafka.conn", logging.ERROR, UNABLE, 1, f"refused {i}"))
    assert kept.lines == ["ERROR aiokafka.conn: Unable connect to node with id 1: refused 0"]
    clock.now += 28.5
    kept.handle(record("aiokafka.conn", logging.ERROR, UNABLE, 2, "refused again"))
    assert len(kept.lines) == 1  # still within 30 s of the first
    clock.now += 2
    kept.handle(record("aiokafka.conn", logging.ERROR, UNABLE, 1, "refused late"))
    assert kept.lines[1:] == ["ERROR aiokafka.conn: Unable connect to node with id 1: refused late "
                              "(30 more like this in the last 31 s)"]
    clock.now += 1
    kept.handle(record("aiokafka.conn", logging.ERROR, UNABLE, 1, "held again"))
    assert len(kept.lines) == 2  # the count opened the next interval


def test_other_kinds_loggers_and_levels_pass_on_their_own() -> None:
    clock = FakeClock()
    kept = Kept(clock)
    for _ in range(3):
        kept.handle(record("aiokafka.conn", logging.ERROR, UNABLE, 1, "refused"))
        kept.handle(record("aiokafka.cluster", logging.ERROR, UNABLE, 1, "refused"))  # another logger
        kept.handle(record("aiokafka.conn", logging.WARNING, UNABLE, 1, "refused"))  # another level
        kept.handle(record("aiokafka.conn", logging.ERROR, "Unable to update metadata from %r", 1))
        kept.handle(record("citybus.streams.worker", logging.ERROR, "restoring failed"))  # ours: never held back
        kept.handle(record("aiokafkaish", logging.ERROR, "not the client"))
        kept.handle(record("aiokafka.conn", logging.INFO, "connected"))  # below WARNING: not its business
    assert len(kept.lines) == 4 + 3 * 3


def test_a_kind_quiet_for_an_interval_passes_again_without_a_count() -> None:
    clock = FakeClock()
    kept = Kept(clock)
    kept.handle(record("aiokafka.conn", logging.ERROR, UNABLE, 1, "refused"))
    clock.now += 60
    kept.handle(record("aiokafka.conn", logging.ERROR, UNABLE, 1, "refused"))
    assert kept.lines == ["ERROR aiokafka.conn: Unable connect to node with id 1: refused"] * 2


def test_a_service_logs_each_kind_of_client_error_once_and_its_own_info() -> None:
    """In a fresh interpreter, as `citybus serve ...` configures it at CITYBUS_LOG_LEVEL=INFO."""
    script = ("import logging\n"
              "from citybus.service_logging import configure_service_logging\n"
              "configure_service_logging('info')\n"
              "logging.getLogger('aiokafka.conn').info('connected to node 1')\n"
              "for i in range(100):\n"
              "    logging.getLogger('aiokafka.conn').error('Unable connect to node with id %s: %s', 1, i)\n"
              "logging.getLogger('citybus.aggregation').info('partitions assigned')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    lines = done.stderr.splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "ERROR aiokafka.conn: Unable connect to node with id 1: 0",
        "INFO citybus.aggregation: partitions assigned"], done.stderr


@pytest.mark.parametrize("command", [
    ["serve", "city", "--city", "440300"],
    ["serve", "lag"],
    ["serve", "aggregation"],
    ["serve", "migration"],
])
def test_every_service_caps_aiokafka_at_warning_and_summarises_its_repeats(
        command: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CITYBUS_LOG_LEVEL", "INFO")
    monkeypatch.setenv("CITYBUS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    settings.cache_clear()
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # the service's own, not pytest's
    monkeypatch.setattr(logging.getLogger(), "level", logging.WARNING)
    monkeypatch.setattr(logging.getLogger("aiokafka"), "level", logging.NOTSET)
    monkeypatch.setattr(asyncio, "run", lambda coroutine: coroutine.close())  # configured, not run
    try:
        result = CliRunner().invoke(app, command)
    finally:
        settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert logging.getLogger().level == logging.INFO
    assert logging.getLogger("aiokafka").getEffectiveLevel() == logging.WARNING
    [handler] = logging.getLogger().handlers
    assert any(isinstance(f, RepeatedErrors) for f in handler.filters)
