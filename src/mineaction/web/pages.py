"""The web pages: dashboard, map, hazard pages and review inbox (server-rendered, Jinja2).

Every page goes through the app's access policy (:data:`PAGE_POLICY` is merged into it by
:func:`install`); pages read through the services and render in the user's language.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, cast
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from sqlalchemy import select
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from mineaction.core.access import Role
from mineaction.core.codes import ActivityType, EOCategory
from mineaction.core.geometry import BBox, to_geojson
from mineaction.errors import (
    ConflictError,
    MineActionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from mineaction.services import dashboard, ledger, mapdata
from mineaction.services.dashboard import Scope
from mineaction.store import projections as proj
from mineaction.store import reports as repo
from mineaction.store import schema as s
from mineaction.store.engine import Store
from mineaction.store.settings import get_setting
from mineaction.web import charts, notes_import
from mineaction.web.auth import csrf_token, current_user, known_user
from mineaction.web.auth import login as do_login
from mineaction.web.auth import logout as do_logout
from mineaction.web.i18n import (
    L_,
    LANGUAGES,
    fmt_area,
    fmt_date,
    fmt_m2,
    fmt_number,
    gettext,
    negotiate,
    ngettext,
    use_language,
)
from mineaction.web.labels import (
    code_label,
    report_description,
    report_title,
    role_label,
    scope_text,
    step_label,
    use_country_labels,
)
from mineaction.web.limits import UploadTooLargeError
from mineaction.web.notes import (
    explain_note,
    planning_label,
    region_label,
    shown,
    source_label,
    state_label,
)

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
LANG_COOKIE = "mineaction_lang"

env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]


def at_render(fn: Callable[..., str]) -> Callable[..., str]:
    """Make a filter run at render time, in the page's language (never folded at compile time)."""

    @pass_context
    def filt(_ctx: Any, value: Any, *args: Any, **kw: Any) -> str:
        return fn(value, *args, **kw)

    filt.__doc__ = fn.__doc__
    return filt


_FILTERS: dict[str, Callable[..., str]] = {
    "area": fmt_area,
    "m2": fmt_m2,
    "num": fmt_number,
    "date": fmt_date,
    "label": code_label,
    "short": lambda c: code_label(c, short=True),
    "role": role_label,
    "step": step_label,
    "step_button": lambda s: step_label(s, button=True),
    "tr": shown,
    "place": notes_import.place,
    "reason": notes_import.reason,
    "region": region_label,
    "planning": planning_label,
    "source": source_label,
    "note": explain_note,
    "state": state_label,
}
env.filters.update({name: at_render(fn) for name, fn in _FILTERS.items()})


def _geometry_area(geojson: dict[str, Any]) -> float:
    """Return the area of a GeoJSON geometry in m² on the ellipsoid (0 when unreadable)."""
    from shapely.geometry import shape

    from mineaction.core.geometry import geodesic_area_m2

    try:
        return geodesic_area_m2(shape(geojson))
    except (ValueError, TypeError, AttributeError, KeyError, IndexError):
        return 0.0


env.globals.update(
    sketch=charts.geometry_sketch,
    geometry_area=_geometry_area,
    report_title=report_title,
    report_description=report_description,
    scope_text=scope_text,
    COLOURS=charts.COLOURS,
    LANGUAGES=LANGUAGES,
    ACTIVITY_TYPES=[a.value for a in ActivityType],
    EO_CATEGORIES=[c.value for c in EOCategory],
    ACTIVITY_COLOURS=charts.ACTIVITY_COLOURS,
)

log = logging.getLogger("mineaction.web")
router = APIRouter(include_in_schema=False)

#: Page features by role (the routes themselves are guarded by ``web.policy.POLICY``).
PERMISSIONS: dict[str, frozenset[Role]] = {
    "review": frozenset({Role.ADMIN, Role.IM_OFFICER, Role.OPERATIONS, Role.OPERATOR_QC}),
    "approve": frozenset({Role.ADMIN, Role.IM_OFFICER}),
    "accidents": frozenset({Role.ADMIN, Role.IM_OFFICER, Role.OPERATIONS}),
    "import": frozenset({Role.ADMIN, Role.IM_OFFICER, Role.OPERATOR_ENTRY, Role.OPERATOR_QC}),
    "admin": frozenset({Role.ADMIN}),
    "plans": frozenset({Role.ADMIN, Role.IM_OFFICER, Role.OPERATIONS}),
}


