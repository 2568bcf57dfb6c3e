"""Realistic sample report documents: a park evaluation and a green-factory report for 2026,
with eleven months of data and December still to come (so None values, projections ± sigma and
indicative blocks all appear), targets in every status, a value missing with its reason, and
notes of every kind. Values are invented but of the order of an Optics Valley park."""

# Chinese titles use full-width brackets: not confusables here.
# ruff: noqa: RUF001

from __future__ import annotations

from reports.model import (
    CarrierRow,
    FactorRow,
    IndicatorRow,
    InstrumentRow,
    MethodComparison,
    MethodRow,
    MonthRow,
    Note,
    ProfileStatement,
    ReportDoc,
    ScopeRow,
    TargetBlock,
    TargetRow,
)

# monthly comprehensive energy (tce) and tCO2/tce; December has no data yet
ENERGY = [
    19873.214,
    15012.5,
    20451.87,
    21034.11,
    22710.4,
    25903.66,
    28411.092,
    28850.3,
    24019.7,
    21577.25,
    12006.48,
    None,
]
INTENSITY = [
    1.9321,
    1.9012,
    1.8843,
    1.8402,
    1.8125,
    1.7734,
    1.7519,
    1.7601,
    1.8011,
    1.8530,
    1.8877,
    None,
]
COMPLETENESS = [99.82, 100.0, 98.6, 99.95, 87.3, 99.1, 100.0, 99.4, 96.25, 99.7, 45.12, None]


def _months() -> tuple[MonthRow, ...]:
    rows = []
    for k in range(12):
        e, i = ENERGY[k], INTENSITY[k]
        values: dict[str, float | None] = {
            "comprehensive_energy_tce": e,
            "scope1_tco2": None if e is None else round(e * 0.0912, 3),
            "scope2_location_tco2": None if e is None or i is None else round(e * (i - 0.0912), 3),
            "tco2_per_tce": i,
            "clean_energy_share": None if e is None else 0.0412 + 0.0031 * (k % 6),
            "renewable_share": None if e is None else 0.0388 + 0.0029 * (k % 6),
            "electricity_cost_cny": None if e is None else round(e * 5291.37, 2),
        }
        rows.append(
            MonthRow(month=f"2026-{k + 1:02d}", values=values, completeness_pct=COMPLETENESS[k])
        )
    return tuple(rows)


def _ind(
    key: str, value: float | None, unit: str, pct: float | None = 97.83, **kw: object
) -> IndicatorRow:
    return IndicatorRow.model_validate(
        {"key": key, "value": value, "unit": unit, "completeness_pct": pct, **kw}
    )


FACTORS = (
    FactorRow(
        key="grid_average:CN-HB:2023",
        name="grid_average",
        value=0.4044,
        unit="kgCO2/kWh",
        source="MEE/NBS announcement 2025 No. 47, table 3 (湖北)",
        year=2023,
        region="CN-HB",
        evidence="S",
    ),
    FactorRow(
        key="grid_excl_market_nonfossil:CN:2023",
        name="grid_excl_market_nonfossil",
        value=0.6096,
        unit="kgCO2/kWh",
        source="MEE/NBS announcement 2025 No. 47, national excl. market-traded non-fossil",
        year=2023,
        region="CN",
        evidence="P",
    ),
    FactorRow(
        key="natural_gas_combustion:CN:2015",
        name="natural_gas_combustion",
        value=2.162,
        unit="kgCO2/m3",
        source="industry accounting guidelines (2015) defaults",
        year=2015,
        region="CN",
        evidence="S",
    ),
    FactorRow(
        key="electricity_equivalent:CN:2020",
        name="electricity_equivalent",
        value=0.1229,
        unit="kgce/kWh",
        source="GB/T 2589-2020 Annex A",
        year=2020,
        region="CN",
        evidence="P",
    ),
    FactorRow(
        key="natural_gas:CN:2020",
        name="natural_gas",
        value=1.2143,
        unit="kgce/m3",
        source="GB/T 2589-2020 Annex A",
        year=2020,
        region="CN",
        evidence="P",
    ),
)

