"""The one command line: `citybus ...`."""
import typer

app = typer.Typer(no_args_is_help=True, help="citybus: the data-exchange bus between cities.")


def main() -> None:
    app()
