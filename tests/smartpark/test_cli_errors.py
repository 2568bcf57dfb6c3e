"""No traceback reaches a user (issue 17, item 4): real ``smartpark`` processes.

``serve`` with InfluxDB down starts anyway (``/healthz`` 503 degraded, data routes 503
``store_unavailable`` naming the store) and answers 200 once an influxd comes up at that URL,
without a restart; a taken metrics port, a taken ``--port`` and a missing registry each end the
command with exit 2 and a line naming the setting to change.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.helpers import SmartparkProcess
from tests.support.servers import InfluxService, find_binary, free_port
from tests.support.waiting import wait_until

PARK = "wuhan-demo"


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``smartpark ARGS`` to its end, without the developer's ``SMARTPARK_*`` variables."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTPARK_")}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "smartpark", *args],
        env=full_env,
        cwd=cwd,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port of 127.0.0.1 held (bound and listening) by the test for its whole run."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _city_key(tmp_path: Path) -> tuple[Path, str]:
    """A key file with one ``city`` key, made by ``smartpark keys add``; (path, token)."""
    path = tmp_path / "keys.yaml"
    args = ["keys", "add", "--role", "city", "--name", "ops", "--file", str(path)]
    done = _run(args, {}, tmp_path)
    assert done.returncode == 0, done.stderr
    return path, done.stdout.strip()


def test_serve_starts_with_the_store_down_and_recovers_without_a_restart(tmp_path: Path) -> None:
    find_binary("influxd", "influxdb")
    # not started yet: its port is free, so serve meets a store that refuses connections
    influx = InfluxService(tmp_path / "influxd")
    keys, token = _city_key(tmp_path)
    port = free_port()
    env = {
        "SMARTPARK_STORE_URL": influx.store_url("smartpark"),
        "SMARTPARK_API_KEYS": str(keys),
        "SMARTPARK_DATA_DIR": str(tmp_path / "data"),
        "SMARTPARK_ALARM_EVAL_S": "1",
    }
    serve = SmartparkProcess(
        ["serve", "--port", str(port)], env=env, log_path=tmp_path / "serve.log"
    )
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {token}"}

    def answers() -> httpx.Response | None:
        try:
            return httpx.get(f"{base}/healthz", timeout=2)
        except httpx.HTTPError:
            return None if serve.alive() else httpx.Response(599)

    try:
        health = wait_until(answers, timeout_s=30, what="serve to answer /healthz")
        assert serve.alive(), serve.tail()
        assert health.status_code == 503
        body = health.json()
        assert (body["status"], body["store"], body["parks"]) == ("degraded", "unavailable", 1)

        latest = httpx.get(f"{base}/api/v1/parks/{PARK}/latest", headers=auth, timeout=5)
        assert latest.status_code == 503
        assert latest.json()["code"] == "store_unavailable"
        # the store is named, so the operator knows what to start
        assert f"InfluxDB at {influx.url}" in latest.json()["message"]
        assert int(latest.headers["Retry-After"]) > 0
        alarms = httpx.get(f"{base}/api/v1/parks/{PARK}/alarms", headers=auth, timeout=5)
        assert (alarms.status_code, alarms.json()["code"]) == (503, "store_unavailable")
        # the registry needs no store: it still answers
        parks = httpx.get(f"{base}/api/v1/parks", headers=auth, timeout=5)
        assert [p["id"] for p in parks.json()] == [PARK]

        # the alarm engine waits: WARNING lines naming the store, each one line, no traceback
        wait_until(
            lambda: "alarm-engine: the store is unavailable" in serve.output(),
            timeout_s=15,
            what="the alarm engine's retry line",
        )
        http_port = influx.http_port
        influx.start()
        assert influx.http_port == http_port, "influxd moved to another port; serve cannot see it"
        wait_until(
            lambda: httpx.get(f"{base}/healthz", timeout=5).status_code == 200,
            timeout_s=15,
            what="/healthz to turn ok once influxd is up",
        )
        assert httpx.get(f"{base}/healthz", timeout=5).json()["status"] == "ok"
        latest = httpx.get(f"{base}/api/v1/parks/{PARK}/latest", headers=auth, timeout=10)
        assert latest.status_code == 200, latest.text
        alarms = httpx.get(f"{base}/api/v1/parks/{PARK}/alarms", headers=auth, timeout=10)
        assert alarms.status_code == 200, alarms.text
        assert alarms.json()["alarms"] == []
        assert serve.alive()
        assert serve.interrupt(timeout_s=15) == 0
    finally:
        serve.kill()
        influx.stop()
    output = serve.output()
    assert "Traceback" not in output, output
    retries = [line for line in output.splitlines() if "alarm-engine: the store is" in line]
    assert retries
    assert all(f"InfluxDB at {influx.url}" in line for line in retries)


@pytest.mark.parametrize(
    ("args", "setting"),
    [
        (["collect"], "SMARTPARK_METRICS_PORT"),
        (["follow", "--holder", "f1"], "SMARTPARK_FOLLOW_METRICS_PORT"),
    ],
)
def test_a_taken_metrics_port_names_its_setting(
    tmp_path: Path, taken_port: int, args: list[str], setting: str
) -> None:
    env = {
        "SMARTPARK_METRICS_HOST": "127.0.0.1",
        setting: str(taken_port),
        "SMARTPARK_DATA_DIR": str(tmp_path / "data"),
        "SMARTPARK_MQTT_URL": f"mqtt://127.0.0.1:{free_port()}",  # never reached
    }
    done = _run(args, env, tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: the metrics port 127.0.0.1:{taken_port} ")
    assert setting in lines[0]
    assert "already in use" in lines[0]


def test_serve_on_a_taken_port_names_the_option(tmp_path: Path, taken_port: int) -> None:
    keys, _ = _city_key(tmp_path)
    env = {"SMARTPARK_API_KEYS": str(keys), "SMARTPARK_DATA_DIR": str(tmp_path / "data")}
    done = _run(["--log-level", "ERROR", "serve", "--port", str(taken_port)], env, tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        f"error: port {taken_port} on 127.0.0.1 is already in use: stop what holds it, or give "
        "another with --port"
    ]


def test_a_missing_registry_names_smartpark_registry(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "registry.yaml"
    env = {
        "SMARTPARK_REGISTRY": str(missing),
        "SMARTPARK_AUTH": "off",
        "SMARTPARK_DATA_DIR": str(tmp_path / "data"),
    }
    done = _run(["--log-level", "ERROR", "serve", "--port", str(free_port())], env, tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"{missing}:0: registry file not found" in done.stderr
    naming = [line for line in done.stderr.splitlines() if "SMARTPARK_REGISTRY" in line]
    assert len(naming) == 1, done.stderr
    assert naming[0].startswith("hint: ")
    # the same for a command that reads the registry and nothing else
    check = _run(["check-config"], {"SMARTPARK_REGISTRY": str(missing)}, tmp_path)
    assert check.returncode == 2
    assert "Traceback" not in check.stderr
    assert sum("SMARTPARK_REGISTRY" in line for line in check.stderr.splitlines()) == 1


def test_serve_with_an_embedded_store_it_cannot_open_is_one_error(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("a file where the data folder should be\n")
    env = {"SMARTPARK_AUTH": "off", "SMARTPARK_DATA_DIR": str(not_a_folder)}
    done = _run(["--log-level", "ERROR", "serve", "--port", str(free_port())], env, tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith(f"error: cannot open embedded store {not_a_folder}/store.sqlite3: ")
    assert lines[1:] == [
        "hint: is the store running? SMARTPARK_STORE_URL names it (empty: the embedded store)"
    ]
