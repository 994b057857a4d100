"""Small inline SVG charts drawn on the server (no JavaScript, no CDN, translatable text)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

from markupsafe import Markup

from mineaction.web.i18n import area_parts, fmt_area

#: Colours shared by charts, map and legends.
COLOURS = {
    "cancelled": "#7fb3d5",
    "reduced": "#e9b949",
    "cleared": "#2e8b57",
    "SHA": "#f08c3a",
    "CHA": "#c0392b",
    "EOD_SPOT": "#8e44ad",
    "remaining": "#c0392b",
}
#: Map colours of the activity types (survey blue to clearance green, EOD purple).
ACTIVITY_COLOURS = {
    "NTS": "#2f80ed",
    "TS": "#d4a017",
    "CLEARANCE": "#1e8449",
    "BAC": "#17a2a2",
    "EOD": "#7d3c98",
}


def nice_max(value: float) -> float:
    """Return a round number at least ``value`` for a chart axis.

    >>> nice_max(0), nice_max(7.2), nice_max(1234)
    (1.0, 8.0, 1500.0)
    """
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * exp >= value:
            return float(m * exp)
    return float(10 * exp)


def _axis_label(m2: float) -> str:
    num, unit = area_parts(m2)
    return f"{num} {unit}" if m2 else "0"


def stacked_columns(
    series: Sequence[tuple[str, dict[str, float]]],
    keys: Sequence[str],
    labels: dict[str, str],
    *,
    title: str,
    width: int = 640,
    height: int = 240,
) -> Markup:
    """Return a stacked column chart of areas (m²) over periods as an accessible SVG."""
    left, right, top, bottom = 64, 8, 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(v.get(k, 0.0) for k in keys) for _p, v in series]
    ymax = nice_max(max(totals, default=0.0))
    n = max(len(series), 1)
    step = plot_w / n
    bar_w = max(2.0, step * 0.7)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        v = ymax * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">'
            f"{escape(_axis_label(v))}</text>"
        )
    label_every = max(1, math.ceil(n / 12))
    for i, (period, values) in enumerate(series):
        x = left + i * step + (step - bar_w) / 2
        y = top + plot_h
        tip = [period] + [f"{labels[k]}: {fmt_area(values.get(k, 0.0))}" for k in keys]
        parts.append(f"<g><title>{escape(' · '.join(tip))}</title>")
        for k in keys:
            v = values.get(k, 0.0)
            if v <= 0:
                continue
            hgt = plot_h * v / ymax
            y -= hgt
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{hgt:.1f}" '
                f'fill="{COLOURS.get(k, "#888")}"/>'
            )
        parts.append("</g>")
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                f'class="tick">{escape(period)}</text>'
            )
    lx = left
    for k in keys:
        parts.append(
            f'<rect x="{lx}" y="{height - 14}" width="10" height="10" fill="{COLOURS.get(k, "#888")}"/>'
            f'<text x="{lx + 14}" y="{height - 5}" class="legend">{escape(labels[k])}</text>'
        )
        lx += 24 + 7 * len(labels[k])
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_bars(
    rows: Sequence[tuple[str, dict[str, float]]],
    keys: Sequence[str],
    labels: dict[str, str],
    *,
    title: str,
    width: int = 640,
) -> Markup:
    """Return a horizontal stacked bar chart (one bar per row, e.g. remaining m² by area)."""
    row_h, left, right, top = 26, 150, 90, 8
    height = top + row_h * max(len(rows), 1) + 28
    plot_w = width - left - right
    xmax = nice_max(max((sum(v.values()) for _n, v in rows), default=0.0))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (name, values) in enumerate(rows):
        y = top + i * row_h
        short = name if len(name) <= 22 else name[:21] + "…"
        parts.append(
            f'<text x="{left - 8}" y="{y + 16}" text-anchor="end" class="tick">{escape(short)}</text>'
        )
        x = float(left)
        total = 0.0
        tip = [name]
        for k in keys:
            v = values.get(k, 0.0)
            total += v
            tip.append(f"{labels[k]}: {fmt_area(v)}")
            if v <= 0:
                continue
            w = plot_w * v / xmax
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
                f'fill="{COLOURS.get(k, "#888")}"><title>{escape(" · ".join(tip))}</title></rect>'
            )
            x += w
        parts.append(
            f'<text x="{x + 6:.1f}" y="{y + 16}" class="value">{escape(fmt_area(total))}</text>'
        )
    lx = left
    for k in keys:
        parts.append(
            f'<rect x="{lx}" y="{height - 14}" width="10" height="10" fill="{COLOURS.get(k, "#888")}"/>'
            f'<text x="{lx + 14}" y="{height - 5}" class="legend">{escape(labels[k])}</text>'
        )
        lx += 24 + 7 * len(labels[k])
    parts.append("</svg>")
    return Markup("".join(parts))


def _polygons(geojson: dict[str, Any]) -> list[list[list[tuple[float, float]]]]:
    """Return the polygons (lists of rings of (lon, lat)) of a GeoJSON (Multi)Polygon."""
    coords = geojson.get("coordinates") or []
    kind = geojson.get("type")
    polys = [coords] if kind == "Polygon" else list(coords) if kind == "MultiPolygon" else []
    return [[[(float(p[0]), float(p[1])) for p in ring] for ring in poly] for poly in polys]


def geometry_sketch(geojson: dict[str, Any], *, title: str, size: int = 140) -> Markup:
    """Return a small SVG sketch of a (multi)polygon, each part in its own shade (north up).

    >>> svg = geometry_sketch(
    ...     {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}, title="t"
    ... )
    >>> svg.count("<path"), 'role="img"' in svg
    (1, True)
    >>> geometry_sketch({"type": "Point", "coordinates": [0, 0]}, title="t")
    Markup('')
    """
    polys = _polygons(geojson)
    points = [p for poly in polys for ring in poly for p in ring]
    if not points:
        return Markup("")
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, y0 = min(xs), min(ys)
    # a degree of longitude is cos(latitude) of a degree of latitude: keep the shape true
    kx = math.cos(math.radians((y0 + max(ys)) / 2))
    span = max((max(xs) - x0) * kx, max(ys) - y0) or 1.0
    pad = 6
    scale = (size - 2 * pad) / span

    def xy(p: tuple[float, float]) -> str:
        return f"{pad + (p[0] - x0) * kx * scale:.1f},{size - pad - (p[1] - y0) * scale:.1f}"

    shades = ["#2e8b57", "#2f80ed", "#d4a017", "#8e44ad", "#c0392b"]
    parts = [
        f'<svg class="sketch" width="{size}" height="{size}" viewBox="0 0 {size} {size}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, poly in enumerate(polys):
        d = " ".join("M" + " L".join(xy(p) for p in ring) + " Z" for ring in poly)
        colour = shades[i % len(shades)]
        parts.append(
            f'<path d="{d}" fill="{colour}" fill-opacity="0.35" stroke="{colour}" '
            f'stroke-width="1.5" fill-rule="evenodd"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
