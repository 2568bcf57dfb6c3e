"""Settings: the one place that reads the environment (prefix ``SMARTPARK_``, optional ``.env``)."""

from __future__ import annotations

import re
import ssl
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.errors import ConfigError

__all__ = [
    "DEFAULT_STATUS_TEMPLATE",
    "DEFAULT_STORE",
    "DEFAULT_TOPIC_TEMPLATE",
    "MqttUrl",
    "Settings",
    "get_settings",
    "mqtt_endpoint",
    "parse_mqtt_url",
    "redact_url",
]

DEFAULT_TOPIC_TEMPLATE = "parks/{park}/devices/{device}/telemetry"
DEFAULT_STATUS_TEMPLATE = "parks/{park}/devices/{device}/status"
"""Topic of a meter's status, as ``smartpark edge`` publishes it (ingest/status.py)."""

DEFAULT_STORE = "default"
"""Name of the store ``SMARTPARK_STORE_URL`` opens: the store of every park that names none."""
_STORE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "smartpark"


class Settings(BaseSettings):
    """Everything an operator sets, from ``SMARTPARK_*`` variables.

    ``store_url`` empty means the embedded store under ``data_dir``; ``registry`` is a YAML file or
    a folder of them (default: the demo park shipped in the package).
    """

    model_config = SettingsConfigDict(env_prefix="SMARTPARK_", env_file=".env", extra="ignore")

    mqtt_url: str = "mqtt://127.0.0.1:1883"
    store_url: str = ""
    # several stores (docs/stores.md): `name=URL,name=URL`; a park's `store: name` picks one,
    # `default` is store_url
    stores: str = ""
    data_dir: Path = Field(default_factory=_default_data_dir)
    registry: Path | None = None
    # the park's own factor, tariff and target tables (docs/tables.md): a folder whose
    # emission_factors.yaml, coal_equivalents.yaml, tariffs.yaml, targets.yaml extend the shipped
    tables_dir: Path | None = None
    topic_template: str = DEFAULT_TOPIC_TEMPLATE
    status_topic_template: str = DEFAULT_STATUS_TEMPLATE  # edge meter status; "" = not read
    mappings: Path | None = None  # payload mappings / Sparkplug B: a file or folder (onboarding.md)
    client_id: str = "smartpark-collector"
    max_clock_skew_s: float = 300.0
    max_payload_bytes: int = 1_048_576
    batch_size: int = 5000
    batch_interval_s: float = 0.5
    spool_dir: Path | None = None  # default: <data_dir>/spool
    spool_max_bytes: int = 1 << 30
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9180  # Prometheus /metrics of `smartpark collect`; 0 turns it off
    # Prometheus /metrics of `smartpark follow` (on metrics_host); 0: none (each follower on a
    # host needs its own port; `smartpark collect` exports its follower's on metrics_port)
    follow_metrics_port: int = Field(default=0, ge=0, le=65535)
    keepalive_s: int = 60
    inbox_max_messages: int = 20_000  # received, not yet decoded; beyond it the broker holds them
    # how `smartpark collect` keeps the stored ledger and roll-ups current: "process" in a
    # `smartpark follow` child of its own (its own interpreter: the collector's threads keep the
    # GIL, docs/benchmarks.md "The follower as a child process"), "thread" inside the collector,
    # "off" (run `smartpark follow` apart); true and false read as "process" and "off"
    ledger_follow: Literal["process", "thread", "off"] = "process"
    ledger_interval_s: int = 900  # interval of the stored ledger [s]
    ledger_poll_s: float = 30.0  # how often the ledger follower passes [s] (services/follow.py)
    # readings the follower keeps between passes, all parks [MiB]; 0: none (each pass reads its
    # hour of context again: about twice the CPU, docs/benchmarks.md "The follower keeps")
    ledger_keep_mib: int = Field(default=256, ge=0)
    api_keys: Path | None = None  # the API key file (see config/auth.py); unset: no keys
    auth: Literal["on", "off"] = "on"  # off: every API request acts as `city` (no keys needed)
    stream_poll_s: float = Field(default=0.5, gt=0)  # live stream: how often `latest` is read [s]
    stream_ping_s: float = Field(default=15.0, gt=0)  # live stream: keep-alive comment [s]
    stream_queue: int = Field(default=1000, ge=10)  # events one slow client may lag behind
    stream_max: int = Field(default=256, ge=1)  # open live streams in this process, then 429
    stream_max_per_key: int = Field(default=8, ge=1)  # open live streams of one API key, then 429
    alarms: bool = True  # the API process evaluates the alarm rules (services/alarms.py)
    alarm_rules: Path | None = None  # alarm rule file; default: config/alarms/default.yaml
    alarm_eval_s: float = Field(default=5.0, gt=0)  # how often the alarm engine evaluates [s]
    # replicas of `serve` on one store: the one holding the lease "alarms" evaluates
    # (services/lease.py, docs/deploy-city.md); ttl 4 s: a dead leader's successor evaluates
    # within ttl + ttl/8 + settle (min(1, ttl/8)) = 5 s, one evaluation period
    alarm_lease: bool = True
    alarm_lease_ttl_s: float = Field(default=4.0, ge=0.4)  # a claim's life without renewal [s]
    alarm_lease_settle_s: float | None = Field(default=None, gt=0)  # None: min(1, ttl/8) [s]
    replica_id: str = ""  # this replica's holder id in leases; empty: <host>:<pid>
    # serve evaluates the city (today, this month, this year, last year, each with its trend)
    # in the background at start when the registry has 2 or more parks, so the first city view
    # answers from the kept park reports instead of computing every park (docs/city.md)
    city_warm: bool = True
    # how long each class of data is kept [days], 0: forever; docs/limits.md argues for them.
    # Set on an InfluxDB store by `smartpark store retention --apply` (never implicitly)
    retention_raw_days: int = Field(default=400, ge=0)  # readings: recompute + a year's audit
    retention_ledger_days: int = Field(default=2192, ge=0)  # 15-min ledger: a 5-year plan + base
    retention_rollup_days: int = Field(default=0, ge=0)  # day roll-ups and evidence: forever
    # MQTT security (mqtts:// only for the TLS files); secrets come from files, never the log
    mqtt_ca_file: Path | None = None  # CA bundle the broker's certificate must chain to
    mqtt_cert_file: Path | None = None  # client certificate (PEM), optional
    mqtt_key_file: Path | None = None  # its private key (PEM)
    mqtt_password_file: Path | None = None  # the password of the URL's user, instead of the URL
    mqtt_tls_insecure: bool = False  # labs only: skip the broker certificate check (WARNING)
    max_topic_bytes: int = Field(default=512, ge=32)  # longer topics are quarantined
    # API hardening (api/security.py)
    cors_origins: str = ""  # comma-separated origins allowed by CORS; empty: no CORS at all
    auth_failures_per_min: int = Field(default=20, ge=0)  # per client IP, then 429; 0: no limit
    max_body_bytes: int = Field(default=1_048_576, ge=1)  # larger request bodies: 413 [bytes]

    @field_validator("ledger_follow", mode="before")
    @classmethod
    def _follow_from_bool(cls, value: object) -> object:
        """``true``/``false`` (the setting was a bool before 2026-12) as ``process``/``off``."""
        if isinstance(value, bool):
            return "process" if value else "off"
        if isinstance(value, str):
            word = value.strip().lower()
            if word in {"true", "1", "yes", "on"}:
                return "process"
            if word in {"false", "0", "no"}:
                return "off"
            return word
        return value

    @model_validator(mode="after")
    def _lease_settle_fits_its_ttl(self) -> Settings:
        settle = self.alarm_lease_settle_s
        if settle is not None and self.alarm_lease_ttl_s < 4 * settle:
            raise ValueError(
                f"SMARTPARK_ALARM_LEASE_TTL_S ({self.alarm_lease_ttl_s} s) must be at least 4 x "
                f"SMARTPARK_ALARM_LEASE_SETTLE_S ({settle} s)"
            )
        return self

    @property
    def cors_origin_list(self) -> list[str]:
        """``cors_origins`` as a list (empty: CORS stays closed)."""
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    def named_stores(self) -> dict[str, str]:
        """Every store by name: ``default`` → ``store_url``, then each ``name=URL`` of
        ``stores`` (comma-separated). Raises :class:`ConfigError` for a malformed entry, a
        repeated name, or a name ``default`` (that one is ``SMARTPARK_STORE_URL``)."""
        found = {DEFAULT_STORE: self.store_url}
        for entry in (e.strip() for e in self.stores.split(",")):
            if not entry:
                continue
            name, sep, url = (part.strip() for part in entry.partition("="))
            if not sep or not url or not _STORE_NAME.fullmatch(name):
                raise ConfigError(
                    f"SMARTPARK_STORES: {redact_url(entry)!r} is not NAME=URL (a name of "
                    "lower-case letters, digits, '-' or '_', e.g. "
                    "north=influxdb://10.0.0.5:8086/smartpark)"
                )
            if name == DEFAULT_STORE:
                raise ConfigError(
                    "SMARTPARK_STORES names a store 'default'; that one is SMARTPARK_STORE_URL"
                )
            if name in found:
                raise ConfigError(f"SMARTPARK_STORES names the store {name!r} twice")
            found[name] = url
        return found

    @property
    def ledger_cursor_path(self) -> Path:
        """File of the ledger follower's cursor (see services/follow.py)."""
        return self.data_dir / "ledger-cursor.json"

    @property
    def spool_path(self) -> Path:
        """Folder of the collector's on-disk spool."""
        return self.spool_dir if self.spool_dir is not None else self.data_dir / "spool"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Build the settings once per process (tests call ``get_settings.cache_clear()``)."""
    return Settings()


class MqttUrl(BaseModel):
    """A parsed ``mqtt://[user:pass@]host:port`` URL."""

    model_config = {"frozen": True}

    host: str
    port: int
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    ca_file: Path | None = None  # None with tls: the system's trusted CAs
    cert_file: Path | None = None
    key_file: Path | None = None
    tls_insecure: bool = False

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context of an ``mqtts://`` broker: TLS 1.2 or newer, the broker's certificate
        checked against ``ca_file`` (or the system's CAs) and its host name, unless
        ``tls_insecure``; with ``cert_file``/``key_file`` the client presents its certificate."""
        context = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=str(self.ca_file) if self.ca_file else None
        )
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.cert_file is not None:
            context.load_cert_chain(
                str(self.cert_file), str(self.key_file) if self.key_file else None
            )
        if self.tls_insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    @property
    def redacted(self) -> str:
        """The URL for logs: the password is never shown."""
        user = f"{self.username}{':***' if self.password else ''}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


def redact_url(url: str) -> str:
    """``url`` with the password of its user part replaced by ``***`` (for logs and errors)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")
    user = netloc[0].partition(":")[0]
    return parts._replace(netloc=f"{user}:***@{netloc[2]}").geturl()


def parse_mqtt_url(url: str) -> MqttUrl:
    """Parse ``mqtt://`` (port 1883 by default) or ``mqtts://`` (8883) into its parts."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ConfigError(
            f"broker URL must start with mqtt:// or mqtts://, got {redact_url(url)!r}"
        )
    if not parts.hostname:
        raise ConfigError(f"broker URL has no host: {redact_url(url)!r}")
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise ConfigError(f"broker URL has an invalid port: {redact_url(url)!r}") from None
    return MqttUrl(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=SecretStr(unquote(parts.password)) if parts.password else None,
        tls=tls,
    )


def mqtt_endpoint(url: str, settings: Settings) -> MqttUrl:
    """The broker of ``url`` with the password file and the TLS files of ``settings`` applied.

    The password comes from the URL or from ``SMARTPARK_MQTT_PASSWORD_FILE`` (its first line),
    never both; the file needs a user in the URL. The TLS files apply to ``mqtts://`` only.
    Raises :class:`ConfigError` for a missing file or a contradiction.
    """
    parsed = parse_mqtt_url(url)
    password = parsed.password
    if settings.mqtt_password_file is not None:
        if parsed.username is None:
            raise ConfigError(
                "SMARTPARK_MQTT_PASSWORD_FILE is set but the broker URL names no user: "
                "write mqtt[s]://USER@host:port"
            )
        if password is not None:
            raise ConfigError(
                "the broker password is both in the URL and in SMARTPARK_MQTT_PASSWORD_FILE; "
                "keep only the file"
            )
        try:
            text = settings.mqtt_password_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot read SMARTPARK_MQTT_PASSWORD_FILE {settings.mqtt_password_file}: "
                f"{exc.strerror}"
            ) from None
        lines = text.splitlines()
        if not lines or not lines[0]:
            raise ConfigError(
                f"SMARTPARK_MQTT_PASSWORD_FILE {settings.mqtt_password_file} is empty"
            )
        password = SecretStr(lines[0])
    if not parsed.tls:
        return parsed.model_copy(update={"password": password})
    if (settings.mqtt_cert_file is None) != (settings.mqtt_key_file is None):
        raise ConfigError(
            "a client certificate needs both SMARTPARK_MQTT_CERT_FILE and SMARTPARK_MQTT_KEY_FILE"
        )
    for name, path in (
        ("SMARTPARK_MQTT_CA_FILE", settings.mqtt_ca_file),
        ("SMARTPARK_MQTT_CERT_FILE", settings.mqtt_cert_file),
        ("SMARTPARK_MQTT_KEY_FILE", settings.mqtt_key_file),
    ):
        if path is not None and not path.is_file():
            raise ConfigError(f"{name}: no such file {path}")
    return parsed.model_copy(
        update={
            "password": password,
            "ca_file": settings.mqtt_ca_file,
            "cert_file": settings.mqtt_cert_file,
            "key_file": settings.mqtt_key_file,
            "tls_insecure": settings.mqtt_tls_insecure,
        }
    )
