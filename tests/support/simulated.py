"""A store filled with simulated park telemetry, through the collector's own decoder.

Faster than the MQTT path for tests that need weeks or a year of data (the MQTT path itself is
proven in tests/e2e/): each tick's payloads are decoded exactly as the collector decodes them,
so units, multipliers and field names are the real ones.
"""

from __future__ import annotations

import orjson

from config.registry import Registry
from config.settings import DEFAULT_TOPIC_TEMPLATE
from ingest.decode import Decoder
from simulators.park import ParkModel
from store.base import Point, Store

__all__ = ["fill_store"]


def fill_store(
    store: Store,
    registry: Registry,
    park_id: str,
    *,
    start_ns: int,
    end_ns: int,
    interval_s: int = 900,
    seed: int = 7,
) -> int:
    """Simulate ``park_id`` over ``[start_ns, end_ns)`` every ``interval_s`` [s] into ``store``;
    returns the number of readings written."""
    park = registry.parks[park_id]
    model = ParkModel(park, seed=seed)
    decoder = Decoder(registry, topic_template=DEFAULT_TOPIC_TEMPLATE)
    step_ns = interval_s * 1_000_000_000
    written = 0
    batch: list[Point] = []
    for t in range(start_ns, end_ns, step_ns):
        for reading in model.step(t, interval_s):
            topic = f"parks/{park_id}/devices/{reading.device}/telemetry"
            decoded = decoder.decode(topic, orjson.dumps(reading.payload()), t)
            assert not decoded.rejected, decoded.rejected
            batch.extend(decoded.points)
        if len(batch) >= 20_000:
            store.write(batch)
            written += len(batch)
            batch = []
    store.write(batch)
    return written + len(batch)
