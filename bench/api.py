"""API benchmarks: ``/latest`` and the live stream under load from a second process.

    .venv/bin/python -m bench.api [--quick] [--clients 200] [--seconds 10] [--interval 0.5]

Starts ``smartpark demo`` (embedded broker, the simulator publishing the demo park every
``--interval`` seconds, the collector, the embedded store, the API with its alarm engine and
live-stream hub, all in one process) and ``smartpark serve`` on the same store file (a second
process, as in production), on free loopback ports, and from separate client processes:

1. ``serve``'s ``/api/v1/parks/{park}/latest`` with ``--clients`` concurrent clients (asyncio,
   one keep-alive connection each; ``wrk`` is not installed here) for ``--seconds``:
   requests/s, p50, p99;
2. ``--clients`` live-stream subscribers of ``serve`` at once: how many got their first event,
   its RSS before, with them connected, and after they left;
3. publish → event on the stream, from the demo's own API and from ``serve``: each ``reading``
   event's receipt time minus the reading's own timestamp (the simulator stamps a reading with
   the time it publishes it), p50/p95/max. "Visible in the page" adds the dashboard's rendering,
   measured on the page's side: headless Chromium under the production Content-Security-Policy
   (``script-src 'self'``, no eval), read with ``page.evaluate`` of functions only.

Prints a table. Every process it starts is stopped by its PID; every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench._procs import exit_on_sigterm, free_port

PARK = "wuhan-demo"
ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rss_kib(pid: int) -> int | None:
    """Current resident set of a process [KiB]."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


# -- the client processes ------------------------------------------------------------------------


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """One keep-alive HTTP/1.1 GET on an open connection; its status."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def load_latest(url: str, token: str, clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` coroutines, each on its own keep-alive connection, GET /latest until
    ``seconds`` pass. A bare asyncio HTTP/1.1 client: httpx's pool costs more CPU per request
    than the server does, and this machine has two cores for both."""
    host, port = url.removeprefix("http://").split(":")
    request = (
        f"GET /api/v1/parks/{PARK}/latest HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal errors
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
        except OSError:
            errors += 1
            return
        try:
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                if await _get(reader, writer, request) == 200:
                    latencies.append(time.perf_counter() - t0)
                else:
                    errors += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
        finally:
            writer.close()

    began = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(clients)))
    took = time.monotonic() - began
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / took,
        "p50_ms": 1000 * _pct(latencies, 0.50),
        "p99_ms": 1000 * _pct(latencies, 0.99),
    }


async def hold_streams(url: str, token: str, clients: int, hold_s: float) -> dict[str, Any]:
    """Open ``clients`` streams, wait for each one's first event, hold them ``hold_s``; prints
    ``connected`` (one line) as soon as they are all in, so the parent can read the RSS."""
    headers = {"Authorization": f"Bearer {token}"}
    connected = 0
    first_event_s: list[float] = []
    ready = asyncio.Event()
    release = asyncio.Event()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(30.0)) as client:

        async def subscriber() -> None:
            nonlocal connected
            t0 = time.perf_counter()
            try:
                async with client.stream(
                    "GET", f"{url}/api/v1/parks/{PARK}/stream", headers=headers
                ) as response:
                    if response.status_code != 200:
                        return
                    async for line in response.aiter_lines():
                        if line.startswith("data: ") or line.startswith(":"):
                            first_event_s.append(time.perf_counter() - t0)
                            connected += 1
                            if connected == clients:
                                ready.set()
                            break
                    await release.wait()
            except httpx.HTTPError:
                return

        tasks = [asyncio.create_task(subscriber()) for _ in range(clients)]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready.wait(), timeout=30.0)
        print("connected", flush=True)
        await asyncio.sleep(hold_s)
        release.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "connected": connected,
        "first_event_p50_ms": 1000 * _pct(first_event_s, 0.5),
        "first_event_p99_ms": 1000 * _pct(first_event_s, 0.99),
    }


