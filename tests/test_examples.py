"""The files under examples/ load as the README says and do what their comments claim."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import yaml

from config.auth import KeyEntry, PrincipalRole, hash_token, load_api_keys
from config.registry import DeviceKind, load_registry
from config.settings import DEFAULT_TOPIC_TEMPLATE
from ingest.decode import Decoder
from simulators.faults import FAULT_KINDS, FaultInjector, load_fault_profile
from simulators.park import ParkModel

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
T0_MS = 1_772_294_400_000  # 2026-03-01T00:00+08:00
STEP_MS = 900_000


def test_the_fault_profile_injects_many_kinds_on_a_day_of_the_demo_park():
    profile = load_fault_profile(EXAMPLES / "faults.yaml")
    rates = {k: getattr(profile, k) for k in FAULT_KINDS}
    assert {k for k, r in rates.items() if r > 0} == set(FAULT_KINDS)  # every kind is switched on
    park = load_registry().parks["wuhan-demo"]
    model = ParkModel(park, seed=1)
    injector = FaultInjector(profile, park, seed=1)
    fired: Counter[str] = Counter()
    for k in range(1, 97):
        t_ms = T0_MS + k * STEP_MS
        injector.process(model.step(t_ms * 1_000_000, STEP_MS / 1000), t_ms)
        fired.update(f.kind for f in injector.drain_faults())
    # a day of 52 devices meets most kinds at these rates (the file's comment says so)
    assert len(fired) >= 8, fired
    assert fired["dropout"] > 20  # ≈ 1 % of ≈ 5,000 readings


def test_the_key_file_loads_and_lets_nobody_in():
    registry = load_registry(EXAMPLES / "registry")
    keys = load_api_keys(EXAMPLES / "api-keys.yaml", registry)  # every entry checked
    assert len(keys) == 4
    text = (EXAMPLES / "api-keys.yaml").read_text(encoding="utf-8")
    by_name = {e["name"]: KeyEntry.model_validate(e) for e in yaml.safe_load(text)}
    assert {n: (e.role, e.park, e.tenant) for n, e in by_name.items()} == {
        "city-bureau": (PrincipalRole.CITY, None, None),
        "ops": (PrincipalRole.OPERATOR, "example-park", None),
        "acme-energy": (PrincipalRole.TENANT, "example-park", "acme"),
        "gateway-building-1": (PrincipalRole.GATEWAY, "example-park", None),
    }
    # placeholders, not the hash of any guessable token
    for entry in by_name.values():
        assert entry.sha256.strip("0") in {"1", "2", "3", "4"}
        assert entry.sha256 not in {hash_token(t) for t in ("", "ops", "example", entry.name)}
        assert keys.authenticate(entry.name) is None


def test_the_registry_is_one_park_the_simulator_and_collector_accept():
    registry = load_registry(EXAMPLES / "registry")
    assert list(registry.parks) == ["example-park"]
    park = registry.parks["example-park"]
    assert len(park.devices) == 9
    assert {d.kind for d in park.devices} >= {
        DeviceKind.ELECTRICITY_METER,
        DeviceKind.PV_INVERTER,
        DeviceKind.GAS_METER,
        DeviceKind.WATER_METER,
        DeviceKind.ENV_SENSOR,
        DeviceKind.PRODUCTION_COUNTER,
    }
    decoder = Decoder(registry, topic_template=DEFAULT_TOPIC_TEMPLATE)
    model = ParkModel(park, seed=0)
    stored = 0
    now_ns = (T0_MS + 200 * STEP_MS) * 1_000_000
    for k in range(1, 97):
        for reading in model.step((T0_MS + k * STEP_MS) * 1_000_000, STEP_MS / 1000):
            topic = DEFAULT_TOPIC_TEMPLATE.format(park=park.id, device=reading.device)
            decoded = decoder.decode(topic, orjson.dumps(reading.payload()), now_ns)
            assert not decoded.rejected, decoded.rejected
            stored += len(decoded.points)
    assert stored == 96 * 9
