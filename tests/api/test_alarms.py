"""Alarms: the detectors on hand-built series, the engine against the embedded store (raise,
clear, persistence across a restart), and the API (list, acknowledge, clear, 404, roles)."""

from __future__ import annotations

import time
import zoneinfo
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from config.auth import ApiKeys, KeyEntry, PrincipalRole, hash_token
from config.registry import Registry, demo_registry_path, load_registry
from config.settings import Settings
from services.alarms import (
    AlarmEngine,
    AlarmState,
    NightBaseLoadDetector,
    OfflineDetector,
    RegisterResetDetector,
    RegisterStuckDetector,
    RuleSet,
    ThresholdDetector,
    load_rules,
    night_baseline,
    night_windows,
)
from store.base import TELEMETRY, Point
from store.embedded import EmbeddedStore

S = 1_000_000_000
MIN = 60 * S
T0 = 1_764_000_000 * S  # 2025-11-24T16:00:00Z, 00:00 in Wuhan
PARK = "wuhan-demo"
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def feed(det: object, series: list[tuple[int, dict[str, float]]]) -> None:
    for t, fields in series:
        det.feed(t, fields)  # type: ignore[attr-defined]


# -- detectors -----------------------------------------------------------------------------------


def test_threshold_is_raised_only_after_15_min_above() -> None:
    det = ThresholdDetector("power_kw", 100.0, for_s=900, hysteresis=10)
    feed(det, [(T0 + i * MIN, {"power_kw": 120.0}) for i in range(15)])  # 0 … 14 min
    assert det.verdict(T0 + 14 * MIN).on is None  # above, but only for 14 min
    det.feed(T0 + 15 * MIN, {"power_kw": 121.0})
    verdict = det.verdict(T0 + 15 * MIN)
    assert verdict.on is True
    assert (verdict.value, verdict.threshold) == (121.0, 100.0)


def test_threshold_dip_restarts_the_duration() -> None:
    det = ThresholdDetector("power_kw", 100.0, for_s=900, hysteresis=10)
    feed(det, [(T0 + i * MIN, {"power_kw": 120.0 if i != 10 else 99.0}) for i in range(20)])
    assert det.verdict(T0 + 19 * MIN).on is None  # 9 min above since the dip
    feed(det, [(T0 + i * MIN, {"power_kw": 120.0}) for i in range(20, 27)])
    assert det.verdict(T0 + 26 * MIN).on is True


def test_hysteresis_not_cleared_just_below_the_threshold() -> None:
    det = ThresholdDetector("power_kw", 100.0, for_s=0, hysteresis=10)
    det.feed(T0, {"power_kw": 130.0})
    assert det.verdict(T0).on is True
    det.feed(T0 + MIN, {"power_kw": 99.0})  # below the threshold, inside the band
    assert det.verdict(T0 + MIN).on is None
    det.feed(T0 + 2 * MIN, {"power_kw": 90.5})
    assert det.verdict(T0 + 2 * MIN).on is None
    det.feed(T0 + 3 * MIN, {"power_kw": 89.9})  # below threshold - hysteresis
    assert det.verdict(T0 + 3 * MIN).on is False


def test_offline_after_n_estimated_intervals() -> None:
    det = OfflineDetector(intervals=5, default_interval_s=60)
    assert det.verdict(T0).on is None  # never reported: not offline
    feed(det, [(T0 + i * 2 * S, {"power_kw": 1.0}) for i in range(10)])  # every 2 s
    last = T0 + 18 * S
    assert det.limit_s() == 10.0
    assert det.verdict(last + 9 * S).on is False
    verdict = det.verdict(last + 11 * S)
    assert verdict.on is True
    assert verdict.value == 11.0
    det.feed(last + 12 * S, {"power_kw": 1.0})
    assert det.verdict(last + 12 * S).on is False


def test_register_reset_raised_at_once_and_cleared_later() -> None:
    det = RegisterResetDetector(["energy_kwh"], tolerance=0.001, clear_after_s=3600)
    feed(det, [(T0 + i * MIN, {"energy_kwh": 1000.0 + i}) for i in range(5)])
    assert det.verdict(T0 + 5 * MIN).on is False
    det.feed(T0 + 5 * MIN, {"energy_kwh": 3.0})
    verdict = det.verdict(T0 + 5 * MIN)
    assert verdict.on is True
    assert (verdict.value, verdict.threshold) == (3.0, 1004.0)
    assert det.verdict(T0 + 5 * MIN + 3601 * S).on is False


