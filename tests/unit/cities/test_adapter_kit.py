"""The adapter kit's promise (a command_id is answered once, the same way) and the simulated cities."""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest

from citybus.cities.kit import CityAdapter, JsonlReplies, Verdict
from citybus.cities.runner import AdapterRunner
from citybus.cities.ledger_file import LedgerJournal, QuietSnapshots
from citybus.cities.simulated import Chaos, RefusalRule, SimulatedCities
from citybus.bus import default_intake
from citybus.codec import decode
from citybus.domain.migration import SendCommand, command_id_for
from citybus.migration.wire import outbound
from citybus.errors import ConfigurationError

SUBJECT = "440301198506071238"


def command(step: str, scope: str = "PENSION", city: str = "442000", migration_id: str = "m-1",
            subject: str = SUBJECT, subject_type: str = "PERSON", deadline: int = 0) -> SendCommand:
    return SendCommand(command_id_for(migration_id, scope, step), migration_id, scope, step, subject_type,
                       subject, "440300", "442000", 1, deadline, {}, city)


def test_a_resent_command_gets_the_same_reply_and_is_applied_once() -> None:
    adapter = CityAdapter("442000", clock=lambda: 7)
    calls = []

    @adapter.handles("PENSION", "TRANSFER_IN")
    def open_pension(cmd: SendCommand) -> Verdict:
        calls.append(cmd.attempt)
        return Verdict.done({"balance": "1.00"})

    first = adapter.answer(command("TRANSFER_IN"))
    again = adapter.answer(replace(command("TRANSFER_IN"), attempt=2))
    assert first == again and calls == [1] and adapter.applied == 1
    assert (first.outcome, first.city, first.package, first.replied_at) == ("DONE", "442000", {"balance": "1.00"}, 7)


def test_a_command_without_a_handler_is_answered_failed() -> None:
    reply = CityAdapter("442000").answer(command("PRECHECK", scope="MEDICAL"))
    assert reply.outcome == "FAILED" and "no handler" in reply.reason


async def test_a_handler_that_raises_answers_nothing_and_the_resent_command_is_handled_again() -> None:
    """The city's own handler failing (its system is down) must not stop the runner, which would stop
    again on the same command after every restart; unanswered, the command comes again at its deadline."""
    calls = []

    def precheck(cmd: SendCommand) -> Verdict:
        calls.append(cmd.attempt)
        if cmd.attempt == 1:
            raise RuntimeError("the city's database is down")
        return Verdict.done()

    runner = AdapterRunner({"442000": CityAdapter("442000").register({("PENSION", "PRECHECK"): precheck})},
                           "127.0.0.1:9", "g")
    sent = []

    async def send(topic, key, value, headers=()):  # noqa: ANN001, ANN202
        sent.append((topic, key, decode(value)[1]))

    for attempt in (1, 2):
        topic, key, value, headers = outbound(replace(command("PRECHECK"), attempt=attempt))
        accepted = default_intake().check(topic, 0, attempt, key, value, headers)
        await runner._handle(accepted, send)
        assert runner.unanswered == 1 and calls == [1, 2][:attempt]
        assert len(sent) == attempt - 1  # nothing for the attempt that raised
    ((topic, key, reply),) = sent
    assert (topic, key, reply["outcome"]) == ("city.442000.replies", SUBJECT.encode(), "DONE")


def test_an_adapter_that_transfers_what_it_cannot_revert_is_refused_before_it_runs() -> None:
    done = lambda cmd: Verdict.done()  # noqa: E731
    adapter = CityAdapter("442000").register({("PENSION", "TRANSFER_OUT"): done, ("PENSION", "TRANSFER_IN"): done,
                                              ("PENSION", "REVERT_IN"): done, ("MEDICAL", "PRECHECK"): done})
    with pytest.raises(ConfigurationError, match="442000: no handler for PENSION REVERT_OUT"):
        adapter.check()
    with pytest.raises(ConfigurationError, match="PENSION REVERT_OUT"):
        AdapterRunner({"442000": adapter}, "127.0.0.1:9", "g")  # the runner checks before it consumes
    adapter.handles("PENSION", "REVERT_OUT")(done)
    assert adapter.check() is adapter
    assert all(a.check() for a in simulation().adapters().values())  # the simulated cities are complete


