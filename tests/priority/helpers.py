"""Geometry built in metres around (35 E, 51 N) and turned into WGS84 for prioritisation tests."""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, box
from shapely.geometry.base import BaseGeometry

LOCAL = "+proj=tmerc +lat_0=51 +lon_0=35 +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m"
_TO_WGS = Transformer.from_crs(LOCAL, "EPSG:4326", always_xy=True)


def wgs(geom: BaseGeometry) -> BaseGeometry:
    """Turn a geometry in local metres (origin 35 E, 51 N) into WGS84 lon/lat."""

    def _apply(xy: np.ndarray) -> np.ndarray:
        x, y = _TO_WGS.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, _apply)


def square(cx: float, cy: float, side: float) -> BaseGeometry:
    """A square of ``side`` metres centred on (cx, cy) metres, in WGS84."""
    h = side / 2
    return wgs(box(cx - h, cy - h, cx + h, cy + h))


def point(x: float, y: float) -> BaseGeometry:
    """A point at (x, y) metres, in WGS84."""
    return wgs(Point(x, y))


def line(*xy: tuple[float, float]) -> BaseGeometry:
    """A line through (x, y) metre points, in WGS84."""
    return wgs(LineString(list(xy)))
