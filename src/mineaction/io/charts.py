"""Charts of a report (matplotlib, Agg backend): PNG/SVG for HTML, figures for the PDF."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from mineaction.core.reporting import Chart  # noqa: E402

#: Colours by series name (land release outcomes, classes), then a fallback cycle.
COLOURS = {
    "Cancelled": "#9ecae1",
    "Reduced": "#4292c6",
    "Cleared": "#08519c",
    "SHA": "#fdae6b",
    "CHA": "#d94801",
}
CYCLE = ["#08519c", "#d94801", "#238b45", "#6a51a3", "#969696"]


def _thousands(x: float, _pos: int) -> str:
    return f"{x:,.0f}"


def draw(ax: Axes, chart: Chart) -> None:
    """Draw a chart on a matplotlib axes."""
    cats = chart.categories or ["(none)"]
    n = len(cats)
    names = list(chart.series)
    horizontal = chart.kind in ("barh", "stackedh")
    stacked = chart.kind in ("stacked", "stackedh")
    positions = list(range(n))
    base = [0.0] * n
    width = 0.7 if stacked or len(names) == 1 else 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        values = list(chart.series[name]) or [0.0] * n
        colour = COLOURS.get(name, CYCLE[i % len(CYCLE)])
        pos = positions if stacked else [p + (i - (len(names) - 1) / 2) * width for p in positions]
        if horizontal:
            ax.barh(
                pos, values, height=width, left=base if stacked else None, label=name, color=colour
            )
        else:
            ax.bar(
                pos, values, width=width, bottom=base if stacked else None, label=name, color=colour
            )
        if stacked:
            base = [b + v for b, v in zip(base, values, strict=False)]
    fmt = FuncFormatter(_thousands)
    value_axis = ax.xaxis if horizontal else ax.yaxis
    value_axis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    if horizontal:
        ax.set_yticks(positions, cats)
        ax.set_ylim(-0.6, max(n, 5) - 0.4)
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(fmt)
        ax.set_xlabel(chart.ylabel)
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    else:
        ax.set_xticks(
            positions, cats, rotation=45 if n > 6 else 0, ha="right" if n > 6 else "center"
        )
        ax.set_xlim(-0.6, max(n, 4) - 0.4)
        ax.yaxis.set_major_formatter(fmt)
        ax.set_ylabel(chart.ylabel)
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(chart.title, loc="left", fontsize=10, fontweight="bold")
    if len(names) > 1:
        ax.legend(
            frameon=False,
            fontsize=8,
            loc="lower right",
            bbox_to_anchor=(1.0, 1.0),
            ncol=len(names),
        )
    if not any(v for vals in chart.series.values() for v in vals):
        ax.text(
            0.5,
            0.5,
            "no data in the period",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="#888888",
            fontsize=9,
        )
    ax.tick_params(labelsize=8)


def figure(chart: Chart, size: tuple[float, float] = (7.0, 3.2)) -> Figure:
    """Return a standalone figure of a chart."""
    fig = plt.figure(figsize=size)
    ax = fig.add_subplot(1, 1, 1)
    draw(ax, chart)
    fig.tight_layout()
    return fig


def svg(chart: Chart) -> str:
    """Return a chart as an inline SVG document (for HTML)."""
    fig = figure(chart)
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]