def may(user: Any, what: str) -> bool:
    """True when ``user``'s role may use the page feature ``what``."""
    return getattr(user, "role", None) in PERMISSIONS.get(what, frozenset())


CurrentUser = Annotated[Any, Depends(current_user)]


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def user_scope(user: Any) -> Scope:
    """Return the dashboard/map scope of a user (national when unlimited)."""
    sc = getattr(user, "scope", None)
    if sc is None:
        return dashboard.NATIONAL
    return Scope(getattr(sc, "organisation", None), getattr(sc, "admin_area", None))


def language(request: Request, user: Any) -> str:
    """Return the language a page is rendered in."""
    return negotiate(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        getattr(user, "locale", None),
        request.headers.get("accept-language"),
    )


def _nav_counts(request: Request, user: Any) -> dict[str, int]:
    if not may(user, "review"):
        return {}
    scope = user_scope(user)
    with _store(request).read() as conn:
        return {"pending": _pending_count(conn, scope)}


def _pending_count(conn: Any, scope: Scope) -> int:
    from sqlalchemy import func

    q = select(func.count()).where(s.report.c.state.in_(ledger.PENDING_STATES))
    if scope.organisation:
        q = q.where(s.report.c.organisation == scope.organisation)
    return int(conn.execute(q).scalar() or 0)


def render(
    request: Request, template: str, user: Any, *, status_code: int = 200, **ctx: Any
) -> HTMLResponse:
    """Render a template in the user's language."""
    from mineaction.services.codelists import display_labels

    lang = language(request, user)
    with _store(request).read() as conn:
        programme = get_setting(conn, "programme_name", None)
        country_labels = display_labels(conn)
    with use_language(lang), use_country_labels(country_labels):
        html = env.get_template(template).render(
            request=request,
            user=user,
            lang=lang,
            csrf=csrf_token(request),
            may=lambda what: may(user, what),
            scope=user_scope(user),
            programme=programme,
            nav=_nav_counts(request, user) if not getattr(user, "is_anonymous", True) else {},
            path=request.url.path,
            **ctx,
        )
    resp = HTMLResponse(html, status_code=status_code)
    chosen = request.query_params.get("lang")
    if chosen in LANGUAGES:
        resp.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, samesite="lax", path="/")
    return resp


