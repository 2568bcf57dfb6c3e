"""Charts as hand-built inline SVG: text stays text, nothing is fetched, and the same markup
renders alike in a browser and in WeasyPrint (whose SVG support covers rect, line, polyline,
circle and text, but not everything matplotlib's SVG backend emits: its CSS ``font`` shorthand
in style attributes, clip paths, ``<use>`` markers). Every plotted value comes from the doc;
axis ticks are scaffolding. Values that are None are left out (no bar, a break in the line).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from reports import fmt
from reports.i18n import MONTHS_EN, Lang, t

__all__ = [
    "FONT_STACK",
    "MIN_COMPLETENESS_PCT",
    "SYMBOLS",
    "bar_list",
    "completeness_chart",
    "energy_chart",
]

FONT_STACK = (
    "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'WenQuanYi Micro Hei', "
    "'Microsoft YaHei', 'PingFang SC', sans-serif"
)
MIN_COMPLETENESS_PCT = 90.0  # services.targets.MIN_COMPLETENESS_PCT: below it a target is undecided

BLUE = "#3b6ea8"
ORANGE = "#d9822b"
RED = "#c0392b"
GREY = "#888888"
GRID = "#e3e3e3"
TEXT = "#333333"
SYMBOLS = {"<=": "≤", ">=": "≥"}

W, H = 760, 290
LEFT, RIGHT, TOP, BOTTOM = 64, 64, 44, 30


def month_label(month: str, lang: Lang) -> str:
    """ "2026-03" → "3月" or "Mar"; anything else as it is."""
    try:
        number = int(month[5:7])
    except ValueError:
        return month
    if not 1 <= number <= 12:
        return month
    return f"{number}月" if lang == "zh" else MONTHS_EN[number - 1]


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """0 … a round number ≥ ``top`` in about ``count`` round steps."""
    if not math.isfinite(top) or top <= 0:
        return [0.0, 1.0]
    raw = top / (count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    n = math.ceil(top / step - 1e-9)
    return [i * step for i in range(n + 1)]


def _text(
    x: float,
    y: float,
    label: str,
    *,
    anchor: str = "middle",
    size: int = 11,
    fill: str = TEXT,
    weight: str = "normal",
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{fill}" font-weight="{weight}">{escape(label)}</text>'
    )


def _open(title: str, height: int = H) -> list[str]:
    return [
        f'<svg class="chart" role="img" '
        f'viewBox="0 0 {W} {height}" width="{W}" height="{height}" '
        f'font-family="{FONT_STACK}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{W}" height="{height}" fill="#ffffff"/>',
    ]


def _legend(items: Sequence[tuple[str, str, str]], y: float = 16) -> list[str]:
    """(kind, colour, label) with kind bar | line | dash, laid out left to right."""
    out, x = [], float(LEFT)
    for kind, colour, label in items:
        if kind == "bar":
            out.append(
                f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="14" height="10" fill="{colour}"/>'
            )
        else:
            dash = ' stroke-dasharray="5 3"' if kind == "dash" else ""
            out.append(
                f'<line x1="{x:.1f}" y1="{y - 4:.1f}" x2="{x + 16:.1f}" y2="{y - 4:.1f}" '
                f'stroke="{colour}" stroke-width="2.5"{dash}/>'
            )
        out.append(_text(x + 20, y, label, anchor="start", size=12))
        x += 20 + 12.5 * _width(label) + 22
    return out


def _width(label: str) -> float:
    """Approximate width of ``label`` in em of a 12 px font (CJK one em, Latin about half)."""
    return sum(1.0 if ord(c) > 0x2E7F else 0.56 for c in label)


def _axis(
    ticks: list[float], scale: float, x: float, anchor: str, unit: str | None, *, grid: bool
) -> list[str]:
    out = []
    for tick in ticks:
        y = TOP + (H - TOP - BOTTOM) * (1 - tick / scale)
        if grid:
            out.append(
                f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" '
                f'stroke="{GRID}" stroke-width="1"/>'
            )
        out.append(_text(x, y + 4, fmt.number(tick, unit), anchor=anchor, size=11, fill=GREY))
    return out


def energy_chart(
    *,
    months: Sequence[str],
    energy: Sequence[float | None],
    intensity: Sequence[float | None],
    threshold: float | None,
    direction: str,
    lang: Lang,
) -> Markup:
    """Bars of energy (tce, left axis) per month, the tCO2/tce line (right axis) and the
    threshold as a dashed line."""
    title = t("chart.energy_title", lang)
    out = _open(title)
    plot_h = H - TOP - BOTTOM
    n = max(len(months), 1)
    band = (W - LEFT - RIGHT) / n
    e_known = [v for v in energy if v is not None and math.isfinite(v)]
    i_known = [v for v in intensity if v is not None and math.isfinite(v)]
    e_ticks = nice_ticks(max(e_known, default=0.0))
    i_top = max([*i_known, *([threshold] if threshold is not None else [])], default=0.0)
    i_ticks = nice_ticks(i_top * 1.05)
    e_scale, i_scale = e_ticks[-1], i_ticks[-1]
    out += _axis(e_ticks, e_scale, LEFT - 6, "end", "tce", grid=True)
    out += _axis(i_ticks, i_scale, W - RIGHT + 6, "start", "tCO2/tce", grid=False)
    base = TOP + plot_h
    for k, (month, value) in enumerate(zip(months, energy, strict=True)):
        cx = LEFT + band * (k + 0.5)
        out.append(_text(cx, base + 18, month_label(month, lang), size=11))
        if value is None or not math.isfinite(value):
            out.append(_text(cx, base - 4, t("chart.no_data", lang), size=9, fill=GREY))
            continue
        h = plot_h * max(value, 0.0) / e_scale
        out.append(
            f'<rect x="{cx - band * 0.32:.1f}" y="{base - h:.1f}" width="{band * 0.64:.1f}" '
            f'height="{h:.1f}" fill="{BLUE}" fill-opacity="0.85"/>'
        )
    out.append(
        f'<line x1="{LEFT}" y1="{base}" x2="{W - RIGHT}" y2="{base}" stroke="{GREY}" '
        f'stroke-width="1"/>'
    )
    if threshold is not None:
        y = TOP + plot_h * (1 - threshold / i_scale)
        out.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" stroke="{RED}" '
            f'stroke-width="2" stroke-dasharray="6 4"/>'
        )
    out.append(_text(LEFT - 6, TOP - 10, "tce", anchor="end", size=10, fill=GREY))
    out.append(_text(W - RIGHT + 6, TOP - 10, "tCO2/tce", anchor="start", size=10, fill=GREY))
    segment: list[str] = []
    segments: list[list[str]] = []
    for k, value in enumerate(intensity):
        cx = LEFT + band * (k + 0.5)
        if value is None or not math.isfinite(value):
            if segment:
                segments.append(segment)
            segment = []
            continue
        y = TOP + plot_h * (1 - value / i_scale)
        segment.append(f"{cx:.1f},{y:.1f}")
        out.append(f'<circle cx="{cx:.1f}" cy="{y:.1f}" r="3.5" fill="{ORANGE}"/>')
    if segment:
        segments.append(segment)
    for points in segments:
        out.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="{ORANGE}" '
            f'stroke-width="2.5"/>'
        )
    legend = [("bar", BLUE, t("chart.energy", lang)), ("line", ORANGE, t("chart.intensity", lang))]
    if threshold is not None:
        symbol = SYMBOLS.get(direction, direction)
        label = f"{t('chart.threshold', lang)} {symbol} {fmt.number(threshold, 'tCO2/tce')}"
        legend.append(("dash", RED, label))
    out += _legend(legend)
    out.append("</svg>")
    return Markup("".join(out))


def completeness_chart(months: Sequence[str], pct: Sequence[float | None], lang: Lang) -> Markup:
    """Completeness per month (0–100 %), with the 90 % a target needs to be judged."""
    height = 200
    out = _open(t("chart.completeness_title", lang), height)
    top, bottom = 36, 26
    plot_h = height - top - bottom
    n = max(len(months), 1)
    band = (W - LEFT - RIGHT) / n
    base = top + plot_h
    for tick in (0.0, 25.0, 50.0, 75.0, 100.0):
        y = top + plot_h * (1 - tick / 100)
        out.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        out.append(_text(LEFT - 6, y + 4, fmt.number(tick, "%"), anchor="end", fill=GREY))
    for k, (month, value) in enumerate(zip(months, pct, strict=True)):
        cx = LEFT + band * (k + 0.5)
        out.append(_text(cx, base + 17, month_label(month, lang)))
        if value is None or not math.isfinite(value):
            out.append(_text(cx, base - 4, t("chart.no_data", lang), size=9, fill=GREY))
            continue
        h = plot_h * min(max(value, 0.0), 100.0) / 100
        colour = BLUE if value >= MIN_COMPLETENESS_PCT else ORANGE
        out.append(
            f'<rect x="{cx - band * 0.32:.1f}" y="{base - h:.1f}" width="{band * 0.64:.1f}" '
            f'height="{h:.1f}" fill="{colour}" fill-opacity="0.85"/>'
        )
    y = top + plot_h * (1 - MIN_COMPLETENESS_PCT / 100)
    out.append(
        f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" stroke="{RED}" '
        f'stroke-width="1.5" stroke-dasharray="6 4"/>'
    )
    out += _legend(
        [
            ("bar", BLUE, t("chart.completeness", lang)),
            ("bar", ORANGE, t("chart.below_min", lang)),
            ("dash", RED, t("chart.min_completeness", lang)),
        ],
        y=14,
    )
    out.append("</svg>")
    return Markup("".join(out))


def bar_list(title: str, items: Sequence[tuple[str, float | None]], unit: str | None) -> Markup:
    """Horizontal bars, one per labelled value, the value written beside its bar."""
    row = 24
    height = 14 + row * max(len(items), 1)
    label_w = 150
    out = _open(title, height)
    known = [v for _, v in items if v is not None and math.isfinite(v) and v > 0]
    scale = max(known, default=1.0)
    span = W - label_w - 150
    for k, (label, value) in enumerate(items):
        y = 8 + row * k
        out.append(_text(label_w - 8, y + 15, label, anchor="end", size=12))
        if value is None or not math.isfinite(value):
            out.append(_text(label_w, y + 15, fmt.DASH, anchor="start", size=12, fill=GREY))
            continue
        w = span * max(value, 0.0) / scale
        out.append(
            f'<rect x="{label_w}" y="{y + 3:.1f}" width="{w:.1f}" height="{row - 8}" '
            f'fill="{BLUE}" fill-opacity="0.85"/>'
        )
        out.append(_text(label_w + w + 6, y + 15, fmt.number(value, unit), anchor="start", size=12))
    out.append("</svg>")
    return Markup("".join(out))
