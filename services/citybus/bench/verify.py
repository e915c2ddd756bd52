"""The figures a person must show, computed independently of the services that are timed.

The independent computation is the plain reference of the unit tests
(`tests/unit/domain/contributions/reference.py`: dicts, sorting, Decimal, no citybus import),
run directly over the regenerated events of a sample of persons. Where the tests are not
shipped, the pure domain (`PersonLedger`) stands in, and the result says which one it was.
"""
from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

from citybus.bench.history import events_per_person, person_events, resident_of
from citybus.settings import REPO_ROOT

__all__ = ["expected_schemes", "sample_indexes", "domain_schemes", "VERIFIER"]

_REFERENCE = REPO_ROOT / "tests" / "unit" / "domain" / "contributions" / "reference.py"


def _load_reference() -> tuple[str, Callable[[list[dict]], dict[str, Any]]]:
    if _REFERENCE.exists():
        spec = importlib.util.spec_from_file_location("citybus_bench_reference", _REFERENCE)
        assert spec is not None and spec.loader is not None  # a .py file that exists
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return "tests/unit/domain/contributions/reference.py", lambda events: module.reference_figures(events)["schemes"]
    return "citybus.domain.contributions.PersonLedger", domain_schemes


def domain_schemes(events: list[dict]) -> dict[str, Any]:
    """{scheme: summary JSON} of one person's events through the domain's own ledger."""
    from citybus.codec.mapping import contribution_from_avro
    from citybus.domain.contributions import PersonLedger, summary_json

    ledger = PersonLedger(events[0]["resident_id"])
    for event in events:
        ledger.apply(contribution_from_avro(event))
    return {s.scheme: {k: v for k, v in summary_json(s).items() if k not in ("resident_id", "scheme")}
            for s in ledger.summaries()}


VERIFIER, _compute = _load_reference()


def sample_indexes(persons: int, size: int) -> list[int]:
    """Evenly spread over the person indexes, first and last included."""
    size = max(1, min(size, persons))
    step = max(1, persons // size)
    picked = list(range(0, persons, step))[:size]
    if persons - 1 not in picked:
        picked[-1] = persons - 1
    return picked


def expected_schemes(seed: int, persons: int, events: int, index: int) -> tuple[str, dict[str, Any]]:
    """(resident_id, {scheme: summary JSON}) as GET /contributions/{id} must show it."""
    records = person_events(seed, index, events_per_person(persons, events, index))
    return resident_of(index), _compute(records)
