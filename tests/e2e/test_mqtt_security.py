"""MQTT security against a real Mosquitto: TLS, passwords and the per-park ACLs of deploy/mosquitto.

The broker runs the shipped ``deploy/mosquitto/mosquitto.conf`` and ``deploy/mosquitto/acl`` (only
the file paths and ports rewritten) with a CA, server and client certificates made for this run
by the ``openssl`` CLI and a password file made by ``mosquitto_passwd -b``. A second TLS listener
demands client certificates (``require_certificate true``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from config.registry import Registry, demo_registry_path, load_registry
from config.settings import Settings
from ingest.collector import Collector
from simulators.publisher import simulate
from store import EmbeddedStore
from tests.e2e.helpers import wait_for
from tests.support.servers import MosquittoService, find_binary, free_port

pytestmark = [pytest.mark.mosquitto]

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"
PASSWORDS = {
    "smartpark-collector": "collector-secret-4f1c",
    "gw-wuhan-demo": "gateway-a-secret-77d0",
    "gw-riverside": "gateway-b-secret-09ab",
}
A, B = "wuhan-demo", "riverside"
TOPIC = "parks/{}/devices/{}/telemetry"

RIVERSIDE = """\
park:
  id: riverside
  name: Riverside
  latitude: 30.5
  longitude: 114.3
  grid_region: central_china
devices:
  - {id: rs-grid, kind: electricity_meter, role: grid_connection}
