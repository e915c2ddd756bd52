"""The one command line: `citybus ...`. Each service contributes its own sub-commands."""
from __future__ import annotations

import logging
import sys
from typing import NoReturn

import typer
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError

from citybus.console import make_console
from citybus.errors import CitybusError
from citybus.kafka.commands import kafka_app, topics_app

__all__ = ["app", "serve_app", "main"]

app = typer.Typer(no_args_is_help=True, help="citybus: the event-driven data-exchange bus between cities.",
                  pretty_exceptions_show_locals=False)
serve_app = typer.Typer(no_args_is_help=True, help="Run a bus service in the foreground.")
app.add_typer(kafka_app, name="kafka")
app.add_typer(topics_app, name="topics")
app.add_typer(serve_app, name="serve")
# Each service registers its commands below, one line each.
from citybus.bench.commands import bench_command  # noqa: E402

app.command("bench")(bench_command)
from citybus.aggregation.commands import serve_aggregation  # noqa: E402

serve_app.command("aggregation")(serve_aggregation)
from citybus.lag.commands import lag_command, serve_lag  # noqa: E402

serve_app.command("lag")(serve_lag)
app.command("lag")(lag_command)
from citybus.bus.commands import publish_command  # noqa: E402
from citybus.codec.commands import schemas_app  # noqa: E402
from citybus.demo.commands import demo_command  # noqa: E402

app.command("publish")(publish_command)
app.add_typer(schemas_app, name="schemas")
app.command("demo")(demo_command)

from citybus.cities.commands import serve_city  # noqa: E402
from citybus.migration.commands import migrate_command, serve_migration  # noqa: E402

serve_app.command("migration")(serve_migration)
serve_app.command("city")(serve_city)
app.command("migrate")(migrate_command)


def main() -> None:
    # a one-shot command configures no logging: aiokafka's errors went to stderr through
    # logging's last resort, a second line above ours (the services' own handlers still get them)
    logging.getLogger("aiokafka").addHandler(logging.NullHandler())
    try:
        app(standalone_mode=True)
    except CitybusError as exc:  # an operator's error: one clear line, no traceback
        _fail(str(exc))
    except (KafkaConnectionError, KafkaTimeoutError) as exc:  # no broker where we were told to look
        _fail(f"cannot reach Kafka at {_bootstrap()} ({exc}); is KAFKA_BOOTSTRAP_SERVERS right? "
              "(`citybus kafka status` tells about the local broker)")


def _fail(message: str) -> NoReturn:
    # soft_wrap: one line however long, also in a terminal
    make_console(stderr=True).print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True)
    sys.exit(2)


def _bootstrap() -> str:
    """The address the command used, for the message (the error's own names resolved sockets)."""
    from citybus.kafka.bootstrap import resolve_bootstrap

    try:
        return resolve_bootstrap()
    except CitybusError:
        return "?"
