"""Import validation gaps: hostile coordinates fail the whole file; invalid polygons offer a repair."""

from __future__ import annotations

import io
import zipfile

import orjson
import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import func, select

from mineaction.errors import UnsafeCoordinateError, ValidationError
from mineaction.forms import synthetic as syn
from mineaction.services import importing, ledger
from mineaction.services import quarantine as qsvc
from mineaction.store import schema as s
from mineaction.store.engine import Store

TABLES = (s.report, s.report_event, s.quarantine, s.import_batch, s.audit_log)
BOWTIE = "51.2 35.2 0 0;51.21 35.21 0 0;51.2 35.21 0 0;51.21 35.2 0 0;51.2 35.2 0 0"


def counts(store: Store) -> dict[str, int]:
    with store.read() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in TABLES
        }


def kobo(*subs: syn.Filled) -> bytes:
    return orjson.dumps(syn.kobo_json(list(subs)))


def _eo(seed: int, point: str) -> syn.Filled:
    sub = syn.fill("ma_eo_spot", seed)
    sub.repeats["items"][0]["eo_point"] = point
    return sub


HOSTILE_POINTS = [
    ("1e300 35.2 0 0", "latitude", "absurdly large"),
    ("51.3 -1e300 0 0", "longitude", "absurdly large"),
    ("NaN 35.2 0 0", "latitude", "not a finite number"),
    ("51.3 inf 0 0", "longitude", "not a finite number"),
    ("51.3 35.2 1e300 4", "altitude", "absurdly large"),
]


@pytest.mark.parametrize("point,what,words", HOSTILE_POINTS)
def test_hostile_coordinates_in_a_submission_fail_the_whole_file(
    store: Store, point: str, what: str, words: str
) -> None:
    importing.import_bytes(store, kobo(_eo(1, "51.3 35.2 0 4")), "ok.json", organisation="FSD")
    before = counts(store)
    data = kobo(_eo(2, "51.3 35.21 0 4"), _eo(3, point), _eo(4, "51.3 35.22 0 4"))
    for dry in (True, False):
        with pytest.raises(UnsafeCoordinateError) as info:
            importing.import_bytes(store, data, "field.json", organisation="FSD", dry_run=dry)
        text = str(info.value)
        # file, record (submission id), field and what is wrong
        assert text.startswith("field.json, submission ")
        assert "items[0].eo_point" in text and what in text and words in text
        assert "nothing was imported" in text
    assert counts(store) == before  # not even the good records before and after it


def _table(rows: list[tuple[str, str]]) -> bytes:
    lines = ["report_date,eo_category,eo_quantity,lat,lon"]
    lines += [f"2026-04-10,UXO,1,{lat},{lon}" for lat, lon in rows]
    return ("\n".join(lines) + "\n").encode()


def _geojson(coords: list[float]) -> bytes:
    feature = {
        "type": "Feature",
        "properties": {"report_date": "2026-04-10", "eo_category": "UXO", "eo_quantity": 1},
        "geometry": {"type": "Point", "coordinates": coords},
    }
    good = {**feature, "geometry": {"type": "Point", "coordinates": [35.2, 51.3]}}
    return orjson.dumps({"type": "FeatureCollection", "features": [good, feature]})


def _gpkg(x: float, tmp_path: object) -> bytes:
    import geopandas as gpd

    gdf = gpd.GeoDataFrame(
        {"report_date": ["2026-04-10", "2026-04-10"], "eo_category": ["UXO", "UXO"]},
        geometry=[shapely.Point(35.2, 51.3), shapely.Point(x, 51.3)],
        crs="EPSG:4326",
    )
    path = f"{tmp_path}/eo.gpkg"
    gdf.to_file(path, driver="GPKG")
    with open(path, "rb") as fh:
        return fh.read()


