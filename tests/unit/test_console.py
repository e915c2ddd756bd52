"""What the commands print where their output is no terminal (a pipe, a log file, a service
manager): rich wrapped it at 80 columns, a service's start line came in two pieces and the lag
table showed a lag of 30,000,000 messages as `30,…`. In a terminal the look is rich's own."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

from citybus.codec.compatibility import check_schemas

# every command module's console, as its command prints through it
_PRINT_THROUGH_EACH = textwrap.dedent("""
    import importlib
    from citybus.domain.lag import LagBook, PartitionSample
    from citybus.lag.table import render_table

    line = "lag monitor on http://127.0.0.1:8087/ sampling kafka-1.example:9092 every 5 s (window 10)" * 3
    for name in ("citybus.lag.commands", "citybus.cities.commands", "citybus.migration.commands",
                 "citybus.kafka.commands"):
        importlib.import_module(name).console.print(name + ": " + line, highlight=False)
    book = LagBook(window=3)
    book.record([PartitionSample("citybus-aggregation-of-a-long-group-name", "city.440300.insurance.contributions",
                                 11, 1_000, 0, 30_001_000, 5_000, True)])
    importlib.import_module("citybus.lag.commands").console.print(render_table(book.report()))
""")


def _run(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter with stdout and stderr pipes and no COLUMNS (as a service manager starts it)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE")}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          env={**env, **extra_env}, timeout=60, check=True)


def test_a_long_line_and_a_big_lag_arrive_whole_through_a_pipe() -> None:
    out = _run("-c", _PRINT_THROUGH_EACH).stdout
    lines = out.splitlines()
    for name in ("lag", "cities", "migration", "kafka"):
        [line] = [x for x in lines if x.startswith(f"citybus.{name}.commands: ")]
        assert line.endswith("(window 10)"), line
    [row] = [x for x in lines if "city.440300.insurance.contributions[11]" in x]
    assert "30,000,000" in row, out
    [group] = [x for x in lines if "citybus-aggregation-of-a-long-group-name" in x]
    assert "30,000,000" in group, out


def test_a_table_command_through_a_pipe_keeps_each_row_on_one_line() -> None:
    out = _run("-m", "citybus", "schemas", "check").stdout
    report = check_schemas()
    assert report.schemas
    for schema in report.schemas:
        assert any(schema.full_name in x and schema.fingerprint in x for x in out.splitlines()), (schema, out)


def test_in_a_terminal_rich_wraps_as_before() -> None:
    """TTY_COMPATIBLE=1: rich's own "this is a terminal"; 80 columns wrap the long line there."""
    out = _run("-c", _PRINT_THROUGH_EACH, TTY_COMPATIBLE="1", COLUMNS="80").stdout
    lines = re.sub(r"\x1b\[[0-9;]*m", "", out).splitlines()
    assert "citybus.lag.commands: lag monitor" in out and max(len(x) for x in lines) <= 80