PROFILE = ProfileStatement(
    name="wuhan-demo/2026",
    electricity_method="calorific_value",
    rationale="园区按 GB/T 2589-2020 当量值核算综合能耗，与能耗双控统计口径一致。",
    grid_factor="province",
    fixed_grid_factor_key=None,
    province="hubei",
    grid_region="central_china",
    scope2_basis="gross",
    gas_is_clean=False,
    purchased_heat=True,
    gas_supplier="wuhan-gas",
    gas_lhv_mj_per_m3=35.544,
    gas_reference="20C",
    gas_meter_reference="0C",
    gas_source="GB/T 2589 Annex A, gas-field natural gas 35,544 kJ/m³",
    ev_charging=True,
    public_areas=True,
    losses="outside",
    pv_certificates="sold",
    flat_price_cny_per_kwh=0.6519,
)

METHODS = MethodComparison(
    target_key="carbon_per_energy",
    document="发改环资〔2025〕910号",
    threshold=0.2,
    chosen="calorific_value",
    rows=(
        MethodRow(method="calorific_value", value=1.812784, status="not_met", chosen=True),
        MethodRow(method="coal_equivalent", value=0.7339, status="not_met", chosen=False),
    ),
)

INSTRUMENTS = (
    InstrumentRow(id="GEC-2026-000117", kind="gec", kwh=1200000.0, month="2026-03", tenant=None),
    InstrumentRow(
        id="PPA-HB-2026-04", kind="contract", kwh=812345.5, month="2026-04", tenant="chipcore"
    ),
    InstrumentRow(id="DS-PV-02", kind="direct", kwh=43210.25, month="2026-04", tenant=None),
)


def _target(
    key: str,
    title: str,
    reads: str,
    unit: str,
    direction: str,
    value: float | None,
    threshold: float | None,
    status: str,
    **kw: object,
) -> TargetRow:
    gap = None if value is None or threshold is None else value - threshold
    fields: dict[str, object] = {
        "key": key,
        "title": title,
        "reads": reads,
        "unit": unit,
        "direction": direction,
        "veto": False,
        "value": value,
        "threshold": threshold,
        "status": status,
        "gap": gap,
        "completeness_pct": 97.83 if reads != "declared" else None,
        "basis": "measured" if reads != "declared" else "declared",
    }
    fields.update(kw)
    return TargetRow.model_validate(fields)


