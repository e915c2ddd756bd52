"""The hot persons kept in memory, so a ledger is decoded once, not once per event or batch."""
from __future__ import annotations

from collections import OrderedDict
from enum import Enum
from typing import Final, Generic, Literal, TypeVar

__all__ = ["LruCache", "MISSING"]

V = TypeVar("V")


class _Missing(Enum):
    """The type of MISSING alone, so that `x is not MISSING` tells mypy x is a V."""

    MISSING = "MISSING"


MISSING: Final = _Missing.MISSING


class LruCache(Generic[V]):
    """Least recently used first out. `get` returns MISSING when the key is not held."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._items: OrderedDict[str, V] = OrderedDict()

    def get(self, key: str) -> V | Literal[_Missing.MISSING]:
        try:
            self._items.move_to_end(key)
        except KeyError:
            return MISSING
        return self._items[key]

    def peek(self, key: str) -> V | Literal[_Missing.MISSING]:
        """Like `get`, without touching the order (readers that are not the owner)."""
        return self._items.get(key, MISSING)

    def put(self, key: str, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