def test_hostile_coordinates_in_gis_files_and_tables_fail_the_file(
    store: Store, tmp_path: object
) -> None:
    before = counts(store)
    cases = [
        ("eo.csv", _table([("51.3", "35.2"), ("51.3", "1e300")]), "row 3"),
        ("eo.csv", _table([("51.3", "35.2"), ("nan", "35.2")]), "row 3"),
        ("eo.geojson", _geojson([1e300, 51.3]), "feature 2"),
        ("eo.gpkg", _gpkg(float("inf"), tmp_path), "feature 2"),
        ("eo.gpkg", _gpkg(-5e200, tmp_path), "feature 2"),
    ]
    for name, data, where in cases:
        with pytest.raises(UnsafeCoordinateError) as info:
            importing.import_bytes(store, data, name, organisation="FSD", form="ma_eo_spot")
        assert str(info.value).startswith(f"{name}, {where}"), str(info.value)
    assert counts(store) == before
    # an ordinary typo (out of range, not absurd) still only quarantines its record
    typo = importing.import_bytes(
        store,
        _table([("51.3", "35.2"), ("95.1", "35.2")]),
        "eo.csv",
        organisation="FSD",
        form="ma_eo_spot",
    )
    assert (typo.totals.new, typo.totals.rejected) == (1, 1)


def test_hostile_coordinates_inside_a_kmz_fail_too(store: Store) -> None:
    kml = (
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        "<Document><Placemark><name>a</name><Point><coordinates>35.2,51.3</coordinates>"
        "</Point></Placemark><Placemark><name>b</name><Point><coordinates>1e305,51.3"
        "</coordinates></Point></Placemark></Document></kml>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("doc.kml", kml)
    before = counts(store)
    with pytest.raises(UnsafeCoordinateError, match="absurdly large") as info:
        importing.import_bytes(
            store, buf.getvalue(), "eo.kmz", organisation="FSD", form="ma_eo_spot"
        )
    assert str(info.value).startswith("eo.kmz")
    assert counts(store) == before


def _bowtie(seed: int) -> syn.Filled:
    sub = syn.fill("ma_hazard", seed)
    sub.answers["polygon"] = BOWTIE
    return sub


def test_invalid_polygon_is_quarantined_with_a_proposed_repair(store: Store) -> None:
    result = importing.import_bytes(store, kobo(_bowtie(5)), "h.json", organisation="FSD")
    rec = result.records[0]
    assert rec.status == "rejected" and rec.problems[0]["field"] == "hazard.polygon"
    assert "Self-intersection" in rec.problems[0]["message"]
    assert rec.repairs and rec.repairs[0]["field"] == "hazard.polygon"
    proposed = shape(rec.repairs[0]["proposed"])
    assert proposed.is_valid and proposed.geom_type == "MultiPolygon" and proposed.area > 0
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(s.report)).scalar_one() == 0
    items, total = qsvc.list_records(store, organisation="FSD")
    assert total == 1 and items[0]["repair_proposed"]
    shown = qsvc.get_record(store, items[0]["id"])
    assert shown["repairs"][0]["proposed"] == rec.repairs[0]["proposed"]
    assert "document" not in shown["repairs"][0]  # the mapped report is kept, not shown
    # accepted explicitly: submitted (not approved) with the repaired geometry, noted
    with pytest.raises(Exception, match="version"):
        qsvc.accept_repair(store, items[0]["id"], actor="qc", version=7)
    made = qsvc.accept_repair(store, items[0]["id"], actor="qc", version=1)
    with store.read() as conn:
        row = (
            conn.execute(select(s.report).where(s.report.c.report_id == made.report_id))
            .mappings()
            .one()
        )
    assert row["state"] == "submitted" and row["source_key"] == items[0]["source_key"]
    assert shape(row["payload"]["hazard"]["polygon"]).equals(proposed)
    note = row["payload"]["extensions"]["geometry_repair"][0]
    assert note["accepted_by"] == "qc" and "Self-intersection" in note["reason"]
    after = qsvc.get_record(store, items[0]["id"])
    assert after["resolution"] == "repaired" and after["report_id"] == made.report_id
    # re-importing the same bad file neither quarantines it again nor duplicates the report
    again = importing.import_bytes(store, kobo(_bowtie(5)), "h.json", organisation="FSD")
    assert again.totals.new == 0
    assert qsvc.list_records(store, organisation="FSD", status="all")[1] == 1
    ledger.approve(store, made.report_id)  # and it can be approved like any report