"""


# -- a throw-away PKI -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    rogue_ca: Path  # a CA nobody trusts, and a server certificate signed by it
    rogue_cert: Path
    rogue_key: Path


def _openssl(openssl: str, *args: str, cwd: Path) -> None:
    subprocess.run([openssl, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _ca(openssl: str, folder: Path, name: str) -> None:
    _openssl(
        openssl,
        *("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"),
        *("-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2"),
        *("-subj", f"/CN=smartpark test {name}"),
        *("-addext", "basicConstraints=critical,CA:TRUE"),
        *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
        cwd=folder,
    )


def _leaf(openssl: str, folder: Path, name: str, ca: str, extensions: list[str]) -> None:
    _openssl(
        openssl,
        *("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"),
        *("-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}"),
        cwd=folder,
    )
    (folder / f"{name}.ext").write_text("\n".join(extensions) + "\n")
    _openssl(
        openssl,
        *("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key"),
        *("-CAcreateserial", "-days", "2", "-out", f"{name}.crt", "-extfile", f"{name}.ext"),
        cwd=folder,
    )


def make_pki(folder: Path) -> Pki:
    openssl = find_binary("openssl", "openssl")
    folder.mkdir(parents=True, exist_ok=True)
    server_ext = [
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth",
    ]
    _ca(openssl, folder, "ca")
    _leaf(openssl, folder, "server", "ca", server_ext)
    _leaf(
        openssl,
        folder,
        "client",
        "ca",
        ["basicConstraints=critical,CA:FALSE", "extendedKeyUsage=clientAuth"],
    )
    _ca(openssl, folder, "rogue-ca")
    _leaf(openssl, folder, "rogue", "rogue-ca", server_ext)
    return Pki(
        *(folder / f for f in ("ca.crt", "server.crt", "server.key", "client.crt", "client.key")),
        *(folder / f for f in ("rogue-ca.crt", "rogue.crt", "rogue.key")),
    )


# -- the broker -----------------------------------------------------------------------------------


class SecureMosquitto(MosquittoService):
    """``MosquittoService`` running the shipped config: ``port`` is its TLS listener (password
    and ACL), ``mtls_port`` a second one that also demands a client certificate."""

    def __init__(self, root: Path, pki: Pki, passwd: Path) -> None:
        self.pki = pki
        self.passwd = passwd
        self.mtls_port = 0
        super().__init__(root)

    @property
    def url(self) -> str:
        return f"mqtts://127.0.0.1:{self.port}"

    def _new_ports(self) -> None:
        self.port = free_port()
        self.mtls_port = free_port()
        self._write_config()

    def _write_config(self) -> None:
        text = (DEPLOY / "mosquitto.conf").read_text(encoding="utf-8")
        files = {
            "passwd": self.passwd,
            "acl": DEPLOY / "acl",
            "ca.crt": self.pki.ca,
            "server.crt": self.pki.server_cert,
            "server.key": self.pki.server_key,
        }
        for name, path in files.items():
            text = text.replace(f"/etc/mosquitto/smartpark/{name}", str(path))
        settings = [line for line in text.splitlines() if not line.startswith("#")]
        assert "/etc/mosquitto" not in "\n".join(settings), "a shipped path was not rewritten"
        text = text.replace("listener 8883\n", f"listener {self.port} 127.0.0.1\n")
        text = text.replace("/var/lib/mosquitto/", f"{self.persistence_dir}/")
        text = text.replace("log_dest syslog", f"log_dest file {self.root / 'broker.log'}")
        text += "\n".join(
            [
                "",
                f"listener {self.mtls_port} 127.0.0.1",
                f"cafile {self.pki.ca}",
                f"certfile {self.pki.server_cert}",
                f"keyfile {self.pki.server_key}",
                "require_certificate true",
                "log_type debug",
                *(["user root"] if os.geteuid() == 0 else []),
                "",
            ]
        )
        self.config_path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[SecureMosquitto]:
    root = tmp_path_factory.mktemp("mosquitto-tls")
    passwd = root / "passwd"
    tool = find_binary("mosquitto_passwd", "mosquitto")
    passwd.touch(mode=0o600)
    for user, password in PASSWORDS.items():
        subprocess.run([tool, "-b", str(passwd), user, password], check=True, timeout=30)
    service = SecureMosquitto(root, pki, passwd)
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    folder = tmp_path_factory.mktemp("registry")
    (folder / "a.yaml").write_text(demo_registry_path().read_text(encoding="utf-8"))
    (folder / "b.yaml").write_text(RIVERSIDE)
    return load_registry(folder)


def settings_for(
    tmp_path: Path, url: str, pki: Pki, *, password: str | None = None, **more: object
) -> Settings:
    password_file = None
    tmp_path.mkdir(parents=True, exist_ok=True)
    if password is not None:
        password_file = tmp_path / f"password-{len(list(tmp_path.glob('password-*')))}"
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
    values: dict[str, object] = {
        "mqtt_url": url,
        "mqtt_ca_file": pki.ca,
        "mqtt_password_file": password_file,
        "data_dir": tmp_path,
        "client_id": f"collector-{tmp_path.name}",
        "batch_interval_s": 0.05,
        "metrics_port": 0,
        "ledger_follow": False,
    }
    values.update(more)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@dataclass
class Rig:
    collector: Collector
    store: EmbeddedStore
    settings: Settings


@pytest.fixture
def rig(broker: SecureMosquitto, pki: Pki, registry: Registry, tmp_path: Path) -> Iterator[Rig]:
    url = f"mqtts://smartpark-collector@127.0.0.1:{broker.port}"
    settings = settings_for(tmp_path, url, pki, password=PASSWORDS["smartpark-collector"])
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    collector = Collector(settings=settings, registry=registry, store=store)
    collector.start(connect_timeout_s=10)
    try:
        assert collector.stats.connected, broker.log_tail()
        yield Rig(collector, store, settings)
    finally:
        collector.stop(timeout_s=5)
        store.close()


def tls_client(
    broker: SecureMosquitto, pki: Pki, user: str, password: str, *, ca: Path | None = None
) -> tuple[mqtt.Client, ReasonCode | None]:
    """A paho client connected over TLS (or refused): the client and the CONNACK's reason."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.username_pw_set(user, password)
    client.tls_set_context(ssl.create_default_context(cafile=str(ca or pki.ca)))
    connack: list[ReasonCode] = []
    done = threading.Event()

    def on_connect(*args: object) -> None:
        connack.append(args[3])  # type: ignore[arg-type]
        done.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    done.wait(10)
    return client, (connack[0] if connack else None)


