"""The command line: the tour in the README works, errors are one clear line."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.factories import activity_report, hazard_report, rect

from mineaction.cli import cli, main
from mineaction.cli import db as cli_db


def run(db: str, *args: str, ok: bool = True) -> str:
    result = CliRunner().invoke(cli, ["--db", db, *args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/m.db"
    run(url, "init", "--programme-area", "34,50.8,38.6,52.5", "--name", "Test programme")
    return url


def write(tmp_path: Path, name: str, doc: object) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def test_submit_approve_list_show_explain(db: str, tmp_path: Path) -> None:
    f1 = write(tmp_path, "h.json", hazard_report())
    f2 = write(
        tmp_path,
        "a.json",
        [
            activity_report(
                "R-NTS",
                activity="NTS",
                date="2024-02-01",
                releases=[("cancelled", rect(0, 0, 0.001, 0.002))],
            ),
            activity_report(
                "R-CL",
                date="2024-03-01",
                releases=[("cleared", rect(0.001, 0, 0.004, 0.002))],
                stage="completion",
            ),
        ],
    )
    out = run(db, "reports", "submit", f1, f2)
    assert "3 submitted" in out
    out = run(db, "reports", "show", "R-NTS")
    assert "approving would be refused" in out and "hazard does not exist yet" in out
    run(db, "reports", "approve", "R-HA-1", "R-NTS", "R-CL", "--by", "im.officer")
    data = json.loads(run(db, "hazards", "list", "--format", "json"))
    assert len(data) == 1
    h = data[0]
    for key in (
        "id",
        "classification",
        "status",
        "area_m2",
        "cancelled_m2",
        "reduced_m2",
        "cleared_m2",
        "remaining_m2",
        "expansion_m2",
    ):
        assert key in h
    assert h["status"] == "closed" and h["remaining_m2"] == 0
    assert h["cancelled_m2"] + h["cleared_m2"] == pytest.approx(h["area_m2"], rel=1e-4)
    gj = json.loads(run(db, "hazards", "list", "--format", "geojson"))
    assert gj["features"][0]["geometry"]["type"] == "Polygon"
    out = run(db, "hazards", "show", "H1", "--explain")
    assert "R-NTS" in out and "R-CL" in out and "closed" in out
    js = json.loads(run(db, "hazards", "show", "H1", "--explain", "--format", "json"))
    assert [s["report_id"] for s in js["explanation"]] == ["R-HA-1", "R-NTS", "R-CL"]
    assert "ok: 1 hazards" in run(db, "recompute", "--check")
    assert "recomputed 1 hazards from 3" in run(db, "recompute")


def test_errors_are_one_line_with_nonzero_exit(db: str, tmp_path: Path) -> None:
    bad = hazard_report()
    bad["hazard"]["polygon"] = {
        "type": "Polygon",
        "coordinates": [[[51.2, 35.2], [51.21, 35.2], [51.21, 35.21], [51.2, 35.2]]],
    }
    f = write(tmp_path, "swapped.json", bad)
    result = CliRunner().invoke(cli, ["--db", db, "reports", "submit", f])
    assert result.exit_code != 0
    f2 = write(tmp_path, "neg.json", {**hazard_report("R2"), "date_of_information": "yesterday"})
    result = CliRunner().invoke(cli, ["--db", db, "reports", "submit", f2])
    assert result.exit_code != 0


def test_subprocess_error_output_has_no_traceback(db: str, tmp_path: Path) -> None:
    bad = hazard_report()
    bad["hazard"]["polygon"] = {
        "type": "Polygon",
        "coordinates": [[[51.2, 35.2], [51.21, 35.2], [51.21, 35.21], [51.2, 35.2]]],
    }
    f = write(tmp_path, "swapped.json", bad)
    proc = subprocess.run(
        [sys.executable, "-m", "mineaction", "--db", db, "reports", "submit", f],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
        check=False,
        env={"PYTHONPATH": str(Path(__file__).parents[2] / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ")
    assert "swapped.json" in proc.stderr and "hazard.polygon" in proc.stderr
    assert "swapped" in proc.stderr


def test_uninitialised_database_is_explained(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path}/none.db", "hazards", "list"])
    assert result.exit_code != 0


def test_help_lists_commands() -> None:
    out = CliRunner().invoke(cli, ["--help"]).output
    for cmd in ("init", "reports", "hazards", "recompute", "serve"):
        assert cmd in out


def test_registered_organisations_are_enforced(db: str, tmp_path: Path) -> None:
    run(db, "orgs", "add", "FSD", "Swiss Foundation for Mine Action", "--kind", "ngo")
    assert "FSD" in run(db, "orgs", "list")
    f = write(tmp_path, "x.json", hazard_report(org="XYZ"))
    result = CliRunner().invoke(cli, ["--db", db, "reports", "submit", f])
    assert result.exit_code == 1
    f_ok = write(tmp_path, "ok.json", hazard_report(org="FSD"))
    assert "1 submitted" in run(db, "reports", "submit", f_ok)


def test_init_sets_and_clears_the_map_tile_url(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    from mineaction.store.engine import open_store
    from mineaction.store.settings import get_setting

    def tile_url() -> object:
        store = open_store(db)
        try:
            with store.read() as conn:
                return get_setting(conn, "map_tile_url", None)
        finally:
            store.dispose()

    assert doctest.testmod(cli_db, optionflags=doctest.ELLIPSIS).failed == 0
    assert tile_url() is None  # offline by default
    run(db, "init", "--map-tile-url", "https://tiles.example.org/{z}/{x}/{y}.png")
    assert tile_url() == "https://tiles.example.org/{z}/{x}/{y}.png"
    with pytest.raises(SystemExit) as info:
        main(["--db", db, "init", "--map-tile-url", "javascript:{z}{x}{y}"])
    err = capsys.readouterr().err
    assert info.value.code == 1 and err.startswith("error: --map-tile-url: ")
    assert "https://" in err and "Traceback" not in err
    assert tile_url() == "https://tiles.example.org/{z}/{x}/{y}.png"  # unchanged
    run(db, "init", "--map-tile-url", "")
    assert tile_url() is None
