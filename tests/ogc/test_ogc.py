"""OGC API - Features: landing, conformance, collections, items, paging, CRS, errors, scope."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Seeded

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


def get(shared: Seeded, path: str, who: str = "admin", status: int = 200, **params: Any) -> Any:
    r = shared.client.get(f"/ogc{path}", headers=shared.accounts.headers(who), params=params)
    assert r.status_code == status, r.text
    return r


def test_landing_and_conformance(shared: Seeded) -> None:
    doc = get(shared, "/", who="public").json()
    rels = {ln["rel"]: ln for ln in doc["links"]}
    assert rels["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert {"self", "data", "conformance", "service-doc"} <= set(rels)
    api = get(shared, "/api", who="public")
    assert api.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    oas = api.json()
    assert oas["openapi"].startswith("3.0") and "/collections/hazards/items" in oas["paths"]
    assert oas["components"]["parameters"]["limit"]["schema"]["maximum"] == 10_000
    conf = get(shared, "/conformance", who="public").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conf
    html = get(shared, "/", who="public", f="html")
    assert html.headers["content-type"].startswith("text/html") and "<a href" in html.text


def test_public_sees_only_the_generalised_view(shared: Seeded) -> None:
    ids = [c["id"] for c in get(shared, "/collections", who="public").json()["collections"]]
    assert ids == ["public-grid", "public-areas"]
    assert get(shared, "/collections/hazards/items", who="public", status=401)
    grid = get(shared, "/collections/public-grid/items", who="public").json()
    assert grid["numberMatched"] == 2
    for f in grid["features"]:
        ring = f["geometry"]["coordinates"][0]
        (x0, y0), (x1, y1) = ring[0], ring[2]
        size = f["properties"]["cell_deg"]
        # cells are grid-aligned squares: nothing finer than the grid leaks
        assert abs(abs(x1 - x0) - size) < 1e-9 and abs(abs(y1 - y0) - size) < 1e-9
        assert abs(round(x0 / size) * size - x0) < 1e-9
        assert set(f["properties"]) >= {"open_hazards", "remaining_m2", "cleared_m2"}
        assert "hazard_id" not in f["properties"] and "name" not in f["properties"]
    areas = get(shared, "/collections/public-areas/items", who="public").json()
    assert {f["id"] for f in areas["features"]} == {"UA01", "UA02"}
    ids_all = [c["id"] for c in get(shared, "/collections", who="viewer").json()["collections"]]
    assert "hazards" in ids_all and "public-grid" in ids_all


def test_collection_metadata(shared: Seeded) -> None:
    c = get(shared, "/collections/hazards").json()
    assert c["id"] == "hazards" and c["itemType"] == "feature"
    assert c["storageCrs"] == CRS84 and f"{EPSG}3857" in c["crs"] and f"{EPSG}32636" in c["crs"]
    bbox = c["extent"]["spatial"]["bbox"][0]
    assert 35.19 < bbox[0] < bbox[2] < 35.3
    assert any(ln["rel"] == "items" and ln["type"] == "application/geo+json" for ln in c["links"])


def test_items_paging_links_and_counts(shared: Seeded) -> None:
    r = get(shared, "/collections/eo/items", limit=2)
    assert r.headers["content-type"].startswith("application/geo+json")
    assert r.headers["Content-Crs"] == f"<{CRS84}>"
    doc = r.json()
    assert doc["numberMatched"] == 6 and doc["numberReturned"] == 2
    links = {ln["rel"]: ln for ln in doc["links"]}
    assert "prev" not in links and links["next"]["type"] == "application/geo+json"
    assert all(isinstance(f["id"], int) for f in doc["features"])
    nxt = shared.client.get(links["next"]["href"], headers=shared.accounts.headers("admin")).json()
    assert nxt["numberReturned"] == 2 and {ln["rel"] for ln in nxt["links"]} >= {"next", "prev"}
    last = get(shared, "/collections/eo/items", limit=2, offset=4).json()
    assert "next" not in {ln["rel"] for ln in last["links"]}
    clamped = get(shared, "/collections/eo/items", limit=1_000_000).json()
    assert clamped["numberReturned"] == 6
    # numberMatched is the full count on every page: full, short last, past the end
    for offset, returned in ((0, 4), (4, 2), (5, 1), (6, 0), (50, 0)):
        page = get(shared, "/collections/eo/items", limit=4, offset=offset).json()
        assert (page["numberMatched"], page["numberReturned"]) == (6, returned), offset


def test_bbox_datetime_and_property_filters(shared: Seeded) -> None:
    west = get(shared, "/collections/hazards/items", bbox="35.19,51.19,35.21,51.21").json()
    assert [f["id"] for f in west["features"]] == ["HA"]
    eo_west = get(shared, "/collections/eo/items", bbox="35.19,51.19,35.21,51.21").json()
    located = [f for f in eo_west["features"] if f["geometry"] is not None]
    assert {f["properties"]["organisation"] for f in located} == {"ORG-A"}
    april = get(shared, "/collections/eo/items", datetime="2024-04-01/..").json()
    assert {f["properties"]["date"] for f in april["features"]} == {"2024-04-01"}
    exact = get(shared, "/collections/eo/items", datetime="2024-03-01").json()
    assert exact["numberMatched"] == 2
    uxo = get(shared, "/collections/eo/items", category="UXO").json()
    assert {f["properties"]["category"] for f in uxo["features"]} == {"UXO"}
    cleared = get(shared, "/collections/released/items", outcome="cleared").json()
    assert cleared["numberMatched"] == 2
    assert (
        get(shared, "/collections/released/items", outcome="cancelled").json()["numberMatched"] == 0
    )


def test_crs_parameters_and_content_crs(shared: Seeded) -> None:
    plain = get(shared, "/collections/hazards/items/HA").json()
    lon, lat = plain["geometry"]["coordinates"][0][0]
    r = get(shared, "/collections/hazards/items/HA", crs=f"{EPSG}4326")
    assert r.headers["Content-Crs"] == f"<{EPSG}4326>"
    assert r.json()["geometry"]["coordinates"][0][0] == [lat, lon]  # authority axis order
    utm = get(shared, "/collections/hazards/items/HA", crs=f"{EPSG}32636").json()
    x, y = utm["geometry"]["coordinates"][0][0]
    assert 200_000 < x < 800_000 and 5_600_000 < y < 5_700_000
    merc = get(shared, "/collections/hazards/items", crs=f"{EPSG}3857").json()
    assert merc["features"][0]["geometry"]["coordinates"][0][0][0] > 3_900_000
    # bbox given in UTM finds the same hazard
    box = get(
        shared,
        "/collections/hazards/items",
        bbox=f"{x - 50},{y - 50},{x + 50},{y + 50}",
        **{"bbox-crs": f"{EPSG}32636"},
    ).json()
    assert [f["id"] for f in box["features"]] == ["HA"]
    latlon = get(
        shared,
        "/collections/hazards/items",
        bbox="51.19,35.19,51.21,35.21",
        **{"bbox-crs": f"{EPSG}4326"},
    ).json()
    assert [f["id"] for f in latlon["features"]] == ["HA"]


def test_invalid_parameters_are_400(shared: Seeded) -> None:
    for params in (
        {"bbox": "1,2,3"},
        {"bbox": "a,b,c,d"},
        {"limit": "0"},
        {"limit": "x"},
        {"offset": "-1"},
        {"datetime": "last week"},
        {"datetime": "2024-05-01/2024-01-01"},
        {"crs": "EPSG:2056"},
        {"bbox-crs": "EPSG:27700", "bbox": "1,2,3,4"},
        {"colour": "red"},
        {"f": "xml"},
    ):
        r = shared.client.get(
            "/ogc/collections/hazards/items",
            params=params,
            headers=shared.accounts.headers("admin"),
        )
        assert r.status_code == 400, (params, r.text)
        assert r.json()["code"] == "invalid"


def test_single_item_links_scope_and_html(shared: Seeded) -> None:
    f = get(shared, "/collections/activities/items/R-A-ACT", who="entry").json()
    assert f["id"] == "R-A-ACT" and f["geometry"]["type"] == "Polygon"
    assert {ln["rel"] for ln in f["links"]} == {"self", "alternate", "collection"}
    get(shared, "/collections/activities/items/R-B-ACT", who="entry", status=404)
    mine = get(shared, "/collections/hazards/items", who="entry").json()
    assert [x["id"] for x in mine["features"]] == ["HA"]
    get(shared, "/collections/hazards/items/NOPE", status=404)
    html = get(shared, "/collections/hazards/items", f="html")
    assert "<table" in html.text and "HA" in html.text
