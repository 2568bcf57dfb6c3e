"""Helpers for end-to-end tests: `smartpark` subprocesses, paho publishers, polling, and what
InfluxDB and the collector's /metrics report."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from store.lineproto import quote_string

T = TypeVar("T")


def wait_for(
    probe: Callable[[], T | None], *, timeout_s: float, what: str, every_s: float = 0.1
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what} (last: {last!r})")


class SmartparkProcess:
    """``smartpark ARGS`` as a subprocess with its own environment; output kept in a file."""

    def __init__(self, args: list[str], *, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self.env = env
        self._log = log_path.open("wb")
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTPARK_")}
        # the default metrics port (9180) may be taken by another collector on this machine
        full_env["SMARTPARK_METRICS_PORT"] = "0"
        full_env.update(env)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "smartpark", *args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=full_env,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, chars: int = 3000) -> str:
        """The end of the output, for failure messages."""
        return self.output()[-chars:]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def interrupt(self, *, timeout_s: float) -> int:
        """SIGINT, then wait; returns the exit code (kills and fails if it does not stop)."""
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"did not stop within {timeout_s} s:\n{self.output()[-3000:]}"
            ) from None
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def publish_all(
    port: int, messages: Iterable[tuple[str, bytes]], *, qos: int = 1, timeout_s: float = 30
) -> int:
    """Publish messages with paho and wait until the broker acknowledged every one."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv311)
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    done = threading.Event()
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=qos) for topic, payload in messages]
        deadline = time.monotonic() + timeout_s
        for info in infos:
            info.wait_for_publish(timeout=max(0.1, deadline - time.monotonic()))
            if not info.is_published():
                raise AssertionError("the broker did not acknowledge every publish")
        done.set()
        return len(infos)
    finally:
        client.disconnect()
        client.loop_stop()


# --- reliability tests: collectors, a paced publisher, what InfluxDB holds -----------------------


def start_collector(
    env: dict[str, str], log_path: Path, *, share: str | None = None, timeout_s: float = 20
) -> SmartparkProcess:
    """``smartpark collect [--share GROUP]``, returned once it has subscribed (or failed)."""
    args = ["collect", *(["--share", share] if share else [])]
    proc = SmartparkProcess(args, env=env, log_path=log_path)
    try:
        wait_for(
            lambda: "subscribed to" in proc.output() or not proc.alive(),
            timeout_s=timeout_s,
            what=f"the collector ({log_path.name}) to subscribe",
        )
    except AssertionError as exc:
        proc.kill()
        raise AssertionError(f"{exc}\n--- {log_path.name} ---\n{proc.tail()}") from None
    if not proc.alive():
        proc.kill()
        raise AssertionError(f"the collector exited at start:\n{proc.tail()}")
    return proc


def forget_session(port: int, client_id: str, *, timeout_s: float = 10) -> None:
    """Erase a persistent MQTT session: connect with its client id and a clean session.

    A persistent session left behind keeps queueing every later matching message in the broker.
    """
    connected = threading.Event()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True, protocol=mqtt.MQTTv311
    )
    client.on_connect = lambda *_: connected.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        if not connected.wait(timeout_s):
            raise AssertionError(f"could not connect as {client_id!r} to erase its session")
    finally:
        client.disconnect()
        client.loop_stop()


class PacedPublisher:
    """Publish messages at QoS 1 from a thread of its own: at a steady rate, with at most
    ``window`` unacknowledged, like a gateway with a bounded in-flight queue.

    It survives a broker restart: paho keeps every unacknowledged publish and sends it again after
    reconnecting, so once :meth:`join` returns the broker has acknowledged every message (some
    perhaps twice, which QoS 1 allows).
    """

    def __init__(
        self,
        port: int,
        messages: Sequence[tuple[str, bytes]],
        *,
        rate_per_s: float,
        window: int = 100,
    ) -> None:
        self.port = port
        self.messages = messages
        self.rate_per_s = rate_per_s
        self.window = window
        self.published = 0  # handed to paho
        self.acked = 0  # PUBACKed by the broker
        self.error: BaseException | None = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="paced-publisher", daemon=True)

    @property
    def total(self) -> int:
        return len(self.messages)

    def start(self) -> PacedPublisher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def wait_acked(self, count: int, *, timeout_s: float) -> None:
        """Block until the broker acknowledged ``count`` messages (fails on timeout or error)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self.acked < count and self.error is None and time.monotonic() < deadline:
                self._cond.wait(0.1)
        if self.error is not None:
            raise AssertionError(f"the publisher failed: {self.error!r}") from self.error
        if self.acked < count:
            raise AssertionError(
                f"the broker acknowledged {self.acked} of {count} messages in {timeout_s} s "
                f"({self.published} published)"
            )

    def join(self, *, timeout_s: float) -> None:
        """Wait until every message is published and acknowledged."""
        self.wait_acked(self.total, timeout_s=timeout_s)
        self._thread.join(timeout_s)

    def _on_publish(self, *_: object) -> None:
        with self._cond:
            self.acked += 1
            self._cond.notify_all()

    def _run(self) -> None:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv311)
        client.max_inflight_messages_set(self.window)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(min_delay=1, max_delay=2)
        client.on_publish = self._on_publish
        try:
            client.connect("127.0.0.1", self.port)
            client.loop_start()
            start = time.monotonic()
            for i, (topic, payload) in enumerate(self.messages):
                pause = start + i / self.rate_per_s - time.monotonic()
                if pause > 0 and self._stop.wait(pause):
                    return
                with self._cond:
                    while self.published - self.acked >= self.window:
                        if self._stop.is_set():
                            return
                        self._cond.wait(0.1)
                info = client.publish(topic, payload, qos=1)
                # NO_CONN: paho keeps the message and sends it after reconnecting
                if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                    raise RuntimeError(f"publish {i} refused by paho: {mqtt.error_string(info.rc)}")
                self.published += 1
            with self._cond:
                while self.acked < self.total and not self._stop.is_set():
                    self._cond.wait(0.1)
        except BaseException as exc:  # reported by wait_acked / join in the test's thread
            self.error = exc
            with self._cond:
                self._cond.notify_all()
        finally:
            client.disconnect()
            client.loop_stop()


@dataclass(frozen=True)
class DeviceTotals:
    """What InfluxDB holds for one device: points carrying ``power_kw``, and two sums."""

    count: int
    power_kw_sum: float
    energy_kwh_sum: float


def telemetry_totals(influx_url: str, database: str, park: str) -> dict[str, DeviceTotals]:
    """Count and sums of the ``telemetry`` measurement per device of ``park`` (raw InfluxQL)."""
    statement = (
        f'SELECT count("power_kw"), sum("power_kw"), sum("energy_kwh") FROM "telemetry" '
        f'WHERE "park" = {quote_string(park)} GROUP BY "device"'
    )
    response = httpx.get(
        f"{influx_url}/query", params={"db": database, "q": statement}, timeout=30.0
    )
    response.raise_for_status()
    result = response.json()["results"][0]
    if "error" in result:
        raise AssertionError(f"InfluxDB refused {statement!r}: {result['error']}")
    totals = {}
    for series in result.get("series", []):
        _, count, power_sum, energy_sum = series["values"][0]
        totals[series["tags"]["device"]] = DeviceTotals(int(count), power_sum, energy_sum)
    return totals


def scrape_metrics(port: int, *, timeout_s: float = 2.0) -> dict[str, float]:
    """Samples of a Prometheus text endpoint, keyed by name with labels (``a{b="c"}``)."""
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=timeout_s)
    response.raise_for_status()
    samples = {}
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples
