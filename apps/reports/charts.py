"""Server-side PNG charts for mail: email clients run no JavaScript and show SVG unreliably.

Figures are built with matplotlib's object API on the Agg canvas (no pyplot
global state), so rendering is safe in worker threads.
"""
from __future__ import annotations

import io
from datetime import datetime

import matplotlib

matplotlib.use("Agg")  # never pick a GUI backend on a worker

import matplotlib.dates as mdates  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

# Shown at 600x160 CSS pixels; rendered at 2x for high-density screens.
WIDTH_PX, HEIGHT_PX, SCALE = 600, 160, 2
ACCENT, BAD, WARN, MUTED, LINE = "#2563eb", "#c0392b", "#b7791f", "#6b7385", "#e3e6ec"


def _figure() -> tuple[Figure, object]:
    fig = Figure(figsize=(WIDTH_PX / 100, HEIGHT_PX / 100), dpi=100 * SCALE)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.09, 0.17, 0.86, 0.72))  # room for the last day label on the right
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(LINE)
    ax.tick_params(colors=MUTED, labelsize=7, length=0, pad=3)
    ax.grid(axis="y", color=LINE, linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100 * SCALE, facecolor="white")
    return buf.getvalue()


def _time_axis(ax, tz, span: tuple[datetime, datetime] | None) -> None:
    # Always the report's week: a lone point would otherwise widen the axis to years.
    if span:
        ax.set_xlim(*span)
    ax.xaxis.set_major_locator(mdates.DayLocator(tz=tz))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%a %d", tz=tz))


def _line(ax, xs, ys) -> None:
    # Sparse series (a service that started reporting yesterday) still show their points.
    marker = "o" if len(xs) < 12 else None
    ax.plot(xs, ys, color=ACCENT, linewidth=1.4, marker=marker, markersize=3)


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}".replace(".0 ", " ")
        n /= 1024
    return str(n)


def _note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color=MUTED, fontsize=8)


def goroutines_png(points: list[tuple[datetime, float]], tz, title: str = "Goroutines",
                   span: tuple[datetime, datetime] | None = None) -> bytes:
    fig, ax = _figure()
    ax.set_title(title, loc="left", fontsize=8, color=MUTED, pad=4)
    if points:
        xs, ys = zip(*points)
        _line(ax, xs, ys)
        ax.fill_between(xs, ys, color=ACCENT, alpha=0.08, linewidth=0)
        ax.set_ylim(0, max(ys) * 1.1 or 1)
        _time_axis(ax, tz, span)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    else:
        ax.set_xticks([]), ax.set_yticks([])
        _note(ax, "no goroutine snapshots this week")
    return _png(fig)


def _byte_unit(top: float) -> tuple[float, str]:
    for scale, unit in ((1024**3, "GiB"), (1024**2, "MiB"), (1024, "KiB")):
        if top >= 2 * scale:  # 1536 MiB reads better than 1.5 GiB on an axis
            return scale, unit
    return 1, "B"


def memory_png(points: list[tuple[datetime, float]], tz, limit: float | None = None,
               alert: float | None = None, title: str = "Peak RSS",
               span: tuple[datetime, datetime] | None = None) -> bytes:
    fig, ax = _figure()
    if points:
        xs, ys = zip(*points)
        top = max([*ys, limit or 0, alert or 0])
        # Plot in one unit so the tick locator picks round numbers (256 MiB, not 190.7 MiB).
        scale, unit = _byte_unit(top)
        ax.set_title(f"{title}, {unit}", loc="left", fontsize=8, color=MUTED, pad=4)
        _line(ax, xs, [y / scale for y in ys])
        lines = sorted(((v, c, label) for v, c, label in ((limit, BAD, "limit"), (alert, WARN, "alert")) if v), reverse=True)
        for index, (value, colour, label) in enumerate(lines):
            ax.axhline(value / scale, color=colour, linewidth=1, linestyle="--")
            # The higher line is labelled above it on the right, the lower below it on the left: never overlapping.
            above = index == 0
            ax.annotate(f"{label} {human_bytes(value)}", xy=(1.0 if above else 0.0, value / scale),
                        xycoords=("axes fraction", "data"), xytext=(0, 3 if above else -3), textcoords="offset points",
                        ha="right" if above else "left", va="bottom" if above else "top", color=colour, fontsize=6.5)
        ax.set_ylim(0, top / scale * 1.15)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
        _time_axis(ax, tz, span)
    else:
        ax.set_title(title, loc="left", fontsize=8, color=MUTED, pad=4)
        ax.set_xticks([]), ax.set_yticks([])
        _note(ax, "no memory samples this week")
    return _png(fig)
