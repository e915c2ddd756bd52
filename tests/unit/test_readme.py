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


def test_every_setting_is_documented_and_every_documented_setting_exists():
    documented = set(re.findall(r"`(CITYBUS_[A-Z_]+|KAFKA_BOOTSTRAP_SERVERS)`", README))
    actual = {f"CITYBUS_{name.upper()}" for name in Settings.model_fields} - {"CITYBUS_KAFKA_BOOTSTRAP_SERVERS"}
    actual.add("KAFKA_BOOTSTRAP_SERVERS")
    assert documented == actual


COMMANDS = sorted({m.strip() for m in re.findall(r"^citybus ([a-z][a-z -]*?)(?: --| [0-9A-Z<]|$| +#)", README, re.M)})


@pytest.mark.parametrize("command", COMMANDS)
def test_every_readme_command_exists(command):
    done = subprocess.run([sys.executable, "-m", "citybus", *command.split(), "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
