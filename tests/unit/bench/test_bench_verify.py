"""The bench's verification: a sample spread over every person, figures from the plain reference,
and a service answer that differs for one person is named."""
from types import SimpleNamespace

from aiohttp import web
from aiohttp.test_utils import TestServer

from citybus.bench.aggregate import check_service
from citybus.bench.context import BenchConfig
from citybus.bench.history import events_per_person, person_events, resident_of
from citybus.bench.run import unverified
from citybus.bench.verify import VERIFIER, domain_schemes, expected_schemes, sample_indexes


def test_the_sample_is_spread_with_the_first_and_last_person():
    assert sample_indexes(1000, 4) == [0, 250, 500, 999]
    assert sample_indexes(10, 300) == list(range(10))  # never more than there are
    assert sample_indexes(7, 1) == [6]
    picked = sample_indexes(100_000, 300)
    assert len(picked) == 300 == len(set(picked)) and picked[0] == 0 and picked[-1] == 99_999


def test_the_expected_figures_come_from_the_plain_reference_and_agree_with_the_domain():
    assert VERIFIER == "tests/unit/domain/contributions/reference.py"  # shipped here: the independent one
    persons, events = 50, 600
    for index in (0, 17, 49):
        resident, expected = expected_schemes(7, persons, events, index)
        records = person_events(7, index, events_per_person(persons, events, index))
        assert resident == resident_of(index) == records[0]["resident_id"]
        assert expected == domain_schemes(records) and expected  # every person of this history has figures


async def test_a_service_showing_other_figures_for_one_person_is_named():
    config = BenchConfig(persons=20, events=200)
    indexes = sample_indexes(config.persons, 5)
    right = {resident: schemes for resident, schemes in
             (expected_schemes(config.seed, config.persons, config.events, i) for i in indexes)}
    wrong_person, missing_person = resident_of(indexes[1]), resident_of(indexes[3])
    shown = dict(right)
    scheme = next(iter(shown[wrong_person]))
    shown[wrong_person] = {**shown[wrong_person], scheme: {**shown[wrong_person][scheme], "total_months": -1}}
    del shown[missing_person]

    async def person(request: web.Request) -> web.Response:
        resident = request.match_info["resident"]
        if resident not in shown:
            return web.json_response({"error": "unknown"}, status=404)
        return web.json_response({"resident_id": resident, "schemes": shown[resident]})

    app = web.Application()
    app.router.add_get("/contributions/{resident}", person)
    ctx = SimpleNamespace(config=config)
    async with TestServer(app) as server:
        url = str(server.make_url("")).rstrip("/")
        wrong = await check_service(ctx, url, indexes)  # type: ignore[arg-type]
        shown.update(right)
        assert await check_service(ctx, url, indexes) == []  # type: ignore[arg-type]
    assert [line.split(":")[0] for line in wrong] == [wrong_person, missing_person]
    assert "HTTP 404" in wrong[1]


def test_a_run_is_verified_only_when_every_benchmark_it_ran_verified():
    only = ("publish", "aggregate", "migration")
    good = {"publish": {"verified": True}, "aggregate": {"verified": True}, "migration": {"verified": True}}
    assert unverified(good, only) == []
    assert unverified({**good, "recovery": {"verified": False}}, only) == []  # not run here
    assert unverified({**good, "aggregate": {"skipped": "failed: RuntimeError: worker exited", "bench_seconds": 3.0}},
                      only) == ["aggregate"]  # a failed benchmark verified nothing
    assert unverified({**good, "migration": {"verified": False}}, only) == ["migration"]
    assert unverified({"publish": {"verified": True}}, only) == ["aggregate", "migration"]  # missing
