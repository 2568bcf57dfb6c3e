"""Retiring a device (services/provisioning.retire_device, ``POST …/devices/{d}/retire``): recorded
in the approved file, its later readings set aside by the collector as ``retired``, its watches
dropped by the alarm engine, and a running server picks the change up without a request."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from config.alarm_rules import RuleSet
from config.errors import NotFoundError, RegistryError
from config.registry import approved_dir, approved_file, load_registry
from config.settings import Settings
from ingest.collector import RETIRED_REASON, Collector, _Message
from services.alarms import AlarmEngine
from services.provisioning import approve_device, retire_device
from store.embedded import EmbeddedStore
from tests.provisioning.park import NEW_METER, PARK, write_registry
from tests.provisioning.test_api import _keys, auth
from tests.support.waiting import wait_until

AT = datetime(2026, 12, 1, tzinfo=UTC)
AT_NS = int(AT.timestamp()) * 10**9


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    """(registry file, approved folder)."""
    return write_registry(tmp_path / "registry"), approved_dir(tmp_path / "data")


def test_a_retired_hand_edited_device_is_retired_in_the_registry_loaded_again(paths):
    registry_path, approved = paths
    registry = load_registry(registry_path)
    done = retire_device(registry, PARK, "rs-delta", AT_NS, approved=approved)
    assert done.written is True
    assert done.device.retired == AT
    assert done.registry.device(PARK, "rs-delta").retired == AT
    again = load_registry(registry_path, approved=approved)
    assert again.device(PARK, "rs-delta").retired == AT
    assert again.device(PARK, "rs-grid").retired is None
    # the other devices and their order are untouched
    assert [d.id for d in again.parks[PARK].devices] == ["rs-grid", "rs-delta"]
    # a second retirement changes nothing, whatever instant it names
    twice = retire_device(again, PARK, "rs-delta", AT_NS + 10**12, approved=approved)
    assert twice.written is False
    assert load_registry(registry_path, approved=approved).device(PARK, "rs-delta").retired == AT


def test_an_approved_device_can_be_retired_and_keeps_its_approval(paths):
    registry_path, approved = paths
    registry = approve_device(load_registry(registry_path), PARK, NEW_METER, approved=approved)
    retire_device(registry.registry, PARK, "rs-new", AT_NS, approved=approved)
    again = load_registry(registry_path, approved=approved)
    assert again.device(PARK, "rs-new").retired == AT
    assert again.device(PARK, "rs-new").multiplier == 40


def test_retiring_an_unknown_device_or_park_is_refused_and_writes_nothing(paths):
    registry_path, approved = paths
    registry = load_registry(registry_path)
    with pytest.raises(NotFoundError, match="no device 'ghost'"):
        retire_device(registry, PARK, "ghost", AT_NS, approved=approved)
    with pytest.raises(NotFoundError, match="unknown park 'nowhere'"):
        retire_device(registry, "nowhere", "rs-delta", AT_NS, approved=approved)
    assert not approved.exists()


def test_a_hand_written_retirement_of_an_unknown_device_names_it(paths):
    registry_path, approved = paths
    approved.mkdir(parents=True)
    approved_file(approved, PARK).write_text(
        f"park: {PARK}\nretired:\n  ghost: 2026-12-01T00:00:00+00:00\n", encoding="utf-8"
    )
    with pytest.raises(RegistryError, match="retired device 'ghost' is not in the park"):
        load_registry(registry_path, approved=approved)


def test_the_collector_sets_readings_from_the_retirement_on_aside(paths, tmp_path):
    registry_path, approved = paths
    registry = retire_device(
        load_registry(registry_path), PARK, "rs-delta", AT_NS, approved=approved
    ).registry
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", metrics_port=0)
    collector = Collector(settings=settings, registry=registry, store=store)
    topic = f"parks/{PARK}/devices/rs-delta/telemetry"
    before, after = AT_NS // 10**6 - 60_000, AT_NS // 10**6 + 60_000
    kept = collector._decode(
        _Message(topic, orjson.dumps({"ts": before, "power": 5.0}), 1, 1, 0, time.time_ns())
    )
    assert [p.time_ns // 10**6 for p in kept.points] == [before]
    assert kept.rejected == []
    decoded = collector._decode(
        _Message(topic, orjson.dumps({"ts": after, "power": 6.0}), 1, 2, 0, time.time_ns())
    )
    assert decoded.points == []
    [aside] = decoded.rejected
    assert aside.reason == RETIRED_REASON
    assert aside.device == "rs-delta"
    assert "is retired" in aside.detail
    # another device of the park is untouched
    other = collector._decode(
        _Message(
            f"parks/{PARK}/devices/rs-grid/telemetry",
            orjson.dumps({"ts": after, "power": 9.0}),
            1,
            3,
            0,
            time.time_ns(),
        )
    )
    assert len(other.points) == 1
    assert other.rejected == []
    store.close()


def test_the_alarm_engine_drops_a_retired_devices_watches_and_keeps_the_others(paths, tmp_path):
    registry_path, approved = paths
    registry = load_registry(registry_path)
    rules = RuleSet.model_validate(
        {
            "rules": [
                {"id": "silent", "kind": "offline", "devices": {"kinds": ["electricity_meter"]}}
            ]
        }
    )
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    engine = AlarmEngine(store, registry, rules)
    before = {w.device: w for w in engine._watches[PARK]}
    assert set(before) == {"rs-grid", "rs-delta"}
    retired = retire_device(registry, PARK, "rs-delta", AT_NS, approved=approved).registry
    with_new = approve_device(retired, PARK, NEW_METER, approved=approved).registry
    engine.use_registry(with_new)
    after = {w.device: w for w in engine._watches[PARK]}
    assert set(after) == {"rs-grid", "rs-new"}
    assert after["rs-grid"] is before["rs-grid"]  # its detector keeps its state
    assert engine.registry.device(PARK, "rs-new") is not None
    store.close()


def test_retire_route_and_a_running_server_picks_it_up_without_a_request(tmp_path):
    settings = Settings(
        _env_file=None,
        registry=write_registry(tmp_path / "registry"),
        data_dir=tmp_path / "data",
        alarms=False,
        auth_failures_per_min=0,
    )
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    url = f"/api/v1/parks/{PARK}/devices"
    watcher = create_app(settings=settings, store=store, auth=_keys())
    acting = create_app(settings=settings, store=store, auth=_keys())
    with TestClient(watcher), TestClient(acting) as client:
        assert client.post(f"{url}/rs-delta/retire", headers=auth("tenant")).status_code == 403
        far = client.post(
            f"{url}/rs-delta/retire", json={"at": "2099-01-01T00:00:00+08:00"}, headers=auth("city")
        )
        assert far.status_code == 422
        assert "a year ahead" in far.text
        assert client.post(f"{url}/ghost/retire", headers=auth("city")).status_code == 404
        done = client.post(
            f"{url}/rs-delta/retire",
            json={"at": "2026-12-01T08:00:00+08:00"},
            headers=auth("operator"),
        )
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["written"] is True
        assert body["device"]["retired"] == "2026-12-01T00:00:00+00:00"
        assert client.get(f"{url}/rs-delta", headers=auth("city")).json()["retired"] is not None
        # the other server sees it through its poller, not through a request of its own
        wait_until(
            lambda: watcher.state.registry.device(PARK, "rs-delta").retired is not None,
            timeout_s=10,
            what="the running server's registry to show the retirement",
        )
    store.close()
