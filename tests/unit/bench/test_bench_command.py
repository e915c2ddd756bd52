"""`citybus bench` options as the run receives them: where the migration search starts and how
many rates it holds (a steady rate measured right after one warm step, as in bench/README.md)."""
from __future__ import annotations

import sys

import pytest

import citybus.bench.run as bench_run
from citybus.cli import main


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list:
    """The BenchConfig each `citybus bench` hands to the run (which is not started)."""
    configs: list = []

    async def run_bench(config, out, command):  # noqa: ANN001, ANN202
        configs.append(config)
        return {"verified": True}

    monkeypatch.setattr(bench_run, "run_bench", run_bench)
    return configs


def _bench(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["citybus", "bench", *args])
    with pytest.raises(SystemExit) as ended:
        main()
    return ended.value.code


def test_the_migration_search_starts_where_it_is_told_and_holds_at_most_so_many_rates(taken, monkeypatch) -> None:  # noqa: ANN001
    assert _bench(monkeypatch, "--only", "migration", "--migration-from", "100", "--migration-steps", "1",
                  "--migration-hold", "30") == 0
    (config,) = taken
    assert (config.only, config.migration_search_from, config.migration_max_steps, config.migration_hold_s) \
        == (("migration",), 100.0, 1, 30.0)


def test_by_default_the_search_starts_at_5_per_second_with_6_steps_or_5_quick(taken, monkeypatch) -> None:  # noqa: ANN001
    assert _bench(monkeypatch, "--only", "migration") == 0
    assert _bench(monkeypatch, "--only", "migration", "--quick") == 0
    assert [(c.migration_search_from, c.migration_max_steps) for c in taken] == [(5.0, 6), (5.0, 5)]


@pytest.mark.parametrize("args", [("--migration-from", "0"), ("--migration-from", "-5"), ("--migration-steps", "-1")])
def test_a_search_that_cannot_run_is_one_error(taken, monkeypatch, capsys, args) -> None:  # noqa: ANN001
    assert _bench(monkeypatch, "--only", "migration", *args) == 2
    assert "--migration-from must be above 0" in capsys.readouterr().err
    assert not taken
