from __future__ import annotations

from typer.testing import CliRunner

from simulator.cli import app


def test_the_simulator_says_it_is_not_built_yet_instead_of_pretending() -> None:
    for args in (["demo"], ["scenarios"], ["run", "demo.toml"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2
        assert "not built yet" in result.output
