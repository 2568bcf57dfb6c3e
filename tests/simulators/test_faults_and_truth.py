"""Fault injection (every kind, at its rate, in the stream and in the truth) and the truth."""

from __future__ import annotations

import csv
import itertools
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest

from config.errors import ConfigError
from config.registry import load_registry
from simulators.faults import FAULT_KINDS, FaultInjector, FaultProfile, load_fault_profile
from simulators.park import ParkModel, Reading
from simulators.truth import COLUMNS, TruthWriter

PARK = load_registry().parks["wuhan-demo"]
START = int(datetime(2026, 5, 6, 6, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()) * 10**9
INTERVAL_S = 60
TICKS = 300
PER_READING = 0.01
PROFILE = FaultProfile(
    dropout=PER_READING,
    counter_reset=0.002,
    meter_replacement=0.002,
    spike=PER_READING,
    stuck=0.004,
    stuck_s=300,
    duplicate=PER_READING,
    out_of_order=PER_READING,
    late=PER_READING,
    late_s=300,
    clock_skew=0.004,
    clock_skew_s=7,
    clock_skew_duration_s=300,
    malformed=PER_READING,
    gateway_outage=0.003,
    gateway_outage_s=900,
    backlog_batch=10,
    rollover=0.3,
)


def simulate(tmp_path: Path, profile: FaultProfile = PROFILE, seed: int = 4):
    """Run model + injector + truth; returns (messages as (device, bytes), truth rows)."""
    model = ParkModel(PARK, seed=seed)
    injector = FaultInjector(profile, PARK, seed=seed)
    truth_path = tmp_path / f"truth-{seed}.csv"
    messages: list[tuple[str, bytes]] = []
    with TruthWriter(truth_path, model) as truth:
        for i in range(TICKS):
            tick = model.advance(START + i * INTERVAL_S * 10**9, INTERVAL_S)
            truth.write_tick(tick)
            out = injector.process(tick.readings(), tick.time_ns // 1_000_000)
            truth.write_faults(injector.drain_faults())
            truth.write_breaks(injector.drain_breaks())
            messages += [(m.device, m.payload()) for m in out]
        messages += [(m.device, m.payload()) for m in injector.flush()]
        truth.write_faults(injector.drain_faults())
    with truth_path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return messages, rows


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return simulate(tmp_path_factory.mktemp("faults"))


def test_every_fault_kind_is_in_the_truth_at_its_rate(run):
    _, rows = run
    faults = Counter(r["quantity"] for r in rows if r["record"] == "fault")
    assert set(faults) == set(FAULT_KINDS)
    readings = TICKS * len(PARK.devices)
    for kind in ("dropout", "spike", "duplicate", "out_of_order", "late", "malformed"):
        # per-reading rate; readings already dropped or held by an outage cannot fault again
        assert 0.6 * PER_READING * readings <= faults[kind] <= 1.3 * PER_READING * readings, kind
    for kind in ("counter_reset", "meter_replacement"):
        assert 0.5 * 0.002 * readings <= faults[kind] <= 1.5 * 0.002 * readings, kind
    register_devices = sum(1 for d in PARK.devices if any(s.cumulative for s in d.fields.values()))
    assert 1 <= faults["rollover"] <= register_devices
    for row in (r for r in rows if r["record"] == "fault"):
        assert PARK.device(row["id"]) is not None
        assert START // 10**6 <= int(row["time_ms"]) < START // 10**6 + TICKS * INTERVAL_S * 1000


def test_every_fault_kind_shows_in_the_stream(run):
    messages, rows = run
    faults = defaultdict(set)
    for r in rows:
        if r["record"] == "fault":
            faults[r["quantity"]].add((r["id"], int(r["time_ms"])))
    malformed, batches = 0, 0
    seen: Counter[tuple[str, bytes]] = Counter()
    per_device: dict[str, list[dict]] = defaultdict(list)
    for device, body in messages:
        seen[(device, body)] += 1
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            malformed += 1
            continue
        if "readings" in doc:
            batches += 1
            per_device[device] += doc["readings"]
        else:
            per_device[device].append(doc)
    assert malformed == len(faults["malformed"])
    assert batches >= 1  # gateway backlogs uploaded in batches
    assert sum(1 for n in seen.values() if n > 1) >= 0.9 * len(faults["duplicate"])
    sent = {(d, r["ts"]) for d, rs in per_device.items() for r in rs}
    for device, ts in faults["dropout"]:
        assert (device, ts) not in sent
    tick_ms = INTERVAL_S * 1000
    skewed = {(d, r["ts"]) for d, rs in per_device.items() for r in rs if r["ts"] % tick_ms}
    assert skewed  # clock skew: timestamps off the device's interval grid
    backwards = 0
    register_drops = 0
    for readings in per_device.values():
        for a, b in itertools.pairwise(readings):
            backwards += b["ts"] < a["ts"]  # out of order, late, backlog
            register_drops += any(
                k in a and b[k] < a[k] for k in ("energy", "volume", "charge_energy")
            ) and b["ts"] > a["ts"]  # fmt: skip
    assert backwards >= len(faults["out_of_order"])
    # counter resets, replacements and rollovers make registers go down
    assert register_drops >= 0.8 * (len(faults["counter_reset"]) + len(faults["meter_replacement"]))


def test_faults_are_deterministic(tmp_path):
    assert simulate(tmp_path)[0] == simulate(tmp_path)[0]


def test_no_faults_means_one_clean_message_per_reading(tmp_path):
    messages, rows = simulate(tmp_path, FaultProfile())
    assert len(messages) == TICKS * len(PARK.devices)
    assert not [r for r in rows if r["record"] == "fault"]


def test_truth_totals_balance(run):
    _, rows = run
    assert list(rows[0]) == list(COLUMNS)
    by_time: dict[str, dict[tuple[str, str, str], float]] = defaultdict(dict)
    for r in rows:
        if r["record"] == "energy":
            by_time[r["time_ms"]][(r["scope"], r["id"], r["quantity"])] = float(r["value"])
    assert len(by_time) == TICKS
    for values in by_time.values():
        park = {q: v for (s, _, q), v in values.items() if s == "park"}
        net_grid = park["grid_import"] - park["grid_export"]
        balance = (
            park["electricity"] - park["pv"] + park["battery_charge"] - park["battery_discharge"]
        )
        assert net_grid == pytest.approx(balance + park["loss"], rel=1e-9)
        # tenants: Σ of their devices' end use; the tower's floors add up to the building
        chipcore = values[("tenant", "chipcore", "electricity")]
        assert chipcore == pytest.approx(values[("device", "plant-1-main", "energy")])
        floors = sum(
            v
            for (s, i, q), v in values.items()
            if s == "floor" and i.startswith("tower-a/") and q == "electricity"
        )
        assert floors == pytest.approx(values[("building", "tower-a", "electricity")])
        assert values[("park", PARK.id, "water")] == pytest.approx(
            values[("device", "water-plant-1", "volume")]
        )


def test_register_breaks_are_in_the_truth(run):
    _, rows = run
    faults = {(r["id"], r["time_ms"], r["quantity"]) for r in rows if r["record"] == "fault"}
    breaks = [r for r in rows if r["record"] == "break"]
    assert {b["detail"] for b in breaks} == {"counter_reset", "meter_replacement", "rollover"}
    for b in breaks:
        device = PARK.device(b["id"])
        assert device is not None
        assert device.fields[b["quantity"]].cumulative
        assert float(b["value"]) > 0  # the old reading it fell from
        if b["detail"] != "rollover":
            assert (b["id"], b["time_ms"], b["detail"]) in faults
    # the first wrap of each rolled-over device is also a fault row
    rolled = {(r["id"], r["time_ms"]) for r in breaks if r["detail"] == "rollover"}
    assert {(i, t) for i, t, k in faults if k == "rollover"} <= rolled


def one_device(profile: FaultProfile) -> tuple[FaultInjector, str]:
    return FaultInjector(profile, PARK, seed=1), "tower-a-f01"


def reading(device: str, t_ms: int, energy: float) -> Reading:
    return Reading(device, t_ms, {"energy": energy, "power": 10.0, "export_energy": 0.0})


def test_a_new_meter_never_reads_more_than_the_old_one():
    # Found by the ground-truth test: a replacement after a counter reset restarted an export
    # register that read 0 (the meter never exports) at 7.188 kWh: a rise that looks like export
    # energy, so no reader of the register could tell the interval was lost.
    injector, dev = one_device(FaultProfile())
    [out] = injector._device(reading(dev, 0, 1000.0), {"meter_replacement"}, 0)
    shown = out.readings[0]
    assert 0 <= shown["energy"] < 10
    assert shown["export_energy"] == 0.0  # not raised to the new meter's start
    [b] = injector.drain_breaks()  # only the register that really fell is broken
    assert (b.device, b.register, b.kind, b.old_value) == (dev, "energy", "meter_replacement", 1000)


def test_a_register_break_ends_a_stuck_period():
    # Found by the ground-truth test: a meter replaced while its values were frozen kept showing
    # the old meter's frozen reading, so the break appeared a reading later than it happened.
    injector, dev = one_device(FaultProfile(stuck_s=600))
    sent = [
        injector._device(reading(dev, 0, 100.0), {"stuck"}, 0)[0].readings[0]["energy"],
        injector._device(reading(dev, 60_000, 101.0), set(), 60_000)[0].readings[0]["energy"],
        injector._device(reading(dev, 120_000, 102.0), {"counter_reset"}, 120_000)[0],
    ]
    assert sent[:2] == [100.0, 100.0]  # frozen
    assert sent[2].readings[0]["energy"] == 0.0  # the reset shows at once
    assert [b.time_ms for b in injector.drain_breaks()] == [120_000]


def test_a_spike_records_the_value_it_published():
    injector, dev = one_device(FaultProfile(spike_factor=20))
    [out] = injector._device(reading(dev, 0, 5.0), {"spike"}, 0)
    [fault] = injector.drain_faults()
    assert fault.kind == "spike"
    assert fault.value == out.readings[0]["power"] == 10.0 * 20 + 20


def test_fault_profile_file(tmp_path):
    path = tmp_path / "faults.yaml"
    path.write_text("dropout: 0.02\ngateway_outage_s: 600\n")
    assert load_fault_profile(path).dropout == 0.02
    path.write_text("dropout: 2\n")
    with pytest.raises(ConfigError):
        load_fault_profile(path)
    path.write_text("teleport: 0.1\n")
    with pytest.raises(ConfigError):
        load_fault_profile(path)


def test_delivered_times_follow_the_truths_fault_rows():
    from config.registry import load_registry
    from simulators.truth import delivered_times

    park = load_registry().parks["wuhan-demo"]
    device = park.device("tower-a-f01")
    assert device is not None
    faults = [
        {"time_ms": "2000", "quantity": "dropout", "value": "1"},
        {"time_ms": "3000", "quantity": "malformed", "value": "1"},
        {"time_ms": "5000", "quantity": "clock_skew", "value": "0.25"},  # +250 ms for 1.5 s
        {"time_ms": "8000", "quantity": "spike", "value": "1e12"},  # implausible: quarantined
        {"time_ms": "9000", "quantity": "spike", "value": "1.5"},  # plausible: stored
    ]

    got = delivered_times(device, range(0, 10_000, 1000), faults, clock_skew_duration_s=1.5)

    assert got == [0, 1000, 4000, 5250, 6250, 7000, 9000]