async def stream_latency(url: str, token: str, seconds: float) -> dict[str, Any]:
    """Reading time → receipt of its ``reading`` event on the stream [ms], after the snapshot."""
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    flows = 0
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as client,
        client.stream("GET", f"{url}/api/v1/parks/{PARK}/stream", headers=headers) as response,
    ):
        began = time.monotonic()
        name = ""
        async for line in response.aiter_lines():
            now_ms = time.time_ns() / 1e6
            elapsed = time.monotonic() - began
            if elapsed > seconds:
                break
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and elapsed > 1.0:  # the first second: the snapshot
                if name == "reading":
                    latencies.append(now_ms - json.loads(line[6:])["time_ms"])
                elif name == "flows":
                    flows += 1
    return {
        "events": len(latencies),
        "flows": flows,
        "p50_ms": _pct(latencies, 0.50),
        "p95_ms": _pct(latencies, 0.95),
        "max_ms": max(latencies) if latencies else float("nan"),
    }


def _client_main(args: argparse.Namespace) -> int:
    if args.client == "latest":
        result = asyncio.run(load_latest(args.url, args.token, args.clients, args.seconds))
    elif args.client == "streams":
        result = asyncio.run(hold_streams(args.url, args.token, args.clients, args.seconds))
    else:
        result = asyncio.run(stream_latency(args.url, args.token, args.seconds))
    print("RESULT " + json.dumps(result), flush=True)
    return 0


# -- the parent ----------------------------------------------------------------------------------


def _client(kind: str, url: str, token: str, clients: int, seconds: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *(
                PYTHON,
                "-m",
                "bench.api",
                "--client",
                kind,
                "--url",
                url,
                f"--token={token}",
            ),  # a token may start with "-"
            *("--clients", str(clients), "--seconds", str(seconds)),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def _result(proc: subprocess.Popen[str], timeout_s: float) -> dict[str, Any]:
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    for line in out.splitlines():
        if line.startswith("RESULT "):
            parsed: dict[str, Any] = json.loads(line[7:])
            return parsed
    raise RuntimeError(f"client failed: {out[-500:]}")


Proc = subprocess.Popen[bytes]


def _start_demo(
    port: int, data_dir: Path, interval_s: float, log_path: Path, *, history: bool = True
) -> tuple[Proc, str]:
    """``smartpark demo`` in its own process group; (process, the operator token it logged).
    With ``history``, returns once the demo has stored its 30 days of history too."""
    with log_path.open("w") as log_file:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            [
                *(PYTHON, "-m", "smartpark", "demo", "--port", str(port)),
                *("--data-dir", str(data_dir), "--interval", str(interval_s)),
            ],
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "SMARTPARK_METRICS_PORT": "0"},
        )
    deadline = time.monotonic() + 180  # the history takes 20 s on a quiet 2-core machine
    while time.monotonic() < deadline:
        text = log_path.read_text()
        found = re.search(r"#key=(\S+)", text)
        # the demo stores its 30 days of history in the background once live: measure after
        stored = re.search(r"history: \d+ readings of \d+ days stored", text)
        if found and (stored or not history):
            return proc, found.group(1)
        if proc.poll() is not None:
            raise RuntimeError(f"the demo stopped: {log_path.read_text()[-1000:]}")
        time.sleep(0.2)
    _stop(proc)
    raise RuntimeError("the demo did not log its key and stored history within 180 s")


def _start_serve(port: int, data_dir: Path, log_path: Path, *, streams: int) -> tuple[Proc, str]:
    """``smartpark serve`` on the demo's store (SQLite in WAL mode: two processes share it),
    with a city key made for this run that may hold ``streams`` live streams (production gives
    each person a key and caps each at 8; here one key stands for all subscribers); (PID,
    token)."""
    from config.auth import PrincipalRole, add_key
    from config.registry import load_registry

    keys = data_dir.parent / "api-keys.yaml"
    token = add_key(keys, load_registry(), name="bench", role=PrincipalRole.CITY)
    env = {
        **os.environ,
        "SMARTPARK_DATA_DIR": str(data_dir),
        "SMARTPARK_STORE_URL": "",
        "SMARTPARK_API_KEYS": str(keys),
        "SMARTPARK_METRICS_PORT": "0",
        "SMARTPARK_STREAM_MAX_PER_KEY": str(streams),
        "SMARTPARK_STREAM_MAX": str(max(256, streams)),
    }
    with log_path.open("w") as log_file:
        proc = subprocess.Popen(
            [PYTHON, "-m", "smartpark", "serve", "--port", str(port)],
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc, token
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"serve stopped: {log_path.read_text()[-1000:]}")
        time.sleep(0.2)
    _stop(proc)
    raise RuntimeError("serve did not answer within 60 s")