# --- sign in / out -------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, user: CurrentUser, next: str = "/") -> Response:
    """Show the sign-in form."""
    return render(request, "login.html", user, next=_safe_next(next), error=None)


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    user: CurrentUser,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password and open a web session."""
    resp = RedirectResponse(_safe_next(next), status_code=303)
    try:
        do_login(request, resp, username, password)
    except MineActionError as exc:
        with use_language(language(request, user)):
            msg = gettext("Wrong user name or password.") if exc.http_status == 401 else str(exc)
        return render(
            request,
            "login.html",
            user,
            next=_safe_next(next),
            error=msg,
            status_code=exc.http_status,
        )
    return resp


@router.post("/logout")
def logout(request: Request, user: CurrentUser) -> Response:
    """End the web session."""
    resp = RedirectResponse("/login", status_code=303)
    do_logout(request, resp)
    return resp


# --- dashboard -----------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def dashboard_page(request: Request, user: CurrentUser) -> Response:
    """Headline figures, land released over time, remaining contamination, review queue."""
    if getattr(user, "is_anonymous", True):
        return RedirectResponse("/login", status_code=303)
    scope = user_scope(user)
    lang = language(request, user)
    f = dashboard.figures(_store(request), scope)
    with use_language(lang):
        outcome_labels = {k: code_label(k) for k in dashboard.OUTCOMES}
        released_chart = charts.stacked_columns(
            [(fmt_date(p + "-01", "MMM yy"), v) for p, v in f.released_by_month],
            dashboard.OUTCOMES,
            outcome_labels,
            title=gettext("Land released per month, by outcome"),
        )
        remaining_chart = charts.stacked_bars(
            [(name or gettext("No admin area"), v) for _pc, name, v in f.remaining_by_area],
            ("CHA", "SHA"),
            {"CHA": code_label("CHA", short=True), "SHA": code_label("SHA", short=True)},
            title=gettext("Remaining contamination by area"),
        )
    return render(
        request,
        "dashboard.html",
        user,
        f=f,
        released_chart=released_chart,
        remaining_chart=remaining_chart,
    )


# --- map -----------------------------------------------------------------------------------


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, user: CurrentUser) -> Response:
    """The national map: hazards by class and status, released parts, finds and accidents."""
    store = _store(request)
    scope = user_scope(user)
    with store.read() as conn:
        tile_url = get_setting(conn, "map_tile_url", None)
        orgs = [
            r[0]
            for r in conn.execute(select(s.organisation.c.code).order_by(s.organisation.c.code))
        ]
        if not orgs:
            orgs = sorted({r[0] for r in conn.execute(select(s.hazard.c.organisation).distinct())})
        areas = list(
            conn.execute(
                select(s.location.c.pcode, s.location.c.name)
                .where(s.location.c.admin_level == 1)
                .order_by(s.location.c.name)
            )
        )
    config = {
        "extent": mapdata.extent(store, scope),
        "tileUrl": tile_url,
        "accidents": may(user, "accidents"),
        "polygonZoom": mapdata.POLYGON_ZOOM,
        "detailZoom": mapdata.DETAIL_ZOOM,
        "colours": charts.COLOURS,
        "activityColours": charts.ACTIVITY_COLOURS,
    }
    return render(
        request,
        "map.html",
        user,
        config=config,
        organisations=orgs,
        areas=areas,
    )


def _bbox(text: str) -> list[float]:
    try:
        return BBox.parse(text).as_list()
    except MineActionError as exc:
        raise ValidationError(str(exc), where="bbox") from exc


def _date(text: str | None, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(f"{field} must be a date YYYY-MM-DD, got {text!r}") from exc


@router.get("/map/hazards.json")
def map_hazards(
    request: Request,
    user: CurrentUser,
    bbox: Annotated[str, Query(description="min_lon,min_lat,max_lon,max_lat")],
    zoom: Annotated[float, Query(ge=0, le=24)],
    status: str | None = None,
    cls: Annotated[str | None, Query(alias="class")] = None,
    org: str | None = None,
    location: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Response:
    """Hazards of a map view: clusters, points or simplified polygons by zoom level."""
    filters = mapdata.MapFilter(
        status=status or None,
        classification=cls or None,
        organisation=org or None,
        location=location or None,
        since=_date(since, "since"),
        until=_date(until, "until"),
    )
    data = mapdata.hazards_in_view(
        _store(request), _bbox(bbox), zoom, filters=filters, scope=user_scope(user)
    )
    return _json(data)


def _overlay_filter(
    org: str | None,
    location: str | None,
    since: str | None,
    until: str | None,
    activity_type: str | None = None,
) -> mapdata.OverlayFilter:
    return mapdata.OverlayFilter(
        organisation=org or None,
        location=location or None,
        since=_date(since, "since"),
        until=_date(until, "until"),
        activity_type=activity_type or None,
    )


@router.get("/map/finds.json")
def map_finds(
    request: Request,
    user: CurrentUser,
    bbox: Annotated[str, Query(description="min_lon,min_lat,max_lon,max_lat")],
    zoom: Annotated[float, Query(ge=0, le=24)] = mapdata.DETAIL_ZOOM,
    org: str | None = None,
    location: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Response:
    """EO finds and (for permitted roles) accidents of a map view: points, or clusters."""
    data = mapdata.finds_in_view(
        _store(request),
        _bbox(bbox),
        accidents=may(user, "accidents"),
        zoom=zoom,
        filters=_overlay_filter(org, location, since, until),
        scope=user_scope(user),
    )
    return _json(data)


@router.get("/map/activities.json")
def map_activities(
    request: Request,
    user: CurrentUser,
    bbox: Annotated[str, Query(description="min_lon,min_lat,max_lon,max_lat")],
    zoom: Annotated[float, Query(ge=0, le=24)],
    atype: str | None = None,
    org: str | None = None,
    location: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Response:
    """Activities (NTS, TS, clearance ...) of a map view: clusters, points or work polygons."""
    data = mapdata.activities_in_view(
        _store(request),
        _bbox(bbox),
        zoom,
        filters=_overlay_filter(org, location, since, until, atype),
        scope=user_scope(user),
    )
    return _json(data)


_BASEMAP_CACHE: dict[str, bytes] = {}


@router.get("/map/basemap.json")
def map_basemap(request: Request, user: CurrentUser) -> Response:
    """The offline basemap: admin boundaries and settlements from the location table."""
    store = _store(request)
    body = _BASEMAP_CACHE.get(store.url)
    if body is None:
        body = _dumps(mapdata.basemap(store))
        _BASEMAP_CACHE[store.url] = body
    return Response(
        body, media_type="application/geo+json", headers={"Cache-Control": "max-age=300"}
    )


def _dumps(data: Any) -> bytes:
    import orjson

    return orjson.dumps(data)


def _json(data: Any) -> Response:
    return Response(_dumps(data), media_type="application/geo+json")


# --- hazards -------------------------------------------------------------------------------


@dataclass
class Approval:
    """One report of a hazard with its workflow trail."""

    report_id: str
    type: str
    organisation: str
    date_of_information: date
    state: str
    submitted_by: str | None
    approved_by: str | None
    approved_at: Any
    reason: str | None
    #: the workflow events (submitted, each approval level, rejected ...): who, when
    trail: list[Any] = field(default_factory=list)


@router.get("/hazards", response_class=HTMLResponse)
def hazard_list(
    request: Request,
    user: CurrentUser,
    q: str = "",
    status: str = "",
    cls: Annotated[str, Query(alias="class")] = "",
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    """A searchable list of hazards in the user's scope."""
    from sqlalchemy import func, or_

    scope = user_scope(user)
    h = s.hazard
    per = 50
    where = [scope.where(h)]
    if q:
        like = f"%{q}%"
        where.append(or_(h.c.hazard_id.ilike(like), h.c.name.ilike(like), h.c.location.ilike(like)))
    if status:
        where.append(h.c.status == status)
    if cls:
        where.append(h.c.classification == cls)
    cols = [
        h.c[c]
        for c in (
            "hazard_id",
            "name",
            "classification",
            "status",
            "organisation",
            "location",
            "area_m2",
            "remaining_m2",
            "last_date",
        )
    ]
    with _store(request).read() as conn:
        total = int(conn.execute(select(func.count()).select_from(h).where(*where)).scalar() or 0)
        rows = list(
            conn.execute(
                select(*cols)
                .where(*where)
                .order_by(h.c.hazard_id)
                .limit(per)
                .offset((page - 1) * per)
            ).mappings()
        )
    return render(
        request,
        "hazards.html",
        user,
        rows=rows,
        total=total,
        page=page,
        per=per,
        q=q,
        status=status,
        cls=cls,
    )


