"""Importing field data: counts, quarantine, idempotency, edits, dry runs, bad files, round trip."""

from __future__ import annotations

import copy
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from mineaction.errors import ValidationError
from mineaction.forms import FORMS, to_xlsx
from mineaction.forms import synthetic as syn
from mineaction.services import importing, ledger
from mineaction.store import schema as s
from mineaction.store.engine import Store

FIX = Path(__file__).parent.parent / "fixtures"
TABLES = (s.report, s.report_event, s.quarantine, s.import_batch, s.audit_log)


def counts(store: Store) -> dict[str, int]:
    with store.read() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in TABLES
        }


def imp(store: Store, rel: str, **kw: object) -> importing.ImportResult:
    return importing.import_path(store, FIX / rel, organisation=str(kw.pop("org", "FSD")), **kw)  # type: ignore[arg-type]


def test_central_odata_import_quarantine_and_idempotency(store: Store) -> None:
    result = imp(store, "odk_central/ma_hazard.odata.json")
    t = result.totals
    assert (t.read, t.new, t.duplicate, t.rejected) == (4, 3, 0, 1)
    assert result.per_form["ma_hazard"].new == 3
    with store.read() as conn:
        reports = list(conn.execute(select(s.report)).mappings())
        q = list(conn.execute(select(s.quarantine)).mappings())
    assert {r["state"] for r in reports} == {"submitted"}
    assert {r["source_system"] for r in reports} == {"odk-central"}
    assert all(r["source_key"] and r["report_id"].startswith("FSD:") for r in reports)
    # the evidence photo of each submission, listed with its question (the file stays in Central)
    atts = [r["payload"]["source"]["attachments"] for r in reports]
    assert all(
        a[0]["question"] == "evidence[0].evidence_photo" and a[0]["present"] is True for a in atts
    )
    assert len(q) == 1
    assert q[0]["filename"] == "ma_hazard.odata.json"
    assert "uuid:" in q[0]["record"] and q[0]["field"] == "hazard_id"
    assert "required answer is missing" in q[0]["message"] and "out of range" in q[0]["message"]
    assert q[0]["raw"]["__id"].startswith("uuid:")
    assert len(q[0]["problems"]) == 2
    before = counts(store)
    again = imp(store, "odk_central/ma_hazard.odata.json")
    assert (again.totals.new, again.totals.duplicate, again.totals.rejected) == (0, 3, 1)
    after = counts(store)
    # a re-import adds its batch record and audit line, never reports or quarantine rows
    assert after["report"] == before["report"] and after["quarantine"] == before["quarantine"]
    assert after["import_batch"] == before["import_batch"] + 1


def test_same_data_through_every_central_format_is_one_report(store: Store) -> None:
    a = imp(store, "odk_central/ma_activity.csv.zip")
    b = imp(store, "odk_central/ma_activity.odata-tables.json")
    assert (a.totals.new, a.totals.rejected) == (2, 1)
    assert (b.totals.new, b.totals.duplicate, b.totals.rejected) == (0, 2, 1)
    problem = next(r for r in a.records if r.status == "rejected").problems[0]
    assert "clearance depth" in problem["message"]
    # the bad submission is one quarantined record, whichever export it came in
    held = importing.list_quarantine(store, organisation="FSD")
    assert len(held) == 1 and held[0]["filename"] == "ma_activity.csv.zip"
    # a record quarantined before records were keyed by instance (raw-content key) is not
    # quarantined again by a re-import of its file
    from mineaction.io.detect import read_any

    sub = next(
        x
        for x in read_any((FIX / "odk_central/ma_activity.csv.zip").read_bytes(), "a.zip").records
        if x.instance_id in held[0]["record"]
    )
    with store.write() as conn:
        conn.execute(
            s.quarantine.update().values(record_key=importing._raw_key("FSD", sub))  # noqa: SLF001
        )
    imp(store, "odk_central/ma_activity.csv.zip")
    assert len(importing.list_quarantine(store, organisation="FSD")) == 1


