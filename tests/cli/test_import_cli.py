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
    assert "records/s" not in out  # no progress bar when the output is not a terminal
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


BOWTIE = "51.2 35.2 0 0;51.21 35.21 0 0;51.2 35.21 0 0;51.21 35.2 0 0;51.2 35.2 0 0"


def test_quarantine_show_repair_discard_resubmit(db: str, tmp_path: Path) -> None:
    from mineaction.forms import synthetic as syn

    hazard = syn.fill("ma_hazard", 61)
    hazard.answers["polygon"] = BOWTIE
    eo = syn.fill("ma_eo_spot", 62)
    eo.repeats["items"][0]["eo_quantity"] = "-1"
    eo2 = syn.fill("ma_eo_spot", 63)
    eo2.repeats["items"][0]["eo_quantity"] = "-2"
    path = tmp_path / "mixed.json"
    path.write_bytes(orjson.dumps(syn.kobo_json([hazard, eo, eo2])))
    run(db, "import", str(path), "--org", "FSD")
    listed = orjson.loads(run(db, "quarantine", "list", "--format", "json"))
    assert len(listed) == 3
    rows = {r["form_id"] + str(r["record"][-1]): r["id"] for r in listed}
    hid = next(r["id"] for r in listed if r["form_id"] == "ma_hazard")
    eids = sorted(r["id"] for r in listed if r["form_id"] == "ma_eo_spot")
    assert rows and "repair proposed" in run(db, "quarantine", "list", "--form", "ma_hazard")
    shown = run(db, "quarantine", "show", str(hid))
    assert "Self-intersection" in shown and "proposed repair of hazard.polygon" in shown
    out = run(db, "quarantine", "accept-repair", str(hid), "--by", "qc")
    assert "report FSD:" in out and "submitted for review" in out
    assert "discarded" in run(db, "quarantine", "discard", str(eids[0]), "--reason", "test")
    doc = tmp_path / "fixed.json"
    doc.write_text(
        '{"report_id": "FSD-EO-FIX", "type": "eo", "organisation": "FSD", '
        '"date_of_information": "2026-04-07", "eo": {"items": [{"category": "UXO", "quantity": 1}]}}'
    )
    assert "FSD-EO-FIX (new)" in run(db, "quarantine", "resubmit", str(eids[1]), str(doc))
    assert orjson.loads(run(db, "quarantine", "list", "--format", "json")) == []
    resolved = orjson.loads(run(db, "quarantine", "list", "--all", "--format", "json"))
    assert {r["resolution"] for r in resolved} == {"repaired", "discarded", "resubmitted"}
    detail = orjson.loads(run(db, "quarantine", "show", str(hid), "--format", "json"))
    assert detail["repairs"][0]["proposed"]["type"] == "MultiPolygon"


def test_dry_run_shows_the_proposed_repair_and_an_unzipped_shapefile(
    db: str, tmp_path: Path
) -> None:
    import zipfile

    from mineaction.forms import synthetic as syn

    hazard = syn.fill("ma_hazard", 64)
    hazard.answers["polygon"] = BOWTIE
    path = tmp_path / "bowtie.json"
    path.write_bytes(orjson.dumps(syn.kobo_json([hazard])))
    out = run(db, "import", str(path), "--org", "FSD", "--dry-run")
    assert "proposed repair of hazard.polygon: MultiPolygon of 2 parts, " in out
    assert "accept-repair" in out and "dry run: nothing was written" in out
    with zipfile.ZipFile(FIX / "gis" / "hazards_shp.zip") as zf:
        zf.extractall(tmp_path)
    mapping = str(FIX / "gis" / "hazards_shp.yaml")
    out = run(db, "import", str(tmp_path / "hazards.shp"), "--org", "SHP", "--mapping", mapping)
    assert "ma_hazard     3    2          0         1" in out


def test_progress_bar_on_a_terminal(db: str, tmp_path: Path) -> None:
    """On a terminal (a pty here) the import draws a progress bar on stderr."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    from mineaction.forms import synthetic as syn

    path = tmp_path / "many.json"
    path.write_bytes(orjson.dumps(syn.kobo_json([syn.fill("ma_eo_spot", i) for i in range(300)])))
    parent, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    src = str(Path(__file__).resolve().parents[2] / "src")
    cmd = [sys.executable, "-m", "mineaction", "--db", db, "import", str(path), "--org", "FSD"]
    env = {**os.environ, "PYTHONPATH": src}
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=child, env=env, check=False)
    os.close(child)
    drawn = b""
    while True:
        try:
            part = os.read(parent, 65536)
        except OSError:
            break
        if not part:
            break
        drawn += part
    os.close(parent)
    assert proc.returncode == 0, proc.stdout
    assert b"/300 [" in drawn and b"many.json" in drawn and b"%|" in drawn
    assert b"300 submitted for review" in proc.stdout
