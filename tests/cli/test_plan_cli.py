"""`mineaction plan`: calibrate, run (files written), list, show, accept, forecast, backtest."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from mineaction.cli import cli
from mineaction.services.demo import build_demo
from mineaction.store.engine import open_store


def run(db: str, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, ["--db", db, *args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def test_plan_commands_on_the_small_demo(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/demo.db"
    build_demo(open_store(db, create=True), seed=1, scale="small")
    out = run(db, "plan", "calibrate", "--out", str(tmp_path / "cal.csv"))
    assert "release ratios of suspected area" in out and "source" in out
    assert (tmp_path / "cal.csv").read_text().startswith("kind,asset")
    teams = tmp_path / "teams.yaml"
    teams.write_text(
        yaml.safe_dump(
            {
                "teams": [
                    {"id": "M1", "asset": "manual", "home": "SYN-KRS-04"},
                    {"id": "D1", "asset": "mdd", "home": "SYN-KRS-04", "rates": {"open": 900}},
                    {"id": "T1", "asset": "ts", "home": "SYN-KRS-04"},
                    {"id": "N1", "asset": "nts", "home": "SYN-KRS-04"},
                    {"id": "X1", "asset": "mechanical", "home": "SYN-KRS-04"},
                ]
            }
        )
    )
    cal = tmp_path / "cal.yaml"
    cal.write_text(
        yaml.safe_dump(
            {
                "default": {"weekly_rest": [5, 6]},
                "regions": {
                    "SYN-KRS-04": {"closures": [{"start": "2027-01-01", "end": "2027-03-31"}]}
                },
            }
        )
    )
    run(db, "prioritise", "--preset", "lis")  # flags hazards near water / in protected areas
    outdir = tmp_path / "out"
    out = run(
        db,
        "plan",
        "run",
        "--teams",
        str(teams),
        "--calendars",
        str(cal),
        "--time-limit",
        "1",
        "--no-bound",
        "--out",
        str(outdir),
    )
    plan_id = out.split("stored as ")[1].split(";")[0]
    for name in (
        "plan.csv",
        "gantt.png",
        "gantt.svg",
        "curves.png",
        "annual_targets.csv",
        "calibration.json",
        "summary.json",
    ):
        assert (outdir / name).stat().st_size > 100, name
    assert (outdir / "gantt.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.stem for p in (outdir / "teams").iterdir()) == ["D1", "M1", "N1", "T1", "X1"]
    summary = json.loads((outdir / "summary.json").read_text())
    excluded = {e.split("/")[0] for e in summary["environmental_record"]}
    assert excluded, "the demo has a hazard near water: the rule must be recorded"
    x1 = (outdir / "teams" / "X1.csv").read_text()
    assert not any(h in x1 for h in excluded)  # no mechanical asset there
    assert plan_id in run(db, "plan", "list")
    shown = json.loads(run(db, "plan", "show", plan_id, "--format", "json"))
    assert shown["status"] == "draft" and {i["team"] for i in shown["items"]} <= {
        "M1",
        "D1",
        "T1",
        "N1",
        "X1",
    }
    assert "accepted:" in run(db, "plan", "accept", plan_id)
    err = CliRunner().invoke(cli, ["--db", db, "plan", "accept", plan_id])
    assert err.exit_code == 1 and "not a draft" in str(err.exception)
    out = run(
        db, "plan", "forecast", "--samples", "3", "--deadline", "2030-12-31", "--teams", str(teams)
    )
    assert "programme" in out and "probability the programme completes by 2030-12-31" in out
    # the scenario is stated, and the other scenario's P50 shown side by side
    assert "scenario: at the programme's observed pace" in out
    assert "P50, whole stock at reported rates" in out
    # work selection by default (fitted take-up), the whole stock on request
    picked, whole = (
        json.loads(
            run(
                db,
                "plan",
                "forecast",
                "--samples",
                "2",
                "--teams",
                str(teams),
                *flag,
                "--format",
                "json",
            )
        )
        for flag in ((), ("--whole-stock",))
    )
    assert picked["settings"]["work_selection"] and not whole["settings"]["work_selection"]
    assert (picked["scenario"], whole["scenario"]) == ("observed_pace", "whole_stock")
    assert picked["compare"]["scenario"] == "whole_stock"
    assert whole["compare"]["scenario"] == "observed_pace"
    assert picked["pace"]["source"] == "fitted" and picked["settings"]["pace"] is True
    assert set(picked["packages_done_within_years"]) == {"1", "2", "5", "10"}
    assert "hazard_idle_months" not in picked["settings"]
    out = run(db, "plan", "backtest", "--as-of", "2025-10-31", "--samples", "3", "--months", "6")
    assert "coverage of the P10-P90 range" in out
    assert "cancelled_m2" in out and "coverage by measure: released_m2" in out
    bad = CliRunner().invoke(cli, ["--db", db, "plan", "run", "--start", "2027-13-01"])
    assert bad.exit_code == 1 and "--start" in str(bad.exception)
