"""Plotly figures for the pages, built with plotly.graph_objects from plain lists.

Each function returns a dict (figure.to_plotly_json()) that a template emits
with `{{ fig|json_script:"chart-id" }}`; static/js/charts.js draws it.

Labels that come from goroutine stacks are untrusted: they never go into
plotly's `text` (which renders some HTML). Legend/axis names pass through
`plot_safe`, which swaps angle brackets for look-alikes, and hover details
ride in `customdata` shown by a `hovertemplate`.
"""
from __future__ import annotations

import plotly.graph_objects as go

from apps.web.source import short_function

PALETTE = ["#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#475569", "#ea580c"]
MIB = 1024 * 1024

_TEMPLATE = go.layout.Template()  # no default theme: ~7 KB less per figure


def plot_safe(label, limit: int = 60) -> str:
    """An untrusted label made inert for plotly's pseudo-HTML, shortened."""
    s = str(label or "").replace("&", "＆").replace("<", "‹").replace(">", "›")
    return s if len(s) <= limit else "…" + s[-(limit - 1):]




def _layout(title: str, yaxis_title: str, height: int = 300, **extra) -> dict:
    layout = dict(
        template=_TEMPLATE,
        title=dict(text=title, x=0, xanchor="left", xref="paper", y=0.985, yref="container", yanchor="top", font=dict(size=14)),
        height=height,
        margin=dict(l=60, r=20, t=62, b=56),
        font=dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=12, color="#1d2330"),
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        hovermode="x unified",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0, font=dict(size=11)),
        xaxis=dict(type="date", showgrid=True, gridcolor="#eef0f4", linecolor="#d5d9e0", title=dict(text="time (UTC)")),
        yaxis=dict(title=dict(text=yaxis_title), showgrid=True, gridcolor="#eef0f4", linecolor="#d5d9e0", rangemode="tozero"),
    )
    layout.update(extra)
    return layout


def _fig(traces, layout) -> dict:
    fig = go.Figure(layout=layout).to_plotly_json()
    fig["data"] = traces
    return fig


ARRAYS = ("x", "y", "customdata")


FEW_POINTS = 12


def _trace(cls, **props) -> dict:
    """A trace validated by plotly.graph_objects, with its data arrays attached afterwards.

    plotly validates and deep-copies every element of x/y; for the few
    thousand points of a 30-day chart that is most of the page's server time,
    and the arrays are plain numbers/strings built here, so they skip it.
    """
    arrays = {k: props.pop(k) for k in ARRAYS if k in props}
    if props.get("mode") == "lines" and 0 < len(arrays.get("x") or ()) <= FEW_POINTS and "stackgroup" not in props:
        # a new service has only a few points: a bare line of two points is easy to miss
        props["mode"] = "lines+markers"
    trace = cls(**props).to_plotly_json()
    trace.update({k: list(v) for k, v in arrays.items()})
    return trace


def _mib(values):
    return [round(v / MIB, 1) if v is not None else None for v in values]


def goroutines_chart(series: dict) -> dict:
    """Total goroutines as a line over the top blocking sites stacked as areas."""
    traces = []
    for i, s in enumerate(series["sites"]):
        site = s["site"]
        name = plot_safe(short_function(site.site_function), 40)
        traces.append(_trace(go.Scatter, 
            x=series["x"], y=s["y"], name=name, mode="lines", stackgroup="sites",
            line=dict(width=0.5, color=PALETTE[i % len(PALETTE)]),
            customdata=[plot_safe(f"{site.wait_reason} @ {site.site_function}", 120)] * len(series["x"]),
            hovertemplate="%{customdata}: %{y:,} goroutines<extra></extra>",
        ))
    traces.append(_trace(go.Scatter, 
        x=series["x"], y=series["total"], name="all goroutines", mode="lines",
        line=dict(color="#111827", width=2), connectgaps=True,
        hovertemplate="total: %{y:,}<extra></extra>",
    ))
    title = "Goroutines — total and top blocking sites"
    if series.get("sampled"):
        title += " (last snapshot per interval)"
    return _fig(traces, _layout(title, "goroutines"))


