"""Child processes of a bench run: one place that knows them all, so every exit path stops them."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import psutil

from citybus.demo.processes import ServiceProcess

__all__ = ["Children", "PeakRss", "tree_cpu_s", "tree_rss_mb"]


class Children:
    """Every ServiceProcess the run started; `stop_all` is safe to call more than once."""

    def __init__(self) -> None:
        self._started: list[ServiceProcess] = []

    def start(self, name: str, args: list[str], env: dict[str, str], log_dir: Path, port: int | None = None,
              python: str | None = None) -> ServiceProcess:
        """`python -m citybus <args>`; with `python`, that interpreter and `args` as they are."""
        service = ServiceProcess(name, args, env, log_dir, port)
        if python is None:
            service.start()
        else:  # the quixstreams peer runs in its own virtualenv
            service.log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(service.log_path, "ab") as log:  # the child keeps its own descriptor
                service.proc = subprocess.Popen([python, *args], env=env, stdout=log,
                                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                start_new_session=True)
        self._started.append(service)
        return service

    def stop(self, service: ServiceProcess) -> None:
        service.stop()
        if service in self._started:
            self._started.remove(service)

    def stop_all(self) -> None:
        for service in reversed(self._started):
            with suppress(Exception):
                service.stop()
            if service.proc is not None and service.proc.poll() is None:  # last resort
                with suppress(ProcessLookupError):
                    os.killpg(service.proc.pid, signal.SIGKILL)
        self._started.clear()


def _tree_sum(pid: int, measure: Callable[[psutil.Process], float]) -> float:
    """`measure` summed over a process and its live descendants (0 when it is gone)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for proc in procs:
        with suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += measure(proc)
    return total


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants, in MiB."""
    return _tree_sum(pid, lambda proc: proc.memory_info().rss) / 2**20


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user and system) a process and its live descendants have used so far."""
    return _tree_sum(pid, lambda proc: sum(proc.cpu_times()[:2]))


class PeakRss:
    """Samples a process tree's RSS in the background; `.peak_mb` is the highest seen."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_mb = 0.0
        self.first_mb = 0.0
        self._task: asyncio.Task | None = None

    async def _sample(self) -> None:
        while True:
            rss = tree_rss_mb(self.pid)
            if not self.first_mb:
                self.first_mb = rss
            self.peak_mb = max(self.peak_mb, rss)
            await asyncio.sleep(self.interval)

    def __enter__(self) -> PeakRss:
        self._task = asyncio.get_running_loop().create_task(self._sample())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
        self.peak_mb = max(self.peak_mb, tree_rss_mb(self.pid))
