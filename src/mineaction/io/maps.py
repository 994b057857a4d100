"""Draw a printable hazard map with matplotlib (no basemap download): boundaries, settlements,
hazards by status, legend, scale bar, north arrow, graticule, cut-off and classification."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import shapely  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import FancyArrow, Patch, PathPatch, Rectangle  # noqa: E402
from matplotlib.path import Path as MPath  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402
from pyproj import Geod  # noqa: E402
from shapely.geometry import box  # noqa: E402
from shapely.geometry.base import BaseGeometry  # noqa: E402

from mineaction.core.codes import label  # noqa: E402

if TYPE_CHECKING:
    from mineaction.services.maps import MapData, MapHazard

NAVY = "#1f3864"
STATUS_COLOURS = {
    "open": "#d7301f",
    "worked_on": "#fc8d59",
    "closed": "#1a9850",
    "handed_over": "#4575b4",
}
_GEOD = Geod(ellps="WGS84")
#: Hazard ids are written next to hazards when there are at most this many on the map.
MAX_HAZARD_LABELS = 30
#: Settlements labelled (largest population first).
MAX_PLACE_LABELS = 12


def _polygons(geom: BaseGeometry) -> Iterable[BaseGeometry]:
    if geom.geom_type == "Polygon":
        yield geom
    elif hasattr(geom, "geoms"):
        for g in geom.geoms:
            yield from _polygons(g)


def _each_polygon(geoms: Iterable[BaseGeometry]) -> Iterable[BaseGeometry]:
    for g in geoms:
        yield from _polygons(g)


def _path(geom: BaseGeometry) -> MPath:
    verts: list[tuple[float, float]] = []
    codes: list[int] = []
    for poly in _polygons(geom):
        for ring in (poly.exterior, *poly.interiors):
            coords = list(ring.coords)
            verts.extend(coords)
            codes.extend(
                [int(MPath.MOVETO)]
                + [int(MPath.LINETO)] * (len(coords) - 2)
                + [int(MPath.CLOSEPOLY)]
            )
    return MPath(verts, codes)


def _extent(data: MapData) -> tuple[float, float, float, float]:
    geoms = [h.polygon for h in data.hazards]
    if not geoms:
        geoms = [a.geom for a in data.areas]
    x0 = min(g.bounds[0] for g in geoms)
    y0 = min(g.bounds[1] for g in geoms)
    x1 = max(g.bounds[2] for g in geoms)
    y1 = max(g.bounds[3] for g in geoms)
    span = max(x1 - x0, y1 - y0, 0.01)
    pad = 0.12 * span
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w = max(x1 - x0, 0.01) / 2 + pad
    half_h = max(y1 - y0, 0.01) / 2 + pad
    return cx - half_w, cy - half_h, cx + half_w, cy + half_h


def _nice(length_m: float) -> float:
    """Return a round scale-bar length not above ``length_m`` (1, 2 or 5 x 10^n)."""
    exp = 10 ** math.floor(math.log10(length_m))
    for f in (5, 2, 1):
        if f * exp <= length_m:
            return f * exp
    return exp


def _scale_bar(ax: Axes, x0: float, x1: float, y0: float, y1: float) -> None:
    lat = y0 + 0.06 * (y1 - y0)
    m_per_deg = _GEOD.inv(x0, lat, x0 + 1.0, lat)[2]
    target = _nice((x1 - x0) * m_per_deg * 0.22)
    deg = target / m_per_deg
    sx = x0 + 0.04 * (x1 - x0)
    h = 0.012 * (y1 - y0)
    ax.add_patch(
        Rectangle(
            (sx - 0.01 * (x1 - x0), lat - 1.8 * h),
            deg + 0.04 * (x1 - x0),
            5.6 * h,
            facecolor="white",
            edgecolor="none",
            alpha=0.85,
            zorder=9,
        )
    )
    for i in range(4):
        ax.add_patch(
            Rectangle(
                (sx + i * deg / 4, lat),
                deg / 4,
                h,
                facecolor="black" if i % 2 == 0 else "white",
                edgecolor="black",
                linewidth=0.6,
                zorder=10,
            )
        )
    unit, div = ("km", 1000.0) if target >= 1000 else ("m", 1.0)
    for frac in (0, 0.5, 1):
        value = target * frac / div
        text = f"{value:g}" + (f" {unit}" if frac == 1 else "")
        ax.text(
            sx + frac * deg, lat + 1.6 * h, text, ha="center", va="bottom", fontsize=7, zorder=10
        )
    ax.text(
        sx,
        lat - 0.6 * h,
        "Scale at map centre latitude",
        fontsize=5.5,
        va="top",
        color="#444444",
        zorder=10,
    )


def _north_arrow(ax: Axes) -> None:
    """Draw a north arrow in the side panel (north is up: the map is in longitude/latitude)."""
    ax.add_patch(
        FancyArrow(
            0.5,
            0.505,
            0,
            0.075,
            width=0.04,
            head_width=0.12,
            head_length=0.03,
            length_includes_head=True,
            transform=ax.transAxes,
            color="black",
            zorder=10,
        )
    )
    ax.text(
        0.5,
        0.50,
        "N",
        transform=ax.transAxes,
        ha="center",
        va="top",
        fontsize=12,
        fontweight="bold",
        zorder=10,
    )


def _deg(axis: str) -> FuncFormatter:
    def fmt(v: float, _pos: int) -> str:
        hemi = ("E" if v >= 0 else "W") if axis == "x" else ("N" if v >= 0 else "S")
        return f"{abs(v):.4f}".rstrip("0").rstrip(".") + f"°{hemi}"

    return FuncFormatter(fmt)


def draw_map(data: MapData, out: Path, size: tuple[float, float]) -> None:
    """Draw the map and save it as PDF or PNG."""
    w, h = size
    fig = plt.figure(figsize=(w, h))
    scale = w / 11.69
    # marking, title
    for y in (1 - 0.22 / h, 0.16 / h):
        fig.text(
            0.5,
            y,
            data.marking,
            ha="center",
            va="center",
            color="#b00020",
            fontsize=9 * scale,
            fontweight="bold",
        )
    fig.text(
        0.45 / w,
        1 - 0.62 / h,
        data.title,
        fontsize=16 * scale,
        fontweight="bold",
        color=NAVY,
        va="center",
    )
    fig.text(
        0.45 / w, 1 - 0.92 / h, data.subtitle, fontsize=9 * scale, color="#333333", va="center"
    )

    panel_w = 2.9 * scale
    box_w, box_h = w - panel_w - 2.1, h - 1.95
    ax = fig.add_axes((0.75 / w, 0.75 / h, box_w / w, box_h / h))
    x0, y0, x1, y1 = _extent(data)
    mid = (y0 + y1) / 2
    k = math.cos(math.radians(mid))
    # Grow the extent to the axes' shape so that one km is as long east-west as north-south.
    dx, dy = (x1 - x0) * k, y1 - y0
    if dx / dy < box_w / box_h:
        grow = (dy * box_w / box_h / k - (x1 - x0)) / 2
        x0, x1 = x0 - grow, x1 + grow
    else:
        grow = (dx * box_h / box_w - dy) / 2
        y0, y1 = y0 - grow, y1 + grow
    frame = box(x0, y0, x1, y1)
    ax.set_aspect(1 / k, adjustable="box")
    ax.set_facecolor("#f7f7f2")

    for a in sorted(data.areas, key=lambda p: -p.admin_level):
        if not a.geom.intersects(frame):
            continue
        top = a.admin_level <= 1
        ax.add_patch(
            PathPatch(
                _path(a.geom),
                facecolor="none",
                edgecolor="#555555" if top else "#999999",
                linewidth=1.4 if top else 0.7,
                linestyle="-" if top else (0, (4, 3)),
                zorder=2,
            )
        )
        if top:
            pt = a.geom.intersection(frame).representative_point()
            ax.text(
                pt.x,
                pt.y,
                a.name.upper(),
                fontsize=8 * scale,
                color="#777777",
                ha="center",
                va="center",
                alpha=0.8,
                zorder=3,
                fontweight="bold",
            )
    # One compound path and one scatter per (status, class): fast with thousands of hazards.
    groups: dict[tuple[str, bool], list[MapHazard]] = {}
    for hz in data.hazards:
        groups.setdefault((hz.status, hz.classification == "SHA"), []).append(hz)
    for (status, sha), members in sorted(groups.items()):
        colour = STATUS_COLOURS.get(status, "#888888")
        ax.add_patch(
            PathPatch(
                _path(shapely.MultiPolygon(list(_each_polygon(m.polygon for m in members)))),
                facecolor=colour,
                alpha=0.55 if sha else 0.85,
                edgecolor=colour,
                linewidth=1.0,
                hatch="////" if sha else None,
                zorder=5,
            )
        )
        pts = [m.polygon.representative_point() for m in members]
        ax.scatter(
            [p.x for p in pts],
            [p.y for p in pts],
            s=12 if len(data.hazards) <= 300 else 4,
            color=colour,
            edgecolors="black",
            linewidths=0.4 if len(data.hazards) <= 300 else 0.15,
            zorder=6,
        )
        if len(data.hazards) <= MAX_HAZARD_LABELS:
            for m, pt in zip(members, pts, strict=True):
                ax.annotate(
                    m.hazard_id,
                    (pt.x, pt.y),
                    xytext=(4, 3),
                    textcoords="offset points",
                    fontsize=6.5 * scale,
                    zorder=7,
                    color="#222222",
                )
    inside = [st for st in data.settlements if st.geom.intersects(frame)]
    # Label the largest places only, so that the map stays legible at any scale.
    ranked = sorted(inside, key=lambda p: (-(p.population or 0), p.name))
    labelled = {p.pcode for p in ranked[:MAX_PLACE_LABELS]}
    for st in inside:
        big = st.pcode in labelled
        ax.plot(
            st.geom.x,
            st.geom.y,
            marker="s",
            markersize=4 if big else 2,
            color="black" if big else "#666666",
            zorder=8,
        )
        if big:
            ax.annotate(
                st.name,
                (st.geom.x, st.geom.y),
                xytext=(5, -3),
                textcoords="offset points",
                fontsize=7.5 * scale,
                style="italic",
                zorder=8,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.6},
            )
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.xaxis.set_major_locator(MaxNLocator(6))
    ax.yaxis.set_major_locator(MaxNLocator(6))
    ax.xaxis.set_major_formatter(_deg("x"))
    ax.yaxis.set_major_formatter(_deg("y"))
    ax.tick_params(labelsize=7 * scale, top=True, right=True, labeltop=True, labelright=True)
    ax.grid(color="#bbbbbb", linewidth=0.5, linestyle=":", zorder=1)
    for spine in ax.spines.values():
        spine.set_linewidth(1.2)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    _scale_bar(ax, x0, x1, y0, y1)

    # side panel: legend and information
    px = 1 - (panel_w + 0.1) / w
    pan = fig.add_axes((px, 0.75 / h, panel_w / w, (h - 1.95) / h))
    pan.axis("off")
    _north_arrow(pan)
    handles: list[object] = []
    counts = {s: sum(1 for x in data.hazards if x.status == s) for s in STATUS_COLOURS}
    for status, colour in STATUS_COLOURS.items():
        handles.append(
            Patch(
                facecolor=colour,
                edgecolor=colour,
                alpha=0.85,
                label=f"{label(status)} ({counts[status]})",
            )
        )
    handles += [
        Patch(
            facecolor="white",
            edgecolor="#444444",
            hatch="////",
            label="Suspected hazardous area (SHA)",
        ),
        Patch(facecolor="#999999", edgecolor="#444444", label="Confirmed hazardous area (CHA)"),
        Line2D([], [], color="#555555", linewidth=1.4, label="Admin level 1 boundary"),
        Line2D(
            [],
            [],
            color="#999999",
            linewidth=0.7,
            linestyle=(0, (4, 3)),
            label="Admin level 2 boundary",
        ),
        Line2D(
            [], [], color="black", marker="s", linestyle="none", markersize=4, label="Settlement"
        ),
    ]
    leg = pan.legend(
        handles=handles,
        loc="upper left",
        title="Hazards by status",
        fontsize=7.5 * scale,
        title_fontsize=9 * scale,
        frameon=True,
        alignment="left",
        borderpad=0.9,
        labelspacing=0.7,
    )
    leg.get_frame().set_edgecolor("#999999")
    info = [
        ("Data cut-off", f"{data.cut_off:%Y-%m-%d %H:%M} UTC"),
        ("Hazards shown", str(len(data.hazards))),
        ("Remaining area", f"{sum(hz.remaining_m2 for hz in data.hazards):,.0f} m²"),
        ("Coordinates", "WGS 84 (EPSG:4326), degrees"),
        ("Ledger sha256", data.ledger_hash[:24] + "…"),
        ("Source", "approved reports (mineaction)"),
    ]
    y = 0.42
    for key, v in info:
        pan.text(
            0.02,
            y,
            key,
            fontsize=7 * scale,
            fontweight="bold",
            color="#444444",
            transform=pan.transAxes,
        )
        pan.text(
            0.02,
            y - 0.028,
            v,
            fontsize=7 * scale,
            transform=pan.transAxes,
            family="DejaVu Sans Mono" if "sha" in key else "DejaVu Sans",
        )
        y -= 0.058
    pan.text(
        0.02,
        0.0,
        "Not a survey document: boundaries are indicative.\nDo not enter hazardous areas.",
        fontsize=6.5 * scale,
        color="#666666",
        transform=pan.transAxes,
        va="bottom",
    )
    kwargs = {"dpi": 200} if out.suffix.lower() == ".png" else {}
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, **kwargs, metadata={"Title": data.title})  # type: ignore[arg-type]
    plt.close(fig)
