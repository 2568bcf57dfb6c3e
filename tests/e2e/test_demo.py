"""`smartpark demo` as a user runs it: fresh data from every device quickly, a clean Ctrl-C."""

from __future__ import annotations

import time

import httpx
import pytest

from config.registry import load_registry
from tests.e2e.helpers import SmartparkProcess, wait_for
from tests.services import free_port

pytestmark = [pytest.mark.slow]


def test_demo_serves_fresh_readings_from_every_device_and_stops_cleanly(tmp_path):
    port = free_port()
    demo = SmartparkProcess(["demo", "--port", str(port)], env={}, log_path=tmp_path / "demo.log")
    devices = {d.id for d in load_registry().parks["wuhan-demo"].devices}
    started = time.monotonic()
    try:

        def fresh_devices() -> set[str] | None:
            if not demo.alive():
                raise AssertionError(f"demo exited:\n{demo.output()}")
            try:
                body = httpx.get(
                    f"http://127.0.0.1:{port}/api/v1/parks/wuhan-demo/latest", timeout=2
                ).json()
            except httpx.HTTPError:
                return None
            now_ms = time.time() * 1000
            fresh = {r["device"] for r in body["readings"] if now_ms - r["time_ms"] < 10_000}
            return fresh if fresh == devices else None

        wait_for(fresh_devices, timeout_s=30, what="fresh readings from every device", every_s=0.5)
        elapsed = time.monotonic() - started
        assert elapsed < 30
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert page.status_code == 200
        assert "<html" in page.text.lower()
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["status"] == "ok"

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