def test_edited_submission_supersedes(store: Store) -> None:
    first = imp(store, "kobo/ma_accident.json")
    assert (first.totals.new, first.totals.rejected) == (2, 1)
    assert "victims[0].age" in first.records[2].problems[0]["field"]
    edited = imp(store, "kobo/ma_accident.edited.json")
    rec = edited.records[0]
    assert rec.status == "new" and rec.supersedes == first.records[0].report_id
    # importing the older export again is a duplicate (it is the deprecated version)
    assert imp(store, "kobo/ma_accident.json").totals.new == 0
    ledger.approve(store, first.records[0].report_id, actor="im")
    ledger.approve(store, rec.report_id or "", actor="im")
    with store.read() as conn:
        states = dict(conn.execute(select(s.report.c.report_id, s.report.c.state)).all())  # type: ignore[arg-type]
        victims = conn.execute(select(s.victim.c.age)).all()
    assert states[first.records[0].report_id] == "superseded"
    assert states[rec.report_id] == "approved"
    assert [v[0] for v in victims] == [47]


def test_dry_run_writes_nothing(store: Store) -> None:
    before = counts(store)
    result = imp(store, "odk_central/ma_hazard.odata.json", dry_run=True)
    assert result.dry_run and result.totals.new == 3 and result.totals.rejected == 1
    assert counts(store) == before


BAD_FILES = [
    "bad/billion_laughs.kml",
    "bad/zip_bomb.zip",
    "bad/truncated.json",
    "bad/truncated.csv.zip",
    "bad/not_a_geopackage.gpkg",
    "bad/nan_coords.geojson",
]


def test_bad_files_fail_clearly_and_change_nothing(store: Store) -> None:
    imp(store, "kobo/ma_eore.csv")  # some data already there
    before = counts(store)
    for rel in BAD_FILES:
        with pytest.raises(ValidationError) as info:
            imp(store, rel, form="ma_eo_spot")
        assert Path(rel).name in str(info.value)
        assert counts(store) == before, rel


def test_enormous_coordinates_fail_the_whole_file(store: Store) -> None:
    before = counts(store)
    with pytest.raises(ValidationError) as info:
        imp(store, "bad/huge_coords.geojson", form="ma_eo_spot")
    assert "huge_coords.geojson, feature" in str(info.value) and "absurdly large" in str(info.value)
    assert counts(store) == before  # more in tests/import/test_import_validation.py


GIS_CASES = [
    ("gis/hazards.gpkg", None, 2, 1),
    ("gis/hazards.geojson", None, 2, 1),
    ("gis/hazards.fgb", None, 2, 1),
    ("gis/hazards.kml", None, 2, 1),
    ("gis/hazards.kmz", None, 2, 1),
    ("gis/hazards_shp.zip", "gis/hazards_shp.yaml", 2, 1),
    ("gis/foreign_pulkovo.gpkg", "gis/foreign_pulkovo.yaml", 2, 0),
    ("gis/eo_mgrs.csv", "gis/eo_mgrs.yaml", 2, 1),
    ("gis/eo_gk.csv", "gis/eo_gk.yaml", 1, 0),
]


def test_gis_files(store: Store) -> None:
    for k, (rel, mapping, new, rejected) in enumerate(GIS_CASES):
        kw: dict[str, object] = {"form": None if mapping else "ma_hazard", "org": f"GIS{k}"}
        if mapping:
            kw["mapping"] = (FIX / mapping).read_text()
        result = imp(store, rel, **kw)
        assert (result.totals.new, result.totals.rejected) == (new, rejected), (rel, result.records)
        with store.read() as conn:
            payloads = [
                r[0]
                for r in conn.execute(
                    select(s.report.c.payload).where(s.report.c.organisation == f"GIS{k}")
                )
            ]
        assert len(payloads) == new
        for p in payloads:
            body = p[p["type"]]
            geom = body.get("polygon") or body["items"][0]["point"]
            first = geom["coordinates"][0][0] if geom["type"] == "Polygon" else geom["coordinates"]
            assert 35 < first[0] < 38.5 and 51 < first[1] < 56, rel  # WGS84 lon/lat
        assert imp(store, rel, **kw).totals.new == 0, rel  # idempotent


def test_pulkovo_geometry_matches_source(store: Store) -> None:
    imp(
        store,
        "gis/foreign_pulkovo.gpkg",
        org="GIS",
        mapping=(FIX / "gis/foreign_pulkovo.yaml").read_text(),
    )
    with store.read() as conn:
        p = conn.execute(
            select(s.report.c.payload).where(s.report.c.hazard_id == "GK-1")
        ).scalar_one()
    xs = sorted({round(c[0], 5) for c in p["hazard"]["polygon"]["coordinates"][0]})
    assert xs == [35.2, 35.203]
    assert p["hazard"]["classification"] == "CHA"


