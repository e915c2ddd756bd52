import re

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from citybus.domain.lag import LagBook, PartitionSample
from citybus.lag import make_lag_app


def build_book() -> LagBook:
    book = LagBook(window=3, service_levels={"billing": 5})
    for i in range(4):
        at = 1_700_000_000_000 + i * 5_000
        book.record(
            [
                PartitionSample("billing", "orders", 0, 100 * i, 0, 100 * i, at, True),
                PartitionSample("billing", "orders", 1, 50, 0, 100 + 100 * i, at, True),
                PartitionSample("audit", "payments", 0, None, 10, 20, at, False),
            ]
        )
    return book


class AsyncSource:
    def __init__(self, book):
        self.book = book

    async def report(self):
        return self.book.report()


@pytest.fixture(params=["sync", "async"])
async def client(request):
    book = build_book()
    source = book if request.param == "sync" else AsyncSource(book)
    async with TestClient(TestServer(make_lag_app(source))) as client:
        yield client


def families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(family, **labels):
    matches = [s.value for s in family.samples if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(matches) == 1, (family.name, labels, family.samples)
    return matches[0]


async def test_metrics_parse_with_labelled_values(client):
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    fams = families(await response.text())
    assert value(fams["citybus_lag_messages"], group="billing", topic="orders", partition="1") == 350
    assert value(fams["citybus_lag_messages"], group="billing", topic="orders", partition="0") == 0
    assert value(fams["citybus_lag_messages"], group="audit", topic="payments", partition="0") == 10
    assert value(fams["citybus_lag_seconds"], group="billing", topic="orders", partition="1") == pytest.approx(17.5)
    assert value(fams["citybus_committed_offset"], group="billing", topic="orders", partition="1") == 50
    assert not [s for s in fams["citybus_committed_offset"].samples if s.labels["group"] == "audit"]
    assert value(fams["citybus_log_end_offset"], topic="orders", partition="1") == 400
    assert value(fams["citybus_log_start_offset"], topic="orders", partition="0") == 0
    assert value(fams["citybus_log_start_offset"], topic="payments", partition="0") == 10
    assert value(fams["citybus_partition_status"], group="billing", partition="1") == 2  # STALL
    assert value(fams["citybus_partition_status"], group="audit", partition="0") == 3  # STOP
    assert value(fams["citybus_group_status"], group="billing") == 2
    assert value(fams["citybus_group_status_info"], group="billing", status="ERR") == 1
    assert value(fams["citybus_group_lag_messages"], group="billing") == 350
    assert value(fams["citybus_group_service_level_seconds"], group="billing") == 5
    assert value(fams["citybus_lag_sampled_timestamp_seconds"]) == pytest.approx(1_700_000_015)
    assert all(f.type == "gauge" for f in fams.values())


async def test_api_lag_has_every_group_partition_status_and_reason(client):
    response = await client.get("/api/lag")
    assert response.status == 200
    body = await response.json()
    assert body["at_ms"] == 1_700_000_015_000
    groups = {g["group"]: g for g in body["groups"]}
    assert set(groups) == {"audit", "billing"}
    billing = groups["billing"]
    assert billing["status"] == "ERR"
    assert billing["reason"].startswith("orders[1] STALL")
    assert billing["max_lag_seconds"] == 5
    assert billing["active"] is True
    p1 = billing["partitions"][1]
    assert p1 == {
        "topic": "orders",
        "partition": 1,
        "committed": 50,
        "log_start": 0,
        "end": 400,
        "lag_messages": 350,
        "lag_seconds": pytest.approx(17.5),
        "status": "STALL",
        "reason": p1["reason"],
        "at_ms": 1_700_000_015_000,
    }
    assert "stuck at 50" in p1["reason"]
    audit = groups["audit"]["partitions"][0]
    assert audit["committed"] is None and audit["status"] == "STOP" and audit["lag_messages"] == 10


async def test_api_history_gives_points_per_group(client):
    body = await (await client.get("/api/lag/history")).json()
    points = body["groups"]["billing"]
    assert len(points) == 4
    assert points[-1][0] == 1_700_000_015_000 and points[-1][1] == 350


async def test_page_is_self_contained_html(client):
    response = await client.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    html = await response.text()
    assert "<svg" in html and "api/lag" in html
    assert not re.search(r"""(src|href|url|action)\s*[=(]\s*["']?\s*(https?:)?//""", html, re.I)
    assert "http://" not in html and "https://" not in html
    assert "<link" not in html and "<script src" not in html


async def test_empty_source_still_serves():
    async with TestClient(TestServer(make_lag_app(LagBook()))) as client:
        assert (await client.get("/api/lag")).status == 200
        assert (await (await client.get("/api/lag")).json()) == {"at_ms": None, "groups": []}
        text = await (await client.get("/metrics")).text()
        assert "citybus_group_status" in families(text)
