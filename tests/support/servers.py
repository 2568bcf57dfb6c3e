"""Private, throw-away servers for integration tests: a real ``influxd`` and a real ``mosquitto``.

Each service lives in its own temporary folder (config, data, log) and listens on free ports of
127.0.0.1, so tests never touch a system-wide server. A service keeps its ports and data across
:meth:`~Service.stop` / :meth:`~Service.kill` and :meth:`~Service.start`, so a test can crash the
server with SIGKILL and bring the same server back. Processes are always signalled by PID, and any
still running when the interpreter exits are killed.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import IO, Self
from urllib.parse import quote

import httpx
import pytest

from store.lineproto import quote_ident

__all__ = [
    "InfluxService",
    "MosquittoService",
    "Service",
    "ServiceError",
    "find_binary",
    "free_port",
]

# Debian installs daemons in sbin folders, which a non-root PATH often lacks.
_EXTRA_PATH = ("/usr/sbin", "/sbin", "/usr/local/sbin")
_LIVE: set[Service] = set()


class ServiceError(RuntimeError):
    """A test server did not start or stop as it should; the message ends with its log."""


def find_binary(name: str, package: str) -> str:
    """Path of ``name``; missing → fail the test in CI (``CI=true``), skip it elsewhere."""
    search = os.pathsep.join([os.environ.get("PATH", ""), *_EXTRA_PATH])
    path = shutil.which(name, path=search)
    if path is None:
        message = (
            f"{name} not found on PATH or in {', '.join(_EXTRA_PATH)}; "
            f"install the Debian package {package!r} (apt-get install {package})"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Service:
    """One server process: ``start()``, ``stop()`` (SIGTERM), ``kill()`` (SIGKILL), ``restart()``.

    Subclasses write the config file and say when the server is ready. ``pid`` is ``None`` while
    the server is down.
    """

    name = "service"
    start_timeout_s = 20.0
    stop_timeout_s = 10.0

    def __init__(self, binary: str, root: Path) -> None:
        self.binary = binary
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.log_path = root / f"{self.name}.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    # subclass hooks
    def _command(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def _new_ports(self) -> None:
        """Choose other ports (after a start failed, perhaps because a port was taken)."""

    @property
    def pid(self) -> int | None:
        """PID of the running server, or ``None``."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log (stdout and stderr)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def start(self) -> None:
        """Start the server (same config, ports and data) and wait until it answers."""
        if self.running:
            return
        for attempt in range(3):
            if self._spawn_and_wait():
                return
            if attempt < 2:
                self._new_ports()  # a free port may have been taken in between
        raise ServiceError(
            f"{self.name} did not become ready in {self.start_timeout_s} s; "
            f"log {self.log_path}:\n{self.log_tail()}"
        )

    def _spawn_and_wait(self) -> bool:
        self._log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            self._command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.root,
            start_new_session=True,  # Ctrl-C on pytest must not hit the server first
        )
        _LIVE.add(self)
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._reap()
                return False
            if self._ready():
                return True
            time.sleep(0.05)
        self.kill()
        return False

    def stop(self) -> None:
        """SIGTERM by PID and wait for a clean exit (SIGKILL if it does not come in time)."""
        self._signal(signal.SIGTERM, self.stop_timeout_s)

    def kill(self) -> None:
        """SIGKILL by PID, as a crash or power loss would, and wait for the process to go."""
        self._signal(signal.SIGKILL, self.stop_timeout_s)

    def restart(self) -> None:
        """``stop()`` then ``start()``."""
        self.stop()
        self.start()

    def _signal(self, sig: signal.Signals, timeout_s: float) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.kill(proc.pid, sig)
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it exited on its own in between
        self._reap()

    def _reap(self) -> None:
        if self._proc is not None:
            self._proc.wait()
        self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        _LIVE.discard(self)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class InfluxService(Service):
    """A private ``influxd`` (InfluxDB 1.x) with everything under ``root``.

    ``url`` is the HTTP base (``http://127.0.0.1:PORT``); ``store_url(db)`` the smartpark store URL
    of one database. With ``auth=(user, password)`` the server requires authentication
    (``auth-enabled``) and ``user`` is its admin, created at the first start; ``store_url`` then
    carries the credentials (``store_url(db, password=...)`` another password).
    """

    name = "influxd"

    def __init__(
        self, root: Path, binary: str | None = None, *, auth: tuple[str, str] | None = None
    ) -> None:
        super().__init__(binary or find_binary("influxd", "influxdb"), root)
        self.auth = auth
        self.config_path = root / "influxdb.conf"
        self.http_port = 0
        self.rpc_port = 0
        self._new_ports()

    @property
    def port(self) -> int:
        return self.http_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def store_url(self, database: str, *, password: str | None = None) -> str:
        """``influxdb://[user:password@]127.0.0.1:PORT/<database>``, what
        :class:`store.InfluxStore` takes (the credentials when the server has ``auth``)."""
        if self.auth is None:
            return f"influxdb://127.0.0.1:{self.http_port}/{database}"
        user, secret = self.auth
        secret = secret if password is None else password
        credentials = f"{quote(user, safe='')}:{quote(secret, safe='')}"
        return f"influxdb://{credentials}@127.0.0.1:{self.http_port}/{database}"

    def start(self) -> None:
        """Start the server; with ``auth``, create its admin user (only possible, and only
        needed, while the server has no user)."""
        super().start()
        if self.auth is not None:
            user, secret = self.auth
            password = secret.replace("\\", "\\\\").replace("'", "\\'")
            statement = (
                f"CREATE USER {quote_ident(user)} WITH PASSWORD '{password}' WITH ALL PRIVILEGES"
            )
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(f"{self.url}/query", params={"q": statement}, timeout=10.0)

    def _new_ports(self) -> None:
        self.http_port = free_port()
        self.rpc_port = free_port()
        self._write_config()

    def _write_config(self) -> None:
        self.config_path.write_text(
            f"""\
reporting-disabled = true
bind-address = "127.0.0.1:{self.rpc_port}"

[meta]
  dir = "{self.root / "meta"}"
  logging-enabled = false

[data]
  dir = "{self.root / "data"}"
  wal-dir = "{self.root / "wal"}"
  wal-fsync-delay = "0s"
  query-log-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false
  log-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{self.http_port}"
  auth-enabled = {"true" if self.auth is not None else "false"}
  log-enabled = false
  pprof-enabled = false

[logging]
  level = "warn"
  suppress-logo = true
""",
            encoding="utf-8",
        )

    def _command(self) -> list[str]:
        return [self.binary, "run", "-config", str(self.config_path)]

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/ping", timeout=0.5).status_code == 204
        except httpx.HTTPError:
            return False

    def show_databases(self) -> list[str]:
        """Names of the server's databases."""
        response = httpx.get(
            f"{self.url}/query", params={"q": "SHOW DATABASES"}, auth=self.auth, timeout=10.0
        )
        response.raise_for_status()
        series = response.json()["results"][0].get("series", [])
        return [row[0] for s in series for row in s.get("values", [])]

    def drop_database(self, database: str) -> None:
        """Drop a database if the server is up (test clean-up; quiet when it is down)."""
        if not self.running:
            return
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(
                f"{self.url}/query",
                params={"q": f"DROP DATABASE {quote_ident(database)}"},
                auth=self.auth,
                timeout=10.0,
            )


