"""A stop in bounded time: the work in flight ends by itself or is cancelled once its grace after
the stop is over, and its own error still comes out."""
from __future__ import annotations

import asyncio

import pytest

from citybus.kafka.closing import finish_within


async def test_work_that_ends_at_the_stop_is_finished_with_its_last_step() -> None:
    stop, steps = asyncio.Event(), []

    async def work() -> None:
        await stop.wait()
        await asyncio.sleep(0.01)  # the last commit
        steps.append("committed")

    asyncio.get_running_loop().call_later(0.01, stop.set)
    assert await finish_within(work(), stop, grace_s=5.0) is True
    assert steps == ["committed"]


async def test_work_stuck_after_the_stop_is_cancelled_once_its_grace_is_over() -> None:
    stop, cancelled = asyncio.Event(), []

    async def stuck() -> None:  # a commit waiting for a broker that is gone
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    asyncio.get_running_loop().call_later(0.01, stop.set)
    assert await finish_within(stuck(), stop, grace_s=0.05) is False
    assert cancelled == [True]


async def test_work_that_fails_raises_its_error() -> None:
    async def failing() -> None:
        raise ValueError("a batch failed")

    with pytest.raises(ValueError, match="a batch failed"):
        await finish_within(failing(), asyncio.Event(), grace_s=5.0)
