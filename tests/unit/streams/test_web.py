"""The HTTP site of a stateful worker as an operator starts it."""
from __future__ import annotations

import socket
from typing import cast

import pytest

from citybus.errors import ConfigurationError
from citybus.streams.web import WorkerWeb
from citybus.streams.worker import StateWorker


async def test_a_web_port_already_taken_is_one_error_naming_it() -> None:
    """The bind's OSError went out of `citybus serve aggregation` as a 90-line traceback, exit 1."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        site = WorkerWeb(cast(StateWorker, None))  # the site alone: start() does not touch the worker
        with pytest.raises(ConfigurationError, match=f"cannot listen on 127.0.0.1:{port} .*--web-port"):
            await site.start("127.0.0.1", port)
        await site.stop()
