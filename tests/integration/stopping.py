"""A service SIGTERMed as a service manager does it, and what a clean stop leaves behind."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from citybus.streams.store import Stores

# only a bound for the test to end: a service that has not exited by then is hung
HUNG_AFTER_S = 60.0


def terminate(proc: subprocess.Popen, log: Path) -> int:
    """SIGTERM to the process (its session when it leads one), then its exit code; a process
    still running after HUNG_AFTER_S is killed and the test fails with its log's tail."""
    os.kill(proc.pid, signal.SIGTERM)
    try:
        return proc.wait(HUNG_AFTER_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        raise AssertionError(f"still running {HUNG_AFTER_S:.0f}s after SIGTERM:\n{tail(log)}") from None


def assert_clean(code: int, log: Path) -> None:
    """Exit code 0, no traceback, no client left unclosed."""
    text = log.read_text(errors="replace")
    assert code == 0, f"exit code {code}:\n{tail(log)}"
    assert "Traceback" not in text, tail(log, 60)
    assert "Unclosed" not in text, tail(log, 60)


def assert_unlocked(state_dir: Path) -> None:
    """Another worker can take the state directory."""
    stores = Stores(state_dir)
    stores.lock()
    stores.unlock()


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
