"""Electricity meters' voltage, current and power factor agree with their power, every tick."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pytest

from config.registry import KINDS, DeviceKind, load_registry
from config.units import stored_field_name
from ingest.decode import Decoder
from simulators.park import PF_RANGE, ParkModel, Tick

REGISTRY = load_registry()
PARK = REGISTRY.parks["wuhan-demo"]
TOPIC = "parks/{park}/devices/{device}/telemetry"
METERS = [d for d in PARK.devices if d.kind is DeviceKind.ELECTRICITY_METER]
START_NS = 1_781_049_600 * 10**9  # 2026-06-10 08:00 Asia/Shanghai
SQRT3 = math.sqrt(3.0)


def run(ticks: int, interval_s: float = 900.0, seed: int = 3) -> list[Tick]:
    model = ParkModel(PARK, seed=seed)
    return [model.advance(START_NS + int(i * interval_s * 1e9), interval_s) for i in range(ticks)]


@pytest.fixture(scope="module")
def two_days() -> list[Tick]:
    return run(192)


@pytest.fixture(scope="module")
def decoder() -> Decoder:
    return Decoder(REGISTRY, topic_template=TOPIC)


def test_stored_names_read_well() -> None:
    fields = KINDS[DeviceKind.ELECTRICITY_METER]
    stored = {stored_field_name(n, s.quantity) for n, s in fields.items()}
    assert {"voltage_v", "current_a", "pf"} <= stored
    assert not any(fields[f].cumulative or fields[f].scaled for f in ("voltage", "current", "pf"))


def test_identity_holds_for_every_meter_every_tick(two_days: list[Tick]) -> None:
    at = np.array([PARK.devices.index(d) for d in METERS])
    for tick in two_days:
        p, u, i, pf = (tick.values[f][at] for f in ("power", "voltage", "current", "pf"))
        np.testing.assert_allclose(SQRT3 * u * i * pf / 1000.0, np.abs(p), rtol=1e-9, atol=1e-12)


def test_published_values_satisfy_the_identity_in_canonical_units(
    two_days: list[Tick], decoder: Decoder
) -> None:
    """Through the decoder, so unit overrides (plant-2-main reports W) are undone first."""
    checked = 0
    for tick in two_days:
        for r in tick.readings():
            if r.device not in {d.id for d in METERS}:
                continue
            topic = TOPIC.format(park=PARK.id, device=r.device)
            out = decoder.decode(topic, orjson.dumps(r.payload()), tick.time_ns)
            assert not out.rejected, out.rejected
            (point,) = out.points
            f = point.fields
            p = SQRT3 * f["voltage_v"] * f["current_a"] * f["pf"] / 1000.0
            assert p == pytest.approx(abs(f["power_kw"]), rel=1e-6, abs=1e-6)
            checked += 1
    assert checked == len(two_days) * len(METERS)


def test_values_are_plausible(two_days: list[Tick]) -> None:
    nominal = {d.id: d.voltage_v for d in METERS}
    assert nominal["grid-main"] == 10_000.0
    assert {v for k, v in nominal.items() if k != "grid-main"} == {400.0}
    for tick in two_days:
        for r in tick.readings():
            if r.device not in nominal:
                continue
            v = r.values
            assert abs(v["voltage"] / nominal[r.device] - 1.0) <= 0.025
            assert PF_RANGE[0] <= v["pf"] <= PF_RANGE[1]
            assert 0.0 <= v["current"] <= 1e6
            for field in ("voltage", "current", "pf"):
                low, high = PARK.device(r.device).plausible(field)  # type: ignore[union-attr]
                assert low <= v[field] <= high


def test_power_factor_follows_the_profile(two_days: list[Tick]) -> None:
    def mean_pf(device: str) -> float:
        return float(
            np.mean(
                [next(r for r in t.readings() if r.device == device).values["pf"] for t in two_days]
            )
        )

    # an assembly plant's motors pull the power factor below an office tenant's
    assert mean_pf("plant-2-main") < mean_pf("tower-a-f01") - 0.03


def test_deterministic_and_leaves_the_other_quantities_alone() -> None:
    a, b = run(4, seed=9), run(4, seed=9)
    for ta, tb in zip(a, b, strict=True):
        assert [r.values for r in ta.readings()] == [r.values for r in tb.readings()]
    c = run(4, seed=10)
    assert a[-1].values["pf"].tolist() != c[-1].values["pf"].tolist()


def test_decoder_stores_a_full_meter_payload(decoder: Decoder) -> None:
    topic = TOPIC.format(park=PARK.id, device="tower-a-f01")
    ts = START_NS // 10**6
    full = {"ts": ts, "energy": 1000.5, "power": 12.0, "export_energy": 3.0,
            "voltage": 401.2, "current": 18.1, "pf": 0.954}  # fmt: skip
    out = decoder.decode(topic, orjson.dumps(full), START_NS)
    assert not out.rejected
    (point,) = out.points
    assert point.fields == {
        "energy_kwh": 1000.5,
        "power_kw": 12.0,
        "export_energy_kwh": 3.0,
        "voltage_v": 401.2,
        "current_a": 18.1,
        "pf": 0.954,
    }


def test_decoder_accepts_some_fields_and_refuses_implausible_ones(decoder: Decoder) -> None:
    topic = TOPIC.format(park=PARK.id, device="grid-main")
    ts = START_NS // 10**6
    only = decoder.decode(topic, orjson.dumps({"ts": ts, "voltage": 10_050.0}), START_NS)
    assert [p.fields for p in only.points] == [{"voltage_v": 10_050.0}]
    bad = decoder.decode(topic, orjson.dumps({"ts": ts, "pf": 1.2}), START_NS)
    assert not bad.points
    assert [r.reason for r in bad.rejected] == ["implausible"]
