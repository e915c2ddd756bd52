"""State of one partition on disk: a RocksDB (rocksdict) per partition, written one batch at a time.

A batch's values and the positions they reflect (the changelog offset of the last value written,
the offset of the last input applied) go into one RocksDB write batch, so after a crash the
store is either before or after the batch, never half of it, and knows where to resume.

A store RocksDB finds corrupt when it opens it (a truncated or damaged file: "Corruption: ...")
is wiped and opened empty: its partition is then restored from the changelog, which holds the
whole state (what is only stored, `local`, is re-read from its own topic from offset 0). One
worker at a time uses a data directory (`Stores.lock`): two workers on one directory would open
each other's partitions at a rebalance, where RocksDB's own lock fails.
"""
from __future__ import annotations

import fcntl
import logging
import os
import shutil
import struct
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import cast

from rocksdict import BlockBasedOptions, Options, Rdict, WriteBatch

from citybus.errors import ConfigurationError

__all__ = ["PartitionStore", "Stores"]

log = logging.getLogger(__name__)

_POSITION = b"\x00position:"  # + topic -> next offset to read (8 bytes, big endian)


class PartitionStore:
    """Keys and values are bytes; `position(topic)` is the next offset of `topic` to apply."""

    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        options = Options(raw_mode=True)
        options.create_if_missing(True)
        # A bloom filter per file (10 bits a key, ~1% false positives): most reads are of keys that
        # are not there (a person's first events, the retirement book of nearly everyone). Measured
        # on 10,000 ledgers in a flushed store: a missing key 0.64 -> 0.22 us, a present one 0.85 ->
        # 0.87 us. Files written before it have no filter and are read as before.
        table = BlockBasedOptions()
        table.set_bloom_filter(10, False)
        options.set_block_based_table_factory(table)
        self.path = path
        self._db = Rdict(str(path), options=options)

    def get(self, key: bytes) -> bytes | None:
        return self._db.get(key)

    def position(self, topic: str) -> int:
        raw = self._db.get(_POSITION + topic.encode())
        return struct.unpack(">q", raw)[0] if raw is not None else 0

    def write(self, values: Mapping[bytes, bytes] | Iterable[tuple[bytes, bytes]],
              positions: Mapping[str, int] | None = None) -> None:
        """Every value and position at once (one RocksDB write batch)."""
        batch = WriteBatch(raw_mode=True)
        items = values.items() if isinstance(values, Mapping) else values
        for key, value in items:
            batch.put(key, value)
        for topic, offset in (positions or {}).items():
            batch.put(_POSITION + topic.encode(), struct.pack(">q", offset))
        self._db.write(batch)

    def keys(self, prefix: bytes = b"") -> Iterable[bytes]:
        # rocksdict types a key as any of its key types; in raw mode it is always bytes
        for key in cast(Iterator[bytes], self._db.keys(from_key=prefix)):
            if not key.startswith(prefix):
                return
            if not key.startswith(_POSITION):
                yield key

    def close(self) -> None:
        self._db.close()


class Stores:
    """The partition stores of one worker under `root`: opened on assignment, closed on revocation."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._open: dict[int, PartitionStore] = {}
        self._lock: int | None = None  # the descriptor of the held `worker.lock`

    def lock(self) -> None:
        """Hold `root` for this worker until `unlock` (or the process ends); a ConfigurationError
        naming the holder when another worker holds it."""
        if self._lock is not None:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / "worker.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise ConfigurationError(f"state directory {self.root} is in use by another worker (pid {holder}): "
                                     "give each worker its own --data-dir") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock = fd

    def unlock(self) -> None:
        if self._lock is not None:
            fd, self._lock = self._lock, None
            os.close(fd)

    def open(self, partition: int) -> PartitionStore:
        store = self._open.get(partition)
        if store is None:
            store = self._open[partition] = self._open_or_wipe(partition)
        return store

    def _open_or_wipe(self, partition: int) -> PartitionStore:
        path = self.root / f"partition-{partition}"
        try:
            return PartitionStore(path)
        except Exception as exc:  # noqa: BLE001 - rocksdict raises plain Exception("Corruption: ...")
            if not str(exc).startswith("Corruption"):
                raise
            log.warning("the store of partition %d is corrupt (%s): wiped, it is restored from the changelog",
                        partition, exc)
        shutil.rmtree(path)
        return PartitionStore(path)

    def __getitem__(self, partition: int) -> PartitionStore:
        return self._open[partition]

    def __contains__(self, partition: int) -> bool:
        return partition in self._open

    @property
    def partitions(self) -> set[int]:
        return set(self._open)

    def close(self, partition: int) -> None:
        store = self._open.pop(partition, None)
        if store is not None:
            store.close()

    def close_all(self) -> None:
        for partition in list(self._open):
            self.close(partition)

    def wipe(self, partition: int) -> None:
        """Forget a partition's state on disk (it is rebuilt from the changelog)."""
        self.close(partition)
        shutil.rmtree(self.root / f"partition-{partition}", ignore_errors=True)
