"""``mineaction import``, ``forms export``, ``quarantine list`` from the command line."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from mineaction.cli import cli, main

FIX = Path(__file__).parent.parent / "fixtures"


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/cli.db"
    assert CliRunner().invoke(cli, ["--db", url, "init"]).exit_code == 0
    return url


def run(db: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--db", db, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_import_summary_dry_run_and_quarantine(db: str) -> None:
    path = str(FIX / "odk_central" / "ma_hazard.odata.json")
    out = run(db, "import", path, "--org", "FSD", "--dry-run")
    assert "dry run: nothing was written" in out
    assert "rejected  ma_hazard.odata.json, submission uuid:" in out
    assert "hazard_id: required answer is missing" in out
    assert "ma_hazard     4    3          0         1" in out
    assert run(db, "quarantine", "list").count("FSD") == 0  # dry run wrote nothing
    out = run(db, "import", path, "--org", "FSD")
    assert "3 submitted for review, 1 in quarantine" in out
    out = run(db, "import", path, "--org", "FSD", "--format", "json")
    totals = orjson.loads(out)["totals"]
    assert totals == {"read": 4, "new": 0, "duplicate": 3, "rejected": 1}
    listed = orjson.loads(run(db, "quarantine", "list", "--format", "json"))
    assert len(listed) == 1 and listed[0]["field"] == "hazard_id"


def test_import_gis_with_mapping(db: str) -> None:
    out = run(
        db,
        "import",
        str(FIX / "gis" / "foreign_pulkovo.gpkg"),
        "--org",
        "OPS",
        "--mapping",
        str(FIX / "gis" / "foreign_pulkovo.yaml"),
    )
    assert "2 submitted for review" in out


def test_bad_file_is_one_clear_line(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--db", db, "import", str(FIX / "bad" / "zip_bomb.zip"), "--org", "FSD"])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: zip_bomb.zip:") and "zip bomb" in err
    assert "Traceback" not in err


def test_forms_export(tmp_path: Path) -> None:
    out = CliRunner().invoke(cli, ["forms", "export", str(tmp_path / "forms")])
    assert out.exit_code == 0
    written = sorted(p.name for p in (tmp_path / "forms").iterdir())
    assert "ma_hazard.xlsx" in written and len(written) == 7
    assert "ma_activity" in CliRunner().invoke(cli, ["forms", "list"]).output