def test_unknown_form_and_org_errors(store: Store) -> None:
    with pytest.raises(ValidationError, match="unknown form"):
        imp(store, "kobo/ma_eore.csv", form="nope")
    with pytest.raises(ValidationError, match="needs --form"):
        imp(store, "gis/hazards.gpkg")
    result = imp(store, "kobo/ma_eore.csv")  # Kobo CSV names no form: recognised by its fields
    assert result.totals.new == 3
    wrong = imp(store, "kobo/ma_accident.json", form="ma_eore")
    assert wrong.totals.rejected == 3
    assert "from form ma_accident, not --form ma_eore" in wrong.records[0].problems[0]["message"]


def test_round_trip_forms_to_projection(store: Store, tmp_path: Path) -> None:
    from pyxform.xls2xform import convert

    for form in (FORMS["ma_hazard"], FORMS["ma_activity"]):
        assert convert(xlsform=to_xlsx(form), file_type=".xlsx", validate=False).xform
    hazard = syn.fill("ma_hazard", 7)
    activity = syn.fill("ma_activity", 7)  # clears a polygon inside the hazard
    activity.answers["stage"] = "completion"
    h = importing.import_bytes(
        store, orjson.dumps(syn.central_odata([hazard])), "h.json", organisation="FSD"
    )
    a = importing.import_bytes(
        store, syn.kobo_xlsx([activity]), "a.xlsx", organisation="FSD", form="ma_activity"
    )
    assert h.totals.new == 1 and a.totals.new == 1
    effect = ledger.predict(store, a.records[0].report_id or "")
    assert effect.error  # the hazard is not approved yet
    ledger.approve(store, h.records[0].report_id or "")
    effect = ledger.predict(store, a.records[0].report_id or "")
    assert effect.after and effect.after["cleared_m2"] > 0
    ledger.approve(store, a.records[0].report_id or "")
    with store.read() as conn:
        row = (
            conn.execute(select(s.hazard).where(s.hazard.c.hazard_id == "HZ-00007"))
            .mappings()
            .one()
        )
    assert row["cleared_m2"] == pytest.approx(effect.after["cleared_m2"])
    assert row["remaining_m2"] < row["area_m2"]


_GOOD = orjson.dumps(syn.kobo_json([syn.fill("ma_eo_spot", i) for i in range(4)]))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.integers(0, len(_GOOD) - 1), st.binary(min_size=1, max_size=6), st.booleans())
def test_corrupted_import_is_all_or_nothing(
    sqlite_store: Store, pos: int, junk: bytes, truncate: bool
) -> None:
    data = _GOOD[:pos] if truncate else _GOOD[:pos] + junk + _GOOD[pos + len(junk) :]
    before = counts(sqlite_store)
    try:
        result = importing.import_bytes(sqlite_store, data, "k.json", organisation="FSD")
    except ValidationError as exc:
        assert str(exc)
        assert counts(sqlite_store) == before
        return
    after = counts(sqlite_store)
    assert after["report"] - before["report"] == result.totals.new
    assert after["import_batch"] == before["import_batch"] + 1


def test_quarantine_resolved_when_fixed(store: Store) -> None:
    accs = [syn.fill("ma_accident", 1)]
    accs[0].repeats["victims"][0]["victim_age"] = "300"
    doc = syn.kobo_json(accs)
    first = importing.import_bytes(store, orjson.dumps(doc), "a.json", organisation="FSD")
    assert first.totals.rejected == 1
    assert len(importing.list_quarantine(store, organisation="FSD")) == 1
    fixed = copy.deepcopy(accs[0])
    fixed.deprecated_id, fixed.root_id = accs[0].instance_id, accs[0].instance_id
    fixed.instance_id = "11111111-2222-4333-8444-555555555555"
    fixed.repeats["victims"][0]["victim_age"] = "30"
    second = importing.import_bytes(
        store, orjson.dumps(syn.kobo_json([fixed])), "b.json", organisation="FSD"
    )
    assert second.totals.new == 1
    assert importing.list_quarantine(store, organisation="FSD") == []
    assert len(importing.list_quarantine(store, organisation="FSD", include_resolved=True)) == 1


