"""The collector's RSS over a soak run, as an SVG chart: ``python -m bench.soak_chart``.

``python -m bench.soak_chart RUN.json [RUN.json ...] --out soak-rss.svg [--label A --label B]``
reads the ``--json`` figures of :mod:`bench.soak` runs and draws, one panel per run, the RSS [MiB]
of every collector process against the run's time [min]: one line per process life (a SIGKILL
starts a new one), the collector's ledger follower child dashed in orange where the run had one,
a red tick where the collector was killed, a blue tick where influxd was restarted. The SVG is
self-contained (no script, no font or style from outside), for docs/soak.md.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import orjson

from reports.charts import nice_ticks

__all__ = ["main", "rss_svg"]

_W, _PANEL_H = 760, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 30, 34
_LINE = "#1f6f8b"
_KILL = "#c0392b"
_RESTART = "#2e86de"
_FOLLOWER = "#d35400"


def _panel(figures: dict[str, Any], label: str, y0: float) -> list[str]:
    """One run's panel, its top edge at ``y0`` [px]."""
    curve = figures["collector"]["curve"]  # [t_s, pid, rss_mib, fds, threads]
    child = (figures.get("follower") or {}).get("curve") or []  # the same, of its child
    lives: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for t_s, pid, rss_mib, *_ in curve:
        lives[pid].append((t_s / 60, rss_mib))
    child_lives: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for t_s, pid, rss_mib, *_ in child:
        child_lives[pid].append((t_s / 60, rss_mib))
    t_max = max((t for t, *_ in curve + child), default=60) / 60 or 1.0
    top = nice_ticks(max((r for _, _, r, *_ in curve + child), default=1.0))
    y_top = top[-1] or 1.0
    x_ticks = [v for v in nice_ticks(t_max, 7) if v <= t_max]
    x_span = t_max
    plot_w, plot_h = _W - _LEFT - _RIGHT, _PANEL_H - _TOP - _BOTTOM

    def x(minutes: float) -> float:
        return _LEFT + minutes / x_span * plot_w

    def y(mib: float) -> float:
        return y0 + _TOP + plot_h - mib / y_top * plot_h

    out = [
        f'<text x="{_LEFT}" y="{y0 + 18}" font-size="13" font-weight="bold">{escape(label)}</text>'
    ]
    for v in top:
        out.append(
            f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            'stroke="#ddd"/>'
            f'<text x="{_LEFT - 6}" y="{y(v) + 4:.1f}" font-size="11" '
            f'text-anchor="end">{v:g}</text>'
        )
    for v in x_ticks:
        out.append(
            f'<text x="{x(v):.1f}" y="{y0 + _PANEL_H - 16}" font-size="11" '
            f'text-anchor="middle">{v:g}</text>'
        )
    for key, colour in (("kills_at_s", _KILL), ("influx_restarts_at_s", _RESTART)):
        for t_s in figures.get(key) or []:
            out.append(
                f'<line x1="{x(t_s / 60):.1f}" x2="{x(t_s / 60):.1f}" y1="{y(y_top):.1f}" '
                f'y2="{y(0):.1f}" stroke="{colour}" stroke-width="1" opacity="0.45"/>'
            )
    for points in lives.values():
        path = " ".join(f"{x(t):.1f},{y(r):.1f}" for t, r in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{_LINE}" stroke-width="1.6"/>')
    for points in child_lives.values():
        path = " ".join(f"{x(t):.1f},{y(r):.1f}" for t, r in points)
        out.append(
            f'<polyline points="{path}" fill="none" stroke="{_FOLLOWER}" stroke-width="1.6" '
            'stroke-dasharray="5 3"/>'
        )
    out.append(
        f'<text x="{_W - _RIGHT}" y="{y0 + _PANEL_H - 2}" font-size="11" text-anchor="end">'
        "time since the start of the run [min]</text>"
        f'<text x="14" y="{y0 + _TOP + plot_h / 2:.1f}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 14 {y0 + _TOP + plot_h / 2:.1f})">RSS [MiB]</text>'
    )
    return out


def rss_svg(runs: list[tuple[str, dict[str, Any]]]) -> str:
    """An SVG of the collector's RSS [MiB] over time [min], one panel per ``(label, figures)``."""
    height = 28 + _PANEL_H * len(runs)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{height}" '
        f'viewBox="0 0 {_W} {height}" font-family="sans-serif">',
        f'<rect width="{_W}" height="{height}" fill="white"/>',
        f'<text x="{_LEFT}" y="18" font-size="12">'
        f'<tspan fill="{_LINE}">— collector RSS (one line per process)</tspan>'
        f'<tspan fill="{_FOLLOWER}" dx="14">- - its follower child</tspan>'
        f'<tspan fill="{_KILL}" dx="14">| collector SIGKILL</tspan>'
        f'<tspan fill="{_RESTART}" dx="14">| influxd restart</tspan></text>',
    ]
    for i, (label, figures) in enumerate(runs):
        parts += _panel(figures, label, 28 + i * _PANEL_H)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("runs", type=Path, nargs="+", help="--json files of bench.soak")
    p.add_argument("--label", action="append", default=[], help="a panel's title, in order")
    p.add_argument("--out", type=Path, required=True, help="the SVG to write")
    args = p.parse_args(argv)
    runs = []
    for i, path in enumerate(args.runs):
        figures = orjson.loads(path.read_bytes())
        label = args.label[i] if i < len(args.label) else path.name
        runs.append((label, figures))
    args.out.write_text(rss_svg(runs), encoding="utf-8")
    print(f"soak chart: {len(runs)} run(s) drawn into {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
