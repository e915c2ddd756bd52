"""A real Apache Kafka on this machine, from the jars Maven fetched: KRaft, one or three nodes.

Each node is broker and controller at once, listens on free loopback ports, keeps its data
under its own directory, logs to a file there and runs with a bounded heap. A `cluster.json`
in the directory records the pids and the bootstrap address, so that a later `citybus kafka up`
reuses a running cluster and `citybus kafka down` stops it, whichever process started it.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from base64 import urlsafe_b64encode
from dataclasses import asdict, dataclass
from pathlib import Path

from citybus.errors import BrokerError

__all__ = ["LocalKafka", "ClusterInfo", "free_port", "free_ports", "wait_for_broker"]

_LOG4J = """log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File={log}
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
"""


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports. The sockets stay bound until all are chosen: ports
    taken one at a time can repeat (a fresh-clone `make test` once got the same port for a
    broker's client and controller listeners, and the broker refused to format)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass(frozen=True)
class ClusterInfo:
    bootstrap: str
    pids: list[int]
    nodes: int
    directory: str

    def alive(self) -> bool:
        return all(_pid_alive(pid) for pid in self.pids)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours is not a broker
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return True


class LocalKafka:
    """Start, find and stop a local KRaft cluster of `nodes` JVMs (1, or 3 for fault tests).

    The cluster is disposable: `up` after `down` starts with empty logs.
    """

    def __init__(self, directory: Path, lib_dir: Path, nodes: int = 1, heap: str = "768m") -> None:
        if nodes not in (1, 3):
            raise BrokerError(f"nodes must be 1 or 3, not {nodes}")
        self.directory = Path(directory)
        self.lib_dir = Path(lib_dir)
        self.nodes = nodes
        self.heap = heap
        self._state = self.directory / "cluster.json"

    # -- discovery ------------------------------------------------------------------------
    def running(self) -> ClusterInfo | None:
        if not self._state.exists():
            return None
        info = ClusterInfo(**json.loads(self._state.read_text()))
        return info if info.alive() else None

    # -- lifecycle ------------------------------------------------------------------------
    def up(self, timeout: float = 90.0) -> ClusterInfo:
        """Reuse a running cluster in this directory, or start a new one and wait until it answers."""
        info = self.running()
        if info is not None:
            return info
        self.down()  # a half-dead earlier cluster: clear it
        self._check_jars()
        for old in self.directory.glob("node*"):  # the local cluster is disposable: start clean
            shutil.rmtree(old, ignore_errors=True)
        found = free_ports(2 * self.nodes)
        ports = list(zip(found[::2], found[1::2]))  # (client, controller) per node, all distinct
        voters = ",".join(f"{i + 1}@127.0.0.1:{ctl}" for i, (_, ctl) in enumerate(ports))
        cluster_id = urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        pids = []
        for index, (port, ctl) in enumerate(ports):
            node_dir = self.directory / f"node{index + 1}"
            props = self._write_config(node_dir, index + 1, port, ctl, voters)
            self._java("kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "-c", str(props),
                       node_dir=node_dir)
            pids.append(self._start_node(node_dir, props))
        bootstrap = ",".join(f"127.0.0.1:{port}" for port, _ in ports)
        info = ClusterInfo(bootstrap=bootstrap, pids=pids, nodes=self.nodes, directory=str(self.directory))
        self._state.write_text(json.dumps(asdict(info)))
        try:
            wait_for_broker(bootstrap, expected_brokers=self.nodes, timeout=timeout, pids=pids)
        except BrokerError:
            self.down()
            raise
        return info

    def down(self, timeout: float = 30.0) -> None:
        """Stop every JVM of the cluster (TERM, then KILL), and forget it."""
        if not self._state.exists():
            return
        info = ClusterInfo(**json.loads(self._state.read_text()))
        for pid in info.pids:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(_pid_alive(p) for p in info.pids):
            _reap(info.pids)
            time.sleep(0.2)
        for pid in info.pids:
            if _pid_alive(pid):
                _signal(pid, signal.SIGKILL)
        _reap(info.pids)
        self._state.unlink(missing_ok=True)

    def kill_node(self, index: int) -> None:
        """SIGKILL node `index` (0-based): for fault tests of the three-node mode."""
        info = self.running()
        if info is None:
            raise BrokerError("no running cluster")
        pid = info.pids[index]
        _signal(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _pid_alive(pid) and time.monotonic() < deadline:
            _reap([pid])
            time.sleep(0.05)

    def restart_node(self, index: int, timeout: float = 90.0) -> ClusterInfo:
        """Start node `index` (0-based) again after `kill_node`, on its ports and its data (the
        broker comes back as it was): for fault tests of a broker that returns."""
        info = ClusterInfo(**json.loads(self._state.read_text())) if self._state.exists() else None
        if info is None:
            raise BrokerError("no cluster to restart a node of")
        if _pid_alive(info.pids[index]):
            raise BrokerError(f"node {index} is running")
        node_dir = self.directory / f"node{index + 1}"
        pids = list(info.pids)
        pids[index] = self._start_node(node_dir, node_dir / "server.properties")
        info = ClusterInfo(bootstrap=info.bootstrap, pids=pids, nodes=info.nodes, directory=info.directory)
        self._state.write_text(json.dumps(asdict(info)))
        wait_for_broker(info.bootstrap, expected_brokers=self.nodes, timeout=timeout, pids=pids)
        return info

    # -- internals ------------------------------------------------------------------------
    def _check_jars(self) -> None:
        if not any(self.lib_dir.glob("kafka_2.13-*.jar")):
            raise BrokerError(f"no Kafka jars in {self.lib_dir}: run `make kafka-jars` (Maven fetches them)")

    def _write_config(self, node_dir: Path, node_id: int, port: int, ctl: int, voters: str) -> Path:
        node_dir.mkdir(parents=True, exist_ok=True)
        rf = self.nodes
        isr = 2 if self.nodes == 3 else 1
        props = {
            "process.roles": "broker,controller",
            "node.id": node_id,
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{ctl}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(node_dir / "data"),
            "num.partitions": 1,
            "default.replication.factor": rf,
            "min.insync.replicas": isr,
            "offsets.topic.replication.factor": rf,
            "offsets.topic.num.partitions": 10,
            "transaction.state.log.replication.factor": rf,
            "transaction.state.log.min.isr": isr,
            "transaction.state.log.num.partitions": 10,
            "group.initial.rebalance.delay.ms": 0,
            "auto.create.topics.enable": "false",  # topics come from the catalog, a typo creates none
            "log.retention.check.interval.ms": 60000,
            "num.network.threads": 2,
            "num.io.threads": 4,
        }
        path = node_dir / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (node_dir / "log4j.properties").write_text(_LOG4J.format(log=node_dir / "server.log"))
        return path

    def _java_cmd(self, main: str, *args: str, node_dir: Path) -> list[str]:
        return [
            "java", f"-Xmx{self.heap}", f"-Xms{min(256, _mb(self.heap))}m", "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{node_dir / 'log4j.properties'}",
            f"-Dkafka.logs.dir={node_dir}",
            "-cp", str(self.lib_dir / "*"), main, *args,
        ]

    def _java(self, main: str, *args: str, node_dir: Path) -> None:
        done = subprocess.run(self._java_cmd(main, *args, node_dir=node_dir), capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            raise BrokerError(f"{main} {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")

    def _start_node(self, node_dir: Path, props: Path) -> int:
        with open(node_dir / "stdout.log", "ab") as out:  # the broker keeps its own descriptor
            proc = subprocess.Popen(
                self._java_cmd("kafka.Kafka", str(props), node_dir=node_dir),
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        return proc.pid


def _mb(heap: str) -> int:
    unit = heap[-1].lower()
    number = int(heap[:-1]) if unit in "kmg" else int(heap)
    return {"k": number // 1024, "m": number, "g": number * 1024}.get(unit, number // (1024 * 1024))


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _reap(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def wait_for_broker(bootstrap: str, expected_brokers: int = 1, timeout: float = 60.0, pids: list[int] | None = None) -> None:
    """Block until every node's own metadata lists `expected_brokers` brokers."""
    import asyncio
    import logging

    from aiokafka import AIOKafkaClient

    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # refused connections while it boots are expected
    try:
        _wait(bootstrap, expected_brokers, timeout, pids, asyncio, AIOKafkaClient)
    finally:
        quiet.setLevel(level)


def _wait(bootstrap, expected_brokers, timeout, pids, asyncio, AIOKafkaClient) -> None:  # noqa: ANN001

    async def brokers() -> int:
        """The fewest brokers any node lists: each node learns the others' registrations on its own
        time, and topics created while one of them lags could get fewer replicas than asked. A
        client bootstrapped from one address reads that node's metadata (an admin client would
        ask a node of its choosing)."""
        seen = []
        for address in bootstrap.split(","):
            client = AIOKafkaClient(bootstrap_servers=address, request_timeout_ms=3000)
            try:
                await client.bootstrap()
                seen.append(len(client.cluster.brokers()))
            finally:
                await client.close()
        return min(seen)

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if pids and not all(_pid_alive(p) for p in pids):
            raise BrokerError("a broker JVM exited during start-up; see its server.log/stdout.log")
        try:
            if asyncio.run(brokers()) >= expected_brokers:
                return
        except Exception as exc:  # noqa: BLE001 - not up yet: connection refused, no metadata, ...
            last = exc
        time.sleep(0.5)
    raise BrokerError(f"Kafka at {bootstrap} did not answer within {timeout:.0f}s: {last!r}")
