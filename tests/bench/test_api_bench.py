"""The API benchmark's smoke form: `python -m bench.api --quick` runs to the end under the
production Content-Security-Policy and prints every figure (its timings are not judged here)."""

from __future__ import annotations

import re

import pytest

from bench import api

pytestmark = [pytest.mark.slow]


def test_the_quick_api_bench_completes_and_prints_its_figures(capsys):
    assert api.CHROMIUM.exists()  # the page phase is part of the smoke run, not optional
    assert api.main(["--quick", "--clients", "20"]) == 0
    out = capsys.readouterr().out
    rows = {line.split("|")[1].strip(): line for line in out.splitlines()[3:] if "|" in line}
    assert len(rows) == 6, out
    for clients in (1, 20):
        label = f"/latest, {clients} client{'s' if clients > 1 else ''}, 2 s"
        [latest] = [line for key, line in rows.items() if key.startswith(label + " (")]
        assert int(re.search(r"(\d+) req/s", latest)[1]) > 0
        assert re.search(r"(\d+) ok, 0 errors", latest)
    streams = rows["20 stream subscribers, held 2 s"]
    assert "20/20 connected" in streams
    drawn = rows["publish → drawn in the page (Chromium), sim every 0.5 s"]
    assert int(re.search(r"(\d+) readings drawn", drawn)[1]) > 0
    assert re.search(r"p50 \d+ ms, p95 \d+ ms, p99 \d+ ms", drawn)
    for what in ("demo", "serve"):
        event = rows[f"publish → event, {what} process, sim every 0.5 s"]
        assert int(re.search(r"(\d+) reading events", event)[1]) > 0
