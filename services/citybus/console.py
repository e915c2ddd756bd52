"""The rich consoles the command line prints through: a terminal's look in a terminal, whole
lines everywhere else."""
from __future__ import annotations

from rich.console import Console

__all__ = ["make_console", "UNWRAPPED_WIDTH"]

# wide enough for any table citybus prints; text lines are not wrapped at all (soft_wrap)
UNWRAPPED_WIDTH = 10_000


def make_console(*, stderr: bool = False) -> Console:
    """A Console on stdout (or stderr). Where that is no terminal (a pipe, a log file, a service
    manager) rich wrapped lines at 80 columns and squeezed tables until a lag count read `30,…`:
    there a line is read by grep and by people after the fact, so it is printed whole."""
    console = Console(stderr=stderr)
    if console.is_terminal:
        return console
    return Console(stderr=stderr, width=UNWRAPPED_WIDTH, soft_wrap=True)
