"""`python -m node.cli`: the same app as the `hotline-node` console script."""

from __future__ import annotations

from node.cli import app

if __name__ == "__main__":
    app()
