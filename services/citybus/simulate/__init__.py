"""Simulated city systems: deterministic, realistic event histories for tests, the demo and benchmarks."""
from citybus.simulate.contributions import (
    WORKED_EXAMPLE_ID,
    WORKED_EXAMPLE_REQUEST,
    HistoryShape,
    SimulatedEvent,
    contribution_history,
    publish_history,
)

__all__ = ["WORKED_EXAMPLE_ID", "WORKED_EXAMPLE_REQUEST", "HistoryShape", "SimulatedEvent",
           "contribution_history", "publish_history"]
