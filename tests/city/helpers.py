"""Small parks and a stand-in indicator function for the city tests: each park's figures are
chosen, so the scores and ranks can be worked out by hand."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from config.registry import ParkRegistry, load_registry
from services.indicators import Indicator, IndicatorReport, default_profile, local_period

PARK = """park:
  id: {pid}
  name: Park {pid}
  latitude: 30.5
  longitude: 114.3
  grid_region: central_china
  province: hubei
{extra}devices:
  - {{id: grid, kind: electricity_meter, role: grid_connection}}
"""


def parks(tmp_path: Path, land: Mapping[str, float | None]) -> list[ParkRegistry]:
    """One registry file per park id of ``land`` (its land_mu; None = not given)."""
    folder = tmp_path / "reg"
    folder.mkdir(exist_ok=True)
    for pid, mu in land.items():
        extra = "" if mu is None else f"  land_mu: {mu}\n  industry: c39\n"
        (folder / f"{pid}.yaml").write_text(PARK.format(pid=pid, extra=extra), encoding="utf-8")
    reg = load_registry(folder)
    return [reg.parks[p] for p in sorted(reg.parks)]


def fake_indicators(values: Mapping[tuple[str, str], Mapping[str, float | None]]) -> Any:
    """An ``indicators=`` function answering ``values[(park, period)]``: indicator name →
    value (``electricity_kwh`` and ``completeness_pct`` go on comprehensive_energy_tce)."""

    def run(
        store: object, park: ParkRegistry, period: str, *, profile: Any = None
    ) -> IndicatorReport:
        v = values[(park.id, period)]
        kwh = v.get("electricity_kwh")
        tce = Indicator(
            "comprehensive_energy_tce",
            v.get("comprehensive_energy_tce"),
            "tce",
            v.get("completeness_pct"),
            detail={"electricity_kwh": kwh},
            reason=None if v.get("comprehensive_energy_tce") is not None else "no data",
        )
        rest = [
            Indicator(name, v.get(name), unit, v.get("completeness_pct"),
                      reason=None if v.get(name) is not None else "no data")
            for name, unit in (
                ("scope1_tco2", "tCO2"),
                ("scope2_location_tco2", "tCO2"),
                ("tco2_per_tce", "tCO2/tce"),
                ("clean_energy_share", "fraction"),
                ("renewable_electricity_share", "fraction"),
            )
        ]  # fmt: skip
        when = local_period(period, park.park.timezone)
        return IndicatorReport(
            park.id, when, park.park.timezone, ("CN",), profile or default_profile(park),
            (tce, *rest),
        )  # fmt: skip

    return run
