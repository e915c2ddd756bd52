"""Hypothesis strategies for contribution histories: runs of months, corrections, reversals."""
from __future__ import annotations

import dataclasses
from decimal import Decimal

from hypothesis import strategies as st

from citybus.domain.contributions import ContributionRecord, MedicalPolicy
from citybus.domain.ids import month_from_index, month_index

from .factories import P, rec, request

CITIES = ("310000", "440300", "441900", "442000")
SCHEMES = ("PENSION", "MEDICAL", "MATERNITY")
START = month_index("1996-01")
BASES = ("0.05", "1000.00", "3000.00", "3000.01", "6000.00")
AMOUNTS = ("0.00", "80.00", "240.50")


@st.composite
def blocks(draw, max_length: int) -> list[ContributionRecord]:
    """Runs of consecutive months; record ids unique per run, so revision 1 never conflicts."""
    records = []
    for n in range(draw(st.integers(1, 5))):
        city, scheme = draw(st.sampled_from(CITIES)), draw(st.sampled_from(SCHEMES[:1] * 3 + SCHEMES))
        kind = draw(st.sampled_from(("EMPLOYEE", "EMPLOYEE", "RESIDENT")))
        base, employee = draw(st.sampled_from(BASES)), draw(st.sampled_from(AMOUNTS))
        first = START + draw(st.integers(0, 240))
        # short runs make duplicates, long ones reach the 120- and 180-month thresholds
        length = draw(st.one_of(st.integers(1, min(12, max_length)), st.integers(max_length * 2 // 3, max_length)))
        for i in range(length):
            month = month_from_index(first + i)
            records.append(rec(month=month, city=city, record_id=f"{n}-{i:03d}", scheme=scheme, kind=kind,
                               base=base, employee=employee))
    return records


CHANGES = st.one_of(
    st.just({"status": "REVERSED"}),
    st.sampled_from(BASES).map(lambda b: {"contribution_base": Decimal(b)}),
    st.sampled_from(AMOUNTS).map(lambda a: {"employee_amount": Decimal(a)}),
    st.sampled_from(AMOUNTS).map(lambda a: {"employer_amount": Decimal(a)}),
    st.sampled_from(("EMPLOYEE", "RESIDENT")).map(lambda k: {"insured_kind": k}),
    st.sampled_from(SCHEMES).map(lambda s: {"scheme": s}),
    st.integers(-3, 3).map(lambda d: {"month_shift": d}),
)


def _corrected(record: ContributionRecord, revision: int, change: dict) -> ContributionRecord:
    change = dict(change)
    shift = change.pop("month_shift", 0)
    month = month_from_index(month_index(record.month) + shift)
    return dataclasses.replace(record, revision=revision, month=month, **change)


@st.composite
def histories(draw, max_length: int = 150, conflicts: bool = False) -> list[ContributionRecord]:
    """A set of events in one canonical order: originals, then corrections (revisions 2-4)."""
    originals = draw(blocks(max_length))
    corrections: dict[tuple[str, str, int], ContributionRecord] = {}
    for _ in range(draw(st.integers(0, 12))):
        target = draw(st.sampled_from(originals))
        revision = draw(st.integers(2, 4))
        corrections.setdefault((target.city, target.record_id, revision),
                               _corrected(target, revision, draw(CHANGES)))
    events = originals + list(corrections.values())
    if conflicts:  # same revision, other content: which one stays depends on order
        for _ in range(draw(st.integers(0, 3))):
            target = draw(st.sampled_from(events))
            events.append(dataclasses.replace(target, **draw(CONFLICTS)(target)))
    return events


def _other(values: tuple[str, ...], current: str) -> str:
    return values[(values.index(current) + 1) % len(values)]


# One content field changed (contributions.md rule 1: any difference is a conflict), each of them in turn.
# resident_id is the one field left out: another person's record never reaches this person's ledger.
CONFLICTS = st.sampled_from((
    lambda r: {"status": _other(("ACTIVE", "REVERSED"), r.status)},
    lambda r: {"scheme": _other(SCHEMES, r.scheme)},
    lambda r: {"insured_kind": _other(("EMPLOYEE", "RESIDENT"), r.insured_kind)},
    lambda r: {"month": month_from_index(month_index(r.month) + 1)},
    lambda r: {"contribution_base": r.contribution_base + Decimal("0.01")},
    lambda r: {"employer_amount": r.employer_amount + 1},
    lambda r: {"employee_amount": r.employee_amount + 1},
    lambda r: {"recorded_at": r.recorded_at - 1},
))


@st.composite
def deliveries(draw, events: list[ContributionRecord]) -> list[ContributionRecord]:
    """The same events in some order, with some delivered more than once."""
    extra = draw(st.lists(st.sampled_from(events), max_size=10)) if events else []
    delivered = events + extra
    draw(st.randoms(use_true_random=False)).shuffle(delivered)
    return delivered


REQUESTS = st.builds(
    request,
    city=st.sampled_from(CITIES),
    hukou_city=st.sampled_from(CITIES + ("320500",)),
    resident_id=st.just(P),
)
POLICIES = st.one_of(
    st.none(),
    st.builds(lambda city, t, loc: {city: MedicalPolicy(t, loc)},
              st.sampled_from(CITIES), st.integers(0, 200), st.integers(0, 100)),
)
