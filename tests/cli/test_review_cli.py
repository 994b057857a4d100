"""``mineaction review`` from the command line."""

from __future__ import annotations

from pathlib import Path

import orjson
from click.testing import CliRunner

from mineaction.cli import cli
from mineaction.forms import synthetic as syn


def run(db: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--db", db, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_review_flow(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/r.db"
    run(db, "init")
    (tmp_path / "h.json").write_bytes(orjson.dumps(syn.kobo_json([syn.fill("ma_hazard", 2)])))
    (tmp_path / "a.json").write_bytes(orjson.dumps(syn.kobo_json([syn.fill("ma_activity", 2)])))
    run(db, "import", str(tmp_path / "h.json"), "--org", "FSD")
    run(db, "import", str(tmp_path / "a.json"), "--org", "FSD")
    items = orjson.loads(run(db, "review", "queue", "--format", "json"))
    hid, aid = (i["report_id"] for i in items)
    assert items[0]["next_step"] == "verified"
    assert "proposal (new_hazard)" in run(db, "review", "show", hid)
    assert "next step: verified" in run(db, "review", "show", hid)
    run(db, "review", "verify", hid, aid, "--by", "qc")
    run(db, "review", "approve", hid, "--by", "ops")
    assert "ops_approved -> approved" in run(db, "review", "approve", hid, "--by", "im")
    out = run(db, "review", "show", aid)
    assert "if approved:" in out and "cleared m²" in out and "worked_on" in out
    # the final approval in one step (reports approve) still works
    assert "approved" in run(db, "reports", "approve", aid)
    assert "unapproved" in run(db, "review", "unapprove", aid, "--reason", "wrong team")
    assert run(db, "review", "levels", "--set", "ops_approved").strip() == (
        "submitted -> ops_approved -> approved"
    )
    bad = CliRunner().invoke(cli, ["--db", db, "review", "reject", hid, "--reason", "x"])
    assert bad.exit_code != 0  # approved reports cannot be rejected
