"""Irregular hazards cut into grid cells: released land that adds up to the hazard exactly."""

from __future__ import annotations

import math
import random

from shapely.geometry import Polygon, box


def irregular_hazard(seed: int, n: int, radius_m: float) -> Polygon:
    """Return a star-shaped hazard of ``n`` vertices (long oblique edges) near Kursk."""
    rnd = random.Random(seed)
    cx, cy = 35.2, 51.3
    dx, dy = radius_m / (111_320 * math.cos(math.radians(cy))), radius_m / 110_540
    ring = []
    for k in range(n):
        a, r = 2 * math.pi * k / n, rnd.uniform(0.35, 1.0)
        ring.append((cx + r * dx * math.cos(a), cy + r * dy * math.sin(a)))
    return Polygon(ring)


def grid_cells(hazard: Polygon, cuts: int) -> list[tuple[int, Polygon]]:
    """Return ``(k, cell)``: the hazard cut by a grid of ``cuts + 1`` x ``cuts + 1`` (k < 36)."""
    x0, y0, x1, y1 = hazard.bounds
    w, h = (x1 - x0) / (cuts + 1), (y1 - y0) / (cuts + 1)
    out = []
    for k in range(36):
        i, j = k % 6, k // 6
        if i > cuts or j > cuts:
            continue
        cell = hazard.intersection(box(x0 + i * w, y0 + j * h, x0 + (i + 1) * w, y0 + (j + 1) * h))
        if not cell.is_empty and cell.area > 0:
            out.append((k, cell))
    return out