def publish(client: mqtt.Client, topic: str, payload: bytes) -> None:
    info = client.publish(topic, payload, qos=1)
    info.wait_for_publish(timeout=10)
    assert info.is_published(), "the broker did not acknowledge the publish"


def attempt(broker: SecureMosquitto, pki: Pki, user: str, topic: str, payload: bytes) -> None:
    """Publish as ``user`` on a connection of its own, whatever the broker does about it: it
    drops a denied PUBLISH, and Mosquitto 2.0 may also close the connection."""
    client, reason = tls_client(broker, pki, user, PASSWORDS[user])
    try:
        assert reason is not None
        assert not reason.is_failure
        info = client.publish(topic, payload, qos=1)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and not info.is_published() and client.is_connected():
            time.sleep(0.02)
    finally:
        close(client)


def close(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()


def reading(power: float, ts_ms: int | None = None) -> bytes:
    return orjson.dumps({"ts": ts_ms or time.time_ns() // 1_000_000 - 1000, "power": power})


# -- the tests ------------------------------------------------------------------------------------


def test_collector_over_tls_stores_what_the_simulating_gateway_of_its_park_publishes(
    rig: Rig, broker: SecureMosquitto, pki: Pki, registry: Registry, tmp_path: Path
) -> None:
    """The simulator, as park A's gateway over TLS with a password file, publishes a whole tick
    of park A; the collector, over TLS with its own credentials, stores every reading."""
    park = registry.parks[A]
    gateway = settings_for(
        tmp_path / "gw",
        f"mqtts://gw-wuhan-demo@127.0.0.1:{broker.port}",
        pki,
        password=PASSWORDS["gw-wuhan-demo"],
    )
    start_ns = (time.time_ns() // 10**9 - 60) * 10**9
    result = asyncio.run(
        simulate(park, gateway.mqtt_url, interval_s=5, ticks=1, start_ns=start_ns, settings=gateway)
    )
    assert result.messages == len(park.devices)
    wait_for(
        lambda: rig.store.count(A) == result.readings,
        timeout_s=20,
        what=f"{result.readings} readings of park A",
    )
    assert rig.store.quarantined(limit=10) == []


def test_gateway_of_park_a_cannot_publish_into_park_b(
    rig: Rig, broker: SecureMosquitto, pki: Pki
) -> None:
    # A's gateway into B: a device of B, and a device of A named under B's topic
    attempt(broker, pki, "gw-wuhan-demo", TOPIC.format(B, "rs-grid"), reading(1.0))
    attempt(broker, pki, "gw-wuhan-demo", TOPIC.format(B, "grid-main"), reading(2.0))
    gw_a, reason = tls_client(broker, pki, "gw-wuhan-demo", PASSWORDS["gw-wuhan-demo"])
    gw_b, reason_b = tls_client(broker, pki, "gw-riverside", PASSWORDS["gw-riverside"])
    try:
        assert reason is not None
        assert not reason.is_failure
        assert reason_b is not None
        assert not reason_b.is_failure
        # the legitimate ones, after them: once these are stored, the others had their turn
        publish(gw_a, TOPIC.format(A, "grid-main"), reading(3.0))
        publish(gw_b, TOPIC.format(B, "rs-grid"), reading(4.0))
        wait_for(
            lambda: rig.store.count(A) == 1 and rig.store.count(B) == 1,
            timeout_s=20,
            what="one reading of A's gateway in A and one of B's gateway in B",
        )
        time.sleep(0.5)
        assert rig.store.count(A) == 1
        assert rig.store.count(B) == 1  # B's own gateway only
        (latest,) = rig.store.latest(B)
        assert latest.fields["power_kw"] == 4.0
        assert rig.store.quarantined(limit=10) == []  # the broker dropped them: never delivered
        denied = re.findall(r"Denied PUBLISH .*'(parks/[^']*)'", broker_log(broker))
        assert TOPIC.format(B, "rs-grid") in denied
        assert TOPIC.format(B, "grid-main") in denied
    finally:
        close(gw_a)
        close(gw_b)


def test_gateway_cannot_subscribe_and_the_collector_cannot_publish(
    rig: Rig, broker: SecureMosquitto, pki: Pki
) -> None:
    received: list[str] = []
    # the collector's credentials cannot inject readings
    attempt(broker, pki, "smartpark-collector", TOPIC.format(A, "grid-main"), reading(9.0))
    gw, _ = tls_client(broker, pki, "gw-riverside", PASSWORDS["gw-riverside"])
    try:
        gw.on_message = lambda _c, _u, msg: received.append(msg.topic)
        granted: list[list[ReasonCode]] = []
        subscribed = threading.Event()

        def on_subscribe(*args: object) -> None:
            granted.append(args[3])  # type: ignore[arg-type]
            subscribed.set()

        gw.on_subscribe = on_subscribe
        gw.subscribe("parks/+/devices/+/telemetry", qos=1)
        # Mosquitto 2.0 may grant the subscription (3.1.1) but checks `read` on every delivery
        assert subscribed.wait(10)
        publish(gw, TOPIC.format(B, "rs-grid"), reading(5.0))
        wait_for(lambda: rig.store.count(B) == 1, timeout_s=20, what="B's gateway's reading")
        time.sleep(0.5)
        assert rig.store.count(A) == 0
        assert received == []  # not even its own reading came back to the gateway
    finally:
        close(gw)


def test_a_collector_refuses_a_device_of_park_a_under_park_b_even_if_the_broker_lets_it(
    rig: Rig, broker: SecureMosquitto, pki: Pki
) -> None:
    """B's gateway may publish under B, but a device id of park A there is a park mismatch."""
    gw, _ = tls_client(broker, pki, "gw-riverside", PASSWORDS["gw-riverside"])
    try:
        publish(gw, TOPIC.format(B, "grid-main"), reading(6.0))
        records = wait_for(
            lambda: rig.store.quarantined(limit=10), timeout_s=20, what="the quarantine record"
        )
        assert [(r.reason, r.park, r.device) for r in records] == [
            ("park_mismatch", B, "grid-main")
        ]
        assert "belongs to park 'wuhan-demo'" in records[0].detail
        assert rig.store.count(A) == 0
        assert rig.store.count(B) == 0
    finally:
        close(gw)


def test_a_wrong_password_and_an_unknown_user_are_refused(
    broker: SecureMosquitto, pki: Pki
) -> None:
    for user, password in (
        ("gw-wuhan-demo", "not-the-password"),
        ("gw-wuhan-demo", PASSWORDS["gw-riverside"]),
        ("nobody", "whatever"),
    ):
        client, reason = tls_client(broker, pki, user, password)
        close(client)
        assert reason is not None, user
        assert reason.is_failure, user
        assert str(reason) in ("Not authorized", "Bad user name or password"), str(reason)


def test_the_collector_with_a_wrong_password_stores_nothing(
    broker: SecureMosquitto,
    pki: Pki,
    registry: Registry,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"mqtts://smartpark-collector@127.0.0.1:{broker.port}"
    settings = settings_for(tmp_path, url, pki, password="guess")
    with (
        caplog.at_level(logging.INFO, logger="smartpark"),
        running_collector(
            settings, registry, tmp_path / "store.sqlite3", connect_timeout_s=2
        ) as collector,
    ):
        assert not collector.stats.connected
        wait_for(
            lambda: "broker refused the connection" in caplog.text,
            timeout_s=10,
            what="the refusal in the log",
        )
    assert "guess" not in caplog.text


def test_plain_tcp_to_the_tls_port_fails(broker: SecureMosquitto) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.username_pw_set("gw-wuhan-demo", PASSWORDS["gw-wuhan-demo"])
    connack: list[object] = []
    client.on_connect = lambda *args: connack.append(args[3])
    try:
        client.connect("127.0.0.1", broker.port, keepalive=5)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not connack:
            if client.loop(timeout=0.2) != mqtt.MQTT_ERR_SUCCESS:
                break
    except OSError:
        pass
    finally:
        client.disconnect()
    assert connack == [], "a plain MQTT CONNECT must never be answered on the TLS port"
    # and the raw bytes of a CONNECT get no CONNACK (0x20) back
    with socket.create_connection(("127.0.0.1", broker.port), timeout=3) as sock:
        sock.sendall(bytes.fromhex("101000044d5154540402003c0004746573740000"))
        try:
            answer = sock.recv(4)
        except (TimeoutError, ConnectionResetError):
            answer = b""
    assert not answer.startswith(b"\x20")


# paho drops the SSL socket of a failed handshake without closing it; the garbage collector
# closes it (a ResourceWarning, no descriptor leak)
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_collector_refuses_a_broker_with_an_untrusted_certificate(
    pki: Pki, registry: Registry, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A broker whose certificate is signed by another CA (an impostor): no connection, no
    credentials sent, a clear line in the log."""
    root = tmp_path / "rogue-broker"
    passwd = root / "passwd"
    root.mkdir()
    passwd.touch(mode=0o600)
    subprocess.run(
        [find_binary("mosquitto_passwd", "mosquitto"), "-b", str(passwd), "x", "y"],
        check=True,
        timeout=30,
    )
    rogue_pki = Pki(
        pki.rogue_ca, pki.rogue_cert, pki.rogue_key, pki.client_cert, pki.client_key,
        pki.rogue_ca, pki.rogue_cert, pki.rogue_key,
    )  # fmt: skip
    with SecureMosquitto(root, rogue_pki, passwd) as rogue:
        url = f"mqtts://smartpark-collector@127.0.0.1:{rogue.port}"
        settings = settings_for(tmp_path, url, pki, password=PASSWORDS["smartpark-collector"])
        with (
            caplog.at_level(logging.WARNING, logger="smartpark"),
            running_collector(
                settings, registry, tmp_path / "store.sqlite3", connect_timeout_s=2
            ) as collector,
        ):
            assert not collector.stats.connected
            wait_for(
                lambda: "TLS handshake failed" in caplog.text,
                timeout_s=10,
                what="the TLS failure in the log",
            )
        log_text = broker_log(rogue)
        assert "smartpark-collector" not in log_text  # never got as far as CONNECT
    assert PASSWORDS["smartpark-collector"] not in caplog.text
    assert "mqtts://smartpark-collector:***@127.0.0.1" in caplog.text


def test_insecure_mode_connects_to_the_impostor_but_says_so(
    broker: SecureMosquitto,
    pki: Pki,
    registry: Registry,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SMARTPARK_MQTT_TLS_INSECURE=true skips the check (labs) and logs a WARNING."""
    url = f"mqtts://smartpark-collector@127.0.0.1:{broker.port}"
    settings = settings_for(
        tmp_path,
        url,
        pki,
        password=PASSWORDS["smartpark-collector"],
        mqtt_ca_file=pki.rogue_ca,  # would be refused without the insecure flag
        mqtt_tls_insecure=True,
    )
    with (
        caplog.at_level(logging.WARNING, logger="smartpark"),
        running_collector(
            settings, registry, tmp_path / "store.sqlite3", connect_timeout_s=10
        ) as collector,
    ):
        assert collector.stats.connected
    warnings = [r for r in caplog.records if "TLS_INSECURE" in r.getMessage()]
    assert warnings
    assert warnings[0].levelno == logging.WARNING


def test_mutual_tls_needs_the_client_certificate(
    broker: SecureMosquitto, pki: Pki, registry: Registry, tmp_path: Path
) -> None:
    url = f"mqtts://smartpark-collector@127.0.0.1:{broker.mtls_port}"
    password = PASSWORDS["smartpark-collector"]
    without = settings_for(tmp_path / "a", url, pki, password=password, client_id="mtls-a")
    with_cert = settings_for(
        tmp_path / "b",
        url,
        pki,
        password=password,
        client_id="mtls-b",
        mqtt_cert_file=pki.client_cert,
        mqtt_key_file=pki.client_key,
    )
    for settings, expected in ((without, False), (with_cert, True)):
        with running_collector(
            settings,
            registry,
            tmp_path / f"{settings.client_id}.sqlite3",
            connect_timeout_s=3 if not expected else 10,
        ) as collector:
            assert collector.stats.connected is expected, settings.client_id


@contextmanager
def running_collector(
    settings: Settings, registry: Registry, store_path: Path, *, connect_timeout_s: float
) -> Iterator[Collector]:
    """A collector on an embedded store at ``store_path``, started (connected or not, after up to
    ``connect_timeout_s`` [s]) and stopped on the way out."""
    store = EmbeddedStore(store_path)
    collector = Collector(settings=settings, registry=registry, store=store)
    collector.start(connect_timeout_s=connect_timeout_s)
    try:
        yield collector
    finally:
        collector.stop(timeout_s=5)
        store.close()


def broker_log(broker: MosquittoService) -> str:
    try:
        return (broker.root / "broker.log").read_text(errors="replace")
    except OSError:
        return ""


def test_no_log_line_shows_a_password(
    caplog: pytest.LogCaptureFixture, tmp_path: Path, pki: Pki
) -> None:
    """Every place a broker URL reaches a log or an error masks the password."""
    from config.errors import ConfigError
    from config.settings import mqtt_endpoint, parse_mqtt_url, redact_url

    secret = "s3cr3t-in-the-url"
    assert redact_url(f"mqtts://u:{secret}@h:8883") == "mqtts://u:***@h:8883"
    assert parse_mqtt_url(f"mqtts://u:{secret}@h").redacted == "mqtts://u:***@h:8883"
    for bad in (f"http://u:{secret}@h", f"mqtt://u:{secret}@h:99999", f"mqtt://u:{secret}@"):
        with pytest.raises(ConfigError) as err:
            parse_mqtt_url(bad)
        assert secret not in str(err.value)
        assert "***" in str(err.value)
    both = settings_for(tmp_path, f"mqtts://u:{secret}@h", pki, password="x")
    with pytest.raises(ConfigError, match="both in the URL") as err:
        mqtt_endpoint(both.mqtt_url, both)
    assert secret not in str(err.value)
    assert re.search(secret, caplog.text) is None


def test_a_shared_subscription_of_the_collector_user_is_allowed(
    broker: SecureMosquitto, pki: Pki, registry: Registry, tmp_path: Path
) -> None:
    """``smartpark collect --share GROUP`` under the shipped ACL receives telemetry."""
    url = f"mqtts://smartpark-collector@127.0.0.1:{broker.port}"
    settings = settings_for(tmp_path, url, pki, password=PASSWORDS["smartpark-collector"])
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    collector = Collector(settings=settings, registry=registry, store=store, share_group="g1")
    collector.start(connect_timeout_s=10)
    try:
        assert collector.stats.connected
        attempt(broker, pki, "gw-riverside", TOPIC.format(B, "rs-grid"), reading(7.0))
        wait_for(lambda: store.count(B) == 1, timeout_s=20, what="the reading via $share")
    finally:
        collector.stop(timeout_s=5)
        store.close()
