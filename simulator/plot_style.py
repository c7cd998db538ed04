"""How the simulator's plots look: figure size and style, colours, time units and their formatters, log axes,
legends above the axes, the title and caption of a figure, and the "no data" panel. Free text goes through
`safe_text` before it reaches a label, so nothing shaped like a URL can reach an image.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Sequence
from typing import Any, Literal

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

__all__ = [
    "COUNTRY_COLOURS",
    "DAY",
    "DPI",
    "FAULT_COLOURS",
    "FIGSIZE",
    "HOUR",
    "HOUR_TICKS",
    "LINE_72H_COLOUR",
    "MEMBER_COLOUR",
    "MINUTE",
    "NO_MEMBER_COLOUR",
    "OTHER_COLOUR",
    "SECOND_TICKS",
    "SHADED_FAULTS",
    "STYLE",
    "WATERMARK_GID",
    "LineStyle",
    "count_axis",
    "finish",
    "fmt_count",
    "fmt_hours",
    "fmt_hours_tick",
    "fmt_seconds",
    "fmt_seconds_tick",
    "legend_above",
    "log_axis",
    "new_figure",
    "no_data",
    "safe_text",
    "value_grid",
    "watermark",
]

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0

FIGSIZE = (10.0, 6.0)
DPI = 120

# dict[Any, Any]: the stubs of newer matplotlib versions key rcParams by a Literal of every name.
STYLE: dict[Any, Any] = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 9.5,
    "figure.titlesize": 14,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
}

MEMBER_COLOUR = "#4c72b0"
NO_MEMBER_COLOUR = "#dd8452"
OTHER_COLOUR = "#9a9a9a"
# One colour per country where a plot draws a line for each: matplotlib's tab10 without its grey, and a dark
# blue for its red (the 72-hour line's colour).
COUNTRY_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#393b79",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
)
LineStyle = Literal["-", "--", "-.", ":"]
LINE_72H_COLOUR = "#c0392b"
FAULT_COLOURS = {"partition": "#f0a030", "crash": "#d62728"}
SHADED_FAULTS = ("partition", "crash")

HOUR_TICKS = (1 / 60, 10 / 60, 1.0, 6.0, 24.0, 72.0, 168.0, 672.0, 2160.0, 8760.0)
SECOND_TICKS = (0.001, 0.01, 0.1, 1.0, 10.0, 60.0, 600.0, HOUR, 6 * HOUR, DAY, 7 * DAY, 28 * DAY)


# --------------------------------------------------------------------------------------------------- text


def safe_text(text: str, limit: int = 60) -> str:
    """Free text for a label: anything shaped like a URL is removed, control characters dropped, length capped."""
    cleaned = _URLISH.sub("[url removed]", text)
    cleaned = "".join(ch if ch.isprintable() else " " for ch in cleaned)
    cleaned = " ".join(cleaned.split())
    # Matplotlib treats $...$ as mathtext; show dollars literally.
    cleaned = cleaned.replace("$", r"\$")
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rstrip() + "…"


def fmt_seconds(seconds: float) -> str:
    """A duration for a person: 250 ms, 12 s, 5.5 min, 3 h, 2.5 d."""
    return _seconds_in_unit(seconds, _g)


def fmt_hours(hours: float) -> str:
    return _hours_in_unit(hours, _g)


def fmt_count(n: int | float) -> str:
    return f"{round(n):,}"


def fmt_hours_tick(hours: float, _pos: object = None) -> str:
    return _hours_in_unit(hours, _tick)


def fmt_seconds_tick(seconds: float, _pos: object = None) -> str:
    return _seconds_in_unit(seconds, _tick)


# --------------------------------------------------------------------------------------------------- axes and figures


def log_axis(ax: Axes, which: str, low: float, high: float, ticks: Sequence[float], fmt: Callable[..., str]) -> None:
    lo, hi = _snap_log_limits(low, high, ticks)
    axis = ax.yaxis if which == "y" else ax.xaxis
    if which == "y":
        ax.set_yscale("log")
        ax.set_ylim(lo, hi)
    else:
        ax.set_xscale("log")
        ax.set_xlim(lo, hi)
    axis.set_major_locator(FixedLocator([t for t in ticks if lo <= t <= hi]))
    axis.set_major_formatter(FuncFormatter(fmt))
    axis.set_minor_formatter(NullFormatter())


def value_grid(ax: Axes) -> None:
    """Light horizontal grid lines, behind the data."""
    ax.yaxis.grid(True, color="#e3e3e3", linewidth=0.8)
    ax.set_axisbelow(True)


def count_axis(ax: Axes, values: Sequence[float], headroom: float, label: str) -> None:
    """A labelled y axis from 0 to `headroom` times the largest value (or 1, if larger), with its grid."""
    ax.set_ylim(0, max(max(values), 1.0) * headroom)
    ax.set_ylabel(label)
    value_grid(ax)


def legend_above(ax: Axes, handles: Sequence[Any], ncols: int) -> None:
    """A frameless legend just above the axes: never over the data, and the layout makes room for it."""
    ax.legend(handles=list(handles), loc="lower center", bbox_to_anchor=(0.5, 1.02), ncols=ncols, frameon=False)


def new_figure() -> Figure:
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def finish(fig: Figure, title: str, heading: str, caption: Sequence[str], footer: str = "") -> None:
    """Title, wrapped caption at the bottom, the run's metadata in a grey footer line below it, and a constrained
    layout that leaves room for both."""
    full = f"{title}: {heading}" if title else heading
    fig.suptitle(f"{title}\n{heading}" if len(full) > 90 else full, fontweight="bold")
    lines: list[str] = []
    for paragraph in caption:
        lines.extend(textwrap.wrap(paragraph, width=140) or [""])
    footer_lines = textwrap.wrap(footer, width=160)
    bottom = 0.015
    base = 0.012
    if footer_lines:
        fig.text(base, base, "\n".join(footer_lines), ha="left", va="bottom", fontsize=7.5, color="#777777")
        base += 0.024 * len(footer_lines) + 0.008
        bottom = base
    if lines:
        fig.text(0.012, base, "\n".join(lines), ha="left", va="bottom", fontsize=9, color="#333333")
        bottom = base + 0.018 + 0.028 * len(lines)
    fig.set_layout_engine(ConstrainedLayoutEngine(rect=(0.0, bottom, 1.0, 1.0 - bottom), h_pad=0.06, w_pad=0.06))


WATERMARK_GID = "watermark"


def watermark(fig: Figure, text: str) -> None:
    """A large diagonal warning across the figure (a saturated run): drawn over the data, half transparent."""
    fig.text(
        0.5,
        0.5,
        text,
        ha="center",
        va="center",
        rotation=30,
        fontsize=64,
        fontweight="bold",
        color="#c0392b",
        alpha=0.22,
        zorder=100,
        gid=WATERMARK_GID,
    )


def no_data(ax: Axes, reason: str) -> None:
    ax.set_axis_off()
    ax.text(
        0.5,
        0.5,
        f"No data\n\n{reason}",
        ha="center",
        va="center",
        fontsize=13,
        color="#555555",
        transform=ax.transAxes,
        bbox={"boxstyle": "round,pad=1.2", "facecolor": "#f3f3f3", "edgecolor": "#aaaaaa"},
    )


# --------------------------------------------------------------------------------------------------- helpers


_URLISH = re.compile(
    r"([a-z][a-z0-9+.\-]*://\S*|www\.\S*|\S+\.[a-z]{2,}(:\d+)?/\S*|\S+@\S+\.[a-z]{2,}\S*)",
    re.IGNORECASE,
)


def _g(value: float) -> str:
    text = f"{value:.3g}"
    return f"{value:.0f}" if "e" in text else text


def _tick(value: float) -> str:
    return f"{round(value, 6):g}"


# From one second up, a duration below each limit is shown in the unit beside it: (limit, seconds per unit, unit).
_SECOND_UNITS = ((MINUTE, 1.0, "s"), (HOUR, MINUTE, "min"), (2 * DAY, HOUR, "h"))


def _seconds_in_unit(seconds: float, number: Callable[[float], str]) -> str:
    """Seconds in ms, s, min, h or d, whichever reads best; `number` writes the value."""
    if seconds < 1:
        return f"{number(seconds * 1000)} ms"
    for limit, size, unit in _SECOND_UNITS:
        if seconds < limit:
            return f"{number(seconds / size)} {unit}"
    return f"{number(seconds / DAY)} d"


def _hours_in_unit(hours: float, number: Callable[[float], str]) -> str:
    """Hours in min, h or d, whichever reads best; `number` writes the value."""
    if hours < 1:
        return f"{number(hours * 60)} min"
    return f"{number(hours)} h" if hours < 100 else f"{number(hours / 24)} d"


def _snap_log_limits(low: float, high: float, ticks: Sequence[float]) -> tuple[float, float]:
    """Axis limits reaching out to the nearest tick on each side, so every log axis has labelled ends."""
    below = [t for t in ticks if t <= low]
    above = [t for t in ticks if t >= high]
    return (below[-1] if below else low / 2) * 0.8, (above[0] if above else high * 2) * 1.25