def _stop(proc: Proc) -> None:
    """SIGTERM to the process group, SIGKILL after 10 s; reaped either way."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        proc.wait()
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _wait_for_devices(url: str, token: str, *, devices: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    seen = 0
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
            seen = len(
                httpx.get(
                    f"{url}/api/v1/parks/{PARK}/latest",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=5,
                ).json()["readings"]
            )
        if seen >= devices:
            break
        time.sleep(0.5)
    return seen


def _latency_row(what: str, url: str, token: str, seconds: float) -> list[str]:
    lat = _result(_client("latency", url, token, 1, seconds), seconds + 60)
    return [
        what,
        f"{lat['events']} reading events",
        f"p50 {lat['p50_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms",
        f"max {lat['max_ms']:.0f} ms (target p95 ≤ 1000 ms)",
    ]


CHROMIUM = Path("/usr/bin/chromium")

# The page's Content-Security-Policy (api/security.py: script-src 'self', no 'unsafe-eval') stays
# as in production. Playwright's wait_for_function polls its predicate with eval() inside the
# page, which that policy refuses; page.evaluate of a function runs it through the DevTools
# protocol (Runtime.callFunctionOn), which no page policy governs. So the bench polls from here.
# window.smartparkShown is set by api/static/js/live.js.
_COUNT_SHOWN = "() => (window.smartparkShown || []).length"
_CLEAR_SHOWN = "() => { window.smartparkShown.length = 0; }"
_READ_SHOWN = "() => window.smartparkShown.slice()"


def _wait_until_drawn(page: Any, *, timeout_s: float) -> None:
    """Poll the page until it has drawn a reading (bounded by ``timeout_s`` [s])."""
    deadline = time.monotonic() + timeout_s
    while int(page.evaluate(_COUNT_SHOWN)) == 0:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the page drew no reading within {timeout_s:g} s")
        time.sleep(0.1)


def page_latency(url: str, token: str, seconds: float, *, settle_s: float = 2.0) -> dict[str, Any]:
    """Reading time → drawn on the dashboard [ms], measured in headless Chromium.

    The page records, for every new reading it applies, the frame that drew it
    (``window.smartparkShown``: [reading time, draw time] in ms; both on this machine's clock,
    since the simulator stamps readings with it).
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless=new", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(f"{url}/#key={token}")
            _wait_until_drawn(page, timeout_s=60.0)
            time.sleep(settle_s)  # past the first snapshot
            page.evaluate(_CLEAR_SHOWN)
            time.sleep(seconds)
            pairs = page.evaluate(_READ_SHOWN)
        finally:
            browser.close()
    lat = [float(shown - t) for t, shown in pairs]
    return {
        "readings": len(lat),
        "p50_ms": _pct(lat, 0.50),
        "p95_ms": _pct(lat, 0.95),
        "p99_ms": _pct(lat, 0.99),
        "max_ms": max(lat) if lat else float("nan"),
    }