def test_register_stuck_while_power_flows() -> None:
    det = RegisterStuckDetector("energy_kwh", "power_kw", for_s=900, min_power_kw=1.0)
    feed(det, [(T0 + i * MIN, {"energy_kwh": 50.0, "power_kw": 20.0}) for i in range(16)])
    assert det.verdict(T0 + 15 * MIN).on is True
    det.feed(T0 + 16 * MIN, {"energy_kwh": 50.3, "power_kw": 20.0})
    assert det.verdict(T0 + 16 * MIN).on is False
    # unchanged register without power is fine
    idle = RegisterStuckDetector("energy_kwh", "power_kw", for_s=900, min_power_kw=1.0)
    feed(idle, [(T0 + i * MIN, {"energy_kwh": 50.0, "power_kw": 0.0}) for i in range(30)])
    assert idle.verdict(T0 + 30 * MIN).on is False


def test_night_base_load_above_normal() -> None:
    assert night_baseline([40.0, 42.0], min_nights=3) is None
    baseline = night_baseline([40.0, 42.0, 41.0, 39.0, 60.0], min_nights=3)
    assert baseline == 41.0
    windows = night_windows(date(2025, 11, 25), SHANGHAI, 0, 5, 2)
    start = datetime(2025, 11, 24, tzinfo=SHANGHAI)
    assert windows[0] == (int(start.timestamp()) * S, int(start.timestamp() + 5 * 3600) * S)

    det = NightBaseLoadDetector(
        "power_kw",
        tz=SHANGHAI,
        start_h=0,
        end_h=5,
        window_s=1800,
        factor=1.3,
        min_excess_kw=5.0,
    )
    det.baseline = baseline
    night = T0 + 60 * MIN  # 01:00 local
    feed(det, [(night - 30 * MIN + i * MIN, {"power_kw": 45.0}) for i in range(31)])
    assert det.verdict(night).on is False  # 45 kW < max(1.3 × 41, 46) = 53.3 kW
    feed(det, [(night + i * MIN, {"power_kw": 70.0}) for i in range(1, 31)])
    verdict = det.verdict(night + 30 * MIN)
    assert verdict.on is True
    assert verdict.threshold == 53.3
    # the same load in the day: no alarm
    day = T0 + 10 * 3600 * S
    feed(det, [(day - 30 * MIN + i * MIN, {"power_kw": 70.0}) for i in range(31)])
    assert det.verdict(day).on is False


def test_shipped_rules_load() -> None:
    rules = load_rules()
    assert {r.kind.value for r in rules.rules} >= {
        "threshold",
        "offline",
        "register_reset",
        "register_stuck",
        "night_base_load",
        "quarantine_rate",
    }


# -- the engine against a store -------------------------------------------------------------------

RULES = RuleSet.model_validate(
    {
        "rules": [
            {
                "id": "floor-demand",
                "kind": "threshold",
                "devices": {"ids": ["tower-a-f03", "plant-1-main"]},
                "above": 100,
                "for_s": 900,
                "hysteresis": 10,
            },
            {"id": "offline", "kind": "offline", "severity": "major", "intervals": 5},
        ]
    }
)


@pytest.fixture
def registry() -> Registry:
    return load_registry(demo_registry_path())


def write(store: EmbeddedStore, device: str, t: int, power: float) -> None:
    store.write([Point(TELEMETRY, {"park": PARK, "device": device}, {"power_kw": power}, t)])


def test_engine_raises_clears_and_keeps_alarms_across_a_restart(
    tmp_path: Path, registry: Registry
) -> None:
    store = EmbeddedStore(tmp_path / "s.sqlite3")
    engine = AlarmEngine(store, registry, RULES, warmup_s=3600)
    heard: list[str] = []
    engine.listeners.append(lambda a: heard.append(f"{a.device}:{a.state.value}"))
    for i in range(16):
        write(store, "tower-a-f03", T0 + i * MIN, 150.0)
    changed = engine.step(T0 + 15 * MIN + S)
    assert [(a.device, a.state) for a in changed] == [("tower-a-f03", AlarmState.RAISED)]
    alarm = changed[0]
    assert alarm.id == f"floor-demand~tower-a-f03~{(T0 + 15 * MIN + S) // 10**6}"
    assert "above 100 kW" in alarm.message
    assert engine.step(T0 + 15 * MIN + 2 * S) == []  # still raised: no second alarm
    engine.acknowledge(PARK, alarm.id, by="ops")

    # a restart reloads it, acknowledged, with who did it
    again = AlarmEngine(store, registry, RULES, warmup_s=3600)
    again.load()
    (reloaded,) = again.alarms(PARK, active_only=True)
    assert reloaded.state is AlarmState.ACKNOWLEDGED
    assert reloaded.acknowledged_by == "ops"
    assert reloaded.id == alarm.id

    write(store, "tower-a-f03", T0 + 16 * MIN, 95.0)  # inside the hysteresis band
    assert engine.step(T0 + 16 * MIN + S) == []
    write(store, "tower-a-f03", T0 + 17 * MIN, 80.0)
    (cleared,) = engine.step(T0 + 17 * MIN + S)
    assert cleared.state is AlarmState.CLEARED
    assert cleared.cleared_by is None
    assert heard == [
        "tower-a-f03:raised",
        "tower-a-f03:acknowledged",
        "tower-a-f03:cleared",
    ]
    assert engine.alarms(PARK, active_only=True) == []
    assert len(engine.alarms(PARK)) == 1
    store.close()


