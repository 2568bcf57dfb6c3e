"""An edge agent's meter status messages (ingest/status.py) become ``offline`` readings the
alarm engine's shipped ``device-down`` rule raises on at once and clears on "online"."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from config.alarm_rules import load_rules
from config.errors import ConfigError
from config.registry import OFFLINE_FIELD, demo_registry_path, load_registry
from config.settings import DEFAULT_STATUS_TEMPLATE, DEFAULT_TOPIC_TEMPLATE
from edge.agent import status_message
from edge.configfile import Broker
from ingest.collector import Router
from ingest.decode import Decoder
from ingest.status import StatusDecoder
from services.alarms import AlarmEngine, AlarmState
from store.embedded import EmbeddedStore

PARK = "wuhan-demo"
S = 10**9
TOPIC = f"parks/{PARK}/devices/tower-a-f05/status"


@pytest.fixture(scope="module")
def decoder() -> StatusDecoder:
    native = Decoder(load_registry(demo_registry_path()), topic_template=DEFAULT_TOPIC_TEMPLATE)
    return StatusDecoder(native)


def _status(ts_ms: int, state: object) -> bytes:
    return orjson.dumps({"ts": ts_ms, "state": state, "message": {"en": "x", "zh": "x"}})


def test_offline_and_online_become_readings_of_the_offline_field(decoder):
    now_ns = time.time_ns()
    ts_ms = now_ns // 10**6 - 5_000
    down = decoder.decode(TOPIC, _status(ts_ms, "offline"), now_ns)
    assert down.rejected == []
    [point] = down.points
    assert point.tags == {"park": PARK, "device": "tower-a-f05"}
    assert point.fields == {OFFLINE_FIELD: 1.0}
    assert point.time_ns == ts_ms * 10**6
    [back] = decoder.decode(TOPIC, _status(ts_ms + 60_000, "online"), now_ns + 60 * S).points
    assert back.fields == {OFFLINE_FIELD: 0.0}


def test_the_edge_agents_own_message_decodes(decoder):
    broker = Broker(url="mqtt://127.0.0.1:1883", status_topic_template=DEFAULT_STATUS_TEMPLATE)
    ts_ms = time.time_ns() // 10**6
    message = status_message(broker, PARK, "tower-a-f05", ts_ms, online=False, reason="timeout")
    decoded = decoder.decode(message.topic, message.payload, time.time_ns())
    assert [p.fields for p in decoded.points] == [{OFFLINE_FIELD: 1.0}]


def test_an_old_retained_status_is_kept_but_a_future_one_is_refused(decoder):
    now_ns = time.time_ns()
    week_old_ms = now_ns // 10**6 - 7 * 86_400_000
    assert len(decoder.decode(TOPIC, _status(week_old_ms, "offline"), now_ns).points) == 1
    ahead = decoder.decode(TOPIC, _status(now_ns // 10**6 + 3_600_000, "offline"), now_ns)
    assert ahead.points == []
    assert [r.reason for r in ahead.rejected] == ["ts_out_of_range"]
    assert "in the future" in ahead.rejected[0].detail


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (
            f"parks/{PARK}/devices/ghost/status",
            _status(1_764_000_000_000, "offline"),
            "unknown_device",
        ),
        ("parks/nowhere/devices/x/status", _status(1_764_000_000_000, "offline"), "unknown_park"),
        (TOPIC, b"{not json", "malformed_json"),
        (TOPIC, b"[1, 2]", "not_an_object"),
        (TOPIC, orjson.dumps({"state": "offline"}), "missing_ts"),
        (TOPIC, _status(1_764_000_000_000, "asleep"), "bad_value"),
        (TOPIC, _status(1_764_000_000_000, ["offline"]), "bad_value"),
    ],
)
def test_bad_status_messages_are_quarantined_with_their_reason(decoder, topic, payload, reason):
    decoded = decoder.decode(topic, payload, time.time_ns())
    assert decoded.points == []
    [record] = decoded.rejected
    assert record.reason == reason
    assert record.detail.startswith("status message: ")


def test_the_router_subscribes_to_status_topics_and_routes_them():
    native = Decoder(load_registry(demo_registry_path()), topic_template=DEFAULT_TOPIC_TEMPLATE)
    router = Router(native, status_template=DEFAULT_STATUS_TEMPLATE)
    assert router.subscriptions == ["parks/+/devices/+/telemetry", "parks/+/devices/+/status"]
    now_ns = time.time_ns()
    decoded = router.decode(TOPIC, _status(now_ns // 10**6, "offline"), now_ns)
    assert [p.fields for p in decoded.points] == [{OFFLINE_FIELD: 1.0}]
    # telemetry still goes to the native decoder
    telemetry = TOPIC.replace("/status", "/telemetry")
    payload = orjson.dumps({"ts": now_ns // 10**6, "power": 5.0})
    assert router.decode(telemetry, payload, now_ns).points[0].fields == {"power_kw": 5.0}
    assert Router(native).subscriptions == ["parks/+/devices/+/telemetry"]  # "" reads none
    with pytest.raises(ConfigError, match="must differ"):
        Router(native, status_template=DEFAULT_TOPIC_TEMPLATE)


def test_the_shipped_rule_raises_device_down_at_once_and_clears_when_back(decoder, tmp_path: Path):
    registry = load_registry(demo_registry_path())
    store = EmbeddedStore(tmp_path / "s.sqlite3")
    rules = load_rules()
    rules = rules.model_copy(update={"rules": (rules.rule("device-down"),)})
    engine = AlarmEngine(store, registry, rules)
    t0 = time.time_ns() // 10**9 * 10**9
    store.write(decoder.decode(TOPIC, _status(t0 // 10**6, "offline"), t0).points)
    [raised] = engine.step(t0 + S)
    assert (raised.rule, raised.device, raised.state) == (
        "device-down",
        "tower-a-f05",
        AlarmState.RAISED,
    )
    assert raised.value == 1.0
    assert engine.step(t0 + 2 * S) == []  # once, not again every pass
    back_ns = t0 + 30 * S
    store.write(decoder.decode(TOPIC, _status(back_ns // 10**6, "online"), back_ns).points)
    [cleared] = engine.step(back_ns + S)
    assert (cleared.id, cleared.state) == (raised.id, AlarmState.CLEARED)
    store.close()
