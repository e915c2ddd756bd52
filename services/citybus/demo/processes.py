"""Bus services as child processes: started with their environment, logs to files, stopped cleanly."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

__all__ = ["ServiceProcess"]


class ServiceProcess:
    """`python -m citybus <args>` in its own session, so a stop reaches all it started."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path, port: int | None = None):
        self.name = name
        self.args = args
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.port = port
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen([sys.executable, "-m", "citybus", *self.args], env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    async def wait_ready(self, path: str = "/", timeout: float = 120.0) -> None:
        """Until its web port answers (any HTTP status), or raise with the log's tail."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with aiohttp.ClientSession() as session:
            while loop.time() < deadline:
                if self.proc is None or self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited early:\n{self.tail()}")
                if self.port is None:
                    return
                try:
                    async with session.get(self.url + path, timeout=aiohttp.ClientTimeout(total=2)):
                        return
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    await asyncio.sleep(0.5)
        raise RuntimeError(f"{self.name} did not answer on {self.url} within {timeout:.0f}s:\n{self.tail()}")

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        except ProcessLookupError:
            pass

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