def test_discard_and_resubmit(store: Store) -> None:
    bad = syn.fill("ma_eo_spot", 8)
    bad.repeats["items"][0]["eo_quantity"] = "-2"
    other = syn.fill("ma_eo_spot", 9)
    other.repeats["items"][0]["eo_quantity"] = "-1"
    importing.import_bytes(store, kobo(bad, other), "eo.json", organisation="FSD")
    items, total = qsvc.list_records(store, form_id="ma_eo_spot")
    assert total == 2
    first, second = sorted(i["id"] for i in items)
    with pytest.raises(ValidationError, match="reason"):
        qsvc.discard(store, first, reason=" ")
    qsvc.discard(store, first, reason="test submission", actor="qc", version=1)
    with pytest.raises(Exception, match="already resolved"):
        qsvc.discard(store, first, reason="again")
    doc = {
        "report_id": "FSD-EO-FIXED",
        "type": "eo",
        "organisation": "FSD",
        "date_of_information": "2026-04-07",
        "eo": {"items": [{"category": "UXO", "quantity": 1}]},
    }
    with pytest.raises(ValidationError, match="organisation"):
        qsvc.resubmit(store, second, {**doc, "organisation": "HALO"})
    made = qsvc.resubmit(store, second, doc, actor="qc")
    assert made.status == "new"
    assert qsvc.list_records(store)[1] == 0
    resolved, n = qsvc.list_records(store, status="resolved")
    assert n == 2 and {r["resolution"] for r in resolved} == {"discarded", "resubmitted"}
    # the discarded record is not quarantined again by a re-import of the same file
    importing.import_bytes(store, kobo(bad, other), "eo.json", organisation="FSD")
    assert qsvc.list_records(store, status="all")[1] == 2


def test_dates_out_of_order_name_their_field(store: Store) -> None:
    """Dates in order: each problem names the field, with the file and submission."""
    future = syn.fill("ma_hazard", 21)
    future.answers["report_date"] = "2031-01-01"  # after the submission was sent (2026-05-02)
    ends_early = syn.fill("ma_activity", 22)
    ends_early.answers["end_date"] = "2026-03-01"  # before its start
    ends_late = syn.fill("ma_activity", 23)
    ends_late.answers["end_date"] = "2026-05-30"  # after the date of information
    accident = syn.fill("ma_accident", 24)
    accident.answers["accident_date"] = "2026-12-01"  # after the date of information
    result = importing.import_bytes(
        store, kobo(future, ends_early, ends_late, accident), "dates.json", organisation="FSD"
    )
    got = [(r.where, r.problems[0]["field"], r.problems[0]["message"]) for r in result.records]
    assert [r.status for r in result.records] == ["rejected"] * 4
    assert got[0][0].startswith("dates.json, submission ")
    assert got[0][1:] == ("report_date", "2031-01-01 is after the submission was sent (2026-05-02)")
    assert got[1][1] == "activity.end_date" and "is before start_date" in got[1][2]
    assert (
        got[2][1] == "activity"
        and "end_date 2026-05-30 is after the date_of_information" in got[2][2]
    )
    assert got[3][1] == "accident_date" and "after the date of information" in got[3][2]
    # a table row has no sending time: a date in the future is refused all the same
    table = importing.import_bytes(
        store,
        b"report_date,eo_category,eo_quantity,lat,lon\n2099-01-01,UXO,1,51.3,35.2\n",
        "eo.csv",
        organisation="FSD",
        form="ma_eo_spot",
    )
    assert table.records[0].problems == [
        {"field": "report_date", "message": "2099-01-01 is in the future"}
    ]
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(s.report)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(s.quarantine)).scalar_one() == 5
