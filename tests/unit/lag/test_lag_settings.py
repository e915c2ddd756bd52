"""lag.md's defaults: sampled every 5 s, judged over a window of the last 10 samples."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from citybus.lag.commands import _book
from citybus.settings import Settings, settings

VARS = ("CITYBUS_LAG_INTERVAL", "CITYBUS_LAG_WINDOW")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No lag setting in the environment, and no settings cached from another one."""
    for name in VARS:
        monkeypatch.delenv(name, raising=False)
    settings.cache_clear()
    yield monkeypatch
    settings.cache_clear()


def test_defaults_are_lag_mds(clean_env: pytest.MonkeyPatch) -> None:
    conf = Settings()
    assert (conf.lag_interval, conf.lag_window) == (5.0, 10)
    assert _book().window == 10  # what the monitor and `citybus lag` judge on


def test_the_environment_overrides_them(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CITYBUS_LAG_INTERVAL", "0.4")
    clean_env.setenv("CITYBUS_LAG_WINDOW", "5")
    conf = Settings()
    assert (conf.lag_interval, conf.lag_window) == (0.4, 5)
    assert _book().window == 5
