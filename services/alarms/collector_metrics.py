"""The one figure the alarm engine reads from the collector's Prometheus endpoint: its spool size.

The text is parsed by prometheus-client's own parser (the library the collector exports with),
not by hand.
"""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["SPOOL_BYTES", "metrics_url_of", "read_spool_bytes", "spool_bytes_from_text"]

SPOOL_BYTES = "smartpark_collector_spool_bytes"
"""The collector's gauge of the bytes its spool holds (ingest/metrics.py)."""


def metrics_url_of(host: str, port: int) -> str | None:
    """The collector's metrics address from the settings (None when its port is 0)."""
    return f"http://{host}:{port}/metrics" if port else None


def spool_bytes_from_text(text: str) -> float | None:
    """The spool size [bytes] in a Prometheus text exposition, or None when the text does not
    have it or is not valid exposition text."""
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == SPOOL_BYTES:
                    return float(sample.value)
    except ValueError:  # the parser's error for a malformed line
        return None
    return None


def read_spool_bytes(url: str) -> float | None:
    """The spool size [bytes] from the collector's metrics at ``url``, or None when they cannot
    be read (within 1 s) or do not have it."""
    try:
        response = httpx.get(url, timeout=1.0)
        response.raise_for_status()
    except httpx.HTTPError:
        return None
    return spool_bytes_from_text(response.text)
