"""The machine and versions a run measured, and the results as JSON and as a table."""
from __future__ import annotations

import datetime as dt
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.table import Table

from citybus.settings import settings

__all__ = ["machine", "versions", "write_results", "render"]


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cores": psutil.cpu_count(logical=True), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "cpu": cpu, "os": platform.platform(), "load_avg_at_start": [round(x, 2) for x in psutil.getloadavg()]}


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _kafka_version() -> str:
    jars = sorted(settings().kafka_lib_dir.glob("kafka_2.13-*.jar"))
    return jars[0].name.removeprefix("kafka_2.13-").removesuffix(".jar") if jars else "unknown"


def _installed(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def versions(quix_python: Path | None) -> dict[str, str]:
    quix = "not installed"
    if quix_python is not None and quix_python.exists():
        done = subprocess.run([str(quix_python), "-c", "import importlib.metadata as m; print(m.version('quixstreams'), "
                               "m.version('confluent-kafka'))"], capture_output=True, text=True, check=False)
        quix = done.stdout.strip().replace(" ", " (confluent-kafka ") + ")" if done.returncode == 0 else quix
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False).stderr.splitlines()
    return {"python": platform.python_version(), "kafka": _kafka_version(), "java": java[0] if java else "unknown",
            "aiokafka": _installed("aiokafka"),
            "fastavro": _installed("fastavro"), "quixstreams": quix, "rocksdict": _installed("rocksdict"),
            "citybus": _installed("citybus"), "git_commit": _git_commit()}


def _git_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


def now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def write_results(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


_ROWS = (  # (section, figure, baseline, what)
    ("publish", "publish_events_per_s", "publish_baseline_events_per_s", "events/s"),
    ("aggregate", "aggregate_events_per_s", "aggregate_baseline_events_per_s", "events/s"),
    ("aggregate", "aggregate_quixstreams_events_per_s", "aggregate_baseline_events_per_s", "events/s"),
    ("aggregate", "aggregate_cpu_us_per_event", "aggregate_baseline_cpu_us_per_event", "µs CPU/event"),
    ("aggregate", "aggregate_quixstreams_cpu_us_per_event", "aggregate_baseline_cpu_us_per_event", "µs CPU/event"),
    ("aggregate", "aggregate_rss_mb_per_100k_persons", "rss_baseline_mb_at_ready", "MiB"),
    ("recovery", "recovery_local_s", "recovery_baseline_s", "s"),
    ("recovery", "recovery_changelog_s", "recovery_changelog_read_s", "s"),
    ("migration", "migration_p50_ms", "migration_baseline_p50_ms", "ms"),
    ("migration", "migration_p99_ms", "migration_baseline_p99_ms", "ms"),
    ("migration", "migration_max_rate_per_s", "migration_rate_per_s", "/s"),
    ("migration", "migration_cores_busy", "machine_cores", "cores"),
)


def render(results: dict[str, Any], console: Console) -> None:
    table = Table("figure", "value", "baseline (same run)", "ratio", "verified",
                  title=f"citybus bench {results.get('date', '')}")
    for section, figure, baseline, unit in _ROWS:
        part = results.get(section)
        if not isinstance(part, dict):
            continue
        if "skipped" in part:
            table.add_row(figure, f"[yellow]skipped[/]: {_short(part['skipped'])}", "", "", "")
            continue
        value, base = part.get(figure), part.get(baseline)
        if isinstance(value, dict):
            table.add_row(figure, f"[yellow]skipped[/]: {_short(value.get('skipped', '?'))}", str(base or ""), "", "")
            continue
        if value is None:
            continue
        ratio = f"{value / base:.2f}" if isinstance(value, (int, float)) and isinstance(base, (int, float)) and base else ""
        table.add_row(figure, f"{value:,} {unit}", f"{base:,} {unit}" if isinstance(base, (int, float)) else "",
                      ratio, "[green]yes[/]" if part.get("verified") else "[red]no[/]")
    console.print(table)


def _short(text: str) -> str:
    return text if len(text) <= 100 else text[:97] + "..."