def memory_chart(rt: dict, gomemlimit: int | None, container_limit: int | None, note: str = "") -> dict:
    x = rt["x"]
    traces = [
        _trace(go.Scatter, x=x, y=_mib(rt["heap"]), name="heap in use", mode="lines", line=dict(color=PALETTE[0], width=2),
                   hovertemplate="heap in use: %{y:,.1f} MiB<extra></extra>"),
        _trace(go.Scatter, x=x, y=_mib(rt["goal"]), name="heap goal (NextGC)", mode="lines", line=dict(color=PALETTE[5], width=1, dash="dot"),
                   hovertemplate="heap goal: %{y:,.1f} MiB<extra></extra>"),
        _trace(go.Scatter, x=x, y=_mib(rt["rss"]), name="RSS", mode="lines", line=dict(color=PALETTE[1], width=2),
                   hovertemplate="RSS: %{y:,.1f} MiB<extra></extra>"),
    ]
    if x and gomemlimit:
        traces.append(_trace(go.Scatter, x=[x[0], x[-1]], y=[gomemlimit / MIB] * 2, name="GOMEMLIMIT", mode="lines",
                                 line=dict(color=PALETTE[4], dash="dash", width=1.5),
                                 hovertemplate="GOMEMLIMIT: %{y:,.0f} MiB<extra></extra>"))
    if x and container_limit:
        traces.append(_trace(go.Scatter, x=[x[0], x[-1]], y=[container_limit / MIB] * 2, name="container limit", mode="lines",
                                 line=dict(color=PALETTE[3], dash="dash", width=1.5),
                                 hovertemplate="container limit: %{y:,.0f} MiB<extra></extra>"))
    title = "Memory — heap and RSS" + (f" ({note})" if note else "")
    layout = _layout(title, "MiB")
    top = max([v for v in rt["heap"] + rt["rss"] + rt["goal"] if v] or [0])
    limit = max(gomemlimit or 0, container_limit or 0)
    if top and limit > 20 * top:  # a tiny heap under a big limit: a log axis keeps both readable
        layout["yaxis"].update(type="log", title=dict(text="MiB (log scale)"), dtick=1, tickformat=",~g")
        layout["yaxis"].pop("rangemode", None)
    return _fig(traces, layout)


def gc_chart(rt: dict) -> dict:
    x = rt["x"]
    traces = [
        _trace(go.Scatter, x=x, y=rt["pause_ms"], name="GC pause p99 (ms)", mode="lines", line=dict(color=PALETTE[3], width=2),
                   hovertemplate="pause p99: %{y:.3f} ms<extra></extra>"),
        _trace(go.Scatter, x=x, y=rt["gc_cpu_pct"], name="GC CPU (%)", mode="lines", yaxis="y2", line=dict(color=PALETTE[2], width=2),
                   hovertemplate="GC CPU: %{y:.2f}%<extra></extra>"),
    ]
    layout = _layout("GC pause p99 and GC CPU", "pause p99 (ms)",
                     yaxis2=dict(title=dict(text="GC CPU (%)"), overlaying="y", side="right", showgrid=False, tickformat=".3~f",
                                 range=[0, 1.15 * max([v for v in rt["gc_cpu_pct"] if v] or [1])]))
    layout["yaxis"]["tickformat"] = ".3~f"
    layout["margin"] = dict(l=60, r=60, t=62, b=56)
    return _fig(traces, layout)


def gc_rate_chart(rt: dict) -> dict:
    traces = [_trace(go.Bar, x=rt.get("gc_x", rt["x"]), y=rt["gc_per_min"], name="GC cycles / min", marker=dict(color=PALETTE[0]),
                     hovertemplate="%{y:.2f} cycles/min<extra></extra>")]
    return _fig(traces, _layout("GC cycles per minute", "cycles / min", bargap=0.1))


def site_chart(lines: dict) -> dict:
    traces = []
    for i, (name, line) in enumerate(lines.items()):
        traces.append(_trace(go.Scatter, x=line["x"], y=line["y"], name=plot_safe(name, 40), mode="lines+markers",
                                 marker=dict(size=4), line=dict(color=PALETTE[i % len(PALETTE)], width=2),
                                 hovertemplate="%{y:,} goroutines<extra>" + plot_safe(name, 40) + "</extra>"))
    return _fig(traces, _layout("Goroutines blocked here, per instance", "goroutines"))


