"""What the fuzz tests share: the example budget and a second park."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

__all__ = ["SECOND_PARK", "budget"]

_NORMAL_MAX_EXAMPLES = 100  # hypothesis's own default, which the normal run keeps


def budget(examples: int) -> settings:
    """``examples`` in a normal run, scaled by the active profile's ``max_examples``
    (``--hypothesis-profile=long`` gives 20x; see tests/fuzz/conftest.py)."""
    scale = settings().max_examples / _NORMAL_MAX_EXAMPLES
    return settings(
        max_examples=max(1, round(examples * scale)),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


SECOND_PARK = """\
park:
  id: riverside
  name: Riverside test park
  latitude: 30.6
  longitude: 114.2
  grid_region: central_china
tenants:
  - {id: chipcore, name: Another tenant}
buildings:
  - id: rs-hall
    name: Hall
    floors:
      - {number: 1, tenant: chipcore}
devices:
  - {id: rs-grid, kind: electricity_meter, role: grid_connection}
  - {id: rs-env, kind: env_sensor, role: environment, building: rs-hall, floor: 1,
     units: {temperature: degF}}
  - {id: rs-gas, kind: gas_meter, role: gas, multiplier: 10}
"""
