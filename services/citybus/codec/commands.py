"""`citybus schemas ...`: the contract's schemas, checked."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from citybus.codec.compatibility import check_schemas
from citybus.console import make_console

__all__ = ["schemas_app"]

schemas_app = typer.Typer(no_args_is_help=True, help="The Avro schemas of the contract (schemas/).")


@schemas_app.command("check")
def schemas_check(directory: Path = typer.Option(None, "--dir", help="schemas folder (default: the repo's)")) -> None:
    """Every file parses; every record version is FULL_TRANSITIVE compatible; print fingerprints."""
    report = check_schemas(directory)
    console = make_console()
    table = Table("schema", "version", "kind", "fingerprint (CRC-64-AVRO, wire order)", title=f"schemas in {report.root}")
    for column in table.columns:
        column.overflow = "fold"
    for schema in report.schemas:
        table.add_row(schema.full_name, str(schema.version), schema.kind, schema.fingerprint)
    console.print(table)
    for problem in report.problems:
        console.print(f"[red]problem:[/] {problem}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)
    console.print(f"[green]{len(report.schemas)} schemas OK[/] (parse, FULL_TRANSITIVE, fingerprints)")