def park_doc() -> ReportDoc:
    indicators = (
        _ind(
            "comprehensive_energy_tce",
            238850.574,
            "tce",
            factors=("electricity_equivalent:CN:2020", "natural_gas:CN:2020"),
        ),
        _ind("scope1_tco2", 21783.17, "tCO2", factors=("natural_gas_combustion:CN:2015",)),
        _ind("scope2_location_tco2", 411207.9, "tCO2", factors=("grid_average:CN-HB:2023",)),
        _ind("scope2_market_tco2", 602114.33, "tCO2", basis="estimated"),
        _ind("tco2_per_tce", 1.812784, "tCO2/tce"),
        _ind("clean_energy_share", 0.048731, "fraction"),
        _ind("renewable_share", 0.045102, "fraction"),
        _ind(
            "kgco2_per_m2",
            None,
            "kgCO2/m²",
            None,
            reason="floors without area_m2 in the registry: tower-a/3, plant-1/2",
        ),
        _ind("electricity_cost_cny", 1263826510.4, "CNY", 96.4),
    )
    microgrid = (
        _ind("pv_self_consumption_rate", 0.9413, "fraction"),
        _ind("self_sufficiency_rate", 0.0417, "fraction"),
        _ind("renewable_penetration", 0.0522, "fraction"),
        _ind("peak_demand_kw", 98731.5, "kW"),
        _ind("load_factor", 0.6238, "fraction"),
        _ind("battery_equivalent_full_cycles", 287.4, "cycles"),
        _ind("battery_round_trip_efficiency", 0.8712, "fraction"),
        _ind("pv_specific_yield_kwh_per_kw", 1043.8, "kWh/kW"),
    )
    zero = TargetBlock(
        key="zero_carbon_park",
        title="国家级零碳园区建设指标体系（试行） — "
        "national zero-carbon park indicator system (trial)",
        document="发改环资〔2025〕910号",
        year=2026,
        indicative=True,
        vetoes_met=False,
        rows=(
            _target(
                "carbon_per_energy",
                "单位能耗碳排放 — CO2 per tonne of standard coal of energy consumed",
                "tco2_per_tce",
                "tCO2/tce",
                "<=",
                1.812784,
                0.2,
                "not_met",
                veto=True,
                threshold_source="发改环资〔2025〕910号 annex",
                threshold_evidence="P",
                ytd=1.812784,
                projected=1.8234,
                projected_sigma=0.01873,
                projected_status="not_met",
            ),
            _target(
                "clean_energy_share",
                "清洁能源消费占比 — clean-energy share of energy consumed",
                "clean_energy_share",
                "fraction",
                ">=",
                0.048731,
                0.9,
                "not_met",
                threshold_source="summary table of the annex",
                threshold_evidence="S",
                ytd=0.048731,
                projected=0.04795,
                projected_sigma=0.00412,
                projected_status="not_met",
            ),
            _target(
                "waste_heat_use",
                "余热/余冷/余压综合利用率 — waste heat, cold and pressure use",
                "declared",
                "fraction",
                ">=",
                None,
                0.5,
                "not_enough_data",
                reason="waste_heat_use not declared",
                threshold_evidence="S",
            ),
            _target(
                "water_reuse",
                "工业用水重复利用率 — industrial water reuse",
                "declared",
                "fraction",
                ">=",
                0.853,
                0.8,
                "met",
                threshold_evidence="S",
            ),
            _target(
                "product_energy_quota_level",
                "园区企业产出产品单位能耗 — unit product energy vs the national quota standard",
                "declared",
                "quota level",
                "<=",
                2.0,
                2.0,
                "met",
                threshold_evidence="S",
            ),
        ),
    )
    green = TargetBlock(
        key="miit_green_park",
        title="绿色园区评价要求 — MIIT green industrial park, energy and carbon indicators",
        document="工信厅节函〔2016〕586号",
        year=2026,
        indicative=True,
        vetoes_met=None,
        rows=(
            _target(
                "renewable_share",
                "可再生能源使用比例 (EG2) — renewable share of energy consumed (tce basis)",
                "renewable_share",
                "fraction",
                ">=",
                0.045102,
                0.15,
                "not_met",
                threshold_evidence="U",
                ytd=0.045102,
                projected=0.04431,
                projected_sigma=0.00377,
                projected_status="not_met",
            ),
            _target(
                "carbon_per_value_added",
                "单位工业增加值碳排放量 — CO2 per 10k CNY of industrial value added",
                "ratio",
                "tCO2/10k CNY",
                "<=",
                0.5117,
                None,
                "no_threshold",
                basis="mixed",
            ),
            _target(
                "carbon_per_value_added_reduction",
                "单位工业增加值碳排放量削减率 (HG) — yearly reduction of CO2 per value added",
                "declared",
                "fraction/yr",
                ">=",
                0.0412,
                0.03,
                "met",
                threshold_evidence="U",
            ),
        ),
    )
    micro = TargetBlock(
        key="microgrid",
        title="Park microgrid targets — on-site supply",
        document="project targets",
        year=2026,
        indicative=True,
        vetoes_met=None,
        rows=(
            _target(
                "self_sufficiency",
                "自给率 — PV self-consumed / load",
                "self_sufficiency_rate",
                "fraction",
                ">=",
                0.0417,
                0.2,
                "not_met",
                example_threshold=True,
                threshold_evidence="U",
                projected=0.0409,
                projected_sigma=0.0061,
                ytd=0.0417,
                projected_status="not_met",
            ),
            _target(
                "renewable_penetration",
                "可再生能源渗透率 — (PV self-consumed + certified green) / load",
                "renewable_penetration",
                "fraction",
                ">=",
                0.0522,
                0.3,
                "not_enough_data",
                example_threshold=True,
                threshold_evidence="U",
                completeness_pct=84.6,
            ),
        ),
    )
    tenants = (
        ScopeRow(
            key="chipcore",
            name="芯核微电子",
            sector="example_electronics",
            electricity_kwh=612345678.9,
            tce=75527.63,
            tco2=141327.8,
            tco2_per_tce=1.87118,
            cost_cny=412987654.3,
            completeness_pct=99.12,
        ),
        ScopeRow(
            key="opto-lab",
            name="光谷光电实验室",
            sector="optoelectronics",
            electricity_kwh=98765432.1,
            tce=12143.9,
            tco2=21874.03,
            tco2_per_tce=1.80123,
            cost_cny=66011245.7,
            completeness_pct=93.4,
        ),
        ScopeRow(
            key="biopharm",
            name="楚天生物医药",
            sector="biomedicine",
            electricity_kwh=None,
            tce=None,
            tco2=None,
            tco2_per_tce=None,
            cost_cny=None,
            completeness_pct=None,
        ),
        ScopeRow(
            key="logistics-hub",
            name="Optics Valley Logistics",
            sector=None,
            electricity_kwh=7654321.0,
            tce=941.48,
            tco2=1712.6,
            tco2_per_tce=1.81905,
            cost_cny=5111222.0,
            completeness_pct=100.0,
        ),
    )
    return ReportDoc(
        kind="park_evaluation",
        park_id="wuhan-demo",
        park_name="光谷示范园区",
        year=2026,
        tz="Asia/Shanghai",
        generated_at="2026-11-24T21:12:00+08:00",
        software="smartpark 0.1.0",
        profile=PROFILE,
        completeness_pct=97.83,
        indicators=indicators,
        targets=(zero, green, micro),
        monthly=_months(),
        carriers=(
            CarrierRow(
                carrier="electricity",
                quantity=1893456789.12,
                unit="kWh",
                tce=232705.84,
                tco2=411207.9,
                completeness_pct=97.9,
            ),
            CarrierRow(
                carrier="natural_gas",
                quantity=5051234.5,
                unit="m3",
                tce=6133.81,
                tco2=10920.77,
                completeness_pct=99.5,
            ),
            CarrierRow(
                carrier="heat",
                quantity=None,
                unit="kWh",
                tce=None,
                tco2=None,
                completeness_pct=None,
            ),
        ),
        tenants=tenants,
        microgrid=microgrid,
        factors=FACTORS,
        methods=METHODS,
        instruments=INSTRUMENTS,
        notes=(
            Note(
                kind="estimated",
                code="estimated",
                items=("comprehensive_energy_tce", "tco2_per_tce"),
            ),
            Note(kind="declared", code="declared", items=("target.water_reuse",), value=0.853),
            Note(
                kind="example",
                code="example_thresholds",
                items=("target.self_sufficiency", "target.renewable_penetration"),
            ),
            Note(kind="example", code="unverified_factors", items=("factor.grid_average",)),
            Note(kind="missing", code="not_computed", items=("kgco2_per_m2",)),
            Note(kind="info", code="year_incomplete"),
        ),
    )