@router.get("/hazards/{hazard_id}", response_class=HTMLResponse)
def hazard_page(request: Request, hazard_id: str, user: CurrentUser) -> Response:
    """One hazard: state, map, evidence, timeline, explanation, EO, tasks, approvals."""
    store = _store(request)
    scope = user_scope(user)
    with store.read() as conn:
        row = proj.get_hazard(conn, hazard_id)
        if not _in_scope(scope, row["organisation"], row["location"]):
            raise NotFoundError(L_("no hazard with id %(id)r", id=hazard_id))
        eo = list(
            conn.execute(
                select(s.eo_item)
                .where(s.eo_item.c.hazard_id == hazard_id)
                .order_by(s.eo_item.c.date)
            ).mappings()
        )
        tasks = list(
            conn.execute(
                select(s.task)
                .where(s.task.c.hazard_id == hazard_id)
                .order_by(s.task.c.planned_start)
            ).mappings()
        )
        reports = [
            Approval(
                r.report_id,
                r.type,
                r.organisation,
                r.date_of_information,
                r.state,
                r.submitted_by,
                r.approved_by,
                r.approved_at,
                r.reason,
            )
            for r in conn.execute(
                select(s.report).where(s.report.c.hazard_id == hazard_id).order_by(s.report.c.seq)
            )
        ]
        by_id = {r.report_id: r for r in reports}
        ev = s.report_event
        for e in conn.execute(
            select(ev).where(ev.c.report_id.in_(list(by_id))).order_by(ev.c.report_id, ev.c.id)
        ).mappings():
            by_id[e["report_id"]].trail.append(e)
        releases = list(
            conn.execute(
                select(s.release_polygon).where(s.release_polygon.c.hazard_id == hazard_id)
            ).mappings()
        )
        location_name = None
        if row["location"]:
            location_name = conn.execute(
                select(s.location.c.name).where(s.location.c.pcode == row["location"])
            ).scalar()
    _state, steps = ledger.explain(store, hazard_id)
    priority = _priority(store, hazard_id)
    features = _hazard_features(row, releases)
    details = row["details"] or {}
    return render(
        request,
        "hazard.html",
        user,
        h=row,
        steps=steps,
        eo=eo,
        tasks=tasks,
        reports=reports,
        evidence=details.get("evidence") or [],
        location_name=location_name,
        geojson=features,
        pending=[r for r in reports if r.state in ledger.PENDING_STATES],
        priority=priority,
    )


