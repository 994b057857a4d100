"""``mineaction demo`` through the click command group."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from mineaction.cli import cli
from mineaction.errors import ConflictError
from mineaction.services import ledger
from mineaction.store.engine import open_store


def test_demo_command_loads_and_is_rerunnable(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    result = CliRunner().invoke(cli, ["--db", db, "demo", "--scale", "small", "--seed", "7"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "SYNTHETIC DEMO DATA (seed 7, scale small)" in out
    assert "hazards by classification and status" in out and "m² by outcome" in out
    assert "submitted" in out and "approved" in out and "done in" in out
    store = open_store(db)
    assert ledger.check(store).differences == []
    again = CliRunner().invoke(cli, ["--db", db, "demo", "--scale", "small", "--seed", "7"])
    assert again.exit_code == 0, again.output
    assert "already in the database" in again.output
    other = CliRunner().invoke(cli, ["--db", db, "demo", "--scale", "small", "--seed", "8"])
    assert isinstance(other.exception, ConflictError)
    assert "seed 7" in str(other.exception)


def test_demo_refuses_a_database_with_real_reports(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'real.db'}"
    store = open_store(db, create=True)
    ledger.submit(
        store,
        {
            "report_id": "REAL-1",
            "type": "eo",
            "organisation": "FSD",
            "date_of_information": "2025-05-01",
            "eo": {"items": [{"category": "UXO"}]},
        },
    )
    result = CliRunner().invoke(cli, ["--db", db, "demo", "--scale", "small"])
    assert isinstance(result.exception, ConflictError)
    assert "not demo data" in str(result.exception)
    assert ledger.check(store).hazards == 0
