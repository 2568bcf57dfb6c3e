"""Screenshots of a freshly started demo for docs/screenshots/: the overview, a tenant, a device and
the city page in zh and en, and the first page of the park and tenant reports (PDF) in zh and en.

    .venv/bin/python scripts/screenshots.py [--wait 10] [--out docs/screenshots]

It starts ``smartpark demo`` on a free port (embedded broker and store, a temporary data folder),
shoots the pages ``--wait`` seconds after the start (while the demo is still storing its 30 days
of history, newest first), then waits for the history to be stored and fetches the reports of
the current year; it drives headless Chromium
(``/usr/bin/chromium``, Debian's) with Playwright, renders the PDFs' first pages with
``pdftoppm`` (poppler-utils) and stops the demo by its PID. It prints the time from start to a page
with history (the first-start timing of issue 17). Needs the [test] extras (playwright).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
PARK = "wuhan-demo"
YEAR_NOW = time.gmtime().tm_year


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_key(log: Path, port: int, proc: subprocess.Popen[bytes], timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the demo exited:\n{log.read_text(errors='replace')[-3000:]}")
        found = re.search(rf"http://127\.0\.0\.1:{port}/#key=([A-Za-z0-9_-]+)", log.read_text())
        if found:
            return found.group(1)
        time.sleep(0.2)
    raise SystemExit(f"no key logged in {timeout_s} s:\n{log.read_text(errors='replace')[-3000:]}")


def _history_ready(log: Path, timeout_s: float) -> str:
    """The demo's log line saying its history is in the store (it backfills before going live)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = re.search(r"history: \d+ readings of [^\n]*", log.read_text(errors="replace"))
        if found:
            return found.group(0)
        time.sleep(0.2)
    raise SystemExit(
        f"no history line in {timeout_s} s:\n{log.read_text(errors='replace')[-3000:]}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait", type=float, default=10.0, help="seconds after start [s]")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "demo.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTPARK_")}
        env["SMARTPARK_DATA_DIR"] = str(Path(tmp) / "data")
        started = time.monotonic()
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "smartpark", "demo", "--port", str(port)],
                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                start_new_session=True,
            )  # fmt: skip
        try:
            key = _wait_key(log, port, proc, timeout_s=60)
            print(f"the page's address and key logged after {time.monotonic() - started:.1f} s")
            time.sleep(max(0.0, args.wait - (time.monotonic() - started)))
            print(f"pages shot from {time.monotonic() - started:.1f} s after start")
            _shoot(base, key, args.out)
            line = _history_ready(log, timeout_s=180)
            print(f"{line!r} after {time.monotonic() - started:.1f} s")
            _reports(base, key, args.out, Path(tmp))
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    print(f"screenshots in {args.out}")
    return 0


def _shoot(base: str, key: str, out: Path) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    registry = httpx.get(f"{base}/api/v1/parks/{PARK}", headers=auth, timeout=10).json()
    tenant = registry["tenants"][0]["id"]
    devices = httpx.get(f"{base}/api/v1/parks/{PARK}/devices", headers=auth, timeout=10).json()
    device = next(d["id"] for d in devices if d.get("role") == "grid_connection")
    views = {"overview": "/", "tenant": f"/t/{tenant}", "device": f"/d/{device}", "city": "/city"}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for lang in ("zh", "en"):
                page = browser.new_page(viewport={"width": 1360, "height": 900})
                page.goto(f"{base}/?lang={lang}#key={key}")
                page.wait_for_url(f"{base}/?lang={lang}")
                for name, path in views.items():
                    page.goto(f"{base}/?lang={lang}#{path}")
                    # the page streams live readings, so it is never idle: give its charts time
                    page.wait_for_timeout(4000)
                    target = out / f"{name}-{lang}.png"
                    page.screenshot(path=str(target), full_page=True)
                    print(
                        f"  {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}"
                    )
                page.close()
        finally:
            browser.close()


def _reports(base: str, key: str, out: Path, tmp: Path) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    registry = httpx.get(f"{base}/api/v1/parks/{PARK}", headers=auth, timeout=10).json()
    tenant = registry["tenants"][0]["id"]
    urls = {
        "report-park": f"/api/v1/parks/{PARK}/reports/{YEAR_NOW}",
        "report-tenant": f"/api/v1/parks/{PARK}/tenants/{tenant}/reports/{YEAR_NOW}",
    }
    for name, path in urls.items():
        for lang in ("zh", "en"):
            answer = httpx.get(
                f"{base}{path}", headers=auth, timeout=300,
                params={"format": "pdf", "lang": lang},
            )  # fmt: skip
            answer.raise_for_status()
            pdf = tmp / f"{name}-{lang}.pdf"
            pdf.write_bytes(answer.content)
            stem = out / f"{name}-{lang}"
            subprocess.run(
                ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                 str(stem)],
                check=True, timeout=120,
            )  # fmt: skip
            print(f"  {stem}.png")


if __name__ == "__main__":
    raise SystemExit(main())
