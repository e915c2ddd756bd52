"""The lag monitor's shell: Prometheus metrics, JSON, the web page and the terminal table.

The judging lives in `citybus.domain.lag`; this package only shows a `LagReport`.
"""
from citybus.lag.api import history_json, report_json
from citybus.lag.collector import LagCollector, group_active
from citybus.lag.metrics import LagMetrics, lag_registry
from citybus.lag.table import format_seconds, render_table
from citybus.lag.web import LagSource, make_lag_app

__all__ = [
    "LagCollector",
    "LagMetrics",
    "LagSource",
    "format_seconds",
    "group_active",
    "history_json",
    "lag_registry",
    "make_lag_app",
    "render_table",
    "report_json",
]