def test_oversized_file_is_refused_before_reading(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importing, "MAX_FILE_BYTES", 100)
    before = counts(sqlite_store)
    with pytest.raises(ValidationError, match="the limit is"):
        imp(sqlite_store, "odk_central/ma_hazard.odata.json")
    assert counts(sqlite_store) == before


def test_unzipped_shapefile_is_read_with_its_sidecar_files(store: Store, tmp_path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(FIX / "gis/hazards_shp.zip") as zf:
        zf.extractall(tmp_path)
    mapping = (FIX / "gis/hazards_shp.yaml").read_text()
    shp = tmp_path / "hazards.shp"
    result = importing.import_path(store, shp, organisation="SHP", mapping=mapping)
    assert (result.totals.new, result.totals.rejected) == (2, 1)
    assert result.records[2].where == "hazards.shp, feature 3"
    assert importing.import_path(store, shp, organisation="SHP", mapping=mapping).totals.new == 0
    before = counts(store)
    # one .shp alone (an upload): a clear message, nothing written
    with pytest.raises(ValidationError, match="zip them together") as info:
        importing.import_bytes(
            store, shp.read_bytes(), "hazards.shp", organisation="SHP", mapping=mapping
        )
    assert str(info.value).startswith("hazards.shp:")
    (tmp_path / "hazards.dbf").unlink()
    with pytest.raises(ValidationError, match=r"\.dbf file is missing"):
        importing.import_path(store, shp, organisation="SHP", mapping=mapping)
    assert counts(store) == before


def test_coordinate_tables_in_xlsx_and_projected_crs(store: Store, tmp_path: Path) -> None:
    """XLSX/CSV tables with lat/lon or projected x/y (any EPSG CRS), and a GIS file in 3857."""
    import geopandas as gpd
    from openpyxl import Workbook
    from pyproj import Transformer
    from shapely.geometry import Point

    lon, lat = 36.25, 51.45
    utm = Transformer.from_crs("EPSG:4326", "EPSG:32637", always_xy=True).transform(lon, lat)

    def xlsx(header: list[str], rows: list[list[object]]) -> bytes:
        wb = Workbook()
        ws = wb.active
        assert ws is not None
        ws.append(header)
        for r in rows:
            ws.append(r)
        path = tmp_path / "t.xlsx"
        wb.save(path)
        return path.read_bytes()

    cases = [
        (
            "latlon.xlsx",
            xlsx(
                ["report_date", "eo_category", "eo_quantity", "lat", "lon"],
                [["2026-04-12", "UXO", 2, lat, lon]],
            ),
            None,
        ),
        (
            "utm.xlsx",
            xlsx(
                ["report_date", "eo_category", "eo_quantity", "EASTING", "NORTHING"],
                [["2026-04-12", "UXO", 2, *utm]],
            ),
            "form: ma_eo_spot\ncrs: EPSG:32637\ncoordinates:\n  x: EASTING\n  y: NORTHING\n",
        ),
        (
            "utm.csv",
            f"report_date,eo_category,eo_quantity,E,N\n2026-04-12,UXO,2,{utm[0]:.3f},{utm[1]:.3f}\n".encode(),
            "form: ma_eo_spot\ncrs: EPSG:32637\ncoordinates:\n  x: E\n  y: N\n",
        ),
    ]
    merc = gpd.GeoDataFrame(
        {"report_date": ["2026-04-12"], "eo_category": ["UXO"], "eo_quantity": [2]},
        geometry=[Point(lon, lat)],
        crs="EPSG:4326",
    ).to_crs("EPSG:3857")
    merc.to_file(tmp_path / "merc.gpkg", driver="GPKG")
    cases.append(("merc.gpkg", (tmp_path / "merc.gpkg").read_bytes(), None))
    for k, (name, data, mapping) in enumerate(cases):
        org = f"T{k}"
        kw = {"mapping": mapping} if mapping else {"form": "ma_eo_spot"}
        result = importing.import_bytes(store, data, name, organisation=org, **kw)  # type: ignore[arg-type]
        assert (result.totals.new, result.totals.rejected) == (1, 0), (name, result.records)
        with store.read() as conn:
            payload = conn.execute(
                select(s.report.c.payload).where(s.report.c.organisation == org)
            ).scalar_one()
        x, y = payload["eo"]["items"][0]["point"]["coordinates"]
        assert (x, y) == pytest.approx((lon, lat), abs=1e-6), name
        assert payload["eo"]["items"][0]["quantity"] == 2
