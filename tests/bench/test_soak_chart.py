"""bench.soak_chart draws what a soak run measured: one line per collector life, every event."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from bench.soak_chart import rss_svg

_NS = "{http://www.w3.org/2000/svg}"


def _figures() -> dict[str, object]:
    curve = [[t, 101, 70.0 + t / 60, 7, 6] for t in range(0, 300, 5)]
    curve += [[t, 202, 80.0, 7, 6] for t in range(305, 600, 5)]
    return {
        "collector": {"curve": curve},
        "kills_at_s": [300],
        "influx_restarts_at_s": [120, 450],
    }


def test_one_line_per_collector_life_and_a_tick_per_event() -> None:
    root = ET.fromstring(rss_svg([("run A", _figures())]))
    lines = root.findall(f"{_NS}polyline")
    assert len(lines) == 2
    assert [len(line.get("points", "").split()) for line in lines] == [60, 59]
    ticks = [e for e in root.findall(f"{_NS}line") if e.get("opacity")]
    assert sorted(e.get("stroke") for e in ticks) == ["#2e86de", "#2e86de", "#c0392b"]
    assert "run A" in "".join(root.itertext())


def test_higher_rss_is_drawn_higher() -> None:
    root = ET.fromstring(rss_svg([("run A", _figures())]))
    first = root.findall(f"{_NS}polyline")[0].get("points", "").split()
    ys = [float(p.split(",")[1]) for p in first]
    assert ys[-1] < ys[0]  # RSS rose over the first life: SVG y grows downwards


def test_one_panel_per_run() -> None:
    svg = rss_svg([("A", _figures()), ("B", _figures())])
    root = ET.fromstring(svg)
    assert len(root.findall(f"{_NS}polyline")) == 4
    assert float(root.get("height", "0")) > 2 * 200


def test_the_follower_child_is_drawn_dashed_beside_its_collector() -> None:
    figures = _figures()
    figures["follower"] = {"curve": [[t, 303, 90.0, 5, 4] for t in range(10, 600, 5)]}
    root = ET.fromstring(rss_svg([("run A", figures)]))
    lines = root.findall(f"{_NS}polyline")
    dashed = [line for line in lines if line.get("stroke-dasharray")]
    assert len(lines) == 3
    assert len(dashed) == 1
    assert len(dashed[0].get("points", "").split()) == 118
    # the scale holds the child's 90 MiB: its line is the highest (smallest y) of the panel
    child_y = float(dashed[0].get("points", "").split()[0].split(",")[1])
    assert all(
        child_y < float(p.split(",")[1])
        for line in lines
        if not line.get("stroke-dasharray")
        for p in line.get("points", "").split()
    )