@pytest.mark.parametrize("code, city, named", [("440300", "442000", "adapter of city 442000 is given for city 440300"),
                                              ("999999", "999999", "not a city in the participant registry")])
def test_an_adapter_under_a_wrong_or_unknown_code_is_refused_before_it_runs(code: str, city: str, named: str) -> None:
    """Under another city's code an adapter answered that city's commands as its own city, on its
    own replies topic; under an unknown code the runner consumed a topic that does not exist."""
    with pytest.raises(ConfigurationError, match=named):
        AdapterRunner({code: CityAdapter(city)}, "127.0.0.1:9", "g")


def test_the_reply_cache_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "replies.jsonl"
    adapter = CityAdapter("442000", JsonlReplies(path)).register(
        {("PENSION", "PRECHECK"): lambda cmd: Verdict.rejected("no acceptance letter")})
    first = adapter.answer(command("PRECHECK"))
    adapter.replies.close()
    restarted = CityAdapter("442000", JsonlReplies(path)).register(
        {("PENSION", "PRECHECK"): lambda cmd: Verdict.done()})
    assert restarted.answer(command("PRECHECK")) == first
    assert restarted.applied == 0


def simulation(tmp_path: Path | None = None, **kwargs) -> SimulatedCities:  # noqa: ANN003
    journal = LedgerJournal(tmp_path) if tmp_path else LedgerJournal()
    return SimulatedCities(["440300", "442000"], journal, **kwargs)


def run(adapters: dict, *steps: tuple[str, str]) -> list[str]:
    return [adapters[city].answer(command(step, city=city)).outcome for step, city in steps]


def test_a_simulated_move_keeps_the_relation_in_one_city_and_reverts_undo_it(tmp_path: Path) -> None:
    sim = simulation(tmp_path)
    adapters = sim.adapters()
    assert run(adapters, ("PRECHECK", "442000"), ("TRANSFER_OUT", "440300"), ("TRANSFER_IN", "442000")) == ["DONE"] * 3
    assert sim.journal.holders(SUBJECT, "PENSION") == {"442000"}
    assert run(adapters, ("REVERT_IN", "442000"), ("REVERT_OUT", "440300")) == ["DONE", "DONE"]
    assert sim.journal.holders(SUBJECT, "PENSION") == {"440300"}
    sim.journal.close()
    assert LedgerJournal.read(tmp_path).holders(SUBJECT, "PENSION") == {"440300"}
    sim.journal.write_snapshot()
    assert (tmp_path / "ledger.json").exists()


def test_the_snapshot_waits_until_nothing_was_handled_between_two_looks(tmp_path: Path) -> None:
    journal = LedgerJournal(tmp_path)
    journal.grant("440300", SUBJECT, "PENSION")
    quiet = QuietSnapshots(journal)
    snapshot = tmp_path / "ledger.json"
    assert [quiet.look(n) for n in (3, 7, 12)] == [False, False, False]  # busy: commands keep coming
    assert not snapshot.exists()
    assert quiet.look(12) is True  # nothing since the last look
    assert json.loads(snapshot.read_text()) == {"holdings": {"440300": [[SUBJECT, "PENSION"]]}}
    journal.grant("442000", SUBJECT, "MEDICAL")
    assert quiet.look(13) is False
    assert "MEDICAL" not in snapshot.read_text()  # busy again: the old copy stays
    assert quiet.look(13) is True
    assert json.loads(snapshot.read_text())["holdings"]["442000"] == [[SUBJECT, "MEDICAL"]]
    journal.close()


