"""Judging a partition over its window of samples, after Burrow's evaluation rules.

Kafka's admin API returns committed offsets, not commit timestamps; the collector reads those
from the offsets topic (`PartitionSample.last_commit_ms`). Whether the group is alive comes
from its membership (`PartitionSample.group_active`, from DescribeGroups: a group with members
is active, an Empty or Dead group is not). The rules, first match wins:

1. REWIND: the committed offset went backwards anywhere in the window.
2. OK: the latest lag is 0 (caught up).
3. With a full window whose committed offset never moved and whose lag stayed above 0:
   STALL if a commit arrived within the window (Burrow's "commits arrive but the offset does
   not move"), STOP if none did (no commit for the whole window span). Commit times come from
   the offsets topic (`last_commit_ms`); where they are not known (commits not watched, or
   watched for less than the window), membership decides: STALL while the group has live
   members (polling and, we assume, committing), STOP when it has none or is unknown.
4. OK: lag reached 0, or fell between two samples, within the window.
5. WARN: a full window in which the committed offset advanced and the lag grew from first to
   last sample without ever falling.
6. OK otherwise (lag steady while committing, or a window still filling up).

A service level (`max_lag_seconds`) broken by the latest lag makes the status at least WARN;
the reason then says so.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from citybus.domain.lag.sample import PartitionSample, PartitionStatus

__all__ = ["Verdict", "evaluate_partition", "DEFAULT_WINDOW"]

DEFAULT_WINDOW = 10


@dataclass(frozen=True)
class Verdict:
    status: PartitionStatus
    reason: str


def evaluate_partition(
    window: Sequence[PartitionSample],
    *,
    window_size: int = DEFAULT_WINDOW,
    lag_seconds: float | None = None,
    max_lag_seconds: float | None = None,
) -> Verdict:
    """Status of one partition from its last `window_size` samples, oldest first."""
    if not window:
        raise ValueError("a partition is judged on at least one sample")
    window = window[-window_size:]
    verdict = _burrow(window, window_size)
    if max_lag_seconds is not None and lag_seconds is not None and lag_seconds > max_lag_seconds:
        breach = f"lag {lag_seconds:.1f} s breaks the service level of {max_lag_seconds:g} s"
        if verdict.status is PartitionStatus.OK:
            return Verdict(PartitionStatus.WARN, breach)
        return Verdict(verdict.status, f"{verdict.reason}; {breach}")
    return verdict


_MEMBERS: dict[bool | None, str] = {True: "members present", False: "no members"}


def _burrow(window: Sequence[PartitionSample], window_size: int) -> Verdict:
    latest = window[-1]
    lags = [s.lag_messages for s in window]
    span_s = (latest.at_ms - window[0].at_ms) / 1000.0
    full = len(window) >= window_size

    for before, after in zip(window, window[1:]):
        if before.committed is not None and after.committed is not None and after.committed < before.committed:
            return Verdict(
                PartitionStatus.REWIND,
                f"committed offset went back from {before.committed} to {after.committed}",
            )
    if lags[-1] == 0:
        return Verdict(PartitionStatus.OK, "caught up")

    frozen = len({s.committed for s in window}) == 1
    if full and frozen and min(lags) > 0:
        where = "no commit yet" if latest.committed is None else f"committed offset stuck at {latest.committed}"
        commit, watched, start = latest.last_commit_ms, latest.commits_watched_since_ms, window[0].at_ms
        members = _MEMBERS.get(latest.group_active, "membership unknown")
        if commit is not None and commit >= start:
            return Verdict(
                PartitionStatus.STALL,
                f"commits arrive (last {(latest.at_ms - commit) / 1000:.0f} s ago) but {where} "
                f"for {span_s:.0f} s with lag {lags[-1]}",
            )
        if commit is not None or (watched is not None and watched <= start):
            last = "none seen" if commit is None else f"last {(latest.at_ms - commit) / 1000:.0f} s ago"
            return Verdict(
                PartitionStatus.STOP,
                f"{where}, no commit for {span_s:.0f} s ({last}; {members}) with lag {lags[-1]}",
            )
        if latest.group_active:
            return Verdict(
                PartitionStatus.STALL,
                f"group has members but {where} for {span_s:.0f} s with lag {lags[-1]}",
            )
        return Verdict(
            PartitionStatus.STOP,
            f"{where}, no commit for {span_s:.0f} s ({members}) with lag {lags[-1]}",
        )

    if min(lags) == 0:
        return Verdict(PartitionStatus.OK, f"lag reached 0 within the window, now {lags[-1]}")
    if any(after < before for before, after in zip(lags, lags[1:])):
        return Verdict(PartitionStatus.OK, f"lag falling, now {lags[-1]}")
    if full and _advanced(window) and lags[-1] > lags[0]:
        return Verdict(
            PartitionStatus.WARN,
            f"lag grew from {lags[0]} to {lags[-1]} over {span_s:.0f} s while committing",
        )
    if not full:
        return Verdict(PartitionStatus.OK, f"lag {lags[-1]}, window filling ({len(window)}/{window_size})")
    return Verdict(PartitionStatus.OK, f"lag steady at {lags[-1]} while committing")


def _advanced(window: Sequence[PartitionSample]) -> bool:
    first, last = window[0].committed, window[-1].committed
    if last is None:
        return False
    return first is None or last > first
