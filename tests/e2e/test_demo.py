"""`smartpark demo` as a user runs it: fresh data from every device quickly, 30 days of history
behind them, a clean Ctrl-C.

The demo makes an operator key for its park and logs the page's address with the key in the URL
fragment; the API refuses requests without it.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest

from config.registry import load_registry
from tests.e2e.helpers import SmartparkProcess, wait_for
from tests.support.servers import free_port

pytestmark = [pytest.mark.slow]

DAY_MS = 86_400_000


def test_demo_serves_fresh_readings_from_every_device_and_stops_cleanly(tmp_path):
    port = free_port()
    demo = SmartparkProcess(["demo", "--port", str(port)], env={}, log_path=tmp_path / "demo.log")
    devices = {d.id for d in load_registry().parks["wuhan-demo"].devices}
    started = time.monotonic()
    try:

        def logged_key() -> str | None:
            if not demo.alive():
                raise AssertionError(f"demo exited:\n{demo.output()}")
            found = re.search(rf"http://127\.0\.0\.1:{port}/#key=([A-Za-z0-9_-]+)", demo.output())
            return found.group(1) if found else None

        key = wait_for(logged_key, timeout_s=30, what="the page's address with its key")
        auth = {"Authorization": f"Bearer {key}"}
        latest_url = f"http://127.0.0.1:{port}/api/v1/parks/wuhan-demo/latest"

        def fresh_devices() -> set[str] | None:
            if not demo.alive():
                raise AssertionError(f"demo exited:\n{demo.output()}")
            try:
                body = httpx.get(latest_url, headers=auth, timeout=2).json()
            except httpx.HTTPError:
                return None
            now_ms = time.time() * 1000
            fresh = {r["device"] for r in body["readings"] if now_ms - r["time_ms"] < 10_000}
            return fresh if fresh == devices else None

        wait_for(fresh_devices, timeout_s=30, what="fresh readings from every device", every_s=0.5)
        elapsed = time.monotonic() - started
        assert elapsed < 30

        # history: the last 24 h at once, all 30 days soon after, joined to live data without a
        # register reset (the ledger measures every interval of the last day)
        park_url = f"http://127.0.0.1:{port}/api/v1/parks/wuhan-demo"
        now_ms = int(time.time() * 1000)

        def points(start_ms: int, end_ms: int) -> int:
            body = httpx.get(
                f"{park_url}/series",
                params={"device": "tower-a-f01", "field": "energy_kwh", "start": start_ms,
                        "end": end_ms},
                headers=auth,
                timeout=5,
            ).json()  # fmt: skip
            return len(body["points"])

        assert points(now_ms - DAY_MS, now_ms) >= 95  # 96 quarter-hours, the newest may be partial
        assert time.monotonic() - started < 30
        month_ago = now_ms - 30 * DAY_MS + 3_600_000
        wait_for(
            lambda: points(month_ago, month_ago + 5 * 3_600_000) >= 20 or None,
            timeout_s=90,  # ≈ 8 s on a quiet 2-core machine; CI shares it
            what="the history's oldest day",
        )
        stored = re.compile(r"history: (\d+) readings of (\d+) days stored")
        found = wait_for(lambda: stored.search(demo.output()), timeout_s=120, what="history stored")
        assert int(found.group(1)) > 30 * 96 * len(devices) * 0.9  # every device, every quarter
        assert int(found.group(2)) == 31  # 30 days of uploads and the day in progress
        ledger = httpx.get(
            f"{park_url}/ledger",
            params={"device": "tower-a-f01", "start": now_ms - DAY_MS, "end": now_ms},
            headers=auth,
            timeout=10,
        ).json()
        energy = next(f for f in ledger["fields"] if f["field"] == "energy_kwh")
        *closed, running = energy["intervals"]  # the last one is still in progress
        assert {i["quality"] for i in closed} == {"measured"}, energy["quality_counts"]
        assert running["start_ms"] > now_ms - 900_000
        assert energy["total"] > 1000  # a day of a 1,800 m² fab floor, kWh
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert page.status_code == 200
        assert "<html" in page.text.lower()
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["status"] == "ok"
        refused = httpx.get(latest_url, timeout=5)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        # an operator key of the demo park: the only park it sees
        parks = httpx.get(f"http://127.0.0.1:{port}/api/v1/parks", headers=auth, timeout=5)
        assert [p["id"] for p in parks.json()] == ["wuhan-demo"]

        stop_started = time.monotonic()
        code = demo.interrupt(timeout_s=5)
        stop_took = time.monotonic() - stop_started
    finally:
        demo.kill()
    output = demo.output()
    assert code == 0, output
    assert stop_took < 5
    assert "Traceback" not in output, output
    assert "stopped:" in output
    assert output.count(key) == 1  # logged once, in the page's address, and nowhere else
