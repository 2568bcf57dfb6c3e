"""The storage benchmark: the city arithmetic, and its smoke form on a real influxd."""

from __future__ import annotations

import re

import pytest

from bench import storage


def test_disk_per_month_is_meters_times_readings_times_bytes():
    # 50,000 meters every 15 s for 30.4375 days at 30 B each: 50,000 x 175,320 x 30 B
    assert storage.disk_per_month(50_000, every_s=15.0, bytes_per_reading=30.0) == pytest.approx(
        50_000 * 175_320 * 30.0, rel=1e-12
    )
    assert storage.disk_per_month(0, bytes_per_reading=30.0) == 0.0
    with pytest.raises(ValueError, match="interval > 0"):
        storage.disk_per_month(10, every_s=0.0, bytes_per_reading=30.0)


@pytest.mark.influxdb
def test_the_quick_storage_bench_measures_compacted_bytes_per_reading(capsys):
    assert storage.main(["--hours", "0.5"]) == 0
    out = capsys.readouterr().out
    raw = re.search(r"\*\*(\d+\.\d) B/reading\*\*, [\d.]+ B/value; WAL left 0 B", out)
    assert raw is not None, out
    assert 5.0 < float(raw[1]) < 300.0  # compressed TSM: far below the ~100 B of line protocol
    assert re.search(r"city: 50,000 meters, 1 reading / 15 s \| 288 M readings/day", out)
    assert re.search(r"\*\*[\d,.]+ GiB/month\*\*", out)


@pytest.mark.influxdb
def test_a_bench_stopped_by_sigterm_stops_the_servers_it_started():
    # `timeout` or a CI runner ends a bench with SIGTERM: the influxd it started must not outlive it
    import signal
    import subprocess
    import sys
    import time

    from bench._measure import REPO

    bench = subprocess.Popen(
        [sys.executable, "-m", "bench.storage", "--hours", "24"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        servers: list[int] = []
        deadline = time.monotonic() + 60
        while not servers and time.monotonic() < deadline and bench.poll() is None:
            children = subprocess.run(
                ["pgrep", "-P", str(bench.pid)], capture_output=True, text=True, check=False
            ).stdout.split()
            servers = [int(c) for c in children if "influxd" in _command(int(c))]
            time.sleep(0.2)
        assert servers, "the bench started no influxd"
        bench.send_signal(signal.SIGTERM)
        assert bench.wait(timeout=60) == 128 + signal.SIGTERM
        for pid in servers:
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not _alive(pid), f"influxd {pid} outlived the bench"
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"  # a zombie has ended
    except OSError:
        return False
