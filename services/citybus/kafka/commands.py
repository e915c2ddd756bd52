"""`citybus kafka ...` and `citybus topics ...`."""
from __future__ import annotations

import asyncio

import typer
from rich.table import Table

from citybus.catalog import default_catalog
from citybus.console import make_console
from citybus.kafka.bootstrap import local_cluster, resolve_bootstrap
from citybus.kafka.topics import apply_topics, describe_topics

__all__ = ["kafka_app", "topics_app"]

kafka_app = typer.Typer(no_args_is_help=True, help="The local Apache Kafka (KRaft, from Maven jars).")
topics_app = typer.Typer(no_args_is_help=True, help="The topic catalog on the cluster.")
console = make_console()


@kafka_app.command("up")
def kafka_up(nodes: int = typer.Option(1, help="1, or 3 for replication-factor-3 fault tests")) -> None:
    """Start the local broker, or reuse a running one. Last line: KAFKA_BOOTSTRAP_SERVERS=..."""
    cluster = local_cluster(nodes)
    was_running = cluster.running() is not None
    info = cluster.up()
    console.print(f"{'reusing' if was_running else 'started'} {info.nodes}-node Kafka in {info.directory}",
                  highlight=False)
    print(f"KAFKA_BOOTSTRAP_SERVERS={info.bootstrap}")


@kafka_app.command("down")
def kafka_down() -> None:
    """Stop the local broker(s); no JVM is left behind."""
    for nodes in (1, 3):
        cluster = local_cluster(nodes)
        if cluster.running() or (cluster.directory / "cluster.json").exists():
            cluster.down()
            console.print(f"stopped the {nodes}-node local Kafka")


@kafka_app.command("status")
def kafka_status() -> None:
    """Is a local broker running, and where."""
    found = False
    for nodes in (1, 3):
        info = local_cluster(nodes).running()
        if info:
            found = True
            console.print(f"{nodes}-node Kafka running: pids {info.pids}", highlight=False)
            print(f"KAFKA_BOOTSTRAP_SERVERS={info.bootstrap}")
    if not found:
        console.print("no local Kafka running")
        raise typer.Exit(1)


@topics_app.command("apply")
def topics_apply(dry_run: bool = typer.Option(False, help="report what would change, change nothing")) -> None:
    """Create and update every catalog topic, idempotently; report drift (exit 1 on drift)."""
    changes = asyncio.run(apply_topics(resolve_bootstrap(), default_catalog(), dry_run=dry_run))
    table = Table("topic", "action", "detail", title="topics apply" + (" (dry run)" if dry_run else ""))
    for change in changes:
        style = {"drift": "red", "unchanged": "dim"}.get(change.action, "green")
        table.add_row(change.topic, f"[{style}]{change.action}[/]", change.detail)
    console.print(table)
    if any(c.action == "drift" for c in changes):
        raise typer.Exit(1)


@topics_app.command("list")
def topics_list() -> None:
    """The catalog: every topic, its record, key, partitions, writers and readers, and whether it exists."""
    catalog = default_catalog()
    try:
        present = asyncio.run(describe_topics(resolve_bootstrap(), [t.name for t in catalog.topics]))
    except Exception:  # noqa: BLE001 - no broker (whatever the client raised): show the catalog alone
        present = None
    table = Table("topic", "record", "key", "parts", "retention", "cleanup", "writers", "readers", "on cluster")
    for t in catalog.topics:
        days = "forever" if t.retention_ms < 0 else f"{t.retention_ms / 86_400_000:g}d"
        where = "?" if present is None else (f"{present[t.name]} parts" if t.name in present else "[red]missing[/]")
        table.add_row(t.name, t.record.split(".")[-1], t.key, str(t.partitions), days, t.cleanup_policy,
                      ", ".join(t.writers), ", ".join(t.readers), where)
    console.print(table)