def factory_doc() -> ReportDoc:
    block = TargetBlock(
        key="green_factory",
        title="绿色工厂评价通则 — green factory, energy and carbon indicators (scored)",
        document="GB/T 36132-2025",
        year=2026,
        indicative=True,
        vetoes_met=None,
        rows=(
            _target(
                "unit_product_energy",
                "单位产品综合能耗 — comprehensive energy per unit of product",
                "kgce_per_unit",
                "kgce/unit",
                "<=",
                0.9731,
                1.2,
                "met",
                score=56.725,
                example_threshold=True,
                threshold_evidence="U",
                ytd=0.9731,
                projected=0.9688,
                projected_sigma=0.0213,
                projected_status="met",
            ),
            _target(
                "unit_product_carbon",
                "单位产品碳排放量 — CO2 per unit of product",
                "tco2_per_unit",
                "tCO2/unit",
                "<=",
                0.0071,
                0.006,
                "not_met",
                score=0.0,
                example_threshold=True,
                threshold_evidence="U",
                ytd=0.0071,
                projected=0.00705,
                projected_sigma=0.00019,
                projected_status="not_met",
            ),
            _target(
                "renewable_electricity_share",
                "可再生能源（绿电）使用比例 — renewable share of electricity",
                "renewable_electricity_share",
                "fraction",
                ">=",
                0.0614,
                0.1,
                "not_met",
                score=0.0,
                example_threshold=True,
                threshold_evidence="U",
            ),
            _target(
                "carbon_per_energy",
                "单位能耗碳排放 — CO2 per tce consumed",
                "tco2_per_tce",
                "tCO2/tce",
                "<=",
                1.87118,
                3.0,
                "met",
                score=56.441,
                example_threshold=True,
                threshold_evidence="U",
                ytd=1.87118,
                projected=1.8745,
                projected_sigma=0.0241,
                projected_status="met",
            ),
        ),
    )
    indicators = (
        _ind("comprehensive_energy_tce", 75527.63, "tce"),
        _ind("scope1_tco2", 3204.11, "tCO2"),
        _ind("scope2_location_tco2", 138123.69, "tCO2"),
        _ind("tco2_per_tce", 1.87118, "tCO2/tce"),
        _ind("clean_energy_share", 0.0614, "fraction"),
        _ind("renewable_electricity_share", 0.0614, "fraction"),
        _ind("kgce_per_unit", 0.9731, "kgce/unit", basis="mixed"),
        _ind("tco2_per_unit", 0.0071, "tCO2/unit", basis="mixed"),
        _ind("kgco2_per_m2", 2871.44, "kgCO2/m²"),
    )
    months = tuple(
        MonthRow(
            month=m.month,
            completeness_pct=m.completeness_pct,
            values={
                k: (None if v is None else v * 0.31622) if k != "tco2_per_tce" else v
                for k, v in m.values.items()
                if k
                in (
                    "comprehensive_energy_tce",
                    "tco2_per_tce",
                    "scope1_tco2",
                    "scope2_location_tco2",
                )
            },
        )
        for m in _months()
    )
    return ReportDoc(
        kind="green_factory",
        park_id="wuhan-demo",
        park_name="光谷示范园区",
        tenant_id="chipcore",
        tenant_name="芯核微电子",
        sector="example_electronics",
        year=2026,
        tz="Asia/Shanghai",
        generated_at="2026-11-24T21:12:00+08:00",
        software="smartpark 0.1.0",
        profile=PROFILE,
        completeness_pct=99.12,
        indicators=indicators,
        targets=(block,),
        monthly=months,
        carriers=(
            CarrierRow(
                carrier="electricity",
                quantity=612345678.9,
                unit="kWh",
                tce=75257.3,
                tco2=138123.69,
                completeness_pct=99.12,
            ),
            CarrierRow(
                carrier="natural_gas",
                quantity=222617.4,
                unit="m3",
                tce=270.33,
                tco2=481.3,
                completeness_pct=100.0,
            ),
        ),
        factors=FACTORS[:3],
        methods=MethodComparison(
            target_key=None,
            document=None,
            threshold=None,
            chosen="calorific_value",
            rows=(
                MethodRow(
                    method="calorific_value", value=1.87118, status="no_threshold", chosen=True
                ),
                MethodRow(
                    method="coal_equivalent", value=None, status="not_enough_data", chosen=False
                ),
            ),
        ),
        notes=(
            Note(
                kind="example",
                code="example_thresholds",
                items=("target.unit_product_energy", "target.unit_product_carbon"),
            ),
            Note(
                kind="declared",
                code="declared",
                items=("target.unit_product_energy",),
                value=1.25e5,
            ),
        ),
    )


