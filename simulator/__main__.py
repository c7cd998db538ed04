"""`python -m simulator` is `hotline-sim`."""

from simulator.cli import app

app()