# -- the API -------------------------------------------------------------------------------------

OPERATOR = "alarm-operator-key-0123456789abcdef0123456789"
TENANT = "alarm-tenant-key-0123456789abcdef01234567890"  # chipcore: plant-1-main is its meter
KEYS = ApiKeys(
    [
        KeyEntry(name="ops", role=PrincipalRole.OPERATOR, park=PARK, sha256=hash_token(OPERATOR)),
        KeyEntry(
            name="chip",
            role=PrincipalRole.TENANT,
            park=PARK,
            tenant="chipcore",
            sha256=hash_token(TENANT),
        ),
    ]
)


@pytest.fixture
def api(tmp_path: Path, registry: Registry) -> Iterator[tuple[TestClient, AlarmEngine]]:
    store = EmbeddedStore(tmp_path / "api.sqlite3")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n"
        "  - {id: floor-demand, kind: threshold, devices: {ids: [tower-a-f03, plant-1-main]},\n"
        "     above: 100, for_s: 0, hysteresis: 10}\n"
    )
    settings = Settings(_env_file=None, data_dir=tmp_path, alarm_rules=rules, alarm_eval_s=3600)
    app = create_app(settings=settings, store=store, registry=registry, auth=KEYS)
    with TestClient(app) as client:
        engine = app.state.alarm_engine
        assert isinstance(engine, AlarmEngine)
        now = time.time_ns()
        write(store, "tower-a-f03", now, 150.0)
        write(store, "plant-1-main", now, 180.0)
        engine.step(now + S)
        yield client, engine
    store.close()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_list_ack_clear(api: tuple[TestClient, AlarmEngine]) -> None:
    client, _ = api
    body = client.get(f"/api/v1/parks/{PARK}/alarms", headers=auth(OPERATOR)).json()
    assert [a["device"] for a in body["alarms"]] == ["plant-1-main", "tower-a-f03"]
    floor = next(a for a in body["alarms"] if a["device"] == "tower-a-f03")
    assert floor["state"] == "raised"
    assert floor["kind"] == "threshold"
    assert floor["value"] == 150.0
    assert floor["threshold"] == 100.0

    url = f"/api/v1/parks/{PARK}/alarms/{floor['id']}"
    acked = client.post(f"{url}/ack", headers=auth(OPERATOR))
    assert acked.status_code == 200, acked.text
    assert acked.json()["state"] == "acknowledged"
    assert acked.json()["acknowledged_by"] == "ops"
    cleared = client.post(f"{url}/clear", headers=auth(OPERATOR)).json()
    assert cleared["state"] == "cleared"
    assert cleared["cleared_by"] == "ops"
    assert client.post(f"{url}/ack", headers=auth(OPERATOR)).status_code == 409

    active = client.get(f"/api/v1/parks/{PARK}/alarms", headers=auth(OPERATOR)).json()
    assert [a["device"] for a in active["alarms"]] == ["plant-1-main"]
    every = client.get(f"/api/v1/parks/{PARK}/alarms?state=all", headers=auth(OPERATOR)).json()
    assert len(every["alarms"]) == 2


def test_unknown_alarm_is_404(api: tuple[TestClient, AlarmEngine]) -> None:
    client, _ = api
    for action in ("ack", "clear"):
        response = client.post(
            f"/api/v1/parks/{PARK}/alarms/floor-demand~tower-a-f03~1/{action}",
            headers=auth(OPERATOR),
        )
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_tenant_reads_its_own_alarms_and_cannot_ack(api: tuple[TestClient, AlarmEngine]) -> None:
    client, engine = api
    body = client.get(f"/api/v1/parks/{PARK}/alarms?state=all", headers=auth(TENANT)).json()
    assert [a["device"] for a in body["alarms"]] == ["plant-1-main"]
    assert "tower-a-f03" not in str(body)
    own = body["alarms"][0]["id"]
    for action in ("ack", "clear"):
        response = client.post(f"/api/v1/parks/{PARK}/alarms/{own}/{action}", headers=auth(TENANT))
        assert response.status_code == 403
    assert engine.get(PARK, own) is not None
    assert engine.get(PARK, own).state is AlarmState.RAISED  # type: ignore[union-attr]
    assert client.get(f"/api/v1/parks/{PARK}/alarms").status_code == 401