def _priority(store: Store, hazard_id: str) -> Any:
    """Return the explanation of the hazard's latest priority score, or None if not scored."""
    from mineaction.services import prioritise

    try:
        return prioritise.explain_score(store, hazard_id)
    except NotFoundError:
        return None


def _in_scope(scope: Scope, organisation: str | None, location: str | None) -> bool:
    if scope.organisation and organisation != scope.organisation:
        return False
    return not scope.location or bool(location and location.startswith(scope.location))


def _hazard_features(row: Any, releases: list[Any]) -> dict[str, Any]:
    feats: list[dict[str, Any]] = [
        {"type": "Feature", "geometry": to_geojson(row["geom"]), "properties": {"part": "hazard"}}
    ]
    for part in ("remaining", "cancelled", "reduced", "cleared", "expansion"):
        g = row[f"{part}_geom"]
        if g is not None and not g.is_empty:
            feats.append(
                {"type": "Feature", "geometry": to_geojson(g), "properties": {"part": part}}
            )
    for r in releases:
        feats.append(
            {
                "type": "Feature",
                "geometry": to_geojson(r["geom"]),
                "properties": {
                    "part": "release",
                    "outcome": r["outcome"],
                    "report": r["report_id"],
                    "date": r["date"].isoformat(),
                },
            }
        )
    if row["benchmark"] is not None:
        feats.append(
            {
                "type": "Feature",
                "geometry": to_geojson(row["benchmark"]),
                "properties": {"part": "benchmark"},
            }
        )
    return {"type": "FeatureCollection", "features": feats}


# --- review inbox --------------------------------------------------------------------------


@router.get("/review", response_class=HTMLResponse)
def review_inbox(request: Request, user: CurrentUser) -> Response:
    """Pending reports, oldest first, with their warnings and the step each one needs."""
    from mineaction.services import review

    scope = user_scope(user)
    items = review.queue(_store(request), organisation=scope.organisation, limit=500)
    with _store(request).read() as conn:
        total = _pending_count(conn, scope)
    return render(
        request,
        "review.html",
        user,
        rows=items,
        total=total,
        can_act=lambda step: _can_move(user, step),
    )


def _can_move(user: Any, target: str | None) -> bool:
    from mineaction.services import review

    role = str(getattr(getattr(user, "role", None), "value", ""))
    return target is not None and role in review.LEVEL_ROLES.get(target, frozenset())


@router.get("/review/{report_id}", response_class=HTMLResponse)
def review_report(request: Request, report_id: str, user: CurrentUser) -> Response:
    """One report: content, warnings, predicted effect, reconciliation proposals, actions."""
    from mineaction.services import review

    store = _store(request)
    scope = user_scope(user)
    with store.read() as conn:
        row = repo.get_report(conn, report_id)
        if scope.organisation and row["organisation"] != scope.organisation:
            raise NotFoundError(L_("no report with id %(id)r", id=report_id))
        hazard = None
        if row["hazard_id"]:
            hazard = (
                conn.execute(select(s.hazard).where(s.hazard.c.hazard_id == row["hazard_id"]))
                .mappings()
                .first()
            )
    rv = review.review(store, report_id)
    return render(
        request,
        "review_report.html",
        user,
        r=row,
        rv=rv,
        effect=rv.effect,
        hazard=hazard,
        geojson=_report_features(row, hazard),
        payload=json.dumps(row["payload"], indent=2, ensure_ascii=False),
        can_advance=_can_move(user, rv.next_step),
        can_reject=_can_move(user, "rejected") and rv.next_step is not None,
    )


def _report_features(row: Any, hazard: Any) -> dict[str, Any]:
    feats: list[dict[str, Any]] = []
    if hazard is not None:
        feats.append(
            {
                "type": "Feature",
                "geometry": to_geojson(hazard["geom"]),
                "properties": {"part": "hazard"},
            }
        )
        if hazard["remaining_geom"] is not None:
            feats.append(
                {
                    "type": "Feature",
                    "geometry": to_geojson(hazard["remaining_geom"]),
                    "properties": {"part": "remaining"},
                }
            )
    body = row["payload"].get(row["type"], {}) or {}
    if body.get("polygon"):
        feats.append(
            {"type": "Feature", "geometry": body["polygon"], "properties": {"part": "proposed"}}
        )
    for rel in body.get("releases", []) or []:
        feats.append(
            {
                "type": "Feature",
                "geometry": rel["polygon"],
                "properties": {"part": "release", "outcome": rel["outcome"]},
            }
        )
    for key in ("point", "benchmark"):
        if body.get(key):
            feats.append({"type": "Feature", "geometry": body[key], "properties": {"part": key}})
    for item in body.get("items") or body.get("eo_items") or []:
        if item.get("point"):
            feats.append(
                {
                    "type": "Feature",
                    "geometry": item["point"],
                    "properties": {"part": "eo", "cat": item.get("category")},
                }
            )
    return {"type": "FeatureCollection", "features": feats}


