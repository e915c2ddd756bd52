"""The migration orchestrator as a Faust app: decode -> saga domain -> table write -> send.

Tables (RocksDB on disk, changelogged, 6 partitions):
- `migration-sagas`, key subject_id: that subject's sagas and the scopes they hold
  (`SubjectSagas`). Requests, household moves, replies and the timer's ticks are all keyed
  by subject_id, so one agent sees every event of a subject in order, on the partition that
  holds its value: no lost update, conflict detection local.
- `migration-views`, key migration_id: the HTTP view of every saga, fed by the internal
  topic `citybus-migration-views` (keyed by migration_id, so the table and the topic are
  co-partitioned). HTTP calls are served by the worker that owns the id's partition.

Deadlines live in the saga values. A timer on each worker scans an in-memory index of the
subjects on its own partitions (rebuilt from the table after a start or a rebalance) and
sends a tick to the subject's partition; the agent fires `expiries_due(now)` in stream
context (Faust tables are written only there). After a crash the table comes back from
RocksDB and the changelog, the index is rebuilt, overdue deadlines fire and commands are
re-sent with their command_id.
"""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import faust
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaDriverConsumer
from faust.web.exceptions import ServiceUnavailable
from faust.web import Request, Response, View

from citybus.bus import Rejection, default_intake
from citybus.catalog import default_catalog
from citybus.domain.migration import MigrationRequested, SagaPolicy
from citybus.errors import ValidationError
from citybus.migration.deadlines import DeadlineIndex
from citybus.migration.http_api import accepted_body, error_body, request_from_body
from citybus.migration.subjects import SubjectSagas
from citybus.migration.wire import REQUESTS_TOPIC, TICKS_TOPIC, VIEWS_TOPIC, outbound, request_out, view_out
from citybus.settings import settings
from citybus.streams.app import PARTITIONS, deadletter_sink, make_app, raw_topic

__all__ = ["build_app", "policy_from_settings", "now_ms", "ensure_internal_topics"]

SERVICE = "migration"
PENDING_MS = 30_000  # how long a POSTed id counts as known before its saga's view arrives


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def policy_from_settings() -> SagaPolicy:
    conf = settings()
    day = None if conf.working_day is None else max(1, round(conf.working_day * 1000))
    return SagaPolicy(max_attempts=conf.max_attempts, working_day_ms=day,
                      known_cities=frozenset(default_catalog().city_codes))


def _changelog(table: str) -> str:
    return f"citybus-{SERVICE}-{table}-changelog"


async def ensure_internal_topics(bootstrap: str, timeout: float = 30.0) -> None:
    """The service's own topics, created before the worker subscribes to them, and waited for
    until the broker's metadata shows them with a leader on every partition.

    Besides ticks and views, the tables' changelogs and Faust's assignor topic, which Faust would
    otherwise create itself a moment before it subscribes: when the group's first assignment is
    made before the metadata has them, Faust ignores them ("Ignoring missing topic") and the
    consumer does not look again before its metadata max age (minutes): no table partition is
    assigned and every POST is answered 503 until then.
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    compact = {"cleanup.policy": "compact"}
    wanted = {TICKS_TOPIC: (PARTITIONS, None, {}), VIEWS_TOPIC: (PARTITIONS, None, {}),
              _changelog("migration-sagas"): (PARTITIONS, 1, compact),
              _changelog("migration-views"): (PARTITIONS, 1, compact),
              f"citybus-{SERVICE}-__assignor-__leader": (1, 1, {})}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    await admin.start()
    try:
        brokers = len((await admin.describe_cluster())["brokers"])
        existing = set(await admin.list_topics())
        missing = [NewTopic(name, partitions, replicas or min(3, brokers), topic_configs=config)
                   for name, (partitions, replicas, config) in wanted.items() if name not in existing]
        if missing:
            await admin.create_topics(missing, timeout_ms=30000)
        deadline = time.monotonic() + timeout
        while True:
            described = await admin.describe_topics(list(wanted))
            ready = {t["topic"] for t in described if not t["error_code"] and t["partitions"]
                     and all(p["leader"] >= 0 for p in t["partitions"])}
            if ready == set(wanted) or time.monotonic() > deadline:
                return
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


def timer_interval(policy: SagaPolicy) -> float:
    if policy.working_day_ms is None:
        return 1.0
    return min(1.0, max(0.05, policy.working_day_ms / 4000))


def _headers(raw: Any) -> list[tuple[str, bytes | None]]:
    if not raw:
        return []
    return list(raw.items()) if isinstance(raw, Mapping) else list(raw)


# The worker's consumer: Faust fixes fetch_max_wait_ms=1500 and leaves fetch_min_bytes=1, so
# every fetch returns as soon as one record is there: under load, a stream of tiny fetches that
# costs the broker (which shares the CPUs) more than the records. Wait up to 5 ms for 32 KiB.
FETCH_MIN_BYTES = 32 * 1024
FETCH_MAX_WAIT_MS = 5


class _BatchingThread(AIOKafkaConsumerThread):
    """Faust's consumer thread, with the fetch settings above on the consumer it creates."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_min_bytes = FETCH_MIN_BYTES
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class _BatchingConsumer(AIOKafkaDriverConsumer):
    def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
        return _BatchingThread(self, loop=self.loop, beacon=self.beacon)


