"""What the ledger keeps of one record: the rules' inputs, nothing more."""
from __future__ import annotations

from typing import NamedTuple

__all__ = ["RecordKey", "StoredRecord"]

RecordKey = tuple[str, str]  # (city, record_id)


class StoredRecord(NamedTuple):
    revision: int
    digest: int  # CRC-32 of the full content: tells a redelivery from a reused revision
    active: bool
    scheme: str
    kind_rank: int  # 0 EMPLOYEE, 1 RESIDENT: rule 3's first key
    month: int  # citybus.domain.ids.month_index
    base_cents: int
    employee_cents: int
