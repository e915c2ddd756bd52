"""Docs that run: the README's settings and commands are the real ones."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from citybus.settings import Settings

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def test_the_two_commands_come_first():
    first_block = README.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block


def _documented() -> set[str]:
    names = set(re.findall(r"`(CITYBUS_[A-Z_]+|KAFKA_BOOTSTRAP_SERVERS)`", README))
    for prefix, group, suffix in re.findall(r"`(CITYBUS_[A-Z_]*)\{([A-Z_,]+)\}([A-Z_]*)`", README):
        names |= {f"{prefix}{part}{suffix}" for part in group.split(",")}
    return names


def test_every_setting_is_documented():
    actual = {f"CITYBUS_{name.upper()}" for name in Settings.model_fields} - {"CITYBUS_KAFKA_BOOTSTRAP_SERVERS"}
    assert actual | {"KAFKA_BOOTSTRAP_SERVERS"} <= _documented()


def _cli_envvars() -> set[str]:
    import click
    import typer

    from citybus.cli import app

    found: set[str] = set()

    def walk(command: click.Command) -> None:
        for param in command.params:
            envvar = getattr(param, "envvar", None)
            found.update([envvar] if isinstance(envvar, str) else (envvar or []))
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(typer.main.get_command(app))
    return found


def test_every_documented_variable_is_a_setting_or_a_cli_option():
    settings_vars = {f"CITYBUS_{name.upper()}" for name in Settings.model_fields} | {"KAFKA_BOOTSTRAP_SERVERS"}
    assert _documented() - settings_vars <= _cli_envvars()


COMMANDS = sorted({m.strip() for m in re.findall(r"^citybus ([a-z][a-z -]*?)(?: --| [0-9A-Z<]|$| +#)", README, re.M)})


@pytest.mark.parametrize("command", COMMANDS)
def test_every_readme_command_exists(command):
    done = subprocess.run([sys.executable, "-m", "citybus", *command.split(), "--help"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
