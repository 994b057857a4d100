"""Prioritisation against a real database (SQLite and PostGIS): runs stored, explained, reproducible."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from shapely.geometry import mapping
from sqlalchemy import update

from mineaction.cli import cli
from mineaction.core import priority as pr
from mineaction.errors import NotFoundError, ValidationError
from mineaction.services import ledger
from mineaction.services import prioritise as svc
from mineaction.services import reference as ref
from mineaction.store import schema as s
from mineaction.store.engine import Store

from .helpers import line, point, square

AS_OF = date(2026, 6, 30)


def _hazard(rid: str, hid: str, geom: Any, **extra: Any) -> dict[str, Any]:
    return {
        "report_id": rid,
        "type": "hazard",
        "organisation": extra.pop("org", "FSD"),
        "date_of_information": "2025-01-10",
        "hazard": {
            "hazard_id": hid,
            "evidence": [{"type": t} for t in extra.pop("evidence", ["VERBAL_REPORT"])],
            "contamination": extra.pop("contamination", ["AP_MINE"]),
            "polygon": mapping(geom),
            **extra,
        },
    }


def _accident(
    rid: str, aid: str, geom: Any, when: str, killed: int, injured: int
) -> dict[str, Any]:
    victims = [{"victim_id": f"{aid}-K{i}", "status": "killed"} for i in range(killed)]
    victims += [{"victim_id": f"{aid}-I{i}", "status": "injured"} for i in range(injured)]
    return {
        "report_id": rid,
        "type": "accident",
        "organisation": "FSD",
        "date_of_information": when,
        "accident": {
            "accident_id": aid,
            "date": when,
            "point": mapping(geom),
            "device_category": "AP_MINE",
            "victims": victims,
        },
    }


def _approve(store: Store, doc: dict[str, Any]) -> None:
    ledger.submit(store, doc)
    ledger.approve(store, doc["report_id"])


def _backdate(store: Store, day: str, report_ids: tuple[str, ...] | None = None) -> None:
    """Move approval events to ``day`` (as if the reports had been approved then), so that a
    past --as-of date, which replays the ledger, sees them."""
    at = datetime.fromisoformat(day).replace(tzinfo=UTC)
    ev = s.report_event.c
    q = update(s.report_event).values(at=at)
    if report_ids is not None:
        q = q.where(ev.report_id.in_(report_ids))
    with store.write() as conn:
        conn.execute(q)


def _programme(store: Store) -> None:
    _approve(
        store,
        _hazard("R1", "H1", square(0, 0, 100), blockages=["farmland", "water"], location="UA5901"),
    )
    _approve(
        store,
        _hazard(
            "R2",
            "H2",
            square(20_000, 0, 100),
            contamination=["UXO_AXO"],
            location="UA5902",
            org="HALO",
        ),
    )
    _approve(store, _hazard("R3", "H3", square(0, 2_000, 60), location="UA5901"))
    _approve(store, _accident("R4", "A1", point(350, 0), "2025-12-01", 1, 1))
    _backdate(store, "2026-01-01")
    ref.load_layer(
        store,
        "settlements",
        [(point(600, 0), {"population": 100}), (point(0, 3_100), {"population": 1_000})],
    )
    ref.load_layer(store, "roads", [(line((-500, 0), (500, 0)), {"class": "primary"})])
    ref.load_layer(store, "farmland", [(square(0, 50, 100), {"landuse": "farmland"})])
    ref.load_layer(store, "infrastructure", [(point(90, 0), {"amenity": "school"})])


def test_run_is_stored_explained_and_reproducible(store: Store) -> None:
    _programme(store)
    cfg = svc.load_config(preset="lis")
    r1 = svc.prioritise(store, cfg, as_of=AS_OF)
    r2 = svc.prioritise(store, cfg, as_of=AS_OF)
    assert r1.run_id != r2.run_id
    # same configuration + same data => same scores, same hashes
    assert r1.scores.tolist() == r2.scores.tolist()
    assert r1.data_hash == r2.data_hash
    assert r1.config.hash == r2.config.hash
    assert list(r1.hazard_ids) == ["H1", "H2", "H3"]
    # H1: mines 2 + 2 casualties x 2 + road 1 + farmland 1 + school 1 + residential 1
    #     + 2 reported blockages = 12 (high)
    assert r1.scores.tolist()[0] == 12.0
    assert r1.classes[0] == "high"

    latest = svc.latest_scores(store)
    assert [s["hazard_id"] for s in latest] == ["H1", "H3", "H2"]
    assert latest[0]["run_id"] == r2.run_id
    one = svc.latest_scores(store, "H1")
    assert len(one) == 1 and one[0]["score"] == 12.0
    assert svc.latest_scores(store, "H1", run_id=r1.run_id)[0]["run_id"] == r1.run_id

    ex = svc.explain_score(store, "H1")
    assert ex.score == 12.0 and ex.rank == 1 and ex.of == 3
    assert sum(t.contribution for t in ex.terms) == pytest.approx(12.0)
    assert ex.terms[0].criterion == "casualties_recent" and ex.terms[0].contribution == 4.0
    assert ex.run["config_hash"] == cfg.hash
    assert ex.run["data_cutoff"] == "2026-06-30"
    text = "\n".join(ex.lines())
    assert "configuration lis version 2026.1" in text and "data cut-off 2026-06-30" in text
    assert json.loads(json.dumps(ex.as_dict()))["terms"][0]["criterion"] == "casualties_recent"

    # a changed configuration has another hash, and the stored run keeps the old one
    changed = pr.parse_config(dict(cfg.as_dict(), version="2026.2"))
    r3 = svc.prioritise(store, changed, as_of=AS_OF)
    assert r3.config.hash != cfg.hash
    assert svc.get_run(store, r1.run_id)["config_hash"] == cfg.hash
    assert len(svc.list_runs(store)) == 3


def test_cutoff_and_data_change_the_data_hash(store: Store) -> None:
    _programme(store)
    cfg = svc.load_config(preset="lis")
    r1 = svc.prioritise(store, cfg, as_of=AS_OF, save=False)
    # 24 months after the accident it no longer counts
    r2 = svc.prioritise(store, cfg, as_of=date(2028, 1, 1), save=False)
    assert r1.values["casualties_recent"][0] == 2 and r2.values["casualties_recent"][0] == 0
    assert r1.data_hash != r2.data_hash
    ref.load_layer(store, "water", [(square(0, 120, 20), {})])
    r3 = svc.prioritise(store, cfg, as_of=AS_OF, save=False)
    assert r3.data_hash != r1.data_hash
    assert r3.values["near_water"][0] == 1


def test_scope_by_location_and_organisation(store: Store) -> None:
    _programme(store)
    cfg = svc.load_config(preset="development")
    by_loc = svc.prioritise(store, cfg, scope="UA5901", as_of=AS_OF, save=False)
    assert list(by_loc.hazard_ids) == ["H1", "H3"]
    by_org = svc.prioritise(store, cfg, scope="HALO", as_of=AS_OF, save=False)
    assert list(by_org.hazard_ids) == ["H2"]
    # the scoped run reads only nearby features but measures the same values
    full = svc.prioritise(store, cfg, as_of=AS_OF, save=False)
    assert by_loc.values["people_5km"].tolist() == full.values["people_5km"][[0, 2]].tolist()
    with pytest.raises(ValidationError, match="matches no open hazard"):
        svc.prioritise(store, cfg, scope="XX99", as_of=AS_OF)


def test_explain_unknown(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no prioritisation run yet"):
        svc.get_run(store)
    assert svc.latest_scores(store) == []
    with pytest.raises(NotFoundError, match="has no priority score"):
        svc.explain_score(store, "H9")


def test_cli_prioritise_explain_and_export(sqlite_store: Store, tmp_path: Path) -> None:
    _programme(sqlite_store)
    url = sqlite_store.url
    runner = CliRunner()
    res = runner.invoke(
        cli, ["--db", url, "prioritise", "--preset", "lis", "--as-of", "2026-06-30"]
    )
    assert res.exit_code == 0, res.output
    assert "H1" in res.output and "high" in res.output
    out_csv = tmp_path / "scores.csv"
    res = runner.invoke(
        cli,
        ["--db", url, "prioritise", "--run", "latest", "--explain", "H1", "--out", str(out_csv)],
    )
    assert res.exit_code == 0, res.output
    assert "score 12.00 (high), rank 1 of 3" in res.output
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    assert [r["hazard_id"] for r in rows] == ["H1", "H3", "H2"]
    assert float(rows[0]["contrib_casualties_recent"]) == 4.0
    out_json = tmp_path / "scores.json"
    res = runner.invoke(
        cli,
        [
            "--db",
            url,
            "prioritise",
            "--preset",
            "development",
            "--as-of",
            "2026-06-30",
            "--out",
            str(out_json),
            "--format",
            "json",
            "--top",
            "1",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(out_json.read_text())
    assert data["run"]["config_name"] == "development" and len(data["scores"]) == 3
    assert len(json.loads(res.stdout)["scores"]) == 1
    bad = runner.invoke(
        cli, ["--db", url, "prioritise", "--preset", "lis", "--out", str(tmp_path / "x.txt")]
    )
    assert bad.exit_code != 0


def test_as_of_replays_the_ledger(store: Store) -> None:
    _programme(store)
    _approve(store, _hazard("R5", "H5", square(5_000, 0, 80), location="UA5901"))
    _approve(store, _accident("R6", "A2", point(5_050, 0), "2026-07-15", 1, 0))
    _backdate(store, "2026-08-01", ("R5", "R6"))
    cfg = svc.load_config(preset="lis")
    then = svc.prioritise(store, cfg, as_of=AS_OF, save=False)
    now = svc.prioritise(store, cfg, save=False)
    # H5 and the accident near it were approved after the cut-off: not in the picture then
    assert list(then.hazard_ids) == ["H1", "H2", "H3"]
    assert "H5" in list(now.hazard_ids)
    assert then.data_cutoff == AS_OF and then.data_hash != now.data_hash
