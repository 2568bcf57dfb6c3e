"""The city benchmark's smoke form: ``python -m bench.city --quick`` generates a small city,
backfills it, serves it and prints a row for every target of issue 14 (its timings are not
judged here)."""

from __future__ import annotations

import re

import pytest

from bench import city

pytestmark = [pytest.mark.slow]


def test_the_quick_city_bench_completes_and_prints_every_row(capsys):
    assert city.main(["--quick"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("| ")]
    assert lines[0] == "| Case | Measured | Target | Met | Note |"
    rows = {line.split("|")[1].strip(): line for line in lines[1:]}
    assert len(rows) == 13, out

    def one(prefix: str) -> str:
        [found] = [line for key, line in rows.items() if key.startswith(prefix)]
        return found

    def seconds(line: str) -> float:
        match = re.search(r"\| ([\d,.]+) s \|", line)
        assert match, line
        return float(match[1].replace(",", ""))

    assert re.search(r"registry load: 4 parks, [\d,]+ devices", one("registry load"))
    assert seconds(one("registry load")) > 0
    backfill = one("backfill, scaled: 4 parks")
    assert int(re.search(r"([\d,]+) points,", backfill)[1].replace(",", "")) > 10_000
    mqtt = one("backfill through MQTT, full size (arithmetic)")
    assert re.search(r"\d+ collectors", mqtt)
    assert "4 parks with energy figures" in one("city evaluation in process on the day roll-ups")
    for prefix in (
        "/indicators?period=2025: park of 40 meters, 2 years stored, p95",
        "/indicators?period=2025: same park, computed again, p95",
        "/targets?period=2025: same park",
        "park year report, PDF (zh): same park",
        "/city/indicators?period=2025: 4 parks",
        "/city/indicators?period=2025 after a day of city-002 rolled up again",
        "/city/indicators?period=2025: first ask after a restart, the city warmed up at start",
        "city report, PDF (zh)",
    ):
        assert seconds(one(prefix)) > 0
    assert "4 parks ranked" in one("/city/indicators?period=2025: 4 parks")
    warmed = one("/city/indicators?period=2025: first ask after a restart")
    assert re.search(r"4 parks evaluated in the background in [\d.]+ s", warmed), warmed
    assert "0 parks stale" in warmed
    assert int(re.search(r"([\d,]+) bytes", one("city report"))[1].replace(",", "")) > 1000
    disk = one("disk per month")
    assert "BYTES_PER_READING = 29.7 B" in disk
    meters = int(re.search(r"raw readings of ([\d,]+) devices", disk)[1].replace(",", ""))
    gib = float(re.search(r"\| ([\d,.]+) GiB \|", disk)[1].replace(",", ""))
    # meters × readings in an average month (one per 15 s) × 29.7 B, as printed (2 decimals)
    assert gib == pytest.approx(meters * 365.25 / 12 * 86_400 / 15 * 29.7 / 2**30, abs=0.006)
    # a smoke run judges no target
    assert all(line.split("|")[4].strip() == "–" for line in lines[1:])