def no_veto_doc() -> ReportDoc:
    """The park evaluation judged only on profiles without a veto, one of them claiming
    ``vetoes_met=True`` as ``services.targets.ProfileResult.vetoes_met`` does for no veto
    (``all([])``): the report must show no "all vetoes met" badge for it."""
    doc = park_doc()
    blocks = tuple(
        b.model_copy(update={"vetoes_met": True})
        for b in doc.targets
        if b.key != "zero_carbon_park"
    )
    return doc.model_copy(update={"targets": blocks, "methods": None})


def lacking_veto_doc() -> ReportDoc:
    """The park evaluation whose 910 veto row has not enough data (45 % of the year measured),
    under the coal-equivalent method (等价值) with no rationale and certificates kept."""
    doc = park_doc()
    zero = doc.targets[0]
    veto = zero.rows[0].model_copy(
        update={
            "value": 0.7339,
            "status": "not_enough_data",
            "gap": None,
            "completeness_pct": 45.12,
            "reason": "45.12 % of the intervals measured, 90 % needed",
        }
    )
    zero = zero.model_copy(
        update={
            "rows": (veto, *zero.rows[1:]),
            "vetoes_met": None,
            "vetoes_lacking_data": ("carbon_per_energy",),
        }
    )
    profile = doc.profile.model_copy(
        update={
            "name": "wuhan-demo/2026 (等价值)",
            "electricity_method": "coal_equivalent",
            "rationale": None,
            "pv_certificates": "kept",
            "scope2_basis": "net",
            "losses": "inside",
        }
    )
    methods = MethodComparison(
        target_key="carbon_per_energy",
        document="发改环资〔2025〕910号",
        threshold=0.2,
        chosen="coal_equivalent",
        rows=(
            MethodRow(
                method="calorific_value", value=1.812784, status="not_enough_data", chosen=False
            ),
            MethodRow(
                method="coal_equivalent", value=0.7339, status="not_enough_data", chosen=True
            ),
        ),
    )
    return doc.model_copy(
        update={
            "targets": (zero, *doc.targets[1:]),
            "profile": profile,
            "methods": methods,
            "instruments": (),
        }
    )
