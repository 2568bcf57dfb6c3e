"""The collector's Prometheus metrics, in a registry of its own (several collectors may share a
process in tests and in the demo)."""

from __future__ import annotations

import errno
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from config.errors import ConfigError

__all__ = ["CollectorMetrics", "MetricsPortError", "serve_metrics"]

_LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)


class CollectorMetrics:
    """Every metric `smartpark collect` exports; names start with ``smartpark_collector_``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages_received = Counter(
            "smartpark_collector_messages_received", "MQTT messages received.", registry=r
        )
        self.readings_received = Counter(
            "smartpark_collector_readings_received", "Readings decoded from messages.", registry=r
        )
        self.readings_stored = Counter(
            "smartpark_collector_readings_stored", "Readings accepted by the store.", registry=r
        )
        self.readings_quarantined = Counter(
            "smartpark_collector_readings_quarantined",
            "Input kept aside, by reason.",
            ["reason"],
            registry=r,
        )
        self.spool_readings = Gauge(
            "smartpark_collector_spool_readings", "Readings waiting in the spool.", registry=r
        )
        self.spool_bytes = Gauge(
            "smartpark_collector_spool_bytes", "Bytes used by the spool.", registry=r
        )
        self.spool_oldest_age = Gauge(
            "smartpark_collector_spool_oldest_age_seconds",
            "Age of the oldest spooled batch.",
            registry=r,
        )
        self.spool_full = Gauge(
            "smartpark_collector_spool_full",
            "1 while the spool is full and messages are left unacknowledged (alarm).",
            registry=r,
        )
        self.write_seconds = Histogram(
            "smartpark_collector_store_write_seconds",
            "Duration of one store write.",
            buckets=_LATENCY_BUCKETS_S,
            registry=r,
        )
        self.lag_seconds = Histogram(
            "smartpark_collector_lag_seconds",
            "Device timestamp to stored (or spooled), first reading of each message.",
            buckets=_LATENCY_BUCKETS_S,
            registry=r,
        )
        self.broker_connected = Gauge(
            "smartpark_collector_broker_connected", "1 while connected to the broker.", registry=r
        )
        self.store_up = Gauge(
            "smartpark_collector_store_up", "1 while the last store write succeeded.", registry=r
        )


class MetricsPortError(ConfigError):
    """The collector's metrics port cannot be opened (in use, or not allowed)."""


def serve_metrics(
    registry: CollectorRegistry, host: str, port: int, *, setting: str = "SMARTPARK_METRICS_PORT"
) -> WSGIServer:
    """Serve ``registry`` as ``http://host:port/metrics`` in a background thread.

    Raises :class:`MetricsPortError`, naming ``setting`` (the variable that chose the port) and
    what to do, when the port cannot be opened: several collectors on one host (``smartpark
    collect --share``) or followers each need a port of their own, or ``0`` to export none.
    """
    try:
        server, _ = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        why = "is already in use" if exc.errno == errno.EADDRINUSE else f"cannot be opened ({exc})"
        raise MetricsPortError(
            f"the metrics port {host}:{port} ({setting}) {why}: set "
            f"{setting} to a free port, or to 0 to turn this /metrics off "
            "(each process on one host needs its own port)"
        ) from None
    return server
