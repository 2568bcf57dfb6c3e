"""The ledger service and its API: interval energy from stored registers, with quality codes."""

from __future__ import annotations

import httpx
import pytest

from analytics.intervals import Quality
from api.main import create_app
from config.registry import load_registry
from config.settings import Settings
from services import device_ledger
from store import TELEMETRY, EmbeddedStore, Point

REGISTRY = load_registry()
PARK = REGISTRY.parks["wuhan-demo"]
T0 = 1_767_196_800 * 10**9  # 2026-01-01T00:00:00+08:00 is 2025-12-31T16:00Z; epoch-aligned
MIN = 60 * 10**9


def register(store: EmbeddedStore, device: str, readings: list[tuple[int, float]]) -> None:
    store.write(
        [
            Point(TELEMETRY, {"park": "wuhan-demo", "device": device}, {"energy_kwh": v}, t)
            for t, v in readings
        ]
    )


@pytest.fixture
def store(tmp_path):
    s = EmbeddedStore(tmp_path / "store.sqlite3")
    yield s
    s.close()


def test_steady_meter_gives_measured_intervals(store):
    # one reading a minute, 2 kWh a minute = 120 kW: each 15-min interval holds 30 kWh
    register(store, "tower-a-f01", [(T0 + i * MIN, 1000.0 + 2.0 * i) for i in range(0, 61)])
    (led,) = device_ledger(
        store, "wuhan-demo", PARK.device("tower-a-f01"), start_ns=T0, end_ns=T0 + 60 * MIN
    )
    assert led.field == "energy_kwh"
    assert led.unit == "kWh"
    assert list(led.ledger.energy) == pytest.approx([30.0] * 4)
    assert set(led.ledger.quality.tolist()) == {0}  # measured


def test_reset_is_corrected_and_a_gap_is_spread_not_lumped(store):
    # 2 kWh/min; the register resets to 0 at minute 20; no readings from minute 31 to 59
    readings = [(T0 + i * MIN, 500.0 + 2.0 * i) for i in range(0, 20)]
    readings += [(T0 + i * MIN, 2.0 * (i - 19)) for i in range(20, 31)]
    readings += [(T0 + i * MIN, 2.0 * (i - 19)) for i in range(60, 76)]
    register(store, "tower-a-f02", readings)
    (led,) = device_ledger(
        store, "wuhan-demo", PARK.device("tower-a-f02"), start_ns=T0, end_ns=T0 + 75 * MIN
    )
    names = led.ledger.quality.tolist()
    assert names[1] == Quality.RESET_CORRECTED
    assert names[2] == names[3] == Quality.INTERPOLATED  # the gap's intervals are interpolated ...
    gap = led.ledger.energy[2:4]
    assert gap[0] == pytest.approx(gap[1])  # ... and share its energy evenly
    assert led.ledger.total() == pytest.approx(2.0 * 75, rel=1e-9)  # nothing lost or made up


async def test_ledger_endpoint(store, tmp_path):
    register(store, "tower-a-f03", [(T0 + i * MIN, 10.0 + 1.5 * i) for i in range(0, 31)])
    app = create_app(settings=Settings(data_dir=tmp_path), store=store, registry=REGISTRY)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        params = {"device": "tower-a-f03", "start": T0 // 10**6, "end": (T0 + 30 * MIN) // 10**6}
        body = (await client.get("/api/v1/parks/wuhan-demo/ledger", params=params)).json()
        (field,) = body["fields"]
        assert field["field"] == "energy_kwh"
        assert [i["energy"] for i in field["intervals"]] == pytest.approx([22.5, 22.5])
        assert field["quality_counts"] == {"measured": 2}
        assert field["completeness_pct"] == 100.0
        assert field["total"] == pytest.approx(45.0)
        missing = await client.get("/api/v1/parks/wuhan-demo/ledger", params={"device": "nope"})
        assert missing.status_code == 404
        too_many = await client.get(
            "/api/v1/parks/wuhan-demo/ledger",
            params={"device": "tower-a-f03", "start": 0, "end": T0 // 10**6, "interval": 60},
        )
        assert too_many.status_code == 422


def test_rebuild_stores_the_ledger_idempotently(store):
    from services.ledger import LEDGER, rebuild_ledger
    from store import SeriesQuery

    register(store, "tower-a-f04", [(T0 + i * MIN, 100.0 + 3.0 * i) for i in range(0, 31)])
    calls: list[tuple[int, int]] = []
    for _ in range(2):  # twice: the second run overwrites the first
        result = rebuild_ledger(
            store,
            PARK,
            start_ns=T0,
            end_ns=T0 + 30 * MIN,
            devices=["tower-a-f04", "grid-main"],
            progress=lambda done, total: calls.append((done, total)),
        )
    assert (result.devices, result.registers, result.intervals) == (2, 1, 2)  # grid has no data
    assert calls[-1] == (2, 2)
    rows = store.series(
        SeriesQuery(
            "wuhan-demo", "tower-a-f04", "energy_kwh", T0, T0 + 30 * MIN, measurement=LEDGER
        )
    )
    assert [(r.time_ns, r.value) for r in rows] == [(T0, 45.0), (T0 + 15 * MIN, 45.0)]
    assert store.count("wuhan-demo", device="tower-a-f04", measurement=LEDGER) == 2
    # read back as a ledger, it is what was computed
    from services.ledger import device_ledger, stored_ledger

    device = PARK.device("tower-a-f04")
    window = {"start_ns": T0 - 15 * MIN, "end_ns": T0 + 45 * MIN}
    (stored,) = stored_ledger(store, "wuhan-demo", device, **window)
    (computed,) = device_ledger(store, "wuhan-demo", device, **window)
    assert stored.field == "energy_kwh"
    assert stored.ledger.start_ns.tolist() == computed.ledger.start_ns.tolist()
    assert stored.ledger.energy.tolist()[1:3] == [45.0, 45.0]
    assert stored.ledger.quality.tolist() == [6, 0, 0, 6]  # outside the rebuild: never stored