def test_a_restarted_simulation_answers_resent_commands_the_same(tmp_path: Path) -> None:
    sim = simulation(tmp_path)
    first = run(sim.adapters(), ("PRECHECK", "442000"), ("TRANSFER_OUT", "440300"))
    sim.journal.close()
    again = simulation(tmp_path)
    assert run(again.adapters(), ("PRECHECK", "442000"), ("TRANSFER_OUT", "440300")) == first
    assert again.journal.holders(SUBJECT, "PENSION") == set()  # out of 440300 once, not twice


def test_refusal_rules_and_clearance() -> None:
    enterprise = "91440300MA5F00001A"
    sim = simulation(refusals=[RefusalRule.parse("442000:TRANSFER_IN:PENSION")],
                     clearance_refused=frozenset({enterprise}))
    adapters = sim.adapters()
    assert run(adapters, ("TRANSFER_OUT", "440300"), ("TRANSFER_IN", "442000")) == ["DONE", "REJECTED"]
    tax = command("PRECHECK", scope="TAX_REGISTRATION", city="440300", subject=enterprise,
                  subject_type="ENTERPRISE", migration_id="t-1")
    reply = adapters["440300"].answer(tax)
    assert reply.outcome == "REJECTED" and "clearance" in reply.reason


@pytest.mark.parametrize("text", ["442000:TRANSFER_IN", "442000:JUMP:PENSION", "x:PRECHECK:NOPE:1"])
def test_bad_refusal_rules_are_configuration_errors(text: str) -> None:
    with pytest.raises(ConfigurationError):
        RefusalRule.parse(text)


def test_a_rule_with_a_subject_matches_only_that_subject() -> None:
    rule = RefusalRule.parse("*:TRANSFER_IN:MEDICAL:" + SUBJECT)
    assert rule.matches("442000", command("TRANSFER_IN", scope="MEDICAL"))
    assert not rule.matches("442000", command("TRANSFER_IN", scope="MEDICAL", subject="other"))


def test_delivery_loses_duplicates_and_delays_past_the_deadline() -> None:
    reply_of = CityAdapter("442000").answer
    lossy = simulation(chaos=Chaos(lose_rate=1.0, seed=1))
    assert lossy.delivery(command("PRECHECK"), reply_of(command("PRECHECK"))) == []
    twice = simulation(chaos=Chaos(duplicate_rate=1.0, seed=1))
    assert len(twice.delivery(command("PRECHECK"), reply_of(command("PRECHECK")))) == 2
    late = simulation(chaos=Chaos(late_rate=1.0, seed=1))
    deadline = time.time_ns() // 1_000_000 + 300
    (delay,) = late.delivery(command("PRECHECK", deadline=deadline), reply_of(command("PRECHECK")))
    after_ms = time.time_ns() // 1_000_000
    assert after_ms + delay * 1000 > deadline  # sent after the deadline, however long the call took


def _precheck_outcomes(chaos: Chaos, migrations: int = 200) -> list[str]:
    adapters = simulation(chaos=chaos).adapters()
    return [adapters["442000"].answer(command("PRECHECK", migration_id=f"m-{i}")).outcome for i in range(migrations)]


def test_refusals_and_failures_are_drawn_per_command_and_repeat_for_a_seed() -> None:
    assert set(_precheck_outcomes(Chaos(refuse_rate=1.0, seed=3))) == {"REJECTED"}
    assert set(_precheck_outcomes(Chaos(fail_rate=1.0, seed=3))) == {"FAILED"}
    assert set(_precheck_outcomes(Chaos(seed=3))) == {"DONE"}  # no rate: no draw
    mixed = _precheck_outcomes(Chaos(refuse_rate=0.3, fail_rate=0.3, seed=3))
    assert 40 < mixed.count("REJECTED") < 80 and 40 < mixed.count("FAILED") < 80 and 60 < mixed.count("DONE") < 100
    assert _precheck_outcomes(Chaos(refuse_rate=0.3, fail_rate=0.3, seed=3)) == mixed  # the same seed, the same draws
    assert _precheck_outcomes(Chaos(refuse_rate=0.3, fail_rate=0.3, seed=4)) != mixed


def test_rates_outside_zero_to_one_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        Chaos(lose_rate=1.5)