def _check_report_scope(request: Request, user: Any, report_id: str) -> None:
    """Raise 404 when the report is outside the user's organisation scope."""
    scope = user_scope(user)
    with _store(request).read() as conn:
        row = repo.get_report(conn, report_id)
    if scope.organisation and row["organisation"] != scope.organisation:
        raise NotFoundError(L_("no report with id %(id)r", id=report_id))


@router.post("/review/{report_id}/advance")
def review_advance(
    request: Request,
    user: CurrentUser,
    report_id: str,
    expect: Annotated[str, Form()],
) -> Response:
    """Move a pending report up one approval level (verify, approve for operations, approve)."""
    from mineaction.services import review

    _check_report_scope(request, user, report_id)
    role = str(getattr(getattr(user, "role", None), "value", ""))
    try:
        step = review.advance(
            _store(request),
            report_id,
            actor=getattr(user, "username", None),
            role=role,
            expect=expect,
        )
    except PermissionDeniedError as exc:
        # The page may be used by this role, but the report waits for another level.
        raise ConflictError(
            f"report {report_id} waits for another approval level: {exc.message}"
        ) from exc
    return RedirectResponse(f"/review?{quote(step.to_state)}={quote(report_id)}", status_code=303)


@router.post("/review/{report_id}/reject")
def review_reject(
    request: Request,
    user: CurrentUser,
    report_id: str,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Reject a pending report with a reason for the submitter."""
    from mineaction.services import review

    _check_report_scope(request, user, report_id)
    role = str(getattr(getattr(user, "role", None), "value", ""))
    review.reject(
        _store(request),
        report_id,
        reason=reason,
        actor=getattr(user, "username", None),
        role=role,
    )
    return RedirectResponse(f"/review?rejected={quote(report_id)}", status_code=303)


# --- wiring --------------------------------------------------------------------------------


def _html_wanted(request: Request) -> bool:
    path = request.url.path
    return (
        request.method in ("GET", "POST")
        and "text/html" in request.headers.get("accept", "")
        and not path.startswith(("/api/", "/ogc"))
        and not path.endswith(".json")
    )


def _page_errors(app: FastAPI) -> None:
    """Show errors of page requests as pages; everything else keeps the JSON error shape."""
    fallback = app.exception_handlers.get(MineActionError)

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, MineActionError)
        if exc.http_status != 401 and _html_wanted(request):
            user = getattr(request.state, "user", None)
            return render(request, "error.html", user, error=exc, status_code=exc.http_status)
        if fallback is not None:
            resp = fallback(request, exc)
            if inspect.isawaitable(resp):
                resp = await resp
            return resp
        if exc.http_status == 401 and _html_wanted(request):
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        return JSONResponse(exc.to_dict(), status_code=exc.http_status)

    app.add_exception_handler(MineActionError, handler)
    for kind, page_error in (
        (StarletteHTTPException, _http_page_error),
        (RequestValidationError, _invalid_page_error),
        (DataError, _data_page_error),
        (Exception, _internal_page_error),
    ):
        app.add_exception_handler(kind, _as_page(app.exception_handlers.get(kind), page_error))


def _http_page_error(exc: Exception) -> MineActionError:
    """An unknown address or a refused method, as an error the error page shows."""
    status = getattr(exc, "status_code", 500)
    if status == 404:
        return NotFoundError(L_("there is no page at this address: check the link"))
    if status == 405:
        return ValidationError(L_("this page cannot be used that way (method not allowed)"))
    err = MineActionError(L_("the request could not be answered (HTTP %(status)s)", status=status))
    err.http_status = status
    return err


def _invalid_page_error(exc: Exception) -> MineActionError:
    """Bad parameters of a page request: 400 naming the fields."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    names = {".".join(str(p) for p in e.get("loc", ())[1:]) or "-" for e in errors}
    fields = ", ".join(f"'{name}'" for name in sorted(names))
    return ValidationError(L_("the address has invalid parameters: %(fields)s", fields=fields))


def _data_page_error(exc: Exception) -> MineActionError:
    """A value the database cannot store (NUL characters): 400."""
    return ValidationError(L_("a value in the form cannot be stored (invalid characters?)"))


def _internal_page_error(exc: Exception) -> MineActionError:
    """Anything unexpected (logged with its traceback by the JSON handler): 500."""
    err = MineActionError(L_("internal error: the administrator can find it in the log"))
    err.http_status = 500
    return err


def _as_page(
    fallback: Callable[..., Any] | None, to_error: Callable[[Exception], MineActionError]
) -> Callable[[Request, Exception], Any]:
    """Show a framework error of a page request as the error page; keep JSON for the rest."""

    async def handler(request: Request, exc: Exception) -> Response:
        assert fallback is not None
        resp = fallback(request, exc)  # (the JSON handler also logs what went wrong)
        if inspect.isawaitable(resp):
            resp = await resp
        error = to_error(exc)
        if error.http_status != 401 and _html_wanted(request):
            from starlette.concurrency import run_in_threadpool

            try:
                user = await run_in_threadpool(known_user, request)
                return render(
                    request, "error.html", user, error=error, status_code=error.http_status
                )
            except Exception:  # (the database may be what failed): the plain answer
                log.exception("the error page could not be shown")
        return cast(Response, resp)

    return handler


def install(app: FastAPI) -> None:
    """Add the pages, their access policy and the static files to ``app``."""
    from mineaction.web import admin

    app.include_router(router)
    app.include_router(admin.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.login_path = "/login"
    _page_errors(app)
    mapdata.warm(app.state.store)


# --- reports -------------------------------------------------------------------------------

REPORT_FORMATS = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "application/zip",
    "json": "application/json",
}


def _report_scope(user: Any) -> Any:
    from mineaction.core.reporting import Scope as ReportScope

    sc = user_scope(user)
    return ReportScope(area=sc.location, organisation=sc.organisation)


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    user: CurrentUser,
    name: str = "",
    period: str = "",
    fmt: Annotated[str, Query(alias="format")] = "xlsx",
) -> Response:
    """Choose a report and a period, preview it and download it."""
    from mineaction.core.reporting import Period
    from mineaction.services.reporting import REPORTS

    period = period or str(date.today().year)
    if name:
        reporting_get_spec(name)
        Period.parse(period)
    return render(
        request,
        "reports.html",
        user,
        reports=list(REPORTS.values()),
        name=name,
        period=period,
        fmt=fmt if fmt in REPORT_FORMATS else "xlsx",
        formats=list(REPORT_FORMATS),
        scope_area=_report_scope(user).area,
        scope_org=_report_scope(user).organisation,
    )


