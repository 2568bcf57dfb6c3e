"""Settings: the one place that reads the environment (prefix ``SMARTPARK_``, optional ``.env``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.errors import ConfigError

__all__ = ["DEFAULT_TOPIC_TEMPLATE", "MqttUrl", "Settings", "get_settings", "parse_mqtt_url"]

DEFAULT_TOPIC_TEMPLATE = "parks/{park}/devices/{device}/telemetry"


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
    data_dir: Path = Field(default_factory=_default_data_dir)
    registry: Path | None = None
    topic_template: str = DEFAULT_TOPIC_TEMPLATE
    client_id: str = "smartpark-collector"
    max_clock_skew_s: float = 300.0
    max_payload_bytes: int = 1_048_576
    batch_size: int = 5000
    batch_interval_s: float = 0.5
    spool_dir: Path | None = None  # default: <data_dir>/spool
    spool_max_bytes: int = 1 << 30
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9180  # Prometheus /metrics of `smartpark collect`; 0 turns it off
    keepalive_s: int = 60
    inbox_max_messages: int = 20_000  # received, not yet decoded; beyond it the broker holds them
    ledger_follow: bool = True  # `smartpark collect` keeps the stored ledger current
    ledger_interval_s: int = 900  # interval of the stored ledger [s]
    ledger_poll_s: float = 5.0  # how often the ledger follower looks for new data [s]
    api_keys: Path | None = None  # the API key file (see config/auth.py); unset: no keys
    auth: Literal["on", "off"] = "on"  # off: every API request acts as `city` (no keys needed)
    stream_poll_s: float = Field(default=0.5, gt=0)  # live stream: how often `latest` is read [s]
    stream_ping_s: float = Field(default=15.0, gt=0)  # live stream: keep-alive comment [s]
    stream_queue: int = Field(default=1000, ge=10)  # events one slow client may lag behind
    alarms: bool = True  # the API process evaluates the alarm rules (services/alarms.py)
    alarm_rules: Path | None = None  # alarm rule file; default: config/alarms/default.yaml
    alarm_eval_s: float = Field(default=5.0, gt=0)  # how often the alarm engine evaluates [s]

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


def parse_mqtt_url(url: str) -> MqttUrl:
    """Parse ``mqtt://`` (port 1883 by default) or ``mqtts://`` (8883) into its parts."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ConfigError(f"broker URL must start with mqtt:// or mqtts://, got {url!r}")
    if not parts.hostname:
        raise ConfigError(f"broker URL has no host: {url!r}")
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as exc:
        raise ConfigError(f"broker URL has an invalid port: {url!r}") from exc
    return MqttUrl(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=SecretStr(unquote(parts.password)) if parts.password else None,
        tls=tls,
    )