class MosquittoService(Service):
    """A private ``mosquitto`` broker with persistence and its log under ``root``.

    ``max_queued_messages 0`` lifts the default 1,000-message queue cap, which drops messages to a
    slow subscriber (``docs/sources/performance.md`` §7.1). ``autosave_interval_s`` (default:
    mosquitto's own, 1800 s) is how often the broker saves its persistence file; a SIGKILL loses
    whatever it had not saved.
    """

    name = "mosquitto"

    def __init__(
        self,
        root: Path,
        binary: str | None = None,
        *,
        max_inflight_messages: int = 1000,
        autosave_interval_s: int | None = None,
    ) -> None:
        super().__init__(binary or find_binary("mosquitto", "mosquitto"), root)
        self.config_path = root / "mosquitto.conf"
        self.persistence_dir = root / "persistence"
        self.persistence_dir.mkdir(exist_ok=True)
        self.max_inflight_messages = max_inflight_messages
        self.autosave_interval_s = autosave_interval_s
        self.port = 0
        self._new_ports()

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _new_ports(self) -> None:
        self.port = free_port()
        self._write_config()

    def _write_config(self) -> None:
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "max_queued_messages 0",
            f"max_inflight_messages {self.max_inflight_messages}",
            "persistence true",
            f"persistence_location {self.persistence_dir}/",
            f"log_dest file {self.root / 'broker.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
        ]
        if self.autosave_interval_s is not None:
            lines.append(f"autosave_interval {self.autosave_interval_s}")
        if os.geteuid() == 0:
            # as root, mosquitto 2 drops to the user "mosquitto", which cannot write our folder
            lines.append("user root")
        self.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def _command(self) -> list[str]:
        return [self.binary, "-c", str(self.config_path)]

    def _ready(self) -> bool:
        return _port_open(self.port)

    def log_tail(self, lines: int = 30) -> str:
        broker_log = self.root / "broker.log"
        parts = [super().log_tail(lines)]
        with contextlib.suppress(OSError):
            parts.append("\n".join(broker_log.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(p for p in parts if p)


@atexit.register
def kill_leftovers() -> None:
    """SIGKILL every server a test started and did not stop."""
    for service in list(_LIVE):
        service.kill()
