"""OGC API - Features at ``/ogc`` (Part 1 core, GeoJSON, HTML, OpenAPI 3.0; Part 2 CRS).

Readable by GDAL's OAPIF driver and QGIS: canonical paths, typed links, ``numberMatched`` /
``numberReturned``, top-level feature ``id``, ``limit`` clamped to 10,000, 400 for invalid or
unknown parameters, ``crs`` / ``bbox-crs`` for EPSG:4326, EPSG:3857 and the WGS84 UTM zones,
with ``Content-Crs``. Each collection has its own routes so that the access policy
(:mod:`mineaction.web.policy`) decides per collection who may read it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from functools import lru_cache
from html import escape
from typing import Any
from urllib.parse import urlencode

import numpy as np
import orjson
import shapely
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pyproj import CRS, Transformer
from shapely.geometry import mapping, shape

from mineaction.api.common import MAX_OFFSET
from mineaction.errors import NotFoundError, PermissionDeniedError, ValidationError
from mineaction.ogc.collections import COLLECTIONS, Collection, Query, extent
from mineaction.services.users import User
from mineaction.web.auth import CurrentUser

router = APIRouter(prefix="/ogc", include_in_schema=False)

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
SUPPORTED_CRS = [CRS84, f"{EPSG}4326", f"{EPSG}3857"] + [
    f"{EPSG}{326 * 100 + z}" for z in range(1, 61)
]
GEOJSON = "application/geo+json"
JSON = "application/json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]
MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100
COMMON_PARAMS = {"f"}
ITEMS_PARAMS = {"f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime"}
ITEM_PARAMS = {"f", "crs"}


# --- helpers -------------------------------------------------------------------------------


def _json(data: Any, media_type: str = JSON, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        media_type=media_type,
        headers=headers,
    )


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _wants_html(request: Request) -> bool:
    f = request.query_params.get("f")
    if f is not None:
        if f not in ("json", "html", "geojson"):
            raise ValidationError(f"unknown format f={f!r}: use json or html", where="f")
        return f == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "json" not in accept


def _check_params(request: Request, allowed: set[str]) -> None:
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise ValidationError(
            f"unknown query parameter(s) {', '.join(unknown)}: allowed are "
            f"{', '.join(sorted(allowed))}"
        )


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>{escape(title)}</title><body style='font-family:sans-serif;margin:2em'>"
        f"<h1>{escape(title)}</h1>{body}</body></html>"
    )


def _links_html(links: list[dict[str, str]]) -> str:
    return (
        "<ul>"
        + "".join(
            f"<li><a href='{escape(ln['href'])}'>{escape(ln.get('title') or ln['rel'])}</a> "
            f"({escape(ln['rel'])}, {escape(ln.get('type', ''))})</li>"
            for ln in links
        )
        + "</ul>"
    )


def _allowed(user: User, c: Collection) -> None:
    if user.role not in c.roles:
        if user.is_anonymous:
            from mineaction.errors import AuthenticationError

            raise AuthenticationError(
                f"collection {c.id} needs a user account or an API token (HTTP Basic: user "
                "name + token)"
            )
        raise PermissionDeniedError(f"role {user.role.value} may not read collection {c.id}")


def visible(user: User) -> list[Collection]:
    """Return the collections this user may read."""
    return [c for c in COLLECTIONS.values() if user.role in c.roles]


# --- CRS -------------------------------------------------------------------------------------


def _crs_uri(value: str, param: str) -> str:
    v = value.strip()
    if v.startswith("[") and v.endswith("]"):  # safe CURIE [EPSG:4326]
        v = v[1:-1]
    m = re.fullmatch(r"(?i)EPSG:(\d+)", v)
    if m:
        v = f"{EPSG}{m.group(1)}"
    if v.upper() in ("CRS84", "OGC:CRS84"):
        v = CRS84
    if v not in SUPPORTED_CRS:
        raise ValidationError(
            f"unsupported CRS {value!r}: use {CRS84}, {EPSG}4326, {EPSG}3857 or a WGS84 UTM "
            f"zone {EPSG}326NN",
            where=param,
        )
    return v


@lru_cache(maxsize=128)
def _transformer(src: str, dst: str) -> Transformer:
    def crs(uri: str) -> CRS:
        return CRS.from_user_input("OGC:CRS84" if uri == CRS84 else f"EPSG:{uri.rsplit('/', 1)[1]}")

    return Transformer.from_crs(crs(src), crs(dst))


def _reproject(feature: dict[str, Any], crs: str) -> dict[str, Any]:
    if crs == CRS84 or feature.get("geometry") is None:
        return feature
    t = _transformer(CRS84, crs)
    obj = feature["geometry"]
    geom = shapely.transform(
        shape(obj),
        lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])),
    )
    return {**feature, "geometry": mapping(geom)}


def _bbox(request: Request) -> tuple[float, float, float, float] | None:
    raw = request.query_params.get("bbox")
    if raw is None:
        return None
    try:
        nums = [float(v) for v in raw.split(",")]
    except ValueError:
        raise ValidationError(f"bbox {raw!r}: expected 4 or 6 numbers", where="bbox") from None
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if len(nums) != 4 or any(v != v or abs(v) == float("inf") for v in nums):
        raise ValidationError(f"bbox {raw!r}: expected 4 or 6 numbers", where="bbox")
    crs = _crs_uri(request.query_params.get("bbox-crs", CRS84), "bbox-crs")
    if crs != CRS84:
        t = _transformer(crs, CRS84)
        x0, y0, x1, y1 = t.transform_bounds(nums[0], nums[1], nums[2], nums[3])
        # transform_bounds returns in the target's order (CRS84: lon, lat)
        nums = [x0, y0, x1, y1]
    x0, y0, x1, y1 = nums
    if x0 > x1 or y0 > y1:
        raise ValidationError(f"bbox {raw!r}: minimum above maximum", where="bbox")
    return (x0, y0, x1, y1)


def _date_part(text: str) -> date | None:
    if text in ("", ".."):
        return None
    try:
        if "T" in text or " " in text:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"datetime {text!r}: use an RFC 3339 date/time or an interval a/b with '..' for open",
            where="datetime",
        ) from None


def _datetime(request: Request) -> tuple[date | None, date | None]:
    raw = request.query_params.get("datetime")
    if raw is None:
        return None, None
    if "/" in raw:
        a, _, b = raw.partition("/")
        start, end = _date_part(a), _date_part(b)
        if start and end and end < start:
            raise ValidationError(f"datetime {raw!r}: end before start", where="datetime")
        return start, end
    d = _date_part(raw)
    if d is None:
        raise ValidationError(f"datetime {raw!r}: not a date", where="datetime")
    return d, d


def _int_param(
    request: Request, name: str, default: int, minimum: int, maximum: int | None = None
) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(f"{name} {raw!r} is not an integer", where=name) from None
    if value < minimum:
        raise ValidationError(f"{name} must be at least {minimum}", where=name)
    if maximum is not None and value > maximum:
        raise ValidationError(f"{name} must be at most {maximum:,}", where=name)
    return value


# --- landing, conformance, API definition -----------------------------------------------------


@router.get("")
@router.get("/")
def landing(request: Request, user: CurrentUser) -> Response:
    """Landing page."""
    _check_params(request, COMMON_PARAMS)
    b = _base(request)
    links = [
        {"rel": "self", "type": JSON, "title": "this document", "href": f"{b}/"},
        {"rel": "alternate", "type": "text/html", "title": "as HTML", "href": f"{b}/?f=html"},
        {"rel": "service-desc", "type": OPENAPI, "title": "API definition", "href": f"{b}/api"},
        {
            "rel": "service-doc",
            "type": "text/html",
            "title": "API documentation",
            "href": str(request.base_url) + "docs",
        },
        {"rel": "conformance", "type": JSON, "title": "conformance", "href": f"{b}/conformance"},
        {"rel": "data", "type": JSON, "title": "collections", "href": f"{b}/collections"},
    ]
    doc: dict[str, Any] = {
        "title": "mineaction OGC API - Features",
        "description": "Hazards, remaining areas, released land, activities and EO finds "
        "of the national mine action database; a generalised public view.",
        "links": links,
    }
    if _wants_html(request):
        return _page(doc["title"], f"<p>{escape(doc['description'])}</p>" + _links_html(links))
    return _json(doc)


@router.get("/conformance")
def conformance(request: Request, user: CurrentUser) -> Response:
    """Conformance classes."""
    _check_params(request, COMMON_PARAMS)
    if _wants_html(request):
        return _page(
            "Conformance", "<ul>" + "".join(f"<li>{c}</li>" for c in CONFORMANCE) + "</ul>"
        )
    return _json({"conformsTo": CONFORMANCE})


@router.get("/api")
def api_definition(request: Request, user: CurrentUser) -> Response:
    """The OpenAPI 3.0 definition of this OGC API."""
    return _json(openapi(_base(request)), media_type=OPENAPI)


def openapi(base: str) -> dict[str, Any]:
    """Return the OpenAPI 3.0 document of the OGC API (every collection, every parameter)."""
    p = "#/components/parameters/"
    paths: dict[str, Any] = {
        "/": {
            "get": {
                "summary": "Landing page",
                "operationId": "landing",
                "parameters": [{"$ref": p + "f"}],
                "responses": _resp("landing page"),
            }
        },
        "/conformance": {
            "get": {
                "summary": "Conformance",
                "operationId": "conformance",
                "parameters": [{"$ref": p + "f"}],
                "responses": _resp("conformance"),
            }
        },
        "/collections": {
            "get": {
                "summary": "Collections",
                "operationId": "collections",
                "parameters": [{"$ref": p + "f"}],
                "responses": _resp("collections"),
            }
        },
    }
    for c in COLLECTIONS.values():
        queryables = [
            {
                "name": q,
                "in": "query",
                "required": False,
                "style": "form",
                "explode": False,
                "schema": {"type": c.properties.get(q, "string")},
            }
            for q in c.queryables
        ]
        paths[f"/collections/{c.id}"] = {
            "get": {
                "summary": c.title,
                "operationId": f"describe-{c.id}",
                "parameters": [{"$ref": p + "f"}],
                "responses": _resp("collection"),
            }
        }
        paths[f"/collections/{c.id}/items"] = {
            "get": {
                "summary": f"{c.title}: features",
                "operationId": f"items-{c.id}",
                "parameters": [
                    {"$ref": p + n}
                    for n in ("limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "f")
                ]
                + queryables,
                "responses": _resp("features", GEOJSON),
            }
        }
        paths[f"/collections/{c.id}/items/{{featureId}}"] = {
            "get": {
                "summary": f"{c.title}: one feature",
                "operationId": f"item-{c.id}",
                "parameters": [{"$ref": p + "featureId"}, {"$ref": p + "crs"}, {"$ref": p + "f"}],
                "responses": _resp("feature", GEOJSON),
            }
        }
    return {
        "openapi": "3.0.3",
        "info": {"title": "mineaction OGC API - Features", "version": "1.0.0"},
        "servers": [{"url": base}],
        "components": {
            "securitySchemes": {
                "basic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "user name + API token",
                },
                "bearer": {"type": "http", "scheme": "bearer"},
            },
            "parameters": {
                "limit": {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "style": "form",
                    "explode": False,
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_LIMIT,
                        "default": DEFAULT_LIMIT,
                    },
                },
                "offset": {
                    "name": "offset",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 0, "default": 0},
                },
                "bbox": {
                    "name": "bbox",
                    "in": "query",
                    "required": False,
                    "style": "form",
                    "explode": False,
                    "schema": {
                        "type": "array",
                        "minItems": 4,
                        "maxItems": 6,
                        "items": {"type": "number"},
                    },
                },
                "bbox-crs": {
                    "name": "bbox-crs",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "format": "uri", "enum": SUPPORTED_CRS},
                },
                "crs": {
                    "name": "crs",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "format": "uri", "enum": SUPPORTED_CRS},
                },
                "datetime": {
                    "name": "datetime",
                    "in": "query",
                    "required": False,
                    "style": "form",
                    "explode": False,
                    "schema": {"type": "string"},
                },
                "f": {
                    "name": "f",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": ["json", "html"]},
                },
                "featureId": {
                    "name": "featureId",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                },
            },
        },
        "security": [{}, {"basic": []}, {"bearer": []}],
        "paths": paths,
    }


def _resp(what: str, media: str = JSON) -> dict[str, Any]:
    return {
        "200": {"description": what, "content": {media: {}, "text/html": {}}},
        "400": {"description": "invalid parameter"},
        "401": {"description": "sign in needed"},
        "403": {"description": "role may not read this"},
        "404": {"description": "not found"},
    }


# --- collections ----------------------------------------------------------------------------


def _collection_doc(request: Request, c: Collection, bbox: list[float] | None) -> dict[str, Any]:
    b = _base(request)
    doc: dict[str, Any] = {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": SUPPORTED_CRS,
        "storageCrs": CRS84,
        "links": [
            {"rel": "self", "type": JSON, "href": f"{b}/collections/{c.id}"},
            {"rel": "alternate", "type": "text/html", "href": f"{b}/collections/{c.id}?f=html"},
            {"rel": "items", "type": GEOJSON, "href": f"{b}/collections/{c.id}/items"},
            {"rel": "items", "type": "text/html", "href": f"{b}/collections/{c.id}/items?f=html"},
        ],
    }
    if bbox is not None:
        doc["extent"] = {"spatial": {"bbox": [bbox], "crs": CRS84}}
    return doc


def collections_index(request: Request, user: CurrentUser) -> Response:
    """The collections this caller may read."""
    _check_params(request, COMMON_PARAMS)
    b = _base(request)
    with request.app.state.store.read() as conn:
        cols = [_collection_doc(request, c, extent(conn, c)) for c in visible(user)]
    doc = {
        "links": [
            {"rel": "self", "type": JSON, "href": f"{b}/collections"},
            {"rel": "alternate", "type": "text/html", "href": f"{b}/collections?f=html"},
        ],
        "collections": cols,
    }
    if _wants_html(request):
        body = (
            "<ul>"
            + "".join(
                f"<li><a href='{escape(b)}/collections/{escape(c['id'])}/items?f=html'>"
                f"{escape(c['title'])}</a>: {escape(c['description'])}</li>"
                for c in cols
            )
            + "</ul>"
        )
        return _page("Collections", body)
    return _json(doc)


router.add_api_route("/collections", collections_index, methods=["GET"])


def _describe(c: Collection) -> Any:
    def describe(request: Request, user: CurrentUser) -> Response:
        _allowed(user, c)
        _check_params(request, COMMON_PARAMS)
        with request.app.state.store.read() as conn:
            doc = _collection_doc(request, c, extent(conn, c))
        if _wants_html(request):
            return _page(c.title, f"<p>{escape(c.description)}</p>" + _links_html(doc["links"]))
        return _json(doc)

    return describe


def _items(c: Collection) -> Any:
    def items(request: Request, user: CurrentUser) -> Response:
        _allowed(user, c)
        _check_params(request, ITEMS_PARAMS | set(c.queryables))
        limit = min(_int_param(request, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT)
        offset = _int_param(request, "offset", 0, 0, MAX_OFFSET)  # beyond: database overflow
        start, end = _datetime(request)
        crs = _crs_uri(request.query_params.get("crs", CRS84), "crs")
        q = Query(
            bbox=_bbox(request),
            start=start if c.temporal else None,
            end=end if c.temporal else None,
            equals={k: v for k, v in request.query_params.items() if k in c.queryables},
            limit=limit,
            offset=offset,
        )
        store = request.app.state.store
        with store.read() as conn:
            page = c.read(conn, user.scope, q, store.dialect)
        html = _wants_html(request)
        n = len(page)
        features: Any
        if page.texts is not None and crs == CRS84 and not html:
            # GeoJSON texts written by the database go out as they are
            features = orjson.Fragment("[" + ",".join(page.texts) + "]")
        else:
            features = [_reproject(f, crs) for f in page.dicts()]
        b = f"{_base(request)}/collections/{c.id}/items"
        params = dict(request.query_params)
        params.pop("f", None)

        def url(**over: Any) -> str:
            merged = {**params, **{k: str(v) for k, v in over.items()}}
            return f"{b}?{urlencode(merged)}" if merged else b

        links = [
            {"rel": "self", "type": GEOJSON, "href": url()},
            {"rel": "alternate", "type": "text/html", "href": url(f="html")},
            {"rel": "collection", "type": JSON, "href": f"{_base(request)}/collections/{c.id}"},
        ]
        if offset + n < page.matched:
            links.append(
                {"rel": "next", "type": GEOJSON, "href": url(offset=offset + limit, limit=limit)}
            )
        if offset > 0:
            links.append(
                {
                    "rel": "prev",
                    "type": GEOJSON,
                    "href": url(offset=max(0, offset - limit), limit=limit),
                }
            )
        headers = {"Content-Crs": f"<{crs}>"}
        if html:
            return _items_html(c, features, page.matched, links, headers)
        doc = {
            "type": "FeatureCollection",
            "features": features,
            "numberMatched": page.matched,
            "numberReturned": n,
            "timeStamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "links": links,
        }
        return _json(doc, GEOJSON, headers)

    return items


def _items_html(
    c: Collection,
    feats: list[dict[str, Any]],
    matched: int,
    links: list[dict[str, str]],
    headers: dict[str, str],
) -> Response:
    props = list(c.properties)
    head = "".join(f"<th>{escape(p)}</th>" for p in ["id", *props])
    rows = "".join(
        "<tr>"
        + f"<td>{escape(str(f['id']))}</td>"
        + "".join(f"<td>{escape(str(f['properties'].get(p, '')))}</td>" for p in props)
        + "</tr>"
        for f in feats
    )
    nav = " ".join(
        f"<a href='{escape(ln['href'].replace('f=html', '') + '&f=html')}'>{ln['rel']}</a>"
        for ln in links
        if ln["rel"] in ("next", "prev")
    )
    resp = _page(
        c.title,
        f"<p>{len(feats)} of {matched} features. {nav}</p><table border=1><tr>{head}</tr>{rows}</table>",
    )
    resp.headers.update(headers)
    return resp


def _item(c: Collection) -> Any:
    def item(feature_id: str, request: Request, user: CurrentUser) -> Response:
        _allowed(user, c)
        _check_params(request, ITEM_PARAMS)
        crs = _crs_uri(request.query_params.get("crs", CRS84), "crs")
        with request.app.state.store.read() as conn:
            feat = c.get(conn, user.scope, feature_id)
        if feat is None:
            raise NotFoundError(f"no feature {feature_id!r} in collection {c.id}")
        feat = _reproject(feat, crs)
        b = f"{_base(request)}/collections/{c.id}"
        feat["links"] = [
            {"rel": "self", "type": GEOJSON, "href": f"{b}/items/{feature_id}"},
            {"rel": "alternate", "type": "text/html", "href": f"{b}/items/{feature_id}?f=html"},
            {"rel": "collection", "type": JSON, "href": b},
        ]
        headers = {"Content-Crs": f"<{crs}>"}
        if _wants_html(request):
            body = (
                "<table border=1>"
                + "".join(
                    f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>"
                    for k, v in feat["properties"].items()
                )
                + "</table>"
            )
            resp = _page(f"{c.title}: {feature_id}", body)
            resp.headers.update(headers)
            return resp
        return _json(feat, GEOJSON, headers)

    return item


for _c in COLLECTIONS.values():
    router.add_api_route(f"/collections/{_c.id}", _describe(_c), methods=["GET"])
    router.add_api_route(f"/collections/{_c.id}/items", _items(_c), methods=["GET"])
    router.add_api_route(f"/collections/{_c.id}/items/{{feature_id}}", _item(_c), methods=["GET"])
