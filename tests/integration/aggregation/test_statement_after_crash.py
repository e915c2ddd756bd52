"""A worker that dies after a statement is on the broker and before its book reaches the changelog
replays the request; a record that arrived in between must not change the figures of the revision
already sent (found by the chaos audit: revision 1 went out twice, with 24 and with 25 months).

The worker runs in this process on the real broker, with the service's own configuration; the
death is its changelog write failing once the statement's batch has sent everything (what a
SIGKILL at that moment leaves: the outputs on the broker, no state, no commit)."""
from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from citybus.aggregation.process import BOOK, Aggregator
from citybus.aggregation.service import SERVICE, aggregation_intake, internal_topics, medical_policies, worker_config
from citybus.catalog import default_catalog
from citybus.codec import decode
from citybus.kafka.topics import ensure_topics
from citybus.simulate.contributions import CONTRIBUTION, RETIREMENT, SimulatedEvent, publish_history, resident_id
from citybus.streams.batch import Batch
from citybus.streams.worker import StateWorker

from tests.unit.domain.contributions.reference import reference_figures

from .support import policies, read_topic, topic_ends

pytestmark = pytest.mark.integration

STATEMENTS = "bus.insurance.retirement-statements"


class Killed(Exception):
    pass


class DiesBeforeChangelog(StateWorker):
    """Dies at the changelog write of the batch that changes `book_key` (its outputs are sent)."""

    book_key = b""

    async def _changelog(self, batch: Batch) -> dict[int, dict[str, int]]:
        if any(self.book_key in values for values in batch.state.values()):
            raise Killed("after the outputs, before the changelog")
        return await super()._changelog(batch)


def _worker(bus: str, data_dir: Path, kind: type[StateWorker] = StateWorker) -> StateWorker:
    catalog = default_catalog()
    aggregator = Aggregator(intake=aggregation_intake(), service=SERVICE, policies=medical_policies(catalog),
                            partitions=catalog.topic(STATEMENTS).partitions)
    return kind(bus, worker_config(catalog, data_dir, "http://127.0.0.1:1"), aggregator)


def _contribution(rid: str, city: str, record_id: str, month: str, base: str) -> dict[str, Any]:
    recorded = int(dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc).timestamp() * 1000)
    return {"record_id": record_id, "revision": 1, "status": "ACTIVE", "resident_id": rid, "city": city,
            "scheme": "PENSION", "insured_kind": "EMPLOYEE", "month": month, "contribution_base": Decimal(base),
            "employer_amount": (Decimal(base) * Decimal("0.16")).quantize(Decimal("0.01")),
            "employee_amount": (Decimal(base) * Decimal("0.08")).quantize(Decimal("0.01")),
            "recorded_at": recorded}


async def _statements(bus: str, after: Any, request_id: str, want_months: int, timeout: float = 90) -> list[dict]:
    """The request's statements written since `after`, once one shows `want_months`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = [decode(m.value, "citybus.insurance.RetirementStatement")[1]
                 for m in await read_topic(bus, STATEMENTS, after)]
        mine = [s for s in found if s["request_id"] == request_id]
        if any(s["pension"]["total_months"] == want_months for s in mine):
            return mine
        assert loop.time() < deadline, f"no statement with {want_months} months: {mine}"
        await asyncio.sleep(0.5)


async def test_a_replayed_request_never_changes_a_revision_already_sent(bus, tmp_path):
    rid = resident_id(700_000 + random.randrange(100_000), "440300")
    request_id = f"R-CRASH-{uuid.uuid4().hex[:8]}"
    early = [SimulatedEvent("440300", CONTRIBUTION, rid, _contribution(rid, "440300", f"{request_id}-{m:02d}",
                                                                         f"2010-{m:02d}", "9000.00"))
             for m in range(1, 13)]
    request = {"request_id": request_id, "resident_id": rid, "city": "440300", "hukou_city": "440300",
               "retirement_date": dt.date(2025, 7, 1), "requested_at": 1_750_000_000_000}
    late = SimulatedEvent("442000", CONTRIBUTION, rid, _contribution(rid, "442000", f"{request_id}-L", "2015-01",
                                                                     "5000.00"))
    await ensure_topics(bus, internal_topics(default_catalog()))  # what `serve` creates
    after = await topic_ends(bus, STATEMENTS)
    await publish_history(bus, early)

    first = _worker(bus, tmp_path / "w", DiesBeforeChangelog)
    first.book_key = BOOK + rid.encode()
    await first.start()
    life = asyncio.create_task(first.run())
    await first.wait_assigned(90)
    await publish_history(bus, [SimulatedEvent("440300", RETIREMENT, rid, request)])
    with pytest.raises(Killed):
        await asyncio.wait_for(life, 120)
    sent = await _statements(bus, after, request_id, 12)  # its statement is out, its book is not stored

    await publish_history(bus, [late])  # arrives before the restart replays the request
    again = _worker(bus, tmp_path / "w")
    await again.start()
    life = asyncio.create_task(again.run())
    try:
        statements = await _statements(bus, after, request_id, 13)
    finally:
        again.stop_soon()
        await asyncio.wait_for(life, 30)

    assert sent and all(s["revision"] == 1 for s in sent)
    by_revision: dict[int, list[dict]] = {}
    for statement in statements:
        statement.pop("issued_at")
        by_revision.setdefault(statement["revision"], []).append(statement)
    for revision, copies in by_revision.items():  # a copy of a revision is the same statement
        assert all(copy == copies[0] for copy in copies), (revision, copies)
    assert sorted(by_revision) == list(range(1, max(by_revision) + 1))  # re-issued one by one
    last = by_revision[max(by_revision)][0]
    want = reference_figures([e.record for e in [*early, late]], request, policies())
    pension = {**last["pension"], "transfers": [{k: str(v) if isinstance(v, Decimal) else v for k, v in t.items()}
                                                for t in last["pension"]["transfers"]]}
    assert (pension, last["medical"]) == (want["pension"], want["medical"])