def diff_chart(rows: list[dict], limit: int = 20) -> dict:
    """Horizontal bars of the largest changes (delta), coloured by direction."""
    top = sorted(rows, key=lambda r: abs(r["delta"]), reverse=True)[:limit]
    top = [r for r in top if r["delta"]][::-1]
    labels = [f"{len(top) - i}. {plot_safe(short_function(r['function']), 45)}" for i, r in enumerate(top)]
    traces = [_trace(go.Bar, 
        x=[r["delta"] for r in top], y=labels, orientation="h",
        marker=dict(color=["#dc2626" if r["delta"] > 0 else "#059669" for r in top]),
        customdata=[[plot_safe(r["wait_reason"], 40), r["before"], r["after"], r["status"]] for r in top],
        hovertemplate="%{customdata[0]}<br>%{customdata[1]:,} → %{customdata[2]:,} (%{x:+,})<br>%{customdata[3]}<extra></extra>",
    )]
    layout = _layout("Largest changes (after − before)", "", height=max(220, 60 + 26 * len(top)), hovermode="closest")
    layout["xaxis"] = dict(title=dict(text="Δ goroutines"), zeroline=True, zerolinecolor="#9ca3af", gridcolor="#eef0f4")
    layout["yaxis"] = dict(automargin=True, tickfont=dict(family="ui-monospace, Menlo, monospace", size=11))
    layout["showlegend"] = False
    return _fig(traces, layout)


def whatif_chart(recorded: dict, predicted: list[dict] | None, gomemlimit: int | None, container_limit: int | None) -> dict:
    """Recorded heap vs the what-if prediction; charts.js redraws traces 2 and 3 (the prediction)."""
    traces = [
        _trace(go.Scatter, x=recorded["x"], y=_mib(recorded["heap"]), name="recorded heap in use", mode="lines",
                   line=dict(color=PALETTE[0], width=2), hovertemplate="recorded heap: %{y:,.1f} MiB<extra></extra>"),
        _trace(go.Scatter, x=recorded["x"], y=_mib(recorded["goal"]), name="recorded heap goal", mode="lines",
                   line=dict(color=PALETTE[5], width=1, dash="dot"), hovertemplate="recorded goal: %{y:,.1f} MiB<extra></extra>"),
    ]
    px, pgoal, ppeak = whatif_xy(predicted)
    traces.append(_trace(go.Scatter, x=px, y=pgoal, name="predicted heap goal", mode="lines",
                             line=dict(color=PALETTE[4], width=2), hovertemplate="predicted goal: %{y:,.1f} MiB<extra></extra>"))
    traces.append(_trace(go.Scatter, x=px, y=ppeak, name="predicted heap peak", mode="lines",
                             line=dict(color=PALETTE[1], width=2, dash="dash"), hovertemplate="predicted peak: %{y:,.1f} MiB<extra></extra>"))
    xs = recorded["x"] or px
    top = max([v for v in (recorded["heap"] + recorded["goal"]) if v is not None] or [0])
    title = "Heap: recorded vs predicted"
    if xs and container_limit and (not top or container_limit <= 4 * top):
        traces.append(_trace(go.Scatter, x=[xs[0], xs[-1]], y=[container_limit / MIB] * 2, name="container limit", mode="lines",
                                 line=dict(color=PALETTE[3], dash="dash", width=1.5), hovertemplate="container limit: %{y:,.0f} MiB<extra></extra>"))
    return _fig(traces, _layout(title, "MiB", height=340))


def whatif_gc_chart(recorded_per_min: float | None, predicted_per_min: float | None) -> dict:
    """GC frequency: recorded vs predicted; charts.js updates bar 1."""
    traces = [_trace(go.Bar, 
        x=["recorded", "predicted"], y=[recorded_per_min, predicted_per_min],
        marker=dict(color=[PALETTE[0], PALETTE[4]]), width=0.5,
        hovertemplate="%{x}: %{y:.2f} GC cycles/min<extra></extra>",
    )]
    layout = _layout("GC cycles per minute", "cycles / min", height=340, hovermode="closest", showlegend=False)
    layout["xaxis"] = dict(type="category", linecolor="#d5d9e0")
    return _fig(traces, layout)


def whatif_xy(predicted: list[dict] | None):
    """The what-if series as x (UTC strings) and MiB lists; shared by the page and the JSON endpoint."""
    from datetime import datetime, timezone

    px, pgoal, ppeak = [], [], []
    for p in predicted or []:
        at = p.get("at")
        if isinstance(at, (int, float)):
            at = datetime.fromtimestamp(at, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        px.append(at)
        pgoal.append(round(p["heap_goal"] / MIB, 1) if p.get("heap_goal") is not None else None)
        ppeak.append(round(p["heap_peak"] / MIB, 1) if p.get("heap_peak") is not None else None)
    return px, pgoal, ppeak
