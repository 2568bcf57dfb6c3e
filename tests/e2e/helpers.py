"""Helpers for end-to-end tests: a `smartpark` subprocess, a paho publisher, polling."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

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
        self._log = log_path.open("wb")
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTPARK_")}
        full_env.update(env)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "smartpark", *args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=full_env,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

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