def reporting_get_spec(name: str) -> Any:
    """Return the report called ``name`` (404 listing the known ones)."""
    from mineaction.services.reporting import get_spec

    return get_spec(name)


@router.get("/reports/file")
def report_file(
    request: Request,
    user: CurrentUser,
    name: str,
    period: str,
    fmt: Annotated[str, Query(alias="format")] = "html",
) -> Response:
    """Generate a report for the user's scope and return it (inline HTML or a download)."""
    import tempfile
    import zipfile

    from mineaction.core.reporting import Period
    from mineaction.io.reportfiles import write
    from mineaction.services.reporting import generate

    if fmt not in REPORT_FORMATS:
        raise ValidationError(
            L_(
                "unknown format %(fmt)r: use one of %(known)s",
                fmt=fmt,
                known=", ".join(REPORT_FORMATS),
            )
        )
    doc = generate(_store(request), name, Period.parse(period), scope=_report_scope(user))
    stem = f"{name}_{period.replace('..', '_to_')}"
    with tempfile.TemporaryDirectory() as tmp:
        files = write(doc, fmt, Path(tmp) / f"{stem}.{fmt}")
        if fmt == "csv":
            out = Path(tmp) / f"{stem}.zip"
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
                for f in files:
                    zf.write(f, f.name)
            body, filename = out.read_bytes(), out.name
        else:
            body, filename = files[0].read_bytes(), files[0].name
    headers = {}
    if fmt != "html":
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(body, media_type=REPORT_FORMATS[fmt], headers=headers)


# --- import --------------------------------------------------------------------------------
#
# A check (dry run) is kept as a *checked* import record in the database with the uploaded
# bytes (services.importing.check_upload), exactly like the API's: it survives restarts and is
# confirmed by any server process. The pages show import records by id (post/redirect/get).


def _import_choices(request: Request, user: Any) -> tuple[list[str], list[tuple[str, str]]]:
    from mineaction.forms import FORMS

    fixed = getattr(user, "organisation", None)
    if fixed and user_scope(user).organisation:
        orgs = [fixed]
    else:
        with _store(request).read() as conn:
            orgs = [
                r[0]
                for r in conn.execute(select(s.organisation.c.code).order_by(s.organisation.c.code))
            ]
    return orgs, [(k, f.title) for k, f in FORMS.items()]


def max_upload(request: Request) -> int:
    """Return the upload limit in bytes (the same setting as the API's, see web/limits.py)."""
    from mineaction.web.limits import max_upload_bytes

    limit = getattr(request.app.state, "max_upload_bytes", None)
    return int(limit) if limit else max_upload_bytes()


def _import_page(
    request: Request,
    user: Any,
    record: dict[str, Any] | None = None,
    *,
    error: object = None,
    status_code: int = 200,
) -> Response:
    """Render the import page, with an import record (a check or an import) when given."""
    orgs, forms = _import_choices(request, user)
    return render(
        request,
        "import.html",
        user,
        orgs=orgs,
        forms=forms,
        result=record,
        token=record["batch_id"] if record and record["status"] == "checked" else None,
        error=error,
        status_code=status_code,
    )


@router.get("/import", response_class=HTMLResponse)
def import_page(request: Request, user: CurrentUser) -> Response:
    """Upload a file of field data (ODK Central, KoboToolbox, GIS) for a dry run."""
    return _import_page(request, user)


@router.get("/import/{batch_id}", response_class=HTMLResponse)
def import_record_page(batch_id: str, request: Request, user: CurrentUser) -> Response:
    """One check or import: counts per form and every record's outcome, problems and repairs."""
    from mineaction.services import importing

    record = importing.import_record(
        _store(request), batch_id, organisation=user_scope(user).organisation
    )
    return _import_page(request, user, record)


def _check_org(user: Any, organisation: str) -> str:
    organisation = organisation.strip()
    scoped = user_scope(user).organisation
    if scoped and organisation != scoped:
        raise ValidationError(
            L_("you can import only for your organisation %(org)s", org=scoped),
            where="organisation",
        )
    if not organisation:
        raise ValidationError(
            L_("choose the organisation the data comes from"), where="organisation"
        )
    return organisation


async def _read_file(upload: UploadFile, limit: int, what: str) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise UploadTooLargeError(limit, where=what)
    if not data:
        raise ValidationError(L_("the file is empty"), where=what)
    return data


@router.post("/import", response_class=HTMLResponse)
async def import_upload(
    request: Request,
    user: CurrentUser,
    file: Annotated[UploadFile, File()],
    organisation: Annotated[str, Form()] = "",
    form: Annotated[str, Form()] = "",
    mapping: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Check an uploaded file (dry run, kept for confirmation): counts and every problem."""
    from starlette.concurrency import run_in_threadpool

    from mineaction.api.imports import MAX_MAPPING_BYTES
    from mineaction.services import importing

    filename = (file.filename or "upload").replace("\\", "/").rsplit("/", 1)[-1][:300] or "upload"
    try:
        org = _check_org(user, organisation)
        data = await _read_file(file, max_upload(request), filename)
        mapping_text = None
        if mapping is not None and mapping.filename:
            mapping_text = await _read_file(mapping, MAX_MAPPING_BYTES, mapping.filename)
        result = await run_in_threadpool(
            importing.check_upload,
            _store(request),
            data,
            filename,
            organisation=org,
            form=form or None,
            mapping=mapping_text,
            actor=getattr(user, "username", None),
        )
    except MineActionError as exc:
        return _import_page(request, user, error=exc, status_code=exc.http_status)
    return RedirectResponse(f"/import/{quote(result.batch_id)}", status_code=303)


@router.post("/import/confirm", response_class=HTMLResponse)
async def import_confirm(
    request: Request, user: CurrentUser, token: Annotated[str, Form()]
) -> Response:
    """Import the file kept by a check: good records become submitted reports."""
    from starlette.concurrency import run_in_threadpool

    from mineaction.services import importing

    try:
        result = await run_in_threadpool(
            importing.confirm_import,
            _store(request),
            token,
            actor=getattr(user, "username", None),
            organisation=user_scope(user).organisation,
        )
    except NotFoundError:
        return _import_page(
            request,
            user,
            error=L_("this check is not kept any more: upload the file again"),
            status_code=409,
        )
    except MineActionError as exc:
        return _import_page(request, user, error=exc, status_code=exc.http_status)
    return RedirectResponse(f"/import/{quote(result.batch_id)}", status_code=303)
