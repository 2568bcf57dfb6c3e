"""Input the collector kept aside (``/quarantine``)."""

from __future__ import annotations

from api.schemas._base import _example, _Out

__all__ = ["QuarantineListOut", "QuarantineOut"]


class QuarantineOut(_Out):
    """A piece of input the collector kept aside, and why."""

    received: str
    received_ms: int
    reason: str
    detail: str
    topic: str
    excerpt: str
    park: str
    device: str


class QuarantineListOut(_Out):
    """The newest quarantined records, newest first."""

    model_config = _example(
        {
            "park": "wuhan-demo",
            "limit": 100,
            "records": [
                {
                    "received": "2025-06-01T04:00:00.000Z",
                    "received_ms": 1748750400000,
                    "reason": "bad_value",
                    "detail": "power: not a number",
                    "topic": "parks/wuhan-demo/devices/grid-main/telemetry",
                    "excerpt": '{"power": "x"}',
                    "park": "wuhan-demo",
                    "device": "grid-main",
                }
            ],
        }
    )

    park: str | None
    limit: int
    records: list[QuarantineOut]
