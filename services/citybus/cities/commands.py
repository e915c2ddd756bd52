"""`citybus serve city`: simulated cities on the adapter kit, one or all of the participants."""
from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import typer

from citybus.console import make_console
from citybus.service_logging import configure_service_logging
from citybus.settings import settings

__all__ = ["serve_city"]

console = make_console()


def _rate(name: str, help_text: str) -> float:
    return typer.Option(0.0, f"--{name}", min=0.0, max=1.0, envvar=f"CITYBUS_CITY_{name.upper().replace('-', '_')}",
                        help=help_text)


def serve_city(
    city: list[str] = typer.Option([], "--city", help="city code to simulate (repeatable)"),
    all_cities: bool = typer.Option(False, "--all", help="simulate every participant in this one process"),
    latency: float = typer.Option(0.0, "--latency", min=0.0, envvar="CITYBUS_CITY_LATENCY",
                                  help="each reply waits up to this many seconds (uniform)"),
    refuse_rate: float = _rate("refuse-rate", "share of PRECHECK/TRANSFER commands refused"),
    fail_rate: float = _rate("fail-rate", "share of PRECHECK/TRANSFER commands failed"),
    lose_rate: float = _rate("lose-rate", "share of replies never sent"),
    duplicate_rate: float = _rate("duplicate-rate", "share of replies sent twice"),
    late_rate: float = _rate("late-rate", "share of replies sent after the command's deadline"),
    seed: int = typer.Option(None, "--seed", envvar="CITYBUS_CITY_SEED", help="random seed (reproducible draws)"),
    refuse: list[str] = typer.Option([], "--refuse", help="CITY:STEP:SCOPE[:SUBJECT] that city refuses (repeatable; * = any)"),
    refuse_clearance: list[str] = typer.Option([], "--refuse-clearance",
                                               help="enterprise id refused at tax clearance (repeatable)"),
    data_dir: Path = typer.Option(None, "--data-dir", help="ledger and reply files (default: CITYBUS_DATA_DIR/cities)"),
) -> None:
    """Run simulated cities: answer migration commands, keep a ledger of the relations each holds."""
    from citybus.catalog import default_catalog
    from citybus.cities.ledger_file import LedgerJournal
    from citybus.cities.runner import AdapterRunner
    from citybus.cities.simulated import Chaos, RefusalRule, SimulatedCities
    from citybus.domain.ids import validate_city_code
    from citybus.kafka.bootstrap import resolve_bootstrap

    conf = settings()
    configure_service_logging(conf.log_level)
    known = default_catalog().city_codes
    if all_cities == bool(city):
        raise typer.BadParameter("give --all or at least one --city")
    codes = sorted(known) if all_cities else [validate_city_code(c, known, field="--city") for c in city]
    directory = (data_dir or conf.data_dir) / "cities"
    simulation = SimulatedCities(
        codes, LedgerJournal(directory),
        Chaos(latency, refuse_rate, fail_rate, lose_rate, duplicate_rate, late_rate, seed),
        [RefusalRule.parse(rule) for rule in refuse], frozenset(refuse_clearance))
    group = "citybus-cities" if all_cities else f"citybus-city-{'-'.join(codes)}"
    runner = AdapterRunner(simulation.adapters(), resolve_bootstrap(), group, simulation.delivery)
    console.print(f"simulated cities {', '.join(codes)} (group {group}, ledger {directory})", highlight=False)
    from citybus.streams.runtime import tune_gc_for_latency

    tune_gc_for_latency()  # on every migration's path: short collector pauses (see citybus.streams.runtime)
    asyncio.run(_run(runner, simulation))


async def _run(runner, simulation) -> None:  # noqa: ANN001
    from citybus.cities.ledger_file import QuietSnapshots

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    async def snapshots() -> None:
        quiet = QuietSnapshots(simulation.journal)  # never under load: see QuietSnapshots
        while not stop.is_set():
            await asyncio.sleep(1.0)
            quiet.look(runner.handled)

    task = asyncio.create_task(snapshots())
    try:
        await runner.run(stop)
    finally:
        task.cancel()
        simulation.journal.write_snapshot()
        simulation.journal.close()
        console.print(f"simulated cities stopping: {runner.handled} commands, {runner.sent} replies sent, "
                      f"{simulation.stats()}", highlight=False)
