"""The invariant under any schedule: cities played by a RelationLedger; commands reach a city in
order (or are lost); replies are lost, duplicated, late and reordered; deadlines fire in any
order; the orchestrator restarts from its stored state. Once quiet, every scope is final and
each relation is held by exactly one city: to_city if COMPLETED, from_city otherwise."""
from __future__ import annotations

import json
from collections import deque
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_event
from hypothesis import strategies as st
from migration_support import DAY, ENT, KNOWN, RID, SZ, T0, ZS

from citybus.domain.migration import (
    REVERT_STEPS,
    DeadlineExpired,
    MigrationRequested,
    PublishStatus,
    RelationLedger,
    SagaPolicy,
    SagaState,
    SendCommand,
    SubjectRegistry,
    accept_request,
    scopes_of,
    status_of,
    transition,
)

POLICY = SagaPolicy(max_attempts=3, working_day_ms=DAY, known_cities=KNOWN)
VERDICTS = st.sampled_from(["DONE"] * 6 + ["REJECTED", "FAILED"])
LOST = st.sampled_from([False] * 5 + [True])
ACTIONS = st.sampled_from(["deliver"] * 4 + ["reply"] * 4 + ["expire"] * 2 + ["stale", "restart"])


class World:
    def __init__(self, data: st.DataObject, request: MigrationRequested) -> None:
        self.data, self.request = data, request
        self.ledger = RelationLedger((request.from_city, request.subject_id, s) for s in self.scopes)
        self.outbox: dict[str, deque[SendCommand]] = {request.from_city: deque(), request.to_city: deque()}
        self.in_flight: list = []
        self.log: list = []
        self.attempts: dict[str, int] = {}
        self.now = request.requested_at
        self.state, commands, self.registry = accept_request(None, request, SubjectRegistry(), POLICY)
        self.log.append(request)
        self.carry_out(commands)

    @property
    def scopes(self):
        return self.request.scopes or scopes_of(self.request.subject_type)

    def feed(self, event) -> None:
        before = self.state
        self.state, commands = transition(before, event, POLICY)
        self.log.append(event)
        self.registry = self.registry.track(self.state)
        if before.final:
            assert self.state == before and commands == []  # nothing moves a decided saga
        # a status is published exactly when the record differs in more than its time
        changed = replace(status_of(before), updated_at=0) != replace(status_of(self.state), updated_at=0)
        assert [c for c in commands if isinstance(c, PublishStatus)] == ([status_of(self.state)] if changed else [])
        self.carry_out(commands)

    def carry_out(self, commands) -> None:
        for command in commands:
            if not isinstance(command, SendCommand):
                continue
            scope = self.state.scope(command.scope)
            assert command.command_id == f"{command.migration_id}/{command.scope}/{command.step}"
            assert command.attempt == self.attempts.get(command.command_id, 0) + 1
            self.attempts[command.command_id] = command.attempt
            if command.step not in REVERT_STEPS:
                assert command.attempt <= POLICY.max_attempts
            done = {s.step for s in scope.steps if s.status == "DONE"}
            assert command.step != "TRANSFER_IN" or "TRANSFER_OUT" in done
            assert command.step != "TRANSFER_OUT" or "PRECHECK" in done
            has_revert_in = any(s.step == "REVERT_IN" for s in scope.steps)
            assert command.step != "REVERT_OUT" or not has_revert_in or "REVERT_IN" in done
            self.outbox[command.city].append(command)

    def city_handles(self, city: str, chaos: bool) -> None:
        command = self.outbox[city].popleft()
        if chaos and self.data.draw(LOST):
            return  # the command was lost on the way (or in a crash before it was sent)
        self.now += 1
        reply = self.ledger.reply(city, command, self.now, self.data.draw(VERDICTS))
        copies = self.data.draw(st.sampled_from([0, 1, 1, 2])) if chaos else 1
        self.in_flight.extend([reply] * copies)
        for scope in self.scopes:  # never in both cities, not even for a moment
            assert len(self.ledger.holders(self.request.subject_id, scope)) <= 1

    def deliver_reply(self, index: int) -> None:
        self.feed(self.in_flight.pop(index))

    def expire(self, at: int, command_id: str) -> None:
        self.now = max(self.now, at)
        self.feed(DeadlineExpired(self.state.migration_id, command_id, self.now))

    def restart(self) -> None:
        stored = json.dumps(self.state.to_dict())
        self.state = SagaState.from_dict(json.loads(stored))
        self.registry = SubjectRegistry.from_dict(json.loads(json.dumps(self.registry.to_dict())))

    def chaos_step(self) -> None:
        action = self.data.draw(ACTIONS)
        busy = [city for city, queue in self.outbox.items() if queue]
        pending = self.state.pending_deadlines()
        if action == "deliver" and busy:
            self.city_handles(self.data.draw(st.sampled_from(busy)), chaos=True)
        elif action == "reply" and self.in_flight:
            self.deliver_reply(self.data.draw(st.integers(0, len(self.in_flight) - 1)))
        elif action == "expire" and pending:
            self.expire(*self.data.draw(st.sampled_from(pending)))  # not necessarily the earliest
        elif action == "stale" and pending:
            at, command_id = self.data.draw(st.sampled_from(pending))
            self.feed(DeadlineExpired(self.state.migration_id, command_id, at - 1))
        elif action == "restart":
            self.restart()

    def drain(self) -> None:
        """Quiet the world: every command handled, every reply heard once, deadlines as they come."""
        for _ in range(5_000):
            busy = [city for city, queue in self.outbox.items() if queue]
            if busy:
                self.city_handles(busy[0], chaos=False)
            elif self.in_flight:
                self.deliver_reply(0)
            elif self.state.next_deadline() is not None:
                self.expire(*self.state.next_deadline())
            else:
                return
        raise AssertionError("the saga never went quiet")


requests = st.one_of(
    st.builds(
        lambda scopes: MigrationRequested("m-1", "PERSON", RID, SZ, ZS, tuple(scopes), T0, "prop"),
        st.lists(st.sampled_from(scopes_of("PERSON")), unique=True, max_size=4),
    ),
    st.just(MigrationRequested("m-1", "ENTERPRISE", ENT, ZS, SZ, (), T0, "prop")),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data(), requests, st.integers(0, 80))
def test_any_schedule_ends_with_each_relation_in_exactly_one_city(data, request, chaos_steps):
    world = World(data, request)
    for _ in range(chaos_steps):
        world.chaos_step()
    world.drain()

    state = world.state
    for scope in state.scopes:
        note_event(f"{scope.status} after {scope.steps[-1].step} {scope.steps[-1].status}")
    assert state.final and all(scope.final for scope in state.scopes) and state.pending_deadlines() == []
    for scope in state.scopes:
        holder = request.to_city if scope.status == "COMPLETED" else request.from_city
        assert world.ledger.holders(request.subject_id, scope.scope) == {holder}, scope
    assert world.registry.holding(request.subject_id) == {}

    # The same events without any restart give the same saga: the stored form loses nothing.
    replayed = None
    for event in world.log:
        replayed, _ = transition(replayed, event, POLICY)
    assert replayed == state