def run(
    *, clients: int, seconds: float, interval_s: float, warmup_s: float, quick: bool = False
) -> list[list[str]]:
    """Every measure, each for ``seconds`` [s]. ``quick`` (the smoke form, whose timings nobody
    reads) starts measuring while the demo still stores its history and settles 1 s, not 2 s."""
    settle_s = 1.0 if quick else 2.0
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        data = Path(tmp) / "data"
        demo_port, serve_port = free_port(), free_port()
        demo, demo_token = _start_demo(
            demo_port, data, interval_s, Path(tmp) / "demo.log", history=not quick
        )
        procs = [demo]
        demo_url = f"http://127.0.0.1:{demo_port}"
        try:
            _wait_for_devices(demo_url, demo_token, devices=40, timeout_s=30)
            serve, token = _start_serve(serve_port, data, Path(tmp) / "serve.log", streams=clients)
            procs.append(serve)
            pid = serve.pid
            url = f"http://127.0.0.1:{serve_port}"
            n_devices = _wait_for_devices(url, token, devices=40, timeout_s=30)
            time.sleep(warmup_s)

            for n in sorted({1, clients}):
                latest = _result(_client("latest", url, token, n, seconds), seconds + 60)
                rows.append(
                    [
                        f"/latest, {n} client{'s' if n > 1 else ''}, {seconds:g} s "
                        f"({n_devices} devices)",
                        f"{latest['rps']:.0f} req/s",
                        f"p50 {latest['p50_ms']:.0f} ms, p99 {latest['p99_ms']:.0f} ms",
                        f"{latest['requests']} ok, {latest['errors']} errors",
                    ]
                )

            before = rss_kib(pid) or 0
            hold = _client("streams", url, token, clients, seconds)
            assert hold.stdout is not None
            hold.stdout.readline()  # "connected", once all are in (or after 30 s)
            during = rss_kib(pid) or 0
            streams = _result(hold, seconds + 90)
            time.sleep(settle_s)
            after = rss_kib(pid) or 0
            rows.append(
                [
                    f"{clients} stream subscribers, held {seconds:g} s",
                    f"{streams['connected']}/{clients} connected",
                    f"first event p50 {streams.get('first_event_p50_ms', float('nan')):.0f} ms,"
                    f" p99 {streams.get('first_event_p99_ms', float('nan')):.0f} ms",
                    f"serve RSS {before / 1024:.0f} → {during / 1024:.0f} → "
                    f"{after / 1024:.0f} MiB (before, connected, after)",
                ]
            )
            rows.append(
                _latency_row(
                    f"publish → event, demo process, sim every {interval_s:g} s",
                    demo_url,
                    demo_token,
                    seconds,
                )
            )
            rows.append(
                _latency_row(
                    f"publish → event, serve process, sim every {interval_s:g} s",
                    url,
                    token,
                    seconds,
                )
            )
            if CHROMIUM.exists():
                shown = page_latency(demo_url, demo_token, seconds, settle_s=settle_s)
                rows.append(
                    [
                        f"publish → drawn in the page (Chromium), sim every {interval_s:g} s",
                        f"{shown['readings']} readings drawn",
                        f"p50 {shown['p50_ms']:.0f} ms, p95 {shown['p95_ms']:.0f} ms, "
                        f"p99 {shown['p99_ms']:.0f} ms",
                        f"max {shown['max_ms']:.0f} ms (target p95 ≤ 1000 ms)",
                    ]
                )
            else:
                rows.append(["publish → drawn in the page", "skipped: no Chromium", "", ""])
        finally:
            for proc in reversed(procs):
                _stop(proc)
    return rows


def _table(rows: list[list[str]]) -> str:
    head = ["measure", "throughput", "latency", "notes"]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke form: short runs (2 s each), no warm-up"
    )
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=0.5, help="simulator interval [s]")
    parser.add_argument(
        "--client", choices=["latest", "streams", "latency"], help=argparse.SUPPRESS
    )
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        return _client_main(args)
    # the stream latency skips its first second (the snapshot), so 2 s is the shortest run
    seconds = 2.0 if args.quick else args.seconds
    rows = run(
        clients=args.clients,
        seconds=seconds,
        interval_s=args.interval,
        warmup_s=0.0 if args.quick else 5.0,
        quick=args.quick,
    )
    cpus = os.cpu_count()
    print(f"API benchmarks: smartpark demo (embedded store), {cpus} CPUs, loopback")
    print(_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
