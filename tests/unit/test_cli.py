"""The command line as an operator meets it: a wrong setting or no broker is one clear line and
exit code 2, never a traceback."""
from __future__ import annotations

import gc
import json
import os
import subprocess
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from citybus.cli import main
from citybus.settings import settings

from .bus.events import contribution_json


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """A scratch data dir (no local broker there), and no settings cached from another environment."""
    monkeypatch.setenv("CITYBUS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    settings.cache_clear()
    yield monkeypatch
    settings.cache_clear()


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """`citybus *args` through the installed entry point: (exit code, stderr)."""
    monkeypatch.setattr(sys, "argv", ["citybus", *args])
    with pytest.raises(SystemExit) as ended:
        main()
    return ended.value.code, capsys.readouterr().err


def nowhere() -> str:
    """A loopback address nothing listens on (a port just freed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize("command", [["topics", "apply"], ["publish", "--city", "440300", "{file}"]])
def test_a_broker_address_where_nothing_answers_is_one_clear_error(env, capsys, tmp_path, command) -> None:  # noqa: ANN001
    """KafkaConnectionError went out of main as a traceback with exit code 1."""
    address = nowhere()
    env.setenv("KAFKA_BOOTSTRAP_SERVERS", address)
    file = tmp_path / "events.jsonl"
    file.write_text(json.dumps(contribution_json()) + "\n")
    code, err = run(env, capsys, *(part.format(file=file) for part in command))
    assert code == 2
    assert f"error: cannot reach Kafka at {address}" in err and "KAFKA_BOOTSTRAP_SERVERS" in err
    assert "Traceback" not in err


def test_an_unknown_city_leaves_no_producer_open(env, capsys, caplog, tmp_path) -> None:  # noqa: ANN001
    """The producer was made before the city was checked and never closed: "Unclosed
    AIOKafkaProducer" under the error."""
    env.setenv("KAFKA_BOOTSTRAP_SERVERS", nowhere())
    file = tmp_path / "events.jsonl"
    file.write_text(json.dumps(contribution_json()) + "\n")
    code, err = run(env, capsys, "publish", "--city", "999999", str(file))
    assert code == 2 and "error: city: not a city in the participant registry" in err
    gc.collect()  # an unclosed producer says so when it is collected
    assert "Unclosed" not in caplog.text


@pytest.mark.parametrize("variable, value, said", [
    ("CITYBUS_STEP_DAYS", "PENSION.PRECHECK=20", "not valid JSON"),  # pydantic SettingsError traceback
    ("CITYBUS_MAX_ATTEMPTS", "0", "greater than or equal to 1"),      # pydantic ValidationError traceback
    ("CITYBUS_LAG_INTERVAL", "five", "valid number"),
    ("CITYBUS_LOG_LEVEL", "LOUD", "WARNING"),                          # ValueError from logging, at start
    ("CITYBUS_WORKING_DAY", "-1", "greater than 0"),                   # was taken: a 1 ms working day
    ("KAFKA_BOOTSTRAP_SERVERS", "localhost:notaport", "host:port"),  # ValueError deep in aiokafka
])
def test_a_bad_setting_is_one_error_naming_its_variable(env, capsys, variable, value, said) -> None:  # noqa: ANN001
    env.setenv(variable, value)
    code, err = run(env, capsys, "kafka", "status")
    assert code == 2
    assert err.startswith(f"error: {variable}") and said in err and "Traceback" not in err


@pytest.mark.parametrize("value", ["127.0.0.1:9092", "a.example:9092, b.example:9093", "[::1]:9092", "kafka"])
def test_a_broker_list_as_the_clients_take_it_is_accepted(env, value) -> None:  # noqa: ANN001
    env.setenv("KAFKA_BOOTSTRAP_SERVERS", value)
    assert settings().kafka_bootstrap_servers == value


def test_no_broker_is_one_line_on_stderr_of_the_real_command(tmp_path) -> None:  # noqa: ANN001
    """As a service manager or a log file gets it (stderr no terminal): rich wrapped the message
    at 80 columns into four lines, and aiokafka's own 'Unable connect' came before it."""
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": nowhere(), "CITYBUS_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "citybus", "topics", "apply"], capture_output=True, text=True,
                          env=env, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [done.stderr.strip()], done.stderr
    assert done.stderr.startswith("error: cannot reach Kafka at ") and "KAFKA_BOOTSTRAP_SERVERS" in done.stderr