def build_app(web_port: int, policy: SagaPolicy | None = None, data_dir: Path | None = None) -> faust.App:
    policy = policy or policy_from_settings()
    # a SIGKILLed worker leaves the group only when its session times out: keep that short
    overrides: dict[str, Any] = {"broker_session_timeout": 6.0, "broker_heartbeat_interval": 1.0,
                                 "broker_rebalance_timeout": 20.0,
                                 # every send is on a saga's critical path (request -> command ->
                                 # reply -> ...): a short linger, batches grow with the load anyway
                                 # (one request in flight per broker)
                                 "producer_linger_ms": 2,
                                 # a full batch makes the next send wait for the request in flight
                                 "producer_max_batch_size": 512 * 1024}
    if data_dir:
        overrides["datadir"] = str(data_dir / SERVICE)
    app = make_app(SERVICE, web_port, **overrides)
    app.transport.Consumer = _BatchingConsumer
    Path(app.conf.datadir).mkdir(parents=True, exist_ok=True)
    catalog = default_catalog()
    intake = default_intake()
    sink = deadletter_sink(app, SERVICE)
    sagas = app.Table("migration-sagas", partitions=PARTITIONS, key_type=bytes, value_type=bytes)
    views = app.Table("migration-views", partitions=PARTITIONS, key_type=bytes, value_type=bytes)
    inputs = raw_topic(app, [REQUESTS_TOPIC, *(t.name for t in catalog.city_topics("replies")),
                             *(t.name for t in catalog.city_topics("household.moves")), TICKS_TOPIC])
    view_topic = raw_topic(app, [VIEWS_TOPIC])
    index = DeadlineIndex(retick_ms=max(200, (policy.working_day_ms or 1000) * 2))
    pending: dict[str, int] = {}  # migration_id -> when POSTed here, until its view is in the table
    owned: dict[str, Any] = {"actives": None}

    # the last value each subject was read or written as, decoded: the table stays the truth (an
    # entry is used only while its bytes equal the table's), this only spares the JSON decode
    decoded: dict[bytes, tuple[bytes, SubjectSagas]] = {}

    def load(key: bytes, subject_id: str, partition: int) -> SubjectSagas:
        raw = sagas.get(key)
        known = decoded.get(key)
        if raw is not None and known is not None and known[0] == raw:
            return known[1] if known[1].partition == partition else replace(known[1], partition=partition)
        subject = SubjectSagas.load(raw, subject_id, partition)
        if raw is not None:
            remember(key, raw, subject)
        return subject

    def remember(key: bytes, raw: bytes, subject: SubjectSagas) -> None:
        if len(decoded) >= 20_000:
            decoded.clear()
        decoded[key] = (raw, subject)

    async def send(topic: str, key: bytes, value: bytes, headers: list, partition: int | None = None) -> None:
        await app.producer.send(topic, key, value, partition, None, headers)

    @app.agent(inputs)
    async def saga_agent(stream: faust.StreamT) -> None:
        async for event in stream.events():
            message = event.message
            refers: str | None = None  # the migration a request or reply is about
            if message.topic == TICKS_TOPIC:
                subject_id = (message.key or b"").decode()
                subject = load(message.key, subject_id, message.partition)
                outcome = subject.on_tick(now_ms(), policy)
            else:
                checked = intake.check(message.topic, message.partition, message.offset, message.key,
                                       message.value, _headers(message.headers))
                if isinstance(checked, Rejection):
                    await sink.reject(checked)
                    continue
                value = checked.value
                if isinstance(value, MigrationRequested):
                    if message.key != value.subject_id.encode():  # file it under its subject's partition
                        await send(*request_out(value))
                        continue
                    subject_id, refers = value.subject_id, value.migration_id
                    subject = load(message.key, subject_id, message.partition)
                    outcome = subject.on_request(value, policy)
                else:
                    if not message.key:
                        await sink.reject(Rejection(message.topic, message.partition, message.offset, None,
                                                    message.value, tuple(_headers(message.headers)),
                                                    "INVALID_FIELD", "key: a reply must be keyed by subject_id"))
                        continue
                    subject_id, refers = message.key.decode(), value.migration_id
                    subject = load(message.key, subject_id, message.partition)
                    outcome = subject.on_reply(value, policy)
            if outcome.changed:
                key, raw = subject_id.encode(), outcome.subject.to_bytes()
                sagas[key] = raw
                remember(key, raw, outcome.subject)
            index.track(subject_id, message.partition, outcome.subject.next_deadline())
            for command in outcome.commands:
                await send(*outbound(command))
            for state in outcome.changed:
                await send(*view_out(state))
            if not outcome.changed:
                # a redelivered event (e.g. replayed after a crash between the saga write and the view
                # send) changes nothing: send the view of what it refers to again, so a view lost in
                # the crash is restored (views are idempotent, the latest state wins)
                for state in outcome.subject.sagas.values():
                    if refers is None or state.migration_id == refers:
                        await send(*view_out(state))

    @app.agent(view_topic)
    async def view_agent(stream: faust.StreamT) -> None:
        async for event in stream.events():
            key = event.message.key
            if key:
                views[key] = event.message.value
                pending.pop(key.decode(), None)

    @app.timer(timer_interval(policy))
    async def fire_deadlines() -> None:
        if getattr(app, "rebalancing", False) or app.in_recovery:
            return
        actives = frozenset(app.assignor.assigned_actives())
        if index.stale or actives != owned["actives"]:
            owned["actives"] = actives
            entries = []
            for raw in sagas.values():  # only the partitions this worker owns
                subject = SubjectSagas.from_bytes(raw)
                entries.append((subject.subject_id, subject.partition, subject.next_deadline()))
            index.rebuild(entries)
        for subject_id, partition in index.due(now_ms()):
            await send(TICKS_TOPIC, subject_id.encode(), b"{}", [], partition)

    async def owner_of(web: Any, migration_id: str) -> str | None:
        """The base URL of the worker that owns `migration_id`, or None when it is this one."""
        try:
            try:
                url = app.router.key_store(views.name, migration_id.encode())
            except TypeError:
                # the producer has no metadata for the changelog topic yet (Faust created it after
                # the producer's first metadata fetch, and nothing has been sent to it): fetch it
                await app.producer._ensure_producer().partitions_for(views.changelog_topic.get_topic_name())
                url = app.router.key_store(views.name, migration_id.encode())
        except KeyError as exc:  # partitions not assigned yet (starting, rebalancing)
            raise ServiceUnavailable("partitions are being assigned; retry") from exc
        if (url.host, url.port) == (app.conf.canonical_url.host, app.conf.canonical_url.port):
            return None
        return str(url).rstrip("/")

    async def forward(web: Any, method: str, url: str, body: Any = None) -> Response:
        async with app.http_client.request(method, url, json=body) as response:
            return web.json(await response.json(), status=response.status)

    def known(migration_id: str) -> dict[str, Any] | None:
        raw = views.get(migration_id.encode())
        if raw is not None:
            return json.loads(raw)["view"]
        posted = pending.get(migration_id)
        if posted is not None and now_ms() - posted < PENDING_MS:
            return accepted_body(migration_id)
        return None

    @app.page("/migrations")
    class Migrations(View):
        async def post(self, request: Request) -> Response:
            try:
                body = await request.json()
            except ValueError:
                return self.json({"error": "body: must be JSON"}, status=400)
            try:
                migration = request_from_body(body, now_ms(), policy.known_cities)
            except ValidationError as error:
                return self.json(error_body(error), status=400)
            owner = await owner_of(self, migration.migration_id)
            if owner is not None:
                return await forward(self, "POST", f"{owner}/migrations",
                                     {**body, "migration_id": migration.migration_id})
            current = known(migration.migration_id)
            if current is not None:
                return self.json(current, status=200)
            pending[migration.migration_id] = now_ms()
            topic, key, value, headers = request_out(migration)
            await app.producer.send_and_wait(topic, key, value, None, None, headers)
            return self.json(accepted_body(migration.migration_id), status=202)

    @app.page("/migrations/{migration_id}")
    class Migration(View):
        async def get(self, request: Request, migration_id: str) -> Response:
            owner = await owner_of(self, migration_id)
            if owner is not None:
                return await forward(self, "GET", f"{owner}/migrations/{migration_id}")
            raw = views.get(migration_id.encode())
            if raw is None:
                return self.json({"error": f"no migration {migration_id}"}, status=404)
            return self.json(json.loads(raw)["view"])

    return app
