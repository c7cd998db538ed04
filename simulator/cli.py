"""`hotline-sim`: the network simulator's command line.

The simulator itself (scenarios, faults, metrics, plots) is not built yet. Until it is, every command says
so and exits with status 2, rather than pretending to run.
"""

from __future__ import annotations

import typer

app = typer.Typer(help="The hotline network simulator (not built yet).", no_args_is_help=True)

_NOT_YET = (
    "the network simulator is not built yet. `hotline-node demo` (make demo) runs one node from intake to "
    "removal; tests/exchange/test_two_nodes.py and test_crash.py run real federated nodes."
)


def _not_yet() -> None:
    typer.secho(f"hotline-sim: {_NOT_YET}", fg="yellow", err=True)
    raise typer.Exit(2)


@app.command()
def run(scenario: str) -> None:
    """Run a scenario file."""
    _not_yet()


@app.command()
def demo() -> None:
    """A small network of real nodes."""
    _not_yet()


@app.command()
def scenarios() -> None:
    """List the bundled scenarios."""
    _not_yet()


if __name__ == "__main__":
    app()
