"""Reference layers: load, replace/append, read back, import from GIS files, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from shapely.geometry import LineString, Point, Polygon

from mineaction.cli import cli
from mineaction.errors import GeometryError, ValidationError
from mineaction.services import reference as ref
from mineaction.store.engine import Store


def _settlements() -> list[tuple[Point, dict[str, object]]]:
    return [
        (Point(35.0, 51.0), {"id": "S1", "name": "Alpha", "population": 1200}),
        (Point(35.1, 51.0), {"id": "S2", "name": "Beta", "pop": "300"}),
    ]


def test_load_replace_append_and_read(store: Store) -> None:
    assert ref.load_layer(store, "settlements", _settlements()) == 2
    with store.read() as conn:
        data = ref.read_layer(conn, "settlements")
    assert list(data.feature_ids) == ["S1", "S2"]
    assert list(data.values) == [1200.0, 300.0]
    assert data.geoms[0].equals(Point(35.0, 51.0))

    # replace (the default) drops the previous features
    assert ref.load_layer(store, "settlements", [(Point(36, 52), {"population": 5})]) == 1
    # append keeps them and numbers generated ids after the existing ones
    ref.load_layer(store, "settlements", [(Point(36.1, 52), {"population": 7})], replace=False)
    with store.read() as conn:
        data = ref.read_layer(conn, "settlements")
    assert list(data.feature_ids) == ["settlements-1", "settlements-2"]
    assert list(data.values) == [5.0, 7.0]


def test_kind_value_and_bbox_filter(store: Store) -> None:
    ref.load_layer(
        store,
        "roads",
        [
            (LineString([(35, 51), (35.1, 51)]), {"highway": "primary"}),
            (LineString([(40, 55), (40.1, 55)]), {"class": "track", "market_access": 0.05}),
        ],
    )
    ref.load_layer(store, "infrastructure", [(Point(35, 51), {"amenity": "hospital"})])
    with store.read() as conn:
        roads = ref.read_layer(conn, "roads")
        near = ref.read_layer(conn, "roads", bbox=(34.9, 50.9, 35.05, 51.1))
        infra = ref.read_layer(conn, "infrastructure")
    assert list(roads.kinds) == ["primary", "track"]
    assert roads.values[1] == 0.05
    assert len(near) == 1
    assert list(infra.kinds) == ["clinic"]
    summary = {s.layer: s for s in ref.list_layers(store)}
    assert summary["roads"].features == 2
    assert summary["farmland"].features == 0
    assert summary["infrastructure"].kinds == {"clinic": 1}


def test_rejects_bad_input(store: Store) -> None:
    with pytest.raises(ValidationError, match="unknown reference layer"):
        ref.load_layer(store, "rivers", [])
    with pytest.raises(GeometryError, match="out of range"):
        ref.load_layer(store, "settlements", [(Point(500000, 5500000), {})])
    with pytest.raises(ValidationError, match="appears twice"):
        ref.load_layer(
            store, "settlements", [(Point(35, 51), {"id": 1}), (Point(35, 52), {"id": 1})]
        )
    ref.load_layer(store, "water", [(Point(35, 51), {"id": "W1"})])
    with pytest.raises(ValidationError, match="'W1' appears twice"):
        ref.load_layer(store, "water", [(Point(35, 52), {"id": "W1"})], replace=False)
    # nothing was written by the failed loads
    with store.read() as conn:
        assert len(ref.read_layer(conn, "settlements")) == 0
        assert len(ref.read_layer(conn, "water")) == 1


def test_import_projected_geojson_via_cli(sqlite_store: Store, tmp_path: Path) -> None:
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"landuse": "farmland", "name": "field"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[500000, 5540000], [500100, 5540000], [500100, 5540100], [500000, 5540000]]
                    ],
                },
            }
        ],
    }
    path = tmp_path / "fields.geojson"
    path.write_text(json.dumps(fc))
    runner = CliRunner()
    url = sqlite_store.url
    result = runner.invoke(
        cli,
        [
            "--db",
            url,
            "reference",
            "import",
            str(path),
            "--layer",
            "farmland",
            "--crs",
            "EPSG:32637",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "loaded 1 features into layer farmland" in result.output
    with sqlite_store.read() as conn:
        data = ref.read_layer(conn, "farmland")
    x0, y0, _, _ = data.geoms[0].bounds
    assert round(x0, 3) == 39.0 and round(y0, 3) == 50.012
    assert list(data.kinds) == ["farmland"]
    listed = runner.invoke(cli, ["--db", url, "reference", "list", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    rows = {r["layer"]: r for r in json.loads(listed.output)}
    assert rows["farmland"]["features"] == 1
    assert rows["farmland"]["sources"] == ["fields.geojson"]


def test_import_missing_file(sqlite_store: Store, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="file not found"):
        ref.import_file(sqlite_store, tmp_path / "nope.gpkg", "roads")


def test_polygon_settlement_accepted(sqlite_store: Store) -> None:
    poly = Polygon([(35, 51), (35.01, 51), (35.01, 51.01)])
    assert ref.load_layer(sqlite_store, "settlements", [(poly, {"population": 10})]) == 1
